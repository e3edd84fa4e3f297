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


def strongest_rival(values: np.ndarray) -> np.ndarray:
    """For each faction (axis 0), the largest value among the other factions."""
    if values.shape[0] == 1:
        return np.zeros_like(values)
    if values.shape[0] == 2:  # the common case: each faction's rival is the other
        return values[::-1].copy()
    order = np.sort(values, axis=0)
    top, second = order[-1], order[-2]
    return np.where(values >= top, second, top)


def parity(power: np.ndarray) -> np.ndarray:
    """1 at an even balance with the strongest rival, falling to 0 when one side holds it all."""
    return 1.0 - np.abs(power - strongest_rival(power))


def power_trend(power: np.ndarray, average: np.ndarray) -> np.ndarray:
    """How far power stands above (+) or below (-) its moving average."""
    return power - average


def update_average(average: np.ndarray, value: np.ndarray, memory_days) -> np.ndarray:
    """Exponential moving average with time scale ``memory_days``."""
    return average + (value - average) / np.maximum(memory_days, 1.0)


# --- the value of an offensive -----------------------------------------------------------------
def offensive_motive(perceived_power, control, demand, trend, grievance, b) -> np.ndarray:
    """What pushes a faction to fight: the balance-lines mismatch (Werner & Yuen), unmet demands,
    a closing window (Powell's preventive motive) and grievance."""
    return (
        b["gain_weight"] * (perceived_power - control)
        + b["demand_weight"] * np.maximum(demand - control, 0.0)
        + b["preventive_weight"] * np.maximum(-trend, 0.0)
        + b["grievance_weight"] * saturate(grievance)
    )


def fighting_cost(war_cost, parity_, b) -> np.ndarray:
    """Expected cost of fighting; it rises near parity (the mutually hurting stalemate)."""
    return war_cost * b["war_cost_weight"] * (1.0 + b["ripeness_weight"] * parity_)


def leverage(dependence, credibility, pressure, preference) -> np.ndarray:
    """One backer's pull toward holding (negative: toward fighting) on one client."""
    return dependence * credibility * pressure * preference


def red_line_deterrence(rival_control, red_line, credibility, reach, cost) -> np.ndarray:
    """Expected cost of an offensive that would push a rival below its backer's red line.

    ``red_line`` is NaN where the backer has none.
    """
    crossing = np.nan_to_num(rival_control - reach < red_line, nan=False)
    return np.where(crossing, credibility * cost, 0.0)


def saturate(x) -> np.ndarray:
    """x / (1 + x): grievance matters less with each extra unit."""
    return x / (1.0 + x)


def trust(age, consolidation_days) -> np.ndarray:
    """Trust built by a truce that has held ``age`` days (0 at signing, toward 1)."""
    return 1.0 - np.exp(-np.maximum(age, 0) / consolidation_days)


def choice_values(motive, cost, hold_value, monitoring, signed, b) -> tuple[np.ndarray, np.ndarray]:
    """Values of (violate, offensive) relative to hold = 0.

    ``hold_value`` gathers what makes holding worth more (leverage, deterrence, trust); an
    offensive bears all of it, limited violations only part, but also the monitoring cost.
    """
    offensive = motive - cost - hold_value - b["offensive_threshold"] - b["signed_cost"] * signed
    share = b["violate_share"]
    violate = share * (motive - hold_value) - b["violate_threshold"] - b["monitoring_cost"] * monitoring
    return violate, offensive


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
def violation_rate(cohesion, authorised, rival_memory, grievance, monitoring, signed, trust_, b) -> np.ndarray:
    """Expected violations per day of one faction.

    Unauthorised violations grow with low cohesion (spoilers); authorised ones come with the
    choice to violate. Both grow with remembered rival violations (tit-for-tat) and grievance,
    and fall with monitoring, a signature and trust.
    """
    base = b["spoiler_violation_rate"] * (1.0 - cohesion) + b["authorised_violation_rate"] * authorised
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
def lanchester_losses(strength: np.ndarray, fighting: np.ndarray, attrition) -> np.ndarray:
    """Square-law losses: each faction loses attrition x the strength of all its enemies."""
    enemies = strength.sum(axis=0) - strength
    return np.minimum(attrition * enemies * fighting, strength)


def control_after_combat(control: np.ndarray, power: np.ndarray, fighting, speed) -> np.ndarray:
    """Control moves toward power where there is fighting; shares keep summing to 1."""
    moved = control + speed * fighting * (power - control)
    moved = np.clip(moved, 0.0, None)
    return moved / moved.sum(axis=0)


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


def dependence(delivered, own_supply, total_delivered) -> np.ndarray:
    """Share of a faction's supply that one backer provides."""
    total = own_supply + total_delivered
    return np.divide(delivered, total, out=np.zeros_like(delivered, dtype=float), where=total > 0)


# --- talks ------------------------------------------------------------------------------------
def proposal(control, power, power_weight) -> np.ndarray:
    """The mediator's proposed split: between the lines held and the balance of power."""
    return (1.0 - power_weight) * control + power_weight * power


def sign_probability(offer, demand, pull, b) -> np.ndarray:
    """Chance that a faction signs: the offer meets its demand within tolerance, helped by its
    backers' pull toward the truce."""
    margin = offer + b["sign_tolerance"] + b["sign_leverage_weight"] * pull - demand
    return 1.0 / (1.0 + np.exp(-np.clip(margin / b["sign_noise"], -60, 60)))
