"""Running a sweep: tasks of worlds per point on any executor, points saved as they finish.

Each finished point is written at once, atomically (a temporary file renamed into place), under
``points/`` in the out dir: its worlds' outcomes and its metrics. A sweep that is killed and run
again with ``resume=True`` computes only the missing points and ends with the same tables as an
uninterrupted run, because a point's result depends only on its scenario and the sweep's seed.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from truce_sim.core.scenario import ScenarioError
from truce_sim.core.version import model_fingerprint
from truce_sim.outputs.files import OutDir, add_entries, atomic_write, utc_now, versions, write_json, write_text
from truce_sim.runs.ensemble import MAX_BATCH, simulate_batch
from truce_sim.runs.executors import make_executor
from truce_sim.runs.metrics import point_metrics
from truce_sim.sweeps.spec import Sweep

WORLD_COLUMNS = ["replicate", "survival_days", "collapsed", "cause", "breaker", "violations_per_truce_day"]


@dataclass
class SweepResult:
    sweep: Sweep
    out_dir: Path
    points: pd.DataFrame
    computed: int  # points computed by this call (the rest were found on disk)


def run_point_batch(
    scenario, seed: int, steps: int, first: int, last: int, metrics: list[str] | None = None
) -> tuple[pd.DataFrame, dict | None]:
    """One task: worlds first..last-1 of one point; their outcome rows, and the point's metrics
    when the task holds all its worlds (so the workers, not the collecting process, fit them)."""
    rows = simulate_batch(scenario, seed, steps, first, last, daily=False).rows[WORLD_COLUMNS]
    return rows, (point_metrics(rows, metrics) if metrics is not None else None)


def run_sweep(
    sweep: Sweep,
    out_dir: str | Path,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    dask_local: int | None = None,
    resume: bool = False,
    fresh: bool = False,
    batch_size: int | None = None,
    progress: Callable[[int], None] | None = None,
    command: list[str] | None = None,
    analyse: bool = False,
) -> SweepResult:
    """Run every point of ``sweep`` not yet on disk in ``out_dir``; write points.csv/.parquet
    (and, with ``analyse``, the sensitivity tables, figures and report).

    ``out_dir`` must be new, empty, or a sweep's out dir holding only what truce-sim wrote. An
    unfinished run of the same sweep is continued with ``resume`` or thrown away with ``fresh``;
    without either it is refused, so that no finished point is lost by a forgotten flag."""
    out_dir = Path(out_dir)
    with OutDir(out_dir, "sweep") as out:
        keep = _previous_points(sweep, out_dir, resume, fresh)
        executor = _connect(workers, scheduler, dask_local)  # an unreachable cluster fails before anything is written
        result = _run_points(sweep, out, keep, executor, batch_size, progress, command)
        if analyse:
            analyse_sweep(result, progress=progress is not None)
    return result


def _previous_points(sweep: Sweep, out_dir: Path, resume: bool, fresh: bool) -> bool:
    """Whether to keep the points already in ``out_dir``; refuses what would lose or mix them."""
    spec_path = out_dir / "sweep.json"
    if not spec_path.exists():
        return False
    try:
        previous = json.loads(spec_path.read_text(encoding="utf-8"))
        if not isinstance(previous, dict):
            raise ValueError("not a mapping")
    except (ValueError, UnicodeDecodeError):
        if resume and not fresh:
            raise ScenarioError(
                f"--resume: {out_dir}/sweep.json is damaged; rerun with --fresh to start afresh"
            ) from None
        return False
    same = previous.get("fingerprint") == sweep.full_fingerprint()
    done = len(list((out_dir / "points").glob("point-*.json"))) if (out_dir / "points").is_dir() else 0
    if resume and not fresh:
        if not same:
            what = (
                "points computed by another version of the model"
                if str(previous.get("fingerprint", "")).split("-")[0] == sweep.fingerprint()
                else f"a different sweep ({previous.get('name')})"
            )
            raise ScenarioError(f"--resume: {out_dir} holds {what}; rerun with --fresh to recompute every point")
        return True
    if same and not fresh and 0 < done < len(sweep.points):
        raise ScenarioError(
            f"{out_dir} holds {done} of {len(sweep.points)} points of this sweep from an unfinished "
            "run; add --resume to finish it, or --fresh to start again"
        )
    return False


def _run_points(
    sweep: Sweep,
    out: OutDir,
    keep: bool,
    executor,
    batch_size: int | None,
    progress: Callable[[int], None] | None,
    command: list[str] | None,
) -> SweepResult:
    out_dir = out.open_in_place(fresh=not keep)
    # Each entry is recorded in the out dir's marker before it is written: an interrupt between
    # the two would otherwise leave a file the marker does not name, and --resume would refuse it.
    add_entries(out_dir, ["points", "sweep.json", "points.csv", "points.parquet"])
    state = out_dir / "points"
    state.mkdir(exist_ok=True)
    for leftover in state.glob(".*.tmp"):  # half-written by a killed run
        leftover.unlink()
    started = utc_now()
    _write_sweep_json(sweep, out_dir, {"started": started})
    done = valid_points(sweep, state) if keep else set()
    todo = [i for i in range(len(sweep.points)) if i not in done]
    if progress is not None and done:
        progress(len(done))
    size = batch_size or min(sweep.replicates, MAX_BATCH)
    batches = {
        i: [(first, min(first + size, sweep.replicates)) for first in range(0, sweep.replicates, size)] for i in todo
    }

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
    atomic_write(out_dir / "points.csv", lambda p: points.to_csv(p, index=False))
    atomic_write(out_dir / "points.parquet", lambda p: points.to_parquet(p, index=False))
    manifest = {
        "started": started,
        "finished": utc_now(),
        "executor": executor.name,
        "resumed_points": len(done),
        "computed_points": len(todo),
        "command": command,
    }
    _write_sweep_json(sweep, out_dir, manifest)
    return SweepResult(sweep, out_dir, points, len(todo))


def _connect(workers: int, scheduler: str | None, dask_local: int | None):
    try:
        return make_executor(workers, scheduler, dask_local)
    except (OSError, TimeoutError) as exc:
        where = f"--scheduler {scheduler}" if scheduler else "--dask-local"
        raise ScenarioError(
            f"{where}: cannot reach the Dask cluster ({exc.__class__.__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else 'no answer'})"
        ) from None


def sweep_caveats(sweep: Sweep) -> list[str]:
    """What a reader of the sweep's results must know before the analysis adds its own: events of
    the base scenario that change a varied field (the notes printed when the sweep starts) and the
    base scenario's own caveats. Recorded in sweep.json's ``caveats`` and shown on the report."""
    notes = [note.removeprefix("note: ") for note in sweep.notes]
    return notes + [c for c in sweep.base.caveats() if c not in notes]


def _write_sweep_json(sweep: Sweep, out_dir: Path, manifest: dict) -> None:
    body = {
        **sweep.spec(),
        "caveats": sweep_caveats(sweep),
        "fingerprint": sweep.full_fingerprint(),
        "model_fingerprint": model_fingerprint(),
        "manifest": {**manifest, "versions": versions()},
    }
    write_json(out_dir / "sweep.json", body)


def _save_point(sweep: Sweep, state: Path, i: int, rows: pd.DataFrame, metrics: dict | None = None) -> None:
    rows = rows.sort_values("replicate", ignore_index=True)
    metrics = metrics if metrics is not None else point_metrics(rows, sweep.metrics)
    atomic_write(state / f"worlds-{i:06d}.parquet", lambda p: rows.to_parquet(p, index=False))
    values = {p: float(sweep.points.at[i, p]) for p in sweep.paths}
    record = {
        "point": i,
        **values,
        **metrics,
        "replicates": sweep.replicates,
        "seed": sweep.seed,
        "fingerprint": sweep.full_fingerprint(),
    }
    record["checksum"] = _checksum(record)
    # the metrics file is written last: its presence marks the point done
    write_text(state / f"point-{i:06d}.json", json.dumps(record))


POINT_FILE = re.compile(r"point-(\d{6})\.json")


def _checksum(record: dict) -> str:
    """A hash of a point's record without its checksum: an edited record no longer matches it."""
    body = {k: v for k, v in record.items() if k != "checksum"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]


