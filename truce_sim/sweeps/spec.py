"""Sweep files and designs: which scenarios a sweep runs.

A sweep is a base scenario, a number of worlds per point, a seed, the fields to vary (by dotted
path; ``scale.PATH`` varies a factor of the field, which multiplies the values events give it too,
as ``--scale`` does) and a design that turns them into points: ``grid`` (full factorial), ``lhs`` (Latin
hypercube), ``sobol`` (Saltelli/Sobol sampling) or ``morris`` (elementary-effect trajectories),
the last three via SALib. Every point runs with the same seed: common random numbers, so that
differences between points are the levers' and not chance's.

Mistakes are :class:`~sim.scenario.ScenarioError` with one line, like scenario files.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from truce_sim.core.scenario import (
    SCALE_PREFIX,
    SECTIONS,
    Field,
    ScaleError,
    Scenario,
    ScenarioError,
    Validator,
    did_you_mean,
    field_for,
    load_scenario,
    one_line,
    parse_yaml,
    path_exists,
    read_text_file,
    resolve_scenario,
    scale_targets,
)
from truce_sim.core.schema import ID_PATTERN
from truce_sim.core.version import model_fingerprint
from truce_sim.runs.survival import SURVIVAL_DAYS

DESIGNS = ("grid", "lhs", "sobol", "morris")
SWEEP_KEYS = (
    "name",
    "description",
    "base",
    "replicates",
    "seed",
    "steps",
    "design",
    "n",
    "vary",
    "metrics",
    "morris_levels",
    "heatmap_metric",
)
MAX_POINTS = 10_000
SWEEP_FILE = "a sweep file is a few KB"
SCENARIO_OR_SWEEP_FILE = "a scenario or sweep file is a few KB"
BUILTIN_SWEEPS = Path(str(resources.files("truce_sim.sweeps") / "examples"))


@dataclass
class Sweep:
    """A validated sweep."""

    name: str
    base: Scenario
    base_path: str
    replicates: int
    seed: int
    steps: int
    design: str
    n: int | None
    vary: dict[str, dict]  # path -> {"values": [...]} or {"lo": x, "hi": y}
    metrics: list[str]
    description: str = ""
    morris_levels: int = 4
    source: str = "<sweep>"
    points: pd.DataFrame = field(default=None, repr=False)
    notes: list[str] = field(default_factory=list)  # things a user should know, not errors
    heatmap_metric: str | None = None  # the metric of the one-metric figures (default: figures.headline)

    @property
    def paths(self) -> list[str]:
        return list(self.vary)

    def problem(self) -> dict:
        """The SALib problem: names and bounds of the varied fields."""
        return {
            "num_vars": len(self.vary),
            "names": self.paths,
            "bounds": [[v["lo"], v["hi"]] for v in self.vary.values()],
        }

    def spec(self) -> dict:
        """The resolved sweep as plain data (written to sweep.json; its hash guards --resume)."""
        return {
            "name": self.name,
            "description": self.description,
            "base": self.base_path,
            "replicates": self.replicates,
            "seed": self.seed,
            "steps": self.steps,
            "design": self.design,
            "n": self.n,
            "morris_levels": self.morris_levels,
            "vary": self.vary,
            "metrics": self.metrics,
            "heatmap_metric": self.heatmap_metric,
            "points": len(self.points),
            "base_scenario": self.base.to_yaml_dict(),
        }

    def fingerprint(self) -> str:
        """A hash of what the sweep computes. The base file's path is left out (its content is
        in): the same sweep named by another path, or run from another folder, is the same; so is
        the metric the figures show, which changes no point."""
        spec = {k: v for k, v in self.spec().items() if k not in ("base", "heatmap_metric")}
        return hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()[:16]

    def full_fingerprint(self) -> str:
        """The fingerprint of the sweep and of the model that computes it: points saved under
        another one came from another sweep or another version of the model."""
        return f"{self.fingerprint()}-{model_fingerprint()}"

    def point_scenario(self, index: int) -> Scenario:
        row = self.points.iloc[index]
        return self.base.with_values({p: float(row[p]) for p in self.paths})


def metric_names(scenario: Scenario, steps: int) -> list[str]:
    """Every metric a sweep of this scenario can record."""
    names = [f"survival_at_{d}" for d in SURVIVAL_DAYS if d <= steps]
    names += [
        "median_survival_days",
        "collapse_share",
        "mean_violations_per_day",
        "cause_share_offensive",
        "cause_share_violation_spiral",
    ]
    names += [f"breaker_share_{f}" for f in scenario.factions]
    return names


def default_metrics(steps: int) -> list[str]:
    return [f"survival_at_{d}" for d in SURVIVAL_DAYS if d <= steps] + [
        "median_survival_days",
        "collapse_share",
        "mean_violations_per_day",
    ]


# ----------------------------------------------------------------------------------------------
def is_sweep_file(path: str | Path) -> bool:
    """Whether a YAML file is a sweep (it names a base scenario) rather than a scenario.

    A file that cannot be read or parsed (missing, not a regular file, too large, not YAML) is
    told as a ScenarioError. The file is parsed once: the load that follows reuses the result."""
    path = resolve_scenario(resolve_scenario(path, BUILTIN_SWEEPS))  # a built-in sweep's or scenario's name
    source = one_line(path)
    raw, _ = parse_yaml(read_text_file(path, source, SCENARIO_OR_SWEEP_FILE), source, keep=True)
    # a scenario never has these keys; a misspelt base: is then reported by the sweep's checks
    return isinstance(raw, dict) and bool({"base", "vary", "design"} & set(raw))


def load_sweep(path: str | Path, max_points: int = MAX_POINTS, overrides: dict | None = None) -> Sweep:
    """Read and validate a sweep file (or a built-in one, by name); its ``base`` is a scenario
    file's path relative to the sweep file, or a built-in scenario's name.

    ``overrides`` replaces top-level keys (replicates, seed, steps, metrics) after reading."""
    path = resolve_scenario(path, BUILTIN_SWEEPS)
    source = one_line(path)
    raw, lines = parse_yaml(read_text_file(path, source, SWEEP_FILE), source)
    check = Validator(source, lines, {})
    if raw is None:
        check.fail("", "the file is empty; a sweep needs base, vary and design")
    check.mapping(raw, "", dict.fromkeys(SWEEP_KEYS))
    raw.update({k: v for k, v in (overrides or {}).items() if v is not None})
    if "base" not in raw or not isinstance(raw["base"], str) or "\x00" in raw["base"]:
        check.fail(
            "base",
            "is required: the path of the base scenario file, relative to this file, or a built-in scenario's name",
        )
    base_path = path.parent / raw["base"]
    if not path_exists(base_path):
        base_path = resolve_scenario(raw["base"])
    try:
        base = load_scenario(base_path)
    except ScenarioError as exc:
        check.fail("base", f"cannot load the base scenario: {exc}")
    return build_sweep(raw, base, str(base_path), check, max_points)


def sweep_from_options(
    scenario_path: str,
    vary: list[str],
    design: str = "grid",
    n: int | None = None,
    replicates: int | None = None,
    seed: int | None = None,
    steps: int | None = None,
    metrics: list[str] | None = None,
    max_points: int = MAX_POINTS,
) -> Sweep:
    """The command-line shorthand: a scenario file and ``--vary PATH=lo:hi:num`` or ``=a,b,c``."""
    base = load_scenario(scenario_path)
    raw: dict[str, Any] = {"name": f"{base.name}_sweep", "design": design, "vary": {}}
    for item in vary:
        if "=" not in item:
            raise ScenarioError(f"--vary {item}: expected PATH=LO:HI:NUM or PATH=A,B,C")
        key, spec = (s.strip() for s in item.split("=", 1))
        if key in raw["vary"]:
            raise ScenarioError(f"--vary {item}: {key} is varied twice")
        raw["vary"][key] = _parse_vary_option(item, spec)
    for key, value in (("n", n), ("replicates", replicates), ("seed", seed), ("steps", steps), ("metrics", metrics)):
        if value is not None:
            raw[key] = value
    return build_sweep(raw, base, scenario_path, Validator("--vary", {}, {}), max_points)


def _parse_vary_option(item: str, spec: str):
    try:
        if ":" in spec:
            lo, hi, num = spec.split(":")
            return {"from": float(lo), "to": float(hi), "num": int(num)}
        return [float(v) for v in spec.split(",") if v.strip()]
    except ValueError:
        raise ScenarioError(f"--vary {item}: expected LO:HI:NUM (e.g. 0:0.05:11) or a list A,B,C of numbers") from None


def build_sweep(raw: dict, base: Scenario, base_path: str, check: Validator, max_points: int) -> Sweep:
    name = raw.get("name", f"{base.name}_sweep")
    if not isinstance(name, str) or not ID_PATTERN.match(name):
        check.fail(
            "name",
            f"{_short_name(name)} must start with a letter and hold only letters, digits and _ "
            "(at most 64): it names the out dir",
        )
    replicates = _int(check, raw, "replicates", 200, 1, 1_000_000)
    seed = _int(check, raw, "seed", base.seed, 0, 2**63 - 1)
    steps = _int(check, raw, "steps", base.horizon_days, 1, 3650)
    design = raw.get("design", "grid")
    if design not in DESIGNS:
        check.fail("design", f"unknown design {design!r}{did_you_mean(design, DESIGNS)}; use one of {list(DESIGNS)}")
    n = raw.get("n")
    if design != "grid":
        n = _int(check, raw, "n", None, 1, 10_000_000)
        if design == "sobol" and n & (n - 1):
            up = 1 << (n - 1).bit_length()
            check.fail("n", f"sobol needs a power of two base samples, got {n} (try {up // 2 or 1} or {up})")
    levels = _int(check, raw, "morris_levels", 4, 2, 100)
    if not isinstance(raw.get("vary"), dict) or not raw["vary"]:
        check.fail("vary", "needs at least one field to vary: PATH: [values] or {from, to, num} or {uniform: [lo, hi]}")
    check.mapping(raw["vary"], "vary", None)  # its keys must be text (dotted paths)
    vary = {p: _vary_entry(check, base, p, v, design) for p, v in raw["vary"].items()}
    allowed = metric_names(base, steps)
    metrics = raw.get("metrics", default_metrics(steps))
    if not isinstance(metrics, list) or not metrics:
        check.fail("metrics", "must be a non-empty list of metric names")
    for i, m in enumerate(metrics):
        if (
            isinstance(m, str)
            and m.startswith("survival_at_")
            and m.rsplit("_", 1)[1].isdigit()
            and int(m.rsplit("_", 1)[1]) > steps
            and m in metric_names(base, 3650)
        ):
            check.fail(f"metrics.{i}", f"{m} lies past the sweep's {steps} days; drop it or run more --steps")
        if m not in allowed:
            check.fail(f"metrics.{i}", f"unknown metric {m!r}{did_you_mean(m, allowed)}; known: {', '.join(allowed)}")
    heatmap = _heatmap_metric(check, raw.get("heatmap_metric"), metrics)
    sweep = Sweep(
        name,
        base,
        str(base_path),
        replicates,
        seed,
        steps,
        design,
        n,
        vary,
        list(metrics),
        str(raw.get("description", "")),
        levels,
        check.source,
    )
    sweep.heatmap_metric = heatmap
    count = planned_points(sweep)
    if count > max_points:
        check.fail("design", f"needs {count:,} points, more than --max-points {max_points:,} allows")
    sweep.points = design_points(sweep)
    sweep.notes += [note for path in sweep.paths for note in _event_notes(base, path, steps)]
    for i in range(len(sweep.points)):  # every point must be a valid scenario before anything runs
        try:
            sweep.point_scenario(i)
        except ScenarioError as exc:
            check.fail("vary", f"point {i} is not a valid scenario: {exc}")
    return sweep


def _event_notes(base: Scenario, path: str, steps: int) -> list[str]:
    """What a user should know of the base scenario's events, within the sweep's days, that
    change a varied field."""
    events = [e for e in base.events if e.day <= steps]
    days = [e.day for e in events if path in {**e.set, **e.scale, **e.add}]
    set_days = sorted({e.day for e in events if path in e.set})
    if set_days:
        return [
            f"note: events of the base scenario set {path} on day{'s' if len(set_days) > 1 else ''} "
            f"{', '.join(map(str, set_days))}: from day {set_days[0]} every point has the events' value, "
            f"so the sweep varies {path} only before that day; vary {SCALE_PREFIX}{path} to change it everywhere"
        ]
    if days:
        return [
            f"note: events of the base scenario also change {path} (days "
            f"{', '.join(map(str, days))}); they add to or scale the varied value"
        ]
    return []


def _heatmap_metric(check: Validator, heatmap: Any, metrics: list[str]) -> str | None:
    """The metric the heatmap (and the other one-metric figures) shows: one the sweep records."""
    if heatmap is not None and (not isinstance(heatmap, str) or heatmap not in metrics):
        check.fail(
            "heatmap_metric",
            f"{_short_name(heatmap)} is not one of the sweep's metrics{did_you_mean(str(heatmap), metrics)}; "
            f"give one of {', '.join(metrics)} (or add it to metrics)",
        )
    return heatmap


def _short_name(name) -> str:
    from truce_sim.core.schema import short_repr

    return repr(short_repr(name)) if isinstance(name, str) else short_repr(name)


def _int(check: Validator, raw: dict, key: str, default, lo, hi) -> int:
    value = raw.get(key, default)
    if value is None:
        check.fail(key, "is required for this design")
    return check.integer(value, key, Field("int", lo, hi))


def _vary_entry(check: Validator, base: Scenario, path: str, spec: Any, design: str) -> dict:
    p = f"vary.{path}"
    f = _scale_factor(check, base, path) if path.startswith(SCALE_PREFIX) else _varied_field(check, base, path)
    if isinstance(spec, list):
        if not spec:
            check.fail(p, "the list of values is empty")
        values = [check.number(v, f"{p}.{i}", f) for i, v in enumerate(spec)]
        entry = {"values": values, "lo": min(values), "hi": max(values)}
    elif isinstance(spec, dict) and set(spec) == {"from", "to", "num"}:
        lo, hi = check.number(spec["from"], f"{p}.from", f), check.number(spec["to"], f"{p}.to", f)
        num = check.integer(spec["num"], f"{p}.num", Field("int", 1, 100_000))
        if hi < lo:
            check.fail(p, f"reversed range: from {lo:g} is above to {hi:g}")
        if hi == lo and num > 1:
            check.fail(p, f"empty range: from and to are both {lo:g}")
        entry = {"values": [float(x) for x in np.linspace(lo, hi, num)], "lo": lo, "hi": hi}
    elif isinstance(spec, dict) and set(spec) == {"uniform"}:
        bounds = spec["uniform"]
        if not isinstance(bounds, list) or len(bounds) != 2:
            check.fail(f"{p}.uniform", "needs [lo, hi]")
        lo, hi = (check.number(b, f"{p}.uniform.{i}", f) for i, b in enumerate(bounds))
        if hi <= lo:
            check.fail(f"{p}.uniform", f"{'reversed' if hi < lo else 'empty'} range [{lo:g}, {hi:g}]")
        entry = {"lo": lo, "hi": hi}
    else:
        check.fail(p, "give a list of values, {from, to, num} or {uniform: [lo, hi]}")
    if design == "grid" and "values" not in entry:
        check.fail(p, "a grid needs a list of values or {from, to, num}, not a distribution")
    if design != "grid" and entry["hi"] <= entry["lo"]:
        check.fail(p, f"{design} needs a range with lo < hi")
    return entry


def _varied_field(check: Validator, base: Scenario, path: str) -> Field:
    """The field of a varied value: a numeric fact or constant of the base scenario."""
    p = f"vary.{path}"
    try:
        f = field_for(path)
    except (KeyError, IndexError):
        f = None
    parts = path.split(".")
    known = list(base.numeric_facts()) + [f"backers.{b}.red_line" for b in base.backers]
    if f is None or f.kind != "number" or (parts[0] in SECTIONS and parts[1] not in base.data[parts[0]]):
        check.fail(p, f"not a numeric field of the base scenario{did_you_mean(path, known)}")
    if parts[0] == "factions" and parts[2] == "control":
        check.fail(p, "control cannot be varied alone (shares must sum to 1); vary strength or demand instead")
    return f


def _scale_factor(check: Validator, base: Scenario, path: str) -> Field:
    """The range of a varied factor, scale.PATH: PATH multiplied as --scale does, in the base
    value and in every value events set or add to it."""
    target = path[len(SCALE_PREFIX) :]
    try:
        scale_targets(base.data, target)
    except ScaleError as exc:
        check.fail(f"vary.{path}", exc.reason if exc.where == target else f"{exc.where}: {exc.reason}")
    return Field("number", 0, None)


def planned_points(sweep: Sweep) -> int:
    d = len(sweep.vary)
    if sweep.design == "grid":
        return math.prod(len(v["values"]) for v in sweep.vary.values())
    if sweep.design == "lhs":
        return sweep.n
    if sweep.design == "sobol":
        return sweep.n * (d + 2)
    return sweep.n * (d + 1)


def design_points(sweep: Sweep) -> pd.DataFrame:
    """One row per point: its index and the value of each varied path."""
    problem = sweep.problem()
    if sweep.design == "grid":
        grids = np.meshgrid(*[v["values"] for v in sweep.vary.values()], indexing="ij")
        X = np.column_stack([g.ravel() for g in grids])
    elif sweep.design == "lhs":
        from SALib.sample import latin

        X = latin.sample(problem, sweep.n, seed=sweep.seed % 2**32)
    elif sweep.design == "sobol":
        from SALib.sample import sobol

        X = sobol.sample(problem, sweep.n, calc_second_order=False, seed=sweep.seed % 2**32)
    else:
        from SALib.sample import morris

        X = morris.sample(problem, sweep.n, num_levels=sweep.morris_levels, seed=sweep.seed % 2**32)
    frame = pd.DataFrame(X, columns=sweep.paths)
    frame.insert(0, "point", np.arange(len(frame)))
    return frame
