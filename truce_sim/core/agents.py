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


class Faction(Agent):
    """A domestic armed party: strength, control, cohesion, demand, war cost, grievance.

    Each day it perceives the balance, values an offensive and limited violations against
    holding, and chooses (MODEL.md section 4).
    """

    def __init__(self, model, name: str, facts: dict[str, np.ndarray]):
        super().__init__(model)
        self.name = name
        self.strength = facts["strength"].copy()
        self.control = facts["control"].copy()
        self.cohesion = facts["cohesion"].copy()
        self.demand = facts["demand"].copy()
        self.war_cost = facts["war_cost"].copy()
        self.grievance = facts["grievance"].copy()
        self.initial_control = self.control.copy()
        shape = self.strength.shape
        self.power = np.zeros(shape)
        self.power_average = np.zeros(shape)
        self.parity = np.zeros(shape)
        self.own_supply = np.zeros(shape)
        self.supply = np.zeros(shape)  # delivered by backers today
        self.dependence: dict[str, np.ndarray] = {}
        self.rival_memory = np.zeros(shape)  # remembered rival violations (tit-for-tat)
        self.signed = np.zeros(shape, dtype=bool)
        self.signed_ever = np.zeros(shape, dtype=bool)
        self.walked_out = np.zeros(shape, dtype=bool)
        self.choice = np.zeros(shape, dtype=np.int8)
        self.offensive_value = np.zeros(shape)
        self.violations = np.zeros(shape, dtype=np.int64)
        self.first_offensive_day = np.zeros(shape, dtype=np.int64)  # 0: none yet
        self.backers: list[Backer] = []

    @property
    def trend(self) -> np.ndarray:
        return rules.power_trend(self.power, self.power_average)

    def pull(self) -> np.ndarray:
        """Summed leverage of this faction's backers: + toward holding, - toward fighting."""
        total = np.zeros_like(self.strength)
        for backer in self.backers:
            total += rules.leverage(
                self.dependence.get(backer.name, 0.0), backer.credibility, backer.pressure, backer.truce_preference
            )
        return total

    def deterrence(self) -> np.ndarray:
        """Expected cost of red lines that an offensive by this faction would cross."""
        b = self.model.behaviour
        total = np.zeros_like(self.strength)
        for backer in self.model.backers:
            if backer.red_line is None:
                continue
            for client in backer.clients:
                if client is not self:
                    total += rules.red_line_deterrence(
                        client.control, backer.red_line, backer.credibility, b["offensive_reach"], b["red_line_cost"]
                    )
        return total

    def choose(self) -> None:
        """Choose hold, violate or offensive from yesterday's state."""
        m, b = self.model, self.model.behaviour
        monitoring = m.mediator.monitoring
        sd = b["perception_noise"] * (1.0 - monitoring * b["monitoring_information"])
        perceived = self.power + sd * m.streams.normal(m.steps, f"{self.name}/perception")
        motive = rules.offensive_motive(perceived, self.control, self.demand, self.trend, self.grievance, b)
        cost = rules.fighting_cost(self.war_cost, self.parity, b)
        trust = rules.trust(m.truce_age, b["consolidation_days"]) * m.in_truce
        hold_value = b["leverage_weight"] * self.pull() + self.deterrence() + b["consolidation_value"] * trust
        violate, offensive = rules.choice_values(motive, cost, hold_value, monitoring, self.signed, b)
        # Outside a truce there is no truce to break: only fighting's own costs remain.
        offensive = offensive + b["offensive_threshold"] * ~m.in_truce
        probabilities = rules.choice_probabilities(violate, offensive, b["decision_noise"])
        self.choice = rules.choose(probabilities, m.streams.uniform(m.steps, f"{self.name}/choice"))
        self.offensive_value = offensive


class Backer(Agent):
    """A foreign state: supports its clients, escalates when they lose, presses them toward its
    preference (pressure decays), and guards an optional red line."""

    def __init__(self, model, name: str, clients: list[tuple[Faction, float]], facts: dict[str, np.ndarray]):
        super().__init__(model)
        self.name = name
        self.clients = [c for c, _ in clients]
        self.weights = [w for _, w in clients]
        self.support = facts["support"].copy()
        self.max_support = facts["max_support"].copy()
        self.escalation = facts["escalation"].copy()
        self.truce_preference = facts["truce_preference"].copy()
        self.pressure = facts["pressure"].copy()
        self.pressure_decay = facts["pressure_decay"].copy()
        self.credibility = facts["credibility"].copy()
        self.red_line = None if facts.get("red_line") is None else facts["red_line"].copy()
        self.intervened = np.zeros(self.support.shape, dtype=bool)
        self.delivery: list[np.ndarray] = [np.zeros_like(self.support) for _ in self.clients]
        for client in self.clients:
            client.backers.append(self)

    def act(self) -> None:
        """Escalate, deliver support, intervene at the red line; then pressure decays."""
        b = self.model.behaviour
        losing = sum(
            w * rules.losing(c.initial_control - c.control, c.trend, b["escalation_sensitivity"])
            for c, w in zip(self.clients, self.weights, strict=False)
        )
        self.support = rules.escalate(self.support, self.max_support, self.escalation, losing)
        surge = np.zeros_like(self.support)
        if self.red_line is not None:
            below = np.zeros(self.support.shape, dtype=bool)
            for client in self.clients:
                below |= client.control < self.red_line
            surge = (below & ~self.intervened) * b["red_line_surge"] * self.credibility
            self.support = np.where(below, np.maximum(self.support, self.max_support), self.support)
            self.intervened |= below
        self.delivery = [self.support * w + surge for w in self.weights]
        self.pressure = rules.decay_pressure(self.pressure, self.pressure_decay)


class Mediator(Agent):
    """The mediator: monitors violations and convenes talks on scheduled days."""

    def __init__(self, model, monitoring: np.ndarray, talk_days: set[int]):
        super().__init__(model)
        self.name = "mediator"
        self.monitoring = monitoring.copy()
        self.talk_days = set(talk_days)

    def convene(self) -> np.ndarray:
        """Propose a split; each faction signs or walks out. Returns where all have signed."""
        m, b = self.model, self.model.behaviour
        all_signed = np.ones(m.in_truce.shape, dtype=bool)
        for faction in m.factions:
            offer = rules.proposal(faction.control, faction.power, b["proposal_power_weight"])
            p_sign = rules.sign_probability(offer, faction.demand, faction.pull(), b)
            signs = faction.signed | (m.streams.uniform(m.steps, f"{faction.name}/sign") < p_sign)
            faction.walked_out = ~signs
            faction.signed = signs
            faction.signed_ever |= signs
            all_signed &= signs
        return all_signed