def _read_point(sweep: Sweep, path: Path) -> dict | None:
    """A saved point's record, or None when it is not a whole, valid point of this sweep (a
    damaged, stray or edited file, or one whose worlds are missing or unreadable)."""
    match = POINT_FILE.fullmatch(path.name)
    if match is None:
        return None
    index = int(match.group(1))
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        worlds = pq.ParquetFile(path.parent / f"worlds-{index:06d}.parquet").metadata.num_rows
    except (OSError, ValueError, UnicodeDecodeError, pa.ArrowException):
        return None
    if (
        not isinstance(record, dict)
        or record.get("point") != index
        or index >= len(sweep.points)
        or record.get("fingerprint") != sweep.full_fingerprint()
        or worlds != sweep.replicates
        or record.get("checksum") != _checksum(record)
        or any(record.get(p) != float(sweep.points.at[index, p]) for p in sweep.paths)
    ):
        return None
    return record


def valid_points(sweep: Sweep, state: Path) -> set[int]:
    """Indices of the points saved whole in ``state``. Anything else named like a point there
    (damaged, stray or edited) is removed, with one line on stderr, and computed again."""
    valid = set()
    for path in sorted(state.glob("point-*.json")):
        record = _read_point(sweep, path)
        if record is None:
            print(
                f"warning: {path} is damaged or not a point of this sweep; it will be computed again", file=sys.stderr
            )
            path.unlink()
        else:
            valid.add(record["point"])
    return valid


