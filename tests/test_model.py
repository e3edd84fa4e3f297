"""The Mesa model: construction, one day's order, agent-order invariance, events, distributions."""

import mesa
import numpy as np
import pytest
import yaml

import truce_sim as sim
from truce_sim.core.agents import Backer, Faction, Mediator
from truce_sim.core.model import TruceModel
from truce_sim.core.scenario import BEHAVIOUR_FIELDS

from .conftest import SCENARIOS


def test_default_model_runs_ten_days():
    model = TruceModel()
    assert model.scenario.name == "libya_2020_january"
    for _ in range(10):
        model.step()
    assert model.steps == 10
    assert len(model.history["in_truce"]) == 11  # day 0 and ten days
    assert {type(a) for a in model.agents} == {Faction, Backer, Mediator}
    assert all(isinstance(a, mesa.Agent) for a in model.agents)
    control = sum(f.control for f in model.factions)
    np.testing.assert_allclose(control, 1.0)


def test_one_model_steps_many_worlds_as_arrays():
    model = TruceModel(replicates=64)
    for _ in range(5):
        model.step()
    for f in model.factions:
        assert f.strength.shape == (64,) and f.control.shape == (64,)
    # worlds draw from their own streams: they do not all see the same violations
    violations = np.stack(model.history["violations.gna"])
    assert len({tuple(col) for col in violations.T}) > 1


def _run(model, days):
    for _ in range(days):
        model.step()
    return model.world_table(), {k: np.stack(v) for k, v in model.history.items()}


def test_agent_order_never_changes_a_result():
    ordered = TruceModel(replicates=200)
    shuffled = TruceModel(replicates=200)
    shuffled.shuffle_agents = True  # Mesa's shuffle_do: a random activation order every day
    table_a, paths_a = _run(ordered, 60)
    table_b, paths_b = _run(shuffled, 60)
    for key in paths_a:
        np.testing.assert_array_equal(paths_a[key], paths_b[key], err_msg=key)
    for key in ("survival_days", "cause", "breaker", "violations_total"):
        np.testing.assert_array_equal(table_a[key], table_b[key])


def test_rng_must_be_an_int():
    with pytest.raises(TypeError):
        TruceModel(rng=np.random.default_rng(1))


def test_events_set_scale_and_add_on_their_day(tmp_path):
    text = (
        (SCENARIOS / "stalemate_joint_pressure.yaml").read_text()
        + """
events:
  - {day: 3, set: {backers.patron_north.support: 0.02}}
  - {day: 4, scale: {backers.*.pressure: 0}}
  - {day: 5, add: {factions.south.grievance: 2.0}}
"""
    )
    path = tmp_path / "events.yaml"
    path.write_text(text)
    model = TruceModel(sim.load_scenario(path), replicates=4)
    north, south = model.backers
    for day in range(1, 6):
        before_south_grievance = model.factions[1].grievance.copy()
        model.step()
        if day == 2:
            assert np.all(north.support == 0.004)
        if day == 3:
            assert np.all(north.support == 0.02) and np.all(south.support == 0.004)
        if day == 4:
            assert np.all(north.pressure == 0) and np.all(south.pressure == 0)
        if day == 5:
            # the added 2.0 is in, whatever else grievance did that day: it decays by at most
            # twice grievance_decay (at full trust) and only grows otherwise
            keep = 1 - 2 * BEHAVIOUR_FIELDS["grievance_decay"].default
            assert np.all(model.factions[1].grievance >= keep * before_south_grievance + 2.0 * keep)


