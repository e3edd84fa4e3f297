"""The rules of the model as plain numpy functions (MODEL.md sections 3 and 4).

Each function works on arrays over worlds (shape ``(R,)``) or over factions and worlds
(``(F, R)``), imports nothing of the project, and has no state: the agents hold the state and
call these. Values of choices are measured relative to holding, on the logit scale.
"""

from __future__ import annotations

import numpy as np

HOLD, VIOLATE, OFFENSIVE = 0, 1, 2
CHOICES = ("hold", "violate", "offensive")


# --- the balance -----------------------------------------------------------------------------
def contest_power(strength: np.ndarray, exponent) -> np.ndarray:
    """Contest success shares P_i = s_i^a / sum_k s_k^a over factions (axis 0).

    Worlds where every faction has zero strength split power equally.
    """
    weight = np.power(np.maximum(strength, 0.0), exponent)
    total = weight.sum(axis=0)
    equal = np.full_like(weight, 1.0 / weight.shape[0])
    return np.divide(weight, total, out=equal, where=total > 0)


def contest_parity(power: np.ndarray) -> np.ndarray:
    """1 where a faction's contest against its enemies is even, falling to 0 when one side wins it all."""
    return 1.0 - np.abs(2.0 * power - 1.0)


def power_trend(power: np.ndarray, average: np.ndarray) -> np.ndarray:
    """How far power stands above (+) or below (-) its moving average (how backers read it)."""
    return power - average


def update_average(average: np.ndarray, value: np.ndarray, memory_days) -> np.ndarray:
    """Exponential moving average with time scale ``memory_days``."""
    return average + (value - average) / np.maximum(memory_days, 1.0)


def sum_over(members: np.ndarray, values: np.ndarray) -> np.ndarray:
    """For each faction i (axis 0), the sum of ``values`` over the factions j with members[i, j]
    = 1, added in faction order. A matrix product would do the same, but BLAS may add in an
    order that depends on the number of worlds, and a world must not depend on its batch."""
    out = np.zeros_like(values, dtype=np.result_type(values, np.float64))
    for i in range(members.shape[0]):
        for j in range(members.shape[1]):
            if members[i, j]:
                out[i] += values[j]
    return out


def coalition_power(strength: np.ndarray, enemies: np.ndarray, exponent) -> np.ndarray:
    """Each faction's contest share against its enemies: C^a / (C^a + K^a), where C is its own
    strength plus its allies' and K the strength of all its enemies.

    ``enemies`` is an (F, F) 0/1 matrix. With two factions this is the contest share of
    :func:`contest_power`. A faction without enemies has power 1.
    """
    strength = np.maximum(strength, 0.0)
    if strength.shape[0] == 2 and enemies[0, 1]:  # the common case: two sides, each the other's enemy
        # one power per world instead of two: P_0 = 1 / (1 + (s_1 / s_0)^a)
        ratio = np.divide(strength[1], strength[0], out=np.full_like(strength[0], np.inf), where=strength[0] > 0)
        first = 1.0 / (1.0 + np.power(ratio, exponent))
        first = np.where((strength[0] > 0) | (strength[1] > 0), first, 0.5)
        return np.stack([first, 1.0 - first])
    # the contest of each faction's coalition against all its enemies, one pair per faction
    return contest_power(np.stack([sum_over(1 - enemies, strength), sum_over(enemies, strength)]), exponent)[0]


# --- beliefs and the balance ahead ---------------------------------------------------------------
def projected_strength(strength, supply, turnover, horizon) -> np.ndarray:
    """Strength ``horizon`` days ahead if today's (and announced) supply went on:
    s(t+H) = s_inf + (s - s_inf)(1 - turnover)^H with s_inf = supply / turnover, the closed form
    of :func:`strength_after_day` without combat."""
    turnover = np.asarray(turnover, dtype=float)
    safe = np.maximum(turnover, 1e-12)
    settled = supply / safe
    ahead = settled + (strength - settled) * np.power(1.0 - turnover, horizon)
    return np.where(turnover > 0, ahead, strength + supply * horizon)


def belief_bias(prior_bias, precision, evidence) -> np.ndarray:
    """What is left of a prior bias after ``evidence`` (in days of combat): a normal prior of
    weight ``precision`` updated by unbiased signals shrinks its error by precision / (precision
    + evidence)."""
    return prior_bias * precision / (precision + evidence)


