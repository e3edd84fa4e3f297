"""Shared paths and helpers for the tests."""
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
HISTORICAL = ["libya_2020_january", "libya_2020_october", "syria_2016_september", "nagorno_karabakh_2020_november"]
ARCHETYPES = ["stalemate_joint_pressure", "lopsided_unrestrained", "no_backer_pressure"]


@pytest.fixture
def scenario_path():
    return lambda name: SCENARIOS / f"{name}.yaml"
