"""Fault injection: seeded trials that send SIGINT, SIGTERM or SIGKILL to a run or a sweep (its
main process, one of its workers, or its whole process group, as a terminal's Ctrl-C or
`kill -- -PGID` does) at a random moment of a random phase, then check what is left:

- a user's file beside the out dir is untouched;
- no process of the group outlives the main process by more than a few seconds;
- a run's earlier out dir is intact, or the new one is complete (and exactly right);
- a sweep finishes with --resume, to a points.csv byte-identical to an uninterrupted sweep's;
- the exit status and the one-line message match what happened, with no traceback.

A trial's moment is a phase (start-up, computing, writing) seen from outside through the files
the command makes, plus a random delay, so that every phase is hit however busy the machine is.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

import truce_sim.core.version
import truce_sim.sweeps.runner
from truce_sim.cli import main
from truce_sim.outputs.files import read_marker

from .test_faults import WORKER_DIED, files_of, finish, start, stderr_of, survivors, workers_of

SEEDS = range(1518, 1538)  # 20 trials that, between them, hit every signal, target and phase
RUN = ["run", "libya_2020_january", "-n", "3000", "--steps", "90", "--out", "OUT", "-q"]
OLD_RUN = ["run", "libya_2020_january", "-n", "300", "--steps", "20", "-q", "-j", "1"]
SWEEP = [
    "sweep",
    "libya_2020_january",
    "--vary",
    "mediator.monitoring=0:1:12",
    "-n",
    "200",
    "--steps",
    "60",
    "--out",
    "SW",
    "-q",
]
THESIS = "Chapter 1. Why truces fail.\n"
INTERRUPTED = {
    "run": "interrupted: nothing was written",
    "sweep": "interrupted: the points finished so far are saved; rerun with --resume to finish",
}
PHASES = ("start-up", "computing", "writing")


@dataclass(frozen=True)
class Trial:
    seed: int
    command: str
    workers: int
    signum: signal.Signals
    target: str  # main, worker, or group
    phase: str
    delay: float

    @classmethod
    def draw(cls, seed: int) -> Trial:
        rng = random.Random(seed)
        command = rng.choice(["run", "sweep"])
        workers = rng.choice([1, 2])
        signum = rng.choice([signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
        target = rng.choice(["main", "group", "worker"] if workers == 2 else ["main", "group"])
        phase = rng.choice(PHASES)
        delay = round(rng.uniform(0.0, 3.0 if phase == "start-up" else 1.0), 2)
        return cls(seed, command, workers, signum, target, phase, delay)

    def __str__(self) -> str:
        return (
            f"{self.seed:02d}-{self.command}-j{self.workers}-{self.signum.name}-{self.target}-"
            f"{self.phase}+{self.delay}s"
        )

    @property
    def kills_main(self) -> bool:
        return self.signum == signal.SIGKILL and self.target != "worker"


def _phase_reached(trial: Trial, cwd: Path) -> bool:
    """Whether the command is in ``trial.phase`` yet, judged by the files it has made."""
    if trial.phase == "start-up":
        return True
    if trial.command == "run":  # the staging dir is made just before the worlds are computed
        return any(cwd.glob(".OUT.truce-sim-staging.*" + ("" if trial.phase == "computing" else "/summary.json")))
    if trial.phase == "computing":
        return (cwd / "SW" / "points").is_dir()
    return (cwd / "SW" / "points.csv").exists()


def _inject(trial: Trial, proc, cwd: Path) -> bool:
    """Send the trial's signal at its moment; False when the command finished before."""
    while not _phase_reached(trial, cwd) and proc.poll() is None:
        time.sleep(0.01)
    time.sleep(trial.delay)
    if proc.poll() is not None:
        return False
    if trial.target == "group":
        os.killpg(proc.pid, trial.signum)
    elif trial.target == "main":
        os.kill(proc.pid, trial.signum)
    else:
        while not (workers := workers_of(proc.pid)) and proc.poll() is None:
            time.sleep(0.01)
        if not workers:
            return False
        try:
            os.kill(random.Random(trial.seed).choice(workers), trial.signum)
        except ProcessLookupError:  # it left between the listing and the signal: the run is ending
            return False
    return True


def _expected_status(trial: Trial, sent: bool) -> set[int]:
    if not sent or (trial.target == "worker" and trial.signum == signal.SIGINT):  # workers ignore Ctrl-C
        return {0}
    if trial.kills_main:
        return {0, -signal.SIGKILL}
    if trial.target == "worker":  # killed mid-work: one line, exit 1; killed while idle: unnoticed
        return {0, 1}
    return {0, 128 + trial.signum}


