"""A sweep point's metrics, each with its 95% interval, from its worlds' rows."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from truce_sim.runs.survival import Z95, kaplan_meier, median_survival, survival_at


def share_interval(successes: int, n: int) -> tuple[float, float, float]:
    """A proportion with its Wilson 95% interval (sound near 0 and 1, unlike the normal one)."""
    if n == 0:
        return math.nan, math.nan, math.nan
    p = successes / n
    centre = (p + Z95**2 / (2 * n)) / (1 + Z95**2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n)) / (1 + Z95**2 / n)
    return p, max(centre - half, 0.0), min(centre + half, 1.0)


def point_metrics(rows: pd.DataFrame, metrics: list[str]) -> dict[str, float]:
    """{metric: value, metric_lo: ..., metric_hi: ...} for one point's worlds."""
    out: dict[str, float] = {}
    kmf = kaplan_meier(rows) if any(m.startswith(("survival_at_", "median")) for m in metrics) else None
    n = len(rows)
    collapsed = rows["collapsed"].to_numpy(bool)
    for m in metrics:
        if m.startswith("survival_at_"):
            v = survival_at(kmf, int(m.rsplit("_", 1)[1]))
            value, lo, hi = v["p"], v["lo"], v["hi"]
        elif m == "median_survival_days":
            value, (lo, hi) = median_survival(kmf)
        elif m == "collapse_share":
            value, lo, hi = share_interval(int(collapsed.sum()), n)
        elif m == "mean_violations_per_day":
            x = rows["violations_per_truce_day"].to_numpy(float)
            value = float(x.mean())
            half = Z95 * float(x.std(ddof=1)) / math.sqrt(n) if n > 1 else math.nan
            lo, hi = value - half, value + half
        elif m.startswith("cause_share_"):
            value, lo, hi = share_interval(int((rows["cause"] == m[len("cause_share_") :]).sum()), n)
        elif m.startswith("breaker_share_"):
            value, lo, hi = share_interval(int((rows["breaker"] == m[len("breaker_share_") :]).sum()), n)
        else:
            raise KeyError(m)
        out[m] = _clean(value)
        out[f"{m}_lo"] = _clean(lo)
        out[f"{m}_hi"] = _clean(hi)
    return out


def _clean(x) -> float:
    """Metrics as plain floats; None (a median not reached) becomes NaN in the table."""
    return math.nan if x is None else float(np.round(float(x), 6))
