"""A run's report.html: a headline, the case in brief, survival, what broke the truce, dynamics,
why factions attack, the uncertainty, and the scenario."""

from __future__ import annotations

import datetime as dt
import html
from pathlib import Path

import pandas as pd

from truce_sim.core import rules
from truce_sim.outputs.html import figure, page

# What keeps every element of the page within its column: wide tables scroll, images shrink.
EXTRA_STYLE = """body{overflow-wrap:anywhere}img,svg,table,pre{max-width:100%}
.scroll{max-width:100%;overflow-x:auto}pre{overflow-x:auto;white-space:pre}
p.lead{font-size:1.08em;line-height:1.45;background:#f3f7fb;border-left:4px solid #0072B2;padding:.6em .8em}
p.known{border-left:4px solid #000;padding:.2em .8em}details summary{cursor:pointer;color:#0072B2}"""


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


def run_report(
    out_dir: Path,
    summary: dict,
    scenario_yaml: str,
    scenario,
    replicates: pd.DataFrame | None = None,
    decisions: pd.DataFrame | None = None,
    timeseries: pd.DataFrame | None = None,
) -> Path:
    """report.html of a run: a headline, the case in brief, survival, what broke the truce,
    dynamics, why factions attack, the uncertainty, the scenario file. ``replicates`` and
    ``decisions`` default to the out dir's replicates.csv and decisions.csv."""
    s = summary
    out = Path(out_dir)
    if replicates is None and (out / "replicates.csv").exists():
        replicates = pd.read_csv(out / "replicates.csv", keep_default_na=False)
    if decisions is None and (out / "decisions.csv").exists():
        decisions = pd.read_csv(out / "decisions.csv")
    top = _headline(s, scenario, replicates, decisions)

    def row(name: str, text: str, key: str, value) -> str:
        # data-key/data-value tie each number to summary.json, for readers and for tests
        return (
            f"<tr><th>{html.escape(name)}</th><td data-key='{key}' data-value='{value}'>{html.escape(text)}</td></tr>"
        )

    # causes and breakers have their own tables below, one number per cell
    rows = [row(*line) for line in summary_lines(s) if line[2] not in ("causes", "breakers")]
    headline = f"<div class='scroll'><table class='headline'>{''.join(rows)}</table></div>"

    def shares(kind: str) -> str:
        cells = "".join(
            f"<tr><td>{html.escape(k)}</td><td data-key='{kind}.{html.escape(k)}' data-value='{v}'>"
            f"{100 * v:.1f}%</td></tr>"
            for k, v in s[kind].items()
        )
        return (
            f"<div class='scroll'><table><tr><th>{kind[:-1]}</th><th>share of collapses</th></tr>{cells}</table></div>"
        )

    causes = (
        shares("causes")
        + shares("breakers")
        + figure(
            "causes",
            "cumulative incidence of collapse by cause (left) and by breaker (right) over time: competing risks "
            "(Aalen-Johansen, 95% bands), each curve the share of all worlds whose truce has ended that way "
            "by that day",
        )
    )
    # first, so that no one reads the numbers without them
    caveats = [("Caveats", _caveats(s["caveats"]))] if s.get("caveats") else []
    sections = caveats + [
        ("The case", _case_brief(scenario, s)),
        (
            "Truce survival",
            _posterior_note(s)
            + headline
            + figure(
                "survival",
                "Kaplan-Meier truce survival with its 95% band, censoring marks, the median, scheduled events "
                "(grey lines), the days of the known outcome (dash-dot) and the worlds at risk below",
            ),
        ),
        (
            "What broke the truce",
            causes if s["causes"] else "<p>No truce collapsed.</p>" + figure("causes", "cumulative incidence"),
        ),
        ("Dynamics", figure("dynamics", "power and control, violations per day and backer support over time")),
        (
            "Why factions attack",
            "<p>The figure below shows, for each faction and each day, the mean over all worlds of every term of "
            "its value of an offensive against holding: what pushes it to attack above zero, what restrains it "
            "below, and their net (black); an offensive becomes likely where the net nears zero.</p>"
            + figure(
                "decisions",
                "each term of a faction's value of an offensive against holding, mean over worlds "
                "(pushes above zero, restraints below); decisions.csv has them by state, truce or war",
            ),
        ),
        ("Uncertainty", _uncertainty_note(s)),
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
                    "causes.png",
                    "scenario.yaml",
                    "manifest.json",
                )
            )
            + "</p>",
        ),
        (
            "The scenario file (resolved)",
            "<details><summary>Show the resolved scenario file (scenario.yaml: the file, its overrides and "
            f"every behavioural default)</summary><pre>{html.escape(scenario_yaml)}</pre></details>",
        ),
    ]
    path = Path(out_dir) / "report.html"
    changes = what_if(s)
    label = s.get("label")
    named = s["scenario"]
    kind = f"what-if {label}" if label and label != s["scenario"] else "what-if"
    if changes:
        named += f" ({kind}: " + ", ".join(changes) + ")"
    elif kind != "what-if":
        named += f" ({kind})"
    text = page(f"{named}: {s['replicates']} worlds, seed {s['seed']}, {s['steps']} days", sections)
    text = text.replace("</style>", EXTRA_STYLE + "</style>", 1)
    text = text.replace("</h1>\n", "</h1>\n" + top + "\n", 1)
    path.write_text(text, encoding="utf-8")
    return path