def success_chance(believed_power, defence_advantage, steepness) -> np.ndarray:
    """Chance that an offensive succeeds, from the attacker's power share P against the defender:
    P^m / (P^m + (d (1 - P))^m). A defender's advantage d > 1 means an attacker needs local
    superiority (Biddle); a steepness m > 1 makes battles more decisive than the balance."""
    x = np.clip(believed_power, 1e-9, 1.0 - 1e-9)
    attack = np.power(x, steepness)
    defend = np.power(defence_advantage * (1.0 - x), steepness)
    return attack / (attack + defend)


def within_reach(control, target, reach) -> np.ndarray:
    """Control a successful offensive would add toward ``target``: at most ``reach`` of what the
    rivals hold, and nothing once the target is held."""
    return np.minimum(reach * (1.0 - control), np.maximum(target - control, 0.0))


def balance_shift(power_now, power_ahead) -> np.ndarray:
    """How far the balance moves for (+) or against (-) a faction over the projection horizon."""
    return power_ahead - power_now


# --- the value of an offensive -----------------------------------------------------------------
def fighting_cost(war_cost, parity_, b) -> np.ndarray:
    """Expected cost of fighting; it rises near parity (the mutually hurting stalemate)."""
    return war_cost * b["war_cost_weight"] * (1.0 + b["ripeness_weight"] * parity_)


def leverage(dependence, pressure, preference) -> np.ndarray:
    """One backer's persuasion of one client: its effort (``pressure``) toward what it wants
    (``preference``: + holding, - fighting), weighed by how much the client depends on it."""
    return dependence * pressure * preference


def conditional_threat(dependence, conditionality, credibility, preference) -> np.ndarray:
    """Expected loss to a client that defects from what its backer wants: the share of the
    capability it depends on that the backer withholds, times the chance the threat is carried
    out. + where the backer wants the truce (it punishes fighting), - where it wants war (it
    punishes holding)."""
    return dependence * conditionality * credibility * np.sign(preference)


def compliance_credit(monitoring, false_blame, punishment_days) -> np.ndarray:
    """Chance that a client that complies goes unpunished over a punishment's span: where fog
    lets backers blame it for its units' violations, complying buys little, and a threat to cut
    support deters only by this much (monitoring restores it)."""
    return np.power(1.0 - (1.0 - monitoring) * false_blame, punishment_days)


def stock_dependence(provided, strength) -> np.ndarray:
    """Share of a faction's capability that one backer provided (stocks, not today's flow)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        share = provided / strength
    # fmin and fmax pass over NaN: a faction with no strength left depends wholly on its backer
    return np.fmax(np.fmin(share, 1.0), 0.0)


def provided_after_day(provided, delivered, turnover) -> np.ndarray:
    """A backer's stock in its client's capability wears out as the client's strength does."""
    return provided * (1.0 - turnover) + delivered


def detection_chance(monitoring, unverified) -> np.ndarray:
    """Chance that a backer sees a violation its client authorised: verified by monitoring, or
    found out by its own means (``unverified``) where nothing is monitored."""
    return monitoring + (1.0 - monitoring) * unverified


def seen_defecting(attacked, authorised, violated, monitoring, u, b) -> np.ndarray:
    """Whether a faction's backers see it defect today: an offensive always shows; a violation
    its leadership authorised shows with :func:`detection_chance`; units' unauthorised
    violations are blamed on a holding leadership where fog hides who fired
    (``false_blame`` x (1 - monitoring))."""
    detect = detection_chance(monitoring, b["backer_detection"])
    blamed = (1.0 - monitoring) * b["false_blame"]
    p = np.where(attacked, 1.0, np.where(authorised, detect, blamed * violated))
    return u < p


def withheld_after_day(withheld, punished, conditionality, punishment_days) -> np.ndarray:
    """Share of support a backer withholds: set to its conditionality on the day it carries out a
    threat, then given back as the client complies, over ``punishment_days``."""
    eased = withheld * (1.0 - 1.0 / np.maximum(punishment_days, 1.0))
    return np.where(punished, np.maximum(eased, conditionality), eased)


