"""Every figure of a run, with one colour-blind-safe palette and one colour per actor.

Plots read result tables only, never the model. Each figure is saved as PNG and SVG.
"""

from __future__ import annotations

import datetime as dt
import re
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import FuncFormatter, MaxNLocator  # noqa: E402

from truce_sim.runs.survival import kaplan_meier, median_survival  # noqa: E402

# Okabe & Ito (2008), safe for the common forms of colour blindness.
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]
TRUCE_COLOUR = "#0072B2"


def actor_colours(factions: list[str], backers: list[str]) -> dict[str, str]:
    """One colour per actor, factions first, in scenario order, the same in every figure."""
    return {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(list(factions) + list(backers))}


def save(fig, out_dir: Path, stem: str) -> list[Path]:
    paths = [Path(out_dir) / f"{stem}.png", Path(out_dir) / f"{stem}.svg"]
    fig.savefig(paths[0], dpi=120, bbox_inches="tight")
    fig.savefig(paths[1], bbox_inches="tight")
    plt.close(fig)
    return paths


def survival_axes(
    ax, curves: list[tuple[pd.DataFrame, str, str]], title: str, steps: int | None = None, censors: bool = False
) -> None:
    """The one Kaplan-Meier axes of every page: each (replicates, label, colour) curve with its
    95% band, the 50% line where the median is read, and the same labels and limits."""
    for rows, label, colour in curves:
        kaplan_meier(rows, label=label).plot_survival_function(
            ax=ax,
            ci_show=True,
            color=colour,
            ci_alpha=0.25 if censors else 0.2,
            show_censors=censors,
            censor_styles={"ms": 5, "marker": "|"},
        )
    ax.axhline(0.5, color="0.5", lw=0.8, ls=":")
    ax.set(ylim=(0, 1.02), xlabel="days since the truce began", ylabel="share of worlds whose truce holds", title=title)
    if steps is not None:
        ax.set_xlim(0, steps)
    ax.grid(alpha=0.3)


def known_days(known_outcome: str | None) -> list[tuple[int, str]]:
    """The days a scenario's ``known_outcome`` names ("LNA offensive day 14; GNA counter-offensive
    day 73"), each with the clause that names it: [(14, "LNA offensive"), (73, "GNA counter-offensive")]."""
    out = []
    for clause in re.split(r";\s*|\.\s+", known_outcome or ""):
        start = 0
        for m in re.finditer(r"\bdays? (\d[\d,]*)", clause):
            pieces = [_LEAD.sub("", _TRAIL.sub("", x.strip())) for x in re.split(r"[,(]", clause[start : m.start()])]
            text = next((x for x in reversed(pieces) if x), "") or clause.strip()
            out.append((int(m.group(1).replace(",", "")), text))
            start = m.end()
    return out


_TRAIL = re.compile(r"((^|\s+)\b(about|on|from|by|until|in|at|since|to)\b)+$")
_LEAD = re.compile(r"^(and|but|then)\s+")


def _short(label: str, n: int = 30) -> str:
    label = " ".join(str(label).split())
    return label if len(label) <= n else label[: n - 1].rstrip(" ,:;") + "\u2026"


def event_markers(ax, events, steps: int | None = None, labels: bool = True, known=()) -> None:
    """Scheduled events (day, label) as thin grey vertical lines with short labels, and the days a
    known outcome names as dark dash-dot lines; days past ``steps`` are left out. Events closer
    than 4% of the axis to the last labelled one share its label ("... +1")."""
    top = ax.get_ylim()[1]
    span = steps or max((d for d, _ in events or ()), default=1) or 1
    shown = [(d, lab) for d, lab in events or () if steps is None or d <= steps]
    groups: list[list[tuple[int, str]]] = []
    for day, label in shown:
        ax.axvline(day, color="0.55", lw=0.7, ls="-", alpha=0.7, zorder=0)
        if groups and day - groups[-1][0][0] < 0.04 * span:
            groups[-1].append((day, label))
        else:
            groups.append([(day, label)])
    for group in groups if labels else ():
        day, label = group[0]
        text = _short(label or f"event day {day}", 26) + (f" +{len(group) - 1}" if len(group) > 1 else "")
        ax.text(day, top, " " + text, rotation=90, va="top", ha="left", fontsize=6.5, color="0.35", clip_on=True)
    for i, (day, label) in enumerate(known or ()):
        if steps is not None and day > steps:
            continue
        ax.axvline(
            day, color="#000000", lw=1.4, ls="-.", label=f"known: {_short(label, 40)} (day {day})" if i < 4 else None
        )


def date_axis(ax, start_date, bins: int = 6) -> None:
    """Calendar dates of the days on a secondary axis above ``ax`` (when the scenario has a start
    date), at most ``bins`` of them."""
    if start_date is None:
        return
    start = start_date if isinstance(start_date, dt.date) else dt.date.fromisoformat(str(start_date))
    top = ax.secondary_xaxis("top")

    def fmt(x, _pos):
        try:
            return (start + dt.timedelta(days=float(x))).strftime("%-d %b %Y")
        except (OverflowError, ValueError):
            return ""

    top.xaxis.set_major_locator(MaxNLocator(nbins=bins, integer=True))
    top.xaxis.set_major_formatter(FuncFormatter(fmt))
    top.tick_params(labelsize=7)
    top.set_xlabel("date", fontsize=8)


