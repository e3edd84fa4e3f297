"""truce-sim: an agent-based simulator of truce survival under foreign backers' leverage.

The public API, for scripts and notebooks::

    import sim
    scenario = sim.load_scenario("scenarios/libya_2020_january.yaml", {"backers.russia.pressure": 0})
    result = sim.run_ensemble(scenario, replicates=2000, seed=7)
    result.summary["median_survival_days"], result.replicates, result.timeseries
    model = sim.TruceModel()          # one world of the founding case, stepped by hand
    model.step()
"""
from .ensemble import EnsembleResult, run_ensemble
from .model import TruceModel
from .scenario import Scenario, ScenarioError, load_scenario

__all__ = ["EnsembleResult", "Scenario", "ScenarioError", "TruceModel", "load_scenario", "run_ensemble"]
__version__ = "0.1.0"
