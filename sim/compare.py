"""Comparing runs: their survival curves on one chart and a log-rank test between each pair."""
from __future__ import annotations

import itertools
import json
import shutil
import tempfile
from pathlib import Path

import pandas as pd

from .scenario import ScenarioError


def load_run(run_dir: Path) -> tuple[dict, pd.DataFrame]:
    try:
        summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
        rows = pd.read_csv(run_dir / "replicates.csv", keep_default_na=False)
    except (FileNotFoundError, NotADirectoryError):
        raise ScenarioError(f"{run_dir}: not a run's out dir (no summary.json and replicates.csv)") from None
    except (ValueError, json.JSONDecodeError) as exc:
        raise ScenarioError(f"{run_dir}: unreadable results ({exc})") from None
    return summary, rows


def compare_runs(run_dirs: list[str | Path], out_dir: str | Path) -> Path:
    """Write compare.csv, survival_compare.png/.svg and report.html into ``out_dir`` (atomically)."""
    from lifelines.statistics import logrank_test

    from . import plots
    from .report import figure, page, table
    from .results import _replace
    from .survival import kaplan_meier

    run_dirs = [Path(d) for d in run_dirs]
    if len(run_dirs) < 2:
        raise ScenarioError("compare: give at least two run dirs")
    runs = [load_run(d) for d in run_dirs]
    labels = [d.name for d in run_dirs]
    if len(set(labels)) < len(labels):
        labels = [str(d) for d in run_dirs]
    tests = []
    for (i, (sa, ra)), (j, (sb, rb)) in itertools.combinations(enumerate(runs), 2):
        res = logrank_test(ra["survival_days"], rb["survival_days"], ra["collapsed"], rb["collapsed"])
        tests.append({"run_a": labels[i], "run_b": labels[j], "logrank_statistic": float(res.test_statistic),
                      "p_value": float(res.p_value), "median_a": sa["median_survival_days"],
                      "median_b": sb["median_survival_days"], "worlds_a": len(ra), "worlds_b": len(rb)})
    table_frame = pd.DataFrame(tests)
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        table_frame.to_csv(tmp / "compare.csv", index=False)
        fig, ax = plots.plt.subplots(figsize=(8, 4.8))
        for k, ((summary, rows), name) in enumerate(zip(runs, labels)):
            colour = plots.PALETTE[k % len(plots.PALETTE)]
            kaplan_meier(rows, label=f"{name} ({summary['scenario']}, {len(rows)} worlds)").plot_survival_function(
                ax=ax, ci_show=True, color=colour, ci_alpha=0.2, show_censors=False)
        ax.axhline(0.5, color="0.5", lw=0.8, ls=":")
        ax.set(xlabel="days since the truce began", ylabel="share of worlds whose truce holds", ylim=(0, 1.02),
               title="Truce survival compared (Kaplan-Meier, 95% bands)")
        ax.grid(alpha=0.3)
        ax.legend(frameon=False, fontsize=8)
        plots.save(fig, tmp, "survival_compare")
        summaries = pd.DataFrame([{"run": name, "scenario": s["scenario"], "worlds": s["replicates"], "seed": s["seed"],
                                   "median survival (days)": s["median_survival_days"],
                                   **{f"survival at {d}": v["p"] for d, v in s["survival_at"].items()},
                                   "collapsed": s["collapse_share"]} for (s, _), name in zip(runs, labels)])
        links = "".join(f"<li><a href='{Path('..') / d.name if d.parent == out_dir.parent else d.resolve()}/report.html'>"
                        f"{name}</a></li>" for d, name in zip(run_dirs, labels))
        html = page("Truce survival compared", [
            ("Survival curves", figure("survival_compare", "Kaplan-Meier survival of each run with its 95% band")),
            ("The runs", table(summaries) + f"<ul>{links}</ul>"),
            ("Log-rank tests between each pair", table(table_frame)
             + "<p class='note'>A small p-value says the two survival curves differ beyond chance.</p>"
             "<p><a href='compare.csv'>compare.csv</a></p>")])
        (tmp / "report.html").write_text(html, encoding="utf-8")
        _replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir
