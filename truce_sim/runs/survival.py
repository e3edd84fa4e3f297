"""Truce survival: Kaplan-Meier curves, hazards and the run's summary, via lifelines."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from lifelines import KaplanMeierFitter
from lifelines.utils import median_survival_times
from scipy.stats import binom, chi2  # loaded with lifelines anyway: no import while writing

SURVIVAL_DAYS = (30, 90, 180, 365)  # the days every summary, sweep metric and report reads survival at
Z95 = 1.959963984540054  # two-sided 95% normal quantile, for every interval
BAND_QUANTILES = (0.05, 0.95)  # the survival band: these quantiles of the K groups' curves, per day
BAND_POSTERIOR = "posterior draws"
BAND_WORLDS = "world groups (no posterior)"
# a band less than this many times as wide as world-sampling noise alone is mostly that noise
BAND_NOISE_RATIO = 2.0


def kaplan_meier(replicates: pd.DataFrame, label: str = "truce") -> KaplanMeierFitter:
    """Kaplan-Meier fit of the first truce's survival; worlds still in truce are censored."""
    return KaplanMeierFitter(alpha=0.05).fit(replicates["survival_days"], replicates["collapsed"], label=label)


def survival_at(kmf: KaplanMeierFitter, day: int) -> dict:
    """Survival probability at a day with its 95% (Greenwood, log-log) confidence interval."""
    p = float(kmf.survival_function_at_times(day).iloc[0])
    band = kmf.confidence_interval_survival_function_
    row = band.loc[:day].iloc[-1]
    return {"p": round(p, 4), "lo": round(float(row.iloc[0]), 4), "hi": round(float(row.iloc[1]), 4)}


def median_survival(kmf: KaplanMeierFitter) -> tuple[float | None, list]:
    """Median survival in days (None when more than half survive) and its 95% interval."""
    median = kmf.median_survival_time_
    ci = median_survival_times(kmf.confidence_interval_).iloc[0].tolist()
    clean = [None if not math.isfinite(x) else float(x) for x in ci]
    return (None if not math.isfinite(median) else float(median)), clean


def daily_hazard(replicates: pd.DataFrame, start: int, end: int) -> dict:
    """Collapses per truce-day at risk in days start..end (inclusive), with a 95% interval.

    The interval treats collapses as Poisson over the exposure (days at risk): the exact
    (Garwood) interval, which stays honest with few collapses, and with none has an upper bound
    above 0.
    """

    d = replicates["survival_days"].to_numpy()
    c = replicates["collapsed"].to_numpy()
    exposure = np.clip(np.minimum(d, end) - (start - 1), 0, None).sum()
    events = int((c & (d >= start) & (d <= end)).sum())
    rate = events / exposure if exposure else float("nan")
    lo = chi2.ppf(0.025, 2 * events) / 2 / exposure if exposure and events else 0.0
    hi = chi2.ppf(0.975, 2 * events + 2) / 2 / exposure if exposure else float("nan")
    return {
        "hazard": rate,
        "lo": float(lo),
        "hi": float(hi),
        "collapses": events,
        "days_at_risk": int(exposure),
    }


