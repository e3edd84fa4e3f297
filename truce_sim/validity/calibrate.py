"""Calibration: fit behavioural constants to the historical cases of docs/MODEL.md section 7.

The loss scores each case's simulated ensemble against its known outcome: the bracket of the
case (squared hinge, zero inside it) and, for the founding case, the timeline (the LNA's first
offensive around day 14, the GNA's counter-offensive around day 73, violations from the first
week, the GNA breaking more often late than early). The archetype scenarios are held inside the
range where the stylized facts are measurable (survival at 90 days in 20-80%). Every evaluation
uses the same seeds (common random numbers), so the loss is a deterministic function of the
constants and a derivative-free optimiser (Nelder-Mead, scipy) can walk it. Constants move on a
log scale around their current values and stay in their legal ranges.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd

from truce_sim.core.scenario import BEHAVIOUR_FIELDS, BUILTIN_SCENARIOS, DEFAULTS_PATH, load_scenario
from truce_sim.outputs.files import staged_out_dir
from truce_sim.runs.ensemble import run_ensemble
from truce_sim.runs.survival import kaplan_meier, median_survival, survival_at
from truce_sim.validity.targets import ARCHETYPES, BRACKETS, CASES

FITTED = (
    "decision_noise",
    "offensive_threshold",
    "gain_weight",
    "preventive_weight",
    "consolidation_value",
    "grievance_weight",
)


def _hinge(x: float) -> float:
    return max(x, 0.0) ** 2


def _median(rows) -> float:
    m, _ = median_survival(kaplan_meier(rows))
    return math.inf if m is None else m


def _first(rows, column, horizon) -> float:
    days = rows[column].to_numpy()
    return float(np.median(np.where(days > 0, days, 2 * horizon)))


def case_outcomes(behaviour: dict[str, float], scale: float = 1.0) -> dict[str, dict]:
    """What each case's ensemble gives with these constants (the numbers the loss scores)."""
    overrides = {f"behaviour.{k}": v for k, v in behaviour.items()}
    out = {}
    for case in CASES:
        s = load_scenario(BUILTIN_SCENARIOS / f"{case.name}.yaml").with_overrides(overrides)
        rows = run_ensemble(s, replicates=max(int(case.worlds * scale), 50), steps=case.steps).replicates
        kmf = kaplan_meier(rows)
        o = {"median": _median(rows)}
        if case.steps >= 180:
            o["s180"] = survival_at(kmf, 180)["p"]
        if case.steps >= 365:
            o["s365"] = survival_at(kmf, 365)["p"]
        if case.name == "libya_2020_january":
            broken = rows[rows["collapsed"]]
            early, late = broken[broken["survival_days"] <= 60], broken[broken["survival_days"] > 60]
            o["gna_late_minus_early"] = (
                float((late["breaker"] == "gna").mean() - (early["breaker"] == "gna").mean())
                if len(late) >= 10
                else -1.0
            )
            o["first_offensive_lna"] = _first(rows, "first_offensive_lna", case.steps)
            o["first_offensive_gna"] = _first(rows, "first_offensive_gna", case.steps)
            first = rows["first_violation_day"]
            o["violations_first_week"] = float(((first > 0) & (first <= 7)).mean())
        out[case.name] = o
    for name in ARCHETYPES:
        s = load_scenario(BUILTIN_SCENARIOS / f"{name}.yaml").with_overrides(overrides)
        rows = run_ensemble(s, replicates=max(int(600 * scale), 50), steps=90).replicates
        out[name] = {"s90": survival_at(kaplan_meier(rows), 90)["p"]}
    return out


def case_losses(o: dict[str, dict]) -> dict[str, float]:
    """Loss per case: zero when every bracket holds with a margin and the timeline fits."""
    lj, lo, sy, nk = (
        o[name]
        for name in (
            "libya_2020_january",
            "libya_2020_october",
            "syria_2016_september",
            "nagorno_karabakh_2020_november",
        )
    )
    losses = {
        "libya_2020_january": (
            _hinge(math.log(8 / lj["median"]))
            + _hinge(math.log(lj["median"] / 60))
            + _hinge((lj["s180"] - 0.15) / 0.05)
            + _hinge((0.9 - lj["violations_first_week"]) / 0.05)
            + _hinge((0.15 - lj["gna_late_minus_early"]) / 0.1)
            + 0.25 * math.log(lj["first_offensive_lna"] / 14) ** 2
            + 0.25 * math.log(lj["first_offensive_gna"] / 73) ** 2
        ),
        "libya_2020_october": _hinge((0.75 - lo["s365"]) / 0.05),
        "syria_2016_september": _hinge(math.log(min(sy["median"], 1e6) / 12))
        + 0.1 * math.log(min(sy["median"], 1e6) / 7) ** 2,
        "nagorno_karabakh_2020_november": _hinge((0.65 - nk["s365"]) / 0.05),
    }
    losses["archetypes"] = sum(
        _hinge((0.2 - o[a]["s90"]) / 0.05) + _hinge((o[a]["s90"] - 0.8) / 0.05) for a in ARCHETYPES
    )
    return losses


