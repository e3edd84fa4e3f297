"""The explorer's levers map sliders to scenarios (no browser needed)."""

import numpy as np

import truce_sim as sim
from truce_sim.core.model import TruceModel
from truce_sim.levers import WITHDRAW, lever_scenario, levers_of
from truce_sim.runs.ensemble import run_ensemble

from .conftest import SCENARIOS


def test_levers_of_the_founding_case():
    scenario = sim.load_scenario(SCENARIOS / "libya_2020_january.yaml")
    keys = [lever.key for lever in levers_of(scenario)]
    assert keys[:2] == ["factions.gna.strength", "factions.lna.strength"]
    for backer in ("turkey", "russia", "uae", "egypt"):
        assert f"scale.backers.{backer}.support" in keys and f"backers.{backer}.pressure" in keys
    assert "mediator.monitoring" in keys and keys[-1] == WITHDRAW
    for lever in levers_of(scenario):
        assert lever.lo <= lever.value <= lever.hi  # every slider starts inside its range


def test_lever_values_make_the_scenario():
    base = sim.load_scenario(SCENARIOS / "stalemate_joint_pressure.yaml")
    scenario = lever_scenario(base, {"mediator.monitoring": 0.7, "backers.patron_north.pressure": 0.1, WITHDRAW: 20})
    assert scenario.mediator["monitoring"] == 0.7
    assert scenario.backers["patron_north"]["pressure"] == 0.1
    assert base.mediator["monitoring"] == 0.2  # the base is untouched
    model = TruceModel(scenario, replicates=3)
    for day in range(1, 21):
        model.step()
        pressure = [b.pressure for b in model.backers]
        if day < 20:
            assert all(np.all(p > 0) for p in pressure)
    assert all(np.all(p == 0) for p in pressure)  # withdrawn on day 20


def test_no_withdrawal_day_means_no_event():
    base = sim.load_scenario(SCENARIOS / "stalemate_joint_pressure.yaml")
    assert len(lever_scenario(base, {WITHDRAW: 0}).events) == len(base.events)


def test_a_support_lever_is_live_where_events_set_support():
    # the founding case's events set Turkish support on days 1, 45 and 110: a lever that only
    # replaced the file's value would be undone on day 1
    base = sim.load_scenario(SCENARIOS / "libya_2020_january.yaml")
    lever = next(lever for lever in levers_of(base) if lever.key == "scale.backers.turkey.support")
    assert (lever.lo, lever.value, lever.hi) == (0.0, 1.0, 4.0)
    assert lever_scenario(base, {lever.key: 1.0}).to_yaml_dict() == base.to_yaml_dict()
    doubled = lever_scenario(base, {lever.key: 2.0})
    assert doubled.backers["turkey"]["support"] == 2 * base.backers["turkey"]["support"]
    sets = [(e.day, e.set["backers.turkey.support"]) for e in base.events if "backers.turkey.support" in e.set]
    assert sets, "the founding case no longer sets Turkish support by events"
    assert [(e.day, e.set["backers.turkey.support"]) for e in doubled.events if "backers.turkey.support" in e.set] == [
        (day, 2 * value) for day, value in sets
    ]
    as_loaded = run_ensemble(base, replicates=200, seed=5, steps=60).replicates
    moved = run_ensemble(doubled, replicates=200, seed=5, steps=60).replicates
    assert not as_loaded["survival_days"].equals(moved["survival_days"])
