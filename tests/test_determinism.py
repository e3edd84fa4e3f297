"""Replicate r depends only on (seed, r): not on batch size, replicate count, order or process."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import truce_sim as sim

from .conftest import ARCHETYPES, HISTORICAL, ROOT, SCENARIOS


# Columns that must match exactly; timeseries aggregates differ with the set of worlds by design.
def _rows(result, ids):
    return result.replicates.set_index("replicate").loc[ids]


def test_same_seed_same_replicates_csv(tmp_path):
    a = sim.run_ensemble(SCENARIOS / "libya_2020_january.yaml", replicates=300, seed=7, steps=90)
    b = sim.run_ensemble(SCENARIOS / "libya_2020_january.yaml", replicates=300, seed=7, steps=90)
    a.replicates.to_csv(tmp_path / "a.csv", index=False)
    b.replicates.to_csv(tmp_path / "b.csv", index=False)
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    pd.testing.assert_frame_equal(a.timeseries, b.timeseries)


def test_another_seed_gives_other_worlds():
    a = sim.run_ensemble(SCENARIOS / "libya_2020_january.yaml", replicates=300, seed=7, steps=90)
    b = sim.run_ensemble(SCENARIOS / "libya_2020_january.yaml", replicates=300, seed=8, steps=90)
    assert not a.replicates["survival_days"].equals(b.replicates["survival_days"])


@pytest.mark.parametrize("name", HISTORICAL + ARCHETYPES)
def test_row_r_is_the_same_with_1_37_or_1000_replicates(name):
    path = SCENARIOS / f"{name}.yaml"
    big = sim.run_ensemble(path, replicates=1000, seed=11, steps=60, batch_size=1000)
    small = sim.run_ensemble(path, replicates=37, seed=11, steps=60, batch_size=37)
    pd.testing.assert_frame_equal(_rows(big, range(37)), _rows(small, range(37)))
    # batches of 7 and of 1 cut the same worlds differently; world 36 alone is world 36
    odd = sim.run_ensemble(path, replicates=37, seed=11, steps=60, batch_size=7)
    pd.testing.assert_frame_equal(_rows(odd, range(37)), _rows(small, range(37)))
    one = sim.run_ensemble(path, replicates=1, seed=11, steps=60)
    pd.testing.assert_frame_equal(_rows(one, [0]), _rows(big, [0]))


def test_a_world_is_the_same_alone_and_in_a_batch_with_its_paths():
    path = SCENARIOS / "libya_2020_january.yaml"
    batch = sim.TruceModel(path, rng=3, replicates=500)
    alone = sim.TruceModel(path, rng=3, replicate_ids=[321], replicates=1)
    for _ in range(120):
        batch.step()
        alone.step()
    for key, days in batch.history.items():
        np.testing.assert_array_equal(np.stack(days)[:, 321], np.stack(alone.history[key])[:, 0], err_msg=key)
    row_batch = {k: v[321] for k, v in batch.world_table().items()}
    row_alone = {k: v[0] for k, v in alone.world_table().items()}
    assert row_batch == row_alone


def test_same_rows_in_another_process():
    code = (
        "import truce_sim as sim, sys; "
        "r=sim.run_ensemble('scenarios/stalemate_joint_pressure.yaml', replicates=50, seed=5,"
        " steps=60); sys.stdout.write(r.replicates.to_csv(index=False))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    here = sim.run_ensemble(SCENARIOS / "stalemate_joint_pressure.yaml", replicates=50, seed=5, steps=60)
    assert out == here.replicates.to_csv(index=False)
