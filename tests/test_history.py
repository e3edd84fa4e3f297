"""The historical cases of MODEL.md section 7 land in their two-sided brackets with the shared
defaults.

The side of a bracket that the record fixes (a truce that collapsed must collapse, one that held
must hold) is checked with the 95% interval, so a pass holds beyond the ensemble's noise; the
other side (how certain the model may be) with the point estimate. Ensembles use the scenario's
own seed.
"""

import numpy as np
import pytest

import truce_sim as sim
from truce_sim.core.scenario import BEHAVIOUR_FIELDS
from truce_sim.validity.targets import bracket

from .conftest import HISTORICAL, SCENARIOS

pytestmark = pytest.mark.slow  # thousands of worlds per historical case


@pytest.fixture(scope="module")
def results():
    # 4,000 worlds for the founding case: its late collapses (after day 60) are under 1% of
    # worlds, and the breaker comparison needs a few dozen of them
    return {
        name: sim.run_ensemble(SCENARIOS / f"{name}.yaml", replicates=4000 if name == "libya_2020_january" else 1000)
        for name in HISTORICAL
    }


@pytest.mark.parametrize("name", HISTORICAL)
def test_historical_cases_use_only_shared_behaviour(name):
    text = (SCENARIOS / f"{name}.yaml").read_text()
    assert "behaviour:" not in text
    scenario = sim.load_scenario(SCENARIOS / f"{name}.yaml")
    assert scenario.behaviour == {k: f.default for k, f in BEHAVIOUR_FIELDS.items()}


def test_libya_january_collapses_within_weeks(results):
    s = results["libya_2020_january"].summary
    lo, hi = s["median_survival_ci"]
    median = bracket("libya_2020_january", "median")
    assert lo is not None and hi is not None and median.lo <= lo and hi <= median.hi, s["median_survival_ci"]
    s180 = bracket("libya_2020_january", "s180")
    assert s180.lo <= s["survival_at"]["180"]["p"] and s["survival_at"]["180"]["hi"] < s180.hi


def test_libya_january_violations_begin_in_the_first_week(results):
    r = results["libya_2020_january"]
    first = r.replicates["first_violation_day"]
    assert ((first >= 1) & (first <= 7)).mean() > 0.9
    assert r.timeseries.loc[1:7, "violations_mean"].mean() > 0.5


def test_libya_january_gna_breaks_more_after_day_60(results):
    rows = results["libya_2020_january"].replicates
    broken = rows[rows["collapsed"]]
    early = broken[broken["survival_days"] <= 60]
    late = broken[broken["survival_days"] > 60]
    p_early, p_late = (early["breaker"] == "gna").mean(), (late["breaker"] == "gna").mean()
    # difference of two proportions must clear its own 95% interval
    se = np.sqrt(p_early * (1 - p_early) / len(early) + p_late * (1 - p_late) / max(len(late), 1))
    assert len(late) >= 20, "too few late collapses to compare"
    assert p_late - p_early > 1.96 * se, (p_early, p_late, len(early), len(late))


def test_libya_october_holds_a_year(results):
    s365 = results["libya_2020_october"].summary["survival_at"]["365"]
    held = bracket("libya_2020_october", "s365")
    assert s365["lo"] >= held.lo and s365["p"] <= held.hi, s365


def test_syria_collapses_within_two_weeks(results):
    s = results["syria_2016_september"].summary
    over = bracket("syria_2016_september", "median")
    assert s["median_survival_ci"][1] is not None and s["median_survival_ci"][1] <= over.hi, s["median_survival_ci"]
    assert s["median_survival_days"] >= over.lo, s["median_survival_days"]


def test_nagorno_karabakh_holds_a_year(results):
    s365 = results["nagorno_karabakh_2020_november"].summary["survival_at"]["365"]
    held = bracket("nagorno_karabakh_2020_november", "s365")
    assert s365["lo"] >= held.lo and s365["p"] <= held.hi, s365


# The four cases added with their brackets before their first run (docs/MODEL.md section 7). With
# the calibrated defaults, Sudan lands in its bracket with room; Hodeidah's survival at 365 days
# (0.41 on 1,000 worlds) sits on its bracket's lower bound, inside its own interval's reach, so it
# is reported, not asserted; Syria February 2016 and Minsk II stay outside. Their tests fail
# strictly the day they land, so that the report and these tests are brought up to date.
OUTSIDE = {
    "syria_2016_february": "the regime attacks as soon as it is mobilised (median about 7 days; bracket 25-120)",
    "ukraine_2015_minsk_ii": "survival at 365 days about 0.45 (bracket 0.55-0.98)",
}


def _inside(summary, b) -> bool:
    """A collapsed truce's median or a held one's survival inside its bracket, on the side the
    record fixes with the 95% interval and on the other with the point estimate."""
    if b.quantity == "median":
        lo, hi = summary["median_survival_ci"]
        return lo is not None and hi is not None and b.lo <= lo and hi <= b.hi
    at = summary["survival_at"][b.quantity[1:]]
    if b.lo == 0:  # a collapse: at most hi survive
        return at["hi"] <= b.hi
    return at["lo"] >= b.lo and at["p"] <= b.hi


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(c, marks=pytest.mark.xfail(reason=OUTSIDE[c], strict=True)) if c in OUTSIDE else c
        for c in ("syria_2016_february", "ukraine_2015_minsk_ii", "sudan_2023_jeddah")
    ],
)
def test_added_cases_land_in_their_brackets(results, case):
    from truce_sim.validity.targets import BRACKETS

    summary = results[case].summary
    for b in (b for b in BRACKETS if b.case == case):
        assert _inside(summary, b), (b.label, summary["median_survival_ci"], summary["survival_at"])
