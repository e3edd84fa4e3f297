"""The command line end to end on small runs."""

import json
import subprocess
import sys

import pandas as pd
import pytest
import yaml

from .conftest import ARCHETYPES, HISTORICAL, ROOT

LIBYA = "scenarios/libya_2020_january.yaml"


def cli(*args, cwd=ROOT):
    return subprocess.run([sys.executable, str(ROOT / "run.py"), *args], cwd=cwd, capture_output=True, text=True)


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "jan"
    proc = cli(
        "run",
        LIBYA,
        "--replicates",
        "120",
        "--seed",
        "7",
        "--steps",
        "120",
        "--out",
        str(out),
        "--set",
        "backers.russia.pressure=0",
        "--set",
        "factions.lna.cohesion={uniform: [0.4, 0.6]}",
    )
    return proc, out


def test_run_writes_every_output(small_run):
    proc, out = small_run
    assert proc.returncode == 0, proc.stderr
    names = {p.name for p in out.iterdir()}
    assert {
        "summary.json",
        "replicates.csv",
        "timeseries.csv",
        "survival.png",
        "survival.svg",
        "dynamics.png",
        "dynamics.svg",
        "scenario.yaml",
        "manifest.json",
        "decisions.csv",
        "decisions.png",
        "decisions.svg",
    } <= names
    assert not [n for n in out.parent.iterdir() if n.name.startswith(".")], "temporary dirs left behind"


def test_decisions_say_why_each_faction_chose(small_run):
    _, out = small_run
    decisions = pd.read_csv(out / "decisions.csv")
    ts = pd.read_csv(out / "timeseries.csv").set_index("day")
    rows = pd.read_csv(out / "replicates.csv", keep_default_na=False)
    assert set(decisions["faction"]) == {"gna", "lna"} and set(decisions["state"]) <= {"truce", "war"}
    # every world chose on every day from day 1, in truce or at war, once per faction
    worlds = decisions.groupby(["day", "faction"])["worlds"].sum()
    assert (worlds == len(rows)).all() and decisions["day"].min() == 1 and decisions["day"].max() == 120
    # the worlds that chose in truce on day d are those still in truce at the end of day d - 1
    in_truce = decisions[(decisions["state"] == "truce") & (decisions["faction"] == "lna")].set_index("day")
    expected = (ts["share_in_truce"] * len(rows)).round().astype(int).shift(1)
    assert (in_truce["worlds"] == expected.loc[in_truce.index]).all()
    # the value of an offensive is its pushes minus its restraints, mean for mean
    pushes = decisions[["gain", "demand", "preventive", "grievance"]].sum(axis=1)
    restraints = decisions[
        ["waiting", "cost", "mobilisation", "leverage", "red_line", "trust", "benefits", "signature"]
    ].sum(axis=1)
    assert (pushes - restraints - decisions["value_offensive"]).abs().max() < 1e-4


def test_summary_matches_the_replicates(small_run):
    _, out = small_run
    s = json.loads((out / "summary.json").read_text())
    rows = pd.read_csv(out / "replicates.csv", keep_default_na=False)
    assert s["scenario"] == "libya_2020_january" and s["replicates"] == 120 and s["seed"] == 7 and s["steps"] == 120
    assert len(rows) == 120 and list(rows["replicate"]) == list(range(120))
    assert s["collapse_share"] == pytest.approx(rows["collapsed"].mean(), abs=1e-4)
    assert set(s["survival_at"]) == {"30", "90"}  # 180 and 365 lie past 120 days
    for v in s["survival_at"].values():
        assert 0 <= v["lo"] <= v["p"] <= v["hi"] <= 1
    # the share still holding at day 30 is the Kaplan-Meier estimate when nothing is censored before it
    assert s["survival_at"]["30"]["p"] == pytest.approx((rows["survival_days"] > 30).mean(), abs=1e-4)
    assert sum(s["causes"].values()) == pytest.approx(1, abs=1e-3)
    assert s["mean_violations_per_day"] == pytest.approx(rows["violations_per_truce_day"].mean(), abs=1e-4)
    # the drawn fact is in each world's row, inside its range
    assert rows["factions.lna.cohesion"].between(0.4, 0.6).all() and rows["factions.lna.cohesion"].std() > 0.03


