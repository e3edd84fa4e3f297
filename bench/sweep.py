"""Benchmark of a 200-point sweep on 1 worker, 2 workers and a local Dask cluster of 2.

A grid over the founding case (Russian pressure x monitoring, 20 x 10 points) with 200 worlds
per point over 180 days. Times are medians of repeats in one run; the local pool is started
before timing (as in a session that sweeps more than once), the Dask cluster too.

    python bench/sweep.py
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from truce_sim.runs.executors import DaskCluster  # noqa: E402
from truce_sim.sweeps.runner import run_sweep  # noqa: E402
from truce_sim.sweeps.spec import sweep_from_options  # noqa: E402


def main(repeats: int = 3) -> None:
    sweep = sweep_from_options(
        str(ROOT / "scenarios" / "libya_2020_january.yaml"),
        ["backers.russia.pressure=0:1:20", "mediator.monitoring=0:1:10"],
        replicates=200,
        seed=1,
        steps=180,
    )
    cores = os.cpu_count() or 1
    print(f"sweep: {len(sweep.points)} points x {sweep.replicates} worlds x {sweep.steps} days, {cores} cores")
    work = Path(tempfile.mkdtemp())

    def timed(**kwargs) -> float:
        times = []
        for k in range(repeats):
            out = work / f"run{k}"
            start = time.perf_counter()
            run_sweep(sweep, out, **kwargs)
            times.append(time.perf_counter() - start)
            shutil.rmtree(out)
        return statistics.median(times)

    one = timed(workers=1)
    print(f"1 worker:                {one:6.2f} s  {len(sweep.points) / one:6.1f} points/s")
    run_sweep(
        sweep_from_options(
            str(ROOT / "scenarios" / "libya_2020_january.yaml"), ["mediator.monitoring=0:1:4"], replicates=10, steps=5
        ),
        work / "warm",
        workers=cores,
    )  # start the pool
    two = timed(workers=cores)
    print(
        f"{cores} workers (local pool): {two:6.2f} s  {len(sweep.points) / two:6.1f} points/s  "
        f"speed-up {one / two:.2f}x"
    )
    cluster = DaskCluster(local_workers=cores)
    address = cluster.client.scheduler.address
    try:
        dask_time = timed(scheduler=address)
    finally:
        cluster.close()
    print(
        f"Dask LocalCluster of {cores}:  {dask_time:6.2f} s  {len(sweep.points) / dask_time:6.1f} points/s  "
        f"speed-up {one / dask_time:.2f}x"
    )
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
