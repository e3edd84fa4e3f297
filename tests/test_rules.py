"""Unit tests of the plain rule functions (truce_sim/core/rules.py) and the per-world streams
(truce_sim/core/streams.py).

Expected values are computed by hand from the formulas in the docstrings; the comment beside each
says how. Rules that take the behaviour dict ``b`` get the defaults from
``sim.scenario.BEHAVIOUR_FIELDS`` with the constants that matter set explicitly by the test, so
the hand computations do not depend on the tuned values in defaults.yaml.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from truce_sim.core import rules
from truce_sim.core.scenario import BEHAVIOUR_FIELDS
from truce_sim.core.streams import WorldStreams, poisson_from_uniform


def behaviour(**changes) -> dict:
    b = {key: f.default for key, f in BEHAVIOUR_FIELDS.items()}
    unknown = set(changes) - set(b)
    assert not unknown, f"test bug: no behaviour constants {unknown}"
    b.update(changes)
    return b


def col(*values) -> np.ndarray:
    """Values over factions for one world: shape (F, 1)."""
    return np.array(values, dtype=float)[:, None]


def test_behaviour_defaults_are_complete():
    # every constant the rules read below exists and has a default inside its own range
    for key in (
        "spoiler_violation_rate",
        "authorised_violation_rate",
        "titfortat",
        "grievance_violation_weight",
        "monitoring_deterrence",
        "signed_violation_damp",
        "consolidation_violation_damp",
        "max_violation_rate",
        "sign_tolerance",
        "sign_leverage_weight",
        "sign_noise",
        "defence_advantage",
        "success_steepness",
        "projection_days",
        "belief_spread",
        "monitoring_evidence",
        "mobilisation_days",
        "offensive_threshold",
        "waiting_weight",
        "red_line_width",
        "offensive_reach",
        "violate_share",
        "monitoring_cost",
        "nominal_threshold",
        "spiral_threshold",
    ):
        f = BEHAVIOUR_FIELDS[key]
        assert f.lo <= f.default <= f.hi, key


# --- contest_power ---------------------------------------------------------------------------
def test_contest_power_shares_sum_to_one():
    strength = np.array([[1.0, 5.0, 0.3], [2.0, 0.1, 0.3], [4.0, 2.0, 0.0]])  # 3 factions x 3 worlds
    power = rules.contest_power(strength, 1.5)
    np.testing.assert_allclose(power.sum(axis=0), 1.0)
    assert (power >= 0).all()


def test_contest_power_equal_strengths_equal_shares():
    # s_i^a identical for all i: each gets 1/F whatever the exponent
    np.testing.assert_allclose(rules.contest_power(col(2.0, 2.0), 1.5), col(0.5, 0.5))
    np.testing.assert_allclose(rules.contest_power(col(0.7, 0.7, 0.7), 3.0), col(1, 1, 1) / 3)


def test_contest_power_exponent_sharpens_an_edge():
    # strengths 2:1 -> exponent 1: 2/3, 1/3; exponent 2: 4/5, 1/5
    np.testing.assert_allclose(rules.contest_power(col(2.0, 1.0), 1.0), col(2 / 3, 1 / 3))
    np.testing.assert_allclose(rules.contest_power(col(2.0, 1.0), 2.0), col(0.8, 0.2))
    soft = rules.contest_power(col(2.0, 1.0), 0.5)[0, 0]
    hard = rules.contest_power(col(2.0, 1.0), 5.0)[0, 0]
    # sqrt(2)/(sqrt(2)+1) = 0.586; 32/33 = 0.970
    assert soft == pytest.approx(math.sqrt(2) / (math.sqrt(2) + 1))
    assert hard == pytest.approx(32 / 33)


def test_contest_power_all_zero_splits_equally():
    # 0/0 in every share: by the docstring's rule the world is split equally, not NaN
    strength = np.array([[0.0, 1.0], [0.0, 3.0], [0.0, 0.0]])
    with np.errstate(all="raise"):  # no division warnings either
        power = rules.contest_power(strength, 1.5)
    np.testing.assert_allclose(power[:, 0], [1 / 3, 1 / 3, 1 / 3])
    # the second world is a normal contest: 1 : 3^1.5 : 0
    w = np.array([1.0, 3.0**1.5, 0.0])
    np.testing.assert_allclose(power[:, 1], w / w.sum())


def test_contest_power_negative_strength_counts_as_zero():
    np.testing.assert_allclose(rules.contest_power(col(-1.0, 1.0), 1.0), col(0.0, 1.0))


# --- coalition_power, contest_parity -------------------------------------------------------------
ENEMIES_2 = 1 - np.eye(2)


def test_coalition_power_two_factions_is_contest_power():
    # with two factions each one's enemy is the other, and C^a / (C^a + K^a) is s_i^a / sum s^a
    rng = np.random.default_rng(3)
    strength = rng.uniform(0, 5, size=(2, 400))
    strength[:, :5] = [[0.0, 1.0, 0.0, 2.0, 1e-9], [0.0, 0.0, 3.0, 2.0, 1.0]]  # zeros and a tie
    for exponent in (0.5, 1.0, 1.5, 4.0):
        np.testing.assert_allclose(
            rules.coalition_power(strength, ENEMIES_2, exponent), rules.contest_power(strength, exponent), atol=1e-12
        )


def test_coalition_power_allies_pool_strength():
    # factions 0 and 1 allied against 2, all of strength 1, exponent 1.5:
    # the coalition holds (1 + 1)^1.5 / ((1 + 1)^1.5 + 1) = 2.828 / 3.828 = 0.739
    enemies = np.array([[0, 0, 1], [0, 0, 1], [1, 1, 0]], dtype=float)
    power = rules.coalition_power(col(1.0, 1.0, 1.0), enemies, 1.5)
    pooled = 2**1.5 / (2**1.5 + 1)
    np.testing.assert_allclose(power, col(pooled, pooled, 1 - pooled))
    # each ally alone against the third would hold 1/2: the coalition is stronger than either
    alone = rules.contest_power(col(1.0, 1.0), 1.5)[0, 0]
    assert alone == pytest.approx(0.5) and power[0, 0] > alone and power[1, 0] > alone
    # all against all (no alliance): each faces both others, 1 / (1 + 2^1.5) = 0.261
    lone = rules.coalition_power(col(1.0, 1.0, 1.0), 1 - np.eye(3), 1.5)
    np.testing.assert_allclose(lone, col(1, 1, 1) / (1 + 2**1.5))


def test_coalition_power_zero_strength():
    with np.errstate(all="raise"):  # no division or overflow warnings
        two = rules.coalition_power(np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 3.0]]), ENEMIES_2, 1.5)
        three = rules.coalition_power(np.zeros((3, 2)), 1 - np.eye(3), 1.5)
    # nobody has strength: an even contest; one side has none: it has no power
    np.testing.assert_allclose(two, [[0.5, 1.0, 0.0], [0.5, 0.0, 1.0]])
    np.testing.assert_allclose(three, 0.5)
    # negative strength counts as zero
    np.testing.assert_allclose(rules.coalition_power(col(-1.0, 1.0), ENEMIES_2, 1.0), col(0.0, 1.0))


def test_coalition_power_without_enemies_is_whole():
    # allied with everyone: nobody to contest, so its power is 1 (the docstring's rule), with two
    # factions as with three
    np.testing.assert_allclose(rules.coalition_power(col(1.0, 2.0), np.zeros((2, 2)), 1.5), col(1.0, 1.0))
    np.testing.assert_allclose(rules.coalition_power(col(1.0, 2.0, 0.5), np.zeros((3, 3)), 1.5), col(1.0, 1.0, 1.0))


def test_contest_parity():
    # 1 - |2P - 1|: an even contest 1, all-or-nothing 0, 0.75 -> 0.5
    np.testing.assert_allclose(rules.contest_parity(np.array([0.5, 1.0, 0.0, 0.75, 0.25])), [1, 0, 0, 0.5, 0.5])
    # with two factions it is the parity against the rival, 1 - |P_i - P_j|
    power = rules.contest_power(np.random.default_rng(1).uniform(0, 3, size=(2, 200)), 1.5)
    np.testing.assert_allclose(rules.contest_parity(power), 1.0 - np.abs(power - power[::-1]))


# --- the balance ahead and beliefs ---------------------------------------------------------------
@pytest.mark.parametrize("turnover", [0.0, 0.01, 0.1, 0.5])
@pytest.mark.parametrize("horizon", [0, 1, 7, 60])
def test_projected_strength_is_iterated_strength_after_day(turnover, horizon):
    # the closed form must equal H days of strength_after_day with no losses: that is what it
    # claims to be, and the day rule is tested by hand above
    strength = np.array([0.0, 0.5, 1.0, 3.0])
    supply = np.array([0.02, 0.0, 0.01, 0.05])
    day = strength.copy()
    for _ in range(horizon):
        day = rules.strength_after_day(day, supply, np.zeros_like(day), turnover)
    np.testing.assert_allclose(rules.projected_strength(strength, supply, turnover, horizon), day, rtol=1e-9)


def test_projected_strength_hand_values():
    # turnover 0: nothing wears out, supply adds up: 1 + 0.02 x 10 = 1.2
    assert rules.projected_strength(np.array([1.0]), 0.02, 0.0, 10)[0] == pytest.approx(1.2)
    # supply equal to wear keeps strength: s_inf = 0.01 / 0.01 = 1
    assert rules.projected_strength(np.array([1.0]), 0.01, 0.01, 365)[0] == pytest.approx(1.0)
    # long horizons approach s_inf = supply / turnover = 3
    assert rules.projected_strength(np.array([1.0]), 0.03, 0.01, 5000)[0] == pytest.approx(3.0)
    # turnover per world, some 0: each world by its own rule
    out = rules.projected_strength(np.array([1.0, 1.0]), np.array([0.02, 0.02]), np.array([0.0, 0.01]), 10)
    np.testing.assert_allclose(out, [1.2, 2.0 + (1.0 - 2.0) * 0.99**10])


def test_belief_bias():
    prior = np.array([0.2, -0.3, 0.0])
    # no evidence leaves the prior; evidence equal to the precision halves it
    np.testing.assert_allclose(rules.belief_bias(prior, 30.0, 0.0), prior)
    np.testing.assert_allclose(rules.belief_bias(prior, 30.0, 30.0), prior / 2)
    # 3 x precision: a quarter
    np.testing.assert_allclose(rules.belief_bias(prior, 10.0, 30.0), prior / 4)
    # it shrinks toward 0 with evidence, keeping its sign
    evidence = np.linspace(0, 500, 51)
    left = rules.belief_bias(0.2, 30.0, evidence)
    assert (np.diff(left) < 0).all() and (left > 0).all() and left[-1] < 0.02


# --- the value of an offensive ------------------------------------------------------------------
def test_success_chance_even_contest_without_defence_advantage():
    for m in (0.5, 1.0, 2.0, 5.0):
        assert rules.success_chance(np.array([0.5]), 1.0, m)[0] == pytest.approx(0.5)


def test_success_chance_defence_advantage_needs_local_superiority():
    # at parity with d = 1.5, m = 2: 0.5^2 / (0.5^2 + 0.75^2) = 1 / (1 + 2.25) = 0.3077
    assert rules.success_chance(np.array([0.5]), 1.5, 2.0)[0] == pytest.approx(1 / 3.25)
    # an even chance needs P / (1 - P) = d: P = 0.6 at d = 1.5
    assert rules.success_chance(np.array([0.6]), 1.5, 2.0)[0] == pytest.approx(0.5)
    for d in (1.2, 2.0, 5.0):
        assert rules.success_chance(np.array([0.5]), d, 2.0)[0] < 0.5


def test_success_chance_increasing_in_power_and_bounded():
    power = np.linspace(0.0, 1.0, 101)
    p = rules.success_chance(power, 1.5, 2.0)
    assert (np.diff(p) > 0).all()
    assert ((p >= 0) & (p <= 1)).all() and np.isfinite(p).all()  # P = 0 and 1 are clipped, not 0/0
    assert p[0] < 1e-12 and p[-1] > 1 - 1e-12


def test_success_chance_steeper_with_steepness():
    # d = 1: the even point is P = 1/2; higher m moves every chance away from 1/2
    strong, weak = np.array([0.6]), np.array([0.4])
    by_m = [(rules.success_chance(strong, 1.0, m)[0], rules.success_chance(weak, 1.0, m)[0]) for m in (1, 2, 4, 8)]
    assert all(a[0] < b[0] and a[1] > b[1] for a, b in zip(by_m, by_m[1:], strict=False)), by_m
    # m = 1, d = 1 is the balance itself
    assert by_m[0][0] == pytest.approx(0.6)


def test_within_reach():
    control = np.array([0.5, 0.5, 0.5, 0.2, 0.9])
    target = np.array([0.4, 0.5, 0.6, 1.0, 1.0])
    # held already: 0, 0; a target 0.1 away within reach 0.3 x 0.5: 0.1;
    # far targets capped by reach x what the rivals hold: 0.3 x 0.8, 0.3 x 0.1
    np.testing.assert_allclose(rules.within_reach(control, target, 0.3), [0.0, 0.0, 0.1, 0.24, 0.03])
    assert rules.within_reach(np.array([0.3]), np.array([0.9]), 0.0)[0] == 0.0


B_TERMS = dict(
    offensive_reach=0.3,
    gain_weight=30.0,
    demand_weight=15.0,
    preventive_weight=20.0,
    grievance_weight=0.5,
    waiting_weight=30.0,
    war_cost_weight=1.0,
    ripeness_weight=0.5,
    offensive_threshold=4.0,
)


def terms(
    p=0.5, control=0.5, believed=0.5, demand=0.5, shift=0.0, grievance=0.0, war_cost=1.0, parity=1.0, readiness=0.0, **b
):
    a = lambda x: np.array([float(x)])  # noqa: E731
    out = rules.offensive_terms(
        a(p),
        a(control),
        a(believed),
        a(demand),
        a(shift),
        a(grievance),
        a(war_cost),
        a(parity),
        a(readiness),
        behaviour(**{**B_TERMS, **b}),
    )
    return {k: v[0] for k, v in out.items()}


def test_offensive_terms_hand_values():
    t = terms(
        p=0.8,
        control=0.4,
        believed=0.55,
        demand=0.7,
        shift=-0.05,
        grievance=1.0,
        war_cost=2.0,
        parity=0.6,
        readiness=0.25,
    )
    assert t["gain"] == pytest.approx(30 * 0.8 * 0.15)  # believed 0.55 - 0.4 = 0.15 < reach 0.3 x 0.6
    assert t["demand"] == pytest.approx(15 * 0.8 * 0.18)  # 0.7 - 0.4 = 0.3, capped at 0.3 x 0.6 = 0.18
    assert t["preventive"] == pytest.approx(20 * 0.05)  # the balance turns against it by 0.05
    assert t["waiting"] == 0.0
    assert t["grievance"] == pytest.approx(0.5 * 0.5)  # 1 / (1 + 1)
    assert t["cost"] == pytest.approx(2.0 * 1.0 * (1 + 0.5 * 0.6))
    assert t["mobilisation"] == pytest.approx(4.0 * 0.75)
    assert set(t) == {"gain", "demand", "preventive", "grievance", "waiting", "cost", "mobilisation"}


def test_offensive_terms_shift_gives_preventive_or_waiting():
    falling, rising, still = terms(shift=-0.1), terms(shift=0.1), terms(shift=0.0)
    assert falling["preventive"] == pytest.approx(2.0) and falling["waiting"] == 0.0
    assert rising["waiting"] == pytest.approx(3.0) and rising["preventive"] == 0.0
    assert still["preventive"] == still["waiting"] == 0.0


def test_offensive_terms_readiness_removes_the_mobilisation_cost():
    assert terms(readiness=0.0)["mobilisation"] == pytest.approx(4.0)
    assert terms(readiness=1.0)["mobilisation"] == 0.0
    assert terms(readiness=0.0, offensive_threshold=0.0)["mobilisation"] == 0.0


def test_offensive_terms_are_never_negative():
    rng = np.random.default_rng(5)
    n = 2000
    u = lambda lo=0.0, hi=1.0: rng.uniform(lo, hi, n)  # noqa: E731
    out = rules.offensive_terms(
        u(), u(), u(-0.5, 1.5), u(), u(-1, 1), u(0, 10), u(0, 5), u(), u(), behaviour(**B_TERMS)
    )
    for key, value in out.items():
        assert (value >= 0).all(), key
    assert set(rules.TERMS) == set(rules.OFFENSIVE_TERMS) | set(rules.RESTRAINT_TERMS)


def test_offensive_value_is_pushes_minus_restraints():
    base = {k: np.array([1.0]) for k in rules.TERMS}
    # four pushes and eight restraints of 1 each: 4 - 8
    assert rules.offensive_value(base)[0] == pytest.approx(len(rules.OFFENSIVE_TERMS) - len(rules.RESTRAINT_TERMS))
    for key in rules.TERMS:
        raised = {**base, key: np.array([3.0])}
        change = rules.offensive_value(raised)[0] - rules.offensive_value(base)[0]
        # a push raises the value by what it adds; a restraint lowers it by as much
        assert change == pytest.approx(2.0 if key in rules.OFFENSIVE_TERMS else -2.0), key
    # missing terms count as 0
    assert rules.offensive_value({"gain": np.array([2.0]), "cost": np.array([0.5])})[0] == pytest.approx(1.5)


def test_violate_value():
    b = behaviour(violate_share=0.5, violate_threshold=1.0, monitoring_cost=2.0)
    t = {k: np.array([0.0]) for k in rules.TERMS}
    t.update(gain=np.array([5.0]), cost=np.array([1.0]), mobilisation=np.array([4.0]), red_line=np.array([3.0]))
    # half of (5 - 1), without mobilisation and red line, minus the threshold: 2 - 1 = 1
    assert rules.violate_value(t, np.array([0.0]), b)[0] == pytest.approx(1.0)
    # neither mobilisation nor a red line touches it
    for key in ("mobilisation", "red_line"):
        assert rules.violate_value({**t, key: np.array([50.0])}, np.array([0.0]), b)[0] == pytest.approx(1.0)
    # every other restraint does, by its share: a signature cost of 1 takes 0.5
    assert rules.violate_value({**t, "signature": np.array([1.0])}, np.array([0.0]), b)[0] == pytest.approx(0.5)
    # verified attribution costs monitoring_cost per unit of monitoring: 1 - 2 x 0.25
    assert rules.violate_value(t, np.array([0.25]), b)[0] == pytest.approx(0.5)
    # the offensive's own value still counts mobilisation and red line: 5 - 1 - 4 - 3
    assert rules.offensive_value(t)[0] == pytest.approx(-3.0)


def test_readiness_climbs_while_intent_and_falls_otherwise():
    r = np.zeros(3)
    intent = np.array([1.0, 0.0, -1.0])
    r = rules.readiness_after_day(r, intent, 10)
    np.testing.assert_allclose(r, [0.1, 0.0, 0.0])  # climbs 1/10 a day; never below 0
    for _ in range(9):
        r = rules.readiness_after_day(r, np.ones(3), 10)
    np.testing.assert_allclose(r, [1.0, 0.9, 0.9])  # ten days of intent: fully mobilised
    r = rules.readiness_after_day(r, np.ones(3), 10)
    assert (r <= 1.0).all() and r[0] == 1.0  # clipped at 1
    r = rules.readiness_after_day(r, np.array([0.0, -5.0, 2.0]), 10)
    np.testing.assert_allclose(r, [0.9, 0.9, 1.0])  # stands down as fast as it climbs (intent 0 too)
    # mobilisation_days below 1 counts as one day
    assert rules.readiness_after_day(np.array([0.0]), np.array([1.0]), 0.2)[0] == 1.0


# --- talks -------------------------------------------------------------------------------------
def test_cessation_probability():
    assert rules.cessation_probability(np.array([0.0]), 0.1)[0] == pytest.approx(0.5)
    # intent noise x ln 3 -> 1 / (1 + 3) = 1/4; the opposite -> 3/4
    assert rules.cessation_probability(np.array([0.1 * math.log(3)]), 0.1)[0] == pytest.approx(0.25)
    assert rules.cessation_probability(np.array([-0.1 * math.log(3)]), 0.1)[0] == pytest.approx(0.75)
    intent = np.linspace(-100, 100, 401)
    with np.errstate(all="raise"):
        p = rules.cessation_probability(intent, 0.1)
    assert (np.diff(p) <= 0).all() and p[0] > p[-1]
    assert p[0] == pytest.approx(1.0) and p[-1] == pytest.approx(0.0, abs=1e-12)


# --- choice_probabilities, choose ------------------------------------------------------------------
def test_choice_probabilities_rows_sum_to_one():
    v = np.array([-3.0, 0.0, 2.5, 40.0])
    o = np.array([1.0, 0.0, -2.0, 45.0])
    p = rules.choice_probabilities(v, o, 0.5)
    assert p.shape == (3, 4)
    np.testing.assert_allclose(p.sum(axis=0), 1.0)
    assert np.isfinite(p).all() and (p >= 0).all()


def test_choice_probabilities_hand_values():
    # all values 0: uniform over three choices
    np.testing.assert_allclose(rules.choice_probabilities(np.array([0.0]), np.array([0.0]), 1.0)[:, 0], [1 / 3] * 3)
    # values (0, ln 2, 0) at noise 1: weights 1, 2, 1 -> 1/4, 1/2, 1/4
    p = rules.choice_probabilities(np.array([math.log(2)]), np.array([0.0]), 1.0)[:, 0]
    np.testing.assert_allclose(p, [0.25, 0.5, 0.25])
    # the same at noise 2 needs values 2 ln 2 (only value / noise matters)
    p2 = rules.choice_probabilities(np.array([2 * math.log(2)]), np.array([0.0]), 2.0)[:, 0]
    np.testing.assert_allclose(p2, [0.25, 0.5, 0.25])


def test_choice_probabilities_higher_value_higher_probability():
    p = rules.choice_probabilities(np.array([0.5]), np.array([1.5]), 0.5)[:, 0]
    assert p[rules.OFFENSIVE] > p[rules.VIOLATE] > p[rules.HOLD]


def test_choice_probabilities_large_values_do_not_overflow():
    # exp(1000) overflows; the max is subtracted first, so the offensive gets ~all the mass
    p = rules.choice_probabilities(np.array([0.0]), np.array([1000.0]), 0.5)[:, 0]
    np.testing.assert_allclose(p, [0.0, 0.0, 1.0])


def test_choice_probabilities_more_noise_flattens():
    v, o = np.array([1.0]), np.array([2.0])
    spreads = [np.ptp(rules.choice_probabilities(v, o, noise)[:, 0]) for noise in (0.25, 0.5, 1.0, 4.0)]
    assert all(a > b for a, b in zip(spreads, spreads[1:], strict=False)), spreads
    # noise -> large: every choice tends to 1/3
    np.testing.assert_allclose(rules.choice_probabilities(v, o, 1e6)[:, 0], [1 / 3] * 3, atol=1e-5)


def test_choose_at_the_cut_points():
    # probabilities 0.2 / 0.3 / 0.5: cumulative cut points 0.2 and 0.5
    u = np.array([0.01, 0.19, 0.21, 0.49, 0.51, 0.99])
    p = np.repeat(np.array([[0.2], [0.3], [0.5]]), len(u), axis=1)
    chosen = rules.choose(p, u)
    np.testing.assert_array_equal(chosen, [0, 0, 1, 1, 2, 2])
    assert chosen.dtype == np.int8


def test_choose_never_picks_an_impossible_choice():
    # violate has probability 0: no u lands on it
    u = np.linspace(0.001, 0.999, 999)
    p = np.repeat(np.array([[0.4], [0.0], [0.6]]), len(u), axis=1)
    chosen = rules.choose(p, u)
    assert set(np.unique(chosen)) == {rules.HOLD, rules.OFFENSIVE}
    assert (chosen[u < 0.4] == rules.HOLD).all() and (chosen[u > 0.4] == rules.OFFENSIVE).all()


def test_choose_frequencies_match_probabilities():
    u = (np.arange(100_000) + 0.5) / 100_000  # evenly spread: frequencies equal the widths
    p = np.repeat(np.array([[0.1], [0.25], [0.65]]), len(u), axis=1)
    counts = np.bincount(rules.choose(p, u), minlength=3) / len(u)
    np.testing.assert_allclose(counts, [0.1, 0.25, 0.65], atol=1e-4)


# --- violation_rate ------------------------------------------------------------------------------
B_VIOL = dict(
    spoiler_violation_rate=1.0,
    authorised_violation_rate=2.0,
    titfortat=0.1,
    grievance_violation_weight=1.0,
    monitoring_deterrence=0.6,
    signed_violation_damp=0.3,
    consolidation_violation_damp=0.5,
    max_violation_rate=50.0,
)


def rate(cohesion=0.5, authorised=0.0, rival_memory=0.0, grievance=0.0, monitoring=0.0, signed=0.0, trust=0.0, **b):
    a = lambda x: np.array([float(x)])  # noqa: E731
    return rules.violation_rate(
        a(cohesion),
        a(authorised),
        a(rival_memory),
        a(grievance),
        a(monitoring),
        a(signed),
        a(trust),
        behaviour(**{**B_VIOL, **b}),
    )[0]


def test_violation_rate_hand_values():
    # base = 1.0 x (1 - 0.5) = 0.5, no spur, no damping
    assert rate() == pytest.approx(0.5)
    # authorised adds 2.0: 2.5
    assert rate(authorised=1) == pytest.approx(2.5)
    # 10 remembered rival violations x 0.1: spur 2 -> 1.0
    assert rate(rival_memory=10) == pytest.approx(1.0)
    # grievance 1 saturates to 1/2: spur 1.5 -> 0.75
    assert rate(grievance=1) == pytest.approx(0.75)
    # full monitoring removes 60%: 0.2; a signature 30%: 0.35; full trust 50%: 0.25
    assert rate(monitoring=1) == pytest.approx(0.2)
    assert rate(signed=1) == pytest.approx(0.35)
    assert rate(trust=1) == pytest.approx(0.25)
    # the damping factors multiply: 0.5 x 0.4 x 0.7 x 0.5 = 0.07
    assert rate(monitoring=1, signed=1, trust=1) == pytest.approx(0.07)


def test_violation_rate_falls_with_monitoring_signature_trust():
    for key in ("monitoring", "signed", "trust"):
        values = [rate(authorised=1, **{key: x}) for x in (0.0, 0.3, 0.6, 1.0)]
        assert all(a > b for a, b in zip(values, values[1:], strict=False)), (key, values)


def test_violation_rate_rises_with_lower_cohesion_and_rival_memory():
    by_cohesion = [rate(cohesion=c) for c in (1.0, 0.8, 0.5, 0.0)]
    assert all(a < b for a, b in zip(by_cohesion, by_cohesion[1:], strict=False)), by_cohesion
    assert by_cohesion[0] == 0.0  # full cohesion, nothing authorised: no spoilers at all
    by_memory = [rate(rival_memory=m) for m in (0, 1, 5, 20)]
    assert all(a < b for a, b in zip(by_memory, by_memory[1:], strict=False)), by_memory


def test_violation_rate_is_capped():
    # uncapped: (0.5 + 2) x (1 + 0.1 x 1000) = 252.5 > 50
    assert rate(authorised=1, rival_memory=1000) == 50.0
    assert rate(authorised=1, rival_memory=1000, max_violation_rate=7.5) == 7.5
    # below the cap the cap does nothing
    assert rate(authorised=1, max_violation_rate=7.5) == pytest.approx(2.5)


# --- combat ------------------------------------------------------------------------------------
def test_lanchester_square_law():
    # each loses attrition x enemies' strength: 0.1 x 3 = 0.3 and 0.1 x 2 = 0.2
    losses = rules.lanchester_losses(col(2.0, 3.0), np.array([1.0]), 0.1)
    np.testing.assert_allclose(losses, col(0.3, 0.2))
    # doubling the enemy doubles my losses, whatever my own strength
    a = rules.lanchester_losses(col(2.0, 3.0), np.array([1.0]), 0.01)[0, 0]
    b = rules.lanchester_losses(col(5.0, 6.0), np.array([1.0]), 0.01)[0, 0]
    assert b == pytest.approx(2 * a)


def test_lanchester_three_factions_sum_all_enemies():
    # enemies of each: 2+3, 1+3, 1+2
    losses = rules.lanchester_losses(col(1.0, 2.0, 3.0), np.array([1.0]), 0.01)
    np.testing.assert_allclose(losses, col(0.05, 0.04, 0.03))


def test_lanchester_no_losses_where_not_fighting():
    strength = np.array([[2.0, 2.0], [3.0, 3.0]])
    losses = rules.lanchester_losses(strength, np.array([False, True]), 0.1)
    np.testing.assert_array_equal(losses[:, 0], [0.0, 0.0])
    np.testing.assert_allclose(losses[:, 1], [0.3, 0.2])


def test_lanchester_never_more_than_own_strength():
    # attrition 1: 0.1 would lose 5, 5 would lose 0.1; the first is capped at its 0.1
    losses = rules.lanchester_losses(col(0.1, 5.0), np.array([1.0]), 1.0)
    np.testing.assert_allclose(losses, col(0.1, 0.1))


def transfers_of(n: int, worlds: int, moves: dict) -> np.ndarray:
    """An (F, F, R) transfer array: ``moves[(i, j)]`` is the share moved from j to i, per world."""
    t = np.zeros((n, n, worlds))
    for (i, j), share in moves.items():
        t[i, j] = share
    return t


def test_control_after_combat_no_transfers_no_change():
    control = np.array([[0.5, 0.2], [0.3, 0.3], [0.2, 0.5]])
    moved = rules.control_after_combat(control, transfers_of(3, 2, {}))
    np.testing.assert_array_equal(moved, control)


def test_control_after_combat_moves_the_transferred_share():
    # 0.1 moved from faction 1 to faction 0: 0.5 + 0.1, 0.5 - 0.1
    moved = rules.control_after_combat(col(0.5, 0.5), transfers_of(2, 1, {(0, 1): 0.1}))
    np.testing.assert_allclose(moved, col(0.6, 0.4))
    # moves both ways net out: 0.1 to 0 and 0.04 back to 1 -> 0.56, 0.44
    moved = rules.control_after_combat(col(0.5, 0.5), transfers_of(2, 1, {(0, 1): 0.1, (1, 0): 0.04}))
    np.testing.assert_allclose(moved, col(0.56, 0.44))


def test_control_after_combat_three_factions_per_world():
    control = np.array([[0.5, 0.2], [0.3, 0.3], [0.2, 0.5]])
    # world 0: 2 takes 0.05 from 0; world 1: 0 takes 0.1 from 2 and 1 takes 0.03 from 2
    t = transfers_of(3, 2, {(2, 0): np.array([0.05, 0.0]), (0, 2): np.array([0.0, 0.1]), (1, 2): np.array([0, 0.03])})
    moved = rules.control_after_combat(control, t)
    np.testing.assert_allclose(moved[:, 0], [0.45, 0.30, 0.25])
    np.testing.assert_allclose(moved[:, 1], [0.30, 0.33, 0.37])
    np.testing.assert_allclose(moved.sum(axis=0), 1.0)


def test_control_after_combat_shares_stay_nonnegative_and_sum_to_one():
    # more taken than held: 0.1 - 0.3 clips to 0, and 1.2 is renormalised to 1
    moved = rules.control_after_combat(col(0.9, 0.1), transfers_of(2, 1, {(0, 1): 0.3}))
    np.testing.assert_allclose(moved, col(1.0, 0.0))
    rng = np.random.default_rng(7)
    control = rng.dirichlet(np.ones(4), size=500).T  # 4 factions x 500 worlds
    t = rng.uniform(0, 0.2, size=(4, 4, 500)) * control[None, :, :]  # each takes up to 20% of j's
    t[np.arange(4), np.arange(4)] = 0.0
    moved = rules.control_after_combat(control, t)
    assert (moved >= 0).all()
    np.testing.assert_allclose(moved.sum(axis=0), 1.0)


def test_captured_only_on_success():
    defender = np.array([0.6, 0.6, 0.2, 0.0])
    succeeded = np.array([True, False, True, True])
    # speed x defender's control where it succeeded: 0.05 x 0.6, nothing, 0.05 x 0.2, 0 of nothing
    np.testing.assert_allclose(rules.captured(defender, succeeded, 0.05), [0.03, 0.0, 0.01, 0.0])
    # a failed offensive takes nothing whatever the speed
    assert rules.captured(np.array([0.9]), np.array([False]), 1.0)[0] == 0.0


def test_strength_after_day():
    # 1 x (1 - 0.01) + 0.1 - 0.2 = 0.89
    assert rules.strength_after_day(np.array([1.0]), 0.1, np.array([0.2]), 0.01)[0] == pytest.approx(0.89)
    # supply equal to turnover keeps strength steady: 2 x 0.99 + 0.02 = 2
    assert rules.strength_after_day(np.array([2.0]), 0.02, np.array([0.0]), 0.01)[0] == pytest.approx(2.0)
    # never below zero
    assert rules.strength_after_day(np.array([0.1]), 0.0, np.array([1.0]), 0.01)[0] == 0.0


# --- backers ---------------------------------------------------------------------------------
def test_escalate():
    s = np.array([1.0])
    # 1 + 0.5 x 1 x (3 - 1) = 2
    assert rules.escalate(s, 3.0, 0.5, np.array([1.0]))[0] == pytest.approx(2.0)
    # half as losing, half the step: 1 + 0.5 x 0.5 x 2 = 1.5
    assert rules.escalate(s, 3.0, 0.5, np.array([0.5]))[0] == pytest.approx(1.5)
    # not losing: no change
    assert rules.escalate(s, 3.0, 0.5, np.array([0.0]))[0] == 1.0


def test_escalate_never_beyond_max_support():
    support = np.array([1.0])
    for _ in range(500):
        support = rules.escalate(support, 3.0, 0.7, np.array([1.0]))
        assert support[0] <= 3.0
    assert support[0] == pytest.approx(3.0)
    # full escalation lands exactly on the ceiling
    assert rules.escalate(np.array([1.0]), 3.0, 1.0, np.array([1.0]))[0] == 3.0
    # support already above the ceiling (an event raised it) is not pushed further, nor cut
    assert rules.escalate(np.array([4.0]), 3.0, 0.5, np.array([1.0]))[0] == 4.0


def test_decay_pressure():
    assert rules.decay_pressure(0.6, 0.1) == pytest.approx(0.54)  # 0.6 x 0.9
    assert rules.decay_pressure(0.6, 0.0) == 0.6
    assert rules.decay_pressure(0.6, 1.0) == 0.0
    # n days of decay d: p (1 - d)^n
    p = 0.8
    for _ in range(10):
        p = rules.decay_pressure(p, 0.05)
    assert p == pytest.approx(0.8 * 0.95**10)


# --- talks and deterrence --------------------------------------------------------------------------
B_SIGN = dict(sign_tolerance=0.1, sign_leverage_weight=0.1, sign_noise=0.05)


def sign(offer, demand, pull=0.0, **b):
    return rules.sign_probability(
        np.array([offer]), np.array([demand]), np.array([pull]), behaviour(**{**B_SIGN, **b})
    )[0]


def test_sign_probability_half_at_the_margin():
    # offer + tolerance = demand: margin 0 -> logistic(0) = 1/2
    assert sign(0.5, 0.6) == pytest.approx(0.5)
    # pull 1 adds 0.1 to the offer: offer 0.4 then sits at the margin
    assert sign(0.4, 0.6, pull=1.0) == pytest.approx(0.5)


def test_sign_probability_hand_value():
    # margin = noise x ln 3 -> 1 / (1 + 1/3) = 3/4
    assert sign(0.5 + 0.05 * math.log(3), 0.6) == pytest.approx(0.75)


def test_sign_probability_increases_in_the_offer():
    offers = np.linspace(0.0, 1.0, 41)
    p = rules.sign_probability(offers, np.full_like(offers, 0.6), np.zeros_like(offers), behaviour(**B_SIGN))
    assert (np.diff(p) >= 0).all() and p[-1] > p[0]
    assert p[0] < 1e-3 and p[-1] > 1 - 1e-3  # far from the margin it is near certain
    assert ((p >= 0) & (p <= 1)).all()


def deterrence(rival_control, red_line, credibility=1.0, reach=0.3, cost=4.0, width=0.03):
    a = lambda x: np.atleast_1d(np.asarray(x, dtype=float))  # noqa: E731
    return rules.red_line_deterrence(a(rival_control), a(red_line), a(credibility), reach, cost, width)


def test_red_line_deterrence_on_the_line_is_half():
    # rival 0.5, reach 0.3: a successful campaign leaves 0.35; a line at 0.35 gives logistic(0) = 1/2
    assert deterrence(0.5, 0.35, credibility=0.8, cost=4.0)[0] == pytest.approx(0.5 * 0.8 * 4.0)


def test_red_line_deterrence_hand_values_of_the_logistic():
    # expected result ln(3) widths above the line: logistic(-ln 3) = 1/4; below it: 3/4
    w = 0.03
    above = 0.35 + w * math.log(3)
    below = 0.35 - w * math.log(3)
    assert deterrence(above / 0.7, 0.35, width=w, cost=1.0)[0] == pytest.approx(0.25)
    assert deterrence(below / 0.7, 0.35, width=w, cost=1.0)[0] == pytest.approx(0.75)


def test_red_line_deterrence_far_from_the_line():
    cr, cost = 0.8, 4.0
    # far above: rival 0.9 -> 0.63, 0.28 = 9.3 widths above the line: logistic(-9.3) = 9e-5
    assert deterrence(0.9, 0.35, credibility=cr, cost=cost)[0] < 1e-3 * cr * cost
    # far below: rival 0.1 -> 0.07, 9.3 widths below: within 1e-3 of the full credibility x cost
    assert deterrence(0.1, 0.35, credibility=cr, cost=cost)[0] == pytest.approx(cr * cost, rel=1e-3)
    # extreme distances neither overflow nor leave the range [0, credibility x cost]
    with np.errstate(all="raise"):
        out = deterrence(np.array([1.0, 0.0]), np.array([0.0, 1.0]), credibility=cr, cost=cost, width=1e-4)
    np.testing.assert_allclose(out, [0.0, cr * cost], atol=1e-12)


def test_red_line_deterrence_rises_monotonically_and_smoothly_toward_the_line():
    rival = np.linspace(1.0, 0.0, 1001)  # the rival weakening: its expected result nears the line
    out = deterrence(rival, np.full_like(rival, 0.3), credibility=0.8, cost=4.0, width=0.03)
    assert (np.diff(out) > 0).all()
    # smooth: the slope of the logistic is at most 1/4 per width, so a step of 0.001 in rival
    # control (0.0007 in the expected result) moves it by at most 0.8 x 4 x 0.0007 / (4 x 0.03)
    assert np.abs(np.diff(out)).max() <= 0.8 * 4.0 * 0.0007 / (4 * 0.03) + 1e-12


def test_red_line_deterrence_small_step_of_the_line_is_bounded():
    # the bound a 0.02 step of the red line cannot exceed: credibility x cost x 0.02 / (4 width),
    # from the logistic's largest slope 1/4. At width 0.03 that is 1/6 of credibility x cost;
    # a hard threshold would jump by the whole of it.
    cr, cost, width = 1.0, 4.0, 0.03
    bound = cr * cost * 0.02 / (4 * width)
    rival = np.linspace(0.0, 1.0, 201)
    for line in np.linspace(0.0, 0.6, 31):
        low = deterrence(rival, np.full_like(rival, line), credibility=cr, cost=cost, width=width)
        high = deterrence(rival, np.full_like(rival, line + 0.02), credibility=cr, cost=cost, width=width)
        assert (high >= low).all()  # a higher line never deters less
        assert (high - low).max() <= bound + 1e-12
    # and the bound is nearly reached where the line meets the expected result (not a loose bound):
    # logistic(1/3) - logistic(-1/3) = 0.165 of credibility x cost
    at = (
        deterrence(0.5, 0.35 + 0.01, cost=cost, width=width)[0]
        - deterrence(0.5, 0.35 - 0.01, cost=cost, width=width)[0]
    )
    assert at == pytest.approx(cost * (2 / (1 + math.exp(-1 / 3)) - 1), rel=1e-9)
    assert at > 0.95 * bound


def test_red_line_deterrence_no_line_no_credibility_no_cost():
    # no red line (NaN): no cost, and the NaN does not leak out
    out = deterrence(np.array([0.05, 0.5]), np.array([np.nan, np.nan]))
    np.testing.assert_array_equal(out, [0.0, 0.0])
    assert deterrence(0.1, 0.35, credibility=0.0)[0] == 0.0
    assert deterrence(0.1, 0.35, cost=0.0)[0] == 0.0


def test_red_line_deterrence_grows_with_reach():
    # a deeper campaign leaves the rival lower, nearer the line: 0.5 x (1 - reach)
    values = [deterrence(0.5, 0.3, reach=r)[0] for r in (0.0, 0.2, 0.4, 0.6)]
    assert all(a < b for a, b in zip(values, values[1:], strict=False)), values
    # reach 0.4: 0.3 exactly on the line -> half
    assert deterrence(0.5, 0.3, reach=0.4, cost=2.0)[0] == pytest.approx(1.0)


def test_red_line_deterrence_per_world():
    rival = np.array([0.5, 0.5, 0.9, 0.1])
    line = np.array([0.35, np.nan, 0.35, 0.35])
    out = rules.red_line_deterrence(rival, line, np.array([1.0, 1.0, 0.5, 0.5]), 0.3, 2.0, 0.03)
    # on the line: 1/2 x 2; no line; far above: ~0; far below: ~0.5 x 2
    np.testing.assert_allclose(out, [1.0, 0.0, 0.0, 1.0], atol=1e-3)


def test_trust():
    assert rules.trust(np.array([0]), 30.0)[0] == 0.0
    # at age = consolidation_days: 1 - 1/e
    assert rules.trust(np.array([30]), 30.0)[0] == pytest.approx(1 - math.exp(-1))
    ages = np.arange(0, 200)
    t = rules.trust(ages, 30.0)
    assert (np.diff(t) > 0).all() and (t < 1).all()
    # a negative age (before signing) counts as 0
    assert rules.trust(np.array([-5]), 30.0)[0] == 0.0


# --- streams ---------------------------------------------------------------------------------------
N_DRAWS = 200_000


@pytest.mark.parametrize("lam", [0.05, 0.7, 3.0, 12.0, 29.0, 45.0])
def test_poisson_mean_and_variance(lam):
    u = np.random.default_rng(20240101).random(N_DRAWS)
    k = poisson_from_uniform(np.full(N_DRAWS, lam), u)
    assert k.dtype.kind == "i" and (k >= 0).all()
    # standard error of the mean: sqrt(lam / n); of the sample variance: sqrt((lam + 2 lam^2) / n)
    # (Poisson fourth central moment lam + 3 lam^2, minus sigma^4 = lam^2). Allow 5 standard errors,
    # so a correct sampler fails with probability ~1e-6 per check, while a bias of more than
    # about 1% of lam at lam >= 3 is caught. Above 30 the normal approximation by rounding adds
    # variance 1/12, well inside 5 standard errors there.
    se_mean = math.sqrt(lam / N_DRAWS)
    se_var = math.sqrt((lam + 2 * lam**2) / N_DRAWS)
    assert abs(k.mean() - lam) < 5 * se_mean, (k.mean(), lam)
    assert abs(k.var(ddof=1) - lam) < 5 * se_var, (k.var(ddof=1), lam)


def test_poisson_inversion_cut_points():
    # lam 1: P(0) = e^-1 = 0.3679, P(<=1) = 2 e^-1 = 0.7358, P(<=2) = 2.5 e^-1 = 0.9197
    u = np.array([0.36, 0.37, 0.73, 0.74, 0.91, 0.93])
    np.testing.assert_array_equal(poisson_from_uniform(np.ones(6), u), [0, 1, 1, 2, 2, 3])
    # rate 0: always 0
    assert (poisson_from_uniform(np.zeros(3), np.array([0.1, 0.5, 0.999])) == 0).all()


def test_poisson_rates_vary_per_world():
    # one uniform per world: the same u gives more events at a higher rate
    u = np.full(4, 0.5)
    k = poisson_from_uniform(np.array([0.1, 1.0, 5.0, 20.0]), u)
    assert (np.diff(k) > 0).all()
    assert k[0] == 0  # P(0) = e^-0.1 = 0.905 > 0.5


def test_streams_world_independent_of_batch():
    big = np.arange(10_000)
    alone = {r: WorldStreams(11, [r]) for r in (0, 5, 9_999)}
    batch = WorldStreams(11, big)
    shuffled_ids = np.random.default_rng(3).permutation(big)
    shuffled = WorldStreams(11, shuffled_ids)
    for day, name in [(0, "gna/choice"), (17, "lna/violations"), (-1, "fact/x")]:
        b = batch.uniform(day, name)
        s = shuffled.uniform(day, name)
        for r, ws in alone.items():
            value = ws.uniform(day, name)[0]
            assert value == b[r]  # exactly the same number, not just close
            assert value == s[np.flatnonzero(shuffled_ids == r)[0]]


def test_streams_differ_by_day_name_seed_and_replicate():
    ids = np.arange(1000)
    base = WorldStreams(11, ids).uniform(3, "gna/choice")
    others = {
        "day": WorldStreams(11, ids).uniform(4, "gna/choice"),
        "name": WorldStreams(11, ids).uniform(3, "lna/choice"),
        "seed": WorldStreams(12, ids).uniform(3, "gna/choice"),
    }
    for what, other in others.items():
        # independent uniforms coincide with probability ~0; allow none
        assert not np.any(base == other), what
        # and are uncorrelated: |r| < 5 / sqrt(n) = 0.16 for n = 1000
        assert abs(np.corrcoef(base, other)[0, 1]) < 0.16, what
    assert len(np.unique(base)) == len(base)  # different replicates, different values


def test_streams_uniform_in_open_unit_interval_and_uniform():
    u = WorldStreams(5, np.arange(N_DRAWS)).uniform(0, "x")
    assert ((u > 0) & (u < 1)).all()
    # mean 1/2 with se sqrt(1/12 / n) = 6.5e-4; 5 se
    assert abs(u.mean() - 0.5) < 5 * math.sqrt(1 / 12 / N_DRAWS)
    # each decile holds n/10 = 20,000 draws, sd sqrt(n 0.1 0.9) = 134; 5 sd
    counts = np.histogram(u, bins=10, range=(0, 1))[0]
    assert (np.abs(counts - N_DRAWS / 10) < 5 * math.sqrt(N_DRAWS * 0.1 * 0.9)).all(), counts


# --- backers' leverage, conditions and guarantees -------------------------------------------------
def test_leverage_is_dependence_times_pressure_times_preference():
    dependence = np.array([0.5, 0.5, 0.0, 1.0])
    pressure = np.array([0.4, 0.4, 0.9, 0.2])
    preference = np.array([1.0, -1.0, 1.0, 0.5])
    # 0.5 x 0.4 x 1 = 0.2; wanting war turns it negative; a client that does not depend on the
    # backer is not moved at all; 1 x 0.2 x 0.5 = 0.1
    np.testing.assert_allclose(rules.leverage(dependence, pressure, preference), [0.2, -0.2, 0.0, 0.1])


def test_conditional_threat_takes_only_the_sign_of_the_preference():
    preference = np.array([0.3, 2.0, -0.1, -5.0, 0.0])
    threat = rules.conditional_threat(0.5, 0.6, 0.5, preference)
    # 0.5 x 0.6 x 0.5 = 0.15 whatever the preference's size: the threat withholds the share it
    # names, not more for a keener backer; a backer indifferent to the truce threatens nothing
    np.testing.assert_allclose(threat, [0.15, 0.15, -0.15, -0.15, 0.0])


def test_compliance_credit_hand_values():
    # full monitoring: nothing is blamed falsely, so complying always pays, whatever the fog
    assert rules.compliance_credit(np.array([1.0]), 0.9, 30)[0] == 1.0
    # no monitoring: (1 - 0.05)^20 of going 20 days unblamed
    assert rules.compliance_credit(np.array([0.0]), 0.05, 20)[0] == pytest.approx(0.95**20)
    # half monitoring halves the daily blame: (1 - 0.5 x 0.05)^20
    assert rules.compliance_credit(np.array([0.5]), 0.05, 20)[0] == pytest.approx(0.975**20)
    # no false blame: complying is always credited
    assert rules.compliance_credit(np.array([0.0]), 0.0, 20)[0] == 1.0


def test_compliance_credit_rises_with_monitoring():
    monitoring = np.linspace(0.0, 1.0, 51)
    credit = rules.compliance_credit(monitoring, 0.05, 30)
    assert (np.diff(credit) > 0).all()
    assert ((credit > 0) & (credit <= 1)).all()


def test_stock_dependence_is_a_clipped_share():
    provided = np.array([0.3, 2.0, -0.1, 0.0])
    strength = np.array([0.6, 1.0, 1.0, 1.0])
    # 0.3 / 0.6 = 0.5; more provided than the client has left (the rest was worn out of its own
    # part) is all of it: 1; a negative stock counts as none: 0
    np.testing.assert_allclose(rules.stock_dependence(provided, strength), [0.5, 1.0, 0.0, 0.0])


def test_stock_dependence_of_a_faction_without_strength_is_whole():
    # nothing left but what the backer gives: by the code's rule, 1, and no division warning
    with np.errstate(all="raise"):
        out = rules.stock_dependence(np.array([0.0, 0.4]), np.array([0.0, 0.0]))
    np.testing.assert_array_equal(out, [1.0, 1.0])


def test_provided_after_day_wears_out_like_strength():
    # 1 x (1 - 0.01) + 0.02 = 1.01; a delivery equal to the wear keeps the stock: 2 x 0.99 + 0.02
    assert rules.provided_after_day(np.array([1.0]), 0.02, 0.01)[0] == pytest.approx(1.01)
    assert rules.provided_after_day(np.array([2.0]), 0.02, 0.01)[0] == pytest.approx(2.0)
    # the stock follows strength_after_day without losses, day by day, so the share of the
    # client it measures stays 1 where the backer is the only supplier
    provided = strength = np.array([0.5, 1.0, 3.0])
    delivered = np.array([0.0, 0.01, 0.05])
    for _ in range(30):
        provided = rules.provided_after_day(provided, delivered, 0.02)
        strength = rules.strength_after_day(strength, delivered, np.zeros(3), 0.02)
    np.testing.assert_allclose(provided, strength, rtol=1e-12)
    np.testing.assert_allclose(rules.stock_dependence(provided, strength), 1.0)


def test_detection_chance():
    monitoring = np.array([0.0, 1.0, 0.5, 0.5])
    unverified = np.array([0.3, 0.3, 0.3, 0.0])
    # nothing monitored: the backer's own means, 0.3; all monitored: 1;
    # half: 0.5 + 0.5 x 0.3 = 0.65; half without own means: 0.5
    np.testing.assert_allclose(rules.detection_chance(monitoring, unverified), [0.3, 1.0, 0.65, 0.5])


B_SEEN = dict(backer_detection=0.3, false_blame=0.2)


def seen(attacked, authorised, violated, monitoring, u, **b):
    a = lambda x: np.atleast_1d(np.asarray(x))  # noqa: E731
    b = behaviour(**{**B_SEEN, **b})
    return rules.seen_defecting(a(attacked), a(authorised), a(violated), a(monitoring), a(u), b)


def test_seen_defecting_an_offensive_always_shows():
    u = np.array([0.0, 0.5, np.nextafter(1.0, 0.0)])  # every u a uniform can take
    for m in (0.0, 1.0):
        assert seen(np.ones(3, bool), False, False, m, u).all()
        # even a backer with no eyes of its own and no false blame sees an offensive
        assert seen(np.ones(3, bool), False, False, m, u, backer_detection=0.0, false_blame=0.0).all()


def test_seen_defecting_an_authorised_violation_shows_with_the_detection_chance():
    # monitoring 0.5: 0.5 + 0.5 x 0.3 = 0.65 is the cut point in u
    u = np.array([0.01, 0.64, 0.66, 0.99])
    np.testing.assert_array_equal(seen(False, True, True, 0.5, u), [True, True, False, False])
    # no monitoring: only the backer's own 0.3
    np.testing.assert_array_equal(seen(False, True, True, 0.0, np.array([0.29, 0.31])), [True, False])


def test_seen_defecting_units_violations_are_only_blamed_through_fog():
    # unauthorised: (1 - 0.5) x 0.2 = 0.1 is the cut point, far below the 0.65 of an authorised one
    u = np.array([0.09, 0.11, 0.3])
    np.testing.assert_array_equal(seen(False, False, True, 0.5, u), [True, False, False])
    # no monitoring: 0.2
    np.testing.assert_array_equal(seen(False, False, True, 0.0, np.array([0.19, 0.21])), [True, False])


def test_seen_defecting_never_a_holding_side_without_violations_or_under_full_monitoring():
    u = np.array([0.0, 1e-12, 0.5])
    # holding, no violations: nothing to see or to blame, even with false blame certain
    assert not seen(False, False, False, 0.0, u, false_blame=1.0).any()
    # violations by its units under full monitoring: verified as not the leadership's
    assert not seen(False, False, True, 1.0, u, false_blame=1.0).any()


def test_withheld_after_day_set_by_a_punishment_then_eased():
    # a punishment withholds the conditionality: 0 -> 0.6
    assert rules.withheld_after_day(np.array([0.0]), np.array([True]), 0.6, 10)[0] == pytest.approx(0.6)
    # then eased by 1/10 of itself a day, geometrically: 0.6 x 0.9^n
    w = np.array([0.6])
    for _ in range(15):
        w = rules.withheld_after_day(w, np.array([False]), 0.6, 10)
    assert w[0] == pytest.approx(0.6 * 0.9**15)
    # punishment_days below 1 counts as one day: everything given back at once
    assert rules.withheld_after_day(np.array([0.6]), np.array([False]), 0.6, 0.5)[0] == 0.0


def test_withheld_after_day_a_punishment_never_lowers_what_is_withheld():
    # already withholding 0.9 (a stricter threat): eased to 0.81, and a new punishment at 0.6
    # does not give back more than easing would
    out = rules.withheld_after_day(np.array([0.9, 0.9]), np.array([True, False]), 0.6, 10)
    np.testing.assert_allclose(out, [0.81, 0.81])
    rng = np.random.default_rng(11)
    withheld = rng.uniform(0, 1, 500)
    conditionality = rng.uniform(0, 1, 500)
    punished = rules.withheld_after_day(withheld, np.ones(500, bool), conditionality, 10)
    eased = rules.withheld_after_day(withheld, np.zeros(500, bool), conditionality, 10)
    assert (punished >= eased).all() and (punished >= conditionality).all()


def test_guarantee_value_is_the_least_restraint():
    restraints = [np.array([0.8, 0.2, 0.5, -0.3]), np.array([0.3, 0.9, 0.5, 0.4]), np.array([0.6, 0.7, 1.0, 0.4])]
    # per world the minimum of the three: 0.3, 0.2, 0.5; a negative restraint is worth nothing: 0
    np.testing.assert_allclose(rules.guarantee_value(restraints), [0.3, 0.2, 0.5, 0.0])


def test_guarantee_value_is_superadditive():
    # two guarantors pressing at 0.6 and 0.7 give 0.6; either alone (the other's restraint 0)
    # gives nothing, so the pair is worth more than the sum of its parts
    a, b, none = np.array([0.6]), np.array([0.7]), np.array([0.0])
    both = rules.guarantee_value([a, b])[0]
    alone = rules.guarantee_value([a, none])[0] + rules.guarantee_value([none, b])[0]
    assert both == pytest.approx(0.6) and alone == 0.0
    assert both > alone


def test_restraint_after_day_hand_values():
    restraining = np.array([0.8, 0.8, 0.8, 0.0, 0.8])
    doubted = np.array([False, True, True, False, False])
    broken = np.array([True, True, False, False, False])
    out = rules.restraint_after_day(restraining, doubted, broken, 0.25, 10)
    # broken ends it, doubted or not; doubt cuts 0.8 x 0.75 = 0.6; compliance rebuilds a tenth of
    # the gap: 0 + 1/10, 0.8 + 0.2/10
    np.testing.assert_allclose(out, [0.0, 0.0, 0.6, 0.1, 0.82])


def test_restraint_after_day_rebuilds_geometrically_and_stays_in_the_unit_interval():
    r = np.array([0.0])
    no = np.array([False])
    for _ in range(20):
        r = rules.restraint_after_day(r, no, no, 0.25, 10)
    # the gap to 1 shrinks by 0.9 a day: 1 - 0.9^20
    assert r[0] == pytest.approx(1 - 0.9**20)
    # recovery_days below 1 counts as one day: rebuilt whole at once
    assert rules.restraint_after_day(np.array([0.3]), no, no, 0.25, 0.2)[0] == 1.0
    rng = np.random.default_rng(13)
    r = rng.uniform(0, 1, 300)
    for _ in range(100):
        doubted, broken = rng.random(300) < 0.3, rng.random(300) < 0.05
        r = rules.restraint_after_day(r, doubted, broken, rng.uniform(0, 1, 300), rng.uniform(0, 30, 300))
        assert ((r >= 0) & (r <= 1)).all()


def test_inducement_fades_by_half_every_fade_days_ln2():
    size, fade = 2.0, 40.0
    assert rules.inducement(size, np.array([0]), fade)[0] == size
    # exp(-age / fade) = 1/2 at age = fade ln 2, 1/4 at twice that
    age = np.array([fade * math.log(2), 2 * fade * math.log(2)])
    np.testing.assert_allclose(rules.inducement(size, age, fade), [size / 2, size / 4])
    # before the truce (negative age) it has not begun to fade
    assert rules.inducement(size, np.array([-10]), fade)[0] == size


def test_under_embargo_caps_only_stopped_deliveries():
    delivery = np.array([2.0, 2.0, 0.3, 0.3])
    stopped = np.array([True, False, True, False])
    # stopped: min(2, 0.5) = 0.5; not stopped: all of it; below the cap the cap does nothing
    np.testing.assert_allclose(rules.under_embargo(delivery, 0.5, stopped), [0.5, 2.0, 0.3, 0.3])


def test_expected_under_embargo_is_linear_in_enforcement():
    rate, cap = np.array([2.0]), 0.5
    # enforcement 0: the whole rate; 1: the cap; 0.25: 0.25 x 0.5 + 0.75 x 2 = 1.625
    assert rules.expected_under_embargo(rate, cap, 0.0)[0] == 2.0
    assert rules.expected_under_embargo(rate, cap, 1.0)[0] == 0.5
    assert rules.expected_under_embargo(rate, cap, 0.25)[0] == pytest.approx(1.625)
    # a rate below the cap is not touched at any enforcement
    assert rules.expected_under_embargo(np.array([0.3]), cap, 0.7)[0] == pytest.approx(0.3)
    # linear: equal steps of enforcement, equal steps of deliveries
    steps = np.diff(rules.expected_under_embargo(np.full(11, 2.0), cap, np.linspace(0, 1, 11)))
    np.testing.assert_allclose(steps, -0.15)


def test_expected_under_embargo_is_the_mean_of_under_embargo():
    rate = np.array([2.0, 2.0, 1.0, 0.2])
    cap = np.array([0.5, 0.5, 0.0, 0.5])
    enforcement = np.array([0.3, 0.9, 0.5, 0.5])
    n = 100_000
    stopped = np.random.default_rng(2024).random((n, 4)) < enforcement
    mean = rules.under_embargo(rate, cap, stopped).mean(axis=0)
    # each draw is the capped or the whole rate, so the mean's standard error is
    # (rate - min(rate, cap)) sqrt(e (1 - e) / n), at most 1.5 x sqrt(0.21 / 1e5) = 0.0022; allow
    # 5 of them. Enforcement read the wrong way round (1 - e) would miss by 0.6 in the first world.
    se = (rate - np.minimum(rate, cap)) * np.sqrt(enforcement * (1 - enforcement) / n)
    expected = rules.expected_under_embargo(rate, cap, enforcement)
    assert (np.abs(mean - expected) <= 5 * se + 1e-12).all(), (mean, expected)


# --- talks: formulation ------------------------------------------------------------------------
def test_formulated_offer_moves_up_toward_the_belief_never_down():
    offer = np.array([0.4, 0.4, 0.4, 0.4])
    believed = np.array([0.6, 0.6, 0.6, 0.3])
    formulation = np.array([0.5, 1.0, 0.0, 1.0])
    # half way up: 0.5; all the way: the belief 0.6; no formulation: the offer;
    # a belief below the offer does not lower it
    np.testing.assert_allclose(rules.formulated_offer(offer, believed, formulation), [0.5, 0.6, 0.4, 0.4])
    rng = np.random.default_rng(17)
    offer, believed, formulation = rng.random(1000), rng.random(1000), rng.random(1000)
    out = rules.formulated_offer(offer, believed, formulation)
    assert (out >= offer).all() and (out <= np.maximum(offer, believed)).all()


def test_demand_after_formula_moves_down_toward_the_offer_never_up():
    demand = np.array([0.7, 0.7, 0.7, 0.7])
    offer = np.array([0.5, 0.5, 0.5, 0.8])
    formulation = np.array([0.5, 1.0, 0.0, 1.0])
    # half way down: 0.6; all the way: the offer 0.5; no formulation: the demand;
    # an offer above the demand does not raise it
    np.testing.assert_allclose(rules.demand_after_formula(demand, offer, formulation), [0.6, 0.5, 0.7, 0.7])
    rng = np.random.default_rng(19)
    demand, offer, formulation = rng.random(1000), rng.random(1000), rng.random(1000)
    out = rules.demand_after_formula(demand, offer, formulation)
    assert (out <= demand).all() and (out >= np.minimum(demand, offer)).all()


# --- red lines with a chance of success -----------------------------------------------------------
def test_red_line_deterrence_sure_success_is_the_old_rule():
    # chance 1: the rival left at 0.5 x (1 - 0.3) = 0.35, on the line: 1/2 x 0.8 x 4, as in the
    # tests above that leave the chance out
    out = rules.red_line_deterrence(np.array([0.5]), np.array([0.35]), np.array([0.8]), 0.3, 4.0, 0.03, chance=1.0)
    assert out[0] == pytest.approx(0.5 * 0.8 * 4.0)
    rival = np.linspace(0.0, 1.0, 101)
    line = np.full_like(rival, 0.3)
    np.testing.assert_array_equal(
        rules.red_line_deterrence(rival, line, 1.0, 0.3, 4.0, 0.03, chance=1.0),
        deterrence(rival, line, reach=0.3, cost=4.0, width=0.03),
    )


def test_red_line_deterrence_doubtful_success_deters_less():
    # chance 0.5: the rival is expected at 0.5 x (1 - 0.3 x 0.5) = 0.425, 0.075 = 2.5 widths above
    # the line at 0.35: logistic(-2.5) of credibility x cost
    a = lambda x: np.array([x])  # noqa: E731
    half = rules.red_line_deterrence(a(0.5), a(0.35), a(1.0), 0.3, 4.0, 0.03, chance=0.5)[0]
    assert half == pytest.approx(4.0 / (1 + math.exp(2.5)))
    chances = np.linspace(0.0, 1.0, 21)
    out = rules.red_line_deterrence(np.full(21, 0.5), np.full(21, 0.35), 1.0, 0.3, 4.0, 0.03, chance=chances)
    assert (np.diff(out) > 0).all()


def test_red_line_deterrence_hopeless_offensive_leaves_the_rival_where_it_is():
    # chance 0: the rival is expected to keep its 0.5 whatever the reach, so a line at 0.5 is
    # met exactly: 1/2 x cost
    a = lambda x: np.array([x])  # noqa: E731
    for reach in (0.0, 0.3, 0.9):
        assert rules.red_line_deterrence(a(0.5), a(0.5), a(1.0), reach, 2.0, 0.03, chance=0.0)[0] == pytest.approx(1.0)


# --- violate_value: costs borne when seen --------------------------------------------------------
B_VIOLATE = dict(violate_share=0.5, violate_threshold=1.0, monitoring_cost=2.0, backer_detection=0.3)


def test_violate_value_seen_terms_are_borne_with_the_detection_chance():
    monitoring = np.array([0.0, 0.5, 1.0])
    zero = {k: np.zeros(3) for k in rules.TERMS}
    # the chance of being seen: 0.3, 0.5 + 0.5 x 0.3 = 0.65, 1
    detect = np.array([0.3, 0.65, 1.0])
    for key in rules.SEEN_TERMS:
        for share in (0.5, 0.2):  # the violate_share must not enter
            b = behaviour(**{**B_VIOLATE, "violate_share": share})
            base = rules.violate_value(zero, monitoring, b)
            raised = rules.violate_value({**zero, key: np.ones(3)}, monitoring, b)
            # the value is linear in the term, so one unit more is the derivative
            np.testing.assert_allclose(raised - base, -detect, rtol=1e-12, err_msg=key)
            # with only the fixed costs: -1 - 2 x monitoring
            np.testing.assert_allclose(base, -1.0 - 2.0 * monitoring, rtol=1e-12)


def test_violate_value_seen_terms_cost_nothing_where_nothing_is_seen():
    b = behaviour(**{**B_VIOLATE, "backer_detection": 0.0})
    zero = {k: np.zeros(1) for k in rules.TERMS}
    base = rules.violate_value(zero, np.array([0.0]), b)[0]
    for key in rules.SEEN_TERMS:
        assert rules.violate_value({**zero, key: np.array([5.0])}, np.array([0.0]), b)[0] == base, key
    # while an unseen restraint still costs its share: 0.5 x 5
    assert rules.violate_value({**zero, "signature": np.array([5.0])}, np.array([0.0]), b)[0] == pytest.approx(
        base - 2.5
    )
