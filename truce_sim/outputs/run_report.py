"""A run's report.html: the case in brief, survival, what broke the truce, dynamics, the scenario."""

from __future__ import annotations

import html
from pathlib import Path

from truce_sim.outputs.html import figure, page


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def summary_lines(s: dict) -> list[tuple[str, str, str, object]]:
    """The headline numbers of a run, as (label, text, summary.json key, value): the one list
    that the console summary and the report both show."""
    median = "over half survive" if s["median_survival_days"] is None else f"{s['median_survival_days']:g} days"
    lo, hi = s.get("median_survival_ci") or [None, None]
    if s["median_survival_days"] is not None and lo is not None:
        median += f" (95% CI {lo:g}-{hi:g})" if hi is not None else f" (95% CI from {lo:g})"
    lines = [
        (
            "median survival",
            median,
            "median_survival_days",
            "" if s["median_survival_days"] is None else s["median_survival_days"],
        )
    ]
    for day, v in s["survival_at"].items():
        lines.append(
            (
                f"survival at {day} days",
                f"{_pct(v['p'])} (95% CI {100 * v['lo']:.1f}-{_pct(v['hi'])})",
                f"survival_at.{day}.p",
                v["p"],
            )
        )
    band = s.get("survival_band")
    if band and s.get("posterior"):  # the parameter-uncertainty band (the world groups' band is in summary.json)
        for day, v in band["at"].items():
            text = (
                f"{_pct(v['lo'])}-{_pct(v['hi'])} (5-95% across {band['groups']} posterior draws; "
                f"world sampling alone {_pct(v['noise_lo'])}-{_pct(v['noise_hi'])})"
            )
            lines.append((f"band at {day} days", text, f"survival_band.at.{day}.hi", v["hi"]))
    lines.append(("collapsed", _pct(s["collapse_share"]), "collapse_share", s["collapse_share"]))
    for kind in ("causes", "breakers"):
        if s[kind]:
            lines.append((kind, ", ".join(f"{k} {_pct(v)}" for k, v in s[kind].items()), kind, ""))
    if s.get("deliberate_share") is not None:
        text = f"{_pct(s['deliberate_share'])} valued above holding by their launcher"
        lines.append(("deliberate offensives", text, "deliberate_share", s["deliberate_share"]))
    if s.get("share_ever_nominal") is not None:
        text = f"{_pct(s['share_ever_nominal'])} of worlds (violated above nominal_threshold, still holding)"
        lines.append(("ever a nominal truce", text, "share_ever_nominal", s["share_ever_nominal"]))
    lines.append(
        (
            "violations per truce day",
            f"{s['mean_violations_per_day']:.2f}",
            "mean_violations_per_day",
            s["mean_violations_per_day"],
        )
    )
    return lines


def run_report(out_dir: Path, summary: dict, scenario_yaml: str, scenario) -> Path:
    """report.html of a run: the case in brief, survival, dynamics, causes, the scenario file."""
    s = summary

    def row(name: str, text: str, key: str, value) -> str:
        # data-key/data-value tie each number to summary.json, for readers and for tests
        return (
            f"<tr><th>{html.escape(name)}</th><td data-key='{key}' data-value='{value}'>{html.escape(text)}</td></tr>"
        )

    # causes and breakers have their own tables below, one number per cell
    rows = [row(*line) for line in summary_lines(s) if line[2] not in ("causes", "breakers")]
    headline = f"<table class='headline'>{''.join(rows)}</table>"

    def shares(kind: str) -> str:
        cells = "".join(
            f"<tr><td>{html.escape(k)}</td><td data-key='{kind}.{html.escape(k)}' data-value='{v}'>"
            f"{100 * v:.1f}%</td></tr>"
            for k, v in s[kind].items()
        )
        return f"<table><tr><th>{kind[:-1]}</th><th>share of collapses</th></tr>{cells}</table>"

    causes = shares("causes") + shares("breakers")
    # first, so that no one reads the numbers without them
    caveats = [("Caveats", _caveats(s["caveats"]))] if s.get("caveats") else []
    sections = caveats + [
        ("The case", _case_brief(scenario, s)),
        (
            "Truce survival",
            _posterior_note(s)
            + headline
            + figure("survival", "Kaplan-Meier truce survival with its 95% band, censoring marks and the median"),
        ),
        ("What broke the truce", causes if s["causes"] else "<p>No truce collapsed.</p>"),
        ("Dynamics", figure("dynamics", "power and control, violations per day and backer support over time")),
        (
            "Why factions attack",
            figure(
                "decisions",
                "each term of a faction's value of an offensive against holding, mean over worlds "
                "(pushes above zero, restraints below); decisions.csv has them by state, truce or war",
            ),
        ),
        (
            "Files",
            "<p>"
            + ", ".join(
                f"<a href='{f}'>{f}</a>"
                for f in (
                    "summary.json",
                    "replicates.csv",
                    "timeseries.csv",
                    "decisions.csv",
                    "scenario.yaml",
                    "manifest.json",
                )
            )
            + "</p>",
        ),
        ("The scenario file (resolved)", f"<pre>{html.escape(scenario_yaml)}</pre>"),
    ]
    path = Path(out_dir) / "report.html"
    what_if = s.get("overrides") or {}
    named = s["scenario"] + (" (what-if: " + ", ".join(f"{k}={v}" for k, v in what_if.items()) + ")" if what_if else "")
    path.write_text(
        page(f"{named}: {s['replicates']} worlds, seed {s['seed']}, {s['steps']} days", sections), encoding="utf-8"
    )
    return path


