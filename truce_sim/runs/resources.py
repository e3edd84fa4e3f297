"""Resource limits: refuse, up front, a run or sweep that would not fit in this machine's memory.

The estimate adds up everything that is held at once, over the collecting process and its
workers (each a whole Python process):

* the collecting process: the interpreter and its libraries, the merged per-day aggregates (a
  64-bit histogram per observable and day), the batches that have arrived but are not yet
  merged, and at the end the one-row-per-world table with its copies and the quantile
  arithmetic over the histograms;
* each worker that can start (never more than there are batches): its interpreter, the state of
  the worlds it steps, its batch's histograms (dense, in the narrowest integers that hold the
  batch) and the copies made to send them back; with --keep-paths, its batch's daily paths,
  gathered before they are written.

One process (``workers`` 1, or a single batch) steps the batches itself and holds one at a time.
Every term is meant as an upper bound of what it counts, so the estimate may be well above a
run's peak (most where a batch's histograms, bounded as if full, are in fact nearly empty) but
should never be far below it.
"""

from __future__ import annotations

import math
import os

from truce_sim.core.scenario import Scenario, ScenarioError
from truce_sim.runs.aggregate import COUNT_BINS, SHARE_BINS, SUPPORT_EDGES, count_type
from truce_sim.runs.ensemble import MAX_BATCH

MAX_WORLD_DAYS = 5_000_000_000  # about half an hour on two cores (BENCHMARKS.md): beyond, ask for it
SUPPORT_BINS = len(SUPPORT_EDGES) - 1

# Measured on the founding case (2 factions, 4 backers); see BENCHMARKS.md, "Memory: estimate
# against measured peak".
MAIN_BYTES = 280 * 2**20  # the collecting process with its libraries loaded: 255-260 MiB
WORKER_BYTES = 170 * 2**20  # a run's worker (numpy, pandas, Mesa): 150 MiB
SWEEP_WORKER_BYTES = 230 * 2**20  # a sweep's worker also loads pyarrow and lifelines: 205 MiB
# A world in a stepping model: its arrays and the day's temporaries (1.5 kB)
WORLD_STATE_BYTES = 1400
STATE_BYTES_PER_ACTOR = 120
# A world's row: 8 bytes a cell and 64 for each of its three text cells. The cells are held twice
# at the end (the batches' rows and their concatenation, which shares their text), while survival
# fits and CSV writing work a column or a chunk at a time: 250 bytes a world measured with
# 1,000,000 worlds.
ROW_TEXT_BYTES = 3 * 64
ROW_COPIES = 2
# A world-day of a kept path: its cells (70 bytes with 2 factions and 4 backers), held about
# three times at once (the day's frames, their concatenation, Arrow's copy for Parquet; counted
# four), and the fixed cost of one frame per day.
PATH_COPIES = 4
PATH_FRAME_BYTES = 16 * 2**10
# A sweep's analysis reads every world of every point back and fits a Cox model on them: a row
# and about eight float copies of the varied values, duration and event per world (340 bytes a
# world measured with one varied value).
ANALYSIS_COPIES = 8


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


def effective_workers(workers: int, replicates: int, batch_size: int) -> int:
    """Worker processes a run can start: pool processes start on demand, one per batch at most."""
    batches = math.ceil(max(replicates, 1) / max(1, min(batch_size, replicates)))
    return max(1, min(int(workers), batches, replicates))


def _drawn_facts(scenario: Scenario) -> int:
    try:
        return sum(isinstance(v, dict) for v in scenario.numeric_facts().values())
    except (AttributeError, KeyError, TypeError):
        return 0


def _row_bytes(scenario: Scenario, copies: int = 1) -> int:
    factions = len(scenario.factions)
    cells = 13 + 3 * factions + _drawn_facts(scenario)  # as in TruceModel.world_table
    return copies * 8 * cells + ROW_TEXT_BYTES


def _state_bytes(scenario: Scenario) -> int:
    return WORLD_STATE_BYTES + STATE_BYTES_PER_ACTOR * (len(scenario.factions) + len(scenario.backers))


def _histograms(scenario: Scenario) -> list[int]:
    """Bins of each per-day histogram of a run's aggregates."""
    return [SHARE_BINS] * (2 * len(scenario.factions)) + [COUNT_BINS] + [SUPPORT_BINS] * len(scenario.backers)


