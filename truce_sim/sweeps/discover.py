"""Scenario discovery: the boxes of parameter space where a condition on a metric holds.

PRIM (Friedman & Fisher 1999, via the ``PRIM`` package of Project Platypus) peels the sweep's
points down to a box whose points mostly meet the condition. Along the peeling trajectory,
coverage is the share of all points meeting the condition that lie in the box, and density the
share of the box's points that meet it. The chosen box is the one of highest coverage whose
density reaches ``min_density`` (or the densest, if none does).
"""

from __future__ import annotations

import io
import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_numeric_dtype

from truce_sim.core.scenario import ScenarioError, one_line, path_exists, read_input_bytes, read_json_file, short_repr
from truce_sim.outputs.files import staged_out_dir

MAX_SPEC_BYTES = 64 * 2**20
MAX_POINTS_BYTES = 2 * 2**30  # far above any sweep that can run: refuses only what is no sweep's points


@dataclass
class Discovery:
    metric: str
    condition: str
    threshold: float
    trajectory: pd.DataFrame
    chosen: int
    limits: dict[str, tuple[float, float]]
    coverage: float
    density: float
    points_in_box: int
    sentence: str


def load_sweep_results(sweep_dir: Path) -> tuple[list[str], pd.DataFrame]:
    """The varied paths (from sweep.json) and the points (points.parquet) of a finished sweep, or
    a one-line ScenarioError naming the file and what is wrong with it."""
    sweep_dir = Path(sweep_dir)
    spec_path, points_path = sweep_dir / "sweep.json", sweep_dir / "points.parquet"
    if not (path_exists(spec_path) and path_exists(points_path)):
        raise ScenarioError(
            f"discover: {one_line(sweep_dir)} is not a finished sweep (no sweep.json and points.parquet)"
        )
    source = one_line(spec_path)
    spec = read_json_file(spec_path, source, MAX_SPEC_BYTES, "a sweep's sweep.json is a few KB")
    vary = spec.get("vary") if isinstance(spec, dict) else None
    if not isinstance(vary, dict) or not vary or not all(isinstance(p, str) for p in vary):
        raise ScenarioError(
            f"{source}: not a sweep's description (vary must map the varied fields, got {short_repr(vary)})"
        )
    paths = list(vary)
    source = one_line(points_path)
    hint = "a sweep's points.parquet is a few hundred bytes a point"
    data = read_input_bytes(points_path, source, MAX_POINTS_BYTES, hint)
    try:
        points = pd.read_parquet(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - the bytes are in memory: any failure is the file's, not the machine's
        why = one_line(str(exc).replace("Could not open Parquet input source '<Buffer>': ", "").strip())
        raise ScenarioError(f"{source}: not a readable Parquet table ({why[:200] or type(exc).__name__})") from None
    missing = [p for p in paths if p not in points.columns]
    if missing:
        raise ScenarioError(
            f"{source}: no column {', '.join(map(one_line, missing))}, which sweep.json says "
            "was varied (points of another sweep?)"
        )
    if points.empty:
        raise ScenarioError(f"{source}: no points")
    text = [str(c) for c in points.columns if not is_numeric_dtype(points[c]) or is_bool_dtype(points[c])]
    if text:
        raise ScenarioError(
            f"{source}: not numbers in column {', '.join(map(one_line, text[:5]))}; not a sweep's points"
        )
    return paths, points


def discover(
    points: pd.DataFrame, paths: list[str], metric: str, threshold: float, above: bool = True, min_density: float = 0.8
) -> Discovery:
    """Find the box where ``metric`` is above (or below) ``threshold``."""
    import prim

    if metric not in points:
        raise ScenarioError(
            f"--metric {metric}: not a column of the sweep's points; they have "
            + ", ".join(c for c in points if not c.endswith(("_lo", "_hi")))
        )
    data = points.dropna(subset=[metric])
    x = data[paths].astype(float).reset_index(drop=True)
    y = data[metric].to_numpy(float)
    hits = y > threshold if above else y < threshold
    if hits.sum() == 0:
        raise ScenarioError(f"no point has {metric} {'above' if above else 'below'} {threshold:g}: nothing to discover")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        box = prim.Prim(x, hits.astype(float), threshold=0.5, threshold_type=">").find_box()
    trajectory = box.peeling_trajectory.rename(columns={"res dim": "restricted_dimensions"}).reset_index(drop=True)
    dense = trajectory[trajectory["density"] >= min_density]
    # highest coverage; among boxes of equal coverage the densest (the later, tighter peel)
    ranked = (dense if len(dense) else trajectory).sort_values(["coverage", "density"], ascending=False, kind="stable")
    chosen = int(ranked.index[0])
    box.select(chosen)
    limits = {str(name): (float(row["min"]), float(row["max"])) for name, row in box.limits.iterrows()}
    inside = np.ones(len(x), dtype=bool)
    for name, (lo, hi) in limits.items():
        inside &= (x[name] >= lo) & (x[name] <= hi)
    coverage = float(hits[inside].sum() / hits.sum())
    density = float(hits[inside].mean()) if inside.any() else 0.0
    condition = f"{metric} {'>' if above else '<'} {threshold:g}"
    sentence = _sentence(metric, threshold, above, density, limits, x)
    return Discovery(
        metric, condition, threshold, trajectory, chosen, limits, coverage, density, int(inside.sum()), sentence
    )


def _sentence(metric, threshold, above, density, limits, x) -> str:
    from truce_sim.sweeps.figures import label

    what = f"{label(metric)} {'exceeds' if above else 'stays below'} {_fmt(metric, threshold)}"
    conditions = []
    for name, (lo, hi) in limits.items():
        low_cut, high_cut = lo > x[name].min(), hi < x[name].max()
        if low_cut and high_cut:
            conditions.append(f"{lo:.3g} <= {name} <= {hi:.3g}")
        elif low_cut:
            conditions.append(f"{name} >= {lo:.3g}")
        elif high_cut:
            conditions.append(f"{name} <= {hi:.3g}")
    where = " and ".join(conditions) if conditions else "anywhere in the sweep (no restriction)"
    return f"{what} in {100 * density:.0f}% of the points where {where}."


def _fmt(metric: str, value: float) -> str:
    return (
        f"{100 * value:g}%"
        if metric.startswith(("survival_at_", "collapse_share", "cause_share", "breaker_share"))
        else f"{value:g}"
    )


def write_discovery(found: Discovery, sweep_dir: Path, out_dir: Path) -> Path:
    with staged_out_dir(out_dir, "discover", inputs=[sweep_dir]) as staging:
        _write_discovery_files(found, sweep_dir, staging)
    return Path(out_dir)


def _write_discovery_files(found: Discovery, sweep_dir: Path, out_dir: Path) -> None:
    """Trajectory table, chosen box, a plot and a one-line report, under ``out_dir``."""
    from truce_sim.outputs.figures import PALETTE, plt, save

    found.trajectory.to_csv(out_dir / "peeling_trajectory.csv", index_label="box")
    body = {
        "metric": found.metric,
        "condition": found.condition,
        "chosen_box": found.chosen,
        "coverage": found.coverage,
        "density": found.density,
        "points_in_box": found.points_in_box,
        "limits": {k: {"min": lo, "max": hi} for k, (lo, hi) in found.limits.items()},
        "sentence": found.sentence,
        "sweep": str(sweep_dir),
    }
    (out_dir / "discovery.json").write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    t = found.trajectory
    sc = ax.scatter(t["coverage"], t["density"], c=t["restricted_dimensions"], cmap="viridis", s=18)
    ax.plot(
        float(t["coverage"].iloc[found.chosen]),
        float(t["density"].iloc[found.chosen]),
        "o",
        ms=12,
        mfc="none",
        mec=PALETTE[1],
        mew=2,
        label=f"chosen box {found.chosen}",
    )
    fig.colorbar(sc, ax=ax, label="restricted dimensions")
    ax.set(
        xlabel="coverage (share of matching points inside the box)",
        ylabel="density (share of the box's points that match)",
        xlim=(0, 1.02),
        ylim=(0, 1.02),
        title=f"PRIM peeling trajectory: {found.condition}",
    )
    ax.legend(frameon=False)
    ax.grid(alpha=0.3)
    save(fig, out_dir, "peeling_trajectory")
    from truce_sim.outputs.html import figure, page, table

    limits = pd.DataFrame([{"parameter": k, "min": lo, "max": hi} for k, (lo, hi) in found.limits.items()])
    html = page(
        f"Scenario discovery: {found.condition}",
        [
            (
                "Finding",
                f"<p><b>{found.sentence}</b></p><p>Coverage {found.coverage:.2f}, density {found.density:.2f}, "
                f"{found.points_in_box} points in the box.</p>",
            ),
            ("Box limits", table(limits) if len(limits) else "<p>No restriction.</p>"),
            (
                "Peeling trajectory",
                figure("peeling_trajectory", "coverage against density along the peeling trajectory")
                + "<p><a href='peeling_trajectory.csv'>peeling_trajectory.csv</a></p>",
            ),
        ],
    )
    (out_dir / "report.html").write_text(html, encoding="utf-8")
