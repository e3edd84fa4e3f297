"""The validation report: each stylized fact with its pass rule and its control, the effects of
the levers beside the published ones, what the historical cases' brackets constrain, and what
the model cannot claim."""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pandas as pd

from truce_sim.outputs.files import staged_out_dir
from truce_sim.validity.facts import FactResult


def control_passed(r: FactResult) -> bool | None:
    """The control's result as a plain bool (a rule may give numpy's), or None if not measured."""
    return None if r.control_passed is None else bool(r.control_passed)


def holds(r: FactResult) -> bool:
    """The fact is shown: it passes as shipped and its control fails (FactResult.holds, robust
    to numpy's bools, which are never ``False`` by identity)."""
    return bool(r.passed) and control_passed(r) is False


def shipped_text(r: FactResult) -> str:
    return "pass" if r.passed else "FAIL"


def control_text(r: FactResult) -> str:
    """What the control run gives: its rule must fail for the fact to rest on its mechanism."""
    if control_passed(r) is None:
        return "no control measured"
    if control_passed(r):
        return "PASSES: the fact does not rest on its mechanism"
    return "fails as it must"


def verdict(r: FactResult) -> str:
    """holds: passes as shipped and its control fails."""
    if holds(r):
        return "holds"
    if not r.passed:
        return "does not hold: fails as shipped"
    if control_passed(r):
        return "does not hold: its control passes too"
    return "not shown: no control measured"


def rule_fails(r: FactResult) -> bool:
    """A rule fails when the fact fails as shipped or its control passes too (the exit-1 rule
    of `validate`). A fact with no control measured is not shown, but no rule has failed."""
    return (not r.passed) or control_passed(r) is True


def facts_table(results: list[FactResult]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "fact": r.number,
                "name": r.name,
                "pass rule": r.rule,
                "as shipped": shipped_text(r),
                "control": r.control or "-",
                "control result": control_text(r),
                "verdict": verdict(r),
                "claim": r.claim,
                "measured": r.measured,
                "control measured": r.control_measured,
            }
            for r in results
        ],
        columns=[
            "fact",
            "name",
            "pass rule",
            "as shipped",
            "control",
            "control result",
            "verdict",
            "claim",
            "measured",
            "control measured",
        ],
    )


TABLE_COLUMNS = ["fact", "name", "pass rule", "as shipped", "control", "control result", "verdict"]


LIMITS = """<p>What the model can claim: it ranks and explains. Within worlds built from a case's
facts, it says which levers lengthen or shorten a truce, how they interact, and how large each
effect is relative to the others. It does not forecast a real truce's end date: the survival
curves are distributions over simulated worlds, not probabilities for the one real world.</p>
<p>Which parameters are guesses: the facts of each scenario (strengths, cohesion, demands,
backers' preferences, pressure and credibility) are judgements from public reports, not
measurements; the behavioural constants are magnitudes set by hand, eight of them then calibrated
(ABC-SMC) so that the founding case's story and the historical cases land in their targets and
brackets. A few cases and one story cannot pin down some sixty constants: many other settings
would fit them too. The table below
shows how much each case's survival at 90 days moves when each constant moves by 20% either way;
large swings mark results that rest on a guess.</p>"""

FACTS_INTRO = """<p>Each fact is a claim with a pass rule, measured as shipped and again in a
control run with the mechanism behind it switched off. A fact holds only when it passes as
shipped and the same rule fails on the control: a fact whose control passes too does not rest
on the mechanism it names.</p>"""

EFFECTS_INTRO = """<p>For each lever whose effect size the empirical literature gives, the
model's hazard ratio of collapse (lever on against off, in one base scenario, same seed for both
arms: Cox model on the pooled worlds with an indicator, 95% interval from the robust variance
clustered on the paired world) beside the published ratio. A ratio is of the published order
when it lies within a factor of 3 of it. The literature measures peace after wars over years,
the model a truce's first months; the model's monitoring only verifies and attributes
violations and is an imperfect analogue of peacekeeping, which also separates forces. These
numbers are reported as measured, not tuned to match.</p>"""

