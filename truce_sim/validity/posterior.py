"""The calibration's prior and posterior: priors of the fitted constants, weighted statistics,
identifiability, and the files ``calibrate`` writes (posterior.csv, figures, report, defaults).

Each fitted constant has a log-uniform prior from a third of its hand-set value to three times it,
clipped to the field's legal range: the defaults are plausible magnitudes, not estimates, and a
factor of three either way is the range over which a magnitude is still "the same kind of
number". The ABC-SMC samples its logarithm (uniform prior, Gaussian perturbation kernel), so
that a constant is explored evenly in ratios. A constant whose default is zero or negative has no
log scale; it would get a uniform prior on [lo, default + (hi - lo) / 10] (none of the fitted
ones does, but the rule keeps :func:`prior` total).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from truce_sim.core.scenario import BEHAVIOUR_FIELDS, DEFAULTS_PATH

SPREAD = 3.0  # prior from default / SPREAD to default * SPREAD
PINNED = 0.5  # posterior/prior 90% width ratio below which a constant is pinned down
NARROWED = 0.8  # ... below which it is narrowed; above it the cases do not identify it
VERDICTS = ("pinned down", "narrowed", "not identified by these cases")


@dataclass(frozen=True)
class Prior:
    """A fitted constant's prior: uniform on [lo, hi], on the log scale when ``log``."""

    name: str
    lo: float
    hi: float
    log: bool

    @property
    def parameter(self) -> str:
        """The name pyabc samples: the log of the constant when the prior is log-uniform."""
        return f"log_{self.name}" if self.log else self.name

    def to_scale(self, value):
        """A value of the constant on the prior's scale (log or natural)."""
        return np.log(value) if self.log else np.asarray(value, dtype=float)

    def from_parameter(self, x: float) -> float:
        """The constant's value for a parameter pyabc sampled, inside the legal range."""
        value = math.exp(x) if self.log else float(x)
        return float(min(max(value, self.lo), self.hi))

    @property
    def bounds(self) -> tuple[float, float]:
        """The prior's support on its own scale."""
        return (math.log(self.lo), math.log(self.hi)) if self.log else (self.lo, self.hi)

    def width90(self) -> float:
        lo, hi = self.bounds
        return 0.9 * (hi - lo)


# The centres of the priors: the constants' hand-set values, before any calibration. They are
# fixed here, not read from defaults.yaml, which takes the posterior's central values: a prior
# centred on the last posterior would count the same cases twice on every run.
PRIOR_CENTRES = {
    "decision_noise": 0.1,
    "offensive_threshold": 4.0,
    "gain_weight": 30.0,
    "preventive_weight": 20.0,
    "consolidation_value": 0.9297,
    "grievance_weight": 0.5,
    "mobilisation_days": 21.0,
    "leverage_weight": 4.0,
}


def prior(name: str, spread: float = SPREAD) -> Prior:
    """The prior of one behavioural constant (see the module's docstring): centred on its
    hand-set value (:data:`PRIOR_CENTRES`, else its default)."""
    field = BEHAVIOUR_FIELDS[name]
    default = float(PRIOR_CENTRES.get(name, field.default))
    lo = -math.inf if field.lo is None else float(field.lo)
    hi = math.inf if field.hi is None else float(field.hi)
    if default > 0:
        a, b = max(default / spread, lo), min(default * spread, hi)
        if a > 0 and b > a:
            return Prior(name, a, b, log=True)
    b = min(default + (hi - lo) / 10, hi) if math.isfinite(hi - lo) else default + 1.0
    return Prior(name, lo, b, log=False)


def priors(names) -> dict[str, Prior]:
    return {name: prior(name) for name in names}


def pyabc_prior(pr: dict[str, Prior]):
    """The joint prior as a pyabc Distribution of independent uniforms (on the log scale for
    log-uniform constants)."""
    import pyabc

    return pyabc.Distribution(
        **{p.parameter: pyabc.RV("uniform", p.bounds[0], p.bounds[1] - p.bounds[0]) for p in pr.values()}
    )


def constants(parameters: dict, pr: dict[str, Prior]) -> dict[str, float]:
    """The behavioural constants of one pyabc parameter set."""
    return {name: p.from_parameter(float(parameters[p.parameter])) for name, p in pr.items()}


# ---- weighted statistics ---------------------------------------------------------------------


def weighted_quantile(values, weights, q):
    """Quantiles ``q`` of weighted samples (the inverse of the weighted empirical CDF, with
    each sample's weight centred on it)."""
    values = np.asarray(values, dtype=float)
    weights = np.asarray(weights, dtype=float)
    order = np.argsort(values)
    v, w = values[order], weights[order]
    cdf = (np.cumsum(w) - 0.5 * w) / w.sum()
    return np.interp(q, cdf, v)


def summary(samples: pd.DataFrame, weights, pr: dict[str, Prior]) -> dict[str, dict[str, float]]:
    """Weighted median and 5%/95% quantiles of each constant (quantiles commute with the log)."""
    out = {}
    for name in pr:
        q05, q50, q95 = weighted_quantile(samples[name], weights, [0.05, 0.5, 0.95])
        out[name] = {"median": float(q50), "q05": float(q05), "q95": float(q95)}
    return out


