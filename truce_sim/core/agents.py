"""Faction, Backer and Mediator: Mesa agents whose state is numpy arrays over worlds.

One agent stands for one actor (the LNA, Turkey, the UN) in every world of a batch: each state
variable is an array with one entry per world, and the behaviour is numpy expressions from
:mod:`sim.rules`. With one world this is an ordinary Mesa model; with ten thousand it costs about
the same Python overhead. Agents read yesterday's state of the others and write only their own,
so the order in which they act never changes a result (MODEL.md section 3).
"""

from __future__ import annotations

import numpy as np
from mesa import Agent

from truce_sim.core import rules
from truce_sim.core.streams import FACTS_DAY


class Faction(Agent):
    """A domestic armed party: strength, control, cohesion, demand, war cost, grievance, and a
    belief about the balance that combat and verified information correct.

    Each day it values an offensive and limited violations against holding, term by term
    (:data:`rules.TERMS`), and chooses; a major offensive needs mobilisation first (docs/MODEL.md
    section 4).
    """

    def __init__(self, model, name: str, facts: dict[str, np.ndarray], allies: tuple[str, ...] = ()):
        super().__init__(model)
        self.name = name
        self.allies = tuple(allies)
        self.strength = facts["strength"].copy()
        self.control = facts["control"].copy()
        self.cohesion = facts["cohesion"].copy()
        self.demand = facts["demand"].copy()
        self.war_cost = facts["war_cost"].copy()
        self.grievance = facts["grievance"].copy()
        self.prior_bias = facts["belief_bias"].copy()
        self.belief_precision = facts["belief_precision"].copy()
        self.holding_benefit = facts["holding_benefit"].copy()
        self.signatory = facts["signatory"].copy()
        self.initial_control = self.control.copy()
        shape = self.strength.shape
        self.evidence = np.zeros(shape)  # about the balance, in days of combat
        self.power = np.zeros(shape)
        self.power_ahead = np.zeros(shape)  # projected over projection_days
        self.power_average = np.zeros(shape)
        self.parity = np.zeros(shape)
        self.readiness = np.zeros(shape)  # mobilisation for a major offensive, 0..1
        self.own_supply = np.zeros(shape)
        self.supply = np.zeros(shape)  # delivered by backers today
        self.dependence: dict[str, np.ndarray] = {}  # on each backer that arms or presses it
        self.guarantee = np.zeros(shape)  # worth of the joint guarantees over its backers
        self.sanctioned = np.zeros(shape)  # share of its own supply cut by pressing backers
        self.rival_memory = np.zeros(shape)  # remembered rival violations (tit-for-tat)
        self.signed = np.zeros(shape, dtype=bool)
        self.signed_ever = np.zeros(shape, dtype=bool)
        self.walked_out = np.zeros(shape, dtype=bool)
        self.choice = np.zeros(shape, dtype=np.int8)
        self.offensive_value = np.zeros(shape)
        self.violate_value = np.zeros(shape)
        self.terms: dict[str, np.ndarray] = {}
        self.violations = np.zeros(shape, dtype=np.int64)
        self.first_offensive_day = np.zeros(shape, dtype=np.int64)  # 0: none yet
        self.backers: list[Backer] = []
        self.resolve_doubt: dict[str, np.ndarray] = {}  # its error about each backer's resolve at a red line

    @property
    def trend(self) -> np.ndarray:
        return rules.power_trend(self.power, self.power_average)

    @property
    def bias(self) -> np.ndarray:
        """Today's error of its belief about its power share (+ optimistic)."""
        return rules.belief_bias(self.prior_bias, self.belief_precision, self.evidence)

    def pull(self) -> np.ndarray:
        """Summed persuasion of this faction's backers and of those that press it: + toward
        holding, - toward fighting."""
        total = np.zeros_like(self.strength)
        for backer in self.model.backers:
            dependence = self.dependence.get(backer.name)
            if dependence is not None:
                pressure = backer.pressure * backer.restraining if backer.guarantor else backer.pressure
                total += rules.leverage(dependence, pressure, backer.truce_preference)
        return total

    def conditions(self) -> np.ndarray:
        """Expected loss of conditioned support (or of what a pressing backer controls) were it
        to defect from what each backer wants."""
        total = None
        for backer in self.model.backers:
            dependence = self.dependence.get(backer.name)
            if dependence is not None and backer.conditioned:
                threat = rules.conditional_threat(
                    dependence, backer.conditionality * backer.restraining, backer.credibility, backer.truce_preference
                )
                total = threat if total is None else total + threat
        if total is None:  # no backer conditions anything on this faction's conduct
            return np.zeros_like(self.strength)
        return total * self.model.compliance_credit

    def deterrence(self, chance) -> np.ndarray:
        """Expected cost of red lines that an offensive by this faction, succeeding with
        ``chance`` as it believes, would cross."""
        b = self.model.behaviour
        total = np.zeros_like(self.strength)
        for backer in self.model.backers:
            if backer.red_line is None:
                continue
            for client in backer.clients:
                if self.model.are_enemies(self, client):
                    total += rules.red_line_deterrence(
                        client.control,
                        backer.red_line,
                        np.clip(backer.red_line_chance() + self.resolve_doubt[backer.name], 0.0, 1.0),
                        b["offensive_reach"],
                        b["red_line_cost"],
                        b["red_line_width"],
                        chance,
                    )
        return total

    def value_terms(self, in_truce: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Today's terms of the value of an offensive against holding, judged on its beliefs;
        ``in_truce`` (default: where the truce holds) says where holding's benefits count."""
        m, b = self.model, self.model.behaviour
        monitoring = m.mediator.monitoring
        sd = b["perception_noise"] * (1.0 - monitoring * b["monitoring_information"])
        believed = self.power + self.bias + sd * m.streams.normal(m.steps, f"{self.name}/perception")
        chance = rules.success_chance(believed, b["defence_advantage"], b["success_steepness"])
        terms = rules.offensive_terms(
            chance,
            self.control,
            believed,
            self.demand,
            rules.balance_shift(self.power, self.power_ahead),
            self.grievance,
            self.war_cost,
            self.parity,
            self.readiness,
            b,
        )
        in_truce = m.in_truce if in_truce is None else in_truce
        terms["leverage"] = b["leverage_weight"] * self.pull()
        terms["conditions"] = b["conditions_weight"] * self.conditions()
        terms["guarantee"] = b["guarantee_weight"] * self.guarantee
        terms["red_line"] = self.deterrence(chance)
        terms["trust"] = b["consolidation_value"] * m.trust_level * in_truce
        terms["benefits"] = self.holding_benefit * in_truce
        terms["inducement"] = (
            m.inducement_level * (in_truce & self.signed) if m.mediator.inducing else m.inducement_level
        )
        terms["signature"] = b["signed_cost"] * self.signed
        return terms

    def intent(self) -> np.ndarray:
        """Value of an offensive today were it mobilised, against holding a truce with its
        benefits: what a faction weighs a cessation against."""
        terms = self.value_terms(in_truce=np.ones(self.strength.shape, dtype=bool))
        return rules.offensive_value(terms) + terms["mobilisation"]

    def choose(self) -> None:
        """Choose hold, violate or offensive from yesterday's state; mobilise or stand down."""
        m, b = self.model, self.model.behaviour
        terms = self.value_terms()
        offensive = rules.offensive_value(terms)
        violate = rules.violate_value(terms, m.mediator.monitoring, b, offensive)
        probabilities = rules.choice_probabilities(violate, offensive, b["decision_noise"])
        self.choice = rules.choose(probabilities, m.streams.uniform(m.steps, f"{self.name}/choice"))
        self.offensive_value = offensive
        self.violate_value = violate
        self.terms = terms
        self.readiness = rules.readiness_after_day(
            self.readiness, offensive + terms["mobilisation"], b["mobilisation_days"]
        )


class Backer(Agent):
    """A foreign state: supports its clients, escalates when they lose, presses them toward its
    preference (pressure decays), conditions its support on their conduct, can guarantee a truce
    with rival patrons, fight beside its clients, guard a red line, and withdraw when its public
    has borne enough."""

    def __init__(self, model, name: str, clients: list[tuple[Faction, float]], facts: dict[str, np.ndarray]):
        super().__init__(model)
        self.name = name
        self.clients = [c for c, _ in clients]
        self.weights = [w for _, w in clients]
        self.support = facts["support"].copy()
        announced = facts.get("announced_support")
        self.announced_support = None if announced is None else announced.copy()
        self.signs_for_clients = facts["signs_for_clients"].copy()
        self.max_support = facts["max_support"].copy()
        self.escalation = facts["escalation"].copy()
        self.truce_preference = facts["truce_preference"].copy()
        self.pressure = facts["pressure"].copy()
        self.pressure_decay = facts["pressure_decay"].copy()
        self.credibility = facts["credibility"].copy()
        self.conditionality = facts["conditionality"].copy()
        self.forces = facts["forces"].copy()
        limit = facts.get("domestic_limit")
        self.domestic_limit = None if limit is None else limit.copy()
        self.red_line = None if facts.get("red_line") is None else facts["red_line"].copy()
        chance = facts.get("red_line_credibility")
        self.red_line_credibility = None if chance is None else chance.copy()
        shape = self.support.shape
        self.pressed: dict[Faction, float] = {}  # factions it presses without arming them
        self.guarantor = False  # set when it guarantees a truce with others
        self.restraining = np.ones(shape)  # how far it restrains its clients: a guarantor matches the others
        self.guarantee_broken = np.zeros(shape, dtype=bool)  # another guarantor's client has attacked
        self.withheld: dict[str, np.ndarray] = {}  # share of support withheld, by client or pressed faction
        self.cost = np.zeros(shape)  # borne by its public, against its domestic limit
        # where between half and one and a half times its domestic limit its public breaks
        self.breaking_share = 0.5 + model.streams.uniform(FACTS_DAY, f"{name}/breaking_point")
        self.withdrawn = np.zeros(shape, dtype=bool)
        self.has_withdrawn = False
        self.withholding = False
        self.intervened = np.zeros(shape, dtype=bool)
        self.delivery: list[np.ndarray] = [self.support * w for w in self.weights]  # before day 1: today's support
        turnover = model.behaviour["strength_turnover"]
        provided = facts.get("provided")
        stock = self.support / np.maximum(turnover, 1e-3) if provided is None else provided
        self.provided: list[np.ndarray] = [stock * w for w in self.weights]
        for client in self.clients:
            client.backers.append(self)
            self.withheld[client.name] = np.zeros(shape)
        self.refresh()

    def refresh(self) -> None:
        """Note which of its levers are in play, once after the day's events rather than at every
        use: most are off in most scenarios."""
        self.conditioned = bool(self.conditionality.any())
        self.escalating = bool(self.escalation.any())
        self.decaying = bool(self.pressure_decay.any())

    def red_line_chance(self) -> np.ndarray:
        """Chance that it intervenes at its red line: its own credibility unless stated apart."""
        return self.credibility if self.red_line_credibility is None else self.red_line_credibility

    def projected_delivery(self) -> list[np.ndarray]:
        """What each client counts on from this backer: today's support, or more where it has
        announced more."""
        rate = self.support if self.announced_support is None else np.maximum(self.support, self.announced_support)
        return [rate * w for w in self.weights]

    def restraint(self) -> np.ndarray:
        """How hard it holds its clients back today: its persuasion and conditioned support,
        weighted by their dependence on it (what a co-guarantor matches)."""
        b = self.model.behaviour
        total = np.zeros_like(self.support)
        conditioned = self.conditioned
        for client, w in zip(self.clients, self.weights, strict=False):
            dependence = client.dependence.get(self.name, 0.0)
            total += w * b["leverage_weight"] * rules.leverage(dependence, self.pressure, self.truce_preference)
            if conditioned:
                total += (
                    w
                    * b["conditions_weight"]
                    * rules.conditional_threat(dependence, self.conditionality, self.credibility, self.truce_preference)
                    * self.model.compliance_credit
                )
        return total * self.restraining

    def enforce(self, seen: dict[str, np.ndarray]) -> None:
        """Carry out threats against clients and pressed factions seen defecting yesterday (or,
        for a war-seeking backer, seen holding), each with the chance its credibility gives."""
        m, b = self.model, self.model.behaviour
        if not (self.conditioned or self.withholding):
            return
        # what it withheld eases in every world each day, whether or not any world of the batch
        # still has conditions: a world's arithmetic must not depend on its batch
        wants_truce = self.truce_preference > 0
        for target in self.clients + list(self.pressed):
            punished = np.zeros(self.support.shape, dtype=bool)
            if self.conditioned:
                defected = np.where(wants_truce, seen[target.name], m.in_truce & ~seen[target.name])
                carried = m.streams.uniform(m.steps, f"{self.name}/enforce/{target.name}") < self.credibility
                punished = defected & carried & (self.truce_preference != 0) & (self.restraining > 0)
            self.withheld[target.name] = rules.withheld_after_day(
                self.withheld[target.name], punished, self.conditionality, b["punishment_days"]
            )
        self.withholding = True  # once it has conditioned support, some may be withheld

    def act(self) -> None:
        """Escalate, deliver support (less what it withholds, held to an enforced embargo),
        intervene at the red line; bear the cost; then pressure decays."""
        m, b = self.model, self.model.behaviour
        if self.escalating:
            losing = sum(
                w * rules.losing(c.initial_control - c.control, c.trend, b["escalation_sensitivity"])
                for c, w in zip(self.clients, self.weights, strict=False)
            )
            self.support = rules.escalate(self.support, self.max_support, self.escalation, losing)
        surge = None
        if self.red_line is not None:
            below = np.zeros(self.support.shape, dtype=bool)
            for client in self.clients:
                below |= client.control < self.red_line
            surge = (below & ~self.intervened) * b["red_line_surge"] * self.red_line_chance()
            self.support = np.where(below, np.maximum(self.support, self.max_support), self.support)
            self.intervened |= below
        mediator = m.mediator
        withheld = [self.withheld[c.name] for c in self.clients]
        if self.withholding:
            delivery = [self.support * w * (1.0 - h) for w, h in zip(self.weights, withheld, strict=True)]
        else:
            delivery = [self.support * w for w in self.weights]
        if mediator.embargoing:
            stopped = m.streams.uniform(m.steps, f"{self.name}/embargo") < mediator.embargo_enforcement
            delivery = [rules.under_embargo(d, mediator.embargo_cap, stopped) for d in delivery]
        self.delivery = delivery if surge is None else [d + surge for d in delivery]
        turnover = b["strength_turnover"]
        self.provided = [
            rules.provided_after_day(p, d, turnover) for p, d in zip(self.provided, self.delivery, strict=True)
        ]
        if self.decaying:
            self.pressure = rules.decay_pressure(self.pressure, self.pressure_decay)
        if self.domestic_limit is not None:  # its public counts the cost while a limit is in force
            self.cost = self.cost + sum(self.delivery) + self.forces * b["force_upkeep"]
            self.withdraw(self.cost > self.domestic_limit * self.breaking_share)

    def withdraw(self, where: np.ndarray, again: bool = False) -> None:
        """Its public has borne enough: support, forces, pressure and conditions end for good."""
        where = where if again else where & ~self.withdrawn
        if not where.any():
            return
        keep = ~where
        self.support = self.support * keep
        self.max_support = self.max_support * keep
        self.forces = self.forces * keep
        self.pressure = self.pressure * keep
        self.conditionality = self.conditionality * keep
        if self.announced_support is not None:
            self.announced_support = self.announced_support * keep
        if self.red_line is not None:
            self.red_line = np.where(where, np.nan, self.red_line)
        for target, withheld in self.withheld.items():  # nor does it sanction anyone any more
            self.withheld[target] = withheld * keep
        self.withdrawn |= where
        self.has_withdrawn = True
        self.refresh()


class Mediator(Agent):
    """The mediator: monitors violations and convenes talks on scheduled days (and when a truce
    with a term reaches it)."""

    def __init__(self, model, facts: dict[str, np.ndarray], talk_days: set[int], term_days: int = 0):
        super().__init__(model)
        self.name = "mediator"
        self.monitoring = facts["monitoring"].copy()
        self.settlement = facts["settlement"].copy()
        self.facilitation = facts["facilitation"].copy()
        self.formulation = facts["formulation"].copy()
        self.inducements = facts["inducements"].copy()
        self.inducement_days = facts["inducement_days"].copy()
        self.embargo_cap = facts["embargo_cap"].copy()
        self.embargo_enforcement = facts["embargo_enforcement"].copy()
        self.refresh()
        self.talk_days = set(talk_days)
        self.term_days = int(term_days)

    def refresh(self) -> None:
        """Note which of its strategies are in play, once after the day's events."""
        self.embargoing = bool(self.embargo_enforcement.any())
        self.inducing = bool(self.inducements.any())
        self.formulating = bool(self.formulation.any())

    def convene(self, worlds: np.ndarray | None = None, renewal: bool = False) -> np.ndarray:
        """Put a truce to the parties in ``worlds`` (default: all); each signatory signs or walks
        out. Returns where every signatory has signed (spoilers never sign and are not needed).
        At a ``renewal`` (a truce's term has come) earlier signatures do not count: each side
        decides afresh whether to extend.

        A settlement proposes a split of control that must meet each side's demand; a cessation
        asks only that a side value holding above fighting (``settlement`` mixes the two). A
        backer that signs for its clients binds them whether or not they would sign.
        """
        m, b = self.model, self.model.behaviour
        shape = m.in_truce.shape
        worlds = np.ones(shape, dtype=bool) if worlds is None else worlds
        all_signed = np.ones(shape, dtype=bool)
        bound = {f.name: np.zeros(shape, dtype=bool) for f in m.factions}
        for backer in m.backers:
            binds = m.streams.uniform(m.steps, f"{backer.name}/signs_for") < backer.signs_for_clients
            for client in backer.clients:
                bound[client.name] |= binds
        formulating = self.formulating
        for faction in m.factions:
            offer = rules.proposal(faction.control, faction.power, b["proposal_power_weight"])
            if formulating:
                offer = rules.formulated_offer(offer, faction.power + faction.bias, self.formulation)
            p_sign = rules.sign_probability(offer, faction.demand, faction.pull(), b)
            if (self.settlement < 1.0).any():  # a cessation is on offer: weigh holding against fighting
                cease = rules.cessation_probability(faction.intent(), b["decision_noise"])
                p_sign = self.settlement * p_sign + (1.0 - self.settlement) * cease
            kept = np.zeros(shape, dtype=bool) if renewal else faction.signed
            signs = kept | bound[faction.name] | (m.streams.uniform(m.steps, f"{faction.name}/sign") < p_sign)
            signs &= faction.signatory > 0.5
            faction.walked_out = np.where(worlds, ~signs & (faction.signatory > 0.5), faction.walked_out)
            faction.signed = np.where(worlds, signs, faction.signed)
            faction.signed_ever |= signs & worlds
            if formulating:
                faction.demand = np.where(
                    signs & worlds, rules.demand_after_formula(faction.demand, offer, self.formulation), faction.demand
                )
            all_signed &= signs | (faction.signatory <= 0.5)
        return all_signed & worlds