def group_survival(replicates: pd.DataFrame, groups: int, steps: int) -> np.ndarray:
    """The Kaplan-Meier curve of each group of worlds, world i in group ``i % groups``, on days
    0..steps: an array (groups, steps + 1), NaN for a group without worlds.

    The product-limit estimate computed for all groups at once (the same numbers lifelines gives
    each group's rows): a world that collapsed on day d is an event at d, one that held is
    censored at its last day, and S(t) is the product over days u <= t of 1 - events(u) / at risk(u)."""
    days = replicates["survival_days"].to_numpy(dtype=np.int64)
    collapsed = replicates["collapsed"].to_numpy(dtype=bool)
    group = replicates["replicate"].to_numpy(dtype=np.int64) % groups
    width = max(steps, int(days.max(initial=0))) + 1
    cell = group * width + days
    events = np.bincount(cell[collapsed], minlength=groups * width).reshape(groups, width)
    exits = np.bincount(cell, minlength=groups * width).reshape(groups, width)
    size = exits.sum(axis=1, keepdims=True)
    at_risk = size - np.concatenate([np.zeros((groups, 1), dtype=np.int64), np.cumsum(exits, axis=1)[:, :-1]], axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(at_risk > 0, 1.0 - events / np.maximum(at_risk, 1), 1.0)
    curves = np.cumprod(factor, axis=1)[:, : steps + 1]
    curves[size[:, 0] == 0] = np.nan
    return curves


def survival_band(replicates: pd.DataFrame, groups: int, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Per day 0..steps, the 5% and 95% quantiles across the ``groups`` groups' Kaplan-Meier
    curves (world i in group i % groups; groups without worlds left out)."""
    curves = group_survival(replicates, groups, steps)
    curves = curves[~np.isnan(curves[:, 0])]
    lo, hi = np.quantile(curves, BAND_QUANTILES, axis=0)
    return lo, hi


def band_summary(
    replicates: pd.DataFrame,
    groups: int,
    steps: int,
    posterior: dict | None = None,
    band: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict:
    """summary.json's ``survival_band``: what the band is, and its lo/hi at the survival days.
    ``band``, if given, is :func:`survival_band` of the same worlds, already computed."""
    lo, hi = band if band is not None else survival_band(replicates, groups, steps)
    sizes = np.bincount(replicates["replicate"].to_numpy(dtype=np.int64) % groups, minlength=groups)
    smallest = int(sizes[sizes > 0].min())
    pooled = kaplan_meier(replicates)
    at = {}
    for t in (t for t in SURVIVAL_DAYS if t <= steps):
        # what groups of this size would spread by world sampling alone, at the pooled survival
        p = float(pooled.survival_function_at_times(t).iloc[0])
        noise = binom.ppf(BAND_QUANTILES, smallest, p) / smallest
        at[str(t)] = {
            "lo": round(float(lo[t]), 4),
            "hi": round(float(hi[t]), 4),
            "noise_lo": round(float(noise[0]), 4),
            "noise_hi": round(float(noise[1]), 4),
        }
    out = {
        "band": BAND_POSTERIOR if posterior else BAND_WORLDS,
        "groups": int(np.count_nonzero(sizes)),
        "worlds_per_group": [smallest, int(sizes.max())],
        "quantiles": list(BAND_QUANTILES),
        "at": at,
    }

    def width(v: dict, key: str = "") -> float:
        return v[f"{key}hi"] - v[f"{key}lo"]

    if posterior and at and all(width(v) < BAND_NOISE_RATIO * width(v, "noise_") for v in at.values()):
        out["warning"] = (
            f"with {smallest} worlds per posterior draw the band is mostly world-sampling noise (compare "
            "noise_lo-noise_hi): run more worlds, or fewer draws"
        )
    return out


def summarise(
    replicates: pd.DataFrame,
    scenario_name: str,
    seed: int,
    steps: int,
    overrides: dict[str, str] | None = None,
    caveats: list[str] | None = None,
    band_groups: int | None = None,
    posterior: dict | None = None,
    band: tuple[np.ndarray, np.ndarray] | None = None,
    *,
    what_if: list[str] | None = None,
    label: str | None = None,
) -> dict:
    """The run's summary (written as summary.json); ``overrides`` names a what-if's changes to
    fields and ``caveats`` what a reader of its results must know (see ``Scenario.caveats``).

    ``overrides`` is {path: value or xFACTOR} (``Scenario.what_if``). ``what_if`` lists every
    change as one text (``backers.russia.pressure=0``, ``backers.turkey.support*=2``,
    ``event day 30: backers.russia.pressure=0``: ``Scenario.what_if_changes``; default: the
    ``PATH=TEXT`` items of ``overrides``) and ``label`` is the name given with --label. With
    ``band_groups`` (K), ``survival_band`` holds the 5-95% band of the K groups' curves: across
    posterior draws when ``posterior`` (its record) is given, else across groups of worlds."""
    kmf = kaplan_meier(replicates)
    median, median_ci = median_survival(kmf)
    collapsed = replicates[replicates["collapsed"]]
    n = len(replicates)

    def shares(col):
        return {
            str(k): round(v / max(len(collapsed), 1), 4)  # noqa: E731
            for k, v in collapsed[col].value_counts().sort_index().items()
        }

    first = replicates["first_violation_day"]
    return {
        "scenario": scenario_name,
        "overrides": dict(overrides or {}),
        "what_if": list(what_if if what_if is not None else [f"{k}={v}" for k, v in (overrides or {}).items()]),
        "label": label,
        "caveats": list(caveats or []),
        "replicates": n,
        "seed": seed,
        "steps": steps,
        "median_survival_days": median,
        "median_survival_ci": median_ci,
        "survival_at": {str(t): survival_at(kmf, t) for t in SURVIVAL_DAYS if t <= steps},
        "collapse_share": round(len(collapsed) / n, 4),
        "causes": shares("cause"),
        "breakers": shares("breaker"),
        "mean_violations_per_day": round(float(replicates["violations_per_truce_day"].mean()), 4),
        "share_violations_in_first_week": round(float(((first > 0) & (first <= 7)).mean()), 4),
        "share_all_signed": round(float(replicates["all_signed"].mean()), 4),
        "deliberate_share": _share(collapsed[collapsed["cause"] == "offensive"], "deliberate"),
        "share_ever_nominal": _share(replicates, "nominal_days", lambda days: days > 0),
        **({"survival_band": band_summary(replicates, band_groups, steps, posterior, band)} if band_groups else {}),
        "posterior": posterior,
    }


def _share(rows: pd.DataFrame, column: str, test=bool) -> float | None:
    """Share of ``rows`` for which ``column`` passes ``test`` (None without rows, or without the
    column in a table from before it existed)."""
    if column not in rows or len(rows) == 0:
        return None
    return round(float(rows[column].map(test).mean()), 4)
