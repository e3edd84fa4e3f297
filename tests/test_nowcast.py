"""Nowcasting: the likelihood, the particle filter's resampling and reproducibility, the record's
one-line errors, and what conditioning on a quiet or a violent start does."""

import json
import subprocess
import sys

import numpy as np
import pytest
from scipy import stats

import truce_sim as sim
from truce_sim.core.model import TruceModel
from truce_sim.nowcast.forecast import nowcast
from truce_sim.nowcast.likelihood import (
    day_log_likelihood,
    effective_sample_size,
    negative_binomial_logpmf,
    systematic_resample,
)
from truce_sim.nowcast.observations import DayObserved, ObservationError, ObservedRecord, read_observations

from .conftest import ROOT, SCENARIOS

STALEMATE = SCENARIOS / "stalemate_joint_pressure.yaml"


def _stalemate():
    return sim.load_scenario(STALEMATE, ["start_date=2020-01-01"])


def _record(rows: dict[int, dict]) -> ObservedRecord:
    return ObservedRecord("test", tuple(DayObserved(day, **fields) for day, fields in sorted(rows.items())))


# the likelihood -----------------------------------------------------------------------------
def test_negative_binomial_matches_scipy_and_sums_to_one():
    means = np.array([0.5, 3.0, 12.0])
    for x in (0, 1, 6, 40):
        expected = stats.nbinom.logpmf(x, 2.0, 2.0 / (2.0 + means))
        assert negative_binomial_logpmf(x, means) == pytest.approx(expected)
    total = sum(np.exp(negative_binomial_logpmf(x, np.array([3.0]))) for x in range(400))
    assert total == pytest.approx(1.0, abs=1e-9)


def test_a_world_near_the_observed_count_is_more_likely_and_a_wrong_status_impossible():
    violations = {"north": np.array([0, 5, 6, 30]), "south": np.array([0, 5, 6, 30])}
    in_truce = np.array([True, True, False, True])
    control = {"north": np.full(4, 0.5), "south": np.full(4, 0.5)}
    seen = DayObserved(3, violations={"north": 6, "south": 6})
    ll = day_log_likelihood(seen, violations, in_truce, control)
    assert ll[2] > ll[1] > ll[0] and ll[2] > ll[3]
    holding = DayObserved(3, truce_holds=True)
    ll = day_log_likelihood(holding, violations, in_truce, control)
    assert np.isneginf(ll[2]) and np.all(np.isfinite(ll[[0, 1, 3]]))
    total = day_log_likelihood(DayObserved(3, violations_total=12), violations, in_truce, control)
    assert np.argmax(total) == 2  # the total is compared with the sum over factions: 12


def test_effective_sample_size_and_systematic_resampling():
    assert effective_sample_size(np.zeros(100)) == pytest.approx(100)
    one = np.full(100, -np.inf)
    one[7] = 0.0
    assert effective_sample_size(one) == pytest.approx(1)
    assert list(systematic_resample(one, 0.3)) == [7] * 100
    assert list(systematic_resample(np.zeros(50), 0.5)) == list(range(50))  # equal weights keep every world
    # systematic resampling keeps each world floor(n w) or ceil(n w) times, its share of the weight
    w = np.random.default_rng(3).gamma(0.5, size=100)
    w /= w.sum()
    kept = np.bincount(systematic_resample(np.log(w), 0.37), minlength=100)
    assert kept.sum() == 100
    assert np.all(kept >= np.floor(100 * w) - 1e-9) and np.all(kept <= np.ceil(100 * w) + 1e-9)


# continuing worlds ----------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["libya_2020_january", "stalemate_joint_pressure", "yemen_2018_hodeidah"])
def test_a_continued_world_carries_all_its_state(name):
    # a world moved to another position with its own stream has the same future: nothing of its
    # state was left behind (a field missed by continue_worlds would change some world's outcome)
    scenario = sim.load_scenario(SCENARIOS / f"{name}.yaml")
    n = 120
    order = np.random.default_rng(1).permutation(n)
    moved, kept = (TruceModel(scenario, replicates=n, keep_history=False) for _ in range(2))
    for _ in range(12):
        moved.step()
        kept.step()
    moved.continue_worlds(order, None)
    for _ in range(90):
        moved.step()
        kept.step()
    a, b = moved.world_table(), kept.world_table()
    for column in a:
        if column != "replicate":
            assert np.array_equal(np.asarray(a[column]), np.asarray(b[column])[order]), column


def test_copies_of_one_world_get_futures_of_their_own():
    scenario = sim.load_scenario(STALEMATE)
    model = TruceModel(scenario, replicates=200, keep_history=False)
    for _ in range(5):
        model.step()
    model.continue_worlds(np.zeros(200, dtype=np.int64), "branch")
    for _ in range(60):
        model.step()
    violations = model.world_table()["violations_total"]
    assert len(set(violations)) > 20  # not 200 copies of one future


# the forecast ---------------------------------------------------------------------------------
def test_a_quiet_month_gives_a_longer_truce_than_a_violent_week():
    scenario = _stalemate()
    quiet = _record({d: {"violations": {"north": 0, "south": 0}, "truce_holds": True} for d in range(1, 31)})
    violent = _record({d: {"violations": {"north": 6, "south": 6}} for d in range(1, 8)})
    after_quiet = nowcast(scenario, quiet, worlds=2000).summary
    after_violent = nowcast(scenario, violent, worlds=2000).summary
    s_quiet = after_quiet["conditional_survival_at"]["90"]
    s_violent = after_violent["conditional_survival_at"]["90"]
    # quiet: every world holds on day 30 and few break later (about 0.99); violent: the worlds that
    # explain six violations a side a day are those near war (0.1-0.65 across seeds at 2,000
    # worlds, the record being explained by only 3-7% of the worlds). The issue asks for 0.05; the
    # gap is above 0.3 for every seed tried, and the violent interval's top is below the quiet's bottom.
    assert s_quiet["p"] - s_violent["p"] >= 0.3
    assert s_violent["hi"] < s_quiet["lo"]
    assert after_quiet["conditional_survival_at"]["30"]["p"] == 1.0  # the truce held through day 30 in every world
    assert after_violent["unconditional_survival_at"] == after_quiet["unconditional_survival_at"]
    flagged = after_violent["warning"] or after_violent["note"]  # the record narrows the worlds to a few
    assert flagged and "descend from" in flagged
    assert 0 < after_violent["effective_sample_size"] <= 2000


def test_a_held_truce_is_the_first_truce_not_one_re_formed_at_later_talks():
    # with talks every ten days, broken truces are re-formed; "the truce holds on day 60" is about
    # the truce being forecast, so no conditioned world may have broken it before day 60
    scenario = sim.load_scenario(SCENARIOS / "libya_2020_january.yaml", ["mediator.talks=[1,10,20,30,40,50,60]"])
    result = nowcast(scenario, _record({60: {"truce_holds": True}}), worlds=600, steps=90)
    rows = result.filtered.replicates
    assert not (rows["collapsed"] & (rows["survival_days"] <= 60)).any()
    assert result.summary["conditional_survival_at"]["30"]["p"] == 1.0


def test_worlds_of_one_ancestor_get_no_interval():
    import pandas as pd

    from truce_sim.nowcast.forecast import survival_by_descent

    one = pd.DataFrame({"descends_from": [4] * 50, "survival_days": [20] * 25 + [90] * 25, "collapsed": [True] * 50})
    cell = survival_by_descent(one, 90, seed=1)["30"]
    assert cell["p"] == 0.5 and (cell["lo"], cell["hi"]) == (0.0, 1.0)
    many = pd.DataFrame(
        {"descends_from": np.arange(400) // 2, "survival_days": np.arange(400) % 60 + 1, "collapsed": [True] * 400}
    )
    cell = survival_by_descent(many, 90, seed=1)["30"]
    assert cell["lo"] < cell["p"] < cell["hi"] and cell["hi"] - cell["lo"] < 0.2


def test_the_same_inputs_give_the_same_nowcast():
    scenario = _stalemate()
    record = _record({d: {"violations": {"north": 1, "south": 0}} for d in range(1, 11)})
    a = nowcast(scenario, record, worlds=300, steps=90)
    b = nowcast(scenario, record, worlds=300, steps=90)
    assert a.filtered.replicates.equals(b.filtered.replicates) and a.summary == b.summary
    other = nowcast(scenario, record, worlds=300, steps=90, seed=5)
    assert not other.filtered.replicates.equals(a.filtered.replicates)


# the command line -----------------------------------------------------------------------------
def _nowcast_cli(tmp_path, rows: str, *options):
    tmp_path.mkdir(parents=True, exist_ok=True)
    obs = tmp_path / "obs.csv"
    obs.write_text(rows)
    out = tmp_path / "out"
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "run.py"),
            "nowcast",
            str(STALEMATE),
            "--observed",
            str(obs),
            "--out",
            str(out),
            "-q",
        ]
        + list(options),
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    return proc, out


