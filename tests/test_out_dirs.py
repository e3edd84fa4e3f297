"""Out dirs: truce-sim writes only where it may, never loses a user's file, and names what-ifs.

Each test sets up a directory as a user would leave it, runs a command through ``cli.main`` (in
this process, so the tests are fast) or as a subprocess where processes matter, and checks what
is on disk afterwards, byte for byte where a file must survive.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from truce_sim.cli import main
from truce_sim.outputs import files
from truce_sim.outputs.files import MARKER, OutDir, OutDirError, check_out_dir

from .conftest import ROOT, SMALL_SCENARIO, everyday_first

RUN = ["run", "libya_2020_january", "-n", "20", "--steps", "20", "-q", "-j", "1"]
SWEEP = [
    "sweep",
    "libya_2020_january",
    "--vary",
    "mediator.monitoring=0:1:3",
    "-n",
    "20",
    "--steps",
    "20",
    "-q",
    "-j",
    "1",
]


def run_cli(capsys, *args):
    status = main(list(args))
    return status, capsys.readouterr().err


def snapshot(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A working directory holding a user's own files beside where results go."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "thesis.txt").write_text("three years of work\n")
    return tmp_path


@pytest.mark.parametrize("command", [RUN, SWEEP], ids=["run", "sweep"])
def test_a_foreign_out_dir_is_refused_and_its_files_survive(project, capsys, command):
    foreign = project / "mine"
    foreign.mkdir()
    (foreign / "thesis.txt").write_text("do not delete\n")
    (foreign / "data").mkdir()
    (foreign / "data" / "x.csv").write_text("1,2\n")
    before = snapshot(foreign)
    status, err = run_cli(capsys, *command, "--out", str(foreign))
    assert status == 2
    assert (
        err.strip() == f"error: {foreign} holds files truce-sim did not write (data, thesis.txt); choose another --out"
    )
    assert snapshot(foreign) == before and sorted(p.name for p in foreign.iterdir()) == ["data", "thesis.txt"]


@pytest.mark.parametrize("command", [RUN, SWEEP], ids=["run", "sweep"])
def test_a_file_added_to_an_owned_out_dir_makes_it_foreign(project, capsys, command):
    out = project / "out"
    assert run_cli(capsys, *command, "--out", str(out))[0] == 0
    (out / "notes.txt").write_text("my reading of the results\n")
    status, err = run_cli(capsys, *command, "--out", str(out))
    assert status == 2 and "notes.txt" in err
    assert (out / "notes.txt").read_text() == "my reading of the results\n"


def test_a_parent_of_the_working_directory_is_refused(tmp_path, monkeypatch, capsys):
    # the project inside /tmp/p/proj, --out /tmp/p: without the guard this deleted the project
    proj = tmp_path / "p" / "proj"
    proj.mkdir(parents=True)
    (proj / "thesis.txt").write_text("keep\n")
    monkeypatch.chdir(proj)
    for out in (str(tmp_path / "p"), ".", ".."):
        status, err = run_cli(capsys, *RUN, "--out", out)
        assert status == 2, out
        assert "current directory or one of its parents" in err
    assert (proj / "thesis.txt").read_text() == "keep\n"
    assert sorted(p.name for p in (tmp_path / "p").iterdir()) == ["proj"], "nothing may be left beside the project"


def test_an_empty_out_dir_is_used_and_a_rerun_replaces_our_own(project, capsys):
    out = project / "out"
    out.mkdir()
    assert run_cli(capsys, *RUN, "--out", str(out))[0] == 0
    marker = json.loads((out / MARKER).read_text())
    assert marker["kind"] == "run" and "replicates.csv" in marker["entries"]
    first = (out / "manifest.json").read_text()
    assert run_cli(capsys, *RUN, "--seed", "9", "--out", str(out))[0] == 0
    assert (out / "manifest.json").read_text() != first
    assert json.loads((out / "summary.json").read_text())["seed"] == 9
    assert (project / "thesis.txt").exists()
    leftovers = [p.name for p in project.iterdir() if p.name.startswith(".")]
    assert leftovers == [], f"staging dirs or locks left behind: {leftovers}"


def test_a_what_if_never_replaces_its_baseline(project, capsys):
    assert run_cli(capsys, *RUN)[0] == 0
    baseline = project / "results" / "libya_2020_january"
    before = snapshot(baseline)
    status = main([*RUN[:-1], "1", "--set", "backers.russia.pressure=0", "--set", "factions.lna.cohesion=0.4"])
    assert status == 0
    assert snapshot(baseline) == before
    what_if = project / "results" / "libya_2020_january--russia.pressure=0+lna.cohesion=0.4"
    summary = json.loads((what_if / "summary.json").read_text())
    assert summary["overrides"] == {"backers.russia.pressure": "0", "factions.lna.cohesion": "0.4"}
    assert json.loads((baseline / "summary.json").read_text())["overrides"] == {}


def test_the_console_summary_names_the_what_if(project, capsys):
    status = main(
        ["run", "libya_2020_january", "-n", "20", "--steps", "20", "-j", "1", "--set", "backers.russia.pressure=0"]
    )
    out = capsys.readouterr().out
    assert status == 0
    assert any(line.startswith("what-if") and line.endswith("backers.russia.pressure=0") for line in out.splitlines())


def test_what_if_labels_are_safe_file_names():
    import truce_sim

    s = truce_sim.load_scenario(
        "libya_2020_january",
        ["backers.*.pressure=0", "mediator.monitoring=0.5", "factions.lna.cohesion={uniform: [0.3, 0.5]}"],
    )
    label = s.what_if_label
    assert "/" not in label and " " not in label and len(label) <= 80
    assert label.startswith("all.pressure=0+mediator.monitoring=0.5+lna.cohesion=")
    many = [f"factions.{f}.{k}=0.25" for f in ("gna", "lna") for k in ("cohesion", "demand", "war_cost")]
    long, other = (truce_sim.load_scenario("libya_2020_january", overrides) for overrides in (many, many[::-1]))
    assert len(long.what_if_label) == len(other.what_if_label) == 80  # cut, with a hash
    assert long.what_if_label != other.what_if_label  # that keeps distinct what-ifs apart


def test_compare_refuses_to_write_over_a_run_it_reads(project, capsys):
    a, b = project / "a", project / "b"
    assert run_cli(capsys, *RUN, "--out", str(a))[0] == 0
    assert run_cli(capsys, *RUN, "--seed", "3", "--out", str(b))[0] == 0
    before = snapshot(a)
    status, err = run_cli(capsys, "compare", str(a), str(b), "--out", str(a))
    assert status == 2 and "which this command reads" in err
    assert snapshot(a) == before
    # a run's out dir is not a compare's to replace either, even when it is not an input
    c = project / "c"
    assert run_cli(capsys, *RUN, "--out", str(c))[0] == 0
    status, err = run_cli(capsys, "compare", str(a), str(b), "--out", str(c))
    assert status == 2 and "holds a run's results" in err
    status, err = run_cli(capsys, "compare", str(a), str(a))
    assert status == 2 and "twice" in err


def test_compare_escapes_run_names_in_its_report(project, capsys):
    evil = project / "<img src=x onerror=alert(1)>"
    other = project / "plain"
    assert run_cli(capsys, *RUN, "--out", str(evil))[0] == 0
    assert run_cli(capsys, *RUN, "--seed", "4", "--out", str(other))[0] == 0
    assert run_cli(capsys, "compare", str(evil), str(other), "--out", str(project / "cmp"))[0] == 0
    page = (project / "cmp" / "report.html").read_text()
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page


def test_a_sweep_rerun_without_resume_keeps_unfinished_points(project, capsys):
    out = project / "sw"
    assert run_cli(capsys, *SWEEP, "--out", str(out))[0] == 0
    # as if interrupted: one point's record is gone
    (out / "points" / "point-000001.json").unlink()
    kept = snapshot(out / "points")
    status, err = run_cli(capsys, *SWEEP, "--out", str(out))
    assert status == 2 and "2 of 3 points" in err and "--resume" in err and "--fresh" in err
    assert snapshot(out / "points") == kept
    assert run_cli(capsys, *SWEEP, "--out", str(out), "--resume")[0] == 0
    assert (out / "points" / "point-000001.json").exists()
    assert run_cli(capsys, *SWEEP, "--out", str(out), "--fresh")[0] == 0


def test_a_sweep_json_alone_does_not_make_a_dir_ours(project, capsys):
    out = project / "looks_like_a_sweep"
    out.mkdir()
    (out / "sweep.json").write_text("{}")
    (out / "thesis.txt").write_text("keep\n")
    status, err = run_cli(capsys, *SWEEP, "--out", str(out))
    assert status == 2
    assert sorted(p.name for p in out.iterdir()) == ["sweep.json", "thesis.txt"]


def test_resume_refuses_points_of_another_model_version(project, capsys, monkeypatch):
    out = project / "sw"
    assert run_cli(capsys, *SWEEP, "--out", str(out))[0] == 0
    import truce_sim.sweeps.spec as spec

    monkeypatch.setattr(spec, "model_fingerprint", lambda: "another-model")
    status, err = run_cli(capsys, *SWEEP, "--out", str(out), "--resume")
    assert status == 2 and "another version of the model" in err and "--fresh" in err


@pytest.mark.parametrize("damage", everyday_first(["edited", "stray", "truncated", "garbage", "no_worlds"], 2))
def test_resume_recomputes_damaged_or_foreign_points(project, capsys, damage):
    out = project / "sw"
    assert run_cli(capsys, *SWEEP, "--out", str(out))[0] == 0
    reference = (out / "points.csv").read_bytes()
    point = out / "points" / "point-000001.json"
    if damage == "truncated":
        point.write_text(point.read_text()[:20])
    elif damage == "garbage":
        point.write_bytes(b"\x00\xff garbage")
    elif damage == "stray":
        (out / "points" / "point-000099.json").write_text(point.read_text().replace('"point": 1', '"point": 99'))
    elif damage == "edited":
        record = json.loads(point.read_text())
        record["survival_at_30"] = 0.123456
        point.write_text(json.dumps(record))
    else:
        (out / "points" / "worlds-000001.parquet").write_bytes(b"not parquet")
    (out / "points" / "point-copy.json").write_text("{}")  # a stray copy is ignored, not trusted
    status, err = run_cli(capsys, *SWEEP, "--out", str(out), "--resume")
    assert status == 0, err
    assert "Traceback" not in err
    assert (out / "points.csv").read_bytes() == reference


def test_resume_with_a_damaged_sweep_json_is_one_line(project, capsys):
    out = project / "sw"
    assert run_cli(capsys, *SWEEP, "--out", str(out))[0] == 0
    (out / "sweep.json").write_text("{not json")
    status, err = run_cli(capsys, *SWEEP, "--out", str(out), "--resume")
    assert status == 2 and len(err.strip().splitlines()) == 1 and "damaged" in err
    assert run_cli(capsys, *SWEEP, "--out", str(out), "--fresh")[0] == 0


@pytest.mark.slow  # two concurrent runs of thousands of worlds
def test_two_writers_of_one_out_dir_exactly_one_proceeds(project):
    """Two runs started together into one out dir: one finishes, the other is told in one line."""
    command = [
        sys.executable,
        str(ROOT / "run.py"),
        "run",
        "libya_2020_january",
        "-n",
        "5000",
        "--steps",
        "200",
        "-j",
        "1",
        "-q",
        "--out",
        "shared",
    ]
    procs = [
        subprocess.Popen(command, cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    results = [(p.wait(300), p.stderr.read()) for p in procs]
    statuses = sorted(status for status, _ in results)
    assert statuses == [0, 2], results
    refused = next(err for status, err in results if status == 2)
    assert (
        refused.strip() == "error: shared is being written by another truce-sim command; wait for it to finish "
        "or choose another --out"
    )
    assert (project / "shared" / "report.html").exists()


def test_a_lock_is_released_when_its_holder_dies(tmp_path):
    # SIGKILL cannot run cleanup code, so the lock must be one the kernel drops with the process
    out = tmp_path / "out"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            (
                "import sys, time\nfrom truce_sim.outputs.files import OutDir\n"
                f"o = OutDir({str(out)!r}, 'run').__enter__()\no.stage()\nprint('held', flush=True)\ntime.sleep(60)"
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(OutDirError, match="being written by another"):
        OutDir(out, "run").__enter__()
    holder.kill()
    holder.wait()
    with OutDir(out, "run") as claim:  # the lock is free again, and the killed holder's staging dir is gone
        staging = claim.stage()
        (staging / "x.txt").write_text("x")
        claim.commit()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_killed_commit_leaves_the_old_or_the_new_out_dir(tmp_path, monkeypatch):
    out = tmp_path / "out"
    for text in ("old", "new"):
        with OutDir(out, "run") as claim:
            (claim.stage() / "result.txt").write_text(text)
            if text == "new":
                # a kill between the steps of a two-step replace: the exchange makes it one step
                monkeypatch.setattr(
                    files, "_replace_in_two_steps", lambda *a: pytest.fail("the exchange rename was not used")
                )
            claim.commit()
    assert (out / "result.txt").read_text() == "new"


def test_out_dir_problems_are_found_before_the_work(tmp_path, capsys):
    read_only = tmp_path / "ro"
    read_only.mkdir()
    read_only.chmod(0o555)
    try:
        if os.access(read_only, os.W_OK):
            pytest.skip("running as a user who can write anywhere")
        status, err = run_cli(capsys, *RUN, "--out", str(read_only / "out"))
        assert status == 2 and "cannot write in" in err
    finally:
        read_only.chmod(0o755)
    status, err = run_cli(capsys, *RUN, "--out", str(tmp_path / ("x" * 256)))
    assert status == 2 and "longer than 255 bytes" in err
    status, err = run_cli(capsys, *RUN, "--out", "/proc")
    assert status == 2 and len(err.strip().splitlines()) == 1


def test_a_long_legal_name_gets_short_staging_names(tmp_path, capsys):
    out = tmp_path / ("y" * 250)
    assert run_cli(capsys, *RUN, "--out", str(out))[0] == 0
    assert (out / "report.html").exists()


def test_out_dirs_follow_the_umask(tmp_path, capsys):
    old = os.umask(0o022)
    try:
        assert run_cli(capsys, *RUN, "--out", str(tmp_path / "out"))[0] == 0
    finally:
        os.umask(old)
    assert (tmp_path / "out").stat().st_mode & 0o777 == 0o755


def test_a_killed_runs_staging_dir_is_cleaned_by_the_next_run(tmp_path, capsys):
    stale = tmp_path / f".out{files.STAGING_TAG}abc123"
    stale.mkdir()
    files.write_marker(stale, "run", [])
    (stale / "replicates.csv").write_text("half\n")
    not_ours = tmp_path / f".out{files.STAGING_TAG}zzz"  # no marker: a user's, however it is named
    not_ours.mkdir()
    assert run_cli(capsys, *RUN, "--out", str(tmp_path / "out"))[0] == 0
    assert not stale.exists() and not_ours.exists()


def test_validate_calibrate_and_discover_refuse_foreign_dirs(tmp_path, capsys):
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("x")
    for command in (["validate", "--out", str(foreign)], ["calibrate", "--out", str(foreign), "--budget", "1"]):
        status, err = run_cli(capsys, *command)
        assert status == 2 and "did not write" in err, command
    with pytest.raises(OutDirError):
        check_out_dir(foreign, "discover")
    assert (foreign / "keep.txt").read_text() == "x"


def test_the_python_api_refuses_too(tmp_path):
    import truce_sim

    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("x")
    result = truce_sim.run_ensemble(truce_sim.load_scenario("libya_2020_january"), replicates=10, steps=10)
    with pytest.raises(truce_sim.UserError, match="did not write"):
        truce_sim.write_run(result, foreign)
    assert sorted(p.name for p in foreign.iterdir()) == ["keep.txt"]


def test_small_scenario_file_by_path_still_runs(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "case.yaml").write_text(SMALL_SCENARIO)
    assert run_cli(capsys, "run", "case.yaml", "-n", "10", "-q", "-j", "1")[0] == 0
    assert (tmp_path / "results" / "base_case" / "report.html").exists()