@pytest.fixture(scope="module")
def references(tmp_path_factory):
    """Computed once, in this process: an earlier run's out dir for the runs to replace, the
    replicates.csv every completed run must write, and the points.csv of an uninterrupted sweep."""
    base = tmp_path_factory.mktemp("references")
    assert main([*OLD_RUN, "--out", str(base / "old")]) == 0
    assert main([*RUN[: RUN.index("--out")], "--out", str(base / "new"), "-j", "1", "-q"]) == 0
    assert _sweep([*SWEEP[: SWEEP.index("--out")], "--out", str(base / "sweep"), "-j", "1", "-q"]) == 0
    return {
        "old": base / "old",
        "replicates": (base / "new" / "replicates.csv").read_bytes(),
        "points": (base / "sweep" / "points.csv").read_bytes(),
    }


def _sweep(argv: list[str]) -> int:
    """A sweep in this process, without its figures and report (which points.csv never depends on)."""
    # the model's fingerprint hashes its source files, which may have changed since this process
    # first hashed them: hash them afresh, as the command's own process did
    truce_sim.core.version.model_fingerprint.cache_clear()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(truce_sim.sweeps.runner, "analyse_sweep", lambda result, **_: {})
        return main(argv)


def _check_run(trial: Trial, cwd: Path, status: int, references: dict) -> None:
    out = cwd / "OUT"
    old_intact = out.is_dir() and files_of(out) == files_of(references["old"])
    marker = read_marker(out) if out.is_dir() else None
    new_complete = (
        marker is not None
        and marker["kind"] == "run"
        and (out / "report.html").is_file()
        and all((out / entry).exists() for entry in marker["entries"])
        and (out / "replicates.csv").read_bytes() == references["replicates"]
    )
    if status == 0:
        assert new_complete, "a finished run left an incomplete out dir"
    elif not trial.kills_main:
        assert old_intact, "a stopped run damaged the earlier out dir"
    else:
        assert old_intact or new_complete, "the out dir is neither the old one nor a complete new one"
    left = {p.name for p in cwd.iterdir()} - {"thesis.txt", "stderr.txt", "OUT"}
    if trial.kills_main:  # a killed command cannot tidy up; the next one into this directory does
        left = {name for name in left if not name.startswith(".OUT.truce-sim")}
    assert not left, f"left behind: {sorted(left)}"


def _check_sweep(trial: Trial, cwd: Path, status: int, references: dict) -> None:
    sw = cwd / "SW"
    if status == 0:
        assert (sw / "report.html").is_file() and (sw / "points.csv").read_bytes() == references["points"]
    left = {p.name for p in cwd.iterdir()} - {"thesis.txt", "stderr.txt", "SW"}
    if trial.kills_main:
        left.discard(".SW.truce-sim.lock")
    assert not left, f"left behind: {sorted(left)}"
    assert _sweep([*SWEEP[: SWEEP.index("--out")], "--out", str(sw), "--resume", "-j", "1", "-q"]) == 0
    assert (sw / "points.csv").read_bytes() == references["points"], "the resumed sweep differs from a whole one"


@pytest.mark.slow
@pytest.mark.parametrize("trial", [Trial.draw(seed) for seed in SEEDS], ids=str)
def test_a_signal_at_a_random_moment(trial, tmp_path, references):
    (tmp_path / "thesis.txt").write_text(THESIS)
    if trial.command == "run":
        shutil.copytree(references["old"], tmp_path / "OUT")
    proc = start([*(RUN if trial.command == "run" else SWEEP), "-j", str(trial.workers)], tmp_path)
    try:
        sent = _inject(trial, proc, tmp_path)
    finally:
        status = finish(proc, timeout=120)
    assert survivors(proc.pid, grace=5) == [], "processes outlived the command by more than 5 s"
    err = stderr_of(tmp_path)
    lines = err.strip().splitlines()
    assert status in _expected_status(trial, sent), f"exit status {status}; stderr: {err}"
    if not trial.kills_main:
        assert "Traceback" not in err, err
    if status == 0:
        assert not lines, err
    elif status == 1:
        assert len(lines) == 1 and lines[0].startswith(f"error: {WORKER_DIED}"), err
    elif status > 128:
        assert lines == [INTERRUPTED[trial.command]], err
    assert (tmp_path / "thesis.txt").read_text() == THESIS, "a user's file was changed"
    (_check_run if trial.command == "run" else _check_sweep)(trial, tmp_path, status, references)
