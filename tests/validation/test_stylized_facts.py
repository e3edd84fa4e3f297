"""The nine stylized facts of docs/MODEL.md section 8, each on fixed-seed ensembles.

A fact passes only when the difference it claims lies outside the 95% intervals of what it
compares (see truce_sim/validity/facts.py for each measurement). With 4,000 worlds per ensemble those
intervals are about +-1.5 points of survival, while the effects asserted are several times that
(the measured values are printed on failure), so the margins are far outside noise. The same
functions write `python run.py validate`'s report.
"""

import pytest

from truce_sim.validity.facts import FACTS

pytestmark = pytest.mark.slow  # 4,000 worlds per ensemble, several ensembles per fact


@pytest.mark.parametrize("fact", FACTS, ids=[f.__name__ for f in FACTS])
def test_stylized_fact(fact):
    result = fact()
    assert result.passed, f"{result.number}. {result.name}: {result.claim}; measured: {result.measured}"
