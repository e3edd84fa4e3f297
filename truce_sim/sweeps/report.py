"""The sweep's report.html: caveats first, then what was varied, its figures, indices, hazard
ratios and points."""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from truce_sim.core.scenario import SCALE_PREFIX
from truce_sim.outputs.html import figure, page, table

# Wide tables scroll inside their own box, so the page never scrolls sideways (at 1280 px or
# less); long unbroken paths wrap.
TABLE_CSS = (
    ".table-wrap{max-width:100%;overflow-x:auto;margin:.5em 0}"
    ".table-wrap table{margin:0}.table-wrap td{white-space:nowrap}"
    "p,li{overflow-wrap:anywhere}"
)


def wrapped(frame: pd.DataFrame) -> str:
    """A table in a box of its own width that scrolls sideways when the table is wider."""
    return f"<div class='table-wrap'>{table(frame)}</div>"


def sweep_report(
    out_dir: Path,
    spec: dict,
    points: pd.DataFrame,
    figures: list[tuple[str, str]],
    indices: pd.DataFrame | None,
    ratios: pd.DataFrame | None,
    caveats: list[str] | None = None,
    metric: str | None = None,
) -> Path:
    from truce_sim.sweeps.figures import clamp_intervals, label

    caveats = spec.get("caveats", []) if caveats is None else caveats
    vary = "".join(
        f"<li><code>{html.escape(p)}</code>: {html.escape(describe_vary(p, v, spec))}</li>"
        for p, v in spec["vary"].items()
    )
    which = "the heatmap and the lines" if len(spec["vary"]) == 2 else "the main effects"
    shown = (
        f"<p>{which.capitalize()} show <b>{html.escape(label(metric))}</b> (<code>{html.escape(metric)}</code>"
        + (
            ", the sweep's <code>heatmap_metric</code>"
            if spec.get("heatmap_metric")
            else "; <code>heatmap_metric: METRIC</code> in the sweep file shows another"
        )
        + ").</p>"
        if metric
        else ""
    )
    sections = []
    if caveats:  # first, so that no one reads the numbers without them
        items = "".join(
            f"<li data-key='caveats.{i}'>warning: {html.escape(text)}</li>" for i, text in enumerate(caveats)
        )
        sections.append(("Caveats", f"<ul class='caveat'>{items}</ul>"))
    sections.append(
        (
            "The sweep",
            f"<p>Base scenario <code>{html.escape(spec['base'])}</code>; design <b>{spec['design']}</b>"
            f"{' (n = ' + str(spec['n']) + ')' if spec.get('n') else ''}; {spec['points']} points of "
            f"{spec['replicates']} worlds each over {spec['steps']} days, seed {spec['seed']} for every point "
            f"(common random numbers).</p><ul>{vary}</ul>{shown}"
            f"<p>Files: <a href='points.csv'>points.csv</a>, <a href='points.parquet'>points.parquet</a>, "
            f"<a href='sweep.json'>sweep.json</a>"
            + (", <a href='sensitivity.csv'>sensitivity.csv</a>" if indices is not None else "")
            + (", <a href='hazard_ratios.csv'>hazard_ratios.csv</a>" if ratios is not None else "")
            + "</p>",
        )
    )
    sections += [(caption, figure(stem, caption)) for stem, caption in figures]
    if indices is not None and len(indices):
        sections.append(("Sensitivity indices (SALib)", _index_note(spec, caveats) + wrapped(indices)))
    if ratios is not None and len(ratios):
        sections.append(("Hazard ratios (Cox proportional hazards)", wrapped(ratios)))
    sections.append(
        (
            "Points",
            "<p class='note'>Probabilities and shares, and their 95% intervals, lie in [0, 1].</p>"
            + wrapped(clamp_intervals(points.head(500)))
            + (
                f"<p class='note'>First 500 of {len(points)} points; all are in points.csv.</p>"
                if len(points) > 500
                else ""
            ),
        )
    )
    text = page(f"Sweep {spec['name']}", sections).replace("</style>", TABLE_CSS + "</style>", 1)
    path = Path(out_dir) / "report.html"
    path.write_text(text, encoding="utf-8")
    return path


def _index_note(spec: dict, caveats: list[str]) -> str:
    from truce_sim.sweeps.sensitivity import MORRIS_RULE, SOBOL_RULE

    rule = SOBOL_RULE if spec["design"] == "sobol" else MORRIS_RULE
    unstable = any(c.startswith(("Sobol ind", "Morris ind")) for c in caveats)
    if unstable:
        return (
            "<p class='caveat'><b>Unstable at this sample size</b>: see the caveats at the top. "
            f"{html.escape(rule)}.</p>"
        )
    return f"<p class='note'>{html.escape(rule)}.</p>"


def describe_vary(name: str, v: dict, spec: dict | None = None) -> str:
    """What a sweep does with one varied field: a grid lists its values; LHS, Sobol and Morris
    sample the range [lo, hi] (a list or {from, to, num} gives only its bounds)."""
    spec = spec or {}
    design = spec.get("design", "grid")
    if design == "grid" and "values" in v:
        vals = v["values"]
        shown = ", ".join(f"{x:g}" for x in vals[:8]) + (", ..." if len(vals) > 8 else "")
        text = f"{len(vals)} value{'s' if len(vals) != 1 else ''}: {shown}"
    else:
        span = f"[{v['lo']:g}, {v['hi']:g}]"
        count = spec.get("points")
        if design == "lhs":
            text = f"{count} Latin-hypercube samples over {span} (one in each 1/{count} of the range)"
        elif design == "sobol":
            text = f"{count} Saltelli/Sobol samples over {span} (from {spec.get('n')} base samples)"
        elif design == "morris":
            levels = spec.get("morris_levels", 4)
            text = f"{count} samples over {span} on {levels} levels ({spec.get('n')} Morris trajectories)"
        else:
            text = f"range {span}"
        if "values" in v and design != "grid":
            text += "; only the bounds of the listed values are used"
    if name.startswith(SCALE_PREFIX):
        path = name[len(SCALE_PREFIX) :]
        return f"factor of {path}, applied to its value and to every value events set or add to it; {text}"
    return text