def test_resolved_scenario_and_manifest(small_run):
    _, out = small_run
    resolved = yaml.safe_load((out / "scenario.yaml").read_text())
    assert resolved["backers"]["russia"]["pressure"] == 0
    assert resolved["factions"]["lna"]["cohesion"] == {"uniform": [0.4, 0.6]}
    assert "decision_noise" in resolved["behaviour"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 7 and manifest["versions"]["mesa"].startswith("3.")
    assert "--replicates" in manifest["command"] and manifest["started"] <= manifest["finished"]
    ts = pd.read_csv(out / "timeseries.csv")
    assert len(ts) == 121 and ts["date"].iloc[0] == "2020-01-12"
    assert ts["share_in_truce"].iloc[0] == 1.0


@pytest.mark.slow  # two runs, one keeping every path
def test_rerun_replaces_the_out_dir_whole(tmp_path):
    out = tmp_path / "out"
    proc = cli("run", LIBYA, "--replicates", "20", "--steps", "20", "--out", str(out), "-q", "--keep-paths")
    assert proc.returncode == 0 and (out / "paths").is_dir(), proc.stderr
    # a rerun without --keep-paths: what the earlier run wrote and this one does not is gone
    proc = cli("run", LIBYA, "--replicates", "30", "--steps", "20", "--out", str(out), "-q")
    assert proc.returncode == 0, proc.stderr
    assert not (out / "paths").exists()
    assert json.loads((out / "summary.json").read_text())["replicates"] == 30


@pytest.mark.slow  # a full run of the default size
def test_file_alone_means_run_and_default_out_dir(tmp_path):
    proc = cli(str(ROOT / LIBYA), "--replicates", "10", "--steps", "10", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "results" / "libya_2020_january" / "summary.json").exists()
    assert "median survival" in proc.stdout and "survival at" not in proc.stderr


def test_list_names_every_builtin_scenario():
    proc = cli("list")
    assert proc.returncode == 0
    for name in HISTORICAL + ARCHETYPES:
        assert name in proc.stdout
    assert "(invalid" not in proc.stdout


def test_check_prints_the_resolved_scenario():
    proc = cli("check", LIBYA, "--set", "mediator.monitoring=0.5")
    assert proc.returncode == 0, proc.stderr
    body = yaml.safe_load(proc.stdout)
    assert body["mediator"]["monitoring"] == 0.5 and body["name"] == "libya_2020_january"


@pytest.mark.parametrize(
    "args",
    [
        ["run", LIBYA, "--replicates", "0"],
        ["run", LIBYA, "--steps", "x"],
        ["frobnicate"],
        ["run", LIBYA, "--set", "factions.lna.cohesion=2"],
    ],
)
def test_bad_options_exit_2_with_one_line(args):
    proc = cli(*args)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


@pytest.mark.slow  # worker processes and kept paths
def test_workers_and_kept_paths(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    a = cli("run", LIBYA, "-n", "60", "--steps", "30", "--workers", "1", "--out", str(one), "-q")
    b = cli(
        "run",
        LIBYA,
        "-n",
        "60",
        "--steps",
        "30",
        "--workers",
        "2",
        "--batch-size",
        "25",
        "--keep-paths",
        "--out",
        str(two),
        "-q",
    )
    assert a.returncode == 0 and b.returncode == 0, a.stderr + b.stderr
    for name in ("replicates.csv", "timeseries.csv", "summary.json"):
        assert (one / name).read_bytes() == (two / name).read_bytes(), name
    assert not (one / "paths").exists()
    paths = pd.read_parquet(two / "paths")
    assert len(paths) == 60 * 31 and sorted(paths["replicate"].unique()) == list(range(60))
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "staging dirs left behind"