def what_if(s: dict) -> list[str]:
    """A what-if's changes as strings: summary.json's ``what_if`` list (sets, scales and added
    events) when there is one, else its ``overrides`` as a map {path: value} or a list."""
    if s.get("what_if"):
        return [str(x) for x in s["what_if"]]
    overrides = s.get("overrides") or {}
    if isinstance(overrides, dict):
        return [f"{k}={v}" for k, v in overrides.items()]
    return [str(x) for x in overrides]


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


# The headline --------------------------------------------------------------------------------

PUSHES, RESTRAINTS = rules.OFFENSIVE_TERMS, rules.RESTRAINT_TERMS
TERMS = {  # each decision term in a sentence: (name, gloss)
    "gain": ("the gain it expects", "from fighting now"),
    "demand": ("its unmet demand", ""),
    "preventive": ("its preventive motive", "the balance is turning against it"),
    "grievance": ("its grievance", ""),
    "waiting": ("the value of waiting", "the balance is turning its way"),
    "cost": ("the cost of war", ""),
    "mobilisation": ("mobilisation", "its forces are not yet ready"),
    "leverage": ("its backers' pressure", ""),
    "conditions": ("the support its backers would withhold", ""),
    "guarantee": ("the patrons' joint guarantee", ""),
    "red_line": ("a backer's red line", ""),
    "trust": ("the trust the truce has built", ""),
    "benefits": ("the benefits of holding", ""),
    "inducement": ("the mediator's inducements", ""),
    "signature": ("its signature", ""),
}
CAUSE_TEXT = {"offensive": "an offensive", "violation_spiral": "a spiral of violations it began", "expired": "expiry"}


def _actor(name: str) -> str:
    """An id as a name in a sentence: short ids are acronyms (lna: the LNA), others capitalised."""
    return f"the {name.upper()}" if len(name) <= 4 else name[:1].upper() + name[1:]


def _date(scenario, day: float) -> str:
    start = getattr(scenario, "start_date", None)
    if start is None:
        return ""
    start = start if isinstance(start, dt.date) else dt.date.fromisoformat(str(start))
    return f" ({(start + dt.timedelta(days=int(day))).strftime('%-d %B %Y')})"


