"""The explorer's levers: which fields of a scenario it offers, and the scenario they make.

Kept apart from the Solara app so that the mapping from sliders to a scenario is plain Python,
testable without a browser.
"""

from __future__ import annotations

from dataclasses import dataclass

from truce_sim.core.scenario import SCALE_PREFIX, Distribution, Scenario


@dataclass(frozen=True)
class Lever:
    key: str  # a dotted path, scale.PATH for a factor of the field, or "withdraw_pressure_day"
    label: str
    lo: float
    hi: float
    step: float
    value: float
    integer: bool = False


WITHDRAW = "withdraw_pressure_day"


def levers_of(scenario: Scenario) -> list[Lever]:
    """The main levers of a scenario: each faction's strength, each backer's support (as a factor
    of the scenario's: events often set support day by day, and the factor multiplies those
    values too), pressure and conditions, monitoring, and a day on which every backer's pressure
    and conditions are withdrawn (0: never)."""
    out = []
    for name, f in scenario.factions.items():
        s = _centre(f["strength"])
        out.append(Lever(f"factions.{name}.strength", f"{name} strength", 0.0, round(max(3 * s, 1.0), 2), 0.01, s))
    for name, b in scenario.backers.items():
        out.append(Lever(f"{SCALE_PREFIX}backers.{name}.support", f"{name} support (x base)", 0.0, 4.0, 0.05, 1.0))
        out.append(Lever(f"backers.{name}.pressure", f"{name} pressure", 0.0, 1.0, 0.05, _centre(b["pressure"])))
        out.append(
            Lever(
                f"backers.{name}.conditionality",
                f"{name} conditions (share of support at stake)",
                0.0,
                1.0,
                0.05,
                _centre(b["conditionality"]),
            )
        )
    out.append(
        Lever("mediator.monitoring", "mediator monitoring", 0.0, 1.0, 0.05, _centre(scenario.mediator["monitoring"]))
    )
    out.append(
        Lever(
            WITHDRAW,
            "day backers withdraw all pressure and conditions (0: never)",
            0,
            scenario.horizon_days,
            1,
            0,
            True,
        )
    )
    return out


def lever_scenario(base: Scenario, values: dict[str, float]) -> Scenario:
    """The base scenario with the levers' values; a withdrawal day adds an event."""
    # a factor of 1 changes nothing: leaving it out spares a validation on every move of a slider
    scenario = base.with_values(
        {k: v for k, v in values.items() if k != WITHDRAW and not (k.startswith(SCALE_PREFIX) and v == 1)}
    )
    day = int(values.get(WITHDRAW, 0) or 0)
    if day > 0 and scenario.backers:
        raw = scenario.to_yaml_dict()
        raw["events"] = list(raw["events"]) + [
            {
                "day": day,
                "scale": {"backers.*.pressure": 0.0, "backers.*.conditionality": 0.0},
                "label": "backers withdraw all pressure and conditions",
            }
        ]
        scenario = Scenario.from_dict(raw, source=base.source, overrides=scenario.overrides, scales=scenario.scales)
    return scenario


def _centre(value) -> float:
    """A slider starts at the fact's value, or at the middle of its distribution."""
    if isinstance(value, Distribution):
        p = value.params
        return float(p[0] if value.kind == "normal" else sum(p) / len(p))
    return float(value)