def guarantee_value(restraints) -> np.ndarray:
    """Worth to each client of a joint guarantee: rival patrons restrain their clients only as
    far as the others do theirs, so the guarantee is worth the least restraint among them (it
    needs every guarantor, and is more than the sum of its parts)."""
    out = restraints[0]
    for r in restraints[1:]:
        out = np.minimum(out, r)
    return np.maximum(out, 0.0)


def restraint_after_day(restraining, doubted, broken, doubt, recovery_days) -> np.ndarray:
    """A co-guarantor's restraint of its clients (0..1): cut by ``doubt`` on a day it sees another
    guarantor's client violate, rebuilt over ``recovery_days`` of compliance, and ended where
    another guarantor's client has attacked."""
    rebuilt = restraining + (1.0 - restraining) / np.maximum(recovery_days, 1.0)
    return np.where(broken, 0.0, np.where(doubted, restraining * (1.0 - doubt), rebuilt))


def inducement(size, age, fade_days) -> np.ndarray:
    """A mediator's carrots and sticks for a truce ``age`` days old: they fade (Beardsley)."""
    return size * np.exp(-np.maximum(age, 0) / fade_days)


def under_embargo(delivery, cap, stopped) -> np.ndarray:
    """Deliveries on a day the embargo is enforced (``stopped``) are held to its cap."""
    return np.where(stopped, np.minimum(delivery, cap), delivery)


def expected_under_embargo(rate, cap, enforcement) -> np.ndarray:
    """Deliveries a faction counts on under an embargo enforced with probability ``enforcement``."""
    return enforcement * np.minimum(rate, cap) + (1.0 - enforcement) * rate


def red_line_deterrence(rival_control, red_line, credibility, reach, cost, width, chance=1.0) -> np.ndarray:
    """Expected cost of an offensive that could push a rival toward its backer's red line.

    An offensive that succeeds with ``chance`` is expected to leave the rival
    ``rival_control x (1 - reach x chance)``: a side sure of winning big expects to cross the
    line, a doubtful one does not. The chance that the backer intervenes rises smoothly, as a
    logistic of width ``width``, as that nears and passes the line, so that no small step of a
    lever flips a truce. ``red_line`` is NaN where the backer has none.
    """
    after = rival_control * (1.0 - reach * chance)
    z = np.clip((red_line - after) / np.maximum(width, 1e-9), -60, 60)
    intervenes = np.nan_to_num(1.0 / (1.0 + np.exp(-z)), nan=0.0)
    return intervenes * credibility * cost


def saturate(x) -> np.ndarray:
    """x / (1 + x): grievance matters less with each extra unit."""
    return x / (1.0 + x)


def trust(age, consolidation_days) -> np.ndarray:
    """Trust built by a truce that has held ``age`` days (0 at signing, toward 1)."""
    return 1.0 - np.exp(-np.maximum(age, 0) / consolidation_days)


OFFENSIVE_TERMS = ("gain", "demand", "preventive", "grievance")  # push toward an offensive
RESTRAINT_TERMS = (
    "waiting",
    "cost",
    "mobilisation",
    "leverage",
    "conditions",
    "guarantee",
    "red_line",
    "trust",
    "benefits",
    "inducement",
    "signature",
)
SEEN_TERMS = ("conditions", "guarantee")  # costs a violation bears only when its backers see it
TERMS = OFFENSIVE_TERMS + RESTRAINT_TERMS  # every term is >= 0; restraints are subtracted


def offensive_terms(p, control, believed_power, demand, shift, grievance, war_cost, parity_, readiness, b) -> dict:
    """The terms of the value of an offensive that do not depend on a truce, each >= 0.

    Gains are judged on beliefs: the chance of success ``p`` times the control within reach,
    toward what the believed balance would give (Werner & Yuen) and toward the faction's demand.
    A side the balance is turning against gains a preventive motive; a rising side a value of
    waiting (Powell). Fighting costs more near parity (Zartman), and an offensive not yet
    mobilised for costs its full mobilisation (Biddle).
    """
    reach = b["offensive_reach"]
    return {
        "gain": b["gain_weight"] * p * within_reach(control, believed_power, reach),
        "demand": b["demand_weight"] * p * within_reach(control, demand, reach),
        "preventive": b["preventive_weight"] * np.maximum(-shift, 0.0),
        "grievance": b["grievance_weight"] * saturate(grievance),
        "waiting": b["waiting_weight"] * np.maximum(shift, 0.0),
        "cost": fighting_cost(war_cost, parity_, b),
        "mobilisation": b["offensive_threshold"] * (1.0 - readiness),
    }


