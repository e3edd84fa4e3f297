"""truce-sim: an agent-based simulator of truce survival under foreign backers' leverage.

The public API, for scripts and notebooks::

    import truce_sim
    scenario = truce_sim.load_scenario("libya_2020_january", {"backers.russia.pressure": 0})
    doubled = scenario.with_scales({"backers.turkey.support": 2})   # in the file and in its events
    uncertain = scenario.with_posterior("posterior.csv")  # constants drawn per world from a posterior
    result = truce_sim.run_ensemble(scenario, replicates=2000, seed=7)
    result.summary["median_survival_days"], result.replicates, result.timeseries
    model = truce_sim.TruceModel()          # one world of the founding case, stepped by hand
    model.step()
    sweep = truce_sim.load_sweep("libya_levers_sobol")
    points = truce_sim.run_sweep(sweep, "results/sweeps/levers", workers=2).points

Names are imported when first used, so that the command line starts fast and worker processes
that only step worlds never load the plotting and statistics libraries.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from truce_sim.core.version import package_version

__version__ = package_version()

_API = {
    "EnsembleResult": "truce_sim.runs.ensemble",
    "run_ensemble": "truce_sim.runs.ensemble",
    "TruceModel": "truce_sim.core.model",
    "Scenario": "truce_sim.core.scenario",
    "ScenarioError": "truce_sim.core.scenario",
    "load_scenario": "truce_sim.core.scenario",
    "Posterior": "truce_sim.core.posterior",
    "load_posterior": "truce_sim.core.posterior",
    "UserError": "truce_sim.core.errors",
    "MachineError": "truce_sim.core.errors",
    "write_run": "truce_sim.outputs.run_dir",
    "load_sweep": "truce_sim.sweeps.spec",
    "run_sweep": "truce_sim.sweeps.runner",
}
__all__ = [
    "EnsembleResult",
    "MachineError",
    "Posterior",
    "Scenario",
    "ScenarioError",
    "TruceModel",
    "UserError",
    "load_posterior",
    "load_scenario",
    "load_sweep",
    "run_ensemble",
    "run_sweep",
    "write_run",
]

if TYPE_CHECKING:
    from truce_sim.core.errors import MachineError, UserError
    from truce_sim.core.model import TruceModel
    from truce_sim.core.posterior import Posterior, load_posterior
    from truce_sim.core.scenario import Scenario, ScenarioError, load_scenario
    from truce_sim.outputs.run_dir import write_run
    from truce_sim.runs.ensemble import EnsembleResult, run_ensemble
    from truce_sim.sweeps.runner import run_sweep
    from truce_sim.sweeps.spec import load_sweep


def __getattr__(name: str):
    if name in _API:
        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'truce_sim' has no attribute {name!r}")
