"""Faults: interrupted runs leave nothing half-written, disk errors are told plainly, runs too
large for the machine are refused before they start, and worker processes never outlive the
command or print over its one-line message."""

import contextlib
import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import truce_sim as sim
import truce_sim.outputs.run_dir
import truce_sim.runs.resources
from truce_sim.cli import main

from .conftest import ROOT

LIBYA = str(ROOT / "scenarios" / "libya_2020_january.yaml")
WORKER_DIED = "a worker process died (killed by the system, perhaps out of memory)"


# ---- processes, read from /proc ------------------------------------------------------------


def proc_stat(pid: int) -> tuple[str, int, int] | None:
    """(state, parent pid, process group) of a process, or None once it is gone (reaped)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    state, ppid, pgrp = text[text.rindex(")") + 2 :].split()[:3]  # the name in () may hold spaces
    return state, int(ppid), int(pgrp)


def running(pid: int) -> bool:
    stat = proc_stat(pid)
    return stat is not None and stat[0] not in "ZX"  # a zombie has exited; only its reaping is pending


def group_members(pgid: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        stat = proc_stat(int(entry.name)) if entry.name.isdigit() else None
        if stat is not None and stat[2] == pgid and stat[0] not in "ZX":
            members.append(int(entry.name))
    return members


def survivors(pgid: int, grace: float = 5.0) -> list[str]:
    """Processes of the group still running ``grace`` seconds from now (their command lines)."""
    deadline = time.time() + grace
    while (left := group_members(pgid)) and time.time() < deadline:
        time.sleep(0.1)
    return [cmdline(pid) for pid in left if running(pid)]


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def children(pid: int) -> list[int]:
    found = []
    for path in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):  # the thread ended
            found += [int(child) for child in path.read_text().split()]
    return found


def workers_of(pid: int) -> list[int]:
    """The pool workers among a process's children (not multiprocessing's resource tracker)."""
    return [child for child in children(pid) if "spawn_main" in cmdline(child)]


# ---- the command line in a process of its own ----------------------------------------------


def start(args, cwd: Path) -> subprocess.Popen:
    """run.py ARGS in its own session and process group (as a terminal starts a job), in ``cwd``,
    its stderr in cwd/stderr.txt."""
    with open(cwd / "stderr.txt", "w") as err:
        return subprocess.Popen(
            [sys.executable, str(ROOT / "run.py"), *args],
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,
        )


def stderr_of(cwd: Path) -> str:
    return (cwd / "stderr.txt").read_text().replace("\r", "\n")


def wait_until(proc: subprocess.Popen, ready, what: str, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while not ready() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    assert proc.poll() is None, f"finished before {what}: make the run larger"
    assert ready(), f"no {what} within {timeout:g} s"


def finish(proc: subprocess.Popen, timeout: float = 60) -> int:
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail(f"the command did not stop within {timeout:g} s")


def _interrupt(args, tmp_path, marker: str):
    """Start the CLI in its own process group, wait for `marker` on stderr, send Ctrl-C (SIGINT to
    the whole group, as a terminal does), return (exit status, stderr)."""
    proc = start(args, tmp_path)
    wait_until(proc, lambda: marker in stderr_of(tmp_path), repr(marker))
    os.killpg(proc.pid, signal.SIGINT)
    return finish(proc), stderr_of(tmp_path)


@pytest.fixture(scope="module")
def old_run(tmp_path_factory):
    """A complete earlier run's out dir, to be copied where a command will try to replace it."""
    out = tmp_path_factory.mktemp("old") / "out"
    assert main(["run", LIBYA, "-n", "50", "--steps", "20", "--out", str(out), "-q", "-j", "1"]) == 0
    return out


def files_of(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.mark.slow  # signals to running processes
@pytest.mark.parametrize("workers", ["1", "2"])
def test_ctrl_c_during_a_run_leaves_no_out_dir(tmp_path, workers):
    rc, err = _interrupt(
        ["run", LIBYA, "-n", "400000", "--steps", "365", "--batch-size", "1000", "--out", "out", "-j", workers],
        tmp_path,
        "world-days",
    )
    assert rc == 130
    assert err.strip().splitlines()[-1] == "interrupted: nothing was written"
    assert "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stderr.txt"], "partial results were left behind"


