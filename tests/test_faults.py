"""Faults: interrupted runs leave nothing half-written, disk errors are told plainly, and runs
too large for the machine are refused before they start."""
import errno
import json
import os
import signal
import subprocess
import sys
import time

import pytest

import sim
import sim.resources
import sim.results
from sim.cli import main

from .conftest import ROOT

LIBYA = str(ROOT / "scenarios" / "libya_2020_january.yaml")


def _interrupt(args, tmp_path, marker: str):
    """Start the CLI in its own process group, wait for `marker` on stderr, send Ctrl-C (SIGINT to
    the whole group, as a terminal does), return (exit status, stderr)."""
    log = tmp_path / "stderr.txt"
    with open(log, "w") as err:
        proc = subprocess.Popen([sys.executable, str(ROOT / "run.py"), *args], cwd=tmp_path, stdout=subprocess.DEVNULL,
                                stderr=err, start_new_session=True)
        deadline = time.time() + 120
        while marker not in log.read_text() and proc.poll() is None and time.time() < deadline:
            time.sleep(0.2)
        assert proc.poll() is None, "finished before it could be interrupted: make the run larger"
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            pytest.fail("the run did not stop within 60 s of Ctrl-C")
    return proc.returncode, log.read_text().replace("\r", "\n")


@pytest.mark.parametrize("workers", ["1", "2"])
def test_ctrl_c_during_a_run_leaves_no_out_dir(tmp_path, workers):
    rc, err = _interrupt(["run", LIBYA, "-n", "400000", "--steps", "365", "--out", "out", "-j", workers],
                         tmp_path, "world-days")
    assert rc == 130
    assert err.strip().splitlines()[-1] == "interrupted: nothing was written"
    assert "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stderr.txt"], "partial results were left behind"


def test_ctrl_c_during_a_sweep_keeps_finished_points(tmp_path):
    rc, err = _interrupt(["sweep", LIBYA, "--vary", "mediator.monitoring=0:1:60", "-n", "400", "--out", "sw", "-j", "1"],
                         tmp_path, "points")
    assert rc == 130 and "Traceback" not in err
    assert "--resume" in err.strip().splitlines()[-1]
    done = list((tmp_path / "sw" / "points").glob("point-*.json"))
    assert 0 < len(done) < 60
    for point in done:  # every point on disk is whole: its record parses and its worlds are there
        record = json.loads(point.read_text())
        assert (point.parent / f"worlds-{record['point']:06d}.parquet").exists()


def test_full_disk_is_one_line_and_leaves_nothing(tmp_path, monkeypatch, capsys):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / ".out.x" / "summary.json"))

    monkeypatch.setattr(sim.results, "_write_files", full)
    monkeypatch.chdir(tmp_path)
    rc = main(["run", LIBYA, "-n", "20", "--steps", "10", "--out", "out", "-q", "-j", "1"])
    err = capsys.readouterr().err
    assert rc == 1
    assert len(err.strip().splitlines()) == 1 and "No space left on device" in err and "--out" in err
    assert list(tmp_path.iterdir()) == [], "a half-written out dir or temporary dir was left"


def test_an_out_dir_that_cannot_be_written(tmp_path, capsys):
    rc = main(["run", LIBYA, "-n", "10", "--steps", "5", "--out", "/proc/truce_sim_results", "-q", "-j", "1"])
    err = capsys.readouterr().err
    assert rc == 1 and len(err.strip().splitlines()) == 1 and err.startswith("error: cannot write the results")


def test_an_existing_out_dir_survives_a_failed_rewrite(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["run", LIBYA, "-n", "20", "--steps", "10", "--out", "out", "-q", "-j", "1"]) == 0
    before = {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir() if p.is_file()}

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(sim.results, "_write_files", full)
    assert main(["run", LIBYA, "-n", "30", "--steps", "10", "--out", "out", "-q", "-j", "1"]) == 1
    after = {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir() if p.is_file()}
    assert before == after, "the earlier results were damaged"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_too_many_world_days_are_refused(tmp_path, capsys):
    rc = main(["run", LIBYA, "-n", "10000000", "--steps", "3650", "--out", str(tmp_path / "o"), "-q"])
    err = capsys.readouterr().err
    assert rc == 2 and "world-days" in err and "--replicates" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_a_run_larger_than_memory_is_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sim.resources, "available_memory", lambda: 256 * 2**20)  # a machine with 256 MiB free
    rc = main(["run", LIBYA, "-n", "2000000", "--steps", "365", "--out", str(tmp_path / "o"), "-q"])
    err = capsys.readouterr().err
    assert rc == 2 and "GiB of memory" in err and "lower --replicates" in err
    assert not (tmp_path / "o").exists()


def test_the_memory_estimate_grows_with_worlds_days_and_paths():
    scenario = sim.load_scenario(LIBYA)
    small = sim.resources.estimate_run_bytes(scenario, 1000, 100, 1, 1000)
    assert sim.resources.estimate_run_bytes(scenario, 100_000, 100, 1, 10_000) > small
    assert sim.resources.estimate_run_bytes(scenario, 1000, 1000, 1, 1000) > small
    assert sim.resources.estimate_run_bytes(scenario, 1000, 100, 1, 1000, keep_paths=True) > small