def survival_figure(
    replicates: pd.DataFrame,
    title: str,
    steps: int,
    band=None,
    draws: int | None = None,
    events=None,
    start_date=None,
    known_outcome: str | None = None,
):
    """Kaplan-Meier truce survival with its 95% band, censoring marks and the median; with
    ``band`` (days, lo, hi: the 5-95% range of the posterior draws' curves), that band shaded;
    scheduled ``events`` and the days ``known_outcome`` names as vertical lines, calendar dates
    above when there is a ``start_date``, and the worlds at risk below."""
    fig, ax = plt.subplots(figsize=(9.5, 5.6))
    if band is not None:
        days, lo, hi = band
        label = f"5-95% across {draws} posterior draws" if draws else "5-95% across posterior draws"
        ax.fill_between(days, lo, hi, step="post", color=TRUCE_COLOUR, alpha=0.12, lw=0, label=label)
    survival_axes(ax, [(replicates, "truce survival (Kaplan-Meier)", TRUCE_COLOUR)], title, steps, censors=True)
    kmf = kaplan_meier(replicates)
    median, _ = median_survival(kmf)
    if median is not None:
        ax.axvline(median, color="0.3", lw=1, ls="--", label=f"median {median:g} days")
    else:
        ax.plot([], [], color="0.5", lw=0.8, ls=":", label="median not reached (over half survive)")
    event_markers(ax, events, steps, known=known_days(known_outcome))
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=8)
    date_axis(ax, start_date)
    at_risk_axes(ax, kmf, steps)
    fig.tight_layout()
    return fig


def at_risk_axes(ax, kmf, steps: int) -> None:
    """The worlds still at risk (in their first truce), censored and collapsed under the curve."""
    from lifelines.plotting import add_at_risk_counts

    ticks = [int(x) for x in ax.get_xticks() if 0 <= x <= steps]
    ax.set_xticks(ticks)
    ax.set_xlim(0, steps)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        add_at_risk_counts(kmf, ax=ax, labels=["worlds"], xticks=ticks, ypos=-0.5, fontsize=7)


def dynamics_figure(
    timeseries: pd.DataFrame,
    factions: list[str],
    backers: list[str],
    title: str,
    events=None,
    start_date=None,
    known_outcome: str | None = None,
):
    """Power and control, violations per day and backer support over time, with 5-95% bands;
    scheduled ``events`` (and the days ``known_outcome`` names) as vertical lines, dates above."""
    colours = actor_colours(factions, backers)
    rows = 3 if backers else 2
    fig, axes = plt.subplots(rows, 1, figsize=(9, 3.0 * rows), sharex=True)
    day = timeseries["day"]
    ax = axes[0]
    for name in factions:
        c = colours[name]
        ax.fill_between(day, timeseries[f"power_{name}_q05"], timeseries[f"power_{name}_q95"], color=c, alpha=0.15)
        ax.plot(day, timeseries[f"power_{name}_mean"], color=c, lw=2, label=f"{name} power")
        ax.plot(day, timeseries[f"control_{name}_mean"], color=c, lw=1.5, ls="--", label=f"{name} control")
    ax.set(ylabel="share (0-1)", ylim=(0, 1), title=title)
    ax.legend(ncol=2, fontsize=8, frameon=False, loc="upper left")
    ax = axes[1]
    ax.fill_between(
        day, timeseries["violations_q05"], timeseries["violations_q95"], color="0.5", alpha=0.2, label="5-95% of worlds"
    )
    for name in factions:
        ax.plot(day, timeseries[f"violations_{name}_mean"], color=colours[name], lw=1.2, label=f"{name} (mean)")
    ax.plot(day, timeseries["violations_mean"], color="0.1", lw=1.5, label="all factions (mean)")
    ax.set(ylabel="violations per day")
    twin = ax.twinx()
    twin.plot(day, timeseries["share_in_truce"], color=TRUCE_COLOUR, lw=1, ls=":", label="share in truce")
    twin.set(ylabel="share of worlds in truce", ylim=(0, 1.02))
    lines = ax.get_legend_handles_labels()
    more = twin.get_legend_handles_labels()
    ax.legend(lines[0] + more[0], lines[1] + more[1], fontsize=8, frameon=False, ncol=2, loc="upper right")
    if backers:
        ax = axes[2]
        for name in backers:
            c = colours[name]
            ax.fill_between(
                day, timeseries[f"support_{name}_q05"], timeseries[f"support_{name}_q95"], color=c, alpha=0.15
            )
            ax.plot(day, timeseries[f"support_{name}_mean"], color=c, lw=1.8, label=name)
        ax.set(ylabel="support (strength units per day)")
        ax.legend(fontsize=8, frameon=False, ncol=min(len(backers), 4))
    axes[-1].set_xlabel("days since the truce began")
    steps = int(day.max()) if len(day) else None
    known = known_days(known_outcome)
    for i, ax in enumerate(axes):
        ax.grid(alpha=0.3)
        event_markers(ax, events, steps, labels=i == 0, known=known)
    date_axis(axes[0], start_date)
    fig.tight_layout()
    return fig


