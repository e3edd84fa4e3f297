"""The explorer's levers: which fields of a scenario it offers, and the scenario they make.

Kept apart from the Solara app so that the mapping from sliders to a scenario is plain Python,
testable without a browser.
"""

from __future__ import annotations

from dataclasses import dataclass

from truce_sim.core.scenario import Distribution, Scenario


@dataclass(frozen=True)
class Lever:
    key: str  # the keyword the model takes (a dotted path, or "withdraw_pressure_day")
    label: str
    lo: float
    hi: float
    step: float
    value: float
    integer: bool = False


WITHDRAW = "withdraw_pressure_day"


def levers_of(scenario: Scenario) -> list[Lever]:
    """The main levers of a scenario: each faction's strength, each backer's support and pressure,
    monitoring, and a day on which every backer's pressure is withdrawn (0: never)."""
    out = []
    for name, f in scenario.factions.items():
        s = _centre(f["strength"])
        out.append(Lever(f"factions.{name}.strength", f"{name} strength", 0.0, round(max(3 * s, 1.0), 2), 0.01, s))
    for name, b in scenario.backers.items():
        support = _centre(b["support"])
        out.append(
            Lever(
                f"backers.{name}.support",
                f"{name} support (per day)",
                0.0,
                round(max(4 * support, 0.01), 4),
                0.0005,
                support,
            )
        )
        out.append(Lever(f"backers.{name}.pressure", f"{name} pressure", 0.0, 1.0, 0.05, _centre(b["pressure"])))
    out.append(
        Lever("mediator.monitoring", "mediator monitoring", 0.0, 1.0, 0.05, _centre(scenario.mediator["monitoring"]))
    )
    out.append(Lever(WITHDRAW, "day backers withdraw all pressure (0: never)", 0, scenario.horizon_days, 1, 0, True))
    return out


def lever_scenario(base: Scenario, values: dict[str, float]) -> Scenario:
    """The base scenario with the levers' values; a withdrawal day adds an event."""
    overrides = {k: float(v) for k, v in values.items() if k != WITHDRAW}
    scenario = base.with_overrides(overrides) if overrides else base
    day = int(values.get(WITHDRAW, 0) or 0)
    if day > 0 and scenario.backers:
        raw = scenario.to_yaml_dict()
        raw["events"] = list(raw["events"]) + [
            {"day": day, "scale": {"backers.*.pressure": 0.0}, "label": "backers withdraw all pressure"}
        ]
        scenario = Scenario.from_dict(raw, source=base.source)
    return scenario


def _centre(value) -> float:
    """A slider starts at the fact's value, or at the middle of its distribution."""
    if isinstance(value, Distribution):
        p = value.params
        return float(p[0] if value.kind == "normal" else sum(p) / len(p))
    return float(value)
