"""compare: the fields that differ, paired differences for same-seed runs, and refusals.

Small runs of the stalemate archetype (300 worlds, 90 days, its seed 101) against the same with
one backer's pressure removed, run once per module through ``cli.main`` in this process.
"""

import contextlib
import io
import math
import shutil

import numpy as np
import pandas as pd
import pytest

from truce_sim.cli import main
from truce_sim.outputs.compare import _km_median, flatten

from .conftest import SCENARIOS

STALEMATE = SCENARIOS / "stalemate_joint_pressure.yaml"
SMALL = ["-n", "300", "-q", "-j", "1"]
WHAT_IF = "backers.patron_north.pressure"


def call(*argv) -> tuple[int, str, str]:
    """``main(argv)`` in this process: (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main([str(a) for a in argv])
    return status, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    made = {
        "base": ["--steps", "90"],
        "no_pressure": ["--steps", "90", "--set", f"{WHAT_IF}=0"],
        "short": ["--steps", "60"],
        "other_seed": ["--steps", "90", "--seed", "7"],
    }
    for name, options in made.items():
        status, _, err = call("run", STALEMATE, *SMALL, *options, "--out", root / name)
        assert status == 0, err
    return root


def compare(runs, *names, out="cmp"):
    status, stdout, err = call("compare", *(runs / n for n in names), "--out", runs / out)
    return status, stdout, err, runs / out


def test_the_differing_field_is_named(runs):
    status, stdout, err, out = compare(runs, "base", "no_pressure", out="cmp_field")
    assert status == 0, err
    assert err == ""
    fields = pd.read_csv(out / "fields.csv", dtype=str)
    assert fields["field"].tolist() == [WHAT_IF]  # seed, worlds and steps are equal: not listed
    assert fields.iloc[0].tolist() == [WHAT_IF, "0.6", "0"]
    assert "fields that differ:" in stdout and WHAT_IF in stdout
    report = (out / "report.html").read_text()
    assert "Fields that differ" in report and WHAT_IF in report


def test_same_seed_runs_give_paired_differences(runs):
    status, stdout, err, out = compare(runs, "base", "no_pressure", out="cmp_paired")
    assert status == 0, err
    diffs = pd.read_csv(out / "differences.csv").set_index("measure")
    assert diffs["paired"].all()
    survival = diffs.loc[["survival at 30 days", "survival at 90 days"]]
    assert "survival at 180 days" not in diffs.index  # beyond the 90-day horizon
    assert (survival["lo"] < survival["difference"]).all() and (survival["difference"] < survival["hi"]).all()
    # Common random numbers: the same world under both, so the paired interval is much narrower
    # than two independent samples of 300 would give.
    assert ((survival["hi"] - survival["lo"]) < 0.8 * (survival["unpaired_hi"] - survival["unpaired_lo"])).all()
    # Removing one patron's pressure lowers survival (the joint-pressure stylized fact). With the
    # fixed seed the paired difference at 90 days is about -0.10 with a 95% interval of about
    # +-0.035 (about 1.7 points of standard error), so its upper end stays below 0 unless the
    # effect shrinks to a third of its size; the results are deterministic, so this cannot flake.
    at90 = diffs.loc["survival at 90 days"]
    assert at90["hi"] < 0
    assert at90["first"] > at90["this"]
    hr = diffs.loc["hazard ratio of collapse"]
    assert hr["lo"] > 1 and hr["lo"] < hr["difference"] < hr["hi"]
    assert "clustered on the replicate id" in hr["note"]
    # more than half the truces hold at 90 days in both runs: no median, said so
    assert math.isnan(diffs.loc["median survival (days)", "difference"])
    assert "no median" in diffs.loc["median survival (days)", "note"]
    # the headline: the field, the paired difference at 90 days with its interval, the hazard ratio
    line = next(x for x in stdout.splitlines() if x.startswith("no_pressure vs base:"))
    assert f"{WHAT_IF}=0" in line
    assert "survival at 90 days" in line and "paired difference -0." in line
    assert "hazard ratio 1." in line
    # no log-rank test between same-seed runs, and a reason why
    assert len(pd.read_csv(out / "compare.csv")) == 0
    assert "log-rank test not shown" in stdout and "same seed 101" in stdout
    assert "not independent" in (out / "report.html").read_text()


def test_different_seeds_are_independent_and_keep_the_log_rank_test(runs):
    status, stdout, err, out = compare(runs, "base", "other_seed", out="cmp_seeds")
    assert status == 0, err
    diffs = pd.read_csv(out / "differences.csv")
    assert not diffs["paired"].any()
    survival = diffs[diffs["measure"].str.startswith("survival at")]
    assert np.allclose(survival["lo"], survival["unpaired_lo"]) and np.allclose(survival["hi"], survival["unpaired_hi"])
    assert "independent difference" in stdout
    logrank = pd.read_csv(out / "compare.csv")
    assert len(logrank) == 1 and 0 <= logrank["p_value"].iloc[0] <= 1
    fields = pd.read_csv(out / "fields.csv", dtype=str)
    assert fields["field"].tolist() == ["seed"]


def test_a_run_compared_with_itself_is_refused_and_nothing_is_written(runs):
    out = runs / "cmp_self"
    status, stdout, err = call("compare", runs / "base", runs / "base", "--out", out)
    assert status == 2 and err.count("\n") == 1 and err.startswith("error: ") and "twice" in err
    assert not out.exists()
    copy = runs / "base_copy"
    shutil.copytree(runs / "base", copy)
    status, stdout, err = call("compare", runs / "base", copy, "--out", out)
    assert status == 2 and err.count("\n") == 1 and "the same run" in err, err
    assert not out.exists() and stdout == ""


def test_different_horizons_warn_and_compare_common_days_only(runs):
    status, stdout, err, out = compare(runs, "base", "short", out="cmp_horizons")
    assert status == 0, err
    assert err.count("\n") == 1 and err.startswith("warning: ") and "different horizons" in err
    diffs = pd.read_csv(out / "differences.csv").set_index("measure")
    assert [m for m in diffs.index if m.startswith("survival at")] == ["survival at 30 days"]
    # the same seed and scenario: the same worlds, so they agree exactly on their common days
    assert diffs.loc["survival at 30 days", ["difference", "lo", "hi"]].tolist() == [0, 0, 0]
    assert pd.read_csv(out / "fields.csv", dtype=str)["field"].tolist() == ["steps"]
    # the headline falls back to the last day compared
    assert "survival at 30 days" in stdout


def test_km_median_is_lifelines_median():
    from lifelines import KaplanMeierFitter

    rng = np.random.default_rng(3)
    for _ in range(20):
        days = rng.integers(0, 60, 200)
        collapsed = rng.random(200) < 0.7
        fit = KaplanMeierFitter().fit(days, collapsed)
        assert _km_median(days, collapsed, np.ones(200), 61) == fit.median_survival_time_


def test_flatten():
    data = {"a": {"b": 1, "c": [1, 2]}, "events": [{"day": 3, "set": {"x": 0}}], "d": None}
    assert flatten(data) == {"a.b": 1, "a.c": [1, 2], "events.0.day": 3, "events.0.set.x": 0, "d": None}
