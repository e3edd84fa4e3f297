"""Which lever matters: SALib sensitivity indices and a Cox proportional-hazards fit.

Sobol indices (first order S1 and total ST) need a Saltelli/Sobol design; Morris screening
(mu*, sigma) needs Morris trajectories. The Cox model works for every design: it regresses every
world's truce survival on its point's varied values, so each lever gets a hazard ratio (above 1:
shortens the truce) with its 95% interval.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from truce_sim.sweeps.spec import Sweep


def salib_indices(sweep: Sweep, points: pd.DataFrame) -> pd.DataFrame | None:
    """One row per (metric, parameter): S1/ST with confidence, or mu*/sigma for Morris."""
    if sweep.design not in ("sobol", "morris"):
        return None
    problem = sweep.problem()
    rows = []
    for metric in sweep.metrics:
        y = points[metric].to_numpy(float)
        if not np.isfinite(y).all():  # a median not reached in some points: no index for it
            continue
        if sweep.design == "sobol":
            from SALib.analyze import sobol

            res = sobol.analyze(problem, y, calc_second_order=False, seed=sweep.seed % 2**32)
            for k, name in enumerate(problem["names"]):
                rows.append(
                    {
                        "metric": metric,
                        "parameter": name,
                        "S1": res["S1"][k],
                        "S1_conf": res["S1_conf"][k],
                        "ST": res["ST"][k],
                        "ST_conf": res["ST_conf"][k],
                    }
                )
        else:
            from SALib.analyze import morris

            X = points[problem["names"]].to_numpy(float)
            res = morris.analyze(problem, X, y, num_levels=sweep.morris_levels, seed=sweep.seed % 2**32)
            for k, name in enumerate(problem["names"]):
                rows.append(
                    {
                        "metric": metric,
                        "parameter": name,
                        "mu_star": res["mu_star"][k],
                        "mu_star_conf": res["mu_star_conf"][k],
                        "sigma": res["sigma"][k],
                        "mu": res["mu"][k],
                    }
                )
    return pd.DataFrame(rows)


def hazard_ratios(worlds: pd.DataFrame, paths: list[str]) -> pd.DataFrame:
    """Cox proportional-hazards fit of truce survival on the varied values.

    Hazard ratios are given per unit of each parameter and per standard deviation of its values
    across the sweep's worlds, which makes levers on different scales comparable.
    """
    from lifelines import CoxPHFitter

    varying = [p for p in paths if worlds[p].nunique() > 1]
    if not varying or worlds["collapsed"].sum() == 0:
        return pd.DataFrame(columns=["parameter"])
    data = worlds[varying + ["survival_days", "collapsed"]].astype(float)
    sd = data[varying].std(ddof=0)
    scaled = data.copy()
    scaled[varying] = (data[varying] - data[varying].mean()) / sd
    fit = CoxPHFitter(penalizer=1e-6).fit(scaled, duration_col="survival_days", event_col="collapsed")
    s = fit.summary
    out = pd.DataFrame(
        {
            "parameter": varying,
            "hr_per_sd": s.loc[varying, "exp(coef)"].to_numpy(),
            "hr_per_sd_lo": s.loc[varying, "exp(coef) lower 95%"].to_numpy(),
            "hr_per_sd_hi": s.loc[varying, "exp(coef) upper 95%"].to_numpy(),
            "sd": sd.to_numpy(),
            "p": s.loc[varying, "p"].to_numpy(),
        }
    )
    coef = s.loc[varying, "coef"].to_numpy() / sd.to_numpy()
    half = 1.959963984540054 * s.loc[varying, "se(coef)"].to_numpy() / sd.to_numpy()
    with np.errstate(over="ignore"):  # per unit of a lever on a tiny scale the ratio may be inf
        out["hr_per_unit"], out["hr_per_unit_lo"], out["hr_per_unit_hi"] = (
            np.exp(coef),
            np.exp(coef - half),
            np.exp(coef + half),
        )
    out["effect"] = np.where(
        out["hr_per_sd_lo"] > 1,
        "shortens the truce",
        np.where(out["hr_per_sd_hi"] < 1, "lengthens the truce", "no clear effect"),
    )
    out["worlds"] = len(worlds)
    return out
