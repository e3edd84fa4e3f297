"""Memory limits: the estimate counts what grows and nothing that cannot happen, runs and sweeps
that do not fit are refused before anything is written, and a batch's aggregates are let go as
soon as they are merged."""

import gc
import pickle
import weakref

import numpy as np
import pytest

import truce_sim as sim
import truce_sim.runs.resources as resources
from truce_sim.cli import main
from truce_sim.core.model import TruceModel
from truce_sim.runs.aggregate import DailyAggregates, _Cells
from truce_sim.runs.ensemble import simulate_batch

from .conftest import ROOT

LIBYA = str(ROOT / "scenarios" / "libya_2020_january.yaml")
GIB = 2**30


@pytest.fixture(scope="module")
def libya():
    return sim.load_scenario(LIBYA)


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    return err


@pytest.mark.parametrize("workers", [1, 2])
def test_the_estimate_does_not_grow_with_the_number_of_batches(libya, workers):
    # 6,000 worlds over ten years, from one batch per worker down to batches of ten worlds
    whole = resources.estimate_run_bytes(libya, 6000, 3650, workers, 6000 // workers)
    for batch in (1000, 500, 250, 100, 10):
        assert resources.estimate_run_bytes(libya, 6000, 3650, workers, batch) <= 1.05 * whole, batch
    # ten times the worlds in batches of the same size add their rows, not their batches
    few, many = (resources.estimate_run_bytes(libya, n, 3650, workers, 500) for n in (6000, 60_000))
    assert many - few < 60_000 * 2000


@pytest.mark.parametrize("workers", [1, 2])
def test_a_batch_s_aggregates_are_let_go_once_merged(monkeypatch, workers):
    """However many batches, the ensemble holds the merged aggregates and those of the batches
    in flight, never all of them."""
    alive = weakref.WeakSet()
    made = DailyAggregates.__init__

    def init(self, *args, **kwargs):
        made(self, *args, **kwargs)
        alive.add(self)

    def arrive(self, state):  # a batch unpickled from a worker
        self.__dict__.update(state)
        alive.add(self)

    monkeypatch.setattr(DailyAggregates, "__init__", init)
    monkeypatch.setattr(DailyAggregates, "__setstate__", arrive, raising=False)
    counts = []
    sim.run_ensemble(
        LIBYA,
        replicates=60,
        steps=15,
        workers=workers,
        batch_size=2,  # 30 batches
        progress=lambda _n: counts.append(len(alive)),
    )
    assert len(counts) >= 30 and max(counts) <= 2 * workers


def test_a_finished_batch_s_worlds_are_freed_at_once(libya, monkeypatch):
    """A worker steps batch after batch (and a sweep's, task after task): no batch's model may
    outlive it, not even until the next garbage collection."""
    import mesa

    import truce_sim.runs.ensemble as ensemble

    models = []

    def model(*args, **kwargs):
        made = TruceModel(*args, **kwargs)
        models.append(weakref.ref(made))
        return made

    monkeypatch.setattr(ensemble, "TruceModel", model)
    counters = len(getattr(mesa.Agent, "_ids", {}))
    gc_was = gc.isenabled()
    gc.disable()  # freed by reference counting, not by a collection
    try:
        for first in range(0, 50, 10):
            simulate_batch(libya, 1, 5, first, first + 10, daily=first % 20 == 0)
        assert len(models) == 5 and all(ref() is None for ref in models)
    finally:
        if gc_was:
            gc.enable()
    assert len(getattr(mesa.Agent, "_ids", {})) == counters


def test_merging_is_exact_whether_a_batch_crossed_processes_or_not(libya):
    batches = [simulate_batch(libya, 3, 40, first, first + n).aggregates for first, n in ((0, 7), (7, 300), (307, 70))]
    direct = DailyAggregates(libya.factions, libya.backers, 41)
    crossed = DailyAggregates(libya.factions, libya.backers, 41)
    for batch in batches:
        direct.merge(batch)
        crossed.merge(pickle.loads(pickle.dumps(batch)))
    sent = pickle.loads(pickle.dumps(batches[1]))
    assert any(isinstance(h, _Cells) for h in sent.hist.values())  # mostly empty histograms travel as cells
    for key in direct.hist:
        assert direct.hist[key].dtype == np.int64 and np.array_equal(direct.hist[key], crossed.hist[key]), key
    assert direct.table().equals(crossed.table())


def test_a_batch_counts_in_the_narrowest_integers_and_no_more_worlds(libya):
    assert simulate_batch(libya, 1, 5, 0, 200).aggregates.hist["violations"].dtype == np.uint8
    assert simulate_batch(libya, 1, 5, 0, 300).aggregates.hist["violations"].dtype == np.uint16
    too_small = DailyAggregates(list(libya.factions), list(libya.backers), 6, most=10)
    model = TruceModel(libya, rng=1, replicates=11, keep_history=False)
    with pytest.raises(ValueError):
        too_small.add(0, model.observations())


def test_a_million_worlds_for_ten_years_is_refused_where_it_does_not_fit(libya, tmp_path, monkeypatch, capsys):
    need = resources.estimate_run_bytes(libya, 1_000_000, 3650, 2, 10_000)
    # the rows of a million worlds and the ten-year aggregates, not a copy of them per batch
    assert 3 * GIB < need < 8 * GIB
    monkeypatch.setattr(resources, "available_memory", lambda: int(need / 0.8) - 2**20)
    monkeypatch.chdir(tmp_path)
    rc = main(["run", LIBYA, "-n", "1000000", "--steps", "3650", "-j", "2", "--out", str(tmp_path / "o"), "-q"])
    err = _one_error_line(capsys)
    assert rc == 2 and "GiB of memory" in err and "1,000,000 worlds x 3650 days" in err and "lower --replicates" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow  # a run through the command line
def test_only_workers_that_can_start_are_counted(libya, tmp_path, monkeypatch):
    assert resources.effective_workers(1000, 3, 1) == 3
    assert resources.effective_workers(1000, 3, 10) == 1
    assert resources.effective_workers(4, 1_000_000, 10_000) == 4
    assert (
        resources.estimate_run_bytes(libya, 3, 180, 1000, 1)
        == resources.estimate_run_bytes(libya, 3, 180, 3, 1)
        < 2 * GIB
    )
    monkeypatch.setattr(resources, "available_memory", lambda: 2 * GIB)  # 1,000 workers would need 200 GiB
    rc = main(["run", LIBYA, "-n", "3", "--steps", "20", "-j", "1000", "--out", str(tmp_path / "o"), "-q"])
    assert rc == 0 and (tmp_path / "o" / "replicates.csv").is_file()


def test_a_sweep_over_max_world_days_is_refused_before_anything_is_written(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # the default out dir would be under results/ here
    # 3 points x 1,000 worlds x 100 days = 300,000 world-days
    args = ["sweep", LIBYA, "--vary", "mediator.monitoring=0:1:3", "-n", "1000", "--steps", "100", "-q"]
    for out in ([], ["--out", str(tmp_path / "sw")]):
        rc = main(args + out + ["--max-world-days", "299999"])
        err = _one_error_line(capsys)
        assert rc == 2 and "300,000 world-days" in err and "--max-world-days" in err
    assert list(tmp_path.iterdir()) == []


def test_a_sweep_larger_than_memory_is_refused_before_anything_is_written(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(resources, "available_memory", lambda: 256 * 2**20)
    monkeypatch.chdir(tmp_path)
    rc = main(
        [
            "sweep",
            LIBYA,
            "--vary",
            "mediator.monitoring=0:1:3",
            "-n",
            "1000",
            "--steps",
            "100",
            "-j",
            "2",
            "--out",
            str(tmp_path / "sw"),
            "-q",
        ]
    )
    err = _one_error_line(capsys)
    assert rc == 2 and "GiB of memory" in err and "this sweep" in err
    assert list(tmp_path.iterdir()) == []


def test_the_sweep_estimate_counts_tasks_in_flight_and_every_world_analysed():
    from truce_sim.sweeps.spec import sweep_from_options

    def need(points, worlds, **options):
        sweep = sweep_from_options(LIBYA, [f"mediator.monitoring=0:1:{points}"], "grid", None, worlds, 1, 100)
        return resources.estimate_sweep_bytes(sweep, **options)

    small = need(10, 1000, workers=2)
    assert need(1000, 1000, workers=2) > small + 990 * 1000 * 300  # every world is analysed at the end
    assert need(10, 1000, workers=2, batch_size=100) < small  # smaller tasks
    assert need(10, 1000, workers=8) > small  # more workers
    assert need(1, 10, workers=1000) == need(1, 10, workers=1)  # one task: no pool
