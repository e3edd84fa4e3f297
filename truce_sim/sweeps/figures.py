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


PROBABILITY_PREFIXES = ("survival_at_", "collapse_share", "cause_share_", "breaker_share_")


def is_probability(metric: str) -> bool:
    """Whether a metric is a probability or share, whose intervals lie in [0, 1]."""
    return metric.startswith(PROBABILITY_PREFIXES)


def clamp_intervals(points: pd.DataFrame) -> pd.DataFrame:
    """The points with every probability metric and its interval clipped to [0, 1] (a normal
    approximation can reach past them; the true value cannot)."""
    out = points.copy()
    for column in out.columns:
        base = column[:-3] if column.endswith(("_lo", "_hi")) else column
        if is_probability(str(base)) and pd.api.types.is_numeric_dtype(out[column]):
            out[column] = out[column].clip(0.0, 1.0)
    return out


def label(metric: str) -> str:
    if metric.startswith("survival_at_"):
        return f"survival at {metric.rsplit('_', 1)[1]} days"
    return LABELS.get(metric, metric.replace("_", " "))


def headline(metrics: list[str], points: pd.DataFrame | None = None, chosen: str | None = None) -> str:
    """The metric the summary figures show: ``chosen`` (the sweep's ``heatmap_metric``) if given,
    else survival at 90 days if recorded, else the first metric with a value at some point (a
    median is undefined where over half survive)."""
    if chosen is not None:
        return chosen
    usable = [m for m in metrics if points is None or points[m].notna().any()] or metrics
    for m in ("survival_at_90", "survival_at_180", "survival_at_30", "survival_at_365"):
        if m in usable:
            return m
    return usable[0]


def sweep_figures(
    points: pd.DataFrame, paths: list[str], metrics: list[str], out_dir: Path, title: str, metric: str | None = None
) -> list[str]:
    """Write the design's figures; return their stems. ``metric`` is the one the heatmap, lines
    and main effects show (default: ``headline``)."""
    stems = []
    points = clamp_intervals(points)
    metric = headline(metrics, points, metric)
    if len(paths) == 1:
        stems.append(_one_lever(points, paths[0], metrics, out_dir, title))
    elif len(paths) == 2:
        stems += _two_levers(points, paths, metric, out_dir, title)
    else:
        stems.append(_main_effects(points, paths, metric, out_dir, title))
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
            vmax=1 if is_probability(metric) else None,
        )
    else:  # scattered designs: each point coloured by its value
        scale = {"vmin": 0, "vmax": 1} if is_probability(metric) else {}
        mesh = ax.scatter(points[x], points[y], c=points[metric], cmap="viridis", s=30, **scale)
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
        effect = main_effect(points, path, metric)
        below, above = (effect["mean"] - effect["lo"]).clip(lower=0), (effect["hi"] - effect["mean"]).clip(lower=0)
        ax.errorbar(effect["value"], effect["mean"], yerr=[below, above], marker="o", ms=3, color=PALETTE[0], capsize=2)
        ax.set(xlabel=path, ylabel=label(metric))
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(paths) :]:
        ax.axis("off")
    fig.suptitle(f"Main effects on {label(metric)} (mean over points, 95% interval) - {title}")
    fig.tight_layout()
    save(fig, out_dir, "sweep_main_effects")
    return "sweep_main_effects"


def main_effect(points: pd.DataFrame, path: str, metric: str) -> pd.DataFrame:
    """The main effect of ``path`` on ``metric``: per value (or per octile of a continuous
    design's values), the mean over points with its 95% interval (normal, clipped to [0, 1] for
    a probability). Columns value, mean, lo, hi, points."""
    values = points[path]
    groups = values if values.nunique() <= 12 else pd.qcut(values, 8, duplicates="drop").apply(lambda i: i.mid)
    effect = points.groupby(groups, observed=True)[metric].agg(["mean", "sem", "count"]).reset_index()
    half = Z95 * effect["sem"].fillna(0)
    out = pd.DataFrame(
        {
            "value": effect.iloc[:, 0].astype(float),
            "mean": effect["mean"],
            "lo": effect["mean"] - half,
            "hi": effect["mean"] + half,
            "points": effect["count"],
        }
    )
    if is_probability(metric):
        out[["mean", "lo", "hi"]] = out[["mean", "lo", "hi"]].clip(0.0, 1.0)
    return out


def _interval(value: pd.Series, conf: pd.Series, lo: float, hi: float | None) -> tuple[np.ndarray, np.ndarray]:
    """The interval value +/- conf cut to [lo, hi]: no bar reaches past them."""
    v, c = value.to_numpy(float), np.nan_to_num(conf.to_numpy(float))
    return np.clip(v - c, lo, hi), np.clip(v + c, lo, hi)


def sensitivity_figure(
    indices: pd.DataFrame, design: str, metric: str, out_dir: Path, title: str, unstable: bool = False
) -> str:
    """Bars of each lever's indices for one metric; Sobol intervals are cut to [0, 1] (a share of
    variance), Morris ones at 0. ``unstable`` marks the title (see sensitivity.index_warnings)."""
    data = indices[indices["metric"] == metric]
    fig, ax = plt.subplots(figsize=(7, 0.5 * len(data) + 1.8))
    y = np.arange(len(data))
    if design == "sobol":
        for shift, name, colour, what in (
            (0.2, "S1", PALETTE[0], "first order S1"),
            (-0.2, "ST", PALETTE[1], "total ST"),
        ):
            ax.barh(y + shift, data[name], 0.4, color=colour, label=what)
            lo, hi = _interval(data[name], data[f"{name}_conf"], 0, 1)
            ax.hlines(y + shift, lo, hi, color="0.15", lw=1.2)
            ax.vlines(np.r_[lo, hi], np.r_[y, y] + shift - 0.08, np.r_[y, y] + shift + 0.08, color="0.15", lw=1.2)
        ax.set_xlabel("Sobol index (share of variance, 95% interval cut to [0, 1])")
    else:
        lo, hi = _interval(data["mu_star"], data["mu_star_conf"], 0, None)
        mu = data["mu_star"].to_numpy(float)
        err = [np.clip(mu - lo, 0, None), np.clip(hi - mu, 0, None)]
        ax.barh(y, mu, 0.6, xerr=err, color=PALETTE[0], label="mu* (mean |effect|)")
        ax.plot(data["sigma"], y, "D", color=PALETTE[1], label="sigma (interactions, non-linearity)")
        ax.set_xlabel(f"Morris elementary effects on {label(metric)}")
    ax.set_yticks(y, data["parameter"])
    ax.legend(frameon=False, fontsize=8)
    warning = "\nUNSTABLE at this sample size: see the warnings on the report" if unstable else ""
    ax.set_title(f"Which lever matters for {label(metric)} - {title}{warning}")
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