def collect_points(sweep: Sweep, state: Path) -> pd.DataFrame:
    records = [r for p in sorted(state.glob("point-*.json")) if (r := _read_point(sweep, p)) is not None]
    frame = pd.DataFrame(records).sort_values("point", ignore_index=True)
    return frame.drop(columns=["fingerprint", "checksum"])


def load_worlds(
    sweep_dir: str | Path, paths: list[str], points: pd.DataFrame, tick: Callable[[int], object] | None = None
) -> pd.DataFrame:
    """All worlds of a finished sweep with their point's varied values (for hazard models);
    ``tick(1)`` after each point read."""
    frames = []
    for _, point in points.iterrows():
        if tick is not None:
            tick(1)
        rows = pd.read_parquet(Path(sweep_dir) / "points" / f"worlds-{int(point['point']):06d}.parquet")
        for p in paths:
            rows[p] = point[p]
        rows["point"] = int(point["point"])
        frames.append(rows)
    return pd.concat(frames, ignore_index=True)


ANALYSIS_FIGURES = (
    "sweep_metrics",
    "sweep_heatmap",
    "sweep_lines",
    "sweep_main_effects",
    "sensitivity",
    "hazard_ratios",
)
ANALYSIS_ENTRIES = (
    *(f"{stem}{suffix}" for stem in ANALYSIS_FIGURES for suffix in (".png", ".svg")),
    "sensitivity.csv",
    "hazard_ratios.csv",
    "report.html",
)


ANALYSIS_STEPS = 4  # figures, indices, the hazard fit, the report; plus one per point read


