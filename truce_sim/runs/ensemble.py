"""Ensembles: many worlds of one scenario, in batches through TruceModel, on one or more cores.

Replicate r's outcome depends only on (seed, r), so the batch size, the number of worker
processes and the order in which batches finish never change a row, and the per-day aggregates
are merged exactly as batches finish (see :mod:`truce_sim.runs.aggregate`). Worlds' daily paths
are kept only on request and then streamed to Parquet files batch by batch, so memory stays
bounded by the batches in flight.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import mesa
import numpy as np
import pandas as pd

from truce_sim.core.model import DECISION_COLUMNS, TruceModel
from truce_sim.core.posterior import POSTERIOR_DRAWS
from truce_sim.core.scenario import Scenario, load_scenario
from truce_sim.runs.aggregate import DailyAggregates
from truce_sim.runs.executors import LocalPool

MAX_BATCH = 10_000  # numpy speed is reached well before this; larger batches only cost memory


@dataclass
class EnsembleResult:
    """What an ensemble returns: one row per world, one row per day, and the summary."""

    scenario: Scenario
    seed: int
    steps: int
    replicates: pd.DataFrame
    timeseries: pd.DataFrame
    summary: dict
    factions: list[str]
    backers: list[str]
    paths_dir: Path | None = None
    decisions: pd.DataFrame | None = None  # mean decision terms per day, faction and state

    @property
    def paths(self) -> pd.DataFrame:
        """Every world's daily path (one row per world and day), when paths were kept."""
        if self.paths_dir is None:
            raise ValueError("paths were not kept: run with keep_paths / paths_dir (--keep-paths)")
        return pd.read_parquet(self.paths_dir).sort_values(["replicate", "day"], ignore_index=True)


@dataclass
class _Batch:
    first: int
    rows: pd.DataFrame
    aggregates: DailyAggregates | None
    factions: list[str]
    backers: list[str]


