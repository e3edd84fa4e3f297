"""Model invariants for any valid scenario (hypothesis), extreme but legal values included.

Every run finishes; no value is NaN or infinite; control shares sum to 1; strength and support
stay >= 0; survival days lie in [1, horizon]; the Kaplan-Meier curve never rises; a world is the
same alone and in its batch. Examples are derandomised (the same on every run) and a failure
prints the blob that replays it (@reproduce_failure).
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from truce_sim.core.model import TruceModel
from truce_sim.core.scenario import Scenario
from truce_sim.runs.survival import kaplan_meier

pytestmark = pytest.mark.slow  # hundreds of generated ensembles

SETTINGS = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

unit = st.one_of(st.just(0.0), st.just(1.0), st.floats(0, 1))
nonneg = st.one_of(st.just(0.0), st.floats(0, 5))


@st.composite
def scenarios(draw):
    horizon = draw(st.integers(1, 40))
    n_factions = draw(st.integers(2, 4))
    names = [f"f{i}" for i in range(n_factions)]
    if draw(st.booleans()):  # one faction holds everything
        shares = [1.0] + [0.0] * (n_factions - 1)
    else:
        weights = draw(st.lists(st.floats(0.01, 1), min_size=n_factions, max_size=n_factions))
        shares = [w / sum(weights) for w in weights]
    factions = {}
    for name, share in zip(names, shares, strict=False):
        factions[name] = {
            "strength": draw(nonneg),
            "control": share,
            "cohesion": draw(unit),
            "demand": draw(unit),
            "war_cost": draw(nonneg),
            "grievance": draw(st.one_of(st.just(0.0), st.floats(0, 10))),
        }
        if draw(st.integers(0, 4)) == 0:  # an uncertain fact
            factions[name]["cohesion"] = {"uniform": [0.0, 1.0]}
    backers = {}
    for i in range(draw(st.integers(0, 6))):
        clients = draw(st.lists(st.sampled_from(names), min_size=1, max_size=n_factions, unique=True))
        support = draw(st.one_of(st.just(0.0), st.floats(0, 0.05)))
        backers[f"b{i}"] = {
            "clients": clients,
            "support": support,
            "max_support": support + draw(st.floats(0, 0.05)),
            "escalation": draw(unit),
            "truce_preference": draw(st.floats(-1, 1)),
            "pressure": draw(unit),
            "pressure_decay": draw(unit),
            "credibility": draw(unit),
        }
        if draw(st.booleans()):
            backers[f"b{i}"]["red_line"] = draw(unit)
    talks = draw(st.lists(st.integers(1, horizon), max_size=3, unique=True))
    events = []
    for day in draw(st.lists(st.sampled_from([1, horizon]), max_size=3)):  # first and last day
        target = draw(st.sampled_from(names))
        op = draw(st.sampled_from(["set", "scale", "add"]))
        value = draw(st.floats(0, 1)) if op != "add" else draw(st.floats(-2, 2))
        events.append({"day": day, op: {f"factions.{target}.cohesion": value}, "talks": draw(st.booleans())})
        if backers:
            events.append({"day": day, "scale": {"backers.*.pressure": draw(st.floats(0, 2))}})
    raw = {
        "name": "property",
        "horizon_days": horizon,
        "replicates": 5,
        "seed": draw(st.integers(0, 2**32)),
        "factions": factions,
        "backers": backers,
        "mediator": {"monitoring": draw(unit), "talks": talks},
        "events": events,
    }
    return Scenario.from_dict(raw), horizon


def run(scenario, horizon, ids):
    model = TruceModel(scenario, replicates=len(ids), replicate_ids=ids)
    for _ in range(horizon):
        model.step()
    return model


@SETTINGS
@given(scenarios())
def test_invariants_hold_for_any_valid_scenario(case):
    scenario, horizon = case
    model = run(scenario, horizon, np.arange(6))
    paths = {k: np.stack(v) for k, v in model.history.items()}
    for key, values in paths.items():
        if values.dtype.kind == "f":
            assert np.isfinite(values).all(), key
    control = sum(paths[f"control.{f.name}"] for f in model.factions)
    np.testing.assert_allclose(control, 1.0, atol=1e-9)
    for f in model.factions:
        assert (paths[f"strength.{f.name}"] >= 0).all() and (paths[f"violations.{f.name}"] >= 0).all()
        assert ((paths[f"power.{f.name}"] >= 0) & (paths[f"power.{f.name}"] <= 1)).all()
    for b in model.backers:
        assert (paths[f"support.{b.name}"] >= 0).all()
    table = model.world_table()
    for key, values in table.items():
        if np.asarray(values).dtype.kind == "f":
            assert np.isfinite(values).all(), key
    days = table["survival_days"]
    assert ((days >= 1) & (days <= horizon)).all()
    assert (days[~table["collapsed"]] == horizon).all()
    import pandas as pd

    curve = kaplan_meier(pd.DataFrame({"survival_days": days, "collapsed": table["collapsed"]})).survival_function_
    assert (np.diff(curve.iloc[:, 0].to_numpy()) <= 1e-12).all(), "the Kaplan-Meier curve rose"
    # determinism: world 4 alone is world 4 of the batch, on every recorded value
    alone = run(scenario, horizon, np.array([4]))
    for key, days_values in alone.history.items():
        np.testing.assert_array_equal(np.stack(days_values)[:, 0], paths[key][:, 4], err_msg=key)
