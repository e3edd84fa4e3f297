"""Benchmark of ensemble speed and memory on the founding case over 365 days.

Prints, in one run: worlds per second (a) one world at a time (R=1 models stepped in a loop, the
plain Mesa way), (b) batched in one process at R=1,000 and R=10,000, (c) with all workers; (d)
the ratio b/a; (e) peak memory for 100,000 worlds. Medians over repeats; ratios from the same run.

    python bench/ensemble.py            # about two minutes on 2 cores
    python bench/ensemble.py --quick    # fewer repeats, for a smoke test
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import truce_sim as sim  # noqa: E402
from truce_sim.core.model import TruceModel  # noqa: E402

SCENARIO = ROOT / "scenarios" / "libya_2020_january.yaml"
DAYS = 365


def timed(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def one_world_at_a_time(scenario, worlds: int) -> None:
    for r in range(worlds):
        model = TruceModel(scenario, replicate_ids=[r], replicates=1)
        for _ in range(DAYS):
            model.step()
        model.world_table()


def peak_memory_child(worlds: int, workers: int) -> None:
    """Run in a fresh process: the ensemble, then print peak resident memory in MiB."""
    scenario = sim.load_scenario(SCENARIO)
    sim.run_ensemble(scenario, replicates=worlds, steps=DAYS, workers=workers)
    from truce_sim.runs.executors import shutdown_pools

    shutdown_pools()  # reap the workers so their peaks count in RUSAGE_CHILDREN
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps({"parent_mib": own, "largest_worker_mib": children}))


def peak_memory(worlds: int, workers: int) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--memory-child", str(worlds), str(workers)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--memory-child", nargs=2, type=int)
    args = parser.parse_args()
    if args.memory_child:
        peak_memory_child(*args.memory_child)
        return
    repeats = 1 if args.quick else 3
    cores = os.cpu_count() or 1
    scenario = sim.load_scenario(SCENARIO)
    print(
        f"machine: {platform.machine()}, {cores} cores, Python {platform.python_version()}, "
        f"numpy {__import__('numpy').__version__}, mesa {__import__('mesa').__version__}"
    )
    print(f"scenario: {SCENARIO.name}, {DAYS} days\n")

    single_worlds = 5 if args.quick else 20
    t = timed(lambda: one_world_at_a_time(scenario, single_worlds), repeats)
    rate_a = single_worlds / t
    print(
        f"(a) one world at a time (R=1 models in a loop): {rate_a:9.1f} worlds/s  "
        f"({t / single_worlds * 1000:.0f} ms per world-year)"
    )

    rates_b = {}
    for r in (1_000, 10_000):
        t = timed(lambda r=r: sim.run_ensemble(scenario, replicates=r, steps=DAYS, workers=1, batch_size=r), repeats)
        rates_b[r] = r / t
        print(
            f"(b) batched, one process, R={r:>6,}:           {rates_b[r]:9.1f} worlds/s  ({t:.2f} s for {r:,} worlds)"
        )

    worlds_c = 40_000
    sim.run_ensemble(scenario, replicates=cores * 10, steps=5, workers=cores)  # start the pool once
    t1 = timed(lambda: sim.run_ensemble(scenario, replicates=worlds_c, steps=DAYS, workers=1), repeats)
    tn = timed(lambda: sim.run_ensemble(scenario, replicates=worlds_c, steps=DAYS, workers=cores), repeats)
    print(f"(c) {worlds_c:,} worlds, 1 worker:                 {worlds_c / t1:9.1f} worlds/s  ({t1:.2f} s)")
    print(
        f"    {worlds_c:,} worlds, {cores} workers (pool started): {worlds_c / tn:9.1f} worlds/s  ({tn:.2f} s)  "
        f"speed-up {t1 / tn:.2f}x"
    )
    from truce_sim.runs.executors import shutdown_pools

    shutdown_pools()
    cold = timed(
        lambda: (sim.run_ensemble(scenario, replicates=worlds_c, steps=DAYS, workers=cores), shutdown_pools()), 1
    )
    print(
        f"    {worlds_c:,} worlds, {cores} workers, cold start:    {worlds_c / cold:9.1f} worlds/s  ({cold:.2f} s)  "
        f"speed-up {t1 / cold:.2f}x"
    )
    print(f"(d) b/a at R=10,000: {rates_b[10_000] / rate_a:.0f}x;  at R=1,000: {rates_b[1_000] / rate_a:.0f}x")
    print(f"    10,000 worlds x {DAYS} days in one process: {10_000 / rates_b[10_000]:.2f} s")
    for workers in (1, cores):
        mem = peak_memory(100_000, workers)
        print(
            f"(e) peak memory, 100,000 worlds x {DAYS} days, {workers} worker(s): parent {mem['parent_mib']:.0f} MiB, "
            f"largest worker {mem['largest_worker_mib']:.0f} MiB"
        )


if __name__ == "__main__":
    main()
