"""Truce survival: Kaplan-Meier curves, hazards and the run's summary, via lifelines."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from lifelines import KaplanMeierFitter
from lifelines.utils import median_survival_times

SURVIVAL_DAYS = (30, 90, 180, 365)  # the days every summary, sweep metric and report reads survival at
Z95 = 1.959963984540054  # two-sided 95% normal quantile, for every interval


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

    The interval treats collapses as Poisson over the exposure (days at risk), which is exact
    enough for the counts an ensemble gives.
    """
    d = replicates["survival_days"].to_numpy()
    c = replicates["collapsed"].to_numpy()
    exposure = np.clip(np.minimum(d, end) - (start - 1), 0, None).sum()
    events = int((c & (d >= start) & (d <= end)).sum())
    rate = events / exposure if exposure else float("nan")
    half = Z95 * math.sqrt(events) / exposure if exposure else float("nan")
    return {
        "hazard": rate,
        "lo": max(rate - half, 0.0),
        "hi": rate + half,
        "collapses": events,
        "days_at_risk": int(exposure),
    }


def summarise(
    replicates: pd.DataFrame,
    scenario_name: str,
    seed: int,
    steps: int,
    overrides: dict[str, str] | None = None,
    caveats: list[str] | None = None,
) -> dict:
    """The run's summary (written as summary.json); ``overrides`` names a what-if's changes and
    ``caveats`` what a reader of its results must know (see ``Scenario.caveats``)."""
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
    }


def _share(rows: pd.DataFrame, column: str, test=bool) -> float | None:
    """Share of ``rows`` for which ``column`` passes ``test`` (None without rows, or without the
    column in a table from before it existed)."""
    if column not in rows or len(rows) == 0:
        return None
    return round(float(rows[column].map(test).mean()), 4)
