"""truce-sim: an agent-based simulator of truce survival under foreign backers' leverage.

The public API, for scripts and notebooks::

    import sim
    scenario = sim.load_scenario("scenarios/libya_2020_january.yaml", {"backers.russia.pressure": 0})
    result = sim.run_ensemble(scenario, replicates=2000, seed=7)
    result.summary["median_survival_days"], result.replicates, result.timeseries
    model = sim.TruceModel()          # one world of the founding case, stepped by hand
    model.step()
    sweep = sim.load_sweep("sweeps/libya_levers_sobol.yaml")
    points = sim.run_sweep(sweep, "results/sweeps/levers", workers=2).points
"""
from .ensemble import EnsembleResult, run_ensemble
from .model import TruceModel
from .scenario import Scenario, ScenarioError, load_scenario

__all__ = ["EnsembleResult", "Scenario", "ScenarioError", "TruceModel", "load_scenario", "load_sweep",
           "run_ensemble", "run_sweep"]


def __getattr__(name):
    # sweeps import lifelines and SALib; worker processes that only step worlds never need them
    if name == "load_sweep":
        from .sweep import load_sweep
        return load_sweep
    if name == "run_sweep":
        from .sweep_run import run_sweep
        return run_sweep
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
__version__ = "0.1.0"
