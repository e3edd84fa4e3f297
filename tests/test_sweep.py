"""Parameter sweeps end to end: designs, metrics, determinism, Dask, kill and resume, discovery, bad input.

Ensembles are tiny (tens of worlds, tens of days) so the file runs in well under two minutes on
two cores; the two kill tests use a slower sweep (hundreds of days) so that there is time to kill.
"""

import contextlib
import itertools
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from truce_sim.sweeps.runner import analyse_sweep, run_sweep
from truce_sim.sweeps.spec import load_sweep, sweep_from_options

from .conftest import ROOT, SCENARIOS, everyday_first

STALEMATE = SCENARIOS / "stalemate_joint_pressure.yaml"
LIBYA = "scenarios/libya_2020_january.yaml"
PRESSURE, MONITORING, COHESION = "backers.patron_north.pressure", "mediator.monitoring", "factions.north.cohesion"
BOUNDS = {PRESSURE: (0.0, 1.0), MONITORING: (0.0, 1.0), COHESION: (0.3, 0.9)}
FINITE_METRICS = ["survival_at_30", "collapse_share", "mean_violations_per_day"]

# a 3 x 3 grid of 40 worlds over 40 days: about a second
TINY = [
    "sweep",
    "scenarios/stalemate_joint_pressure.yaml",
    "--vary",
    f"{PRESSURE}=0:1:3",
    "--vary",
    f"{MONITORING}=0,0.5,1",
    "-n",
    "40",
    "--steps",
    "40",
    "--seed",
    "5",
    "-q",
]
# 16 points of 100 worlds over 600 days: a quarter of a second a point, long enough to kill mid-way
SLOW = [
    "sweep",
    "scenarios/stalemate_joint_pressure.yaml",
    "--vary",
    f"{PRESSURE}=0:1:4",
    "--vary",
    f"{MONITORING}=0:1:4",
    "-n",
    "100",
    "--steps",
    "600",
    "--seed",
    "3",
    "-q",
]
SLOW_POINTS = 16