CONSTRAINTS_INTRO = """<p>Which fitted constants each historical case's brackets constrain: each
case's bracketed quantities with each constant that calibrate fits at 0.5 and 1.5 times its
shipped value (clipped to its legal range). A case is constrained when at least one constant
takes it out of a bracket it holds as shipped; a case no constant moves out says little about
those constants, and a case already out of a bracket as shipped is marked so. A GNA breaker
share (late minus early) of -1 means too few collapses after day 60 to measure it, which
calibrate scores as out of the bracket. All values in
<a href='constraints_scan.csv'>constraints_scan.csv</a>.</p>"""


def write_validation(
    results: list[FactResult],
    out_dir: Path,
    sensitivity: pd.DataFrame | None = None,
    effects: pd.DataFrame | None = None,
    constraints: pd.DataFrame | None = None,
) -> Path:
    """Write the report into ``out_dir`` (staged: it replaces the dir only once complete).
    ``constraints`` is the long scan of sensitivity.constraint_scan."""
    with staged_out_dir(out_dir, "validate") as staging:
        _write_validation_files(results, staging, sensitivity, effects, constraints)
    return Path(out_dir)


def _bars(ax, bars, colour: str, title: str) -> None:
    if not bars:
        ax.text(0.5, 0.5, "not measured", ha="center", va="center", transform=ax.transAxes)
        ax.set(yticks=[], title=title)
        return
    y = np.arange(len(bars))[::-1]
    values = np.array([b[1] for b in bars])
    err = np.array([[b[1] - b[2] for b in bars], [b[3] - b[1] for b in bars]]).clip(min=0)
    ax.barh(y, values, xerr=err, color=colour, capsize=3)
    ax.set_yticks(y, [b[0] for b in bars])
    ax.set_title(title, fontsize=10, loc="left")
    ax.grid(alpha=0.3, axis="x")


def fact_figure(r: FactResult, out_dir: Path, stem: str) -> None:
    """The shipped bars and the control bars, two groups on one scale, with 95% intervals."""
    from truce_sim.outputs import figures as plots

    n, m = max(len(r.bars), 1), max(len(r.control_bars), 1)
    fig, (top, bottom) = plots.plt.subplots(
        2, 1, sharex=True, figsize=(7.5, 0.45 * (n + m) + 2.4), gridspec_kw={"height_ratios": [n, m]}
    )
    _bars(top, r.bars, plots.PALETTE[0], f"as shipped: {shipped_text(r)}")
    control = f"control ({r.control}): " if r.control else "control: "
    _bars(bottom, r.control_bars, plots.PALETTE[1], control + control_text(r))
    bottom.set_xlabel(f"{r.quantity} (95% interval)")
    fig.suptitle(f"{r.number}. {r.name}: {verdict(r)}")
    plots.save(fig, out_dir, stem)


def effects_figure(effects: pd.DataFrame, out_dir: Path, stem: str = "effects") -> None:
    from truce_sim.outputs import figures as plots

    fig, ax = plots.plt.subplots(figsize=(7.5, 0.8 * len(effects) + 1.6))
    y = np.arange(len(effects))[::-1]
    for k, (_, row) in zip(y, effects.iterrows(), strict=True):
        lo, hi = row["published lo"], row["published hi"]
        ax.plot([lo / 3, hi * 3], [k, k], color="0.85", lw=10, solid_capstyle="butt")
        if hi > lo:
            ax.plot([lo, hi], [k, k], color="0.45", lw=10, solid_capstyle="butt")
        else:  # a point estimate
            ax.plot([lo], [k], "|", color="0.3", ms=22, mew=3)
        hr = row["model hazard ratio"]
        ax.errorbar(hr, k, xerr=[[hr - row["lo"]], [row["hi"] - hr]], fmt="o", color=plots.PALETTE[0])
    ax.set_xscale("log")
    ax.axvline(1, color="0.3", lw=0.8)
    ax.set_yticks(y, list(effects["lever"]))
    ax.set_ylim(-0.6, len(effects) - 0.4)
    ax.set(
        xlabel="hazard ratio of collapse, lever on against off\n(dot: model with 95% interval; "
        "dark: published; light: within a factor of 3)",
        title="Effects of the levers against the published order",
    )
    ax.grid(alpha=0.3, axis="x")
    plots.save(fig, out_dir, stem)