def analyse_sweep(result: SweepResult, progress: bool = False) -> dict[str, Path]:
    """Sensitivity indices, hazard ratios, figures and report.html of a finished sweep.

    Caveats (``sweep_caveats`` and the indices' stability warnings, see
    ``sensitivity.index_warnings``) go to sweep.json's ``caveats`` and the top of the report; the
    analysis's own warnings also to stderr. ``progress`` shows a bar on stderr when the analysis
    takes more than about a second."""
    from tqdm import tqdm

    from truce_sim.sweeps import figures as sweep_plots
    from truce_sim.sweeps.report import sweep_report
    from truce_sim.sweeps.sensitivity import hazard_ratios, index_warnings, salib_indices

    sweep, out, points = result.sweep, result.out_dir, result.points
    add_entries(out, ANALYSIS_ENTRIES)  # before they are written, as in _run_points
    bar = tqdm(
        total=len(points) + ANALYSIS_STEPS,
        desc=f"{sweep.name}: analysis",
        unit=" steps",
        delay=1.0,
        file=sys.stderr,
        disable=not progress,
        leave=False,
        position=0,  # the line of the points' bar, which is done by now: no second line
    )
    try:
        title = f"{sweep.name}: {len(points)} points x {sweep.replicates} worlds"
        shown = sweep_plots.headline(sweep.metrics, points, sweep.heatmap_metric)
        warnings = []
        if not points[shown].notna().any():
            warnings.append(
                f"{shown} has no value at any point (a median is undefined where over half the truces "
                "survive the horizon): its figures are empty"
            )
        figures = [
            (stem, _caption(stem, sweep, shown))
            for stem in sweep_plots.sweep_figures(points, sweep.paths, sweep.metrics, out, title, shown)
        ]
        bar.update(1)
        written = {}
        indices = salib_indices(sweep, points)
        unstable = index_warnings(sweep, indices)
        warnings += unstable
        if indices is not None:
            atomic_write(out / "sensitivity.csv", lambda p: indices.to_csv(p, index=False))
            written["sensitivity"] = out / "sensitivity.csv"
            if len(indices):
                recorded = sorted(set(indices["metric"]), key=sweep.metrics.index)
                metric = sweep_plots.headline(recorded, points, shown if shown in recorded else None)
                figures.append(
                    (
                        sweep_plots.sensitivity_figure(
                            indices, sweep.design, metric, out, title, unstable=bool(unstable)
                        ),
                        f"Sensitivity of {sweep_plots.label(metric)} to each lever ({sweep.design})",
                    )
                )
        bar.update(1)
        ratios = hazard_ratios(load_worlds(out, sweep.paths, points, bar.update), sweep.paths)
        atomic_write(out / "hazard_ratios.csv", lambda p: ratios.to_csv(p, index=False))
        written["hazard_ratios"] = out / "hazard_ratios.csv"
        if len(ratios):
            figures.append(
                (
                    sweep_plots.forest_figure(ratios, out, title),
                    "Hazard ratio of collapse per standard deviation of each lever (Cox model)",
                )
            )
        bar.update(1)
        if warnings:
            bar.clear()
            for text in warnings:
                print(f"warning: {text}", file=sys.stderr)
        spec = json.loads((out / "sweep.json").read_text(encoding="utf-8"))
        spec["caveats"] = sweep_caveats(sweep) + warnings
        write_json(out / "sweep.json", spec)
        written["report"] = sweep_report(
            out, spec, points, figures, indices, ratios, spec["caveats"], shown if len(sweep.paths) > 1 else None
        )
        bar.update(1)
    finally:
        bar.close()
    add_entries(out, [p.name for p in out.iterdir() if p.suffix in (".png", ".svg", ".csv", ".html")])
    return written


def _caption(stem: str, sweep: Sweep, shown: str) -> str:
    from truce_sim.sweeps.figures import label

    paths, metric = sweep.paths, label(shown)
    if stem == "sweep_metrics":
        return f"Each metric against {paths[0]} with its 95% interval"
    if stem == "sweep_heatmap":
        return f"{metric} over {paths[0]} and {paths[1]}"
    if stem == "sweep_lines":
        return f"{metric} against {paths[0]}, one line per value of {paths[1]}"
    return f"Main effect of each lever on {metric}"
