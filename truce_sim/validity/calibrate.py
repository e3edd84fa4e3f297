"""Calibration: Bayesian fit of behavioural constants to the historical cases (ABC-SMC, pyabc).

The model of one parameter set is the ensemble of every historical case (targets.CASES) and
archetype, reduced to the quantities their brackets name (:func:`case_outcomes`). The distance
(:func:`distance`) is zero when every bracket of targets.BRACKETS holds and grows with how far a
quantity lies outside its bracket, in units of the bracket's width (on a log scale for medians and
days); the founding case adds its timeline (the LNA's first offensive around day 14, the GNA's
counter-offensive around day 73, violations from the first week, the GNA breaking more often late
than early) and the archetypes are held where the stylized facts are measurable (survival at 90
days in 20-80%). Every evaluation uses the same seeds (common random numbers), so the distance is
a deterministic function of the constants, and ABC-SMC with a falling epsilon gives the
constants' posterior: the prior (see :mod:`truce_sim.validity.posterior`) restricted, more
tightly each generation, to constants whose cases land in their brackets.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import math
import re
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from truce_sim.core.errors import UserError
from truce_sim.core.scenario import BEHAVIOUR_FIELDS, BUILTIN_SCENARIOS, load_scenario
from truce_sim.core.scenario import DEFAULTS_PATH as DEFAULTS_PATH  # the CLI writes it
from truce_sim.outputs.files import staged_out_dir
from truce_sim.runs.ensemble import run_ensemble
from truce_sim.runs.survival import kaplan_meier, median_survival, survival_at
from truce_sim.validity import posterior as post
from truce_sim.validity.targets import ARCHETYPES, BRACKETS, CASES

FOUNDING = "libya_2020_january"
FITTED = (
    "decision_noise",
    "offensive_threshold",
    "gain_weight",
    "preventive_weight",
    "consolidation_value",
    "grievance_weight",
    # Added to the six of the Nelder-Mead fit, because the brackets speak to them directly:
    # mobilisation_days sets how soon a massed offensive is affordable, which the founding case's
    # first-offensive days (LNA about day 14, GNA about day 73) bracket; leverage_weight turns
    # backer pressure into holding, and the cases differ mostly in their backers' pressure (the
    # held Libya of October and Nagorno-Karabakh against the broken Libya of January and Syria).
    "mobilisation_days",
    "leverage_weight",
)
ARCHETYPE_WORLDS = 600
ARCHETYPE_DAYS = 90
ARCHETYPE_WINDOW = (0.2, 0.8)  # survival at 90 days where the stylized facts are measurable
MIN_WORLDS = 50
NOT_REACHED = 100_000.0  # days: a median not reached (over half survive), finite for pyabc's store
DAY_QUANTITIES = ("median", "first_offensive_lna", "first_offensive_gna")  # scored on a log scale
MIN_LOG_WIDTH = math.log(1.5)  # a bracket's width floor when distances are in its units
MIN_WIDTH = 0.05
SEED = 20240601  # numpy's global seed for pyabc's draws: a default-sampler run is reproducible
PREDICTIVE_DRAWS = 20
# The default budget (the CLI's defaults too): under 30 minutes on 2 cores (BENCHMARKS.md). An
# evaluation's time is mostly per simulated day, not per world, so half the worlds cost little
# less than all of them, and fewer than half leave the founding case too few late collapses.
POPULATION, GENERATIONS, SCALE = 30, 4, 0.5
MIN_ACCEPTANCE = 0.2
FILES = ("posterior.csv", "identifiability.csv", "predictive.csv", "calibration.json", "defaults.yaml")


# ---- the model: what each case's ensemble gives -------------------------------------------------


def _first(rows, column, horizon) -> float:
    days = rows[column].to_numpy()
    return float(np.median(np.where(days > 0, days, 2 * horizon)))


def _case_steps() -> dict[str, int]:
    return {**{c.name: c.steps for c in CASES}, **dict.fromkeys(ARCHETYPES, ARCHETYPE_DAYS)}


def _case_rows(name: str, behaviour: dict[str, float], scale: float) -> pd.DataFrame:
    """One row per world of ``name``'s ensemble with these constants (the scenario's own seed)."""
    case = next((c for c in CASES if c.name == name), None)
    worlds, steps = (case.worlds, case.steps) if case is not None else (ARCHETYPE_WORLDS, ARCHETYPE_DAYS)
    scenario = load_scenario(BUILTIN_SCENARIOS / f"{name}.yaml")
    if behaviour:
        scenario = scenario.with_overrides({f"behaviour.{k}": v for k, v in behaviour.items()})
    return run_ensemble(scenario, replicates=max(int(worlds * scale), MIN_WORLDS), steps=steps).replicates


def _quantities(name: str) -> list[str]:
    """What the distance reads of one case: its brackets' quantities (and the timeline's)."""
    named = [b.quantity for b in BRACKETS if b.case == name]
    if name == FOUNDING:
        named += [t[1] for t in TIMELINE]
    if name in ARCHETYPES:
        named.append(f"s{ARCHETYPE_DAYS}")
    return list(dict.fromkeys(["median", *named]))


def _measure(name: str, rows: pd.DataFrame, steps: int, scale: float) -> dict[str, float]:
    kmf = kaplan_meier(rows)
    out: dict[str, float] = {}
    for quantity in _quantities(name):
        survival = re.fullmatch(r"s(\d+)", quantity)
        if quantity == "median":
            m, _ = median_survival(kmf)
            out["median"] = math.inf if m is None else m
        elif survival is not None:
            day = int(survival.group(1))
            if day > steps:
                raise ValueError(f"{name}: {quantity} is past the case's {steps} days")
            out[quantity] = survival_at(kmf, day)["p"]
        elif name == FOUNDING and quantity in FOUNDING_QUANTITIES:
            out[quantity] = FOUNDING_QUANTITIES[quantity](rows, steps, scale)
        else:
            raise KeyError(f"{name}: calibrate cannot measure the quantity {quantity!r} of a bracket")
    return out


def _gna_late_minus_early(rows, steps, scale) -> float:
    # The GNA's share as breaker after day 60 minus before. With fewer than 10 late collapses in
    # 1,500 worlds (scaled with the worlds, at least 3) the share is noise: scored as -1.
    broken = rows[rows["collapsed"]]
    early, late = broken[broken["survival_days"] <= 60], broken[broken["survival_days"] > 60]
    if len(late) < max(3, round(10 * scale)) or len(early) == 0:
        return -1.0
    return float((late["breaker"] == "gna").mean() - (early["breaker"] == "gna").mean())


FOUNDING_QUANTITIES: dict[str, Callable[[pd.DataFrame, int, float], float]] = {
    "gna_late_minus_early": _gna_late_minus_early,
    "first_offensive_lna": lambda rows, steps, scale: _first(rows, "first_offensive_lna", steps),
    "first_offensive_gna": lambda rows, steps, scale: _first(rows, "first_offensive_gna", steps),
    "violations_first_week": lambda rows, steps, scale: float(
        ((rows["first_violation_day"] > 0) & (rows["first_violation_day"] <= 7)).mean()
    ),
}


class UnknownCase(UserError, ValueError):
    """A case that is neither a historical case nor an archetype."""


def check_case_names(names) -> None:
    """Refuse names that are no case, or none at all, in one line."""
    known = _case_steps()
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        raise UnknownCase(f"unknown case(s) {', '.join(unknown) or '(none given)'}; known: {', '.join(known)}")


def check_cases(names: tuple[str, ...]) -> None:
    """The cases of ``calibrate --cases``: known, and at least one historical."""
    try:
        check_case_names(names)
    except UnknownCase as e:
        raise UnknownCase(f"calibrate: --cases: {e}") from None
    if not set(names) & {c.name for c in CASES}:
        raise UserError(
            "calibrate: --cases needs at least one historical case (the archetypes have no record to fit); "
            f"historical: {', '.join(c.name for c in CASES)}"
        )


def case_outcomes(
    behaviour: dict[str, float], scale: float = 1.0, cases: Iterable[str] | None = None
) -> dict[str, dict[str, float]]:
    """What each case's ensemble gives with these constants: for every historical case of
    targets.CASES and every archetype (or only those named in ``cases``), each quantity its
    brackets name (``median``, ``sN``: survival at day N, the founding case's timeline). Worlds
    per case are the case's times ``scale`` (at least 50); seeds are the scenarios' own."""
    steps = _case_steps()
    names = list(steps) if cases is None else [getattr(c, "name", c) for c in cases]  # names or Case objects
    check_case_names(names)
    return {name: _measure(name, _case_rows(name, behaviour, scale), steps[name], scale) for name in names}


# ---- the distance -------------------------------------------------------------------------------

# The founding case's timeline: (case, quantity, kind, target, tolerance). "near": |log(v /
# target)| / tolerance (a day the record gives); "at least": max(target - v, 0) / tolerance.
TIMELINE = (
    (FOUNDING, "first_offensive_lna", "near", 14.0, 2.0),
    (FOUNDING, "first_offensive_gna", "near", 73.0, 2.0),
    (FOUNDING, "violations_first_week", "at least", 0.9, 0.1),
    (FOUNDING, "gna_late_minus_early", "at least", 0.15, 0.15),
)


def _days(value: float) -> float:
    return min(max(float(value), 1e-3), NOT_REACHED) if not math.isnan(value) else NOT_REACHED


def outside(quantity: str, value: float, lo: float, hi: float) -> float:
    """How far ``value`` lies outside [lo, hi] in units of the bracket's width: zero inside; on
    a log scale for medians and days (a median not reached counts as NOT_REACHED days)."""
    if quantity in DAY_QUANTITIES:
        v, a, b = math.log(_days(value)), math.log(max(lo, 1e-3)), math.log(_days(hi))
        width = max(b - a, MIN_LOG_WIDTH)
    else:
        v, a, b = (float(value) if not math.isnan(value) else math.inf), lo, hi
        width = max(b - a, MIN_WIDTH)
    return (max(a - v, 0.0) + max(v - b, 0.0)) / width


def case_distances(o: dict[str, dict[str, float]]) -> dict[str, float]:
    """Distance per case (each case in ``o``): its brackets, the founding case's timeline, the
    archetypes' window."""
    out = dict.fromkeys(o, 0.0)
    for b in BRACKETS:
        if b.case in o:
            out[b.case] += outside(b.quantity, o[b.case][b.quantity], b.lo, b.hi)
    for case, quantity, kind, target, tolerance in TIMELINE:
        if case in o:
            v = o[case][quantity]
            if kind == "near":
                out[case] += abs(math.log(_days(v) / target)) / tolerance
            else:
                out[case] += max(target - v, 0.0) / tolerance
    for a in ARCHETYPES:
        if a in o:
            out[a] += outside(f"s{ARCHETYPE_DAYS}", o[a][f"s{ARCHETYPE_DAYS}"], *ARCHETYPE_WINDOW)
    return out


def distance(o: dict[str, dict[str, float]]) -> float:
    """The ABC distance of one set of outcomes: the sum of :func:`case_distances`."""
    return float(sum(case_distances(o).values()))


# ---- pyabc's view: flat dicts of finite floats --------------------------------------------------


def flatten(o: dict[str, dict[str, float]]) -> dict[str, float]:
    return {
        f"{case}__{q}": (NOT_REACHED if math.isinf(v) else float(v)) for case, qs in o.items() for q, v in qs.items()
    }


def unflatten(x: dict) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for key, value in x.items():
        case, _, quantity = key.partition("__")
        out.setdefault(case, {})[quantity] = float(value)
    return out


class Model:
    """pyabc's model: parameters -> flat outcomes (picklable, for dask workers)."""

    def __init__(self, pr: dict[str, post.Prior], scale: float, cases: tuple[str, ...] | None = None):
        self.pr, self.scale, self.cases = pr, scale, cases

    def __call__(self, parameters) -> dict[str, float]:
        return flatten(case_outcomes(post.constants(parameters, self.pr), self.scale, self.cases))


def abc_distance(x: dict, x_0: dict) -> float:  # noqa: ARG001 - the brackets are the observation
    return distance(unflatten(x))


# ---- ABC-SMC ------------------------------------------------------------------------------------


def calibrate(
    population: int = POPULATION,
    generations: int = GENERATIONS,
    scale: float = SCALE,
    fitted=FITTED,
    scheduler: str | None = None,
    max_evaluations: int | None = None,
    seed: int = SEED,
    progress: Callable[[dict], None] | None = None,
    cases: Iterable[str] | None = None,
) -> dict:
    """ABC-SMC over the fitted constants: ``generations`` populations of ``population``
    accepted particles, epsilon the weighted median of the last population's distances (the
    first population is the prior). ``cases`` (default: every historical case and archetype)
    limits the scenarios each evaluation runs. Returns the last population and what the files
    need."""
    import pyabc

    selected = None if cases is None else tuple(cases)
    if selected is not None:
        check_cases(selected)

    pr = post.priors(fitted)
    started = time.perf_counter()
    np.random.seed(seed)
    report = progress or (lambda info: None)

    class _ABCSMC(pyabc.ABCSMC):
        def run_generation(self, t: int) -> dict:
            ret = super().run_generation(t)
            if ret.get("successful"):
                pops = self.history.get_all_populations()
                row = pops[pops["t"] == t].iloc[-1]
                report(
                    {
                        "generation": t,
                        "epsilon": float(row["epsilon"]),
                        "accepted": int(self.history.get_nr_particles_per_population().get(t, 0)),
                        "evaluations": int(row["samples"]),
                        "total_evaluations": int(self.history.total_nr_simulations),
                        "minutes": (time.perf_counter() - started) / 60,
                    }
                )
            return ret

    with contextlib.ExitStack() as stack:
        abc_log = logging.getLogger("ABC")  # pyabc's own log: progress is ours, one line per generation
        stack.callback(abc_log.setLevel, abc_log.level)
        abc_log.setLevel(logging.WARNING)
        if scheduler is None:
            sampler = pyabc.sampler.SingleCoreSampler(check_max_eval=True)
        else:
            from distributed import Client

            try:
                client = stack.enter_context(Client(scheduler, timeout="10s"))
            except OSError as exc:  # refused or timed out: the address the user gave is wrong
                raise UserError(f"calibrate: --scheduler {scheduler}: cannot reach a Dask scheduler ({exc})") from None
            sampler = pyabc.sampler.DaskDistributedSampler(dask_client=client)
        sampler.show_progress = False
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="truce-sim-abc-")))
        abc = _ABCSMC(
            Model(pr, scale, selected),
            post.pyabc_prior(pr),
            abc_distance,
            population_size=population,
            eps=pyabc.epsilon.QuantileEpsilon(initial_epsilon=math.inf, alpha=0.5),
            sampler=sampler,
        )
        abc.new(f"sqlite:///{tmp / 'abc.db'}")
        history = abc.run(
            max_nr_populations=generations,
            minimum_epsilon=0.0,
            # a generation that would need more than 5 evaluations per particle is cut short and
            # the run stops with the generation before it: this bounds a run's time
            min_acceptance_rate=MIN_ACCEPTANCE if generations > 1 else 0.0,
            max_total_nr_simulations=math.inf if max_evaluations is None else max_evaluations,
        )
        frame, weights = history.get_distribution(m=0, t=history.max_t)
        pops = history.get_all_populations()
        pops = pops[pops["t"] >= 0]
        weighted = history.get_weighted_distances(t=history.max_t)
        evaluations = int(history.total_nr_simulations)

    samples = pd.DataFrame({name: [p.from_parameter(x) for x in frame[p.parameter]] for name, p in pr.items()})
    weights = np.asarray(weights, dtype=float)
    weights = weights / weights.sum()
    stats = post.summary(samples, weights, pr)
    central = {k: float(f"{v['median']:.4g}") for k, v in stats.items()}
    outcomes = case_outcomes(central, scale, selected)
    return {
        "date": dt.date.today().isoformat(),
        "population": population,
        "generations_asked": generations,
        "generations": int(len(pops)),
        "scale": scale,
        "seed": seed,
        "sampler": "SingleCoreSampler" if scheduler is None else f"DaskDistributedSampler at {scheduler}",
        "evaluations": evaluations,
        "priors": {k: {"lo": p.lo, "hi": p.hi, "scale": "log" if p.log else "linear"} for k, p in pr.items()},
        "posterior": stats,
        "fitted": central,
        "epsilon": [
            {"generation": int(r.t), "epsilon": float(r.epsilon), "evaluations": int(r.samples)}
            for r in pops.itertuples()
        ],
        "final_distances": {"min": float(weighted["distance"].min()), "max": float(weighted["distance"].max())},
        "outcomes": outcomes,
        "distances_per_case": case_distances(outcomes),
        "distance": distance(outcomes),
        "samples": samples,
        "weights": weights,
        "cases": list(outcomes),
        "pr": pr,
        "minutes": (time.perf_counter() - started) / 60,
    }


