"""Benchmark of nowcast speed against a plain run of the same worlds and days.

The stalemate archetype (180 days) with a start date, conditioned on a quiet first month (no
violations, the truce holding: 30 observed days), 10,000 worlds, one process for both: a plain
`run_ensemble` against `nowcast` (the particle filter over the 30 days, the conditioned worlds
run on to day 180, and the unconditioned run beside them). Medians of 3, and their ratio.

    python bench/nowcast.py            # about two minutes on 2 cores
    python bench/nowcast.py --quick    # 2,000 worlds, one repeat
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import truce_sim as sim
from truce_sim.nowcast.forecast import nowcast
from truce_sim.nowcast.observations import DayObserved, ObservedRecord
from truce_sim.runs.ensemble import run_ensemble

ROOT = Path(__file__).resolve().parent.parent


def timed(work, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    worlds, repeats = (2_000, 1) if args.quick else (10_000, 3)
    scenario = sim.load_scenario(ROOT / "scenarios" / "stalemate_joint_pressure.yaml", ["start_date=2020-01-01"])
    quiet = {name: 0 for name in scenario.factions}
    record = ObservedRecord("quiet month", tuple(DayObserved(d, dict(quiet), None, True) for d in range(1, 31)))
    plain = timed(lambda: run_ensemble(scenario, replicates=worlds, workers=1), repeats)
    conditioned = timed(lambda: nowcast(scenario, record, worlds=worlds, workers=1), repeats)
    print(f"{worlds} worlds x {scenario.horizon_days} days, 30 observed days, one process, median of {repeats}")
    print(f"    plain run   {plain:6.2f} s")
    print(f"    nowcast     {conditioned:6.2f} s   ({conditioned / plain:.2f} x the plain run)")


if __name__ == "__main__":
    main()
