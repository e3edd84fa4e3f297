"""report.html pages, readable straight from disk: no server, no internet, relative links."""
from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

STYLE = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{font-size:1.25em;margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .5em;text-align:left}
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


def run_report(out_dir: Path, summary: dict, scenario_yaml: str, scenario) -> Path:
    """report.html of a run: the case in brief, survival, dynamics, causes, the scenario file."""
    s = summary
    median = "over half survive" if s["median_survival_days"] is None else f"{s['median_survival_days']:g} days"
    lo, hi = s.get("median_survival_ci") or [None, None]
    if s["median_survival_days"] is not None and lo is not None:
        median += f" (95% CI {lo:g}-{hi:g})" if hi is not None else f" (95% CI from {lo:g})"
    def row(name: str, text: str, key: str, value) -> str:
        # data-key/data-value tie each number to summary.json, for readers and for tests
        return (f"<tr><th>{html.escape(name)}</th><td data-key='{key}' data-value='{value}'>"
                f"{html.escape(text)}</td></tr>")

    rows = [row("median survival", median, "median_survival_days",
                "" if s["median_survival_days"] is None else s["median_survival_days"])]
    for day, v in s["survival_at"].items():
        rows.append(row(f"survival at {day} days", f"{100 * v['p']:.1f}% (95% CI {100 * v['lo']:.1f}-{100 * v['hi']:.1f}%)",
                        f"survival_at.{day}.p", v["p"]))
    rows.append(row("collapsed", f"{100 * s['collapse_share']:.1f}%", "collapse_share", s["collapse_share"]))
    rows.append(row("violations per truce day", f"{s['mean_violations_per_day']:.2f}", "mean_violations_per_day",
                    s["mean_violations_per_day"]))
    headline = f"<table class='headline'>{''.join(rows)}</table>"
    def shares(kind: str) -> str:
        cells = "".join(f"<tr><td>{html.escape(k)}</td><td data-key='{kind}.{html.escape(k)}' data-value='{v}'>"
                        f"{100 * v:.1f}%</td></tr>" for k, v in s[kind].items())
        return f"<table><tr><th>{kind[:-1]}</th><th>share of collapses</th></tr>{cells}</table>"

    causes = shares("causes") + shares("breakers")
    sections = [
        ("The case", _case_brief(scenario, s)),
        ("Truce survival", headline + figure("survival", "Kaplan-Meier truce survival with its 95% band, censoring marks and the median")),
        ("What broke the truce", causes if s["causes"] else "<p>No truce collapsed.</p>"),
        ("Dynamics", figure("dynamics", "power and control, violations per day and backer support over time")),
        ("Files", "<p>" + ", ".join(f"<a href='{f}'>{f}</a>" for f in
                                    ("summary.json", "replicates.csv", "timeseries.csv", "scenario.yaml", "manifest.json")) + "</p>"),
        ("The scenario file (resolved)", f"<pre>{html.escape(scenario_yaml)}</pre>"),
    ]
    path = Path(out_dir) / "report.html"
    path.write_text(page(f"{s['scenario']}: {s['replicates']} worlds, seed {s['seed']}, {s['steps']} days", sections),
                    encoding="utf-8")
    return path


def _case_brief(scenario, s: dict) -> str:
    esc = html.escape
    facts = lambda spec, keys: ", ".join(f"{k} {_v(spec.get(k))}" for k in keys if spec.get(k) is not None)  # noqa: E731
    factions = "".join(f"<li><b>{esc(n)}</b>: {esc(facts(f, ('strength', 'control', 'cohesion', 'demand', 'war_cost')))}</li>"
                       for n, f in scenario.factions.items())
    backers = "".join(f"<li><b>{esc(n)}</b> backs {esc(', '.join(b['clients']))}: "
                      f"{esc(facts(b, ('support', 'max_support', 'truce_preference', 'pressure', 'pressure_decay', 'credibility', 'red_line')))}</li>"
                      for n, b in scenario.backers.items()) or "<li>none</li>"
    m = scenario.mediator
    talks = ", ".join(str(d) for d in m["talks"]) or "none"
    events = "".join(f"<li>day {e.day}: {esc(e.label or '')} {esc(_changes(e))}</li>" for e in scenario.events) or "<li>none</li>"
    start = f", from {scenario.start_date}" if scenario.start_date else ""
    return (f"<p>{esc(scenario.description)}{esc(start)}</p><h3>Factions</h3><ul>{factions}</ul>"
            f"<h3>Backers</h3><ul>{backers}</ul><h3>Mediator</h3><p>monitoring {_v(m['monitoring'])}; talks on days {esc(talks)}</p>"
            f"<h3>Events</h3><ul>{events}</ul>")


def _v(value) -> str:
    return f"{value:g}" if isinstance(value, (int, float)) else str(value)


def _changes(event) -> str:
    parts = [f"{p} = {_v(v)}" for p, v in event.set.items()] + [f"{p} x {_v(v)}" for p, v in event.scale.items()]
    parts += [f"{p} + {_v(v)}" for p, v in event.add.items()] + (["talks"] if event.talks else [])
    return "(" + "; ".join(parts) + ")" if parts else ""
