"""How likely a day's observations are in each simulated world: plain functions over arrays.

Reported violation counts are noisy (missed, double-counted, reported in bursts), so an observed
count is read as a negative binomial draw around the world's own count that day, floored at
COUNT_FLOOR so that a quiet world can still explain a report or two, with OVERDISPERSION k
(variance mean + mean**2 / k). An observed truce status must match the world's: a world whose
truce has broken cannot have produced "the truce holds" (the truce is the one forecast, the
world's first: one re-formed at later talks is another truce). An observed control share is read as a
normal draw around the world's, with sd CONTROL_SD.
"""

from __future__ import annotations

import numpy as np
from scipy.special import gammaln

from truce_sim.nowcast.observations import DayObserved

OVERDISPERSION = 2.0  # k of the negative binomial: at a mean of 6, reports spread 6 +- 4.9
COUNT_FLOOR = 0.5
CONTROL_SD = 0.05


def negative_binomial_logpmf(observed: int, mean: np.ndarray, k: float = OVERDISPERSION) -> np.ndarray:
    """log P(observed | mean, k) of the negative binomial with that mean and size k."""
    mean = np.asarray(mean, dtype=np.float64)
    x = float(observed)
    return gammaln(x + k) - gammaln(k) - gammaln(x + 1) + k * np.log(k / (k + mean)) + x * np.log(mean / (k + mean))


def day_log_likelihood(
    observed: DayObserved,
    violations: dict[str, np.ndarray],
    in_truce: np.ndarray,
    control: dict[str, np.ndarray],
) -> np.ndarray:
    """The log-likelihood of one day's observations in each world, given each world's violations
    by faction that day, whether its truce (the one forecast: its first) holds and its control by
    faction."""
    out = np.zeros(in_truce.shape)
    for name, count in observed.violations.items():
        out += negative_binomial_logpmf(count, np.maximum(violations[name], COUNT_FLOOR))
    if observed.violations_total is not None:
        total = sum(violations.values())
        out += negative_binomial_logpmf(observed.violations_total, np.maximum(total, COUNT_FLOOR))
    if observed.truce_holds is not None:
        out = np.where(in_truce == observed.truce_holds, out, -np.inf)
    for name, share in observed.control.items():
        out += -0.5 * ((share - control[name]) / CONTROL_SD) ** 2
    return out


def effective_sample_size(log_weights: np.ndarray) -> float:
    """Kish's effective sample size of weights given as logs: (sum w)^2 / sum w^2."""
    finite = np.isfinite(log_weights)
    if not finite.any():
        return 0.0
    w = np.exp(log_weights - log_weights[finite].max())
    return float(w.sum() ** 2 / (w**2).sum())


def systematic_resample(log_weights: np.ndarray, u: float) -> np.ndarray:
    """Indices of the worlds kept, one per world, by systematic resampling with the offset
    ``u`` in [0, 1): each world is kept about n * its weight times, with the least spread."""
    w = np.exp(log_weights - log_weights[np.isfinite(log_weights)].max())
    cumulative = np.cumsum(w / w.sum())
    cumulative[-1] = 1.0
    n = log_weights.size
    return np.searchsorted(cumulative, (np.arange(n) + u) / n, side="right").clip(0, n - 1)
