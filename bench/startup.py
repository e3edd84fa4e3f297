"""Benchmark of the command line's start-up, and of where a pool of workers starts to pay.

(a) Wall time of `--help`, `list` and `check NAME` as fresh processes (what a user waits for):
    medians of 5. (b) `run` of the founding case at several sizes (worlds x 365 days) with
    `-j 1` and `-j 2` as fresh processes, so that the pool's start-up is counted as a user pays
    it: medians of 3, and the ratio. The crossover is the smallest size at which 2 workers win;
    `POOL_MIN_WORLD_DAYS` in truce_sim/cli.py should sit near it.

    python bench/startup.py            # about three minutes on 2 cores
    python bench/startup.py --quick    # fewer repeats and sizes
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DAYS = 365


def wall(command: list[str], repeats: int, cwd: str) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(command, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    repeats = 2 if args.quick else 3
    cli = [sys.executable, str(ROOT / "run.py")]
    with tempfile.TemporaryDirectory() as cwd:
        print("(a) start-up, fresh process, median of 5")
        for words in (["--help"], ["list"], ["check", "libya_2020_january"]):
            print(f"    {' '.join(words):28s} {wall(cli + words, 5, cwd):6.2f} s")
        print(f"\n(b) run libya_2020_january, {DAYS} days, fresh process each, median of {repeats}")
        print(f"    {'worlds':>8s} {'world-days':>11s} {'-j 1':>8s} {'-j 2':>8s} {'j1/j2':>6s}")
        sizes = (1_000, 8_000, 16_000) if args.quick else (1_000, 4_000, 8_000, 12_000, 16_000, 32_000)
        for worlds in sizes:
            times = [
                wall(
                    cli
                    + [
                        "run",
                        "libya_2020_january",
                        "-n",
                        str(worlds),
                        "--steps",
                        str(DAYS),
                        "-q",
                        "-j",
                        str(j),
                        "--out",
                        f"out_{worlds}_{j}",
                    ],
                    repeats,
                    cwd,
                )
                for j in (1, 2)
            ]
            print(f"    {worlds:8,d} {worlds * DAYS:11,d} {times[0]:7.2f}s {times[1]:7.2f}s {times[0] / times[1]:6.2f}")


if __name__ == "__main__":
    main()
