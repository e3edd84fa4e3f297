"""Comparing runs: their survival curves on one chart and a log-rank test between each pair."""

from __future__ import annotations

import csv
import itertools
from html import escape
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_numeric_dtype

from truce_sim.core.scenario import ScenarioError, one_line, open_input_file, path_exists, read_json_file, short_repr

MAX_SUMMARY_BYTES = 16 * 2**20
MAX_REPLICATES_BYTES = 4 * 2**30  # 10 million worlds (the most a run takes) at up to 400 bytes each
SUMMARY_KEYS = ("scenario", "replicates", "seed", "median_survival_days", "survival_at", "collapse_share")


def load_run(run_dir: Path) -> tuple[dict, pd.DataFrame]:
    """A run's summary.json and replicates.csv, or a one-line ScenarioError naming the file and
    what is wrong with it."""
    run_dir = Path(run_dir)
    summary_path, rows_path = run_dir / "summary.json", run_dir / "replicates.csv"
    if not (path_exists(summary_path) and path_exists(rows_path)):
        raise ScenarioError(f"{one_line(run_dir)}: not a run's out dir (no summary.json and replicates.csv)")
    summary = _read_summary(summary_path)
    rows = _read_replicates(rows_path)
    if len(rows) != summary["replicates"]:
        raise ScenarioError(
            f"{one_line(rows_path)}: {len(rows)} worlds, but summary.json says {summary['replicates']} "
            "(a cut or mixed-up file?)"
        )
    return summary, rows


def _read_summary(path: Path) -> dict:
    source = one_line(path)
    summary = read_json_file(path, source, MAX_SUMMARY_BYTES, "a run's summary.json is a few KB")
    if not isinstance(summary, dict):
        raise ScenarioError(f"{source}: not a run's summary (a JSON object is expected)")
    missing = [k for k in SUMMARY_KEYS if k not in summary]
    if missing:
        raise ScenarioError(f"{source}: not a run's summary (no {', '.join(missing)})")
    replicates, survival = summary["replicates"], summary["survival_at"]
    if isinstance(replicates, bool) or not isinstance(replicates, int) or replicates < 1:
        raise ScenarioError(f"{source}: replicates must be a whole number of worlds, got {short_repr(replicates)}")
    if not isinstance(survival, dict) or not all(
        isinstance(v, dict) and _is_number(v.get("p")) for v in survival.values()
    ):
        raise ScenarioError(f"{source}: survival_at must map days to {{p, lo, hi}}, got {short_repr(survival)}")
    for key in ("median_survival_days", "collapse_share"):
        if not (_is_number(summary[key]) or (key == "median_survival_days" and summary[key] is None)):
            raise ScenarioError(f"{source}: {key} must be a number, got {short_repr(summary[key])}")
    return summary


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _read_replicates(path: Path) -> pd.DataFrame:
    source = one_line(path)
    hint = "a run's replicates.csv holds about 200 bytes a world"
    with open_input_file(path, source, MAX_REPLICATES_BYTES, hint) as fh:
        try:
            rows = pd.read_csv(fh, keep_default_na=False)
        except UnicodeDecodeError as exc:
            raise ScenarioError(f"{source}: not a UTF-8 text file ({exc.reason} at byte {exc.start})") from None
        except pd.errors.EmptyDataError:
            raise ScenarioError(f"{source}: empty; a run's replicates.csv has a header and a line per world") from None
        except (ValueError, OverflowError, csv.Error) as exc:  # pandas' ParserError is a ValueError
            raise ScenarioError(f"{source}: not a valid CSV table ({one_line(str(exc).strip())[:200]})") from None
    missing = [c for c in ("survival_days", "collapsed") if c not in rows.columns]
    if missing:
        raise ScenarioError(f"{source}: no column {', '.join(missing)}; not a run's replicates.csv")
    if rows.empty:
        raise ScenarioError(f"{source}: no worlds (a header only)")
    days, collapsed = rows["survival_days"], rows["collapsed"]
    if not (is_numeric_dtype(days) and not is_bool_dtype(days) and np.isfinite(days).all() and (days >= 0).all()):
        raise ScenarioError(
            f"{source}: survival_days must be a number of days >= 0 in every line (a cut or damaged file?)"
        )
    if not is_bool_dtype(collapsed):
        raise ScenarioError(f"{source}: collapsed must be True or False in every line (a cut or damaged file?)")
    return rows


