"""The stylized facts of docs/MODEL.md section 8, each measured twice: as shipped, and with the
mechanism behind it switched off (its control).

A fact passes only when the difference it claims lies outside the 95% interval of what it
compares (for example, the paired difference of survival at 90 days between two runs on the same
worlds has its lower bound above 0). A fact holds when it passes as shipped and its control
fails: the claim rests on the mechanism named, not on some other term. Every ensemble uses a
fixed seed, the same for the runs it compares (common random numbers), so differences between
runs are paired world by world, and enough worlds that the intervals are a few points wide.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from truce_sim.core.model import TruceModel
from truce_sim.core.scenario import BUILTIN_SCENARIOS, Scenario, load_scenario
from truce_sim.runs.ensemble import run_ensemble
from truce_sim.runs.survival import Z95, daily_hazard, kaplan_meier, survival_at

WORLDS = 4000
SEED = 8


@dataclass
class FactResult:
    number: int
    name: str
    claim: str
    measured: str
    passed: bool
    bars: list[tuple[str, float, float, float]] = field(default_factory=list)  # label, value, lo, hi
    quantity: str = ""
    rule: str = ""  # the pass rule, in words
    control: str = ""  # the mechanism switched off in the control, in words
    control_measured: str = ""
    control_passed: bool | None = None  # the same rule on the control; it must fail
    control_bars: list[tuple[str, float, float, float]] = field(default_factory=list)

    @property
    def holds(self) -> bool:
        """The claim is shown: it passes as shipped and fails with its mechanism switched off."""
        return self.passed and self.control_passed is False


def scenario(name: str, overrides: dict | None = None) -> Scenario:
    base = load_scenario(BUILTIN_SCENARIOS / f"{name}.yaml")
    return base.with_overrides(overrides) if overrides else base


def ensemble(s: Scenario, steps: int = 180, worlds: int = WORLDS):
    return run_ensemble(s, replicates=worlds, seed=SEED, steps=steps, workers=1)


def s90(result) -> tuple[float, float, float]:
    v = survival_at(kaplan_meier(result.replicates), 90)
    return v["p"], v["lo"], v["hi"]


def _mean(x: np.ndarray) -> tuple[float, float, float]:
    m, half = float(np.mean(x)), Z95 * float(np.std(x, ddof=1)) / math.sqrt(len(x))
    return m, m - half, m + half


def _fmt(label, v) -> str:
    return f"{label} {v[0]:.3g} [{v[1]:.3g}, {v[2]:.3g}]"


def _hazard(rows, start, end) -> tuple[float, float, float]:
    h = daily_hazard(rows, start, end)
    return h["hazard"], h["lo"], h["hi"]


def _held(rows, day: int = 90) -> np.ndarray:
    """1 for each world whose first truce still held on ``day``: with the same seed, the same
    world in two runs, so that differences between runs are paired."""
    return (~(rows["collapsed"] & (rows["survival_days"] <= day))).to_numpy(dtype=float)


def _broken_by(rows, breaker: str, day: int = 90) -> np.ndarray:
    return (rows["collapsed"] & (rows["survival_days"] <= day) & (rows["breaker"] == breaker)).to_numpy(dtype=float)


@dataclass
class _Measure:
    passed: bool | None  # None: too few events to apply the rule
    text: str
    bars: list[tuple[str, float, float, float]]


def _fact(number, name, claim, rule, quantity, control, knockout, measure: Callable[[dict], _Measure]) -> FactResult:
    """Measure a fact as shipped and with ``knockout`` (behaviour constants) switching its
    mechanism off."""
    shipped = measure({})
    off = measure({f"behaviour.{k}": v for k, v in knockout.items()})
    switched = ", ".join(f"{k} = {v:g}" for k, v in knockout.items())
    return FactResult(
        number,
        name,
        claim,
        shipped.text,
        bool(shipped.passed),  # not measured as shipped counts as not shown
        shipped.bars,
        quantity,
        rule=rule,
        control=f"{control} ({switched})",
        control_measured=off.text,
        control_passed=None if off.passed is None else bool(off.passed),
        control_bars=off.bars,
    )


FRAGILE = ("stalemate_joint_pressure", "no_backer_pressure")


def early_fragility(worlds: int = WORLDS) -> FactResult:
    def measure(knockout: dict) -> _Measure:
        bars, ok, parts = [], True, []
        for name in FRAGILE:
            rows = ensemble(scenario(name, knockout), 180, worlds).replicates
            early, late = _hazard(rows, 1, 30), _hazard(rows, 31, 180)
            ok &= early[1] > late[2]
            bars += [(f"{name}: days 1-30", *early), (f"{name}: days 31-180", *late)]
            parts.append(f"{name}: {_fmt('hazard days 1-30', early)} vs {_fmt('days 31-180', late)}")
        return _Measure(ok, "; ".join(parts), bars)

    return _fact(
        1,
        "Early fragility",
        "in truces without a running shift of power, the daily hazard of collapse in days 1-30 exceeds that "
        "in days 31-180: the worlds whose sides misjudge the balance fight first, and those left hold",
        "in both archetypes, the lower bound of the hazard in days 1-30 is above the upper bound in days 31-180",
        "collapses per truce-day",
        "every world's sides start from the same belief about the balance",
        {"belief_spread": 0.0},
        measure,
    )


POWER_SHIFT = {"backers.patron_north.support": 0.012}  # three times its patron's daily deliveries


def power_shift(worlds: int = WORLDS) -> FactResult:
    def measure(knockout: dict) -> _Measure:
        base = ensemble(scenario("stalemate_joint_pressure", knockout), 90, worlds).replicates
        shifted = ensemble(scenario("stalemate_joint_pressure", {**knockout, **POWER_SHIFT}), 90, worlds).replicates
        before, after = _mean(_broken_by(base, "south")), _mean(_broken_by(shifted, "south"))
        rise = _mean(_broken_by(shifted, "south") - _broken_by(base, "south"))
        return _Measure(
            rise[1] > 0,
            f"south breaks the truce by day 90 in {_fmt('', before).strip()} of worlds, "
            f"{_fmt('', after).strip()} once north's support triples; {_fmt('paired rise', rise)}",
            [("south breaks by day 90: as set", *before), ("north's support tripled", *after)],
        )

    return _fact(
        2,
        "A power shift makes the declining side strike",
        "near parity, tripling one side's deliveries raises the chance that the other (declining) side breaks "
        "the truce: it strikes before the balance turns against it (Powell's commitment problem)",
        "the paired rise in the share of worlds whose south breaks the truce by day 90 has its lower bound above 0",
        "share of worlds",
        "no value of striking before a shift of power",
        {"preventive_weight": 0.0},
        measure,
    )


# pressing is both persuasion (pressure) and support conditioned on restraint (conditionality)
PRESSING = {
    "none presses": {"backers.*.pressure": 0.0, "backers.*.conditionality": 0.0},
    "north's patron presses": {"backers.patron_south.pressure": 0.0, "backers.patron_south.conditionality": 0.0},
    "south's patron presses": {"backers.patron_north.pressure": 0.0, "backers.patron_north.conditionality": 0.0},
    "both press": {},
}


def joint_guarantee(worlds: int = WORLDS) -> FactResult:
    def measure(knockout: dict) -> _Measure:
        held = {
            k: _held(ensemble(scenario("stalemate_joint_pressure", {**knockout, **o}), 90, worlds).replicates)
            for k, o in PRESSING.items()
        }
        none, north, south, both = held.values()
        synergy = _mean(both - north - south + none)
        bars = [(k, *_mean(v)) for k, v in held.items()]
        return _Measure(
            synergy[1] > 0,
            "; ".join(_fmt(k, v) for k, *v in bars) + f"; {_fmt('both minus the sum of each alone', synergy)}",
            bars,
        )

    return _fact(
        3,
        "Joint pressure is superadditive",
        "near parity, rival patrons who press together and guarantee the truce jointly add more survival "
        "than the sum of each pressing alone",
        "the paired interaction (both - north's alone - south's alone + none) of survival at 90 days has its "
        "lower bound above 0",
        "survival at 90 days",
        "no joint guarantee",
        {"guarantee_weight": 0.0},
        measure,
    )


LEVERAGE = {
    "backers.*.support": 0.01,
    "backers.*.pressure": 1.0,
    "backers.*.credibility": 0.9,
    "backers.*.truce_preference": 1.0,
    "backers.*.pressure_decay": 0.0,
}
WITHDRAW_DAY = 30


def leverage_fades(worlds: int = WORLDS) -> FactResult:
    def measure(knockout: dict) -> _Measure:
        base = scenario("stalemate_joint_pressure", {**LEVERAGE, **knockout})
        raw = base.to_yaml_dict()
        raw["events"] = [
            {
                "day": WITHDRAW_DAY,
                "scale": {"backers.*.pressure": 0.0, "backers.*.conditionality": 0.0},
                "label": "pressure and conditions withdrawn",
            }
        ]
        withdrawn = Scenario.from_dict(raw, source=base.source)
        kept, gone = ensemble(base, 120, worlds).replicates, ensemble(withdrawn, 120, worlds).replicates
        before = _hazard(gone, 1, WITHDRAW_DAY - 1)
        after = _hazard(gone, WITHDRAW_DAY + 1, 120)
        control = _hazard(kept, WITHDRAW_DAY + 1, 120)
        bars = [
            (f"withdrawn: days 1-{WITHDRAW_DAY - 1}", *before),
            (f"withdrawn: days {WITHDRAW_DAY + 1}-120", *after),
            (f"kept: days {WITHDRAW_DAY + 1}-120", *control),
        ]
        return _Measure(
            after[1] > before[2] and after[1] > control[2], "; ".join(_fmt(b[0], b[1:]) for b in bars), bars
        )

    return _fact(
        4,
        "Leverage fades",
        f"withdrawing all backer pressure and conditions on day {WITHDRAW_DAY} raises the hazard after it above "
        "the hazard before it and above the hazard in the run without withdrawal",
        "the lower bound of the hazard after withdrawal is above the upper bounds of the hazard before it and "
        "of the hazard in the run that keeps pressing",
        "collapses per truce-day",
        "clients give no weight to persuasion, conditioned support or guarantees",
        {"leverage_weight": 0.0, "conditions_weight": 0.0, "guarantee_weight": 0.0},
        measure,
    )


def red_lines(worlds: int = WORLDS) -> FactResult:
    def measure(knockout: dict) -> _Measure:
        without = ensemble(scenario("lopsided_unrestrained", knockout), 90, worlds).replicates
        line = {**knockout, "backers.patron_weak.red_line": 0.45}
        lined = ensemble(scenario("lopsided_unrestrained", line), 90, worlds)
        gain = _mean(_held(lined.replicates) - _held(without))
        bars = [("no red line", *_mean(_held(without))), ("red line 0.45", *_mean(_held(lined.replicates)))]
        return _Measure(
            gain[1] > 0, f"{_fmt('without', bars[0][1:])}; {_fmt('with a red line at 0.45', bars[1][1:])}", bars
        )

    return _fact(
        5,
        "Red lines freeze fronts",
        "in a lopsided scenario, a red line protecting the weaker side raises survival",
        "the paired gain in survival at 90 days has its lower bound above 0",
        "survival at 90 days",
        "a red line neither deters nor brings its backer in",
        {"red_line_cost": 0.0, "red_line_surge": 0.0},
        measure,
    )


def monitoring_and_conditions(worlds: int = WORLDS) -> FactResult:
    def measure(knockout: dict) -> _Measure:
        held = {}
        for conditionality in (0.0, 0.3):
            for level in (0.0, 0.8):
                overrides = {**knockout, "backers.*.conditionality": conditionality, "mediator.monitoring": level}
                rows = ensemble(scenario("stalemate_joint_pressure", overrides), 90, worlds).replicates
                held[(conditionality, level)] = _held(rows)
        with_conditions = _mean(held[(0.3, 0.8)] - held[(0.3, 0.0)])
        without = _mean(held[(0.0, 0.8)] - held[(0.0, 0.0)])
        more = _mean(held[(0.3, 0.8)] - held[(0.3, 0.0)] - held[(0.0, 0.8)] + held[(0.0, 0.0)])
        bars = [("monitoring's gain, support conditioned", *with_conditions), ("not conditioned", *without)]
        return _Measure(
            more[1] > 0,
            f"{_fmt('gain from monitoring 0.8 with conditionality 0.3', with_conditions)}; "
            f"{_fmt('with none', without)}; {_fmt('difference', more)}",
            bars,
        )

    return _fact(
        6,
        "Monitoring matters more when backers condition support",
        "monitoring adds more survival when patrons condition their support on conduct: it lets them see who "
        "violated, so that complying earns support back",
        "the paired difference of monitoring's gain in survival at 90 days (conditionality 0.3 against 0) has "
        "its lower bound above 0",
        "gain in survival at 90 days",
        "clients give no weight to conditioned support",
        {"conditions_weight": 0.0},
        measure,
    )


def spoilers(worlds: int = WORLDS) -> FactResult:
    def measure(knockout: dict) -> _Measure:
        runs = {
            c: ensemble(scenario("stalemate_joint_pressure", {**knockout, "factions.*.cohesion": c}), 90, worlds)
            for c in (0.9, 0.3)
        }
        v_hi, v_lo = (_mean(r.replicates["violations_per_truce_day"].to_numpy()) for r in runs.values())
        h_hi, h_lo = (_held(r.replicates) for r in runs.values())
        earlier = _mean(h_hi - h_lo)
        return _Measure(
            v_lo[1] > v_hi[2] and earlier[1] > 0,
            f"cohesion 0.9: {_fmt('violations/truce day', v_hi)}; cohesion 0.3: "
            f"{_fmt('violations/truce day', v_lo)}; {_fmt('paired loss of survival at 90 days', earlier)}",
            [("cohesion 0.9", *_mean(h_hi)), ("cohesion 0.3", *_mean(h_lo))],
        )

    return _fact(
        7,
        "Spoilers",
        "lower cohesion means more violations per truce day and earlier collapse: spoilers' violations anger "
        "the rival and get a holding leadership blamed by its patrons",
        "violations per truce day with cohesion 0.3 above those with 0.9 (intervals apart), and the paired loss "
        "of survival at 90 days has its lower bound above 0",
        "survival at 90 days",
        "violations cause no grievance and backers never blame a holding leadership",
        {"grievance_per_violation": 0.0, "false_blame": 0.0},
        measure,
    )


WARNING_WINDOW = 7
SPIRALS_TO_MEASURE = 20  # below this, too few spiral collapses for an interval
WARNING_SHARE = 0.1


def warning_signal(worlds: int = WORLDS, window: int = WARNING_WINDOW) -> FactResult:
    def measure(knockout: dict) -> _Measure:
        model = TruceModel(scenario("no_backer_pressure", knockout), rng=SEED, replicates=worlds)
        for _ in range(180):
            model.step()
        table = model.world_table()
        daily = sum(np.stack(model.history[f"violations.{f.name}"]).astype(float) for f in model.factions)
        cumulative = np.cumsum(daily, axis=0)  # (days + 1, worlds)
        day, collapsed = table["survival_days"], table["collapsed"]
        bars, parts, ok = [], [], True
        for cause in ("offensive", "violation_spiral"):
            chosen = np.flatnonzero(collapsed & (day > window) & (table["cause"] == cause))
            excess, background = [], []
            for w in chosen:
                d = day[w]
                week = (cumulative[d - 1] - cumulative[d - 1 - window]) / window
                at_risk = (day > d) | (~collapsed & (day >= d))  # still in their first truce after day d
                background.append(week[at_risk].mean())
                excess.append(week[w] - background[-1])
            if cause == "offensive" or len(chosen) >= SPIRALS_TO_MEASURE:
                if len(excess) < 2:  # nothing to measure: the rule cannot be applied
                    parts.append(f"{len(chosen)} {cause} collapses (too few to measure)")
                    ok = None
                    continue
                m = _mean(np.array(excess))
                floor = WARNING_SHARE * float(np.mean(background))
                ok = ok and bool(m[1] > floor)
                bars.append((f"before {cause} collapses ({len(chosen)})", *m))
                parts.append(
                    f"{len(chosen)} {cause} collapses: {_fmt('excess violations per day', m)} against "
                    f"{np.mean(background):.3g} a day in the worlds at risk"
                )
            else:
                parts.append(f"{len(chosen)} {cause} collapses (too few to measure)")
        return _Measure(ok, "; ".join(parts), bars)

    return _fact(
        8,
        "Violations warn of collapse",
        f"in the {window} days before a truce collapses, its world sees more violations than the worlds whose "
        "truce still holds on those days: mobilising forces probe, and leaderships that weigh an offensive "
        "authorise attacks. Measured on offensive collapses, and on violation spirals where there are enough",
        f"for each cause measured, the lower bound of the mean excess of violations per day in the {window} days "
        f"before collapse, against the worlds at risk on the same days, is above {WARNING_SHARE:.0%} of those "
        "worlds' own violations per day (a signal an observer could read, not only one above 0)",
        "excess violations per day",
        "neither mobilisation nor the motives of attacking drive violations",
        {"mobilisation_violation_rate": 0.0, "violate_share": 0.0},
        measure,
    )


def ripeness(worlds: int = WORLDS) -> FactResult:
    def measure(knockout: dict) -> _Measure:
        runs = {
            c: ensemble(scenario("stalemate_joint_pressure", {**knockout, "factions.*.war_cost": c}), 90, worlds)
            for c in (0.5, 2.0)
        }
        low, high = (_held(r.replicates) for r in runs.values())
        gain = _mean(high - low)
        return _Measure(
            gain[1] > 0,
            f"{_fmt('war cost 0.5', _mean(low))}; {_fmt('war cost 2.0', _mean(high))}; {_fmt('paired gain', gain)}",
            [("war cost 0.5", *_mean(low)), ("war cost 2.0", *_mean(high))],
        )

    return _fact(
        9,
        "Ripeness",
        "near parity, higher war costs lengthen survival",
        "the paired gain in survival at 90 days from war cost 0.5 to 2.0 has its lower bound above 0",
        "survival at 90 days",
        "the cost of war does not enter the decision to attack",
        {"war_cost_weight": 0.0, "ripeness_weight": 0.0},
        measure,
    )


FACTS = [
    early_fragility,
    power_shift,
    joint_guarantee,
    leverage_fades,
    red_lines,
    monitoring_and_conditions,
    spoilers,
    warning_signal,
    ripeness,
]
