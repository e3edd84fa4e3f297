"""Shared paths and helpers for the tests."""

import contextlib
import signal
from pathlib import Path

import pytest

import truce_sim as sim
from truce_sim.validity import targets

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
HISTORICAL = list(targets.HISTORICAL)
ARCHETYPES = list(targets.ARCHETYPES)

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


def scenario_from_text(tmp_path, text: str, sets=(), scales=None):
    """A scenario from YAML ``text`` with ``--set``-style overrides and ``--scale``-style factors,
    each written to its own file so that a test can load several."""
    path = tmp_path / f"scenario_{len(list(tmp_path.glob('scenario_*.yaml')))}.yaml"
    path.write_text(text)
    return sim.load_scenario(path, list(sets), scales)


def edit(text: str, old: str, new: str) -> str:
    """Replace exactly one occurrence of ``old`` (guards the test texts against silent no-ops)."""
    assert text.count(old) == 1, f"test bug: {old!r} occurs {text.count(old)} times"
    return text.replace(old, new)


@pytest.fixture
def scenario_path():
    return lambda name: SCENARIOS / f"{name}.yaml"


class Hang(BaseException):
    """Raised by SIGALRM. A BaseException, so that no `except Exception` in truce_sim/ can swallow it."""


@contextlib.contextmanager
def time_limit(seconds: int, what: str):
    """Turn a hang into a failure (SIGALRM in the main thread); never a timing assertion."""

    def on_alarm(signum, frame):
        raise Hang(f"hang: {what} still running after {seconds} s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def everyday_first(cases: list, keep: int) -> list:
    """Parameters of which the first ``keep`` run in the everyday subset (-m "not slow") and the
    rest only in the full suite: one command per case, each a few seconds of subprocess."""
    return [case if i < keep else pytest.param(case, marks=pytest.mark.slow) for i, case in enumerate(cases)]