def _write_validation_files(
    results: list[FactResult],
    out_dir: Path,
    sensitivity: pd.DataFrame | None = None,
    effects: pd.DataFrame | None = None,
    constraints: pd.DataFrame | None = None,
) -> None:
    from truce_sim.outputs.html import figure, page, table

    esc = html.escape
    facts = facts_table(results)
    facts.to_csv(out_dir / "validation.csv", index=False)
    sections = [("Stylized facts", FACTS_INTRO + table(facts[TABLE_COLUMNS]))]
    for r in results:
        stem = f"fact_{r.number}"
        fact_figure(r, out_dir, stem)
        control = (
            f"<p>Control ({esc(r.control)}): {esc(r.control_measured)}; {esc(control_text(r))}.</p>"
            if control_passed(r) is not None
            else "<p>Control: no control measured, so the fact is not shown to rest on its mechanism.</p>"
        )
        sections.append(
            (
                f"{r.number}. {r.name}: {verdict(r)}",
                f"<p>Claim: {esc(r.claim)}.</p><p>Rule: {esc(r.rule or '-')}.</p>"
                f"<p>Measured: {esc(r.measured)} ({shipped_text(r)}).</p>"
                + control
                + figure(stem, f"{r.name}: {r.quantity}, as shipped and in the control"),
            )
        )
    if effects is not None:
        effects.to_csv(out_dir / "effects.csv", index=False)
        effects_figure(effects, out_dir)
        shown = effects[["lever", "model hazard ratio", "lo", "hi", "published ratio", "within factor 3"]]
        notes = "".join(
            f"<li><b>{esc(row['lever'])}</b>: {esc(row['note'])}. Source: {esc(row['source'])}.</li>"
            for _, row in effects.iterrows()
        )
        sections.append(
            (
                "Effects of the published order",
                EFFECTS_INTRO
                + table(shown, 3)
                + f"<ul>{notes}</ul>"
                + figure("effects", "model hazard ratios against the published ones"),
            )
        )
    if constraints is not None:
        from truce_sim.validity.sensitivity import constraints_table

        constraints.to_csv(out_dir / "constraints_scan.csv", index=False)
        summary = constraints_table(constraints)
        summary.to_csv(out_dir / "constraints.csv", index=False)
        constrained = int((summary["constrained"] == "yes").sum())
        sections.append(
            (
                f"What the brackets constrain: {constrained} of {len(summary)} cases constrained",
                CONSTRAINTS_INTRO + table(summary, 3),
            )
        )
    limits = LIMITS
    if sensitivity is not None:
        sensitivity.to_csv(out_dir / "sensitivity_to_constants.csv", index=False)
        top = sensitivity.groupby("case", group_keys=False).head(8)
        limits += (
            "<p>The eight constants that move each case most (survival at 90 days at -20%, as set, +20%; "
            "all in <a href='sensitivity_to_constants.csv'>sensitivity_to_constants.csv</a>):</p>"
            + table(top[["case", "constant", "value", "s90_minus_20", "s90", "s90_plus_20", "swing"]], 3)
        )
    sections.append(("What the model cannot claim", limits))
    holding = sum(holds(r) for r in results)
    (out_dir / "report.html").write_text(
        page(f"Validation: {holding} of {len(results)} stylized facts hold", sections), encoding="utf-8"
    )
