"""A nowcast's out dir: summary.json, replicates.csv (the conditioned worlds), filter.csv (the
filter's trace), nowcast.png/.svg and report.html."""

from __future__ import annotations

import html
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from truce_sim.nowcast.forecast import Nowcast  # noqa: E402
from truce_sim.outputs.figures import PALETTE, save, survival_axes  # noqa: E402
from truce_sim.outputs.files import write_json, write_text  # noqa: E402
from truce_sim.outputs.html import figure, page, table  # noqa: E402
from truce_sim.runs.survival import kaplan_meier  # noqa: E402


def write_nowcast_files(result: Nowcast, out_dir: Path, command: list[str] | None = None) -> None:
    s = result.summary
    write_json(out_dir / "summary.json", {**s, "command": command})
    result.filtered.replicates.to_csv(out_dir / "replicates.csv", index=False)
    result.filtered.trace.to_csv(out_dir / "filter.csv", index=False)
    nowcast_figure(result, out_dir)
    write_text(out_dir / "report.html", nowcast_report(result))


def nowcast_figure(result: Nowcast, out_dir: Path) -> None:
    s, as_of = result.summary, result.summary["as_of_day"]
    fig, ax = plt.subplots(figsize=(8, 4.2))
    survival_axes(
        ax,
        [(result.unconditional.replicates, "unconditioned, 95% band", "0.45")],
        f"{s['scenario']}: nowcast as of day {as_of}" + (f" ({s['as_of_date']})" if s["as_of_date"] else ""),
        s["steps"],
    )
    # no Greenwood band for the conditioned worlds: copies of one world are not independent, and
    # their intervals (in the table) come from a bootstrap over the worlds they descend from
    kaplan_meier(result.filtered.replicates, label=f"conditioned on the record to day {as_of}").plot_survival_function(
        ax=ax, ci_show=False, color=PALETTE[0], lw=2
    )
    ax.set_xlabel("days since the truce began")  # lifelines' plot names it "timeline"
    ax.axvline(as_of, color="0.2", ls="--", lw=1)
    ax.text(as_of, 1.0, " as of", fontsize=8, va="top")
    ax.legend(frameon=False, fontsize=8, loc="center right")
    save(fig, out_dir, "nowcast")


def _percent(cell: dict | None) -> str:
    return "-" if not cell else f"{100 * cell['p']:.1f}% ({100 * cell['lo']:.1f}-{100 * cell['hi']:.1f})"


def nowcast_report(result: Nowcast) -> str:
    s = result.summary
    days = sorted(set(s["conditional_survival_at"]) | set(s["unconditional_survival_at"]), key=int)
    survival = pd.DataFrame(
        {
            "day": [int(d) for d in days],
            "conditioned": [_percent(s["conditional_survival_at"].get(d)) for d in days],
            "unconditional": [_percent(s["unconditional_survival_at"].get(d)) for d in days],
        }
    )
    shares = pd.DataFrame(
        [
            {"who or how": f"breaker: {k}", "conditioned": s["conditional_breakers"].get(k), "unconditional": v}
            for k, v in s["unconditional_breakers"].items()
        ]
        + [
            {"who or how": f"cause: {k}", "conditioned": s["conditional_causes"].get(k), "unconditional": v}
            for k, v in s["unconditional_causes"].items()
        ]
    )
    headline = (
        f"As of day {s['as_of_day']}, with {s['observed_days']} observed days, the truce holds to day 90 in "
        f"{_percent(s['conditional_survival_at'].get('90'))} of the conditioned worlds, against "
        f"{_percent(s['unconditional_survival_at'].get('90'))} before the record was seen. "
        f"Effective sample size {s['effective_sample_size']:.0f} of {s['worlds']} worlds."
    )
    warning = f"<p class='warn'><b>Warning:</b> {html.escape(s['warning'])}</p>" if s["warning"] else ""
    if s["note"]:
        warning += f"<p class='note'><b>Note:</b> {html.escape(s['note'])}</p>"
    method = (
        "<p class='note'>A particle filter over the observed days: each world's weight is multiplied by "
        "the likelihood of each day's observations in it ("
        + html.escape("; ".join(f"{k}: {v}" for k, v in s["likelihood"].items() if k != "resample_below"))
        + f"), and the worlds are resampled when the effective sample size falls below "
        f"{100 * s['likelihood']['resample_below']:.0f}% of them and on the as-of day; each copy then "
        "goes on with a random stream of its own. <a href='filter.csv'>filter.csv</a> traces it.</p>"
    )
    return page(
        f"{s['scenario']}: nowcast as of day {s['as_of_day']}",
        [
            ("In short", f"<p class='headline'>{html.escape(headline)}</p>{warning}"),
            (
                "Survival",
                figure("nowcast", "Truce survival, conditioned on the record and not")
                + table(survival)
                + "<p class='note'>Kaplan-Meier survival from the truce's start, with 95% intervals: for the "
                "conditioned worlds, a bootstrap over the worlds of the start they descend from.</p>",
            ),
            ("Who breaks it, and how (shares of collapsed worlds)", table(shares)),
            (
                "What the record says about the case",
                (
                    table(pd.DataFrame(s["facts_shifted"]))
                    if s["facts_shifted"]
                    else "<p>None to show: the scenario draws no fact from a distribution.</p>"
                )
                + "<p class='note'>The facts drawn from distributions whose mean conditioning moved most, "
                "in standard deviations of the unconditioned worlds.</p>",
            ),
            ("How", method),
        ],
    )