def test_uncertain_facts_are_drawn_per_world_and_recorded(tmp_path):
    scenario = sim.load_scenario(
        SCENARIOS / "stalemate_joint_pressure.yaml",
        [
            "factions.north.cohesion={uniform: [0.2, 0.4]}",
            "backers.patron_south.pressure={triangular: [0.1, 0.5, 0.6]}",
            "factions.south.strength={normal: [1.0, 0.2]}",
        ],
    )
    model = TruceModel(scenario, replicates=2000)
    table = model.world_table()
    cohesion = table["factions.north.cohesion"]
    assert cohesion.min() >= 0.2 and cohesion.max() <= 0.4
    # uniform on [0.2, 0.4]: mean 0.3, sd 0.058; 2000 draws give a standard error of 0.0013
    assert abs(cohesion.mean() - 0.3) < 0.006
    pressure = table["backers.patron_south.pressure"]
    # triangular(0.1, 0.5, 0.6): mean (0.1 + 0.5 + 0.6) / 3 = 0.4, sd 0.108, se 0.0024
    assert abs(pressure.mean() - 0.4) < 0.012 and pressure.min() >= 0.1 and pressure.max() <= 0.6
    strength = table["factions.south.strength"]
    assert abs(strength.mean() - 1.0) < 0.02 and abs(strength.std() - 0.2) < 0.02
    np.testing.assert_array_equal(model.factions[0].cohesion, cohesion)
    # the same replicate draws the same facts in any batch
    alone = TruceModel(scenario, replicate_ids=[1234], replicates=1).world_table()
    assert alone["factions.north.cohesion"][0] == cohesion[1234]


def test_control_drawn_from_distributions_is_renormalised():
    scenario = sim.load_scenario(
        SCENARIOS / "stalemate_joint_pressure.yaml", ["factions.north.control={uniform: [0.3, 0.7]}"]
    )
    model = TruceModel(scenario, replicates=500)
    np.testing.assert_allclose(model.factions[0].control + model.factions[1].control, 1.0)
    assert model.factions[0].control.std() > 0.01


def test_collapse_records_day_cause_and_breaker():
    result = sim.run_ensemble(SCENARIOS / "syria_2016_september.yaml", replicates=300, steps=30)
    rows = result.replicates
    collapsed = rows[rows["collapsed"]]
    assert len(collapsed) > 0
    assert set(collapsed["cause"]) <= {"offensive", "violation_spiral"}
    assert set(collapsed["breaker"]) <= {"regime", "rebels"}
    assert (collapsed["survival_days"].between(1, 30)).all()
    held = rows[~rows["collapsed"]]
    assert (held["survival_days"] == 30).all() and (held["cause"] == "").all()


def test_a_first_edition_scenario_loads_with_defaults_for_the_new_facts(tmp_path):
    # the founding case as the first edition wrote it: no beliefs, announcements, spoilers,
    # alliances, cessations or terms; it must load unchanged and take the documented defaults
    from truce_sim.core.scenario import BACKER_FIELDS, FACTION_FIELDS, MEDIATOR_FIELDS

    text = (SCENARIOS / "libya_2020_january.yaml").read_text()
    text = text.replace(",\n        belief_bias: 0.1, belief_precision: 20}", "}")
    text = text.replace(" announced_support: 0.008,", "")
    data = yaml.safe_load(text)
    assert "belief_bias" not in data["factions"]["lna"], "test bug: edit did not apply"
    assert "announced_support" not in data["backers"]["turkey"], "test bug: edit did not apply"
    path = tmp_path / "first_edition.yaml"
    path.write_text(text)
    scenario = sim.load_scenario(path)
    lna = scenario.factions["lna"]
    for key in ("belief_bias", "belief_precision", "holding_benefit", "signatory"):
        assert lna[key] == FACTION_FIELDS[key].default, key
    assert list(lna["allies"]) == []  # everyone else an enemy, as before
    assert scenario.backers["turkey"]["announced_support"] is None  # counts as today's support
    assert scenario.backers["turkey"]["signs_for_clients"] == BACKER_FIELDS["signs_for_clients"].default
    assert scenario.mediator["settlement"] == MEDIATOR_FIELDS["settlement"].default == 1.0
    assert scenario.mediator["term_days"] == 0
    rows = sim.run_ensemble(scenario, replicates=200, steps=60).replicates
    assert rows["collapsed"].any() and {"deliberate", "nominal_days"} <= set(rows.columns)
