"""The sweep's report.html: what was varied, its figures, indices, hazard ratios and points."""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from truce_sim.core.scenario import SCALE_PREFIX
from truce_sim.outputs.html import figure, page, table


def sweep_report(
    out_dir: Path,
    spec: dict,
    points: pd.DataFrame,
    figures: list[tuple[str, str]],
    indices: pd.DataFrame | None,
    ratios: pd.DataFrame | None,
) -> Path:
    vary = "".join(
        f"<li><code>{html.escape(p)}</code>: {html.escape(_describe(p, v))}</li>" for p, v in spec["vary"].items()
    )
    sections = [
        (
            "The sweep",
            f"<p>Base scenario <code>{html.escape(spec['base'])}</code>; design <b>{spec['design']}</b>"
            f"{' (n = ' + str(spec['n']) + ')' if spec.get('n') else ''}; {spec['points']} points of "
            f"{spec['replicates']} worlds each over {spec['steps']} days, seed {spec['seed']} for every point "
            f"(common random numbers).</p><ul>{vary}</ul>"
            f"<p>Files: <a href='points.csv'>points.csv</a>, <a href='points.parquet'>points.parquet</a>, "
            f"<a href='sweep.json'>sweep.json</a>"
            + (", <a href='sensitivity.csv'>sensitivity.csv</a>" if indices is not None else "")
            + (", <a href='hazard_ratios.csv'>hazard_ratios.csv</a>" if ratios is not None else "")
            + "</p>",
        )
    ]
    sections += [(caption, figure(stem, caption)) for stem, caption in figures]
    if indices is not None and len(indices):
        sections.append(("Sensitivity indices (SALib)", table(indices)))
    if ratios is not None and len(ratios):
        sections.append(("Hazard ratios (Cox proportional hazards)", table(ratios)))
    sections.append(
        (
            "Points",
            table(points.head(500))
            + (
                f"<p class='note'>First 500 of {len(points)} points; all are in points.csv.</p>"
                if len(points) > 500
                else ""
            ),
        )
    )
    path = Path(out_dir) / "report.html"
    path.write_text(page(f"Sweep {spec['name']}", sections), encoding="utf-8")
    return path


def _describe(name: str, v: dict) -> str:
    if "values" in v:
        vals = v["values"]
        shown = ", ".join(f"{x:g}" for x in vals[:8]) + (", ..." if len(vals) > 8 else "")
        text = f"{len(vals)} values: {shown}"
    else:
        text = f"range [{v['lo']:g}, {v['hi']:g}]"
    if name.startswith(SCALE_PREFIX):
        path = name[len(SCALE_PREFIX) :]
        return f"factor of {path}, applied to its value and to every value events set or add to it; {text}"
    return text
