"""Ensembles: many worlds of one scenario, stepped in batches through TruceModel.

Replicate r's outcome depends only on (seed, r), so the batch size, the order of batches and
how many worlds run never change a row; the tables are sorted by replicate.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from .model import TruceModel
from .scenario import Scenario, load_scenario
from .survival import summarise

QUANTILES = (0.05, 0.5, 0.95)


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


def run_ensemble(scenario: Scenario | str | Path, replicates: int | None = None, seed: int | None = None,
                 steps: int | None = None, batch_size: int = 1000,
                 progress: Callable[[int], None] | None = None) -> EnsembleResult:
    """Run ``replicates`` worlds of ``scenario`` for ``steps`` days.

    Defaults come from the scenario (its replicates, seed and horizon). ``progress``, if given,
    is called with the number of world-days just completed.
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    replicates = scenario.replicates if replicates is None else int(replicates)
    seed = scenario.seed if seed is None else int(seed)
    steps = scenario.horizon_days if steps is None else int(steps)
    if replicates < 1 or steps < 1 or batch_size < 1:
        raise ValueError("replicates, steps and batch_size must be at least 1")

    rows, paths = [], {}
    for start in range(0, replicates, batch_size):
        ids = np.arange(start, min(start + batch_size, replicates))
        model = TruceModel(scenario, rng=seed, replicates=len(ids), replicate_ids=ids)
        for _ in range(steps):
            model.step()
            if progress is not None:
                progress(len(ids))
        rows.append(pd.DataFrame(model.world_table()))
        for key, days in model.history.items():
            paths.setdefault(key, []).append(np.stack(days))
        factions = [f.name for f in model.factions]
        backers = [b.name for b in model.backers]
    table = pd.concat(rows, ignore_index=True).sort_values("replicate", ignore_index=True)
    merged = {key: np.concatenate(parts, axis=1) for key, parts in paths.items()}
    timeseries = daily_table(merged, factions, backers, scenario.start_date)
    summary = summarise(table, scenario.name, seed, steps)
    return EnsembleResult(scenario, seed, steps, table, timeseries, summary, factions, backers)


def daily_table(paths: dict[str, np.ndarray], factions: list[str], backers: list[str], start_date=None) -> pd.DataFrame:
    """Per day over worlds: share in truce, balance quantiles, violations, backer support."""
    days = paths["in_truce"].shape[0]
    out = {"day": np.arange(days)}
    if start_date is not None:
        out["date"] = pd.date_range(start_date, periods=days, freq="D").strftime("%Y-%m-%d")
    out["share_in_truce"] = paths["in_truce"].mean(axis=1)
    out["share_first_truce_holds"] = paths["first_truce_holds"].mean(axis=1)
    for name in factions:
        for var in ("power", "control"):
            values = paths[f"{var}.{name}"].astype(np.float64)
            out[f"{var}_{name}_mean"] = values.mean(axis=1)
            for q, col in zip(QUANTILES, np.quantile(values, QUANTILES, axis=1)):
                out[f"{var}_{name}_q{int(q * 100):02d}"] = col
    total = sum(paths[f"violations.{name}"].astype(np.float64) for name in factions)
    out["violations_mean"] = total.mean(axis=1)
    for q, col in zip(QUANTILES, np.quantile(total, QUANTILES, axis=1)):
        out[f"violations_q{int(q * 100):02d}"] = col
    for name in factions:
        out[f"violations_{name}_mean"] = paths[f"violations.{name}"].mean(axis=1)
        out[f"offensive_share_{name}"] = (paths[f"choice.{name}"] == 2).mean(axis=1)
    for name in backers:
        values = paths[f"support.{name}"].astype(np.float64)
        out[f"support_{name}_mean"] = values.mean(axis=1)
        out[f"support_{name}_q05"], out[f"support_{name}_q95"] = np.quantile(values, (0.05, 0.95), axis=1)
    return pd.DataFrame(out)
