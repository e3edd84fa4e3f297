"""Writing a run's out dir: tables, summary, plots, the resolved scenario, a manifest and the report.

Everything is written into a staging directory and swapped into place at the end (see
``outputs.files``), so an existing out dir is replaced whole or not at all, and only when
truce-sim wrote it.
"""

from __future__ import annotations

import json
import platform
import shutil
import sys
from pathlib import Path

from truce_sim.outputs.files import OutDir, versions
from truce_sim.runs.ensemble import EnsembleResult


def write_run(
    result: EnsembleResult,
    out_dir: str | Path,
    command: list[str] | None = None,
    started: str | None = None,
    finished: str | None = None,
) -> Path:
    """Write every output of a run to ``out_dir`` atomically; return the final path.

    An existing ``out_dir`` is replaced only when it holds an earlier run's results and nothing
    else; otherwise an ``OutDirError`` (a ``UserError``) is raised and nothing is touched."""
    with OutDir(out_dir, "run") as out:
        write_run_files(result, out.stage(), command, started, finished)
        final = out.commit()
    if (final / "paths").exists():
        result.paths_dir = final / "paths"
    return final


def write_run_files(
    result: EnsembleResult,
    d: Path,
    command: list[str] | None = None,
    started: str | None = None,
    finished: str | None = None,
) -> None:
    """Every output of a run, written into the (staging) directory ``d``."""
    from truce_sim.outputs import figures as plots  # matplotlib is slow to import; sweeps use versions() without it

    s = result.summary
    (d / "summary.json").write_text(json.dumps(s, indent=2) + "\n", encoding="utf-8")
    result.replicates.to_csv(d / "replicates.csv", index=False)
    result.timeseries.to_csv(d / "timeseries.csv", index=False, float_format="%.6g")
    posterior = result.scenario.posterior
    drawn = (
        f"# Each world took {', '.join(posterior.constants)} from one of {posterior.draws} draws of the posterior "
        f"{posterior.source} (sha256 {posterior.sha256[:16]}...), not from the values below.\n"
        if posterior is not None
        else ""
    )
    resolved = (
        f"# Resolved scenario: the file, its overrides and scales, and every behavioural default.\n"
        f"# Run with seed {result.seed} for {result.steps} days.\n" + drawn + result.scenario.to_yaml()
    )
    (d / "scenario.yaml").write_text(resolved, encoding="utf-8")
    title = f"{result.scenario.name}: {s['replicates']} worlds, seed {result.seed}"
    band = None  # shaded when the band carries parameter uncertainty, not only the worlds' noise
    if posterior is not None and "survival_band_lo" in result.timeseries:
        band = (result.timeseries["day"], result.timeseries["survival_band_lo"], result.timeseries["survival_band_hi"])
    scenario = result.scenario
    events, start, known = scenario_markers(scenario), scenario.start_date, known_outcome(scenario)
    plots.save(
        plots.survival_figure(
            result.replicates,
            f"Truce survival - {title}",
            result.steps,
            band,
            posterior.draws if posterior else None,
            events,
            start,
            known,
        ),
        d,
        "survival",
    )
    plots.save(
        plots.dynamics_figure(
            result.timeseries,
            result.factions,
            result.backers,
            f"Balance, violations and support - {title}",
            events,
            start,
            known,
        ),
        d,
        "dynamics",
    )
    plots.save(
        plots.causes_figure(
            result.replicates,
            result.factions,
            f"How and by whom the truce ends (competing risks) - {title}",
            result.steps,
            events,
            start,
            known,
        ),
        d,
        "causes",
    )
    if result.decisions is not None:
        result.decisions.to_csv(d / "decisions.csv", index=False, float_format="%.6g")
        plots.save(
            plots.decisions_figure(result.decisions, result.factions, f"Why factions attack - {title}", events, start),
            d,
            "decisions",
        )
    manifest = {
        "scenario": result.scenario.name,
        "scenario_file": result.scenario.source,
        "seed": result.seed,
        "replicates": s["replicates"],
        "steps": result.steps,
        "posterior": posterior.record() if posterior is not None else None,
        "command": command if command is not None else sys.argv,
        "started": started,
        "finished": finished,
        "versions": versions(),
        "platform": platform.platform(),
        "label": s.get("label"),  # the what-if's name and changes, as summary.json has them
        "what_if": list(s.get("what_if") or []),
    }
    (d / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    from truce_sim.outputs.run_report import run_report

    run_report(d, s, resolved, result.scenario, result.replicates, result.decisions, result.timeseries)
    if result.paths_dir is not None and Path(result.paths_dir).exists() and Path(result.paths_dir) != d / "paths":
        shutil.move(str(result.paths_dir), d / "paths")


def known_outcome(scenario) -> str:
    """The scenario's ``known_outcome`` (what happened in the case), or ""."""
    return str(getattr(scenario, "data", {}).get("known_outcome") or "")


def scenario_markers(scenario) -> list[tuple[int, str]]:
    """(day, short label) of the scenario's scheduled events and talks, one per day, for the
    time axes of the figures."""
    by_day: dict[int, list[str]] = {}
    for e in scenario.events:
        by_day.setdefault(int(e.day), []).append(e.label or ("talks" if e.talks else "event"))
    for day in scenario.mediator.get("talks") or ():
        labels = by_day.setdefault(int(day), [])
        if not any("talks" in x for x in labels):
            labels.append("talks")
    return [(day, " / ".join(labels)) for day, labels in sorted(by_day.items())]
