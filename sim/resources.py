"""Resource limits: refuse, up front, a run that would not fit in this machine's memory.

The estimate counts what an ensemble keeps at once: one row per world, the per-day aggregates
(a histogram per observable and day, merged in 64-bit), and the state of the batches in flight
(one per worker, two queued). Daily paths (--keep-paths) go to disk batch by batch, but each
batch's paths are gathered in memory before they are written.
"""
from __future__ import annotations

import os

from .aggregate import COUNT_BINS, SHARE_BINS, SUPPORT_EDGES
from .scenario import Scenario, ScenarioError

MAX_WORLD_DAYS = 5_000_000_000  # about half an hour on two cores (BENCHMARKS.md): beyond, ask for it
# Measured on the benchmark of BENCHMARKS.md (100,000 worlds x 365 days: about 0.7 GiB in the
# collecting process and 0.3 GiB per worker), with some room.
ROW_BYTES = 3000          # a world's row, with the copies made to fit survival curves and write CSV
WORLD_STATE_BYTES = 2000  # a world's arrays in a stepping model (factions, backers, truce, window)
PROCESS_BYTES = 200 * 2**20  # a Python process with numpy, pandas and Mesa loaded


def available_memory() -> int | None:
    """Bytes of memory available now (Linux /proc/meminfo), or None where it cannot be read."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def estimate_run_bytes(scenario: Scenario, replicates: int, steps: int, workers: int, batch_size: int,
                       keep_paths: bool = False) -> int:
    factions, backers = len(scenario.factions), len(scenario.backers)
    days = steps + 1
    bins = 2 * factions * SHARE_BINS + COUNT_BINS + backers * (len(SUPPORT_EDGES) - 1)
    aggregates = days * bins * (8 + 4 * 3 * max(workers, 1))  # merged int64, plus int32 per batch in flight
    in_flight = min(replicates, batch_size) * 3 * max(workers, 1)
    state = in_flight * (WORLD_STATE_BYTES + 60 * (factions + backers))
    paths = in_flight * days * (5 * factions + backers + 4) * 6 if keep_paths else 0
    return PROCESS_BYTES * (1 + max(workers - 1, 0)) + replicates * ROW_BYTES + aggregates + state + paths


def check_run_fits(scenario: Scenario, replicates: int, steps: int, workers: int, batch_size: int,
                   keep_paths: bool = False, available: int | None = None,
                   max_world_days: int = MAX_WORLD_DAYS) -> None:
    """Raise a one-line ScenarioError when the run would need more memory than is available,
    or more world-days than ``max_world_days`` (a guard against a mistyped count)."""
    if replicates * steps > max_world_days:
        raise ScenarioError(f"{replicates:,} worlds x {steps} days = {replicates * steps:,} world-days, more than "
                            f"--max-world-days {max_world_days:,} (about half an hour on two cores): lower "
                            "--replicates or --steps, or raise --max-world-days")
    need = estimate_run_bytes(scenario, replicates, steps, workers, batch_size, keep_paths)
    have = available_memory() if available is None else available
    if have is None or need <= 0.8 * have:
        return
    advice = "lower --replicates or --steps"
    if keep_paths:
        advice += ", drop --keep-paths or lower --batch-size"
    elif workers > 1:
        advice += " or use fewer --workers"
    raise ScenarioError(f"this run needs about {need / 2**30:.1f} GiB of memory ({replicates:,} worlds x {steps} days) "
                        f"but {have / 2**30:.1f} GiB are available: {advice}")
