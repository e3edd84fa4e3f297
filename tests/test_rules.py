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


# --- strongest_rival, parity -------------------------------------------------------------------
def test_strongest_rival():
    # for 3 (top) the rival is 2; for 1 and 2 it is 3
    np.testing.assert_array_equal(rules.strongest_rival(col(3.0, 1.0, 2.0)), col(2.0, 3.0, 3.0))


def test_strongest_rival_tie_at_the_top():
    # two factions both at the top: each one's strongest rival is the other, equally strong
    np.testing.assert_array_equal(rules.strongest_rival(col(2.0, 2.0, 1.0)), col(2.0, 2.0, 2.0))


def test_strongest_rival_per_world():
    values = np.array([[0.1, 0.6], [0.9, 0.3], [0.0, 0.1]])
    np.testing.assert_array_equal(rules.strongest_rival(values), [[0.9, 0.3], [0.1, 0.6], [0.9, 0.6]])


def test_strongest_rival_single_faction_is_zero():
    np.testing.assert_array_equal(rules.strongest_rival(col(0.8)), col(0.0))


def test_parity():
    # 1 - |P_i - max rival|: even balance 1, all-or-nothing 0, 0.7 vs 0.3 -> 0.6
    np.testing.assert_allclose(rules.parity(col(0.5, 0.5)), col(1.0, 1.0))
    np.testing.assert_allclose(rules.parity(col(1.0, 0.0)), col(0.0, 0.0))
    np.testing.assert_allclose(rules.parity(col(0.7, 0.3)), col(0.6, 0.6))
    # three factions 0.5/0.3/0.2: rivals 0.3/0.5/0.5 -> 0.8/0.8/0.7
    np.testing.assert_allclose(rules.parity(col(0.5, 0.3, 0.2)), col(0.8, 0.8, 0.7))


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


def test_control_after_combat_moves_toward_power():
    # speed 0.5 closes half the gap: 0.7 -> 0.55, 0.3 -> 0.45
    control, power = col(0.7, 0.3), col(0.4, 0.6)
    np.testing.assert_allclose(rules.control_after_combat(control, power, np.array([1.0]), 0.5), col(0.55, 0.45))
    # speed 1: control becomes power
    np.testing.assert_allclose(rules.control_after_combat(control, power, np.array([1.0]), 1.0), power)


def test_control_after_combat_keeps_sum_one_and_stands_still_without_fighting():
    control = np.array([[0.5, 0.2], [0.3, 0.3], [0.2, 0.5]])
    power = np.array([[0.1, 0.6], [0.1, 0.3], [0.8, 0.1]])
    moved = rules.control_after_combat(control, power, np.array([0.0, 1.0]), 0.3)
    np.testing.assert_allclose(moved.sum(axis=0), 1.0)
    np.testing.assert_allclose(moved[:, 0], control[:, 0])  # no fighting in world 0
    # world 1: 0.2 + 0.3 x 0.4 = 0.32, 0.3 unchanged, 0.5 - 0.3 x 0.4 = 0.38
    np.testing.assert_allclose(moved[:, 1], [0.32, 0.30, 0.38])


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


def test_dependence():
    d = rules.dependence
    # nothing delivered: 0
    assert d(np.array([0.0]), np.array([1.0]), np.array([0.0]))[0] == 0.0
    # the only supplier (no own supply, all deliveries its own): 1
    assert d(np.array([0.5]), np.array([0.0]), np.array([0.5]))[0] == 1.0
    # 1 of own 1 + delivered 3: 1/4
    assert d(np.array([1.0]), np.array([1.0]), np.array([3.0]))[0] == pytest.approx(0.25)
    # no supply at all: 0, and no division warning
    with np.errstate(all="raise"):
        assert d(np.array([0.0]), np.array([0.0]), np.array([0.0]))[0] == 0.0


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


def test_red_line_deterrence():
    cr, cost, reach = np.array([0.8]), 4.0, 0.1
    # rival at 0.4: an offensive takes it to 0.3 < line 0.35 -> cost x credibility = 3.2
    assert rules.red_line_deterrence(np.array([0.4]), np.array([0.35]), cr, reach, cost)[0] == pytest.approx(3.2)
    # line 0.25 < 0.3: not crossed, no cost
    assert rules.red_line_deterrence(np.array([0.4]), np.array([0.25]), cr, reach, cost)[0] == 0.0
    # no red line (NaN): no cost, and the NaN does not leak out
    out = rules.red_line_deterrence(np.array([0.05]), np.array([np.nan]), cr, reach, cost)
    assert out[0] == 0.0


def test_red_line_deterrence_per_world():
    rival = np.array([0.4, 0.4, 0.2, 0.2])
    line = np.array([0.35, np.nan, 0.05, 0.15])
    out = rules.red_line_deterrence(rival, line, np.array([1.0, 1.0, 0.5, 0.5]), 0.1, 2.0)
    # crossed, none, 0.1 > 0.05 not crossed, 0.1 < 0.15 crossed at credibility 0.5
    np.testing.assert_allclose(out, [2.0, 0.0, 0.0, 1.0])


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
