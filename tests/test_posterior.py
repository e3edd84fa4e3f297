"""`run --posterior FILE`: behavioural constants drawn per world from a calibration's posterior.

The contract (truce_sim/core/posterior.py, TruceModel, run_ensemble): a run draws K rows of the
posterior by weight from a stream keyed on its seed alone; world i takes the constants of draw
i % K, so a world depends only on (seed, posterior, K, i). The summary's ``survival_band`` is the
5-95% range of the K groups' Kaplan-Meier curves (worlds sharing i % K), with or without a
posterior. A bad posterior file is one line on stderr, exit 2, nothing written.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import truce_sim as sim
from truce_sim.cli import main
from truce_sim.core.posterior import POSTERIOR_DRAWS, load_posterior
from truce_sim.core.scenario import BEHAVIOUR_FIELDS
from truce_sim.runs.survival import BAND_POSTERIOR, BAND_WORLDS, group_survival, kaplan_meier

from .conftest import ROOT, SCENARIOS

LIBYA = SCENARIOS / "libya_2020_january.yaml"
# The constants the synthetic posterior spreads. Each moves the founding case's survival at 30
# days on its own (measured with --set at x0.5 and x2, 1,000 worlds): preventive_weight 21% -> 0%,
# mobilisation_days 1% -> 52%, offensive_threshold shifts the collapses of the first three weeks.
# (decision_noise barely moves it: by day 30 nearly every world's truce has ended either way.)
SPREAD = ("offensive_threshold", "preventive_weight", "mobilisation_days")


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def synthetic_posterior(path: Path, rows: int = 200, seed: int = 1) -> Path:
    """Rows spreading SPREAD log-uniformly from x0.5 to x2 of their defaults, unequal weights."""
    rng = np.random.default_rng(seed)
    table = {k: BEHAVIOUR_FIELDS[k].default * np.exp(rng.uniform(np.log(0.5), np.log(2), rows)) for k in SPREAD}
    table["weight"] = rng.uniform(0.5, 1.5, rows)
    pd.DataFrame(table).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def posterior_file(tmp_path_factory):
    return synthetic_posterior(tmp_path_factory.mktemp("posterior") / "posterior.csv")


def run_cli(capsys, *args):
    status = main([str(a) for a in args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


# --- determinism --------------------------------------------------------------------------------
def test_batch_sizes_and_workers_give_identical_results(posterior_file):
    scenario = sim.load_scenario(LIBYA, posterior=posterior_file, posterior_draws=9)
    whole = sim.run_ensemble(scenario, replicates=120, seed=4, steps=40)
    sevens = sim.run_ensemble(scenario, replicates=120, seed=4, steps=40, batch_size=7)
    two = sim.run_ensemble(scenario, replicates=120, seed=4, steps=40, batch_size=25, workers=2)
    for other in (sevens, two):
        pd.testing.assert_frame_equal(whole.replicates, other.replicates)
        pd.testing.assert_frame_equal(whole.timeseries, other.timeseries)
        assert whole.summary == other.summary
    # one world per batch: the first 20 worlds as in the whole run (their draws do not depend on
    # how many worlds there are), and the same aggregates as those 20 in one batch
    singles = sim.run_ensemble(scenario, replicates=20, seed=4, steps=40, batch_size=1)
    together = sim.run_ensemble(scenario, replicates=20, seed=4, steps=40)
    pd.testing.assert_frame_equal(singles.replicates, whole.replicates.iloc[:20])
    pd.testing.assert_frame_equal(singles.timeseries, together.timeseries)
    # the constants really differ between worlds, by draw
    rows = whole.replicates
    assert (rows["posterior_draw"] == rows["replicate"] % 9).all()
    assert rows.groupby("posterior_draw")["behaviour.offensive_threshold"].nunique().max() == 1
    assert rows["behaviour.offensive_threshold"].nunique() > 1


def test_every_constant_drawn_per_world_in_every_scenario(tmp_path):
    """Every behavioural constant from the posterior at once, per world (the whole-number window
    rounded): the model copes with each as an array, and batches still do not matter."""
    rng = np.random.default_rng(0)
    table = {}
    for key, f in BEHAVIOUR_FIELDS.items():
        spread = f.default * np.exp(rng.uniform(np.log(0.7), np.log(1.4), 12)) if f.default else rng.uniform(0, 0.1, 12)
        table[key] = np.clip(spread + (0.3 if f.kind == "int" else 0.0), f.lo, f.hi)
    table["spiral_window_days"] = np.linspace(3.2, 12.7, 12)  # whole days 3 to 13, rounded on read
    table["weight"] = rng.uniform(0.5, 1, 12)
    posterior = sim.load_posterior(write_csv(tmp_path / "all.csv", pd.DataFrame(table).to_csv(index=False)), 8)
    for name in ("libya_2020_january", "stalemate_joint_pressure", "ukraine_2015_minsk_ii"):
        scenario = sim.load_scenario(SCENARIOS / f"{name}.yaml").with_posterior(posterior)
        a = sim.run_ensemble(scenario, replicates=30, seed=2, steps=30)
        b = sim.run_ensemble(scenario, replicates=30, seed=2, steps=30, batch_size=4)
        pd.testing.assert_frame_equal(a.replicates, b.replicates)
        windows = a.replicates["behaviour.spiral_window_days"]
        assert (windows == windows.round()).all() and windows.nunique() > 1


# --- the draws ----------------------------------------------------------------------------------
def test_a_row_of_weight_zero_is_never_drawn(tmp_path):
    path = write_csv(tmp_path / "p.csv", "offensive_threshold,decision_noise,weight\n2.5,0.3,1\n9,0.02,0\n")
    scenario = sim.load_scenario(LIBYA, posterior=path)
    model = sim.TruceModel(scenario, rng=5, replicates=300)
    # every world has the first row's constants (held as arrays: drawn constants always are)
    assert (model.behaviour["offensive_threshold"] == 2.5).all()
    assert (model.behaviour["decision_noise"] == 0.3).all()
    assert model.behaviour["gain_weight"] == BEHAVIOUR_FIELDS["gain_weight"].default  # not in the file
    # and the run is exactly the run with those constants set: neither constant is an exponent,
    # and no random draw is spent on them, so every float operation is the same
    posterior = sim.run_ensemble(scenario, replicates=200, seed=5, steps=60)
    sets = ["behaviour.offensive_threshold=2.5", "behaviour.decision_noise=0.3"]
    fixed = sim.run_ensemble(sim.load_scenario(LIBYA, sets), replicates=200, seed=5, steps=60)
    added = ["posterior_draw", "behaviour.offensive_threshold", "behaviour.decision_noise"]
    pd.testing.assert_frame_equal(posterior.replicates.drop(columns=added), fixed.replicates)
    pd.testing.assert_frame_equal(posterior.timeseries, fixed.timeseries)
    assert posterior.summary["survival_at"] == fixed.summary["survival_at"]
    assert (posterior.replicates["behaviour.offensive_threshold"] == 2.5).all()


def test_equal_weights_draw_each_row_about_half_the_time(tmp_path):
    path = write_csv(tmp_path / "p.csv", "offensive_threshold,mobilisation_days,weight\n1,5,0.5\n40,200,0.5\n")
    posterior = load_posterior(path, draws=2000)
    rows = posterior.drawn_rows(seed=11)
    # Binomial(2000, 1/2): sd 22.4; +-120 is over 5 sd (a chance below 1e-6 for a fair draw)
    assert abs(int((rows == 0).sum()) - 1000) < 120
    # the worlds take their draws' rows: world i draw i % K, whatever the batch
    model = sim.TruceModel(sim.load_scenario(LIBYA).with_posterior(posterior), rng=11, replicates=2500)
    expected = np.where(rows[np.arange(2500) % 2000] == 0, 1.0, 40.0)
    np.testing.assert_array_equal(model.behaviour["offensive_threshold"], expected)
    # weights are normalised on read: 1 and 3 draw the first row a quarter of the time
    # (Binomial(2000, 1/4): sd 19.4; +-100 is over 5 sd)
    skewed = load_posterior(write_csv(tmp_path / "q.csv", "offensive_threshold,weight\n1,1\n40,3\n"), 2000)
    assert abs(int((skewed.drawn_rows(seed=11) == 0).sum()) - 500) < 100


def test_draws_depend_on_the_seed_and_keep_their_place_as_k_grows(posterior_file):
    a = load_posterior(posterior_file, draws=50)
    assert not np.array_equal(a.drawn_rows(1), a.drawn_rows(2))
    np.testing.assert_array_equal(a.drawn_rows(3), a.with_draws(80).drawn_rows(3)[:50])


# --- the band -----------------------------------------------------------------------------------
def test_group_curves_are_lifelines_kaplan_meier():
    rows = sim.run_ensemble(LIBYA, replicates=300, seed=8, steps=60).replicates
    curves = group_survival(rows, 7, 60)
    for g in (0, 6):
        km = kaplan_meier(rows[rows["replicate"] % 7 == g]).survival_function_at_times(range(61)).to_numpy()
        np.testing.assert_allclose(curves[g], km, atol=1e-12)


def test_a_run_without_a_posterior_has_the_world_groups_band():
    result = sim.run_ensemble(LIBYA, replicates=200, seed=3, steps=40)
    band = result.summary["survival_band"]
    assert band["band"] == BAND_WORLDS and band["groups"] == POSTERIOR_DRAWS
    assert band["worlds_per_group"] == [4, 4] and list(band["at"]) == ["30"]
    assert result.summary["posterior"] is None
    ts = result.timeseries
    # quantiles of curves that never rise never rise; the mean curve may leave a band of groups of 4
    assert (ts["survival_band_lo"] <= ts["survival_band_hi"]).all() and ts.loc[0, "survival_band_lo"] == 1
    assert (ts["survival_band_lo"].diff().dropna() <= 0).all() and (ts["survival_band_hi"].diff().dropna() <= 0).all()
    assert ts.loc[30, "survival_band_lo"] == band["at"]["30"]["lo"]


def test_the_posterior_widens_the_founding_cases_band(posterior_file):
    """2,000 worlds, 90 days, K = 50 (40 worlds a group), seed 1. Without a posterior the band is
    only sampling noise: survival at 30 days is about 2%, so a group of 40 holds Binomial(40, 0.02)
    survivors and the 95% quantile over 50 groups is 2 or 3 in 40 (measured width 0.05-0.075 for
    seeds 1-3); 0.15 is 6 survivors in 40, which more than 3 groups would need to reach, at a
    chance of about 1e-4 each. With the posterior the draws' survival at 30 days runs from 0 to
    about 50% (mobilisation_days x2 alone gives 52%), and the measured width is 0.51-0.62 for
    seeds 1-3: 0.3 leaves a margin of 0.2 below the smallest."""
    scenario = sim.load_scenario(LIBYA)
    without = sim.run_ensemble(scenario, replicates=2000, seed=1, steps=90)
    with_it = sim.run_ensemble(scenario.with_posterior(posterior_file), replicates=2000, seed=1, steps=90)
    assert with_it.summary["survival_band"]["band"] == BAND_POSTERIOR
    width = {
        label: {d: v["hi"] - v["lo"] for d, v in r.summary["survival_band"]["at"].items()}
        for label, r in (("without", without), ("with", with_it))
    }
    assert width["without"]["30"] < 0.15, width
    assert width["with"]["30"] > 0.3, width
    assert width["with"]["30"] > 3 * width["without"]["30"], width
    # beside the band, what world sampling alone gives groups of 40 at the pooled survival: the
    # posterior's band reaches far past it, the plain run's does not
    at30 = with_it.summary["survival_band"]["at"]["30"]
    assert at30["hi"] > at30["noise_hi"] + 0.2, at30
    plain30 = without.summary["survival_band"]["at"]["30"]
    assert plain30["hi"] <= plain30["noise_hi"] + 0.05, plain30
    assert "warning" not in with_it.summary["survival_band"]  # far wider than noise


def test_a_band_that_is_mostly_noise_is_warned_of(posterior_file):
    # 200 worlds over 50 draws (4 a draw): a group's survival at 30 days is 0, 1/4, ... by chance
    # alone, so the band cannot be twice as wide as that noise
    scenario = sim.load_scenario(LIBYA).with_posterior(posterior_file, draws=50)
    band = sim.run_ensemble(scenario, 200, seed=1, steps=30).summary["survival_band"]
    assert "mostly world-sampling noise" in band["warning"], band


# --- the Python API -----------------------------------------------------------------------------
def test_api_paths_tables_and_what_ifs_carry_the_posterior(posterior_file):
    from_file = sim.load_scenario("libya_2020_january", posterior=str(posterior_file))
    table = pd.read_csv(posterior_file)
    from_table = sim.load_scenario("libya_2020_january").with_posterior(table)
    a = sim.run_ensemble(from_file, replicates=60, seed=2, steps=20)
    b = sim.run_ensemble(from_table, replicates=60, seed=2, steps=20)
    # the CSV's text and the table's floats are the same numbers (pandas reads them exactly)
    pd.testing.assert_frame_equal(a.replicates, b.replicates)
    assert a.summary["posterior"]["sha256"] == hashlib.sha256(posterior_file.read_bytes()).hexdigest()
    assert a.summary["posterior"]["rows"] == 200 and a.summary["posterior"]["constants"] == list(SPREAD)
    # a what-if keeps the posterior, and names it in its default out dir
    what_if = from_file.with_overrides(["backers.russia.pressure=0"]).with_scales({"backers.turkey.support": 2})
    assert what_if.posterior is from_file.posterior
    digest = from_file.posterior.sha256[:8]
    assert what_if.what_if_label.endswith(f"posterior=posterior-{digest}-k{from_file.posterior.draws}")
    assert from_file.with_posterior(None).posterior is None


def test_a_constant_given_by_both_is_the_posteriors_with_a_caveat(posterior_file):
    scenario = sim.load_scenario(LIBYA, ["behaviour.mobilisation_days=30", "behaviour.gain_weight=12"])
    caveats = scenario.with_posterior(posterior_file).caveats()
    assert len(caveats) == 1
    assert "behaviour.mobilisation_days (--set behaviour.mobilisation_days=30)" in caveats[0]
    assert "gain_weight" not in caveats[0]  # not in the posterior: the scenario's value holds
    model = sim.TruceModel(scenario.with_posterior(posterior_file), rng=1, replicates=50)
    assert model.behaviour["gain_weight"] == 12
    assert np.min(model.behaviour["mobilisation_days"]) != 30


# --- the command line ---------------------------------------------------------------------------
def test_cli_run_with_a_posterior(tmp_path, capsys, posterior_file):
    out = tmp_path / "out"
    status, stdout, err = run_cli(
        capsys,
        "run",
        LIBYA,
        "-n",
        "150",
        "--steps",
        "40",
        "--seed",
        "3",
        "--posterior",
        posterior_file,
        "--posterior-draws",
        "10",
        "--set",
        "behaviour.offensive_threshold=3",
        "--out",
        out,
    )
    assert status == 0, err
    lines = [line for line in err.splitlines() if "\r" not in line]  # a progress bar shows on a slow machine
    assert lines[0] == (
        f"warning: the posterior {posterior_file} replaces behaviour.offensive_threshold "
        "(--set behaviour.offensive_threshold=3): each world takes these constants from its posterior draw"
    )
    # 150 worlds over 10 draws: the band is no wider than world sampling would make it, and it says so
    assert lines[1:] == [f"warning: {json.loads((out / 'summary.json').read_text())['survival_band']['warning']}"]
    assert "band at 30 days" in stdout
    summary = json.loads((out / "summary.json").read_text())
    manifest = json.loads((out / "manifest.json").read_text())
    record = {
        "file": str(posterior_file),
        "sha256": hashlib.sha256(posterior_file.read_bytes()).hexdigest(),
        "rows": 200,
        "constants": list(SPREAD),
        "draws": 10,
    }
    assert summary["posterior"] == manifest["posterior"] == record
    assert summary["survival_band"]["band"] == BAND_POSTERIOR and summary["survival_band"]["groups"] == 10
    ts = pd.read_csv(out / "timeseries.csv")
    assert {"survival_band_lo", "survival_band_hi"} <= set(ts.columns)
    report = (out / "report.html").read_text()
    assert f"The curve carries parameter uncertainty from {posterior_file} (10 draws" in report
    assert (
        "# Each world took offensive_threshold, preventive_weight, mobilisation_days"
        in (out / "scenario.yaml").read_text()
    )


# Bad files: (id, file text or None for a special case, fragments of the message after the file name).
BAD = [
    ("missing", None, [": file not found"]),
    ("directory", None, [": not a regular file (a directory)"]),
    ("not_utf8", b"offensive_threshold,weight\n\xff\xfe,1\n", [": not a CSV file (not UTF-8 text"]),
    ("yaml", "behaviour:\n  offensive_threshold: 3\n", [":1: not a CSV file (the first line has no commas)"]),
    ("bad_quoting", 'offensive_threshold,weight\n"3"x,1\n', [":2: not a CSV file"]),
    ("ragged", "offensive_threshold,weight\n3,1\n4\n", [":3: expected 2 values, as the header has columns, got 1"]),
    ("empty", "", [": the file is empty"]),
    ("no_weight", "offensive_threshold,decision_noise\n3,0.1\n", [":1: no weight column"]),
    (
        "unknown_column",
        "offensive_treshold,weight\n3,1\n",
        [":1: offensive_treshold: unknown column (did you mean 'offensive_threshold'?)"],
    ),
    ("only_weight", "weight\n1\n", [":1: no behavioural constant columns"]),
    ("duplicate", "offensive_threshold,offensive_threshold,weight\n3,3,1\n", [":1: offensive_threshold: duplicate"]),
    (
        "out_of_range",
        "offensive_threshold,decision_noise,weight\n3,0.1,1\n\n4,20,1\n",
        [":4: decision_noise: must be in [0.01, 10], got 20"],
    ),
    ("not_a_number", "offensive_threshold,weight\n3,1\nthree,1\n", [":3: offensive_threshold: must be a number"]),
    ("not_finite", "offensive_threshold,weight\nnan,1\n", [":2: offensive_threshold: must be a finite number"]),
    ("empty_value", "offensive_threshold,weight\n ,1\n", [":2: offensive_threshold: empty value"]),
    ("negative_weight", "offensive_threshold,weight\n3,1\n4,-0.5\n", [":3: weight: must be >= 0, got -0.5"]),
    ("zero_weights", "offensive_threshold,weight\n3,0\n4,0\n", [": every weight is 0"]),
    ("no_rows", "offensive_threshold,weight\n", [": no rows"]),
]


@pytest.mark.parametrize("text, fragments", [pytest.param(t, f, id=i) for i, t, f in BAD])
def test_a_bad_posterior_file_is_one_line_exit_2_and_nothing_written(tmp_path, monkeypatch, capsys, text, fragments):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "posterior.csv"
    if text is None:
        if fragments[0].endswith("(a directory)"):
            path.mkdir()
    elif isinstance(text, bytes):
        path.write_bytes(text)
    else:
        write_csv(path, text)
    before = sorted(os.listdir(tmp_path))
    status, stdout, err = run_cli(capsys, "run", LIBYA, "-n", "10", "--posterior", path, "--out", tmp_path / "out")
    assert status == 2, err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}"), err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    assert sorted(os.listdir(tmp_path)) == before  # no out dir, no results/
    # the same error from the Python API, as a ScenarioError (a ValueError)
    with pytest.raises(sim.ScenarioError, match="posterior.csv"):
        sim.load_scenario(LIBYA, posterior=path)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_posterior_file(tmp_path, capsys):
    path = write_csv(tmp_path / "posterior.csv", "offensive_threshold,weight\n3,1\n")
    path.chmod(0)
    try:
        status, _, err = run_cli(capsys, "run", LIBYA, "-n", "10", "--posterior", path, "--out", tmp_path / "out")
    finally:
        path.chmod(0o644)
    assert status == 2 and err.startswith(f"error: {path}: cannot read") and len(err.splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_draws_without_a_posterior_is_a_usage_error(tmp_path, capsys):
    status, _, err = run_cli(capsys, "run", LIBYA, "-n", "10", "--posterior-draws", "5", "--out", tmp_path / "out")
    assert status == 2 and "without a posterior" in err and not (tmp_path / "out").exists()


def test_the_real_process_exits_2(tmp_path):
    path = write_csv(tmp_path / "posterior.csv", "offensive_threshold,weight\n3,-1\n")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "run.py"), "run", str(LIBYA), "--posterior", str(path), "--out", "out"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.splitlines() == [f"error: {path}:2: weight: must be >= 0, got -1"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["posterior.csv"]
