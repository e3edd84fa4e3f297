"""Shared paths and helpers for the tests."""
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
HISTORICAL = ["libya_2020_january", "libya_2020_october", "syria_2016_september", "nagorno_karabakh_2020_november"]
ARCHETYPES = ["stalemate_joint_pressure", "lopsided_unrestrained", "no_backer_pressure"]

# A small valid scenario that tests edit into broken or extreme ones. Faction and backer ids are
# chosen so that typos of them have an obvious nearest match.
SMALL_SCENARIO = """\
name: base_case
horizon_days: 30
factions:
  gna: {strength: 1.0, control: 0.5}
  lna: {strength: 1.0, control: 0.5}
backers:
  turkey: {clients: [gna], support: 0.01, pressure: 0.5, credibility: 0.8}
  russia: {clients: [lna], support: 0.01, pressure: 0.4, credibility: 0.6}
mediator: {monitoring: 0.1, talks: [1, 7]}
"""


def edit(text: str, old: str, new: str) -> str:
    """Replace exactly one occurrence of ``old`` (guards the test texts against silent no-ops)."""
    assert text.count(old) == 1, f"test bug: {old!r} occurs {text.count(old)} times"
    return text.replace(old, new)


@pytest.fixture
def scenario_path():
    return lambda name: SCENARIOS / f"{name}.yaml"
