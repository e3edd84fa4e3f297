"""Batches, worker processes and streamed aggregates never change a result."""

import numpy as np
import pandas as pd
import pytest

import truce_sim as sim
from truce_sim.runs.aggregate import SHARE_BINS

from .conftest import ARCHETYPES, HISTORICAL, SCENARIOS


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=pytest.mark.slow) if n != "stalemate_joint_pressure" else n
        for n in HISTORICAL + ARCHETYPES
    ],
)
def test_batch_sizes_and_workers_give_identical_results(name):
    path = SCENARIOS / f"{name}.yaml"
    whole = sim.run_ensemble(path, replicates=1000, seed=3, steps=60, batch_size=1000, workers=1)
    split = sim.run_ensemble(path, replicates=1000, seed=3, steps=60, batch_size=37, workers=2)
    pd.testing.assert_frame_equal(whole.replicates, split.replicates)
    pd.testing.assert_frame_equal(whole.timeseries, split.timeseries)
    assert whole.summary == split.summary
    # one world per batch: the first 74 worlds, rows and aggregates, as in one batch of 74
    singles = sim.run_ensemble(path, replicates=74, seed=3, steps=60, batch_size=1, workers=1)
    together = sim.run_ensemble(path, replicates=74, seed=3, steps=60, batch_size=1000, workers=1)
    pd.testing.assert_frame_equal(singles.replicates, whole.replicates.iloc[:74])
    pd.testing.assert_frame_equal(singles.timeseries, together.timeseries)


@pytest.fixture(scope="module")
def with_paths(tmp_path_factory):
    paths_dir = tmp_path_factory.mktemp("paths")
    kept = sim.run_ensemble(
        SCENARIOS / "libya_2020_january.yaml", replicates=600, seed=9, steps=90, batch_size=250, paths_dir=paths_dir
    )
    streamed = sim.run_ensemble(SCENARIOS / "libya_2020_january.yaml", replicates=600, seed=9, steps=90)
    return kept, streamed


def test_streaming_gives_the_same_summary_as_keeping_paths(with_paths):
    kept, streamed = with_paths
    assert kept.summary == streamed.summary
    pd.testing.assert_frame_equal(kept.replicates, streamed.replicates)
    pd.testing.assert_frame_equal(kept.timeseries, streamed.timeseries)


def test_streamed_aggregates_match_the_paths(with_paths):
    kept, _ = with_paths
    paths = kept.paths
    assert len(paths) == 600 * 91 and paths["replicate"].nunique() == 600
    by_day = paths.groupby("day")
    ts = kept.timeseries.set_index("day")
    np.testing.assert_allclose(ts["share_in_truce"], by_day["in_truce"].mean(), atol=1e-12)
    for name in ("gna", "lna"):
        for var in ("power", "control"):
            col = f"{var}_{name}"
            # paths hold float32 copies: means agree to float32 precision
            np.testing.assert_allclose(ts[f"{col}_mean"], by_day[col].mean(), atol=1e-6)
            for q in (0.05, 0.5, 0.95):
                exact = by_day[col].quantile(q, interpolation="lower")
                inverted = np.array(
                    [np.quantile(g.to_numpy(np.float64), q, method="inverted_cdf") for _, g in by_day[col]]
                )
                # the streamed quantile is the midpoint of the 1/1024-wide bin holding the
                # inverted-CDF sample quantile, so it lies within half a bin of it
                diff = np.abs(ts[f"{col}_q{int(q * 100):02d}"].to_numpy() - inverted)
                assert diff.max() <= 0.5 / SHARE_BINS + 1e-6, (col, q, diff.max())
                assert exact.notna().all()
    total = sum(paths[f"violations_{n}"] for n in ("gna", "lna"))
    per_day = total.groupby(paths["day"])
    np.testing.assert_allclose(ts["violations_mean"], per_day.mean(), atol=1e-12)
    for q in (0.05, 0.5, 0.95):  # violations are counted exactly
        inverted = np.array([np.quantile(g.to_numpy(), q, method="inverted_cdf") for _, g in per_day])
        np.testing.assert_array_equal(ts[f"violations_q{int(q * 100):02d}"].to_numpy(), inverted)
    support = paths.groupby("day")["support_uae"]
    np.testing.assert_allclose(ts["support_uae_mean"], support.mean(), rtol=1e-6)
    q95 = np.array([np.quantile(g.to_numpy(np.float64), 0.95, method="inverted_cdf") for _, g in support])
    np.testing.assert_allclose(ts["support_uae_q95"], q95, rtol=0.006)  # log bins 0.56% wide


@pytest.mark.slow  # spawns a pool of workers
def test_workers_from_an_interactive_session():
    """Spawned workers need no `if __name__ == "__main__"` guard in the caller (as in a notebook)."""
    import subprocess
    import sys

    from .conftest import ROOT

    code = (
        "import truce_sim as sim; "
        "r = sim.run_ensemble('scenarios/stalemate_joint_pressure.yaml', replicates=40, steps=20,"
        " workers=2, batch_size=10); print(r.summary['replicates'], len(r.timeseries))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["40", "21"]


def test_decision_terms_sum_exactly_even_when_large():
    """Terms are summed as whole multiples of 2**-20; where their sums pass what a float64 holds
    exactly (2**53), they are added as integers instead. Terms of up to 4e6 (a war cost of 1e6
    is legal) in 10,000 worlds pass it: the sums must still equal the integer sums exactly."""
    from truce_sim.runs.aggregate import TERM_FIXED_POINT, DailyAggregates

    rng = np.random.default_rng(0)
    values = rng.random((3, 10_000)) * 4e6
    in_truce = rng.random(10_000) < 0.5
    aggregates = DailyAggregates(["x"], [], 1)
    aggregates.add_decisions(0, {"x": values}, in_truce)
    exact = np.trunc(values * TERM_FIXED_POINT).astype(np.int64)
    np.testing.assert_array_equal(aggregates.total["terms_truce_x"][0], exact[:, in_truce].sum(axis=1))
    np.testing.assert_array_equal(aggregates.total["terms_war_x"][0], exact[:, ~in_truce].sum(axis=1))