def headline_text(s: dict, scenario, replicates: pd.DataFrame | None, decisions: pd.DataFrame | None) -> str:
    """One or two plain sentences: how long the truce lasts, who breaks it and how, when, and why
    (the main breaker's largest pushes and restraints in truce before its median first offensive)."""
    median, (lo, hi) = s["median_survival_days"], (s.get("median_survival_ci") or [None, None])
    if median is not None:
        ci = f" (95% CI {lo:g}-{hi:g})" if lo is not None and hi is not None else ""
        ci = f" (95% CI from {lo:g})" if lo is not None and hi is None else ci
        first = f"The truce lasts a median {median:g} days{ci}."
    else:
        last = max(s["survival_at"], key=int) if s["survival_at"] else None
        held = f"; {100 * s['survival_at'][last]['p']:.0f}% hold at {last} days" if last else ""
        first = f"Over half of the truces outlast the {s['steps']} days simulated (median not reached{held})."
    if not s["breakers"] or replicates is None or not s.get("collapse_share"):
        return first + (" No truce collapsed." if not s.get("collapse_share") else "")
    main, share = max(s["breakers"].items(), key=lambda kv: kv[1])
    broke = replicates[replicates["collapsed"].astype(bool) & (replicates["breaker"].astype(str) == main)]
    how = ""
    if len(broke):
        causes = broke["cause"].astype(str).value_counts(normalize=True)
        cause = str(causes.index[0])
        how = CAUSE_TEXT.get(cause, cause)
        if cause == "offensive" and "deliberate" in broke:
            deliberate = (
                broke.loc[broke["cause"] == "offensive", "deliberate"].astype(str).str.lower().eq("true").mean()
            )
            how = "a deliberate offensive" if deliberate >= 0.5 else "an offensive it did not value above holding"
            how += f" ({100 * deliberate:.0f}% valued above holding)"
        if causes.iloc[0] < 0.999:
            how += f" in {100 * causes.iloc[0]:.0f}% of them"
        how = ", by " + how
    column = f"first_offensive_{main}"
    when, day = "", None
    if column in replicates:
        days = pd.to_numeric(broke[column], errors="coerce")
        days = days[days > 0]
        if days.empty:
            days = pd.to_numeric(replicates[column], errors="coerce")
            days = days[days > 0]
        if not days.empty:
            day = float(days.median())
            when = f", typically on day {day:g}{_date(scenario, day)}"
    second = (
        f"{_actor(main)[:1].upper()}{_actor(main)[1:]} breaks it in {100 * share:.0f}% of collapsed worlds{how}{when}"
    )
    reason = _reason(main, day, scenario, decisions)
    return f"{first} {second}{': ' + reason if reason else ''}."


def _reason(main: str, day: float | None, scenario, decisions: pd.DataFrame | None) -> str:
    """The main breaker's largest pushes and restraints, mean over the worlds in truce on the days
    before its median first offensive (decisions.csv)."""
    if decisions is None or day is None or decisions.empty:
        return ""
    rows = decisions[(decisions["faction"] == main) & (decisions["state"] == "truce") & (decisions["day"] < day)]
    if rows.empty:
        rows = decisions[(decisions["faction"] == main) & (decisions["state"] == "truce") & (decisions["day"] <= 1)]
    if rows.empty:
        return ""
    weights = rows["worlds"].clip(lower=0)
    if weights.sum() <= 0:
        return ""

    def mean(term: str) -> float:
        return float((rows[term] * weights).sum() / weights.sum()) if term in rows else 0.0

    pushes = sorted(((mean(t), t) for t in PUSHES if mean(t) > 0.05), reverse=True)[:2]
    restraints = sorted(((mean(t), t) for t in RESTRAINTS if mean(t) > 0.05), reverse=True)[:2]
    if not pushes and not restraints:
        return ""

    def named(value: float, term: str) -> str:
        name, gloss = TERMS[term]
        if term == "preventive":
            gloss = (
                f"{_rising_rivals(main, scenario)} will turn the balance" if _rising_rivals(main, scenario) else gloss
            )
        by_day = (rows[term] * weights).groupby(rows["day"]).sum() / weights.groupby(rows["day"]).sum()
        trend = ""
        if len(by_day) > 2 and by_day.iloc[0] > 0 and abs(by_day.iloc[-1] / by_day.iloc[0] - 1) > 0.3:
            verb = "fading" if by_day.iloc[-1] < by_day.iloc[0] else "growing"
            first, last = by_day.index[0], by_day.index[-1]
            trend = f", {verb} from {by_day.iloc[0]:.1f} on day {first} to {by_day.iloc[-1]:.1f} on day {last}"
        return f"{name} ({gloss + '; ' if gloss else ''}{value:.2f}{trend})"

    last = int(rows["day"].max())
    days = f"days 1-{last}" if last > 1 else "day 1"
    push = " and ".join(named(v, t) for v, t in pushes)
    hold = " and ".join(named(v, t) for v, t in restraints)
    if push and hold:
        verb = "pushes" if len(pushes) == 1 else "push"
        text = f"{push} {verb} it to attack, against {hold}"
    elif push:
        text = f"{push} {'pushes' if len(pushes) == 1 else 'push'} it to attack, with nothing to restrain it"
    else:
        text = f"it has no push to attack; {hold} {'holds' if len(restraints) == 1 else 'hold'} it back"
    return f"in truce before then ({days}, mean decision terms over worlds), {text}"


