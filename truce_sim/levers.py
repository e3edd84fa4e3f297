"""The explorer's levers: which fields of a scenario it offers, the scenario they make, and that
what-if as a command line or a scenario file.

Kept apart from the Solara app so that the mapping from sliders to a scenario is plain Python,
testable without a browser. A lever's what-if is built exactly as ``run`` builds one from
``--event``, ``--set`` and ``--scale``, so the command it is copied as reproduces it.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from truce_sim.core.scenario import SCALE_PREFIX, Distribution, Scenario

WITHDRAW = "withdraw_pressure_day"
ALL_BACKERS = "all backers"
WITHDRAW_CHANGES = ("backers.*.pressure*=0", "backers.*.conditionality*=0")


@dataclass(frozen=True)
class Lever:
    key: str  # a dotted path, scale.PATH for a factor of the field, or WITHDRAW
    label: str  # short: the lever sits in its actor's group
    lo: float
    hi: float
    step: float
    value: float
    integer: bool = False
    group: str = ""  # the actor it belongs to: a faction, a backer, the mediator or ALL_BACKERS
    help: str = ""  # what it means in the model, for a tooltip


def levers_of(scenario: Scenario) -> list[Lever]:
    """The main levers of a scenario, grouped by actor: each faction's strength, each backer's
    support (as a factor of the scenario's: events often set support day by day, and the factor
    multiplies those values too), pressure and conditions, monitoring, and a day on which every
    backer's pressure and conditions are withdrawn (0: never)."""
    out = []
    for name, f in scenario.factions.items():
        s = _centre(f["strength"])
        out.append(
            Lever(
                f"factions.{name}.strength",
                "strength",
                0.0,
                round(max(3 * s, 1.0), 2),
                0.01,
                s,
                group=name,
                help=f"{name}'s military strength on day 0; its power is its share of all factions' strength",
            )
        )
    for name, b in scenario.backers.items():
        client = " and ".join(b["clients"]) or "its clients"
        out += [
            Lever(
                f"{SCALE_PREFIX}backers.{name}.support",
                "support (x base)",
                0.0,
                4.0,
                0.05,
                1.0,
                group=name,
                help=f"a factor of {name}'s material support to {client}, on every day the scenario "
                "sets it (as --scale): 2 doubles every delivery",
            ),
            Lever(
                f"backers.{name}.pressure",
                "pressure",
                0.0,
                1.0,
                0.05,
                _centre(b["pressure"]),
                group=name,
                help=f"how hard {name} presses {client} to hold the truce (0-1)",
            ),
            Lever(
                f"backers.{name}.conditionality",
                "conditions",
                0.0,
                1.0,
                0.05,
                _centre(b["conditionality"]),
                group=name,
                help=f"the share of {name}'s support at stake on {client}'s conduct: cut when it violates",
            ),
        ]
    if scenario.mediator is not None:
        out.append(
            Lever(
                "mediator.monitoring",
                "monitoring",
                0.0,
                1.0,
                0.05,
                _centre(scenario.mediator["monitoring"]),
                group="mediator",
                help="how much of each violation the mediator sees and attributes (0-1); "
                "monitoring damps spirals of retaliation",
            )
        )
    if scenario.backers:
        out.append(
            Lever(
                WITHDRAW,
                "withdraw pressure and conditions on day (0: never)",
                0,
                scenario.horizon_days,
                1,
                0,
                True,
                group=ALL_BACKERS,
                help="the day every backer stops pressing its client and drops its conditions, "
                "as --event 'DAY: backers.*.pressure*=0'",
            )
        )
    return out


def lever_groups(levers: list[Lever]) -> dict[str, list[Lever]]:
    """The levers by actor, in the scenario's order."""
    out: dict[str, list[Lever]] = {}
    for lever in levers:
        out.setdefault(lever.group, []).append(lever)
    return out


def scenario_values(levers: list[Lever]) -> dict[str, float]:
    """The levers' values in the scenario as loaded."""
    return {lever.key: lever.value for lever in levers}


def lever_changes(levers: list[Lever], values: dict[str, float]) -> tuple[list[str], list[str], list[str]]:
    """The levers moved from the scenario's values, as ``run`` takes them: --event, --set and
    --scale arguments, in the order ``run`` applies them."""
    events, sets, scales = [], [], []
    for lever in levers:
        value = values.get(lever.key, lever.value)
        if value == lever.value:
            continue
        if lever.key == WITHDRAW:
            if int(value) > 0:
                events += [f"{int(value)}: {change}" for change in WITHDRAW_CHANGES]
        elif lever.key.startswith(SCALE_PREFIX):
            scales.append(f"{lever.key[len(SCALE_PREFIX) :]}={_number(value)}")
        else:
            sets.append(f"{lever.key}={_number(value)}")
    return events, sets, scales


def lever_scenario(base: Scenario, values: dict[str, float], levers: list[Lever] | None = None) -> Scenario:
    """The base scenario with the levers' values, built as ``run`` builds a what-if from the
    same --event, --set and --scale (:func:`lever_command`)."""
    events, sets, scales = lever_changes(levers if levers is not None else levers_of(base), values)
    scenario = base.with_events(events) if events else base
    scenario = scenario.with_overrides(sets) if sets else scenario
    return scenario.with_scales(scales) if scales else scenario


def lever_command(scenario_path: str, levers: list[Lever], values: dict[str, float], worlds: int) -> str:
    """The ``run`` command line that reproduces the levers' what-if over ``worlds`` worlds."""
    events, sets, scales = lever_changes(levers, values)
    words = ["python", "run.py", "run", scenario_path, "-n", str(worlds)]
    words += [w for e in events for w in ("--event", e)]
    words += [w for s in sets for w in ("--set", s)]
    words += [w for s in scales for w in ("--scale", s)]
    return shlex.join(words)


def lever_scenario_file(base: Scenario, levers: list[Lever], values: dict[str, float]) -> str:
    """The levers' what-if as a scenario file: the base's fields with the levers' values, named
    ``<name>_what_if``, its changes listed in a header comment."""
    scenario = lever_scenario(base, values, levers)
    raw = scenario.to_yaml_dict()
    raw["name"] = f"{base.name}_what_if"[:64]
    changes = scenario.what_if_changes or ["none: the scenario as loaded"]
    header = [f"# {base.name} ({base.source}) with the explorer's levers. Changes:"]
    header += [f"#   {change}" for change in changes]
    body = Scenario.from_dict(raw, source=base.source).to_yaml()
    return "\n".join(header) + "\n" + body


def _number(value: float) -> str:
    # a slider's float carries binary noise (0.30000000000000004): its step has at most 2 decimals
    return f"{round(float(value), 6):g}"


def _centre(value) -> float:
    """A slider starts at the fact's value, or at the middle of its distribution."""
    if isinstance(value, Distribution):
        p = value.params
        return float(p[0] if value.kind == "normal" else sum(p) / len(p))
    return float(value)