def identifiability(samples: pd.DataFrame, weights, pr: dict[str, Prior]) -> pd.DataFrame:
    """For each constant: the prior's and the posterior's 90% width on the prior's scale, their
    ratio and a verdict (below 0.5 pinned down, below 0.8 narrowed, else not identified)."""
    rows = []
    for name, p in pr.items():
        q05, q95 = weighted_quantile(p.to_scale(samples[name].to_numpy()), weights, [0.05, 0.95])
        ratio = float((q95 - q05) / p.width90())
        verdict = VERDICTS[0] if ratio < PINNED else VERDICTS[1] if ratio < NARROWED else VERDICTS[2]
        rows.append(
            {
                "constant": name,
                "scale": "log" if p.log else "linear",
                "prior_width90": p.width90(),
                "posterior_width90": float(q95 - q05),
                "ratio": ratio,
                "verdict": verdict,
            }
        )
    return pd.DataFrame(rows)


# ---- defaults.yaml ---------------------------------------------------------------------------


def defaults_text(fitted: dict[str, float], stamp: str) -> str:
    """defaults.yaml with the fitted values and ``stamp`` (comment lines, each starting with
    "# ") as a header saying where they come from; an earlier stamp is replaced."""
    text = DEFAULTS_PATH.read_text(encoding="utf-8")
    for key, value in fitted.items():
        text, n = re.subn(rf"^({key}: \{{(?:kind: int, )?value: )[^,]+,", rf"\g<1>{value:.4g},", text, flags=re.M)
        if n != 1:
            raise KeyError(key)
    text = re.sub(r"^# Calibrated by .*\n(?:#  .*\n|# \(.*\n)*\n?", "", text, flags=re.M)
    return text.replace("\n# --- the contest", "\n" + stamp.rstrip("\n") + "\n\n# --- the contest", 1)


# ---- figures ---------------------------------------------------------------------------------


def posterior_figure(samples: pd.DataFrame, weights, pr: dict[str, Prior], bins: int = 20):
    """Each constant's weighted posterior histogram (density per unit of the prior's scale)
    against its flat prior, on the prior's (log) scale."""
    from matplotlib.ticker import NullLocator

    from truce_sim.outputs import figures as plots

    n = len(pr)
    cols = min(n, 4)
    rows = math.ceil(n / cols)
    fig, axes = plots.plt.subplots(rows, cols, figsize=(3.2 * cols, 2.6 * rows), squeeze=False)
    for ax, (name, p) in zip(axes.flat, pr.items(), strict=False):
        lo, hi = p.bounds
        edges = np.linspace(lo, hi, bins + 1)
        density, _ = np.histogram(p.to_scale(samples[name].to_numpy()), bins=edges, weights=weights, density=True)
        x = np.exp(edges) if p.log else edges
        ax.stairs(density, x, fill=True, color=plots.PALETTE[0], alpha=0.6, label="posterior")
        ax.plot([x[0], x[-1]], [1 / (hi - lo)] * 2, color=plots.PALETTE[1], lw=1.5, ls="--", label="prior")
        ax.axvline(float(BEHAVIOUR_FIELDS[name].default), color="0.3", lw=0.8, ls=":", label="default")
        if p.log:
            ax.set_xscale("log")
            ticks = [p.lo, float(BEHAVIOUR_FIELDS[name].default), p.hi]
            ax.xaxis.set_minor_locator(NullLocator())
            ax.set_xticks(ticks, [f"{t:.3g}" for t in ticks])
        ax.set_title(name, fontsize=9)
        ax.set_ylabel("density per log unit" if p.log else "density", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7, frameon=False)
    fig.suptitle("Posterior (blue) against prior (dashed) of each fitted constant")
    fig.tight_layout()
    return fig


def predictive_figure(bands: pd.DataFrame, brackets: dict[str, list]):
    """Each case's posterior-predictive survival: the 5-95% band and median of the
    Kaplan-Meier curves over posterior draws, with the case's brackets marked in orange."""
    from truce_sim.outputs import figures as plots

    cases = list(dict.fromkeys(bands["case"]))
    cols = min(len(cases), 3)
    rows = math.ceil(len(cases) / cols)
    fig, axes = plots.plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), squeeze=False)
    for ax, case in zip(axes.flat, cases, strict=False):
        b = bands[bands["case"] == case]
        ax.fill_between(b["day"], b["q05"], b["q95"], step="post", color=plots.PALETTE[0], alpha=0.3, label="5-95%")
        ax.step(b["day"], b["median"], where="post", color=plots.PALETTE[0], lw=1.5, label="median")
        for k, br in enumerate(brackets.get(case, [])):
            label = "bracket" if k == 0 else None
            if br.quantity == "median":
                ax.plot(
                    [br.lo, min(br.hi, b["day"].max())],
                    [0.5, 0.5],
                    color=plots.PALETTE[1],
                    lw=4,
                    alpha=0.8,
                    label=label,
                )
            elif re.fullmatch(r"s\d+", br.quantity):
                day = int(br.quantity[1:])
                ax.plot([day, day], [br.lo, br.hi], color=plots.PALETTE[1], lw=4, alpha=0.8, label=label)
        ax.set(ylim=(0, 1.02), xlim=(0, b["day"].max() * 1.02), title=case)
        ax.set_xlabel("days since the truce began", fontsize=8)
        ax.set_ylabel("share of worlds in truce", fontsize=8)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(cases) :]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7, frameon=False, loc="upper right")
    fig.tight_layout()
    return fig