def _rising_rivals(main: str, scenario) -> str:
    """Backers of the main breaker's enemies whose support is announced or scheduled to rise:
    "Turkey's support for the GNA"."""
    if scenario is None:
        return ""
    allies = set((scenario.factions.get(main) or {}).get("allies") or ())
    rivals = [f for f in scenario.factions if f != main and f not in allies]
    found = []
    for name, b in scenario.backers.items():
        clients = b.get("clients") or ()
        served = [c for c in clients if c in rivals]
        if not served:
            continue
        support = b.get("support")
        base = support if isinstance(support, (int, float)) else None
        later = [b.get("announced_support")] + [
            v for e in scenario.events for k, v in e.set.items() if k == f"backers.{name}.support"
        ]
        later += [
            base * v for e in scenario.events for k, v in e.scale.items() if k == f"backers.{name}.support" and base
        ]
        later += [v for e in scenario.events for k, v in e.add.items() if k == f"backers.{name}.support" and v > 0]
        if base is not None and any(isinstance(x, (int, float)) and x > base for x in later):
            found.append(f"{_actor(name)}'s support for {' and '.join(_actor(c) for c in served)}")
    return ", ".join(found[:2])


def _headline(s: dict, scenario, replicates: pd.DataFrame | None, decisions: pd.DataFrame | None) -> str:
    """The paragraph at the top of the report: the headline, the known outcome, the caveats' pointer."""
    try:
        text = headline_text(s, scenario, replicates, decisions)
    except (KeyError, ValueError, TypeError, IndexError):  # a summary of another shape: the numbers only
        text = ""
    if s.get("caveats"):
        text += " Read it with the caveats below."
    out = f"<p class='lead'>{html.escape(text.strip())}</p>" if text.strip() else ""
    known = str((getattr(scenario, "data", None) or {}).get("known_outcome") or "")
    if known:
        out += f"<p class='known'><b>Known outcome:</b> {html.escape(known)}</p>"
    return out


def _uncertainty_note(s: dict) -> str:
    """What the curve's interval covers: the posterior band when the run had one, else world sampling only."""
    band = s.get("survival_band")
    if s.get("posterior") and band:
        days = ", ".join(
            f"{_pct(v['lo'])}-{_pct(v['hi'])} at {d} days (world sampling alone {_pct(v['noise_lo'])}-"
            f"{_pct(v['noise_hi'])})"
            for d, v in band["at"].items()
        )
        text = (
            f"This run drew its behavioural constants from a posterior ({s['posterior']['draws']} draws): "
            f"the survival band across draws is {days}. The excess over world sampling is parameter "
            "uncertainty; the judgements in the scenario file (strengths, demands, leverage) are not varied."
        )
        if band.get("warning"):
            text += f" Warning: {band['warning']}."
    else:
        text = (
            "The curve's 95% interval is world sampling only: it shrinks with more worlds and says nothing of "
            "uncertainty in the behavioural constants or in the scenario's judgements. Run with "
            "`run --posterior FILE` to carry a calibration's uncertainty about the constants into the curve, and see "
            "`validate`'s sensitivity table (sensitivity_to_constants.csv) for how far each case's survival moves "
            "with each constant."
        )
    return f"<p class='uncertainty'>{html.escape(text)}</p>"
