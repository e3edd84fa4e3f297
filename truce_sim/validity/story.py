"""The founding case's story measured on an ensemble: who breaks the truce, when each side first
attacks, whether on purpose, how the balance moves and how many violations a tally would count.

The targets are :data:`truce_sim.validity.targets.STORY`, written from the record; this module
only measures. The same worlds (seed and replicates) are stepped a second time for the
violation counts per day, which the ensemble does not keep per world.
"""

from __future__ import annotations

import numpy as np

from truce_sim.core.model import TruceModel
from truce_sim.core.scenario import Scenario, load_scenario
from truce_sim.runs.ensemble import EnsembleResult, run_ensemble
from truce_sim.validity.targets import STORY, Bracket

CASE = "libya_2020_january"
WORLDS = 2000
GNA_WINDOW = (50, 110)  # days around the known counter-offensive (day 73)
TALLY_DAYS = (18, 100)  # UN "only in name" (day 18); UNSMIL's 850+ breaches (about day 100)


def first_offensive(rows, faction: str) -> np.ndarray:
    """Day of each world's first offensive by ``faction``; NaN where it never attacked."""
    days = rows[f"first_offensive_{faction}"].to_numpy(dtype=float)
    return np.where(days > 0, days, np.nan)


def violations_by_day(scenario: Scenario, worlds: int, days: tuple[int, ...], seed: int | None = None) -> dict:
    """Each world's cumulative violations by each of ``days`` (the same worlds as an ensemble
    of ``worlds`` with the same seed)."""
    model = TruceModel(scenario, rng=seed, replicates=worlds, keep_history=False)
    total = np.zeros(worlds)
    out = {}
    for day in range(1, max(days) + 1):
        model.step()
        total += sum(f.violations for f in model.factions)
        if day in days:
            out[day] = total.copy()
    return out


def measure(result: EnsembleResult, violations: dict[int, np.ndarray]) -> dict[str, float]:
    """Every quantity of :data:`STORY` for one ensemble of the founding case."""
    rows = result.replicates
    collapsed = rows[rows["collapsed"]]
    early = collapsed[collapsed["survival_days"] <= 30]
    by_offensive = collapsed[collapsed["cause"] == "offensive"]
    gna = first_offensive(rows, "gna")
    lo, hi = GNA_WINDOW
    control = result.timeseries.set_index("day")["control_gna_mean"]
    return {
        "lna_breaker_share": float((collapsed["breaker"] == "lna").mean()),
        "lna_breaker_share_by_30": float((early["breaker"] == "lna").mean()),
        "first_offensive_lna": float(np.nanmedian(first_offensive(rows, "lna"))),
        "first_offensive_gna": float(np.nanmedian(gna)),
        "first_offensive_gna_in_window": float(np.mean((gna >= lo) & (gna <= hi))),
        "deliberate_share": float(by_offensive["deliberate"].mean()),
        "control_gna_60": float(control[60]),
        "control_gna_150": float(control[150]),
        "violations_by_18": float(np.median(violations[TALLY_DAYS[0]])),
        "violations_by_100": float(np.median(violations[TALLY_DAYS[1]])),
    }


def founding_story(
    scenario: Scenario | None = None, worlds: int = WORLDS, seed: int | None = None
) -> list[tuple[Bracket, float]]:
    """Each story target with its measured value, on ``worlds`` worlds of the founding case."""
    scenario = scenario if scenario is not None else load_scenario(CASE)
    result = run_ensemble(scenario, replicates=worlds, seed=seed, steps=max(scenario.horizon_days, 150))
    measured = measure(result, violations_by_day(scenario, worlds, TALLY_DAYS, seed))
    return [(target, measured[target.quantity]) for target in STORY]
