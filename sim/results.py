"""Writing a run's out dir: tables, summary, plots, the resolved scenario and a manifest.

Everything is written into a temporary sibling directory and moved into place at the end, so
an existing out dir is replaced whole or not at all, never left half-written.
"""
from __future__ import annotations

import json
import os
import platform
import shutil
import sys
import tempfile
from importlib import metadata
from pathlib import Path

from .ensemble import EnsembleResult


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for dist in ("truce-sim", "mesa", "numpy", "pandas", "lifelines", "matplotlib", "PyYAML"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


def write_run(result: EnsembleResult, out_dir: str | Path, command: list[str] | None = None,
              started: str | None = None, finished: str | None = None) -> Path:
    """Write every output of a run to ``out_dir`` atomically; return the final path."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        _write_files(result, tmp, command, started, finished)
        _replace(tmp, out_dir)
        if (out_dir / "paths").exists():
            result.paths_dir = out_dir / "paths"
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


def _write_files(result: EnsembleResult, d: Path, command, started, finished) -> None:
    from . import plots  # matplotlib is slow to import; sweeps use versions() without it

    s = result.summary
    (d / "summary.json").write_text(json.dumps(s, indent=2) + "\n", encoding="utf-8")
    result.replicates.to_csv(d / "replicates.csv", index=False)
    result.timeseries.to_csv(d / "timeseries.csv", index=False, float_format="%.6g")
    resolved = (f"# Resolved scenario: the file, its overrides and every behavioural default.\n"
                f"# Run with seed {result.seed} for {result.steps} days.\n" + result.scenario.to_yaml())
    (d / "scenario.yaml").write_text(resolved, encoding="utf-8")
    title = f"{result.scenario.name}: {s['replicates']} worlds, seed {result.seed}"
    plots.save(plots.survival_figure(result.replicates, f"Truce survival - {title}", result.steps), d, "survival")
    plots.save(plots.dynamics_figure(result.timeseries, result.factions, result.backers,
                                     f"Balance, violations and support - {title}"), d, "dynamics")
    manifest = {
        "scenario": result.scenario.name,
        "scenario_file": result.scenario.source,
        "seed": result.seed,
        "replicates": s["replicates"],
        "steps": result.steps,
        "command": command if command is not None else sys.argv,
        "started": started,
        "finished": finished,
        "versions": versions(),
        "platform": platform.platform(),
    }
    (d / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    from .report import run_report

    run_report(d, s, resolved, result.scenario)
    if result.paths_dir is not None and Path(result.paths_dir).exists():
        shutil.move(str(result.paths_dir), d / "paths")


def _replace(new: Path, target: Path) -> None:
    """Move ``new`` to ``target``; an old ``target`` is removed only once ``new`` is in place."""
    if not target.exists():
        os.replace(new, target)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
    os.replace(target, old / "dir")
    try:
        os.replace(new, target)
    except BaseException:
        os.replace(old / "dir", target)
        raise
    finally:
        shutil.rmtree(old, ignore_errors=True)