def _total(terms: dict, keys) -> np.ndarray | float:
    """The sum of the terms named in ``keys`` that are present, added in place in their order."""
    total: np.ndarray | float = 0.0
    for k in keys:
        if k in terms:
            if isinstance(total, np.ndarray):
                total += terms[k]
            else:
                total = np.array(terms[k], dtype=float) + total
    return total


def offensive_value(terms: dict) -> np.ndarray:
    """Value of an offensive relative to holding: its pushes minus its restraints."""
    value = _total(terms, OFFENSIVE_TERMS)
    value -= _total(terms, RESTRAINT_TERMS)
    return np.asarray(value)


def violate_value(terms: dict, monitoring, b, offensive=None) -> np.ndarray:
    """Value of authorising limited attacks relative to holding.

    Violations serve a share of the offensive's motives and bear the same share of its war,
    leverage, trust, benefit and signature costs; they need no mobilisation and cross no red line
    (red lines bind offensives), but verified attribution (monitoring) costs the violator. A
    violation its backers see costs the whole of their conditioned support and of a joint
    guarantee, so those costs are borne with the chance of being seen. ``offensive``, where
    already computed from the same terms, is reused.
    """
    unshared = ("mobilisation", "red_line") + SEEN_TERMS
    if offensive is None:
        partial = offensive_value({k: v for k, v in terms.items() if k not in unshared})
    else:  # the same sum: the offensive's value with the unshared restraints given back
        partial = offensive + _total(terms, unshared)
    seen = _total(terms, SEEN_TERMS) * detection_chance(monitoring, b["backer_detection"])
    return b["violate_share"] * partial - seen - b["violate_threshold"] - b["monitoring_cost"] * monitoring


def readiness_after_day(readiness, intent, mobilisation_days) -> np.ndarray:
    """Mobilisation: readiness climbs toward 1 over ``mobilisation_days`` while a faction would
    attack if ready (``intent`` > 0), and winds down as fast when it would not."""
    step = np.where(intent > 0, 1.0, -1.0) / np.maximum(mobilisation_days, 1.0)
    return np.clip(readiness + step, 0.0, 1.0)


def choice_probabilities(v_violate, v_offensive, noise) -> np.ndarray:
    """Logit (quantal-response) probabilities of (hold, violate, offensive), stacked on axis 0."""
    values = np.stack([np.zeros_like(v_violate), v_violate, v_offensive]) / noise
    values -= values.max(axis=0)
    weights = np.exp(values)
    return weights / weights.sum(axis=0)


def choose(probabilities: np.ndarray, u: np.ndarray) -> np.ndarray:
    """The choice whose cumulative probability first exceeds the uniform draw u."""
    cumulative = probabilities[0]
    choice = np.zeros(u.shape, dtype=np.int8)
    for p in probabilities[1:]:
        choice += u > cumulative
        cumulative = cumulative + p
    return choice


# --- violations --------------------------------------------------------------------------------
def violation_rate(
    cohesion, authorised, rival_memory, grievance, monitoring, signed, trust_, b, readiness=0.0
) -> np.ndarray:
    """Expected violations per day of one faction.

    Unauthorised violations grow with low cohesion (spoilers); authorised ones come with the
    choice to violate or attack; mobilising for an offensive brings probes, preparatory fire and
    clashes as forces mass (with ``readiness``). All grow with remembered rival violations
    (tit-for-tat) and grievance, and fall with monitoring, a signature and trust.
    """
    base = (
        b["spoiler_violation_rate"] * (1.0 - cohesion)
        + b["authorised_violation_rate"] * authorised
        + b["mobilisation_violation_rate"] * readiness
    )
    spur = 1.0 + b["titfortat"] * rival_memory + b["grievance_violation_weight"] * saturate(grievance)
    damp = (
        (1.0 - b["monitoring_deterrence"] * monitoring)
        * (1.0 - b["signed_violation_damp"] * signed)
        * (1.0 - b["consolidation_violation_damp"] * trust_)
    )
    return np.minimum(base * spur * damp, b["max_violation_rate"])


