"""Which lever matters: SALib sensitivity indices and a Cox proportional-hazards fit.

Sobol indices (first order S1 and total ST) need a Saltelli/Sobol design; Morris screening
(mu*, sigma) needs Morris trajectories. The Cox model works for every design: it regresses every
world's truce survival on its point's varied values, so each lever gets a hazard ratio (above 1:
shortens the truce) with its 95% interval.

When the indices can be trusted (``index_warnings``): Sobol estimates from few base samples are
noisy enough to fall outside [0, 1] and to rank levers by chance. The sweep warns, on its page,
in sweep.json's ``caveats`` and on stderr, when any of these holds:

* Sobol: fewer than ``SOBOL_MIN_N`` (512) base samples; or any first-order or total index above 1
  (a share of variance cannot be); or any index whose 95% confidence half-width is larger than
  the index itself and at least ``SOBOL_WIDE`` (0.05), so that its interval spans zero and an
  effect worth reading;
* Morris: fewer than ``MORRIS_MIN_TRAJECTORIES`` (10) trajectories.

Each Sobol row that breaks a rule says which in its ``unstable`` column.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from truce_sim.sweeps.spec import Sweep

SOBOL_MIN_N = 512
SOBOL_WIDE = 0.05
MORRIS_MIN_TRAJECTORIES = 10
SOBOL_RULE = (
    f"Sobol indices are stable from about {SOBOL_MIN_N} base samples; below that, or with an index above 1 "
    f"or a 95% interval wider than the index, treat them as a rough ranking at most"
)
MORRIS_RULE = f"Morris screening needs at least {MORRIS_MIN_TRAJECTORIES} trajectories for a stable ranking"


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
    frame = pd.DataFrame(rows)
    if sweep.design == "sobol" and len(frame):
        frame["unstable"] = [_sobol_flags(row) for row in frame.itertuples(index=False)]
    return frame


def _sobol_flags(row) -> str:
    """Which stability rules one Sobol row breaks ('' for none)."""
    flags = []
    for name in ("S1", "ST"):
        value, conf = float(getattr(row, name)), float(getattr(row, f"{name}_conf"))
        if value > 1:
            flags.append(f"{name} > 1")
        if np.isfinite(conf) and conf >= SOBOL_WIDE and conf > value:
            flags.append(f"{name} interval wider than {name}")
    return "; ".join(flags)


def index_warnings(sweep: Sweep, indices: pd.DataFrame | None) -> list[str]:
    """One sentence per stability rule the sweep's indices break (see the module's doc)."""
    if indices is None or sweep.design not in ("sobol", "morris"):
        return []
    out = []
    if sweep.design == "morris":
        if sweep.n < MORRIS_MIN_TRAJECTORIES:
            out.append(
                f"Morris indices from {sweep.n} trajectories (fewer than {MORRIS_MIN_TRAJECTORIES}) are not "
                f"stable: the ranking of levers may be chance's; rerun with n: {MORRIS_MIN_TRAJECTORIES} or more"
            )
        return out
    if sweep.n < SOBOL_MIN_N:
        out.append(
            f"Sobol indices from {sweep.n} base samples (fewer than {SOBOL_MIN_N}) are not stable: read them as "
            f"a rough ranking at most, and rerun with n: {SOBOL_MIN_N} or more before quoting a number"
        )
    if not len(indices):
        return out

    def listed(rows: pd.DataFrame, what: str) -> str:
        shown = [f"{r.metric} / {r.parameter} {what} = {getattr(r, what):.3g}" for r in rows.head(3).itertuples()]
        return "; ".join(shown) + (f"; and {len(rows) - 3} more" if len(rows) > 3 else "")

    above = [(what, indices[indices[what] > 1]) for what in ("S1", "ST")]
    if any(len(rows) for _, rows in above):
        out.append(
            "Sobol indices above 1, which a share of variance cannot be (sampling noise): "
            + "; ".join(listed(rows, what) for what, rows in above if len(rows))
        )
    wide = [
        (what, indices[(indices[f"{what}_conf"] >= SOBOL_WIDE) & (indices[f"{what}_conf"] > indices[what])])
        for what in ("ST", "S1")
    ]
    if any(len(rows) for _, rows in wide):
        count = sum(len(rows) for _, rows in wide)
        what, rows = next((w, r) for w, r in wide if len(r))
        out.append(
            f"{count} Sobol ind{'ices have' if count > 1 else 'ex has'} a 95% interval wider than the index "
            f"(the unstable column of the table says which), e.g. {listed(rows.head(1), what)} "
            f"+/- {float(rows[f'{what}_conf'].iloc[0]):.3g}"
        )
    return out


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
