"""Every figure of a run, with one colour-blind-safe palette and one colour per actor.

Plots read result tables only, never the model. Each figure is saved as PNG and SVG.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

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


def survival_figure(replicates: pd.DataFrame, title: str, steps: int, band=None, draws: int | None = None):
    """Kaplan-Meier truce survival with its 95% band, censoring marks and the median; with
    ``band`` (days, lo, hi: the 5-95% range of the posterior draws' curves), that band shaded."""
    fig, ax = plt.subplots(figsize=(8, 4.8))
    if band is not None:
        days, lo, hi = band
        label = f"5-95% across {draws} posterior draws" if draws else "5-95% across posterior draws"
        ax.fill_between(days, lo, hi, step="post", color=TRUCE_COLOUR, alpha=0.12, lw=0, label=label)
    survival_axes(ax, [(replicates, "truce survival (Kaplan-Meier)", TRUCE_COLOUR)], title, steps, censors=True)
    median, _ = median_survival(kaplan_meier(replicates))
    if median is not None:
        ax.axvline(median, color="0.3", lw=1, ls="--", label=f"median {median:g} days")
    else:
        ax.plot([], [], color="0.5", lw=0.8, ls=":", label="median not reached (over half survive)")
    ax.legend(loc="upper right", frameon=False)
    return fig


def dynamics_figure(timeseries: pd.DataFrame, factions: list[str], backers: list[str], title: str):
    """Power and control, violations per day and backer support over time, with 5-95% bands."""
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
    for ax in axes:
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


# Push toward an offensive (drawn above zero) and restraint (drawn below), as in decisions.csv.
PUSHES = ("gain", "demand", "preventive", "grievance")
RESTRAINTS = ("waiting", "cost", "mobilisation", "leverage", "red_line", "trust", "benefits", "signature")


def decisions_figure(decisions: pd.DataFrame, factions: list[str], title: str):
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
    axes[-1, 0].set_xlabel("days since the truce began")
    fig.tight_layout()
    return fig