def perceived_violations(rival_violations, monitoring, misattribution) -> np.ndarray:
    """Violations a victim blames on its rival: without monitoring, fog inflates them."""
    return rival_violations * (1.0 + misattribution * (1.0 - monitoring))


def update_grievance(grievance, perceived, combat, walked_out, trust_, b) -> np.ndarray:
    decay = np.minimum(b["grievance_decay"] * (1.0 + trust_), 1.0)
    return (
        grievance * (1.0 - decay)
        + b["grievance_per_violation"] * perceived
        + b["grievance_attacked"] * combat
        + b["walkout_grievance"] * walked_out
    )


# --- combat and the balance over time ------------------------------------------------------------
def lanchester_losses(strength: np.ndarray, fighting: np.ndarray, attrition, enemies=None) -> np.ndarray:
    """Square-law losses: each faction loses attrition x the strength of all its enemies
    (``enemies``: an (F, F) 0/1 matrix; by default every other faction)."""
    rivals = strength.sum(axis=0) - strength if enemies is None else sum_over(enemies, strength)
    return np.minimum(attrition * rivals * fighting, strength)


def control_after_combat(control: np.ndarray, transfers: np.ndarray) -> np.ndarray:
    """Control after the day's offensives: ``transfers[i, j]`` is the share moved from j to i.
    Shares stay >= 0 and keep summing to 1."""
    moved = np.array(control, dtype=float)
    for i in range(transfers.shape[0]):  # in faction order, the same for any number of worlds
        for j in range(transfers.shape[1]):
            moved[i] += transfers[i, j]
            moved[j] -= transfers[i, j]
    moved = np.clip(moved, 0.0, None)
    total = moved[0].copy()
    for share in moved[1:]:
        total += share
    return moved / total


def captured(defender_control, succeeded, speed) -> np.ndarray:
    """Control a successful offensive takes in a day: ``speed`` of the defender's. A failed one
    takes nothing: the defender loses no ground merely because someone fought."""
    return np.where(succeeded, speed * defender_control, 0.0)


def strength_after_day(strength, supply, losses, turnover) -> np.ndarray:
    """Strength wears out at the turnover rate and is replenished by own and backer supply."""
    return np.maximum(strength * (1.0 - turnover) + supply - losses, 0.0)


# --- backers ---------------------------------------------------------------------------------
def losing(control_lost, trend, sensitivity) -> np.ndarray:
    """How much a backer reads its client as losing: lost control or falling power, in [0, 1]."""
    return np.clip(sensitivity * np.maximum(control_lost, -trend), 0.0, 1.0)


def escalate(support, max_support, escalation, losing_) -> np.ndarray:
    """Support rises toward the backer's appetite while its client is losing."""
    return support + escalation * losing_ * np.maximum(max_support - support, 0.0)


def decay_pressure(pressure, decay) -> np.ndarray:
    """Leverage fades as the backer's attention moves on (Beardsley's mediation dilemma)."""
    return pressure * (1.0 - decay)


# --- talks ------------------------------------------------------------------------------------
def proposal(control, power, power_weight) -> np.ndarray:
    """The mediator's proposed split: between the lines held and the balance of power."""
    return (1.0 - power_weight) * control + power_weight * power


def formulated_offer(offer, believed, formulation) -> np.ndarray:
    """A proposal formulated toward what a side believes it could win (constructive ambiguity):
    it moves ``formulation`` of the way up to that belief, never down."""
    return offer + formulation * np.maximum(believed - offer, 0.0)


def demand_after_formula(demand, offer, formulation) -> np.ndarray:
    """A signatory's demand moves toward the formula it signed, ``formulation`` of the way down."""
    return demand - formulation * np.maximum(demand - offer, 0.0)


def cessation_probability(intent, noise) -> np.ndarray:
    """Chance that a faction accepts a cessation of hostilities: it values holding above an
    offensive it is ready for (``intent`` < 0), on the logit scale of its daily choice."""
    return 1.0 / (1.0 + np.exp(np.clip(intent / noise, -60, 60)))


def sign_probability(offer, demand, pull, b) -> np.ndarray:
    """Chance that a faction signs: the offer meets its demand within tolerance, helped by its
    backers' pull toward the truce."""
    margin = offer + b["sign_tolerance"] + b["sign_leverage_weight"] * pull - demand
    return 1.0 / (1.0 + np.exp(-np.clip(margin / b["sign_noise"], -60, 60)))
