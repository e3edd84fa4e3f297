"""report.html pages, readable straight from disk: no server, no internet, relative links."""
from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

STYLE = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{font-size:1.25em;margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .5em;text-align:right}
th{background:#f3f3f3}img{max-width:100%;border:1px solid #eee;margin:.5em 0}
pre{background:#f7f7f7;padding:1em;overflow:auto;font-size:.8em}.note{color:#555;font-size:.9em}"""


def page(title: str, sections: list[tuple[str, str]]) -> str:
    body = "".join(f"<h2>{html.escape(h)}</h2>\n{content}\n" for h, content in sections)
    return (f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>\n{body}</body></html>\n")


def figure(stem: str, alt: str) -> str:
    return (f"<p><a href='{stem}.svg'><img src='{stem}.png' alt='{html.escape(alt)}'></a><br>"
            f"<span class='note'>{html.escape(alt)} (<a href='{stem}.png'>PNG</a>, <a href='{stem}.svg'>SVG</a>)</span></p>")


def table(frame: pd.DataFrame, digits: int = 4) -> str:
    return frame.to_html(index=False, float_format=lambda x: f"{x:.{digits}g}", border=0, na_rep="-")


def sweep_report(out_dir: Path, spec: dict, points: pd.DataFrame, figures: list[tuple[str, str]],
                 indices: pd.DataFrame | None, ratios: pd.DataFrame | None) -> Path:
    vary = "".join(f"<li><code>{html.escape(p)}</code>: {html.escape(_describe(v))}</li>" for p, v in spec["vary"].items())
    sections = [("The sweep", f"<p>Base scenario <code>{html.escape(spec['base'])}</code>; design <b>{spec['design']}</b>"
                 f"{' (n = ' + str(spec['n']) + ')' if spec.get('n') else ''}; {spec['points']} points of "
                 f"{spec['replicates']} worlds each over {spec['steps']} days, seed {spec['seed']} for every point "
                 f"(common random numbers).</p><ul>{vary}</ul>"
                 f"<p>Files: <a href='points.csv'>points.csv</a>, <a href='points.parquet'>points.parquet</a>, "
                 f"<a href='sweep.json'>sweep.json</a>"
                 + (", <a href='sensitivity.csv'>sensitivity.csv</a>" if indices is not None else "")
                 + (", <a href='hazard_ratios.csv'>hazard_ratios.csv</a>" if ratios is not None else "") + "</p>")]
    sections += [(caption, figure(stem, caption)) for stem, caption in figures]
    if indices is not None and len(indices):
        sections.append(("Sensitivity indices (SALib)", table(indices)))
    if ratios is not None and len(ratios):
        sections.append(("Hazard ratios (Cox proportional hazards)", table(ratios)))
    sections.append(("Points", table(points.head(500)) + (f"<p class='note'>First 500 of {len(points)} points; "
                                                          "all are in points.csv.</p>" if len(points) > 500 else "")))
    path = Path(out_dir) / "report.html"
    path.write_text(page(f"Sweep {spec['name']}", sections), encoding="utf-8")
    return path


def _describe(v: dict) -> str:
    if "values" in v:
        vals = v["values"]
        shown = ", ".join(f"{x:g}" for x in vals[:8]) + (", ..." if len(vals) > 8 else "")
        return f"{len(vals)} values: {shown}"
    return f"range [{v['lo']:g}, {v['hi']:g}]"