def test_the_command_writes_its_files_the_same_for_any_workers(tmp_path):
    rows = "day,violations_north,violations_south,truce_holds\n" + "".join(f"{d},0,1,true\n" for d in range(1, 15))
    one, out_one = _nowcast_cli(tmp_path / "a", rows, "-n", "200", "--steps", "60", "-j", "1")
    two, out_two = _nowcast_cli(tmp_path / "b", rows, "-n", "200", "--steps", "60", "-j", "2")
    assert one.returncode == 0 and two.returncode == 0, one.stderr + two.stderr
    for name in ("summary.json", "replicates.csv", "filter.csv", "nowcast.png", "nowcast.svg", "report.html"):
        assert (out_one / name).exists(), name
    a, b = (json.loads((d / "summary.json").read_text()) for d in (out_one, out_two))
    for run in (a, b):
        del run["command"], run["observations"]  # the file's path differs
    assert a == b
    assert a["as_of_day"] == 14 and a["observed_days"] == 14 and "effective_sample_size" in a
    assert (out_one / "replicates.csv").read_bytes() == (out_two / "replicates.csv").read_bytes()


BAD_FILES = [
    ("day,violations_nroth\n1,2\n", "column 2 'violations_nroth'", "did you mean 'violations_north'"),
    ("day,violations_north\n1,-2\n", ":2: column violations_north", "not a count"),
    ("day,violations_north\n1,two\n", ":2: column violations_north", "not a number"),
    ("day,truce_holds\n1,maybe\n", ":2: column truce_holds", "not true or false"),
    ("date,violations_north\n2019-12-30,1\n", ":2: date 2019-12-30", "not after the truce's start"),
    ("date,violations_north\n2020-01-02,1\n2020-01-09,1\n", ":3: day 8", "after the as-of day 5"),
    ("violations_north\n1\n", ":1: give one of the columns", "'day'"),
    ("day,violations_north\n1,2\n1,3\n", ":3: day 1 is observed twice", ""),
    ("day,truce_holds\n1,false\n", "no simulated world", "matches the observed record on day 1"),
    ("day,violations_north\n\u00b2,1\n", ":2: day '\u00b2'", "not a whole number"),
    ("day,violations_north\n1,1e308\n", ":2: column violations_north", "above 1,000,000"),
    ("day\n1\n", ":1: no observation column", "truce_holds"),
]


@pytest.mark.parametrize("rows, where, what", BAD_FILES, ids=[w for _, w, _ in BAD_FILES])
def test_a_bad_observation_file_gets_one_line_and_nothing_is_written(tmp_path, rows, where, what):
    proc, out = _nowcast_cli(tmp_path, rows, "--set", "start_date=2020-01-01", "--as-of", "5", "-n", "100")
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert where in lines[0] and what in lines[0], lines[0]
    assert not out.exists()


def test_read_observations_by_date_and_day(tmp_path):
    scenario = _stalemate()
    path = tmp_path / "obs.csv"
    path.write_text("date,violations,control_north\n2020-01-03,4,\n2020-01-02,,0.5\n")
    record = read_observations(path, scenario)
    assert [d.day for d in record.days] == [1, 2] and record.last_day == 2
    assert record.days[0].control == {"north": 0.5} and record.days[1].violations_total == 4
    path.write_text("day,violations_rebels\n1,1\n")
    with pytest.raises(ObservationError, match="the factions are north, south"):
        read_observations(path, scenario)


def test_backtests_condition_on_the_status_before_the_break():
    from truce_sim.validity.backtest import backtest_case, backtests
    from truce_sim.validity.targets import CASES

    libya = next(case for case in CASES if case.name == "libya_2020_january")
    result = backtest_case(libya, 7, worlds=300)
    assert result.interval[0] > 7  # every conditioned world's truce held through day 7
    assert 0 <= result.pit <= 1 and result.inside == (result.interval[0] <= 14 <= result.interval[1])
    syria = next(case for case in CASES if case.name == "syria_2016_september")
    assert backtests([syria], worlds=100) == []  # broken on day 7: its outcome is in every record from day 7