@pytest.mark.slow  # signals to running processes
def test_ctrl_c_during_a_sweep_keeps_finished_points(tmp_path):
    rc, err = _interrupt(
        ["sweep", LIBYA, "--vary", "mediator.monitoring=0:1:60", "-n", "400", "--out", "sw", "-j", "1"],
        tmp_path,
        "points",
    )
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

    monkeypatch.setattr(truce_sim.outputs.run_dir, "write_run_files", full)
    monkeypatch.chdir(tmp_path)
    rc = main(["run", LIBYA, "-n", "20", "--steps", "10", "--out", "out", "-q", "-j", "1"])
    err = capsys.readouterr().err
    assert rc == 1
    assert len(err.strip().splitlines()) == 1 and "No space left on device" in err and "--out" in err
    assert list(tmp_path.iterdir()) == [], "a half-written out dir or temporary dir was left"


def test_an_out_dir_that_cannot_be_written(tmp_path, capsys):
    rc = main(["run", LIBYA, "-n", "10", "--steps", "5", "--out", "/proc/truce_sim_results", "-q", "-j", "1"])
    err = capsys.readouterr().err
    # refused as the user's choice of --out, before any work (an out dir must be lockable)
    assert rc == 2 and len(err.strip().splitlines()) == 1 and err.startswith("error: --out /proc/truce_sim_results")


def test_an_existing_out_dir_survives_a_failed_rewrite(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["run", LIBYA, "-n", "20", "--steps", "10", "--out", "out", "-q", "-j", "1"]) == 0
    before = {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir() if p.is_file()}

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(truce_sim.outputs.run_dir, "write_run_files", full)
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
    monkeypatch.setattr(
        truce_sim.runs.resources, "available_memory", lambda: 256 * 2**20
    )  # a machine with 256 MiB free
    rc = main(["run", LIBYA, "-n", "2000000", "--steps", "365", "--out", str(tmp_path / "o"), "-q"])
    err = capsys.readouterr().err
    assert rc == 2 and "GiB of memory" in err and "lower --replicates" in err
    assert not (tmp_path / "o").exists()


def test_the_memory_estimate_grows_with_worlds_days_and_paths():
    scenario = sim.load_scenario(LIBYA)
    small = truce_sim.runs.resources.estimate_run_bytes(scenario, 1000, 100, 1, 1000)
    assert truce_sim.runs.resources.estimate_run_bytes(scenario, 100_000, 100, 1, 10_000) > small
    assert truce_sim.runs.resources.estimate_run_bytes(scenario, 1000, 1000, 1, 1000) > small
    assert truce_sim.runs.resources.estimate_run_bytes(scenario, 1000, 100, 1, 1000, keep_paths=True) > small


# ---- signals and worker processes ------------------------------------------------------------


@pytest.mark.slow  # signals to running processes
@pytest.mark.parametrize("workers", ["1", "2"])
def test_sigterm_is_handled_like_ctrl_c(tmp_path, old_run, workers):
    shutil.copytree(old_run, tmp_path / "out")
    # small batches: the progress bar, shown once the run has computed for a second, comes soon
    proc = start(
        ["run", LIBYA, "-n", "400000", "--steps", "365", "--batch-size", "1000", "--out", "out", "-j", workers],
        tmp_path,
    )
    wait_until(proc, lambda: "world-days" in stderr_of(tmp_path), "the run started")
    proc.terminate()  # the main process only, as kill(1) or a batch system sends it
    assert finish(proc) == 128 + signal.SIGTERM
    err = stderr_of(tmp_path)
    assert err.strip().splitlines()[-1] == "interrupted: nothing was written" and "Traceback" not in err
    assert survivors(proc.pid) == []
    assert files_of(tmp_path / "out") == files_of(old_run), "the earlier results were damaged"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "stderr.txt"], "a staging dir or lock was left"


