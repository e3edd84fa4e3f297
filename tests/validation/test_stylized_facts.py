"""The nine stylized facts of docs/MODEL.md section 8, each on fixed-seed ensembles, as shipped
and with the mechanism behind it switched off (its control).

A fact passes only when the difference it claims lies outside the 95% interval of what it
compares (see truce_sim/validity/facts.py for each measurement and rule), and holds only when,
in addition, the same rule fails on its control. With 4,000 worlds per ensemble, and runs on the
same worlds compared world by world, the intervals are about +-1 point of survival while the
effects asserted are several times that (the measured values are printed on failure), so the
margins are far outside noise. The same functions write `python run.py validate`'s report.
"""

import pytest

from truce_sim.validity.facts import FACTS

pytestmark = pytest.mark.slow  # 4,000 worlds per ensemble, several ensembles per fact, twice


@pytest.mark.parametrize("fact", FACTS, ids=[f.__name__ for f in FACTS])
def test_stylized_fact_holds_and_its_control_fails(fact):
    result = fact()
    assert result.passed, f"{result.number}. {result.name}: {result.claim}; measured: {result.measured}"
    assert result.control_passed is False, (
        f"{result.number}. {result.name} passes without its mechanism ({result.control}): {result.control_measured}"
    )
    assert result.holds
