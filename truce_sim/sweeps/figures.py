"""Figures of a sweep: metric against one lever, heatmaps for two, main effects for more,
sensitivity bars and a hazard-ratio forest plot. They read the sweep's tables only."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from truce_sim.outputs.figures import PALETTE, plt, save
from truce_sim.runs.survival import Z95

LABELS = {
    "median_survival_days": "median survival (days)",
    "collapse_share": "share of truces collapsed",
    "mean_violations_per_day": "violations per truce day",
}


def label(metric: str) -> str:
    if metric.startswith("survival_at_"):
        return f"survival at {metric.rsplit('_', 1)[1]} days"
    return LABELS.get(metric, metric.replace("_", " "))


def headline(metrics: list[str], points: pd.DataFrame | None = None) -> str:
    """The metric the summary figures show: survival at 90 days if recorded, else the first
    metric with a value at some point (a median is undefined where over half survive)."""
    usable = [m for m in metrics if points is None or points[m].notna().any()] or metrics
    for m in ("survival_at_90", "survival_at_180", "survival_at_30", "survival_at_365"):
        if m in usable:
            return m
    return usable[0]


def sweep_figures(points: pd.DataFrame, paths: list[str], metrics: list[str], out_dir: Path, title: str) -> list[str]:
    """Write the design's figures; return their stems."""
    stems = []
    if len(paths) == 1:
        stems.append(_one_lever(points, paths[0], metrics, out_dir, title))
    elif len(paths) == 2:
        stems += _two_levers(points, paths, headline(metrics, points), out_dir, title)
    else:
        stems.append(_main_effects(points, paths, headline(metrics, points), out_dir, title))
    return stems


def _one_lever(points, path, metrics, out_dir, title) -> str:
    cols = min(len(metrics), 3)
    rows = int(np.ceil(len(metrics) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 3.4 * rows), squeeze=False)
    data = points.sort_values(path)
    for ax, metric in zip(axes.flat, metrics, strict=False):
        ax.fill_between(
            data[path], data[f"{metric}_lo"], data[f"{metric}_hi"], color=PALETTE[0], alpha=0.2, label="95% interval"
        )
        ax.plot(data[path], data[metric], marker="o", ms=3, color=PALETTE[0], label=label(metric))
        ax.set(xlabel=path, ylabel=label(metric))
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(metrics) :]:
        ax.axis("off")
    axes.flat[0].legend(frameon=False, fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    save(fig, out_dir, "sweep_metrics")
    return "sweep_metrics"


def _two_levers(points, paths, metric, out_dir, title) -> list[str]:
    x, y = paths
    fig, ax = plt.subplots(figsize=(6.4, 5))
    if points[x].nunique() * points[y].nunique() == len(points):  # a grid: a true heatmap (NaN cells blank)
        table = points.pivot(index=y, columns=x, values=metric).sort_index().sort_index(axis=1)
        mesh = ax.pcolormesh(
            _edges(table.columns.to_numpy(float)),
            _edges(table.index.to_numpy(float)),
            table.to_numpy(float),
            cmap="viridis",
            vmin=0,
            vmax=1 if "survival" in metric else None,
        )
    else:  # scattered designs: each point coloured by its value
        mesh = ax.scatter(points[x], points[y], c=points[metric], cmap="viridis", s=30)
    fig.colorbar(mesh, ax=ax, label=label(metric))
    ax.set(xlabel=x, ylabel=y, title=f"{label(metric)} - {title}")
    save(fig, out_dir, "sweep_heatmap")
    fig, ax = plt.subplots(figsize=(7, 4.4))
    if points[y].nunique() <= 8:
        for k, (value, group) in enumerate(points.sort_values(x).groupby(y)):
            c = PALETTE[k % len(PALETTE)]
            ax.fill_between(group[x], group[f"{metric}_lo"], group[f"{metric}_hi"], color=c, alpha=0.15)
            ax.plot(group[x], group[metric], marker="o", ms=3, color=c, label=f"{y} = {value:g}")
        ax.legend(frameon=False, fontsize=8)
    else:
        ax.scatter(points[x], points[metric], s=12, color=PALETTE[0])
    ax.set(xlabel=x, ylabel=label(metric), title=title)
    ax.grid(alpha=0.3)
    save(fig, out_dir, "sweep_lines")
    return ["sweep_heatmap", "sweep_lines"]


def _main_effects(points, paths, metric, out_dir, title) -> str:
    cols = min(len(paths), 3)
    rows = int(np.ceil(len(paths) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.4 * cols, 3.2 * rows), squeeze=False, sharey=True)
    for ax, path in zip(axes.flat, paths, strict=False):
        values = points[path]
        groups = values if values.nunique() <= 12 else pd.qcut(values, 8, duplicates="drop").apply(lambda i: i.mid)
        effect = points.groupby(groups, observed=True)[metric].agg(["mean", "sem"]).reset_index()
        x = effect.iloc[:, 0].astype(float)
        ax.errorbar(
            x, effect["mean"], yerr=Z95 * effect["sem"].fillna(0), marker="o", ms=3, color=PALETTE[0], capsize=2
        )
        ax.set(xlabel=path, ylabel=label(metric))
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(paths) :]:
        ax.axis("off")
    fig.suptitle(f"Main effects on {label(metric)} (mean over points, 95% interval) - {title}")
    fig.tight_layout()
    save(fig, out_dir, "sweep_main_effects")
    return "sweep_main_effects"