def compare_runs(run_dirs: list[str | Path], out_dir: str | Path) -> Path:
    """Write compare.csv, survival_compare.png/.svg and report.html into ``out_dir`` (atomically)."""
    from lifelines.statistics import logrank_test

    from truce_sim.outputs import figures as plots
    from truce_sim.outputs.files import staged_out_dir
    from truce_sim.outputs.html import figure, page, table

    run_dirs = [Path(d) for d in run_dirs]
    if len(run_dirs) < 2:
        raise ScenarioError("compare: give at least two run dirs")
    if len({d.resolve() for d in run_dirs}) < len(run_dirs):
        raise ScenarioError("compare: the same run dir is given twice; compare a run with another")
    runs = [load_run(d) for d in run_dirs]
    labels = [d.name for d in run_dirs]
    if len(set(labels)) < len(labels):
        labels = [str(d) for d in run_dirs]
    tests = []
    for (i, (sa, ra)), (j, (sb, rb)) in itertools.combinations(enumerate(runs), 2):
        res = logrank_test(ra["survival_days"], rb["survival_days"], ra["collapsed"], rb["collapsed"])
        tests.append(
            {
                "run_a": labels[i],
                "run_b": labels[j],
                "logrank_statistic": float(res.test_statistic),
                "p_value": float(res.p_value),
                "median_a": sa["median_survival_days"],
                "median_b": sb["median_survival_days"],
                "worlds_a": len(ra),
                "worlds_b": len(rb),
            }
        )
    table_frame = pd.DataFrame(tests)
    out_dir = Path(out_dir)
    with staged_out_dir(out_dir, "compare", inputs=run_dirs) as tmp:
        table_frame.to_csv(tmp / "compare.csv", index=False)
        fig, ax = plots.plt.subplots(figsize=(8, 4.8))
        curves = [
            (rows, f"{name} ({summary['scenario']}, {len(rows)} worlds)", plots.PALETTE[k % len(plots.PALETTE)])
            for k, ((summary, rows), name) in enumerate(zip(runs, labels, strict=False))
        ]
        plots.survival_axes(ax, curves, "Truce survival compared (Kaplan-Meier, 95% bands)")
        ax.legend(frameon=False, fontsize=8)
        plots.save(fig, tmp, "survival_compare")
        summaries = pd.DataFrame(
            [
                {
                    "run": name,
                    "scenario": s["scenario"],
                    "worlds": s["replicates"],
                    "seed": s["seed"],
                    "median survival (days)": s["median_survival_days"],
                    **{f"survival at {d}": v["p"] for d, v in s["survival_at"].items()},
                    "collapsed": s["collapse_share"],
                }
                for (s, _), name in zip(runs, labels, strict=False)
            ]
        )
        links = "".join(
            f"<li><a href='{escape(quote(str(Path('..') / d.name if d.parent == out_dir.parent else d.resolve())))}"
            f"/report.html'>{escape(name)}</a></li>"
            for d, name in zip(run_dirs, labels, strict=False)
        )
        html = page(
            "Truce survival compared",
            [
                ("Survival curves", figure("survival_compare", "Kaplan-Meier survival of each run with its 95% band")),
                ("The runs", table(summaries) + f"<ul>{links}</ul>"),
                (
                    "Log-rank tests between each pair",
                    table(table_frame)
                    + "<p class='note'>A small p-value says the two survival curves differ beyond chance.</p>"
                    "<p><a href='compare.csv'>compare.csv</a></p>",
                ),
            ],
        )
        (tmp / "report.html").write_text(html, encoding="utf-8")
    return out_dir
