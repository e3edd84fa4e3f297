"""Comparing runs: what differs between them, and how much their truces' survival differs.

Every run is compared with the first. Runs with the same seed share their worlds (common random
numbers: replicate r is the same world in each), so their differences are paired world by world,
which is far more precise than comparing two independent samples; runs with different seeds are
independent samples, compared as such (and by a log-rank test). See ``compare_runs``.
"""

from __future__ import annotations

import csv
import itertools
import math
import warnings
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_numeric_dtype

from truce_sim.core.scenario import (
    ScenarioError,
    one_line,
    open_input_file,
    parse_yaml,
    path_exists,
    read_json_file,
    read_text_file,
    short_repr,
)
from truce_sim.runs.survival import SURVIVAL_DAYS, Z95

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


BOOTSTRAP_RESAMPLES = 1000
BOOTSTRAP_SEED = 20240601  # fixed: the same runs always give the same intervals
RUN_FIELDS = ("seed", "worlds", "steps")  # what a run was run with, shown before the scenario's fields
# The resolved scenario's own seed, replicates and horizon are its defaults, which --seed, -n and
# --steps override: the run's seed, worlds and steps (from its summary) stand in for them.
SHADOWED = ("seed", "replicates", "horizon_days")
HEADLINE_DAY = 90
NOT_SHOWN_SAME_SEED = (
    "same seed {seed}, so replicate r is the same world in both runs (common random numbers) and the two "
    "samples are not independent, as the log-rank test assumes; the paired differences measure the difference"
)


@dataclass
class Run:
    """A finished run as compare reads it."""

    path: Path
    label: str
    summary: dict
    rows: pd.DataFrame
    scenario: dict | None  # the resolved scenario (scenario.yaml), None for a run without one

    @property
    def seed(self):
        return self.summary["seed"]

    @property
    def worlds(self) -> int:
        return int(self.summary["replicates"])

    @property
    def steps(self) -> int:
        steps = self.summary.get("steps")
        if _is_number(steps) and steps >= 0:
            return int(steps)
        return int(self.rows["survival_days"].max())  # a summary from before steps was recorded

    def fields(self) -> dict[str, object]:
        """seed, worlds, steps, then every field of the resolved scenario by dotted path."""
        out: dict[str, object] = {"seed": self.seed, "worlds": self.worlds, "steps": self.steps}
        posterior = self.summary.get("posterior")
        if isinstance(posterior, dict):
            out["posterior"] = f"{posterior.get('source')} (sha256 {str(posterior.get('sha256'))[:12]})"
        if self.scenario is not None:
            out.update((k, v) for k, v in flatten(self.scenario).items() if k not in SHADOWED)
        return out


@dataclass
class Comparison:
    """What ``compare_runs`` found: the tables it wrote and the lines for the console."""

    out_dir: Path
    fields: pd.DataFrame
    differences: pd.DataFrame
    logrank: pd.DataFrame
    headline: list[str]
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def flatten(data, prefix: str = "") -> dict[str, object]:
    """A nested mapping as {dotted.path: value}; lists of mappings (events) by index, lists of
    plain values kept whole."""
    out: dict[str, object] = {}
    if isinstance(data, dict):
        if not data and prefix:
            out[prefix] = {}
        for key, value in data.items():
            out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(data, list) and any(isinstance(v, (dict, list)) for v in data):
        if not data and prefix:
            out[prefix] = []
        for i, value in enumerate(data):
            out.update(flatten(value, f"{prefix}.{i}"))
    else:
        out[prefix] = data
    return out


def _read_resolved(run_dir: Path) -> dict | None:
    path = run_dir / "scenario.yaml"
    if not path_exists(path):
        return None
    source = one_line(path)
    data, _ = parse_yaml(read_text_file(path, source, "a run's resolved scenario.yaml is a few KB"), source)
    if not isinstance(data, dict):
        raise ScenarioError(f"{source}: not a run's resolved scenario (a YAML mapping is expected)")
    return data


