"""Running a sweep: tasks of worlds per point on any executor, points saved as they finish.

Each finished point is written at once, atomically (a temporary file renamed into place), under
``points/`` in the out dir: its worlds' outcomes and its metrics. A sweep that is killed and run
again with ``resume=True`` computes only the missing points and ends with the same tables as an
uninterrupted run, because a point's result depends only on its scenario and the sweep's seed.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pandas as pd

from .ensemble import MAX_BATCH, simulate_batch
from .executors import make_executor
from .metrics import point_metrics
from .scenario import ScenarioError
from .sweep import Sweep

WORLD_COLUMNS = ["replicate", "survival_days", "collapsed", "cause", "breaker", "violations_per_truce_day"]


@dataclass
class SweepResult:
    sweep: Sweep
    out_dir: Path
    points: pd.DataFrame
    computed: int  # points computed by this call (the rest were found on disk)


def run_point_batch(scenario, seed: int, steps: int, first: int, last: int,
                    metrics: list[str] | None = None) -> tuple[pd.DataFrame, dict | None]:
    """One task: worlds first..last-1 of one point; their outcome rows, and the point's metrics
    when the task holds all its worlds (so the workers, not the collecting process, fit them)."""
    rows = simulate_batch(scenario, seed, steps, first, last, daily=False).rows[WORLD_COLUMNS]
    return rows, (point_metrics(rows, metrics) if metrics is not None else None)


def run_sweep(sweep: Sweep, out_dir: str | Path, *, workers: int = 1, scheduler: str | None = None,
              dask_local: int | None = None, resume: bool = False, batch_size: int | None = None,
              progress: Callable[[int], None] | None = None, command: list[str] | None = None) -> SweepResult:
    """Run every point of ``sweep`` not yet on disk in ``out_dir``; write points.csv/.parquet."""
    out_dir = Path(out_dir)
    state = out_dir / "points"
    _check_out_dir(sweep, out_dir, resume)
    executor = _connect(workers, scheduler, dask_local)  # an unreachable cluster fails before anything is written
    _prepare(sweep, out_dir, resume)
    started = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    done = {int(p.stem.split("-")[1]) for p in state.glob("point-*.json")}
    todo = [i for i in range(len(sweep.points)) if i not in done]
    if progress is not None and done:
        progress(len(done))
    size = batch_size or min(sweep.replicates, MAX_BATCH)
    batches = {i: [(first, min(first + size, sweep.replicates)) for first in range(0, sweep.replicates, size)]
               for i in todo}

    def tasks():
        for i in todo:
            scenario = sweep.point_scenario(i)
            whole = sweep.metrics if len(batches[i]) == 1 else None
            for first, last in batches[i]:
                yield (i, first), (scenario, sweep.seed, sweep.steps, first, last, whole)

    partial: dict[int, dict[int, pd.DataFrame]] = {}
    try:
        for (i, first), (rows, metrics) in executor.run(run_point_batch, tasks()):
            partial.setdefault(i, {})[first] = rows  # a rerun task replaces, never adds, its rows
            if len(partial[i]) == len(batches[i]):
                parts = partial.pop(i)
                rows = pd.concat([parts[f] for f, _ in batches[i]], ignore_index=True)
                _save_point(sweep, state, i, rows, metrics)
                if progress is not None:
                    progress(1)
    finally:
        executor.close()
    points = collect_points(sweep, state)
    _write_atomic(out_dir / "points.csv", lambda p: points.to_csv(p, index=False))
    _write_atomic(out_dir / "points.parquet", lambda p: points.to_parquet(p, index=False))
    manifest = {"started": started, "finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                "executor": executor.name, "resumed_points": len(done), "computed_points": len(todo),
                "command": command}
    _write_sweep_json(sweep, out_dir, manifest)
    return SweepResult(sweep, out_dir, points, len(todo))


def _check_out_dir(sweep: Sweep, out_dir: Path, resume: bool) -> None:
    spec = out_dir / "sweep.json"
    if out_dir.exists() and not out_dir.is_dir():
        raise ScenarioError(f"--out {out_dir}: exists and is not a directory")
    if out_dir.exists() and any(out_dir.iterdir()) and not spec.exists():
        raise ScenarioError(f"--out {out_dir}: exists and does not hold a sweep; choose another out dir")
    if resume and spec.exists():
        previous = json.loads(spec.read_text(encoding="utf-8"))
        if previous.get("fingerprint") != sweep.fingerprint():
            raise ScenarioError(f"--resume: {out_dir} holds a different sweep ({previous.get('name')}); "
                                "rerun without --resume to start afresh")


def _connect(workers: int, scheduler: str | None, dask_local: int | None):
    try:
        return make_executor(workers, scheduler, dask_local)
    except (OSError, TimeoutError) as exc:
        where = f"--scheduler {scheduler}" if scheduler else "--dask-local"
        raise ScenarioError(f"{where}: cannot reach the Dask cluster ({exc.__class__.__name__}: "
                            f"{str(exc).splitlines()[0] if str(exc) else 'no answer'})") from None


def _prepare(sweep: Sweep, out_dir: Path, resume: bool) -> None:
    """Start afresh, or keep the finished points of an interrupted run of the same sweep."""
    if (out_dir / "sweep.json").exists() and not resume:
        shutil.rmtree(out_dir)
    (out_dir / "points").mkdir(parents=True, exist_ok=True)
    for leftover in (out_dir / "points").glob(".*.tmp"):  # half-written by a killed run
        leftover.unlink()
    _write_sweep_json(sweep, out_dir, {"started": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")})


def _write_sweep_json(sweep: Sweep, out_dir: Path, manifest: dict) -> None:
    from .results import versions

    body = {**sweep.spec(), "fingerprint": sweep.fingerprint(), "manifest": {**manifest, "versions": versions()}}
    _write_atomic(out_dir / "sweep.json", lambda p: Path(p).write_text(json.dumps(body, indent=2, default=str) + "\n"))


def _save_point(sweep: Sweep, state: Path, i: int, rows: pd.DataFrame, metrics: dict | None = None) -> None:
    rows = rows.sort_values("replicate", ignore_index=True)
    metrics = metrics if metrics is not None else point_metrics(rows, sweep.metrics)
    _write_atomic(state / f"worlds-{i:06d}.parquet", lambda p: rows.to_parquet(p, index=False))
    values = {p: float(sweep.points.at[i, p]) for p in sweep.paths}
    record = {"point": i, **values, **metrics, "replicates": sweep.replicates,
              "seed": sweep.seed}
    # the metrics file is written last: its presence marks the point done
    _write_atomic(state / f"point-{i:06d}.json", lambda p: Path(p).write_text(json.dumps(record)))


def collect_points(sweep: Sweep, state: Path) -> pd.DataFrame:
    records = [json.loads(p.read_text()) for p in sorted(state.glob("point-*.json"))]
    return pd.DataFrame(records).sort_values("point", ignore_index=True)


def load_worlds(sweep_dir: str | Path, paths: list[str], points: pd.DataFrame) -> pd.DataFrame:
    """All worlds of a finished sweep with their point's varied values (for hazard models)."""
    frames = []
    for _, point in points.iterrows():
        rows = pd.read_parquet(Path(sweep_dir) / "points" / f"worlds-{int(point['point']):06d}.parquet")
        for p in paths:
            rows[p] = point[p]
        rows["point"] = int(point["point"])
        frames.append(rows)
    return pd.concat(frames, ignore_index=True)


