"""The simulated worlds of a scenario conditioned on a running truce's observed record.

A sequential importance resampling (bootstrap particle) filter over the observed days: the worlds
step day by day from the truce's start; on each observed day each world's weight is multiplied
by the likelihood of that day's observations in it (:mod:`likelihood`); when the effective sample
size falls below RESAMPLE_BELOW of the worlds, and always on the as-of day, the worlds are
resampled (systematic) and each copy goes on with a random stream of its own
(:meth:`TruceModel.continue_worlds`). From the as-of day the worlds run, unweighted, to the
horizon. The whole filter runs in one process, so its result does not depend on workers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from truce_sim.core.model import MIN_WORLDS_TO_CONTINUE, TruceModel
from truce_sim.core.scenario import Scenario
from truce_sim.core.streams import slot
from truce_sim.nowcast.likelihood import day_log_likelihood, effective_sample_size, systematic_resample
from truce_sim.nowcast.observations import ObservedRecord

RESAMPLE_BELOW = 0.5  # of the worlds: resample when the effective sample size falls below it
LOW_ESS_WARNING = 0.1  # of the worlds: below it at the as-of day, the nowcast warns


class NoWorldMatches(ValueError):
    """No simulated world is consistent with the observed record."""


@dataclass
class Filtered:
    """The conditioned worlds (one row each, as ``run``'s replicates.csv) and the filter's trace."""

    replicates: pd.DataFrame
    as_of: int
    steps: int
    effective_sample_size: float  # on the as-of day, before its resampling
    min_effective_sample_size: float  # the least over the observed days, each before its resampling
    distinct_worlds: int  # worlds of the start that the conditioned worlds descend from
    trace: pd.DataFrame  # per day: observed, effective sample size, resampled


def condition_worlds(
    scenario: Scenario,
    record: ObservedRecord,
    as_of: int,
    worlds: int,
    seed: int | None = None,
    steps: int | None = None,
    progress: Callable[[int], object] | None = None,
) -> Filtered:
    """Simulate ``worlds`` worlds to day ``as_of`` conditioned on ``record``, then to ``steps``."""
    if worlds < MIN_WORLDS_TO_CONTINUE:
        raise ValueError(f"a nowcast needs at least {MIN_WORLDS_TO_CONTINUE} worlds, got {worlds}")
    steps = steps or scenario.horizon_days
    if seed is not None and seed < 0:
        raise ValueError(f"seed must be 0 or more, got {seed}")
    if not 1 <= as_of <= steps:
        raise ValueError(f"the as-of day {as_of} must be within the run's {steps} days")
    model = TruceModel(scenario, rng=seed, replicates=worlds, keep_history=False)
    by_day = {observed.day: observed for observed in record.days if observed.day <= as_of}
    log_w = np.zeros(worlds)
    ancestors = np.arange(worlds)  # the world of the start each world descends from
    rows, ess_at_as_of = [], float(worlds)
    for day in range(1, as_of + 1):
        model.step()
        observed = by_day.get(day)
        if observed is not None:
            log_w = log_w + day_log_likelihood(
                observed,
                {f.name: f.violations for f in model.factions},
                model.first_truce_holds,  # the truce being forecast: not one re-formed at later talks
                {f.name: f.control for f in model.factions},
            )
            if not np.isfinite(log_w).any():
                raise NoWorldMatches(
                    f"no simulated world of {worlds} matches the observed record on day {day} "
                    f"(truce_holds {observed.truce_holds}); run more worlds or check the record"
                )
        ess = effective_sample_size(log_w)
        resample = ess < RESAMPLE_BELOW * worlds or day == as_of
        if day == as_of:
            ess_at_as_of = ess
        if resample:
            u = np.random.default_rng([model.seed, day, slot("nowcast/resample")]).random()
            parents = systematic_resample(log_w, u)
            model.continue_worlds(parents, f"nowcast/day {day}")
            ancestors = ancestors[parents]
            log_w = np.zeros(worlds)
        rows.append(
            {
                "day": day,
                "observed": observed is not None,
                "effective_sample_size": round(ess, 2),
                "resampled": resample,
                "distinct_worlds": int(np.unique(ancestors).size),
            }
        )
        if progress:
            progress(worlds)
    for _ in range(as_of, steps):
        model.step()
        if progress:
            progress(worlds)
    table = pd.DataFrame(model.world_table())
    table.insert(1, "descends_from", ancestors)
    trace = pd.DataFrame(rows)
    least = float(trace["effective_sample_size"].min())
    return Filtered(table, as_of, steps, ess_at_as_of, least, int(np.unique(ancestors).size), trace)