def _world_ids(rows: pd.DataFrame, source: Path) -> np.ndarray:
    """Each world's replicate id (its row number in a table without the column)."""
    if "replicate" not in rows.columns:
        return np.arange(len(rows))
    ids = rows["replicate"]
    if not (is_numeric_dtype(ids) and not is_bool_dtype(ids) and (ids == ids.round()).all()):
        raise ScenarioError(f"{one_line(source)}: replicate must be a whole number in every line (a damaged file?)")
    ids = ids.to_numpy(dtype=np.int64)
    if len(np.unique(ids)) < len(ids):
        raise ScenarioError(f"{one_line(source)}: a replicate id repeats (a mixed-up file?)")
    return ids


def _fmt_value(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def differing_fields(runs: list[Run]) -> pd.DataFrame:
    """A row per field whose value differs between the runs (a column per run; '-' where a run
    lacks the field)."""
    tables = [r.fields() for r in runs]
    keys = list(dict.fromkeys(k for t in tables for k in t))
    missing = object()
    rows = []
    for key in keys:
        values = [t.get(key, missing) for t in tables]
        if any(v != values[0] for v in values[1:]):
            rows.append(
                {
                    "field": key,
                    **{r.label: "-" if v is missing else _fmt_value(v) for r, v in zip(runs, values, strict=True)},
                }
            )
    return pd.DataFrame(rows, columns=["field", *[r.label for r in runs]])


def _same_run(a: Run, b: Run) -> bool:
    return (
        a.seed == b.seed
        and a.steps == b.steps
        and a.scenario == b.scenario
        and (a.scenario is not None or a.summary == b.summary)
        and a.rows.equals(b.rows)
    )


# ------------------------------------------------------------------------------------------------
# the statistics
# ------------------------------------------------------------------------------------------------
def _cut(rows: pd.DataFrame, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """(days, collapsed) of each world, seen only up to ``horizon``: a truce that broke later held
    at the horizon."""
    days = rows["survival_days"].to_numpy(dtype=np.int64)
    collapsed = rows["collapsed"].to_numpy(dtype=bool)
    later = days > horizon
    return np.where(later, horizon, days), collapsed & ~later


def _held(days: np.ndarray, collapsed: np.ndarray, day: int) -> np.ndarray:
    """1 for each world still in its first truce on ``day``, else 0."""
    return (~(collapsed & (days <= day))).astype(float)


def _km_median(days: np.ndarray, collapsed: np.ndarray, weights: np.ndarray, width: int) -> float:
    """The Kaplan-Meier median (the first day survival reaches 0.5; inf if it never does) of worlds
    each counted ``weights`` times, as lifelines computes it."""
    events = np.bincount(days, weights=weights * collapsed, minlength=width)
    exits = np.bincount(days, weights=weights, minlength=width)
    at_risk = weights.sum() - np.concatenate(([0.0], np.cumsum(exits)[:-1]))
    with np.errstate(divide="ignore", invalid="ignore"):
        survival = np.cumprod(np.where(at_risk > 0, 1.0 - events / np.maximum(at_risk, 1e-300), 1.0))
    below = np.flatnonzero(survival <= 0.5)
    return float(below[0]) if below.size else math.inf


def _percentile_interval(values: np.ndarray) -> tuple[float, float]:
    ordered = np.sort(values)
    n = len(ordered)
    return float(ordered[int(math.floor(0.025 * n))]), float(ordered[int(math.ceil(0.975 * n)) - 1])


def _median_difference(a: tuple, b: tuple, paired: bool, horizon: int) -> dict:
    """Median survival of b minus a's, with a bootstrap 95% percentile interval: worlds resampled
    in pairs (paired) or each run on its own (independent), with a fixed seed."""
    width = horizon + 1
    ma = _km_median(a[0], a[1], np.ones(len(a[0])), width)
    mb = _km_median(b[0], b[1], np.ones(len(b[0])), width)
    out = {"a": ma, "b": mb, "estimate": mb - ma, "lo": math.nan, "hi": math.nan, "note": ""}
    if not (math.isfinite(ma) and math.isfinite(mb)):
        unreached = [n for n, m in (("the first run", ma), ("this run", mb)) if not math.isfinite(m)]
        out["estimate"] = math.nan
        out["note"] = f"over half the truces hold to day {horizon} in {' and '.join(unreached)}: no median"
        return out
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    diffs = np.empty(BOOTSTRAP_RESAMPLES)
    if paired:
        # resampling worlds in pairs = multinomial counts over the distinct (a, b) outcomes
        kinds, inverse = np.unique(np.column_stack([a[0], a[1], b[0], b[1]]), axis=0, return_inverse=True)
        share = np.bincount(inverse.ravel()) / len(inverse)
        n = len(a[0])
        for k in range(BOOTSTRAP_RESAMPLES):
            w = rng.multinomial(n, share).astype(float)
            diffs[k] = _km_median(kinds[:, 2], kinds[:, 3].astype(bool), w, width) - _km_median(
                kinds[:, 0], kinds[:, 1].astype(bool), w, width
            )
    else:
        sides = []
        for days, collapsed in (a, b):
            kinds, inverse = np.unique(np.column_stack([days, collapsed]), axis=0, return_inverse=True)
            sides.append((kinds, np.bincount(inverse.ravel()) / len(inverse), len(days)))
        for k in range(BOOTSTRAP_RESAMPLES):
            m = [
                _km_median(kinds[:, 0], kinds[:, 1].astype(bool), rng.multinomial(n, share).astype(float), width)
                for kinds, share, n in sides
            ]
            diffs[k] = m[1] - m[0]
    undefined = int(np.isnan(diffs).sum())  # both medians beyond the horizon in a resample
    if undefined:
        out["note"] = f"both medians lie beyond day {horizon} in {undefined} of {BOOTSTRAP_RESAMPLES} resamples"
        return out
    out["lo"], out["hi"] = _percentile_interval(diffs)  # +-inf: a median beyond the horizon
    if not (math.isfinite(out["lo"]) and math.isfinite(out["hi"])):
        out["note"] = f"a median beyond day {horizon} in some resamples: the interval is open"
    return out


def _hazard_ratio(a: tuple, b: tuple, ids: np.ndarray | None) -> dict:
    """Cox hazard ratio of collapse, b against a, with its 95% interval: robust variance clustered
    on the replicate id when the worlds are paired (``ids``), the model's own otherwise."""
    from lifelines import CoxPHFitter

    out = {"estimate": math.nan, "lo": math.nan, "hi": math.nan, "note": ""}
    none = [n for n, (_, c) in (("the first run", a), ("this run", b)) if not c.any()]
    if none:
        out["note"] = f"no collapse in {' or '.join(none)}: no hazard ratio"
        return out
    data = pd.DataFrame(
        {
            "days": np.concatenate([a[0], b[0]]).clip(min=1),  # a day-0 collapse counts as day 1
            "collapsed": np.concatenate([a[1], b[1]]).astype(int),
            "run": np.repeat([0, 1], [len(a[0]), len(b[0])]),
        }
    )
    if ids is not None:
        data["world"] = np.concatenate([ids, ids])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = CoxPHFitter().fit(data, "days", "collapsed", cluster_col="world" if ids is not None else None)
    except Exception as exc:  # lifelines' ConvergenceError and linear-algebra failures
        out["note"] = f"the Cox fit failed ({one_line(str(exc))[:120]})"
        return out
    row = fit.summary.loc["run"]
    out.update(
        estimate=float(row["exp(coef)"]), lo=float(row["exp(coef) lower 95%"]), hi=float(row["exp(coef) upper 95%"])
    )
    return out


def compare_pair(first: Run, other: Run, horizon: int) -> list[dict]:
    """The differences of ``other`` against ``first`` up to day ``horizon``: survival at the
    survival days, the median and the hazard ratio, each with a 95% interval; paired world by
    world when the seeds are equal."""
    paired = first.seed == other.seed
    ids_a = _world_ids(first.rows, first.path / "replicates.csv")
    ids_b = _world_ids(other.rows, other.path / "replicates.csv")
    full_a, full_b = _cut(first.rows, horizon), _cut(other.rows, horizon)
    common = np.intersect1d(ids_a, ids_b)
    if paired and len(common) < 2:
        paired = False  # no worlds in common to pair
    if paired:
        pos_a = pd.Index(ids_a).get_indexer(common)
        pos_b = pd.Index(ids_b).get_indexer(common)
        a = (full_a[0][pos_a], full_a[1][pos_a])
        b = (full_b[0][pos_b], full_b[1][pos_b])
    else:
        a, b = full_a, full_b
    base = {
        "run": other.label,
        "against": first.label,
        "paired": paired,
        "worlds_first": len(a[0]),
        "worlds_this": len(b[0]),
    }
    days = [t for t in SURVIVAL_DAYS if t <= horizon] or [horizon]
    rows = []
    for t in days:
        ha, hb = _held(*a, t), _held(*b, t)
        pa, pb = float(ha.mean()), float(hb.mean())
        va, vb = (float(np.var(h, ddof=1)) if len(h) > 1 else 0.0 for h in (ha, hb))
        unpaired = Z95 * math.sqrt(va / len(ha) + vb / len(hb))
        if paired:
            d = hb - ha
            half = Z95 * float(np.std(d, ddof=1)) / math.sqrt(len(d))
        else:
            half = unpaired
        rows.append(
            {
                **base,
                "measure": f"survival at {t} days",
                "first": pa,
                "this": pb,
                "difference": pb - pa,
                "lo": pb - pa - half,
                "hi": pb - pa + half,
                "unpaired_lo": pb - pa - unpaired,
                "unpaired_hi": pb - pa + unpaired,
                "note": "",
            }
        )
    med = _median_difference(a, b, paired, horizon)
    rows.append(
        {
            **base,
            "measure": "median survival (days)",
            "first": med["a"] if math.isfinite(med["a"]) else math.nan,
            "this": med["b"] if math.isfinite(med["b"]) else math.nan,
            "difference": med["estimate"],
            "lo": med["lo"],
            "hi": med["hi"],
            "unpaired_lo": math.nan,
            "unpaired_hi": math.nan,
            "note": med["note"]
            or f"bootstrap, {BOOTSTRAP_RESAMPLES} resamples of the worlds" + (" in pairs" if paired else ""),
        }
    )
    hr = _hazard_ratio(a, b, common if paired else None)
    rows.append(
        {
            **base,
            "measure": "hazard ratio of collapse",
            "first": math.nan,
            "this": math.nan,
            "difference": hr["estimate"],
            "lo": hr["lo"],
            "hi": hr["hi"],
            "unpaired_lo": math.nan,
            "unpaired_hi": math.nan,
            "note": hr["note"]
            or ("Cox, robust variance clustered on the replicate id" if paired else "Cox, independent samples"),
        }
    )
    return rows


def logrank_tests(runs: list[Run], horizons: dict[tuple[int, int], int]) -> tuple[pd.DataFrame, list[str]]:
    """A log-rank test between each pair of runs with different seeds (independent samples), up
    to their common horizon; for each same-seed pair, why it is not shown."""
    from lifelines.statistics import logrank_test

    tests, skipped = [], []
    for (i, a), (j, b) in itertools.combinations(enumerate(runs), 2):
        if a.seed == b.seed:
            skipped.append(f"{a.label} and {b.label}: " + NOT_SHOWN_SAME_SEED.format(seed=a.seed))
            continue
        horizon = horizons[i, j]
        (da, ca), (db, cb) = _cut(a.rows, horizon), _cut(b.rows, horizon)
        res = logrank_test(da, db, ca, cb)
        tests.append(
            {
                "run_a": a.label,
                "run_b": b.label,
                "logrank_statistic": float(res.test_statistic),
                "p_value": float(res.p_value),
                "median_a": a.summary["median_survival_days"],
                "median_b": b.summary["median_survival_days"],
                "worlds_a": len(a.rows),
                "worlds_b": len(b.rows),
                "days": horizon,
            }
        )
    columns = ["run_a", "run_b", "logrank_statistic", "p_value", "median_a", "median_b", "worlds_a", "worlds_b", "days"]
    return pd.DataFrame(tests, columns=columns), skipped


# ------------------------------------------------------------------------------------------------
# reading, checking and writing
# ------------------------------------------------------------------------------------------------
def load_runs(run_dirs: list[str | Path]) -> list[Run]:
    """The runs to compare, or a one-line ScenarioError: fewer than two, one given twice, a
    damaged file, or two that are the same run (same seed, resolved scenario and worlds)."""
    run_dirs = [Path(d) for d in run_dirs]
    if len(run_dirs) < 2:
        raise ScenarioError("compare: give at least two run dirs")
    if len({d.resolve() for d in run_dirs}) < len(run_dirs):
        raise ScenarioError("compare: the same run dir is given twice; compare a run with another")
    labels = [d.name for d in run_dirs]
    if len(set(labels)) < len(labels):
        labels = [str(d) for d in run_dirs]
    runs = []
    for d, label in zip(run_dirs, labels, strict=True):
        summary, rows = load_run(d)
        _world_ids(rows, d / "replicates.csv")
        runs.append(Run(d, label, summary, rows, _read_resolved(d)))
    for a, b in itertools.combinations(runs, 2):
        if _same_run(a, b):
            raise ScenarioError(
                f"compare: {one_line(a.path)} and {one_line(b.path)} are the same run (same seed {a.seed}, "
                "resolved scenario and worlds); compare a run with another"
            )
    return runs


def _signed(value: float, digits: int = 3) -> str:
    return "-" if not math.isfinite(value) else f"{value:+.{digits}f}"


def _interval(lo: float, hi: float, digits: int = 3, signed: bool = True) -> str:
    if math.isnan(lo) or math.isnan(hi):
        return ""
    show = (lambda v: _signed(v, digits)) if signed else (lambda v: f"{v:.{digits}g}")
    text = [("-inf" if v < 0 else "inf") if math.isinf(v) else show(v) for v in (lo, hi)]
    return f" [{text[0]}, {text[1]}]"


def headline_lines(runs: list[Run], fields: pd.DataFrame, differences: pd.DataFrame) -> list[str]:
    """For each run against the first: the fields that differ, survival at 90 days (or the last
    day compared) and the hazard ratio, each with its 95% interval."""
    first = runs[0]
    lines = []
    for run in runs[1:]:
        changed = [
            f"{name}={value}"
            for name, value, base in zip(fields["field"], fields[run.label], fields[first.label], strict=True)
            if value != base
        ]
        mine = differences[differences["run"] == run.label]
        survival = mine[mine["measure"].str.startswith("survival at")]
        days = survival["measure"].str.extract(r"(\d+)")[0].astype(int)
        pick = survival[days == HEADLINE_DAY] if (days == HEADLINE_DAY).any() else survival.iloc[[-1]]
        s = pick.iloc[0]
        hr = mine[mine["measure"] == "hazard ratio of collapse"].iloc[0]
        kind = "paired" if s["paired"] else "independent"
        hr_text = (
            f"hazard ratio {hr['difference']:.3g}{_interval(hr['lo'], hr['hi'], signed=False)}"
            if math.isfinite(hr["difference"])
            else f"hazard ratio: {hr['note']}"
        )
        lines.append(
            f"{run.label} vs {first.label}: "
            + (", ".join(changed) if changed else "no field differs")
            + f"; {s['measure']} {s['first']:.3f} -> {s['this']:.3f}, {kind} difference "
            + f"{_signed(s['difference'])}{_interval(s['lo'], s['hi'])}; {hr_text}"
        )
    return lines


def compare_runs(run_dirs: list[str | Path] | list[Run], out_dir: str | Path) -> Comparison:
    """Compare each run with the first and write into ``out_dir`` (atomically): fields.csv (the
    fields that differ), differences.csv (survival at 30/90/180/365 days, median survival and the
    hazard ratio, each against the first run with a 95% interval, paired when the seeds are
    equal), compare.csv (log-rank tests between runs of different seeds),
    survival_compare.png/.svg and report.html."""
    from truce_sim.outputs import figures as plots
    from truce_sim.outputs.files import staged_out_dir
    from truce_sim.outputs.html import figure, page, table

    runs = run_dirs if run_dirs and isinstance(run_dirs[0], Run) else load_runs(run_dirs)
    run_dirs = [r.path for r in runs]
    labels = [r.label for r in runs]
    warned = []
    if len({r.steps for r in runs}) > 1:
        steps = ", ".join(f"{r.label} {r.steps}" for r in runs)
        warned.append(
            f"compare: the runs have different horizons ({steps} days); survival is compared only on "
            "the days both runs of a pair simulated"
        )
    horizons = {(i, j): min(a.steps, b.steps) for (i, a), (j, b) in itertools.combinations(enumerate(runs), 2)}
    fields = differing_fields(runs)
    differences = pd.DataFrame(
        [row for j, run in enumerate(runs[1:], start=1) for row in compare_pair(runs[0], run, horizons[0, j])]
    )
    logrank, skipped = logrank_tests(runs, horizons)
    headline = headline_lines(runs, fields, differences)
    notes = [f"log-rank test not shown for {s}" for s in skipped]
    out_dir = Path(out_dir)
    with staged_out_dir(out_dir, "compare", inputs=run_dirs) as tmp:
        logrank.to_csv(tmp / "compare.csv", index=False)
        differences.to_csv(tmp / "differences.csv", index=False)
        fields.to_csv(tmp / "fields.csv", index=False)
        fig, ax = plots.plt.subplots(figsize=(8, 4.8))
        curves = [
            (
                r.rows,
                f"{r.label} ({r.summary['scenario']}, {len(r.rows)} worlds)",
                plots.PALETTE[k % len(plots.PALETTE)],
            )
            for k, r in enumerate(runs)
        ]
        plots.survival_axes(ax, curves, "Truce survival compared (Kaplan-Meier, 95% bands)")
        ax.legend(frameon=False, fontsize=8)
        plots.save(fig, tmp, "survival_compare")
        summaries = pd.DataFrame(
            [
                {
                    "run": r.label,
                    "scenario": r.summary["scenario"],
                    "worlds": r.worlds,
                    "seed": r.seed,
                    "days": r.steps,
                    "median survival (days)": r.summary["median_survival_days"],
                    **{f"survival at {d}": v["p"] for d, v in r.summary["survival_at"].items()},
                    "collapsed": r.summary["collapse_share"],
                }
                for r in runs
            ]
        )
        links = "".join(
            f"<li><a href='{escape(quote(str(Path('..') / d.name if d.parent == out_dir.parent else d.resolve())))}"
            f"/report.html'>{escape(name)}</a></li>"
            for d, name in zip(run_dirs, labels, strict=False)
        )
        shown = differences.assign(paired=differences["paired"].map({True: "paired", False: "independent"}))
        warn_html = "".join(f"<p class='caveat'>{escape(w)}</p>" for w in warned)
        html = page(
            "Truce survival compared",
            [
                ("In brief", warn_html + "<ul>" + "".join(f"<li>{escape(line)}</li>" for line in headline) + "</ul>"),
                ("Survival curves", figure("survival_compare", "Kaplan-Meier survival of each run with its 95% band")),
                ("The runs", table(summaries) + f"<ul>{links}</ul>"),
                (
                    "Fields that differ",
                    (table(fields) if len(fields) else "<p>No field differs.</p>")
                    + "<p class='note'>From each run's resolved scenario.yaml, by dotted path; seed, worlds "
                    "and steps are what the run was run with. <a href='fields.csv'>fields.csv</a></p>",
                ),
                (
                    "Differences against the first run",
                    table(shown)
                    + "<p class='note'>Each run minus the first, with a 95% interval. Runs with the same seed "
                    "share their worlds (replicate r is the same world in each), so the difference is paired "
                    "world by world: for survival at day t, the mean of the per-world differences of "
                    "'still in its first truce on day t' +- 1.96 sd/sqrt(n); for the median, a bootstrap of "
                    "the worlds in pairs. unpaired_lo/hi give the interval two independent samples of the same "
                    "sizes would have. The hazard ratio (Cox) is the collapse hazard of the run against the "
                    "first's, with robust variance clustered on the replicate id when paired. "
                    "<a href='differences.csv'>differences.csv</a></p>",
                ),
                (
                    "Log-rank tests between runs of different seeds",
                    (table(logrank) if len(logrank) else "")
                    + "".join(f"<p class='note'>Not shown for {escape(s)}.</p>" for s in skipped)
                    + "<p class='note'>A small p-value says the two survival curves differ beyond chance.</p>"
                    "<p><a href='compare.csv'>compare.csv</a></p>",
                ),
            ],
        )
        (tmp / "report.html").write_text(html, encoding="utf-8")
    return Comparison(out_dir, fields, differences, logrank, headline, warned, notes)