@pytest.mark.slow  # signals to running processes
def test_workers_leave_when_the_parent_is_killed(tmp_path):
    proc = start(
        ["run", LIBYA, "-n", "400000", "--steps", "365", "--batch-size", "1000", "--out", "out", "-j", "2"], tmp_path
    )
    wait_until(proc, lambda: "world-days" in stderr_of(tmp_path), "the run started")
    assert len(workers_of(proc.pid)) == 2
    helpers = children(proc.pid)
    assert any("resource_tracker" in cmdline(pid) for pid in helpers)  # so its end is checked too
    proc.kill()  # as the OOM killer does: no clean-up in the parent at all
    assert finish(proc) == -signal.SIGKILL
    assert survivors(proc.pid, grace=5) == [], "worker or tracker processes outlived their parent"


def test_an_interrupted_exit_stops_the_pools_first(tmp_path):
    """entry() leaves an interrupted command with os._exit, which skips every exit handler: the
    pools' workers must be terminated and reaped before, not left to notice the parent is gone."""
    script = (
        "import os\n"
        "import truce_sim.cli as cli\n"
        "from truce_sim.runs import executors\n"
        "def interrupted_command(argv=None):\n"
        "    list(executors.LocalPool(2).run(os.getpid, [(i, ()) for i in range(4)]))\n"
        "    print(*executors._POOLS[2]._processes, flush=True)\n"
        "    return 130\n"
        "cli.main = interrupted_command\n"
        "cli.entry()\n"
    )
    with open(tmp_path / "stdout.txt", "w") as out, open(tmp_path / "stderr.txt", "w") as err:  # files: no
        # pipe for a surviving worker to hold open
        proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, stdout=out, stderr=err, timeout=120)
    gone = {pid: proc_stat(pid) for pid in map(int, (tmp_path / "stdout.txt").read_text().split())}  # at once,
    # before the workers' own poll of their parent could end them
    err = stderr_of(tmp_path)
    assert proc.returncode == 130, err
    assert len(gone) == 2 and all(stat is None for stat in gone.values()), f"workers not reaped: {gone}"
    assert "Traceback" not in err and "warning" not in err.lower(), err


@pytest.mark.slow  # signals to running processes
@pytest.mark.parametrize("command", ["run", "sweep"])
def test_a_killed_worker_is_one_line_and_writes_nothing(tmp_path, old_run, command):
    if command == "run":
        shutil.copytree(old_run, tmp_path / "out")
        args = ["run", LIBYA, "-n", "400000", "--steps", "365", "--out", "out", "-j", "2", "-q"]
    else:
        args = ["sweep", LIBYA, "--vary", "mediator.monitoring=0:1:60", "-n", "2000", "--out", "out", "-j", "2", "-q"]
    proc = start(args, tmp_path)
    wait_until(proc, lambda: len(workers_of(proc.pid)) == 2, "two workers")
    time.sleep(1)
    os.kill(workers_of(proc.pid)[0], signal.SIGKILL)  # as the OOM killer does
    assert finish(proc) == 1
    err = stderr_of(tmp_path)
    assert len(err.strip().splitlines()) == 1 and err.startswith(f"error: {WORKER_DIED}"), err
    assert "--workers" in err and "--batch-size" in err
    assert survivors(proc.pid) == []
    if command == "run":
        assert files_of(tmp_path / "out") == files_of(old_run), "the earlier results were damaged"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "stderr.txt"]
    else:
        assert "--resume" in err
        assert not (tmp_path / "out" / "points.csv").exists()


@pytest.mark.slow  # signals to running processes
def test_ctrl_c_while_writing_prints_no_worker_traceback(tmp_path):
    """Ctrl-C reaches every process of the group; the workers, idle while the parent writes its
    files, leave it to the parent."""
    proc = start(["run", LIBYA, "-n", "2000", "--steps", "30", "--out", "out", "-j", "2", "-q"], tmp_path)
    wait_until(proc, lambda: any(tmp_path.glob(".out.truce-sim-staging.*/summary.json")), "the write phase")
    assert len(workers_of(proc.pid)) == 2
    os.killpg(proc.pid, signal.SIGINT)
    assert finish(proc) == 130
    err = stderr_of(tmp_path)
    assert err.strip() == "interrupted: nothing was written", err
    assert survivors(proc.pid) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stderr.txt"]
