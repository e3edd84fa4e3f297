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


# Facts the second edition does not show as stated; the claims stay in the validation report,
# marked FAIL, and these tests fail (strict) the day they hold again, so that they are restored.
# A rising side now gains by waiting, so a first small rise in one side's support does not lower
# survival.
NOT_SHOWN = {
    "mismatch": "a first small rise in one side's support leaves survival flat (its value of waiting offsets "
    "its larger gains); survival falls only from there on",
}


@pytest.mark.parametrize(
    "fact",
    [
        pytest.param(f, marks=pytest.mark.xfail(reason=NOT_SHOWN[f.__name__], strict=True))
        if f.__name__ in NOT_SHOWN
        else f
        for f in FACTS
    ],
    ids=[f.__name__ for f in FACTS],
)
def test_stylized_fact(fact):
    result = fact()
    assert result.passed, f"{result.number}. {result.name}: {result.claim}; measured: {result.measured}"
