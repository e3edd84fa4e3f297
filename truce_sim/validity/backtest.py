"""Backtests of the nowcast on the historical cases: condition each case's worlds on its record up
to day 7, 14 and 30, and ask whether the day the truce broke (or that it held) falls inside the
predictive interval.

The record used is the truce's status by day (it held on each day before the day it broke, by the
dates in each scenario file's header and ``targets.CASES``). Day-by-day violation counts are not
among the sources the scenario files cite, so these backtests condition on the status only. A
backtest whose as-of day is on or after the break is left out: its outcome is in its record.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from truce_sim.core.scenario import load_scenario
from truce_sim.nowcast.observations import DayObserved, ObservedRecord
from truce_sim.nowcast.particle_filter import condition_worlds
from truce_sim.validity.targets import CASES, Case

AS_OF_DAYS = (7, 14, 30)
INTERVAL = 0.9  # the central predictive interval asked to hold the real outcome


@dataclass(frozen=True)
class Backtest:
    case: str
    as_of: int
    broke_on: int | None
    steps: int
    distinct_worlds: int
    p_breaks_by_horizon: float  # conditioned worlds whose truce breaks by the case's last day
    interval: tuple[float, float]  # 5% and 95% of the break day (inf: holds past the last day)
    pit: float  # the conditioned distribution of the break day at the real outcome

    @property
    def inside(self) -> bool:
        real = np.inf if self.broke_on is None else self.broke_on
        return bool(self.interval[0] <= real <= self.interval[1])


def status_record(case: Case, as_of: int) -> ObservedRecord:
    """The truce held on every day 1..as_of (all before the case's break day)."""
    return ObservedRecord(f"{case.name} status", tuple(DayObserved(d, truce_holds=True) for d in range(1, as_of + 1)))


def backtest_case(case: Case, as_of: int, worlds: int | None = None, seed: int | None = None) -> Backtest:
    scenario = load_scenario(case.name)
    filtered = condition_worlds(scenario, status_record(case, as_of), as_of, worlds or case.worlds, seed, case.steps)
    rows = filtered.replicates
    broke = np.where(rows["collapsed"].to_numpy(dtype=bool), rows["survival_days"].to_numpy(dtype=float), np.inf)
    lo, hi = np.quantile(broke, [(1 - INTERVAL) / 2, (1 + INTERVAL) / 2], method="inverted_cdf")
    if case.broke_on is not None and case.broke_on <= case.steps:
        pit = float(np.mean(broke < case.broke_on) + 0.5 * np.mean(broke == case.broke_on))
    else:  # held past the last day: anywhere in the mass beyond it
        pit = float(np.mean(broke <= case.steps) + 0.5 * np.mean(broke > case.steps))
    return Backtest(
        case.name,
        as_of,
        case.broke_on,
        case.steps,
        filtered.distinct_worlds,
        float(np.mean(np.isfinite(broke))),
        (float(lo), float(hi)),
        pit,
    )


def backtests(cases=CASES, as_of_days=AS_OF_DAYS, worlds: int | None = None) -> list[Backtest]:
    """Every case at every as-of day before its break."""
    return [
        backtest_case(case, day, worlds)
        for case in cases
        for day in as_of_days
        if case.broke_on is None or day < case.broke_on
    ]


def backtest_table(results: list[Backtest]) -> pd.DataFrame:
    def day(x: float) -> str:
        return "held" if not np.isfinite(x) else str(int(x))

    return pd.DataFrame(
        {
            "case": [r.case for r in results],
            "as_of_day": [r.as_of for r in results],
            "real_outcome": [day(np.inf if r.broke_on is None else r.broke_on) for r in results],
            "p_breaks_by_last_day": [round(r.p_breaks_by_horizon, 3) for r in results],
            "interval_90": [f"{day(r.interval[0])}-{day(r.interval[1])}" for r in results],
            "inside": [r.inside for r in results],
            "pit": [round(r.pit, 3) for r in results],
            "distinct_worlds": [r.distinct_worlds for r in results],
        }
    )


COVERAGE_LEVELS = tuple(round(0.1 * k, 1) for k in range(1, 10))


def coverage(results: list[Backtest], levels=COVERAGE_LEVELS) -> pd.DataFrame:
    """For each nominal level, the share of backtests whose PIT falls in the central interval of
    that level: on the diagonal when the forecasts are calibrated."""
    pit = np.array([r.pit for r in results])
    return pd.DataFrame(
        {"nominal": levels, "observed": [float(np.mean(np.abs(pit - 0.5) <= level / 2)) for level in levels]}
    )


def calibration_figure(results: list[Backtest]):
    """The PIT of every backtest (flat when calibrated) and the coverage of central intervals."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from truce_sim.outputs.figures import PALETTE

    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6))
    left.hist([r.pit for r in results], bins=10, range=(0, 1), color=PALETTE[0], edgecolor="white")
    left.set(xlabel="PIT of the real outcome", ylabel="backtests", title="PIT (flat when calibrated)")
    table = coverage(results)
    right.plot([0, 1], [0, 1], color="0.6", ls=":")
    right.plot(table["nominal"], table["observed"], marker="o", color=PALETTE[0])
    right.set(
        xlim=(0, 1),
        ylim=(0, 1),
        xlabel="nominal central interval",
        ylabel="share of real outcomes inside",
        title=f"coverage, {len(results)} backtests",
    )
    fig.tight_layout()
    return fig