def calibrate(budget: int = 60, scale: float = 1.0, fitted=FITTED, progress=None) -> dict:
    """Nelder-Mead over the fitted constants (log scale around the current defaults)."""
    from scipy.optimize import minimize

    start = {k: float(BEHAVIOUR_FIELDS[k].default) for k in fitted}
    history = []

    def constants(z) -> dict[str, float]:
        out = {}
        for (k, x0), zi in zip(start.items(), z, strict=False):
            f = BEHAVIOUR_FIELDS[k]
            out[k] = float(np.clip(x0 * math.exp(float(zi)), f.lo, f.hi))
        return out

    def objective(z) -> float:
        values = constants(z)
        losses = case_losses(case_outcomes(values, scale))
        total = sum(losses.values())
        history.append({**values, **{f"loss_{k}": v for k, v in losses.items()}, "loss": total})
        if progress is not None:
            progress(len(history), total)
        return total

    z0 = np.zeros(len(start))
    simplex = np.vstack([z0] + [np.eye(len(start))[i] * 0.25 for i in range(len(start))])
    minimize(
        objective,
        z0,
        method="Nelder-Mead",
        options={"maxfev": budget, "initial_simplex": simplex, "xatol": 0.02, "fatol": 1e-3},
    )
    table = pd.DataFrame(history)
    best = table.loc[table["loss"].idxmin()]
    fitted_values = {k: round(float(best[k]), 4) for k in start}
    final = case_outcomes(fitted_values, scale)
    return {
        "fitted": fitted_values,
        "start": start,
        "loss": float(best["loss"]),
        "loss_per_case": case_losses(final),
        "outcomes": final,
        "history": table,
        "date": dt.date.today().isoformat(),
        "evaluations": len(table),
    }


def defaults_text(fitted: dict[str, float], loss: float, per_case: dict[str, float], date: str) -> str:
    """defaults.yaml with the fitted values and a header that says where they come from."""
    text = DEFAULTS_PATH.read_text(encoding="utf-8")
    for key, value in fitted.items():
        text, n = re.subn(rf"^({key}: \{{(?:kind: int, )?value: )[^,]+,", rf"\g<1>{value:g},", text, flags=re.M)
        if n != 1:
            raise KeyError(key)
    cases = ", ".join(f"{k} {v:.3g}" for k, v in per_case.items())
    stamp = (
        f"# Calibrated by `python run.py calibrate` on {date}: {', '.join(fitted)} fitted; loss {loss:.4g}\n"
        f"# (per case: {cases}).\n"
    )
    text = re.sub(r"^# Calibrated by .*\n# \(per case: .*\n", "", text, flags=re.M)
    return text.replace("\n# --- the contest", "\n" + stamp + "\n# --- the contest", 1)


def write_calibration(result: dict, out_dir: Path) -> Path:
    with staged_out_dir(out_dir, "calibrate") as staging:
        _write_calibration_files(result, staging)
    return Path(out_dir)


def _write_calibration_files(result: dict, out_dir: Path) -> None:
    from truce_sim.outputs import figures as plots
    from truce_sim.outputs.html import figure, page, table

    result["history"].to_csv(out_dir / "evaluations.csv", index=False)
    body = _finite({k: v for k, v in result.items() if k != "history"})
    (out_dir / "calibration.json").write_text(json.dumps(body, indent=2, default=float) + "\n", encoding="utf-8")
    (out_dir / "defaults.yaml").write_text(
        defaults_text(result["fitted"], result["loss"], result["loss_per_case"], result["date"]), encoding="utf-8"
    )
    rows = _known_vs_simulated(result["outcomes"])
    fig, ax = plots.plt.subplots(figsize=(8, 0.45 * len(rows) + 1.6))
    y = np.arange(len(rows))
    for k, r in enumerate(rows):
        ax.plot([r["lo"], r["hi"]], [k, k], color="0.75", lw=8, solid_capstyle="butt")
        ax.plot(r["simulated"], k, "o", color=plots.PALETTE[0] if r["in bracket"] else plots.PALETTE[1], ms=8)
    ax.set_yticks(y, [r["quantity"] for r in rows])
    ax.set_xscale("symlog", linthresh=1)
    ax.set(
        xlabel="simulated value (dot) against the bracket of the known outcome (grey)",
        title=f"Calibration: simulated against known outcomes (loss {result['loss']:.3g})",
    )
    ax.grid(alpha=0.3, axis="x")
    plots.save(fig, out_dir, "calibration")
    known = pd.DataFrame(rows)
    losses = pd.DataFrame([{"case": k, "loss": v} for k, v in result["loss_per_case"].items()])
    constants = pd.DataFrame(
        [{"constant": k, "start": result["start"][k], "fitted": v} for k, v in result["fitted"].items()]
    )
    (out_dir / "report.html").write_text(
        page(
            "Calibration against the historical cases",
            [
                (
                    "Simulated against known",
                    figure("calibration", "each case's simulated outcome against its bracket") + table(known),
                ),
                ("Loss per case", table(losses)),
                ("Fitted constants", table(constants)),
                (
                    "Files",
                    "<p><a href='calibration.json'>calibration.json</a>, "
                    "<a href='evaluations.csv'>evaluations.csv</a>, "
                    "<a href='defaults.yaml'>defaults.yaml</a></p>",
                ),
            ],
        ),
        encoding="utf-8",
    )


def _finite(value):
    """JSON has no infinity: a median not reached (more than half survive) is written as null."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
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
    ]
