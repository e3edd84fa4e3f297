"""Benchmark of the memory estimate: the refusal of `run` is only as good as this estimate.

For each shape (worlds x days x batch size x workers) runs the CLI on the founding case in a
subprocess, measures the peak resident memory of its whole process tree (the collecting process
and its workers, summed: /proc/<pid>/status VmRSS of every process in the tree, polled every
50 ms) and prints it beside ``estimate_run_bytes`` for the same shape. The estimate must never be
more than 20% below the measured peak. Also shown: the sum of each process's own peak (VmHWM),
an upper bound of the tree's peak, since the processes need not peak at the same moment.

    python bench/memory.py                      # five shapes, about three minutes on 2 cores
    python bench/memory.py --shape 3000 365 500 2 [--keep-paths]   # one shape of your own
    python bench/memory.py --sweep 40 5000 20 2   # a sweep: points, worlds per point, days, workers
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from truce_sim.core.scenario import load_scenario  # noqa: E402
from truce_sim.runs.ensemble import MAX_BATCH  # noqa: E402
from truce_sim.runs.resources import estimate_run_bytes, estimate_sweep_bytes  # noqa: E402
from truce_sim.sweeps.spec import sweep_from_options  # noqa: E402

SCENARIO = "libya_2020_january"
# worlds, days, batch size (None: the CLI's default), workers, keep paths. Long horizons with
# small batches are the shapes whose aggregates once grew with every batch; a long horizon with
# large batches sends the largest histograms between processes; 100,000 worlds are dominated by
# the per-world rows; one keeps every world's daily path.
SHAPES = [
    (2_000, 3_650, 500, 1, False),
    (1_000, 3_650, 250, 2, False),
    (8_000, 3_650, 4_000, 2, False),
    (100_000, 365, None, 2, False),
    (2_000, 730, 500, 1, True),
]
POLL = 0.05
MIB = 2**20


def _children(pid: int) -> list[int]:
    kids = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as fh:
                kids += [int(k) for k in fh.read().split()]
    except (OSError, ValueError):
        pass
    return kids


def _tree(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += _children(p)
    return out


def _status_kib(pid: int, field: str) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(field):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def measure(worlds: int, days: int, batch: int, workers: int, keep_paths: bool) -> dict:
    """Run the CLI for one shape; peak tree RSS (summed, polled) and the sum of per-process peaks."""
    return _measure(
        ["run", SCENARIO, "-n", str(worlds), "--steps", str(days), "--batch-size", str(batch), "-j", str(workers)]
        + (["--keep-paths"] if keep_paths else [])
    )


def _vary(points: int) -> str:
    return f"mediator.monitoring=0:1:{points}"


def _sweep_args(points: int, worlds: int, days: int) -> list[str]:
    return [SCENARIO, "--vary", _vary(points), "-n", str(worlds), "--steps", str(days)]


def _measure(args: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        command = [sys.executable, str(ROOT / "run.py"), *args, "--out", str(Path(tmp) / "out"), "-q"]
        start = time.perf_counter()
        proc = subprocess.Popen(command, cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        peak, hwm = 0, {}
        while proc.poll() is None:
            pids = _tree(proc.pid)
            peak = max(peak, sum(_status_kib(p, "VmRSS:") for p in pids))
            for p in pids:
                hwm[p] = max(hwm.get(p, 0), _status_kib(p, "VmHWM:"))
            time.sleep(POLL)
        seconds = time.perf_counter() - start
        err = proc.stderr.read().decode()
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed ({proc.returncode}): {err.strip()}")
    return {"peak": peak * 1024, "hwm_sum": sum(hwm.values()) * 1024, "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", nargs=4, type=int, metavar=("WORLDS", "DAYS", "BATCH", "WORKERS"))
    parser.add_argument("--keep-paths", action="store_true", help="with --shape")
    parser.add_argument(
        "--sweep",
        nargs=4,
        type=int,
        metavar=("POINTS", "WORLDS", "DAYS", "WORKERS"),
        help="a sweep over mediator.monitoring instead (estimate_sweep_bytes)",
    )
    args = parser.parse_args()
    shapes = [(*args.shape, args.keep_paths)] if args.shape else SHAPES
    scenario = load_scenario(SCENARIO)
    print(
        f"{datetime.date.today()}  {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"scenario {SCENARIO}"
    )
    if args.sweep:
        points, worlds, days, workers = args.sweep
        sweep = sweep_from_options(SCENARIO, [_vary(points)], "grid", None, worlds, None, days)
        estimate = estimate_sweep_bytes(sweep, workers)
        got = _measure(["sweep", *_sweep_args(points, worlds, days), "-j", str(workers)])
        print(
            f"sweep {points:,} points x {worlds:,} worlds x {days:,} days, {workers} workers: estimate "
            f"{estimate / MIB:.0f} MiB, peak {got['peak'] / MIB:.0f} MiB ({estimate / got['peak']:.2f}), "
            f"sum of HWM {got['hwm_sum'] / MIB:.0f} MiB, {got['seconds']:.0f}s"
        )
        return
    header = (
        f"{'worlds x days, batch, workers':<38} {'estimate':>9} {'peak':>9} {'est/peak':>8} "
        f"{'sum of HWM':>10} {'est/HWM':>7} {'time':>6}"
    )
    print(header)
    print("-" * len(header))
    for worlds, days, batch, workers, keep_paths in shapes:
        batch = batch or min(MAX_BATCH, -(-worlds // workers))  # the CLI's default
        estimate = estimate_run_bytes(scenario, worlds, days, workers, batch, keep_paths)
        got = measure(worlds, days, batch, workers, keep_paths)
        shape = f"{worlds:,} x {days:,}, {batch:,}, {workers}{' paths' if keep_paths else ''}"
        print(
            f"{shape:<38} {estimate / MIB:>5.0f} MiB {got['peak'] / MIB:>5.0f} MiB {estimate / got['peak']:>8.2f} "
            f"{got['hwm_sum'] / MIB:>6.0f} MiB {estimate / got['hwm_sum']:>7.2f} {got['seconds']:>5.0f}s",
            flush=True,
        )


if __name__ == "__main__":
    main()
