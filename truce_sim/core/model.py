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
from truce_sim.core.scenario import (
    BUILTIN_SCENARIOS,
    MEDIATOR_FIELDS,
    Distribution,
    Scenario,
    field_for,
    load_scenario,
)
from truce_sim.core.streams import FACTS_DAY, WorldStreams, poisson_from_uniform

DEFAULT_SCENARIO = BUILTIN_SCENARIOS / "libya_2020_january.yaml"
DECISION_COLUMNS = rules.TERMS + ("value_offensive", "value_violate")
MEDIATOR_NUMBERS = {key: f.default for key, f in MEDIATOR_FIELDS.items() if f.kind == "number"}
CAUSES = ("", "offensive", "violation_spiral", "expired")


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
        posterior = scenario.posterior
        from_posterior = {f"behaviour.{name}" for name in posterior.constants} if posterior is not None else set()
        facts = {
            path: self._resolve(path, value)
            for path, value in scenario.numeric_facts().items()
            if path not in from_posterior  # the posterior's draws replace the scenario's values
        }
        # each world's posterior draw (replicate % K), or None without a posterior
        self.posterior_draw: np.ndarray | None = None
        if posterior is not None:
            self.posterior_draw, values = posterior.for_worlds(seed, ids)
            for name, x in values.items():
                facts[f"behaviour.{name}"] = self.drawn[f"behaviour.{name}"] = x
        # a constant equal in every world is a float; one drawn from a posterior stays an array
        # even when a batch's worlds happen to share a row, as numpy's power and friends round a
        # scalar exponent differently from an array of it, and a world must not depend on its batch
        drawn = set() if posterior is None else {f"behaviour.{name}" for name in posterior.constants}
        self.behaviour = {
            key[len("behaviour.") :]: (v if key in drawn or (v.ndim and np.ptp(v) > 0) else float(v[0]))
            for key, v in facts.items()
            if key.startswith("behaviour.")
        }
        self._build_agents(facts)
        self._prepare_events()

        shape = ids.shape
        self.in_truce = np.ones(shape, dtype=bool)
        # the truce began on day 0, so on day 1 it has held a day (like one formed at talks)
        self.truce_age = np.ones(shape, dtype=np.int64)
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
        self.deliberate = np.zeros(shape, dtype=bool)  # the truce-ending offensive was valued above holding
        self.nominal = np.zeros(shape, dtype=bool)  # in truce, but violated above nominal_threshold
        self.nominal_days = np.zeros(shape, dtype=np.int64)
        self.first_nominal_day = np.zeros(shape, dtype=np.int64)
        self.initiator = np.full(shape, -1, dtype=np.int8)  # first to authorise violations in this truce
        self._update_balance(initial=True)
        # talks on day 1 weigh the balance ahead and their backers' leverage, as on later days
        self.compliance_credit = np.ones(shape)  # kept at 1 while no backer conditions its support
        self._no_inducement = np.zeros(shape)
        self._deliver_support()
        self._project_balance()
        self._weigh_the_truce()
        self.deciding_in_truce = self.in_truce.copy()  # the state in which today's choices were made
        self._decision_rows: dict[str, np.ndarray] = {}
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
            self.factions.append(Faction(self, name, own, spec.get("allies", ())))
        total = sum(f.control for f in self.factions)
        for f in self.factions:  # drawn control shares are renormalised to sum to 1 (equal if all 0)
            f.control = np.where(total > 0, f.control / np.where(total > 0, total, 1.0), 1.0 / len(self.factions))
            f.initial_control = f.control.copy()
        by_name = {f.name: f for f in self.factions}
        # who fights whom: everyone not allied (alliances hold both ways)
        index = {f.name: i for i, f in enumerate(self.factions)}
        self.enemies = 1 - np.eye(len(self.factions))
        for f in self.factions:
            for ally in f.allies:
                self.enemies[index[f.name], index[ally]] = self.enemies[index[ally], index[f.name]] = 0
        self._build_backers(facts, by_name)
        talks = set(s.mediator["talks"]) | {e.day for e in s.events if e.talks}
        mediator = {key: facts.get(f"mediator.{key}", np.full(n, default)) for key, default in MEDIATOR_NUMBERS.items()}
        self.mediator = Mediator(self, mediator, talks, (s.mediator or {}).get("term_days", 0))
        # Own supply replaces wear at the starting strength: a faction without backers keeps its
        # strength, and every unit of backer support adds to it (toward s0 + support / turnover).
        # Private information: each faction's prior error about the balance differs by world
        # around the scenario's bias (drawn once, before day 0).
        for f in self.factions:
            f.prior_bias = f.prior_bias + self.behaviour["belief_spread"] * self.streams.normal(
                FACTS_DAY, f"{f.name}/belief"
            )
        # and about each backer's resolve to intervene at a red line (Fearon): private too
        for f in self.factions:
            for backer in self.backers:
                f.resolve_doubt[backer.name] = self.behaviour["resolve_spread"] * self.streams.normal(
                    FACTS_DAY, f"{f.name}/resolve/{backer.name}"
                )
        turnover = self.behaviour["strength_turnover"]
        for f in self.factions:
            f.own_supply = turnover * f.strength

    def _build_backers(self, facts: dict[str, np.ndarray], by_name: dict[str, Faction]) -> None:
        s = self.scenario
        n = len(self.replicate_ids)
        self.backers: list[Backer] = []
        for name, spec in s.backers.items():
            own: dict[str, Any] = {key: facts.get(f"backers.{name}.{key}") for key in spec if key != "clients"}
            for key in ("signs_for_clients", "conditionality", "forces"):  # scenarios built before these
                if own.get(key) is None:
                    own[key] = np.zeros(n)
            own["max_support"] = np.maximum(own["max_support"], own["support"])
            clients = [(by_name[c], w) for c, w in spec["clients"].items()]
            backer = Backer(self, name, clients, own)
            for target, share in spec.get("presses", {}).items():
                backer.pressed[by_name[target]] = float(share)
                backer.withheld[target] = np.zeros(n)
            self.backers.append(backer)
        # co-guarantees: groups of backers each of which restrains its clients as far as the others do
        # guarantors linked through others guarantee together: the groups are the connected
        # components of guarantees_with, each backer in one, in scenario order
        group_of = {name: {name} for name in s.backers}
        for name, spec in s.backers.items():
            for other in spec.get("guarantees_with", ()):
                joined = group_of[name] | group_of[other]
                for member in joined:
                    group_of[member] = joined
        self.guarantees: list[list[Backer]] = []
        for members in {id(g): g for g in group_of.values() if len(g) > 1}.values():
            self.guarantees.append([b for b in self.backers if b.name in members])
        for guarantors in self.guarantees:
            for backer in guarantors:
                backer.guarantor = True
        self.pressing = any(b.pressed for b in self.backers)  # a backer presses a faction it does not arm
        # from the scenario, not from the worlds drawn: a world must take the same path in any batch
        self.has_forces = any(spec.get("forces") not in (None, 0, 0.0) for spec in s.backers.values()) or any(
            path.endswith(".forces") for e in s.events for op in (e.set, e.scale, e.add) for path in op
        )

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
        events = self.events.get(day, ())
        for op, agent, attr, values, bounds in events:
            self._apply_event(op, agent, attr, values, bounds)
        if events:
            for agent in {id(a): a for _, a, _, _, _ in events}.values():
                if hasattr(agent, "refresh"):
                    agent.refresh()
            for backer in self.backers:  # a backer that has withdrawn stays out, whatever events say
                if backer.has_withdrawn:
                    backer.withdraw(backer.withdrawn, again=True)
        formed = None
        if day in self.mediator.talk_days:
            self._weigh_the_truce()
            all_signed = self.mediator.convene()
            formed = all_signed & ~self.in_truce
            self.in_truce |= formed
            self.truce_age[formed] = 0
            self.window[:, :, formed] = 0
            self.initiator[formed] = -1
            self.truces_formed += formed
            for group in self.guarantees:  # a new truce renews its guarantees
                for backer in group:
                    backer.restraining = np.where(formed, 1.0, backer.restraining)
                    backer.guarantee_broken &= ~formed
        term = self.mediator.term_days
        expired = np.zeros(self.in_truce.shape, dtype=bool)
        if term > 0:
            due = self.in_truce & (self.truce_age > 0) & (self.truce_age % term == 0)
            if due.any():  # extension talks; a truce not extended by every signatory lapses
                self._weigh_the_truce()
                expired = due & ~self.mediator.convene(due, renewal=True)
        act = "shuffle_do" if self.shuffle_agents else "do"
        if self.backers:
            if self.guarantees or any(backer.conditioned for backer in self.backers):
                seen = self._seen_defecting(day)
                self._keep_guarantees(seen, formed)
                for backer in self.backers:
                    backer.enforce(seen)
            getattr(self.agents_by_type[Backer], act)("act")
        self._deliver_support()
        self._project_balance()
        self.deciding_in_truce = self.in_truce.copy()
        self._weigh_the_truce()
        getattr(self.agents_by_type[Faction], act)("choose")
        fighting = self._resolve_day(day)
        self._update_truce(day, fighting, expired)
        self._record()

    def _apply_event(self, op, agent, attr, values, bounds) -> None:
        current = getattr(agent, attr)
        if current is None and attr == "announced_support":  # none announced: today's support
            current = agent.support
        if current is None and attr == "red_line_credibility":  # none stated: its credibility
            current = agent.credibility
        if current is None:  # a red line drawn for the first time
            current = np.full(values.shape, np.nan)
        new = values if op == "set" else current * values if op == "scale" else current + values
        setattr(agent, attr, np.clip(new, *bounds))

    def _weigh_the_truce(self) -> None:
        """Today's trust in the truce and the mediator's inducements, as old as the truce is: the
        same for every faction."""
        b, mediator = self.behaviour, self.mediator
        self.trust_level = rules.trust(self.truce_age, b["consolidation_days"])
        if mediator.inducing:
            self.inducement_level = rules.inducement(mediator.inducements, self.truce_age, mediator.inducement_days)
        else:  # none offered: a zero term, shared by every faction and never written to
            self.inducement_level = self._no_inducement

    def _seen_defecting(self, day: int) -> dict[str, np.ndarray]:
        """What backers see of each faction's conduct yesterday: one public record per faction
        and day (an offensive; an authorised violation, detected; or units' violations blamed
        on a holding leadership)."""
        monitoring = self.mediator.monitoring
        return {
            f.name: rules.seen_defecting(
                f.choice == rules.OFFENSIVE,
                f.choice == rules.VIOLATE,
                f.violations > 0,
                monitoring,
                self.streams.uniform(day, f"{f.name}/seen"),
                self.behaviour,
            )
            for f in self.factions
        }

    def _keep_guarantees(self, seen: dict[str, np.ndarray], formed: np.ndarray | None = None) -> None:
        """Each guarantor restrains its clients as far as it sees the others restrain theirs: an
        offensive by another guarantor's client ends its restraint (until a new truce forms); a
        violation it sees cuts its restraint by ``guarantee_doubt``, which compliance rebuilds
        over ``punishment_days``. Conduct before a truce formed today does not count against
        its guarantee."""
        b = self.behaviour
        for group in self.guarantees:
            for backer in group:
                attacked = np.zeros(self.in_truce.shape, dtype=bool)
                doubted = np.zeros(self.in_truce.shape, dtype=bool)
                for other in group:
                    if other is backer:
                        continue
                    for client in other.clients:
                        attacked |= client.choice == rules.OFFENSIVE
                        doubted |= seen[client.name]
                if formed is not None:
                    attacked &= ~formed
                    doubted &= ~formed
                backer.guarantee_broken |= attacked
                backer.restraining = rules.restraint_after_day(
                    backer.restraining, doubted, backer.guarantee_broken, b["guarantee_doubt"], b["punishment_days"]
                )

    def _deliver_support(self) -> None:
        b = self.behaviour
        if any(backer.conditioned for backer in self.backers):  # only conditioned support uses it
            self.compliance_credit = rules.compliance_credit(
                self.mediator.monitoring, b["false_blame"], b["punishment_days"]
            )
        for f in self.factions:
            f.supply = np.zeros_like(f.strength)
            if self.guarantees:
                f.guarantee = np.zeros_like(f.strength)
            if self.pressing:
                f.sanctioned = np.zeros_like(f.strength)
        for b in self.backers:  # summed in scenario order, so the sum is the same in every run
            for client, delivered in zip(b.clients, b.delivery, strict=False):
                client.supply = client.supply + delivered
        for f in self.factions:
            for b in f.backers:
                provided = cast(np.ndarray, sum(p for c, p in zip(b.clients, b.provided, strict=False) if c is f))
                f.dependence[b.name] = rules.stock_dependence(provided, f.strength)
        for b in self.backers:
            for target, share in b.pressed.items():
                target.dependence[b.name] = np.full(target.strength.shape, share)
                target.sanctioned = target.sanctioned + share * b.withheld[target.name]
        for group in self.guarantees:
            worth = rules.guarantee_value([backer.restraint() for backer in group])
            for backer in group:
                for client in backer.clients:
                    client.guarantee = client.guarantee + worth

    def are_enemies(self, a: Faction, b: Faction) -> bool:
        """Whether ``a`` and ``b`` fight each other (alliances hold both ways)."""
        return bool(self.enemies[self.factions.index(a), self.factions.index(b)])

    def _project_balance(self) -> None:
        """Each faction's power ``projection_days`` ahead, from today's own supply and what its
        backers deliver or have announced (the same projection for every faction: deliveries
        are public)."""
        b = self.behaviour
        ahead = {f.name: f.own_supply * (1.0 - f.sanctioned) if self.pressing else f.own_supply for f in self.factions}
        mediator = self.mediator
        embargo = mediator.embargoing
        for backer in self.backers:
            for client, rate in zip(backer.clients, backer.projected_delivery(), strict=False):
                if embargo:
                    rate = rules.expected_under_embargo(rate, mediator.embargo_cap, mediator.embargo_enforcement)
                ahead[client.name] = ahead[client.name] + rate
        strength = np.stack(
            [
                rules.projected_strength(f.strength, ahead[f.name], b["strength_turnover"], b["projection_days"])
                for f in self.factions
            ]
        )
        power = rules.coalition_power(self._with_forces(strength), self.enemies, b["contest_exponent"])
        for i, f in enumerate(self.factions):
            f.power_ahead = power[i]

    def _resolve_day(self, day: int) -> np.ndarray:
        """Violations, grievance, combat and the new balance. Returns where there was combat."""
        b, factions = self.behaviour, self.factions
        monitoring = self.mediator.monitoring
        trust = self.trust_level * self.in_truce
        attacking = [f.choice == rules.OFFENSIVE for f in factions]
        fighting = np.any(attacking, axis=0)
        # a faction is in combat when it attacks or an enemy does; bystanders of a war between
        # others neither lose strength nor learn from it
        attacks = np.stack(attacking)
        in_combat = (attacks | (rules.sum_over(self.enemies, attacks.astype(float)) > 0)).astype(float)
        for f, attacked in zip(factions, attacking, strict=False):
            f.first_offensive_day[attacked & (f.first_offensive_day == 0)] = day
        rates = [
            rules.violation_rate(
                f.cohesion,
                f.choice != rules.HOLD,
                f.rival_memory,
                f.grievance,
                monitoring,
                f.signed,
                trust,
                b,
                f.readiness * self.in_truce,  # at war, massing forces is part of the fighting
            )
            for f in factions
        ]
        # one draw per faction from its own stream, inverted for all factions at once
        draws = [self.streams.uniform(day, f"{f.name}/violations") for f in factions]
        counts = poisson_from_uniform(np.stack(rates), np.stack(draws))
        for f, drawn in zip(factions, counts, strict=True):
            f.violations = drawn
        by_enemies = rules.sum_over(self.enemies, counts)
        shared = monitoring * b["monitoring_evidence"] + self.mediator.facilitation * b["facilitation_evidence"]
        for i, f in enumerate(factions):
            f.evidence = f.evidence + in_combat[i] + shared
            perceived = rules.perceived_violations(by_enemies[i], monitoring, b["misattribution"])
            f.rival_memory = f.rival_memory * (1.0 - 1.0 / np.maximum(b["violation_memory_days"], 1.0)) + perceived
            f.grievance = rules.update_grievance(f.grievance, perceived, in_combat[i], f.walked_out, trust, b)
            f.walked_out = np.zeros_like(f.walked_out)
        strength = np.stack([f.strength for f in factions])
        control = np.stack([f.control for f in factions])
        power = np.stack([f.power for f in factions])
        fielded = self._with_forces(strength)
        losses = rules.lanchester_losses(fielded, in_combat, b["attrition"], self.enemies)
        if self.has_forces:  # a backer's forces take their share of their side's losses
            losses = self._share_losses(strength, fielded, losses)
        if fighting.any():  # only where there was combat: a world must not depend on its batch
            moved = rules.control_after_combat(control, self._captures(day, fielded, control, power, attacking))
            control = np.where(fighting, moved, control)
        for i, f in enumerate(factions):
            f.strength = rules.strength_after_day(
                f.strength,
                (f.own_supply * (1.0 - f.sanctioned) if self.pressing else f.own_supply) + f.supply,
                losses[i],
                b["strength_turnover"],
            )
            f.control = control[i]
        self._update_balance()
        return fighting

    def _captures(self, day, strength, control, power, attacking) -> np.ndarray:
        """Control changing hands today: ``[i, j]`` is what attacker i took from j. Each attacker
        strikes its strongest enemy and succeeds with the chance its true power gives."""
        b = self.behaviour
        n = len(self.factions)
        transfers = np.zeros((n, n) + control.shape[1:])
        chance = rules.success_chance(power, b["defence_advantage"], b["success_steepness"])
        for i, f in enumerate(self.factions):
            if not attacking[i].any():
                continue
            if n == 2:
                target = np.full(control.shape[1:], 1 - i)
            else:
                target = np.argmax(np.where(self.enemies[i][:, None] > 0, strength, -np.inf), axis=0)
            succeeded = attacking[i] & (self.streams.uniform(day, f"{f.name}/combat") < chance[i])
            for j in range(n):
                if self.enemies[i, j]:
                    transfers[i, j] = rules.captured(control[j], succeeded & (target == j), b["combat_speed"])
        return transfers

    def _with_forces(self, strength: np.ndarray) -> np.ndarray:
        """Each side's strength in the field: its own and its backers' forces beside it."""
        if not self.has_forces:
            return strength
        fielded = strength.copy()
        index = {f.name: i for i, f in enumerate(self.factions)}
        for backer in self.backers:
            for client, w in zip(backer.clients, backer.weights, strict=False):
                fielded[index[client.name]] += backer.forces * w
        return fielded

    def _share_losses(self, strength: np.ndarray, fielded: np.ndarray, losses: np.ndarray) -> np.ndarray:
        """Split each side's losses between the faction and its backers' forces, in proportion to
        what each fields; a backer's losses count against its domestic limit."""
        share = np.divide(losses, fielded, out=np.zeros_like(losses), where=fielded > 0)
        index = {f.name: i for i, f in enumerate(self.factions)}
        for backer in self.backers:
            lost = np.zeros_like(backer.forces)
            for client, w in zip(backer.clients, backer.weights, strict=False):
                lost += backer.forces * w * share[index[client.name]]
            backer.forces = np.maximum(backer.forces - lost, 0.0)
            if backer.domestic_limit is not None:
                backer.cost = backer.cost + lost * self.behaviour["casualty_cost"]
        return share * strength

    def _update_balance(self, initial: bool = False) -> None:
        b = self.behaviour
        power = rules.coalition_power(
            self._with_forces(np.stack([f.strength for f in self.factions])), self.enemies, b["contest_exponent"]
        )
        parity = rules.contest_parity(power)
        for i, f in enumerate(self.factions):
            f.power = power[i]
            f.parity = parity[i]
            f.power_average = (
                power[i].copy() if initial else rules.update_average(f.power_average, power[i], b["power_memory_days"])
            )

    def _update_truce(self, day: int, fighting: np.ndarray, expired: np.ndarray) -> None:
        """End truces by an offensive, a violation spiral or a lapsed term; mark nominal ones."""
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

        # A spiral is blamed on its initiator: the first side whose leadership authorised
        # violations (or an offensive) in this truce; tit-for-tat by the other side's units is
        # not authorised and so never makes it the initiator.
        authorised = np.stack([f.choice != rules.HOLD for f in self.factions])
        unset = self.in_truce & (self.initiator < 0) & authorised.any(axis=0)
        if unset.any():
            value = np.where(authorised, np.stack([f.offensive_value for f in self.factions]), -np.inf)
            self.initiator[unset] = np.argmax(value, axis=0)[unset]
        recent_total = recent.sum(axis=0)
        spiral = self.in_truce & ~fighting & (recent_total > b["spiral_threshold"])
        offensive = self.in_truce & fighting
        lapsed = self.in_truce & expired & ~offensive & ~spiral
        ended = spiral | offensive | lapsed
        first = ended & in_first
        if first.any():
            chose = np.stack([f.choice == rules.OFFENSIVE for f in self.factions])
            values = np.where(chose, np.stack([f.offensive_value for f in self.factions]), -np.inf)
            attacker = np.argmax(values, axis=0)
            blamed = np.where(self.initiator >= 0, self.initiator, np.argmax(recent, axis=0))
            self.survival_days[first] = day
            self.cause[first] = np.select([offensive, spiral], [1, 2], 3)[first]
            self.breaker[first] = np.select([offensive, spiral], [attacker, blamed], -1)[first]
            self.deliberate[first] = (offensive & (values.max(axis=0) > 0))[first]
            self.first_truce_holds &= ~first
        self.in_truce &= ~ended
        self.nominal = self.in_truce & (recent_total > b["nominal_threshold"])
        self.nominal_days += self.nominal & in_first
        self.first_nominal_day[self.nominal & in_first & (self.first_nominal_day == 0)] = day
        for f in self.factions:
            f.signed &= self.in_truce
        self.truce_age = np.where(self.in_truce, self.truce_age + 1, 0)

    # observation --------------------------------------------------------------------------
    def continue_worlds(self, parents: np.ndarray, name: str | None) -> None:
        """Go on with world parents[i] as world i (a particle filter's resampling): every array
        over worlds, of the model and of each agent, is indexed by ``parents``, history included,
        and each world gets a random stream of its own from now on, keyed on ``name``
        (:meth:`WorldStreams.branch`; with no name, it keeps its parent's).
        World arrays are those whose last axis has the worlds' length, so this needs more worlds
        than any other axis has (factions, backers, days of a window): see MIN_WORLDS_TO_CONTINUE."""
        n = self.replicate_ids.shape[0]
        if n < MIN_WORLDS_TO_CONTINUE:
            raise ValueError(f"continuing worlds needs at least {MIN_WORLDS_TO_CONTINUE} worlds, got {n}")
        parents = np.asarray(parents, dtype=np.int64)
        if parents.shape != (n,) or parents.min() < 0 or parents.max() >= n:
            raise ValueError(f"parents must be {n} world indices in [0, {n})")
        for holder in (self, *self.factions, *self.backers, self.mediator):
            state = vars(holder)
            for key, value in list(state.items()):
                if key not in _NOT_PER_WORLD:
                    taken = _take_worlds(value, parents, n)
                    if taken is not value:
                        state[key] = taken
        self.streams = self.streams.branch(parents, name)

    def observations(self) -> dict[str, np.ndarray]:
        """Today's observables, one array over worlds each (views: copy before keeping)."""
        obs = {"in_truce": self.in_truce, "first_truce_holds": self.first_truce_holds, "nominal": self.nominal}
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

    def decision_terms(self) -> dict[str, np.ndarray]:
        """Today's terms of each faction's value of an offensive (and the values of its choices),
        stacked as (terms, worlds) per faction, in the order of :data:`DECISION_COLUMNS`. The
        arrays are reused the next day: copy them to keep them."""
        out = {}
        for f in self.factions:
            if not f.terms:
                continue
            rows = self._decision_rows.get(f.name)
            if rows is None:
                rows = self._decision_rows[f.name] = np.empty((len(DECISION_COLUMNS),) + self.in_truce.shape)
            for i, k in enumerate(rules.TERMS):
                rows[i] = f.terms[k]
            rows[-2] = f.offensive_value
            rows[-1] = f.violate_value
            out[f.name] = rows
        return out

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
            "all_signed": np.logical_and.reduce([f.signed_ever | (f.signatory <= 0.5) for f in self.factions]),
            "deliberate": self.deliberate,
            "nominal_days": self.nominal_days,
            "first_nominal_day": self.first_nominal_day,
            "truces_formed": self.truces_formed,
            "in_truce_at_end": self.in_truce,
        }
        for f in self.factions:
            row[f"first_offensive_{f.name}"] = f.first_offensive_day
        for f in self.factions:
            row[f"power_{f.name}"] = f.power
            row[f"control_{f.name}"] = f.control
        if self.posterior_draw is not None:
            row["posterior_draw"] = self.posterior_draw
        for path, values in self.drawn.items():
            row[path] = values
        return row


# model state that is not over worlds, or that names the worlds rather than describing them
_NOT_PER_WORLD = frozenset({"replicate_ids", "streams", "scenario", "enemies", "model"})
MIN_WORLDS_TO_CONTINUE = 50


def _take_worlds(value, parents: np.ndarray, n: int):
    """``value`` with every array over ``n`` worlds inside it indexed by ``parents`` on its last
    axis (in dicts, lists and tuples too); the same object when nothing in it is over worlds."""
    if isinstance(value, np.ndarray):
        return value[..., parents] if value.ndim and value.shape[-1] == n else value
    if isinstance(value, dict):
        out = {k: _take_worlds(v, parents, n) for k, v in value.items()}
        return value if all(out[k] is value[k] for k in value) else out
    if isinstance(value, (list, tuple)):
        items = [_take_worlds(v, parents, n) for v in value]
        if all(a is b for a, b in zip(items, value, strict=True)):
            return value
        return type(value)(items) if isinstance(value, list) else tuple(items)
    return value