def sensitivity_figure(indices: pd.DataFrame, design: str, metric: str, out_dir: Path, title: str) -> str:
    data = indices[indices["metric"] == metric]
    fig, ax = plt.subplots(figsize=(7, 0.5 * len(data) + 1.8))
    y = np.arange(len(data))
    if design == "sobol":
        ax.barh(y + 0.2, data["S1"], 0.4, xerr=data["S1_conf"], color=PALETTE[0], label="first order S1")
        ax.barh(y - 0.2, data["ST"], 0.4, xerr=data["ST_conf"], color=PALETTE[1], label="total ST")
        ax.set_xlabel("Sobol index (share of variance, 95% interval)")
    else:
        ax.barh(y, data["mu_star"], 0.6, xerr=data["mu_star_conf"], color=PALETTE[0], label="mu* (mean |effect|)")
        ax.plot(data["sigma"], y, "D", color=PALETTE[1], label="sigma (interactions, non-linearity)")
        ax.set_xlabel(f"Morris elementary effects on {label(metric)}")
    ax.set_yticks(y, data["parameter"])
    ax.legend(frameon=False, fontsize=8)
    ax.set_title(f"Which lever matters for {label(metric)} - {title}")
    ax.grid(alpha=0.3, axis="x")
    save(fig, out_dir, "sensitivity")
    return "sensitivity"


def forest_figure(ratios: pd.DataFrame, out_dir: Path, title: str) -> str:
    fig, ax = plt.subplots(figsize=(7, 0.5 * len(ratios) + 1.8))
    y = np.arange(len(ratios))
    lo = (ratios["hr_per_sd"] - ratios["hr_per_sd_lo"]).to_numpy()
    hi = (ratios["hr_per_sd_hi"] - ratios["hr_per_sd"]).to_numpy()
    ax.errorbar(ratios["hr_per_sd"], y, xerr=[lo, hi], fmt="o", color=PALETTE[0], capsize=3)
    ax.axvline(1, color="0.4", ls="--", lw=1)
    ax.set_xscale("log")
    from matplotlib.ticker import FormatStrFormatter

    ax.xaxis.set_major_formatter(FormatStrFormatter("%.2g"))
    ax.xaxis.set_minor_formatter(FormatStrFormatter("%.2g"))
    ax.set_yticks(y, ratios["parameter"])
    ax.set(
        xlabel="hazard ratio of truce collapse per standard deviation (95% interval; >1 shortens the truce)",
        title=f"Cox proportional hazards - {title}",
    )
    ax.grid(alpha=0.3, axis="x")
    save(fig, out_dir, "hazard_ratios")
    return "hazard_ratios"


def _edges(centres: np.ndarray) -> np.ndarray:
    if len(centres) == 1:
        return np.array([centres[0] - 0.5, centres[0] + 0.5])
    mids = (centres[1:] + centres[:-1]) / 2
    return np.concatenate([[2 * centres[0] - mids[0]], mids, [2 * centres[-1] - mids[-1]]])