def _posterior_note(s: dict) -> str:
    """One sentence on the parameter uncertainty the curve carries, when a posterior was used."""
    posterior, band = s.get("posterior"), s.get("survival_band")
    if not posterior or not band:
        return ""
    k = posterior["draws"]
    text = (
        f"The curve carries parameter uncertainty from {posterior['file']} ({k} draws of its {posterior['rows']} "
        f"rows, by weight, of {', '.join(posterior['constants'])}): world i takes the constants of draw i mod {k}, "
        f"and the shaded band is the 5-95% range, day by day, of the Kaplan-Meier curves of the {k} groups of "
        "worlds that share a draw. Beside it is the spread that world sampling alone would give groups of that "
        "size: only the excess is parameter uncertainty."
    )
    if band.get("warning"):
        text += f" Warning: {band['warning']}."
    file = html.escape(posterior["file"])
    return f"<p class='posterior' data-key='posterior.file' data-value='{file}'>{html.escape(text)}</p>"


def _caveats(caveats: list[str]) -> str:
    items = "".join(f"<li data-key='caveats.{i}'>warning: {html.escape(text)}</li>" for i, text in enumerate(caveats))
    return f"<ul class='caveat'>{items}</ul>"


BACKER_FACTS = ("support", "max_support", "truce_preference", "pressure", "pressure_decay", "credibility", "red_line")


def _case_brief(scenario, s: dict) -> str:
    esc = html.escape
    facts = lambda spec, keys: ", ".join(f"{k} {_v(spec.get(k))}" for k in keys if spec.get(k) is not None)  # noqa: E731
    factions = "".join(
        f"<li><b>{esc(n)}</b>: {esc(facts(f, ('strength', 'control', 'cohesion', 'demand', 'war_cost')))}</li>"
        for n, f in scenario.factions.items()
    )
    backers = (
        "".join(
            f"<li><b>{esc(n)}</b> backs {esc(', '.join(b['clients']))}: {esc(facts(b, BACKER_FACTS))}</li>"
            for n, b in scenario.backers.items()
        )
        or "<li>none</li>"
    )
    m = scenario.mediator
    talks = ", ".join(str(d) for d in m["talks"]) or "none"
    events = (
        "".join(f"<li>day {e.day}: {esc(e.label or '')} {esc(_changes(e))}</li>" for e in scenario.events)
        or "<li>none</li>"
    )
    start = f", from {scenario.start_date}" if scenario.start_date else ""
    return (
        f"<p>{esc(scenario.description)}{esc(start)}</p><h3>Factions</h3><ul>{factions}</ul>"
        f"<h3>Backers</h3><ul>{backers}</ul><h3>Mediator</h3>"
        f"<p>monitoring {_v(m['monitoring'])}; talks on days {esc(talks)}</p>"
        f"<h3>Events</h3><ul>{events}</ul>"
    )


def _v(value) -> str:
    return f"{value:g}" if isinstance(value, (int, float)) else str(value)


def _changes(event) -> str:
    parts = [f"{p} = {_v(v)}" for p, v in event.set.items()] + [f"{p} x {_v(v)}" for p, v in event.scale.items()]
    parts += [f"{p} + {_v(v)}" for p, v in event.add.items()] + (["talks"] if event.talks else [])
    return "(" + "; ".join(parts) + ")" if parts else ""
