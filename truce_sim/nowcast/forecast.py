"""A nowcast: the worlds conditioned on the observed record beside the same worlds unconditioned,
and what conditioning changed (survival, who breaks the truce and how, the facts it selects)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from truce_sim.core.scenario import Scenario
from truce_sim.core.streams import slot
from truce_sim.nowcast.likelihood import CONTROL_SD, COUNT_FLOOR, OVERDISPERSION
from truce_sim.nowcast.observations import ObservedRecord
from truce_sim.nowcast.particle_filter import LOW_ESS_WARNING, RESAMPLE_BELOW, Filtered, condition_worlds
from truce_sim.runs.ensemble import EnsembleResult, run_ensemble
from truce_sim.runs.survival import SURVIVAL_DAYS, summarise

FACT_SECTIONS = ("factions.", "backers.", "mediator.", "behaviour.", "events.")
FACTS_SHOWN = 8
MIN_ANCESTORS_FOR_INTERVAL = 10  # fewer distinct worlds of the start: the interval is 0-1


@dataclass
class Nowcast:
    scenario: Scenario
    record: ObservedRecord
    filtered: Filtered
    unconditional: EnsembleResult
    summary: dict


def nowcast(
    scenario: Scenario,
    record: ObservedRecord,
    as_of: int | None = None,
    worlds: int | None = None,
    seed: int | None = None,
    steps: int | None = None,
    workers: int = 1,
    progress: Callable[[int], object] | None = None,
) -> Nowcast:
    """Condition ``worlds`` worlds of ``scenario`` on ``record`` up to day ``as_of`` (default:
    the record's last day) and run them to ``steps``; run the same worlds unconditioned beside."""
    worlds = worlds or scenario.replicates
    seed = scenario.seed if seed is None else seed
    steps = steps or scenario.horizon_days
    as_of = as_of or record.last_day
    filtered = condition_worlds(scenario, record, as_of, worlds, seed, steps, progress)
    plain = run_ensemble(scenario, replicates=worlds, seed=seed, steps=steps, workers=workers, progress=progress)
    return Nowcast(scenario, record, filtered, plain, nowcast_summary(scenario, record, filtered, plain, seed))


def nowcast_summary(
    scenario: Scenario, record: ObservedRecord, filtered: Filtered, plain: EnsembleResult, seed: int
) -> dict:
    worlds, as_of = len(filtered.replicates), filtered.as_of
    conditional = summarise(
        filtered.replicates,
        scenario.name,
        seed,
        filtered.steps,
        scenario.what_if,
        what_if=scenario.what_if_changes,
        label=scenario.label,
    )
    unconditional = plain.summary
    share = filtered.min_effective_sample_size / worlds
    lineage = filtered.distinct_worlds / worlds
    start = scenario.start_date
    return {
        "scenario": scenario.name,
        "what_if": conditional["what_if"],
        "observations": record.source,
        "observed_days": len([d for d in record.days if d.day <= as_of]),
        "as_of_day": as_of,
        "as_of_date": (start + dt.timedelta(days=as_of)).isoformat() if start else None,
        "worlds": worlds,
        "seed": seed,
        "steps": filtered.steps,
        "effective_sample_size": round(filtered.effective_sample_size, 1),
        "effective_sample_share": round(share, 4),
        "min_effective_sample_size": round(filtered.min_effective_sample_size, 1),
        "resamplings": int(filtered.trace["resampled"].sum()),
        "distinct_worlds": filtered.distinct_worlds,
        "warning": (
            f"few simulated worlds explain the record: the effective sample size fell to "
            f"{filtered.min_effective_sample_size:.0f} of {worlds} worlds ({100 * share:.1f}%, under "
            f"{100 * LOW_ESS_WARNING:.0f}%), and the conditioned worlds descend from {filtered.distinct_worlds} of "
            "the start's; the forecast rests on them: run more worlds"
            if share < LOW_ESS_WARNING
            else None
        ),
        "note": (
            f"the conditioned worlds descend from {filtered.distinct_worlds} of the start's {worlds} worlds "
            f"({100 * lineage:.1f}%): resampling over many observed days narrows the lineage, though each day's "
            "record is well explained; the intervals are clustered on these worlds"
            if lineage < LOW_ESS_WARNING and share >= LOW_ESS_WARNING
            else None
        ),
        "conditional_survival_at": survival_by_descent(filtered.replicates, filtered.steps, seed),
        "unconditional_survival_at": unconditional["survival_at"],
        "conditional_median_survival_days": conditional["median_survival_days"],
        "unconditional_median_survival_days": unconditional["median_survival_days"],
        "conditional_collapse_share": conditional["collapse_share"],
        "unconditional_collapse_share": unconditional["collapse_share"],
        "conditional_breakers": conditional["breakers"],
        "unconditional_breakers": unconditional["breakers"],
        "conditional_causes": conditional["causes"],
        "unconditional_causes": unconditional["causes"],
        "facts_shifted": facts_shifted(filtered.replicates, plain.replicates),
        "likelihood": {
            "violations": f"negative binomial around the world's count (floored at {COUNT_FLOOR}), "
            f"overdispersion k = {OVERDISPERSION}",
            "truce_holds": "must match the world's truce",
            "control": f"normal around the world's control, sd {CONTROL_SD}",
            "resample_below": RESAMPLE_BELOW,
        },
    }


def facts_shifted(conditional: pd.DataFrame, unconditional: pd.DataFrame, shown: int = FACTS_SHOWN) -> list[dict]:
    """The facts drawn from distributions whose mean conditioning moved most, in standard
    deviations of the unconditional worlds: what the record says about the case."""
    rows = []
    for column in unconditional.columns:
        if not column.startswith(FACT_SECTIONS) or column not in conditional:
            continue
        before = unconditional[column].to_numpy(dtype=float)
        sd = float(np.std(before))
        if sd == 0:
            continue
        after = conditional[column].to_numpy(dtype=float)
        rows.append(
            {
                "fact": column,
                "unconditional_mean": round(float(before.mean()), 4),
                "conditional_mean": round(float(after.mean()), 4),
                "shift_sd": round((float(after.mean()) - float(before.mean())) / sd, 3),
            }
        )
    rows.sort(key=lambda r: -abs(r["shift_sd"]))
    return rows[:shown]


def survival_by_descent(replicates: pd.DataFrame, steps: int, seed: int, resamples: int = 1000) -> dict:
    """Survival at each summary day of the conditioned worlds, with a 95% interval from a
    bootstrap over the worlds of the start they descend from: copies of one world are not
    independent evidence, so the interval is as wide as the number of distinct ancestors makes it.
    No world is censored before the horizon, so survival at t is the share still in truce after t."""
    _, group = np.unique(replicates["descends_from"].to_numpy(), return_inverse=True)
    groups = int(group.max()) + 1
    days, collapsed = replicates["survival_days"].to_numpy(), replicates["collapsed"].to_numpy(dtype=bool)
    times_picked = None
    if groups >= MIN_ANCESTORS_FOR_INTERVAL:  # a bootstrap over fewer says nothing: no interval (0-1)
        rng = np.random.default_rng([seed, slot("nowcast/bootstrap")])
        picks = rng.integers(0, groups, size=(resamples, groups))
        times_picked = np.stack([np.bincount(row, minlength=groups) for row in picks])
        size = times_picked @ np.bincount(group, minlength=groups)
    out = {}
    for t in (t for t in SURVIVAL_DAYS if t <= steps):
        held = (~collapsed) | (days > t)
        lo, hi = 0.0, 1.0
        if times_picked is not None:
            boot = (times_picked @ np.bincount(group, weights=held, minlength=groups)) / size
            lo, hi = (round(float(q), 4) for q in np.quantile(boot, [0.025, 0.975]))
        out[str(t)] = {"p": round(float(held.mean()), 4), "lo": lo, "hi": hi}
    return out