def predictive(
    samples: pd.DataFrame,
    weights,
    scale: float,
    draws: int = PREDICTIVE_DRAWS,
    seed: int = SEED,
    cases: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Posterior-predictive survival of each historical case: ``draws`` posterior samples
    (weighted, fixed seed), each case's Kaplan-Meier curve for each, and per day the curves'
    5%, 50% and 95% quantiles."""
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(samples), size=draws, replace=True, p=np.asarray(weights) / np.sum(weights))
    chosen = [c for c in CASES if cases is None or c.name in set(cases)]
    curves: dict[str, list[np.ndarray]] = {c.name: [] for c in chosen}
    for i in picks:
        behaviour = {k: float(v) for k, v in samples.iloc[int(i)].items()}
        for case in chosen:
            kmf = kaplan_meier(_case_rows(case.name, behaviour, scale))
            days = np.arange(case.steps + 1)
            curves[case.name].append(kmf.survival_function_at_times(days).to_numpy())
    frames = []
    for case in chosen:
        stack = np.vstack(curves[case.name])
        q05, q50, q95 = np.quantile(stack, [0.05, 0.5, 0.95], axis=0)
        frames.append(
            pd.DataFrame({"case": case.name, "day": np.arange(case.steps + 1), "q05": q05, "median": q50, "q95": q95})
        )
    return pd.DataFrame(pd.concat(frames, ignore_index=True))


def stamp(result: dict) -> str:
    """The header comment of a defaults.yaml with the posterior's central values."""
    text = (
        f"Calibrated by `python run.py calibrate` on {result['date']}: {', '.join(result['fitted'])} set to "
        f"the posterior's central values (weighted medians; ABC-SMC, population {result['population']}, "
        f"{result['generations']} generations, {result['evaluations']} evaluations, worlds x {result['scale']:g}; "
        f"distance at these values {result['distance']:.3g})."
    )
    lines = textwrap.wrap(text, 96)
    return "".join(f"# {line}\n" if k == 0 else f"#   {line}\n" for k, line in enumerate(lines))


def defaults_text(result: dict) -> str:
    """defaults.yaml with the posterior's central values of the fitted constants."""
    return post.defaults_text(result["fitted"], stamp(result))


# ---- files --------------------------------------------------------------------------------------


def write_calibration(result: dict, out_dir: Path, draws: int = PREDICTIVE_DRAWS) -> Path:
    """Every file of a calibration into ``out_dir`` (staged, then moved into place); the
    posterior-predictive ensembles are run here."""
    bands = predictive(
        result["samples"], result["weights"], result["scale"], draws, result["seed"], result.get("cases")
    )
    with staged_out_dir(out_dir, "calibrate") as staging:
        _write_files(result, bands, staging)
    return Path(out_dir)


def _write_files(result: dict, bands: pd.DataFrame, out_dir: Path) -> None:
    from truce_sim.outputs import figures as plots
    from truce_sim.outputs.html import figure, page, table

    pr, samples, weights = result["pr"], result["samples"], result["weights"]
    frame = samples.copy()
    frame["weight"] = weights
    frame.to_csv(out_dir / "posterior.csv", index=False, float_format="%.10g")
    plots.save(post.posterior_figure(samples, weights, pr), out_dir, "posterior")
    bands.to_csv(out_dir / "predictive.csv", index=False, float_format="%.6g")
    by_case = {c.name: [b for b in BRACKETS if b.case == c.name] for c in CASES}
    plots.save(post.predictive_figure(bands, by_case), out_dir, "predictive")
    ident = post.identifiability(samples, weights, pr)
    ident.to_csv(out_dir / "identifiability.csv", index=False, float_format="%.6g")
    body = {k: v for k, v in result.items() if k not in ("samples", "weights", "pr")}
    (out_dir / "calibration.json").write_text(
        json.dumps(_finite(body), indent=2, default=float) + "\n", encoding="utf-8"
    )
    (out_dir / "defaults.yaml").write_text(defaults_text(result), encoding="utf-8")

    known = pd.DataFrame(_known_vs_simulated(result["outcomes"]))
    constants = pd.DataFrame(
        [
            {
                "constant": k,
                "prior lo": pr[k].lo,
                "prior hi": pr[k].hi,
                "default": BEHAVIOUR_FIELDS[k].default,
                "posterior median": s["median"],
                "q05": s["q05"],
                "q95": s["q95"],
            }
            for k, s in result["posterior"].items()
        ]
    )
    eps = pd.DataFrame(result["epsilon"])
    per_case = pd.DataFrame([{"case": k, "distance": v} for k, v in result["distances_per_case"].items()])
    intro = (
        f"<p>ABC-SMC (pyabc) over {len(pr)} behavioural constants: population {result['population']}, "
        f"{result['generations']} generations, {result['evaluations']} evaluations of every case "
        f"(worlds x {result['scale']:g}, common random numbers), {result['minutes']:.1f} minutes, "
        f"{result['sampler']}. Priors log-uniform from a third to three times each default, within the "
        "legal range. The posterior is the prior restricted to constants whose cases land near their "
        "brackets; it is conditional on the model and on these cases, not a measurement of the world.</p>"
    )
    (out_dir / "report.html").write_text(
        page(
            "Calibration against the historical cases (ABC-SMC)",
            [
                ("Method", intro),
                ("Posterior", figure("posterior", "each constant's posterior against its prior") + table(constants)),
                (
                    "Identifiability",
                    "<p class='note'>90% widths on the prior's scale (log); ratio below 0.5: pinned down, "
                    "below 0.8: narrowed.</p>" + table(ident),
                ),
                (
                    "Posterior-predictive survival",
                    figure(
                        "predictive",
                        "5-95% band and median of the survival curves over posterior draws; brackets in orange",
                    ),
                ),
                ("Simulated at the posterior median against known", table(known) + table(per_case)),
                ("Epsilon per generation", table(eps)),
                (
                    "Files",
                    "<p>" + ", ".join(f"<a href='{name}'>{name}</a>" for name in FILES) + "</p>",
                ),
            ],
        ),
        encoding="utf-8",
    )


def _finite(value):
    """JSON has no infinity: a median not reached (more than half survive) is written as null."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _known_vs_simulated(o: dict) -> list[dict]:
    return [
        {
            "quantity": b.label,
            "simulated": round(float(o[b.case][b.quantity]), 4),
            "lo": b.lo,
            "hi": b.hi,
            "in bracket": b.holds(o[b.case][b.quantity]),
        }
        for b in BRACKETS
        if b.case in o
    ]


def print_progress(info: dict) -> None:
    print(
        f"generation {info['generation']}: epsilon {info['epsilon']:.4g}, accepted {info['accepted']}, "
        f"evaluations {info['evaluations']} (total {info['total_evaluations']}, {info['minutes']:.1f} min)",
        file=sys.stderr,
        flush=True,
    )