def run_ensemble(
    scenario: Scenario | str | Path,
    replicates: int | None = None,
    seed: int | None = None,
    steps: int | None = None,
    *,
    workers: int = 1,
    batch_size: int | None = None,
    paths_dir: str | Path | None = None,
    progress: Callable[[int], None] | None = None,
) -> EnsembleResult:
    """Run ``replicates`` worlds of ``scenario`` for ``steps`` days.

    Defaults come from the scenario (its replicates, seed and horizon). ``workers`` > 1 spreads
    batches of worlds over that many processes (spawned, so it is safe from a notebook);
    ``batch_size`` worlds are stepped together (default: an even share per worker, at most
    10,000). ``paths_dir``, if given, receives every world's daily path as Parquet files.
    ``progress``, if given, is called with the number of world-days just completed. None of
    these options changes any result.
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    replicates = scenario.replicates if replicates is None else int(replicates)
    seed = scenario.seed if seed is None else int(seed)
    steps = scenario.horizon_days if steps is None else int(steps)
    workers = max(1, int(workers))
    if batch_size is None:
        batch_size = min(MAX_BATCH, math.ceil(replicates / workers))
    if replicates < 1 or steps < 1 or batch_size < 1:
        raise ValueError("replicates, steps and batch_size must be at least 1")
    if paths_dir is not None:
        Path(paths_dir).mkdir(parents=True, exist_ok=True)
    starts = list(range(0, replicates, batch_size))
    jobs = [(scenario, seed, steps, start, min(start + batch_size, replicates), paths_dir) for start in starts]

    # Each batch's aggregates are added into one 64-bit total as soon as it arrives, in whatever
    # order, and then let go: integer sums are order-free, and memory stays one total plus the
    # batches in flight however many batches there are. Only the rows (one per world) are kept.
    rows: dict[int, pd.DataFrame] = {}
    merged: DailyAggregates | None = None
    names: tuple[list[str], list[str]] = ([], [])

    def collect(batch: _Batch) -> None:
        nonlocal merged, names
        if merged is None:
            merged = batch.aggregates.as_total()
            names = (batch.factions, batch.backers)
        else:
            merged.merge(batch.aggregates)
        batch.aggregates = None  # the pool's finished future still holds the batch
        rows[batch.first] = batch.rows

    if workers == 1 or len(jobs) == 1:
        for job in jobs:
            collect(simulate_batch(*job, progress=progress))
    else:
        for _, batch in LocalPool(workers).run(simulate_batch, ((job[3], job) for job in jobs)):
            collect(batch)
            if progress is not None:
                progress(len(batch.rows) * steps)
    table = pd.concat([rows.pop(first) for first in sorted(rows)], ignore_index=True)
    timeseries = merged.table(scenario.start_date)
    decisions = merged.decisions(DECISION_COLUMNS, scenario.start_date)
    del merged
    # lifelines is slow to import; worker processes never need it
    from truce_sim.runs.survival import summarise, survival_band

    # the band's groups: worlds that share a posterior draw (i % K), or as many groups without
    # one, so that a run with a posterior and one without are read alike
    posterior = scenario.posterior
    groups = posterior.draws if posterior is not None else POSTERIOR_DRAWS
    record = posterior.record() if posterior is not None else None
    band = survival_band(table, groups, steps)  # one computation for the summary and the daily table
    summary = summarise(
        table,
        scenario.name,
        seed,
        steps,
        scenario.what_if,
        scenario.caveats(),
        groups,
        record,
        band,
        what_if=scenario.what_if_changes,
        label=scenario.label,
    )
    timeseries["survival_band_lo"], timeseries["survival_band_hi"] = band
    return EnsembleResult(
        scenario,
        seed,
        steps,
        table,
        timeseries,
        summary,
        names[0],
        names[1],
        Path(paths_dir) if paths_dir is not None else None,
        decisions,
    )


def simulate_batch(
    scenario: Scenario,
    seed: int,
    steps: int,
    first: int,
    last: int,
    paths_dir: str | Path | None = None,
    progress: Callable[[int], None] | None = None,
    daily: bool = True,
) -> _Batch:
    """Step worlds first..last-1 for ``steps`` days; return their rows and, if ``daily``, the
    per-day aggregates (sweeps need only the rows)."""
    ids = np.arange(first, last)
    model = TruceModel(scenario, rng=seed, replicates=len(ids), replicate_ids=ids, keep_history=False)
    try:
        factions = [f.name for f in model.factions]
        backers = [b.name for b in model.backers]
        aggregates = DailyAggregates(factions, backers, steps + 1, most=len(ids)) if daily else None
        paths = [] if paths_dir is not None else None
        if daily:
            aggregates.add(0, model.observations())
        _keep(paths, 0, ids, model)
        for day in range(1, steps + 1):
            model.step()
            if daily:
                aggregates.add(day, model.observations())
                aggregates.add_decisions(day, model.decision_terms(), model.deciding_in_truce)
            _keep(paths, day, ids, model)
            if progress is not None:
                progress(len(ids))
        if paths is not None:
            frame = pd.concat(paths, ignore_index=True)
            paths.clear()  # the day's frames are copied into the batch's; only one copy need be held
            tmp = Path(paths_dir) / f".batch-{first:010d}.parquet.tmp"
            frame.to_parquet(tmp, index=False)
            os.replace(tmp, Path(paths_dir) / f"batch-{first:010d}.parquet")
            del frame
        return _Batch(first, pd.DataFrame(model.world_table()), aggregates, factions, backers)
    finally:
        _let_go(model)


def _let_go(model: TruceModel) -> None:
    """Free a finished model's arrays at once.

    Mesa 3.3 keeps every model it has seen (as keys of the id counters ``mesa.Agent._ids``),
    and a model and its agents refer to each other, so a process that steps batch after batch
    would keep every batch's worlds (about 8 MB per 10,000 worlds) until a full garbage
    collection, if one comes. Emptying the model and its agents frees their arrays by reference
    counting, without the cost of a collection per batch."""
    counters = getattr(mesa.Agent, "_ids", None)
    if isinstance(counters, dict):
        counters.pop(model, None)
    for agent in list(model.agents):
        agent.__dict__.clear()
    model.__dict__.clear()


def _keep(paths: list | None, day: int, ids: np.ndarray, model: TruceModel) -> None:
    if paths is None:
        return
    frame = {"replicate": ids.astype(np.int64), "day": np.full(len(ids), day, dtype=np.int16)}
    for key, values in model.observations().items():
        column = key.replace(".", "_")
        frame[column] = values.astype(np.float32) if values.dtype == np.float64 else values.copy()
    paths.append(pd.DataFrame(frame))