def cli(*args, cwd=ROOT, timeout=300):
    return subprocess.run(
        [sys.executable, str(ROOT / "run.py"), *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def start_cli(args, log: Path) -> subprocess.Popen:
    with open(log, "wb") as out:
        return subprocess.Popen(
            [sys.executable, str(ROOT / "run.py"), *map(str, args)], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT
        )


def point_files(out: Path) -> list[Path]:
    return sorted((out / "points").glob("point-*.json")) if (out / "points").is_dir() else []


def manifest(out: Path) -> dict:
    return json.loads((out / "sweep.json").read_text())["manifest"]


def one_error_line(proc) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error:"), lines[0]
    return lines[0]


# ----------------------------------------------------------------------------------------------
# 1. Designs, via the Python API
# ----------------------------------------------------------------------------------------------
def _sweep_file(tmp: Path, design: str, n: int) -> Path:
    """A sweep file with uniform ranges over three levers; its base path is relative to it."""
    base = os.path.relpath(STALEMATE, tmp)
    vary = "\n".join(f"  {p}: {{uniform: [{lo}, {hi}]}}" for p, (lo, hi) in BOUNDS.items())
    path = tmp / f"{design}.yaml"
    path.write_text(
        f"name: tiny_{design}\nbase: {base}\nreplicates: 30\nseed: 9\nsteps: 40\ndesign: {design}\n"
        f"n: {n}\nmetrics: [{', '.join(FINITE_METRICS)}]\nvary:\n{vary}\n"
    )
    return path


def _make_sweep(design: str, tmp: Path):
    if design == "grid":
        return sweep_from_options(
            str(STALEMATE), [f"{PRESSURE}=0:1:3", f"{MONITORING}=0,0.5,1"], "grid", replicates=40, seed=5, steps=40
        )
    if design == "lhs":
        return sweep_from_options(
            str(STALEMATE),
            [f"{p}={lo}:{hi}:2" for p, (lo, hi) in BOUNDS.items()],
            "lhs",
            n=10,
            replicates=30,
            seed=9,
            steps=40,
            metrics=FINITE_METRICS,
        )
    return load_sweep(_sweep_file(tmp, design, 4))


@pytest.fixture(scope="module")
def designed(tmp_path_factory):
    """{design: (sweep, result, written)}, each run once in process and analysed."""
    cache = {}

    def get(design):
        if design not in cache:
            tmp = tmp_path_factory.mktemp(design)
            sweep = _make_sweep(design, tmp)
            result = run_sweep(sweep, tmp / "out", workers=1)
            cache[design] = (sweep, result, analyse_sweep(result))
        return cache[design]

    return get


PLOTS = {
    "grid": ["sweep_heatmap", "sweep_lines", "hazard_ratios"],
    "lhs": ["sweep_main_effects", "hazard_ratios"],
    "sobol": ["sweep_main_effects", "sensitivity", "hazard_ratios"],
    "morris": ["sweep_main_effects", "sensitivity", "hazard_ratios"],
}


def test_grid_points_are_exactly_the_grid(designed):
    sweep, result, _ = designed("grid")
    points = pd.read_csv(result.out_dir / "points.csv")
    assert len(points) == 3 * 3 == len(sweep.points)
    assert list(points["point"]) == list(range(9))
    grid = set(itertools.product([0.0, 0.5, 1.0], [0.0, 0.5, 1.0]))
    assert set(zip(points[PRESSURE], points[MONITORING], strict=False)) == grid
    assert (points["replicates"] == 40).all() and (points["seed"] == 5).all()


def test_lhs_is_stratified_in_every_column(designed):
    sweep, result, _ = designed("lhs")
    points = pd.read_csv(result.out_dir / "points.csv")
    n = 10
    assert len(points) == n
    for path, (lo, hi) in BOUNDS.items():
        x = points[path].to_numpy(float)
        assert ((x >= lo) & (x <= hi)).all(), path
        strata = np.minimum(np.floor((x - lo) / (hi - lo) * n), n - 1).astype(int)
        assert sorted(strata) == list(range(n)), f"{path}: not one value per 1/{n} of [{lo}, {hi}]: {sorted(x)}"


def test_sobol_points_and_indices(designed):
    sweep, result, written = designed("sobol")
    d, n = 3, 4
    points = pd.read_csv(result.out_dir / "points.csv")
    assert len(points) == n * (d + 2) == 20
    for path, (lo, hi) in BOUNDS.items():
        assert points[path].between(lo, hi).all()
    indices = pd.read_csv(written["sensitivity"])
    assert {"metric", "parameter", "S1", "S1_conf", "ST", "ST_conf"} <= set(indices.columns)
    pairs = zip(indices["metric"], indices["parameter"], strict=True)
    assert sorted(pairs) == sorted(itertools.product(FINITE_METRICS, BOUNDS))
    assert indices[["S1", "S1_conf", "ST", "ST_conf"]].notna().all().all()


def test_morris_points_and_indices(designed):
    sweep, result, written = designed("morris")
    d, n, levels = 3, 4, sweep.morris_levels
    points = pd.read_csv(result.out_dir / "points.csv")
    assert len(points) == n * (d + 1) == 16
    for path, (lo, hi) in BOUNDS.items():  # Morris points lie on the levels' grid
        grid = lo + (hi - lo) * np.arange(levels) / (levels - 1)
        assert np.isclose(points[path].to_numpy()[:, None], grid[None, :]).any(axis=1).all(), path
    indices = pd.read_csv(written["sensitivity"])
    assert {"metric", "parameter", "mu_star", "sigma"} <= set(indices.columns)
    pairs = zip(indices["metric"], indices["parameter"], strict=True)
    assert sorted(pairs) == sorted(itertools.product(FINITE_METRICS, BOUNDS))
    assert (indices["mu_star"] >= 0).all() and (indices["sigma"].dropna() >= 0).all()


@pytest.mark.parametrize("design", ["grid", "lhs", "sobol", "morris"])
def test_every_design_writes_its_outputs(designed, design):
    sweep, result, written = designed(design)
    out = result.out_dir
    for name in ("points.csv", "points.parquet", "sweep.json", "hazard_ratios.csv", "report.html"):
        assert (out / name).is_file(), name
    assert ((out / "sensitivity.csv").exists()) == (design in ("sobol", "morris"))
    # the CSV and the Parquet table hold the same numbers
    csv = pd.read_csv(out / "points.csv", float_precision="round_trip")
    parquet = pd.read_parquet(out / "points.parquet")
    pd.testing.assert_frame_equal(csv, parquet, check_dtype=False)
    assert len(csv) == len(sweep.points) and csv["point"].is_unique
    spec = json.loads((out / "sweep.json").read_text())
    assert (
        spec["design"] == design
        and spec["points"] == len(sweep.points)
        and spec["fingerprint"] == sweep.full_fingerprint()
    )
    assert spec["manifest"]["computed_points"] == len(sweep.points) and spec["manifest"]["resumed_points"] == 0
    ratios = pd.read_csv(out / "hazard_ratios.csv")
    assert set(ratios["parameter"]) == set(sweep.paths)
    assert (ratios["hr_per_sd_lo"] <= ratios["hr_per_sd"]).all() and (
        ratios["hr_per_sd"] <= ratios["hr_per_sd_hi"]
    ).all()
    for stem in PLOTS[design]:
        assert (out / f"{stem}.png").is_file() and (out / f"{stem}.svg").is_file(), stem
    html = (out / "report.html").read_text()
    shown = set(re.findall(r"<img src='([^']+)'", html))
    assert {f"{stem}.png" for stem in PLOTS[design]} <= shown
    linked = re.findall(r"(?:src|href)='([^'#:]+)'", html)
    assert linked, "the report links nothing"
    missing = [name for name in linked if not (out / name).is_file()]
    assert not missing, f"report.html links files that do not exist: {missing}"


@pytest.fixture(scope="module")
def one_lever(tmp_path_factory):
    out = tmp_path_factory.mktemp("one") / "out"
    proc = cli(
        "sweep",
        STALEMATE,
        "--vary",
        f"{MONITORING}=0:1:3",
        "-n",
        "30",
        "--steps",
        "30",
        "--seed",
        "5",
        "--workers",
        "1",
        "-q",
        "--out",
        out,
    )
    return proc, out


def test_one_lever_grid_via_the_cli(one_lever):
    proc, out = one_lever
    assert proc.returncode == 0, proc.stderr
    points = pd.read_csv(out / "points.csv")
    assert list(points[MONITORING]) == [0.0, 0.5, 1.0]
    for stem in ("sweep_metrics", "hazard_ratios"):
        assert (out / f"{stem}.png").is_file() and f"<img src='{stem}.png'" in (out / "report.html").read_text()


def test_one_lever_sweep_prints_no_warning(one_lever):
    proc, _ = one_lever
    assert proc.returncode == 0
    assert proc.stderr == "", proc.stderr


# ----------------------------------------------------------------------------------------------
# 2. Metrics from first principles
# ----------------------------------------------------------------------------------------------
def test_metrics_match_the_worlds(designed):
    sweep, result, _ = designed("grid")
    out = result.out_dir
    points = pd.read_csv(out / "points.csv")
    checked = 0
    for _, point in points.iterrows():
        worlds = pd.read_parquet(out / "points" / f"worlds-{int(point['point']):06d}.parquet")
        assert list(worlds["replicate"]) == list(range(sweep.replicates))
        assert ((worlds["survival_days"] >= 0) & (worlds["survival_days"] <= sweep.steps)).all()
        assert (worlds.loc[~worlds["collapsed"], "survival_days"] == sweep.steps).all()  # censored at the horizon
        assert point["collapse_share"] == pytest.approx(worlds["collapsed"].mean(), abs=1e-6)
        assert point["mean_violations_per_day"] == pytest.approx(worlds["violations_per_truce_day"].mean(), abs=1e-6)
        if not ((~worlds["collapsed"]) & (worlds["survival_days"] < 30)).any():  # nothing censored before day 30
            assert point["survival_at_30"] == pytest.approx((worlds["survival_days"] > 30).mean(), abs=1e-4)
            checked += 1
    assert checked == len(points)
    assert points["survival_at_30"].nunique() > 1, "the levers changed nothing: a weak test"
    for m in sweep.metrics:
        v, lo, hi = points[m], points[f"{m}_lo"], points[f"{m}_hi"]
        known = v.notna() & lo.notna() & hi.notna()
        assert (lo[known] <= v[known] + 1e-9).all() and (v[known] <= hi[known] + 1e-9).all(), m
        if m != "median_survival_days":
            assert known.all(), f"{m} has missing values"
        if m.startswith(("survival_at_", "collapse_share")):
            assert ((lo[known] >= 0) & (hi[known] <= 1)).all(), m


# ----------------------------------------------------------------------------------------------
# 3. Common random numbers and determinism
# ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("tiny") / "ref"
    proc = cli(*TINY, "--workers", "1", "--out", out)
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.fixture(scope="module")
def slow_reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("slow") / "ref"
    proc = cli(*SLOW, "--workers", "1", "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert len(pd.read_csv(out / "points.csv")) == SLOW_POINTS
    return out


@pytest.mark.slow  # two full sweeps
def test_rerun_is_byte_identical(tiny_reference, tmp_path):
    reference = (tiny_reference / "points.csv").read_bytes()
    out = tmp_path / "again"
    assert cli(*TINY, "--workers", "1", "--out", out).returncode == 0
    assert (out / "points.csv").read_bytes() == reference
    # a rerun of a finished sweep into the same out dir starts afresh, with the same numbers
    proc = cli(*TINY, "--workers", "1", "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert manifest(out)["computed_points"] == 9
    assert (out / "points.csv").read_bytes() == reference


@pytest.mark.slow  # clusters, kills and many tasks
def test_workers_and_batches_never_change_a_point(tiny_reference, tmp_path):
    out = tmp_path / "two"
    proc = cli(*TINY, "--workers", "2", "--batch-size", "7", "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert (out / "points.csv").read_bytes() == (tiny_reference / "points.csv").read_bytes()
    assert manifest(out)["executor"] == "local pool of 2"


def test_example_sweep_files_load():
    grid = load_sweep(ROOT / "sweeps" / "libya_russia_pressure_monitoring.yaml")
    assert grid.design == "grid" and len(grid.points) == 6 * 3
    sobol = load_sweep(ROOT / "sweeps" / "libya_levers_sobol.yaml")
    assert sobol.design == "sobol" and len(sobol.points) == 32 * (5 + 2)
    assert Path(sobol.base_path).resolve() == (ROOT / LIBYA).resolve()


# ----------------------------------------------------------------------------------------------
# 4. Dask: a real scheduler and workers as separate processes
# ----------------------------------------------------------------------------------------------
DASK = Path(sys.executable).with_name("dask")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """`dask scheduler` and `dask worker` processes, each in its own process group (worker = nanny + child)."""

    def __init__(self, tmp: Path):
        self.tmp, self.procs = tmp, {}
        self.port = _free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"

    def _spawn(self, name: str, args: list[str]) -> None:
        with open(self.tmp / f"{name}.log", "wb") as log:
            self.procs[name] = subprocess.Popen(
                [str(DASK), *args], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name}:\n" + "\n".join(p.read_text(errors="replace").splitlines()[-8:])
            for p in sorted(self.tmp.glob("*.log"))
        )

    def start(self, workers: int = 2) -> None:
        if not DASK.exists():
            pytest.skip(f"dask cannot start: no {DASK}")
        self._spawn("scheduler", ["scheduler", "--host", "127.0.0.1", "--port", str(self.port), "--no-dashboard"])
        deadline = time.monotonic() + 60
        while True:
            if self.procs["scheduler"].poll() is not None:
                pytest.skip(
                    f"dask cannot start: the scheduler exited with {self.procs['scheduler'].returncode}\n{self.logs()}"
                )
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.skip(f"dask cannot start: the scheduler accepts no connection in 60 s\n{self.logs()}")
                time.sleep(0.1)
        for k in range(workers):
            self._spawn(
                f"worker{k}",
                [
                    "worker",
                    self.address,
                    "--nworkers",
                    "1",
                    "--nthreads",
                    "1",
                    "--no-dashboard",
                    "--local-directory",
                    str(self.tmp / f"scratch{k}"),
                ],
            )
        from distributed import Client

        try:
            with Client(self.address, timeout="30s") as client:
                client.wait_for_workers(workers, timeout=60)
        except (OSError, TimeoutError) as exc:
            pytest.skip(f"dask cannot start: {workers} workers did not join ({exc})\n{self.logs()}")

    def worker_count(self) -> int:
        from distributed import Client

        with Client(self.address, timeout="30s") as client:
            return len(client.scheduler_info(n_workers=-1)["workers"])

    def kill(self, name: str) -> None:
        proc = self.procs[name]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # the group this test started: nanny and worker alike
        proc.wait(timeout=30)

    def close(self) -> None:
        for name in reversed(list(self.procs)):
            self.kill(name)


@pytest.fixture
def dask_cluster(tmp_path):
    cluster = Cluster(tmp_path)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.close()


@pytest.mark.slow  # clusters, kills and many tasks
def test_dask_scheduler_and_local_cluster_match_a_local_run(dask_cluster, tiny_reference, tmp_path):
    reference = (tiny_reference / "points.csv").read_bytes()
    remote = tmp_path / "remote"
    proc = cli(*TINY, "--scheduler", dask_cluster.address, "--out", remote)
    assert proc.returncode == 0, proc.stderr + dask_cluster.logs()
    assert (remote / "points.csv").read_bytes() == reference
    assert manifest(remote)["executor"] == f"dask cluster at {dask_cluster.address}"
    local = tmp_path / "dask_local"
    proc = cli(*TINY, "--dask-local", "2", "--out", local)
    assert proc.returncode == 0, proc.stderr
    assert (local / "points.csv").read_bytes() == reference
    assert manifest(local)["executor"].startswith("dask cluster at tcp://127.0.0.1:")


@pytest.mark.slow  # clusters, kills and many tasks
def test_dask_survives_a_killed_worker(dask_cluster, slow_reference, tmp_path):
    out = tmp_path / "killed"
    proc = start_cli([*SLOW, "--scheduler", dask_cluster.address, "--out", out], tmp_path / "sweep.log")
    try:
        deadline = time.monotonic() + 120
        while not point_files(out) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert proc.poll() is None, "the sweep ended before a worker could be killed: make it slower"
        dask_cluster.kill("worker0")
        done_at_kill = len(point_files(out))
        assert 1 <= done_at_kill < SLOW_POINTS
        rc = proc.wait(timeout=240)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert rc == 0, (tmp_path / "sweep.log").read_text() + dask_cluster.logs()
    assert dask_cluster.worker_count() == 1, "the killed worker came back: the kill proved nothing"
    points = pd.read_csv(out / "points.csv")
    assert sorted(points["point"]) == list(range(SLOW_POINTS)) and points["point"].is_unique
    assert (out / "points.csv").read_bytes() == (slow_reference / "points.csv").read_bytes()


# ----------------------------------------------------------------------------------------------
# 5. Kill and resume
# ----------------------------------------------------------------------------------------------
@pytest.mark.slow  # clusters, kills and many tasks
def test_killed_sweep_resumes_to_the_same_table(slow_reference, tmp_path):
    out = tmp_path / "resumed"
    proc = start_cli([*SLOW, "--workers", "1", "--out", out], tmp_path / "sweep.log")
    try:
        deadline = time.monotonic() + 120
        while len(point_files(out)) < 2 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert proc.poll() is None, "the sweep ended before it could be killed: make it slower"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    done = point_files(out)
    assert 2 <= len(done) < SLOW_POINTS
    assert not (out / "points.csv").exists(), "a killed sweep left a final table"
    for path in (out / "points").iterdir():  # finished points and hidden temporaries only
        assert path.name.startswith(".") or re.fullmatch(r"(point-\d{6}\.json|worlds-\d{6}\.parquet)", path.name), path
    for path in done:
        record = json.loads(path.read_text())  # never half written
        assert record["point"] == int(path.stem.split("-")[1])
        assert len(pd.read_parquet(out / "points" / f"worlds-{record['point']:06d}.parquet")) == 100

    proc = cli(*SLOW, "--workers", "1", "--out", out, "--resume")
    assert proc.returncode == 0, proc.stderr
    m = manifest(out)
    assert m["resumed_points"] == len(done) and m["computed_points"] == SLOW_POINTS - len(done) < SLOW_POINTS
    assert (out / "points.csv").read_bytes() == (slow_reference / "points.csv").read_bytes()

    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    changed = [a if a != "3" else "4" for a in SLOW]  # another seed: another sweep
    assert changed != SLOW
    line = one_error_line(cli(*changed, "--workers", "1", "--out", out, "--resume"))
    assert "--resume" in line and "different sweep" in line
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before, "a refused resume changed files"


@pytest.mark.slow  # two sweeps
def test_resume_accepts_the_same_scenario_by_another_path(tiny_reference, tmp_path):
    out = tmp_path / "copy"
    shutil.copytree(tiny_reference, out)
    absolute = [str(ROOT / a) if a == "scenarios/stalemate_joint_pressure.yaml" else a for a in TINY]
    proc = cli(*absolute, "--workers", "1", "--out", out, "--resume")
    assert proc.returncode == 0, proc.stderr
    assert manifest(out)["computed_points"] == 0
    assert (out / "points.csv").read_bytes() == (tiny_reference / "points.csv").read_bytes()


# ----------------------------------------------------------------------------------------------
# 6. Scenario discovery on a planted box
# ----------------------------------------------------------------------------------------------
A, B, C = "backers.turkey.pressure", "mediator.monitoring", "factions.lna.cohesion"


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """400 points uniform in [0, 1]^3; survival 0.9 where a < 0.3 and b > 0.6, else 0.2, with a little noise."""
    sweep_dir = tmp_path_factory.mktemp("planted") / "sweep"
    sweep_dir.mkdir()
    rng = np.random.default_rng(20240601)
    x = rng.uniform(0, 1, size=(400, 3))
    inside = (x[:, 0] < 0.3) & (x[:, 1] > 0.6)
    y = np.where(inside, 0.9, 0.2) + rng.normal(0, 0.02, 400)
    points = pd.DataFrame(x, columns=[A, B, C])
    points.insert(0, "point", np.arange(400))
    points["survival_at_365"], points["survival_at_365_lo"], points["survival_at_365_hi"] = y, y - 0.05, y + 0.05
    points.to_parquet(sweep_dir / "points.parquet", index=False)
    spec = {
        "name": "planted",
        "design": "lhs",
        "n": 400,
        "vary": {p: {"lo": 0.0, "hi": 1.0} for p in (A, B, C)},
        "metrics": ["survival_at_365"],
    }
    (sweep_dir / "sweep.json").write_text(json.dumps(spec))
    proc = cli("discover", sweep_dir, "--metric", "survival_at_365", "--above", "0.8")
    return proc, sweep_dir / "discover_survival_at_365_above_0.8", int(inside.sum())


def test_discover_finds_the_planted_box(planted):
    proc, out, hits = planted
    assert proc.returncode == 0, proc.stderr
    found = json.loads((out / "discovery.json").read_text())
    sentence = proc.stdout.splitlines()[0]
    assert sentence == found["sentence"]
    assert (
        sentence.startswith("survival at 365 days exceeds 80% in ")
        and f"{A} <= " in sentence
        and f"{B} >= " in sentence
    )
    assert C not in sentence
    assert found["density"] >= 0.8 and found["coverage"] >= 0.8
    assert found["points_in_box"] >= 0.8 * hits
    limits = found["limits"]
    assert limits[A]["max"] == pytest.approx(0.3, abs=0.05)
    assert 0.45 <= limits[B]["min"] <= 0.65  # the test below checks how close it is
    assert C not in limits or (limits[C]["min"] <= 0.05 and limits[C]["max"] >= 0.95)
    trajectory = pd.read_csv(out / "peeling_trajectory.csv")
    assert {"coverage", "density", "restricted_dimensions"} <= set(trajectory.columns) and len(trajectory) > 1
    assert (out / "peeling_trajectory.png").is_file() and (out / "report.html").is_file()
    html = (out / "report.html").read_text()
    assert "peeling_trajectory.png" in html and "survival at 365 days exceeds 80%" in html


def test_discover_box_is_tight_and_not_dominated(planted):
    proc, out, _ = planted
    found = json.loads((out / "discovery.json").read_text())
    trajectory = pd.read_csv(out / "peeling_trajectory.csv")
    chosen = trajectory.iloc[found["chosen_box"]]
    better = trajectory[(trajectory["coverage"] >= chosen["coverage"]) & (trajectory["density"] > chosen["density"])]
    assert better.empty, f"box {found['chosen_box']} is dominated by boxes {list(better.index)}"
    assert found["limits"][A]["max"] == pytest.approx(0.3, abs=0.05)
    assert found["limits"][B]["min"] == pytest.approx(0.6, abs=0.05)


def test_discover_unknown_metric_is_one_line(planted, tmp_path):
    _, out, _ = planted
    sweep_dir = out.parent
    line = one_error_line(
        cli("discover", sweep_dir, "--metric", "survival_at_356", "--above", "0.8", "--out", tmp_path / "d")
    )
    assert "survival_at_356" in line and "survival_at_365" in line
    assert not (tmp_path / "d").exists()
    line = one_error_line(cli("discover", tmp_path / "nowhere", "--metric", "survival_at_365", "--above", "0.8"))
    assert "not a finished sweep" in line


# ----------------------------------------------------------------------------------------------
# 7. Bad input: exit 2, one line, nothing written
# ----------------------------------------------------------------------------------------------
BAD = {
    "unknown path": (["--vary", "backers.turkey.suport=0:1:3"], "did you mean 'backers.turkey.support'"),
    "empty range": (["--vary", "mediator.monitoring=0.1:0.1:5"], "empty range"),
    "reversed range": (["--vary", "mediator.monitoring=0.5:0.1:5"], "reversed range"),
    "too many points": (
        ["--vary", "mediator.monitoring=0:1:100", "--vary", "backers.turkey.pressure=0:1:100", "--max-points", "50"],
        "--max-points",
    ),
    "out of the field's range": (["--vary", "mediator.monitoring=0:2:3"], "must be in [0, 1]"),
    "sobol n not a power of two": (
        ["--vary", "mediator.monitoring=0:1:3", "--design", "sobol", "--n", "6"],
        "power of two",
    ),
    "unknown metric": (
        ["--vary", "mediator.monitoring=0:1:3", "--metric", "surival_at_30"],
        "did you mean 'survival_at_30'",
    ),
    "not a number": (["--vary", "mediator.monitoring=0:x:3"], "LO:HI:NUM"),
    "no vary": ([], "--vary"),
    "a path varied twice": (
        ["--vary", "mediator.monitoring=0:1:3", "--vary", "mediator.monitoring=0,1"],
        "varied twice",
    ),
    "a metric past the horizon": (
        ["--vary", "mediator.monitoring=0:1:3", "--metric", "survival_at_90"],
        "past the sweep's 30 days",
    ),
    "an unreachable scheduler": (
        ["--vary", "mediator.monitoring=0:1:3", "--scheduler", "tcp://127.0.0.1:9"],
        "cannot reach the Dask cluster",
    ),
}


@pytest.mark.parametrize("case", everyday_first(list(BAD), 2))
def test_bad_vary_options(case, tmp_path):
    args, expected = BAD[case]
    out = tmp_path / "out"
    line = one_error_line(cli("sweep", LIBYA, *args, "-n", "10", "--steps", "30", "--out", out))
    assert expected in line, line
    assert not out.exists(), "a refused sweep wrote its out dir"


SWEEP_FILES = {
    "unknown key": (
        "name: bad_key\nbase: {base}\ndesing: grid\nvary:\n  mediator.monitoring: [0, 1]\n",
        "did you mean 'design'",
    ),
    "base file missing": (
        "name: bad_base\nbase: ../nowhere/missing.yaml\nvary:\n  mediator.monitoring: [0, 1]\n",
        "missing.yaml: file not found",
    ),
    "distribution in a grid": (
        "name: bad_grid\nbase: {base}\nvary:\n  mediator.monitoring: {{uniform: [0, 1]}}\n",
        "a grid needs a list",
    ),
    "unknown path": (
        "name: bad_path\nbase: {base}\nvary:\n  mediator.monitorin: [0, 1]\n",
        "did you mean 'mediator.monitoring'",
    ),
    "misspelt base": ("name: bad_base_key\nbse: {base}\nvary:\n  mediator.monitoring: [0, 1]\n", "did you mean 'base'"),
}


@pytest.mark.parametrize("case", everyday_first(list(SWEEP_FILES), 2))
def test_broken_sweep_files(case, tmp_path):
    text, expected = SWEEP_FILES[case]
    path = tmp_path / "bad.yaml"
    path.write_text(text.format(base=os.path.relpath(ROOT / LIBYA, tmp_path)))
    out = tmp_path / "out"
    line = one_error_line(cli("sweep", path, "--out", out))
    assert expected in line and str(path) in line, line
    assert not out.exists()


def test_an_interrupt_while_the_analysis_writes_leaves_a_resumable_out_dir(tmp_path, monkeypatch):
    # Ctrl-C after the figures are written but before the report: every file in the out dir must
    # be one the marker names, or the next --resume refuses the out dir as holding foreign files.
    from truce_sim.outputs.files import check_out_dir
    from truce_sim.sweeps import report

    sweep = _make_sweep("grid", tmp_path)
    result = run_sweep(sweep, tmp_path / "out", workers=1)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(report, "sweep_report", interrupted)
    with pytest.raises(KeyboardInterrupt):
        analyse_sweep(result)
    assert (tmp_path / "out" / "sweep_heatmap.png").exists()  # the interrupt came after the figures
    monkeypatch.chdir(tmp_path)
    check_out_dir(tmp_path / "out", "sweep")  # raises OutDirError on a file the marker does not name


@pytest.mark.parametrize("moment", ["start-up", "points"])
def test_an_interrupt_while_a_sweep_starts_or_ends_leaves_a_resumable_out_dir(tmp_path, monkeypatch, moment):
    # Ctrl-C just after the sweep made its points/ folder (start-up) or wrote points.csv (the
    # end): the marker must already name what is there, or --resume refuses the out dir.
    from truce_sim.outputs.files import check_out_dir
    from truce_sim.sweeps import runner

    sweep = _make_sweep("grid", tmp_path)
    real_json, real_write = runner._write_sweep_json, runner.atomic_write

    def interrupted_json(*args, **kwargs):
        raise KeyboardInterrupt

    def interrupted_after_points(path, write):
        real_write(path, write)
        if Path(path).name == "points.csv":
            raise KeyboardInterrupt

    if moment == "start-up":
        monkeypatch.setattr(runner, "_write_sweep_json", interrupted_json)
    else:
        monkeypatch.setattr(runner, "atomic_write", interrupted_after_points)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(sweep, tmp_path / "out", workers=1)
    assert (tmp_path / "out" / ("points" if moment == "start-up" else "points.csv")).exists()
    monkeypatch.setattr(runner, "_write_sweep_json", real_json)
    monkeypatch.setattr(runner, "atomic_write", real_write)
    monkeypatch.chdir(tmp_path)
    check_out_dir(tmp_path / "out", "sweep")  # raises OutDirError on a file the marker does not name
    result = run_sweep(sweep, tmp_path / "out", workers=1, resume=True)
    assert len(result.points) == len(sweep.points)