def _write_atomic(path: Path, write) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    write(tmp)
    os.replace(tmp, path)


def analyse_sweep(result: SweepResult) -> dict[str, Path]:
    """Sensitivity indices, hazard ratios, figures and report.html of a finished sweep."""
    from . import sweep_plots
    from .report import sweep_report
    from .sensitivity import hazard_ratios, salib_indices

    sweep, out, points = result.sweep, result.out_dir, result.points
    title = f"{sweep.name}: {len(points)} points x {sweep.replicates} worlds"
    figures = [(stem, _caption(stem, sweep, points)) for stem in sweep_plots.sweep_figures(points, sweep.paths, sweep.metrics, out, title)]
    written = {}
    indices = salib_indices(sweep, points)
    if indices is not None:
        _write_atomic(out / "sensitivity.csv", lambda p: indices.to_csv(p, index=False))
        written["sensitivity"] = out / "sensitivity.csv"
        if len(indices):
            metric = sweep_plots.headline(sorted(set(indices["metric"]), key=sweep.metrics.index), points)
            figures.append((sweep_plots.sensitivity_figure(indices, sweep.design, metric, out, title),
                            f"Sensitivity of {sweep_plots.label(metric)} to each lever ({sweep.design})"))
    ratios = hazard_ratios(load_worlds(out, sweep.paths, points), sweep.paths)
    _write_atomic(out / "hazard_ratios.csv", lambda p: ratios.to_csv(p, index=False))
    written["hazard_ratios"] = out / "hazard_ratios.csv"
    if len(ratios):
        figures.append((sweep_plots.forest_figure(ratios, out, title),
                        "Hazard ratio of collapse per standard deviation of each lever (Cox model)"))
    written["report"] = sweep_report(out, json.loads((out / "sweep.json").read_text()), points, figures, indices, ratios)
    return written


def _caption(stem: str, sweep: Sweep, points: pd.DataFrame) -> str:
    from .sweep_plots import headline, label

    paths, metric = sweep.paths, label(headline(sweep.metrics, points))
    if stem == "sweep_metrics":
        return f"Each metric against {paths[0]} with its 95% interval"
    if stem == "sweep_heatmap":
        return f"{metric} over {paths[0]} and {paths[1]}"
    if stem == "sweep_lines":
        return f"{metric} against {paths[0]}, one line per value of {paths[1]}"
    return f"Main effect of each lever on {metric}"