def estimate_run_bytes(
    scenario: Scenario, replicates: int, steps: int, workers: int, batch_size: int, keep_paths: bool = False
) -> int:
    """Peak memory of a run, summed over the collecting process and its workers (an upper bound)."""
    factions, backers = len(scenario.factions), len(scenario.backers)
    days = steps + 1
    batch = max(1, min(batch_size, replicates))
    workers = effective_workers(workers, replicates, batch)
    bins = _histograms(scenario)
    item = count_type(batch).itemsize
    merged = days * sum(bins) * 8
    dense = days * sum(bins) * item  # one batch's histograms while it is stepped
    # a batch crossing between processes: each histogram dense or as its nonzero cells (4-byte
    # index and count), whichever is smaller; a day has at most `batch` nonzero cells
    crossing = days * sum(min(b * item, min(batch, b) * (4 + item)) for b in bins)
    quantiles = days * max(bins) * (8 + 1)  # a cumulative sum and a comparison, one histogram at a time
    rows = replicates * _row_bytes(scenario, ROW_COPIES)
    in_batch = batch * (_state_bytes(scenario) + _row_bytes(scenario))
    if keep_paths:
        cells = 8 + 2 + 2 + factions * (3 * 4 + 8 + 1) + backers * 4  # as written by ensemble._keep
        in_batch += batch * days * cells * PATH_COPIES + days * PATH_FRAME_BYTES
    if workers == 1:
        return MAIN_BYTES + merged + dense + in_batch + rows + quantiles
    # A worker holds its result's histograms, their compact copy and the pickled bytes (about
    # twice their size, measured); the collecting process may hold one unmerged result per
    # worker, one of them still also as the bytes it is unpickling.
    worker = WORKER_BYTES + dense + 3 * crossing + in_batch
    return MAIN_BYTES + merged + (workers + 1) * crossing + rows + quantiles + workers * worker


def estimate_sweep_bytes(
    sweep, workers: int = 1, batch_size: int | None = None, dask_local: int | None = None, remote: bool = False
) -> int:
    """Peak memory of a sweep on this machine (an upper bound): tasks of a point's worlds (or
    ``batch_size`` of them) on ``workers`` local processes, or on a local Dask cluster of
    ``dask_local`` workers, or on a ``remote`` cluster; and the analysis over every world at the
    end, in the collecting process."""
    scenario = sweep.base
    replicates, points = int(sweep.replicates), len(sweep.points)
    task = max(1, min(batch_size or MAX_BATCH, replicates))
    tasks = points * math.ceil(replicates / task)
    row = _row_bytes(scenario)
    in_task = task * (_state_bytes(scenario) + row)
    point = replicates * _row_bytes(scenario, ROW_COPIES)  # a point's rows, concatenated, fitted and written
    analysis = points * replicates * (row + (len(sweep.paths) + 3) * 8 * ANALYSIS_COPIES)
    main = MAIN_BYTES + point + analysis
    if remote:
        return main + 4 * max(workers, 1) * task * row
    if dask_local:  # every worker starts, each beside its nanny process; four tasks in flight per worker
        return main + 4 * dask_local * task * row + dask_local * (WORKER_BYTES + SWEEP_WORKER_BYTES + in_task)
    local = max(1, min(int(workers), tasks))
    if local == 1:
        return main + in_task
    return main + 2 * local * task * row + local * (SWEEP_WORKER_BYTES + in_task)


def _world_days_guard(world_days: int, what: str, advice: str, max_world_days: int) -> None:
    if world_days > max_world_days:
        raise ScenarioError(
            f"{what} = {world_days:,} world-days, more than --max-world-days {max_world_days:,} "
            f"(about half an hour on two cores): {advice}, or raise --max-world-days"
        )


def _memory_guard(need: int, what: str, advice: str, available: int | None) -> None:
    have = available_memory() if available is None else available
    if have is None or need <= 0.8 * have:
        return
    raise ScenarioError(
        f"{what} needs about {need / 2**30:.1f} GiB of memory but {have / 2**30:.1f} GiB are available: {advice}"
    )


def check_run_fits(
    scenario: Scenario,
    replicates: int,
    steps: int,
    workers: int,
    batch_size: int,
    keep_paths: bool = False,
    available: int | None = None,
    max_world_days: int = MAX_WORLD_DAYS,
) -> None:
    """Raise a one-line ScenarioError when the run would need more memory than is available,
    or more world-days than ``max_world_days`` (a guard against a mistyped count)."""
    _world_days_guard(
        replicates * steps, f"{replicates:,} worlds x {steps} days", "lower --replicates or --steps", max_world_days
    )
    need = estimate_run_bytes(scenario, replicates, steps, workers, batch_size, keep_paths)
    advice = "lower --replicates or --steps"
    if keep_paths:
        advice += ", drop --keep-paths or lower --batch-size"
    elif effective_workers(workers, replicates, batch_size) > 1:
        advice += ", or use fewer --workers or a smaller --batch-size"
    _memory_guard(need, f"this run ({replicates:,} worlds x {steps} days)", advice, available)


def check_sweep_fits(
    sweep,
    workers: int = 1,
    batch_size: int | None = None,
    *,
    scheduler: str | None = None,
    dask_local: int | None = None,
    available: int | None = None,
    max_world_days: int = MAX_WORLD_DAYS,
) -> None:
    """The same guards for a sweep: world-days over all its points, and memory on this machine."""
    points, replicates, steps = len(sweep.points), int(sweep.replicates), int(sweep.steps)
    _world_days_guard(
        points * replicates * steps,
        f"{points:,} points x {replicates:,} worlds x {steps} days",
        "lower --replicates, --steps or the number of points",
        max_world_days,
    )
    need = estimate_sweep_bytes(sweep, workers, batch_size, dask_local, remote=bool(scheduler))
    _memory_guard(
        need,
        f"this sweep ({points:,} points x {replicates:,} worlds x {steps} days)",
        "lower --replicates or the number of points, or use fewer --workers or a smaller --batch-size",
        available,
    )
