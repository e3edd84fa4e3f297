"""The explorer's levers map sliders to scenarios (no browser needed)."""

import json
import shlex
import subprocess
import sys

import numpy as np
import pandas as pd

import truce_sim as sim
from truce_sim.core.model import TruceModel
from truce_sim.levers import (
    ALL_BACKERS,
    WITHDRAW,
    lever_changes,
    lever_command,
    lever_groups,
    lever_scenario,
    lever_scenario_file,
    levers_of,
    scenario_values,
)
from truce_sim.runs.ensemble import run_ensemble

from .conftest import ROOT, SCENARIOS


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


def test_levers_are_grouped_by_actor_and_say_what_they_are():
    scenario = sim.load_scenario(SCENARIOS / "libya_2020_january.yaml")
    groups = lever_groups(levers_of(scenario))
    actors = [*scenario.factions, *scenario.backers, "mediator", ALL_BACKERS]
    assert list(groups) == actors  # in the scenario's order, one group per actor
    for group, members in groups.items():
        for lever in members:
            assert lever.help and lever.label, lever.key
            if group in scenario.backers:
                assert f"backers.{group}." in lever.key  # a backer's group holds only its own levers
    assert [lever.label for lever in groups["turkey"]] == ["support (x base)", "pressure", "conditions"]


def _what_if_values(scenario):
    levers = levers_of(scenario)
    values = scenario_values(levers)
    values.update(
        {
            "mediator.monitoring": 0.1 + 0.2,  # a slider's binary noise: 0.30000000000000004
            "scale.backers.patron_north.support": 2.0,
            "backers.patron_south.pressure": 0.05,
            WITHDRAW: 40,
        }
    )
    return levers, values


def test_the_copied_command_reproduces_the_what_if(tmp_path):
    base = sim.load_scenario(SCENARIOS / "stalemate_joint_pressure.yaml")
    levers, values = _what_if_values(base)
    command = lever_command("scenarios/stalemate_joint_pressure.yaml", levers, values, 150)
    words = shlex.split(command)
    assert words[:2] == ["python", "run.py"] and "--set" in words and "--scale" in words and "--event" in words
    assert "mediator.monitoring=0.3" in words  # the slider's noise is not copied
    out = tmp_path / "run"
    proc = subprocess.run(
        [sys.executable, *words[1:], "--out", str(out), "-q"], cwd=ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    by_command = pd.read_csv(out / "replicates.csv")
    in_explorer = run_ensemble(lever_scenario(base, values, levers), replicates=150, seed=base.seed).replicates
    as_loaded = run_ensemble(base, replicates=150, seed=base.seed).replicates
    assert list(by_command["survival_days"]) == list(in_explorer["survival_days"])
    assert list(by_command["survival_days"]) != list(as_loaded["survival_days"])  # the levers changed something
    summary = json.loads((out / "summary.json").read_text())
    assert "backers.patron_north.support*=2" in summary["what_if"]


def test_the_saved_scenario_file_reproduces_the_what_if(tmp_path):
    base = sim.load_scenario(SCENARIOS / "stalemate_joint_pressure.yaml")
    levers, values = _what_if_values(base)
    text = lever_scenario_file(base, levers, values)
    assert text.startswith("# stalemate_joint_pressure") and "#   mediator.monitoring=0.3" in text
    path = tmp_path / "saved.yaml"
    path.write_text(text)
    saved = sim.load_scenario(path)
    assert saved.name == "stalemate_joint_pressure_what_if"
    assert saved.what_if_changes == []  # the changes are now the file's own fields and events
    by_file = run_ensemble(saved, replicates=150, seed=base.seed).replicates
    in_explorer = run_ensemble(lever_scenario(base, values, levers), replicates=150, seed=base.seed).replicates
    assert list(by_file["survival_days"]) == list(in_explorer["survival_days"])


def test_levers_left_where_the_scenario_has_them_change_nothing():
    base = sim.load_scenario(SCENARIOS / "libya_2020_january.yaml")
    levers = levers_of(base)
    assert lever_changes(levers, scenario_values(levers)) == ([], [], [])
    assert lever_command("libya_2020_january", levers, scenario_values(levers), 500).endswith("-n 500")