# Competing risks: the colour of each way a truce ends, as replicates.csv names them.
CAUSE_NAMES = {"offensive": "offensive", "violation_spiral": "violation spiral", "expired": "expired"}


def causes_figure(
    replicates: pd.DataFrame,
    factions: list[str],
    title: str,
    steps: int,
    events=None,
    start_date=None,
    known_outcome: str | None = None,
):
    """Competing risks: the cumulative incidence of collapse by cause and by breaker over time
    (Aalen-Johansen, lifelines, with 95% bands), each curve the share of all worlds whose first
    truce has ended that way by that day; worlds still in truce are censored."""
    from lifelines import AalenJohansenFitter

    colours = actor_colours(factions, [])
    fig, axes = plt.subplots(1, 2, figsize=(11, 5.2), sharey=True)
    durations = replicates["survival_days"].astype(float)
    collapsed = replicates["collapsed"].astype(bool)
    known = known_days(known_outcome)
    for ax, column, names in (
        (axes[0], "cause", list(CAUSE_NAMES)),
        (axes[1], "breaker", list(factions)),
    ):
        values = replicates[column].fillna("").astype(str).where(collapsed, "")
        present = [n for n in names if (values == n).any()] + sorted(set(values[values != ""]) - set(names))
        codes = values.map({n: i + 1 for i, n in enumerate(present)}).fillna(0).astype(int)
        for i, name in enumerate(present):
            colour = colours.get(name, PALETTE[(i + 2) % len(PALETTE)]) if column == "breaker" else PALETTE[i]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # lifelines jitters tied days (seeded) and says so
                ajf = AalenJohansenFitter(seed=0, alpha=0.05).fit(
                    durations, codes, event_of_interest=i + 1, label=CAUSE_NAMES.get(name, name)
                )
            share = (codes == i + 1).mean()
            ajf.plot_cumulative_density(
                ax=ax,
                color=colour,
                ci_show=True,
                ci_alpha=0.2,
                lw=1.8,
                label=f"{CAUSE_NAMES.get(name, name)} ({100 * share:.0f}% of worlds)",
            )
        if not present:
            ax.text(0.5, 0.5, "no truce collapsed", transform=ax.transAxes, ha="center")
        ax.set(
            xlim=(0, steps),
            ylim=(0, 1.02),
            xlabel="days since the truce began",
            title=f"by {'cause' if column == 'cause' else 'breaker'}",
        )
        ax.grid(alpha=0.3)
        event_markers(ax, events, steps, labels=column == "cause", known=known)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)
        date_axis(ax, start_date, bins=4)
    axes[0].set_ylabel("cumulative share of worlds collapsed")
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig


# Push toward an offensive (drawn above zero) and restraint (drawn below), as in decisions.csv.
PUSHES = ("gain", "demand", "preventive", "grievance")
RESTRAINTS = ("waiting", "cost", "mobilisation", "leverage", "red_line", "trust", "benefits", "signature")


def decisions_figure(decisions: pd.DataFrame, factions: list[str], title: str, events=None, start_date=None):
    """Why factions attack: per faction, the mean over all worlds of each term of the value of an
    offensive over time, pushes above zero and restraints below, with the net value."""
    fig, axes = plt.subplots(len(factions), 1, figsize=(10.5, 3.2 * len(factions)), sharex=True, squeeze=False)
    styles = [(c, "-") for c in PALETTE[:7]] + [(c, "--") for c in PALETTE[:7]]
    for ax, name in zip(axes[:, 0], factions, strict=False):
        rows = decisions[decisions["faction"] == name]
        worlds = rows.groupby("day")["worlds"].sum()
        for i, term in enumerate(PUSHES + RESTRAINTS):
            if term not in rows:
                continue
            mean = (rows[term] * rows["worlds"]).groupby(rows["day"]).sum() / worlds
            if not mean.abs().gt(0.01).any():
                continue
            sign = 1 if term in PUSHES else -1
            colour, ls = styles[i % len(styles)]
            ax.plot(mean.index, sign * mean, color=colour, ls=ls, lw=1.3, label=term if sign > 0 else f"-{term}")
        net = (rows["value_offensive"] * rows["worlds"]).groupby(rows["day"]).sum() / worlds
        ax.plot(net.index, net, color="0.1", lw=2.2, label="value of an offensive")
        ax.axhline(0, color="0.5", lw=0.8)
        ax.set(ylabel=f"{name}: value vs holding", title=title if ax is axes[0, 0] else None)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        event_markers(ax, events, int(decisions["day"].max()) if len(decisions) else None, labels=ax is axes[0, 0])
    date_axis(axes[0, 0], start_date)
    axes[-1, 0].set_xlabel("days since the truce began")
    fig.tight_layout()
    return fig
