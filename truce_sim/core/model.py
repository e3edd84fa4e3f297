"""TruceModel: one Mesa model stepping R worlds of a truce under foreign leverage at once.

The design is MODEL.md's: factions and their foreign backers, an optional mediator, and one day
per step in a fixed order (events and talks, backers act, factions choose, resolution, the truce
state, observation). Decisions are simultaneous, and every random draw of world r comes from a
stream keyed on (seed, r), so world r is the same alone or in a batch.

References: Werner & Yuen (2005) on mismatched lines; Powell (2006) on shifting power;
Beardsley (2008, 2011) on fading leverage; Fortna (2003, 2004) on agreements and durability;
Zartman on ripeness. Parameters are described in ``scenario.py`` and ``defaults.yaml``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import mesa
import numpy as np

from truce_sim.core import rules
from truce_sim.core.agents import Backer, Faction, Mediator
from truce_sim.core.scenario import BUILTIN_SCENARIOS, Distribution, Scenario, field_for, load_scenario
from truce_sim.core.streams import FACTS_DAY, WorldStreams

DEFAULT_SCENARIO = BUILTIN_SCENARIOS / "libya_2020_january.yaml"
CAUSES = ("", "offensive", "violation_spiral")


class TruceModel(mesa.Model):
    """A truce between armed factions under their backers' leverage, in R worlds at once.

    Args:
        scenario: a :class:`Scenario`, a path to a scenario file, or None for the founding case
            (the Libyan truce of 12 January 2020).
        rng: the seed of the worlds' random streams (an int); None takes the scenario's seed.
        replicates: how many worlds to step at once (R).
        replicate_ids: which replicates these worlds are (default 0..R-1); world r draws from
            the stream of (seed, r) whatever batch it is in.
        keep_history: keep every day's observations in ``history`` (for viewing one world or a
            few); ensembles turn it off and aggregate ``observations()`` as they go.
    """

    def __init__(
        self,
        scenario: Scenario | str | Path | None = None,
        rng: int | None = None,
        replicates: int = 1,
        replicate_ids=None,
        keep_history: bool = True,
    ):
        if scenario is None:
            scenario = DEFAULT_SCENARIO
        if not isinstance(scenario, Scenario):
            scenario = load_scenario(scenario)
        if rng is not None and (isinstance(rng, bool) or not isinstance(rng, (int, np.integer))):
            raise TypeError("rng must be an int seed or None: the worlds' streams are keyed on it")
        seed = scenario.seed if rng is None else int(rng)
        super().__init__(rng=seed)
        self.scenario = scenario
        self.seed = seed
        self.shuffle_agents = False  # True activates agents in random order; results must not change
        ids = np.arange(replicates) if replicate_ids is None else np.asarray(replicate_ids, dtype=np.int64)
        self.replicate_ids = ids
        self.streams = WorldStreams(seed, ids)
        self.drawn: dict[str, np.ndarray] = {}  # facts drawn from distributions, by path
        facts = {path: self._resolve(path, value) for path, value in scenario.numeric_facts().items()}
        self.behaviour = {
            key[len("behaviour.") :]: (v if v.ndim and np.ptp(v) > 0 else float(v[0]))
            for key, v in facts.items()
            if key.startswith("behaviour.")
        }
        self._build_agents(facts)
        self._prepare_events()

        shape = ids.shape
        self.in_truce = np.ones(shape, dtype=bool)
        self.truce_age = np.zeros(shape, dtype=np.int64)
        self.first_truce_holds = np.ones(shape, dtype=bool)
        self.survival_days = np.zeros(shape, dtype=np.int64)
        self.cause = np.zeros(shape, dtype=np.int8)
        self.breaker = np.full(shape, -1, dtype=np.int8)
        window = int(np.max(self.behaviour["spiral_window_days"]).item())
        self.window = np.zeros((window, len(self.factions)) + shape, dtype=np.int64)
        self.violations_total = np.zeros(shape, dtype=np.int64)
        self.violations_in_truce = np.zeros(shape, dtype=np.int64)
        self.first_violation_day = np.zeros(shape, dtype=np.int64)
        self.truces_formed = np.zeros(shape, dtype=np.int64)
        self._update_balance(initial=True)
        self.keep_history = keep_history
        self.history: dict[str, list[np.ndarray]] = {}
        self._record()

    # construction -------------------------------------------------------------------------
    def _resolve(self, path: str, value) -> np.ndarray:
        """A fact as an array over worlds: a constant, or one draw per world from its stream."""
        n = len(self.replicate_ids)
        if not isinstance(value, Distribution):
            return np.full(n, float(value))
        u = self.streams.uniform(FACTS_DAY, f"fact/{path}")
        p = value.params
        if value.kind == "uniform":
            x = p[0] + u * (p[1] - p[0])
        elif value.kind == "normal":
            x = p[0] + p[1] * self.streams.normal(FACTS_DAY, f"fact/{path}")
        else:  # triangular, by inversion of its CDF
            lo, mode, hi = p
            span = hi - lo
            cut = (mode - lo) / span if span > 0 else 0.0
            x = np.where(u < cut, lo + np.sqrt(u * span * (mode - lo)), hi - np.sqrt((1 - u) * span * (hi - mode)))
        try:
            f = field_for(path)
            x = np.clip(x, f.lo if f.lo is not None else -np.inf, f.hi if f.hi is not None else np.inf)
        except KeyError:
            pass
        self.drawn[path] = x
        return x

    def _build_agents(self, facts: dict[str, np.ndarray]) -> None:
        s = self.scenario
        n = len(self.replicate_ids)
        self.factions: list[Faction] = []
        for name, spec in s.factions.items():
            own: dict[str, Any] = {key: facts.get(f"factions.{name}.{key}") for key in spec}
            if own["demand"] is None:
                own["demand"] = own["control"]
            self.factions.append(Faction(self, name, own))
        total = sum(f.control for f in self.factions)
        for f in self.factions:  # drawn control shares are renormalised to sum to 1 (equal if all 0)
            f.control = np.where(total > 0, f.control / np.where(total > 0, total, 1.0), 1.0 / len(self.factions))
            f.initial_control = f.control.copy()
        by_name = {f.name: f for f in self.factions}
        self.backers: list[Backer] = []
        for name, spec in s.backers.items():
            own = {key: facts.get(f"backers.{name}.{key}") for key in spec if key != "clients"}
            own["max_support"] = np.maximum(own["max_support"], own["support"])
            clients = [(by_name[c], w) for c, w in spec["clients"].items()]
            self.backers.append(Backer(self, name, clients, own))
        talks = set(s.mediator["talks"]) | {e.day for e in s.events if e.talks}
        self.mediator = Mediator(self, facts.get("mediator.monitoring", np.zeros(n)), talks)
        # Own supply replaces wear at the starting strength: a faction without backers keeps its
        # strength, and every unit of backer support adds to it (toward s0 + support / turnover).
        turnover = self.behaviour["strength_turnover"]
        for f in self.factions:
            f.own_supply = turnover * f.strength

    def _prepare_events(self) -> None:
        self.events: dict[int, list[tuple[str, object, str, np.ndarray, tuple]]] = {}
        agents = {("factions", f.name): f for f in self.factions}
        agents.update({("backers", b.name): b for b in self.backers})
        for i, event in enumerate(self.scenario.events):
            for op in ("set", "scale", "add"):
                for path, value in getattr(event, op).items():
                    parts = path.split(".")
                    agent = self.mediator if parts[0] == "mediator" else agents[(parts[0], parts[1])]
                    f = field_for(path)
                    bounds = (f.lo if f.lo is not None else -np.inf, f.hi if f.hi is not None else np.inf)
                    values = self._resolve(f"events.{i}.{op}.{path}", value)
                    self.events.setdefault(event.day, []).append((op, agent, parts[-1], values, bounds))

    # one day ------------------------------------------------------------------------------
    def step(self) -> None:
        """One day in MODEL.md's order (section 3)."""
        day = self.steps
        for op, agent, attr, values, bounds in self.events.get(day, ()):
            self._apply_event(op, agent, attr, values, bounds)
        if day in self.mediator.talk_days:
            all_signed = self.mediator.convene()
            formed = all_signed & ~self.in_truce
            self.in_truce |= formed
            self.truce_age[formed] = 0
            self.window[:, :, formed] = 0
            self.truces_formed += formed
        act = "shuffle_do" if self.shuffle_agents else "do"
        if self.backers:
            getattr(self.agents_by_type[Backer], act)("act")
        self._deliver_support()
        getattr(self.agents_by_type[Faction], act)("choose")
        fighting = self._resolve_day(day)
        self._update_truce(day, fighting)
        self._record()

    def _apply_event(self, op, agent, attr, values, bounds) -> None:
        current = getattr(agent, attr)
        if current is None:  # a red line drawn for the first time
            current = np.full(values.shape, np.nan)
        new = values if op == "set" else current * values if op == "scale" else current + values
        setattr(agent, attr, np.clip(new, *bounds))

    def _deliver_support(self) -> None:
        for f in self.factions:
            f.supply = np.zeros_like(f.strength)
        for b in self.backers:  # summed in scenario order, so the sum is the same in every run
            for client, delivered in zip(b.clients, b.delivery, strict=False):
                client.supply = client.supply + delivered
        for f in self.factions:
            for b in f.backers:
                delivered = cast(np.ndarray, sum(d for c, d in zip(b.clients, b.delivery, strict=False) if c is f))
                f.dependence[b.name] = rules.dependence(delivered, f.own_supply, f.supply)

    def _resolve_day(self, day: int) -> np.ndarray:
        """Violations, grievance, combat and the new balance. Returns where there was combat."""
        b, factions = self.behaviour, self.factions
        monitoring = self.mediator.monitoring
        trust = rules.trust(self.truce_age, b["consolidation_days"]) * self.in_truce
        attacking = [f.choice == rules.OFFENSIVE for f in factions]
        fighting = np.any(attacking, axis=0)
        for f, attacks in zip(factions, attacking, strict=False):
            f.first_offensive_day[attacks & (f.first_offensive_day == 0)] = day
        for f in factions:
            rate = rules.violation_rate(
                f.cohesion, f.choice == rules.VIOLATE, f.rival_memory, f.grievance, monitoring, f.signed, trust, b
            )
            f.violations = self.streams.poisson(rate, day, f"{f.name}/violations")
        total = sum(f.violations for f in factions)
        for f in factions:
            perceived = rules.perceived_violations(total - f.violations, monitoring, b["misattribution"])
            f.rival_memory = f.rival_memory * (1.0 - 1.0 / np.maximum(b["violation_memory_days"], 1.0)) + perceived
            f.grievance = rules.update_grievance(f.grievance, perceived, fighting, f.walked_out, trust, b)
            f.walked_out = np.zeros_like(f.walked_out)
        strength = np.stack([f.strength for f in factions])
        control = np.stack([f.control for f in factions])
        power = np.stack([f.power for f in factions])
        losses = rules.lanchester_losses(strength, fighting, b["attrition"])
        control = rules.control_after_combat(control, power, fighting, b["combat_speed"])
        for i, f in enumerate(factions):
            f.strength = rules.strength_after_day(
                f.strength, f.own_supply + f.supply, losses[i], b["strength_turnover"]
            )
            f.control = control[i]
        self._update_balance()
        return fighting

    def _update_balance(self, initial: bool = False) -> None:
        b = self.behaviour
        power = rules.contest_power(np.stack([f.strength for f in self.factions]), b["contest_exponent"])
        parity = rules.parity(power)
        for i, f in enumerate(self.factions):
            f.power = power[i]
            f.parity = parity[i]
            f.power_average = (
                power[i].copy() if initial else rules.update_average(f.power_average, power[i], b["power_memory_days"])
            )

    def _update_truce(self, day: int, fighting: np.ndarray) -> None:
        b = self.behaviour
        violations = np.stack([f.violations for f in self.factions])
        total = violations.sum(axis=0)
        self.window[day % self.window.shape[0]] = violations
        window_days = b["spiral_window_days"]
        if np.isscalar(window_days) and int(np.asarray(window_days).item()) == self.window.shape[0]:
            recent = self.window.sum(axis=0)
        else:  # a window drawn per world: sum only its own last days
            age = (day - np.arange(self.window.shape[0])) % self.window.shape[0]
            recent = (self.window * (age[:, None, None] < np.asarray(window_days))).sum(axis=0)
        in_first = self.first_truce_holds
        self.violations_total += total
        self.violations_in_truce += np.where(in_first, total, 0)
        new_first = in_first & (total > 0) & (self.first_violation_day == 0)
        self.first_violation_day[new_first] = day

        spiral = self.in_truce & ~fighting & (recent.sum(axis=0) > b["spiral_threshold"])
        offensive = self.in_truce & fighting
        ended = spiral | offensive
        first = ended & in_first
        if first.any():
            chose = np.stack([f.choice == rules.OFFENSIVE for f in self.factions])
            attacker = np.argmax(np.where(chose, np.stack([f.offensive_value for f in self.factions]), -np.inf), axis=0)
            worst = np.argmax(recent, axis=0)
            self.survival_days[first] = day
            self.cause[first] = np.where(offensive, 1, 2)[first]
            self.breaker[first] = np.where(offensive, attacker, worst)[first]
            self.first_truce_holds &= ~first
        self.in_truce &= ~ended
        for f in self.factions:
            f.signed &= self.in_truce
        self.truce_age = np.where(self.in_truce, self.truce_age + 1, 0)

    # observation --------------------------------------------------------------------------
    def observations(self) -> dict[str, np.ndarray]:
        """Today's observables, one array over worlds each (views: copy before keeping)."""
        obs = {"in_truce": self.in_truce, "first_truce_holds": self.first_truce_holds}
        for f in self.factions:
            obs[f"power.{f.name}"] = f.power
            obs[f"control.{f.name}"] = f.control
            obs[f"strength.{f.name}"] = f.strength
            obs[f"violations.{f.name}"] = f.violations
            obs[f"choice.{f.name}"] = f.choice
        for b in self.backers:
            obs[f"support.{b.name}"] = b.support
        return obs

    def _record(self) -> None:
        if not self.keep_history:
            return
        for key, values in self.observations().items():
            self.history.setdefault(key, []).append(values.copy())

    def world_table(self) -> dict[str, np.ndarray]:
        """One entry per world: the outcome of its (first) truce, final balance, drawn facts."""
        horizon = self.steps
        names = [f.name for f in self.factions]
        collapsed = ~self.first_truce_holds
        days_held = np.where(collapsed, self.survival_days, horizon)
        row = {
            "replicate": self.replicate_ids,
            "survival_days": days_held,
            "collapsed": collapsed,
            "cause": np.array(CAUSES, dtype=object)[self.cause],
            "breaker": np.array(names + [""], dtype=object)[self.breaker],
            "violations_total": self.violations_total,
            "violations_in_truce": self.violations_in_truce,
            "violations_per_truce_day": self.violations_in_truce / np.maximum(days_held, 1),
            "first_violation_day": self.first_violation_day,
            "signed": np.array(
                [
                    "+".join(n for n, s in zip(names, signs, strict=False) if s)
                    for signs in zip(*[f.signed_ever for f in self.factions], strict=False)
                ],
                dtype=object,
            ),
            "all_signed": np.logical_and.reduce([f.signed_ever for f in self.factions]),
            "truces_formed": self.truces_formed,
            "in_truce_at_end": self.in_truce,
        }
        for f in self.factions:
            row[f"first_offensive_{f.name}"] = f.first_offensive_day
        for f in self.factions:
            row[f"power_{f.name}"] = f.power
            row[f"control_{f.name}"] = f.control
        for path, values in self.drawn.items():
            row[path] = values
        return row
