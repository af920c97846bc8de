"""The run-directory format: round trips of every file, atomic writes, truncation by column name (the package's
import graph is checked in test_design.py)."""

import csv
import pathlib

import jax.numpy as jnp
import numpy as np
import pytest

from mfbd.config import ConfigError, dumps
from mfbd.runner import rundir
from mfbd.schemes.base import State

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _trace():
    """A trace of 2 seeds × 3 records with an int and float columns and one observable."""
    return {
        "step": np.array([[10, 20, 30]] * 2, np.int32),
        "energy": np.array([[0.5, 0.25, 1 / 3], [1e-300, np.pi, -0.0]]),
        "killed": np.array([[1, 0, 2], [0, 0, 3]], np.int32),
        "time": np.array([[0.1, 0.2, 0.3]] * 2),
        "population_energy": np.array([[1.5, 2.5, 3.5], [4.5, 5.5, 6.5]]),
    }


def test_metrics_round_trip_exactly_with_columns_in_record_order(tmp_path):
    path = tmp_path / rundir.METRICS
    path.touch()
    trace = _trace()
    with rundir.MetricsWriter(path) as metrics:
        metrics.write("gd", [3, 7], trace)
        metrics.write("bd", [3, 7], trace, upto=2)
    with open(path, newline="") as f:
        header = next(csv.reader(f))
    assert header == ["arm", "seed", "step", "time", "energy", "killed", "population_energy"]
    back = rundir.read_metrics(tmp_path)
    assert list(back) == ["gd", "bd"]
    np.testing.assert_array_equal(back["gd"]["seed"], [3, 7])
    for column, values in trace.items():
        np.testing.assert_array_equal(back["gd"][column], values)  # floats by their round-trip repr: exact
        np.testing.assert_array_equal(back["bd"][column], values[:, :2])


def test_truncate_metrics_keeps_rows_by_arm_and_step_and_drops_a_cut_line(tmp_path):
    path = tmp_path / rundir.METRICS
    path.touch()
    with rundir.MetricsWriter(path) as metrics:
        metrics.write("gd", [0, 1], _trace())
        metrics.write("bd", [0, 1], _trace())
    with open(path, "a") as f:
        f.write("bd,0,40,0.4")  # a line cut by a kill
    rundir.truncate_metrics(tmp_path, lambda arm, step: arm == "gd" or step <= 20)
    back = rundir.read_metrics(tmp_path)
    np.testing.assert_array_equal(back["gd"]["step"], [[10, 20, 30]] * 2)
    np.testing.assert_array_equal(back["bd"]["step"], [[10, 20]] * 2)
    assert not (tmp_path / (rundir.METRICS + ".tmp")).exists()


def test_atomic_write_leaves_the_old_file_whole_when_writing_fails(tmp_path):
    path = tmp_path / "file.json"
    rundir.write_json(path, {"a": 1})

    def broken(f):
        f.write(b'{"a": ')
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        rundir.atomic_write(path, broken)
    assert path.read_text() == '{\n  "a": 1\n}\n'


def _state(seeds=2, n=5):
    rng = np.random.default_rng(0)
    particles = {"c": jnp.asarray(rng.normal(size=(seeds, n))), "y": jnp.asarray(rng.normal(size=(seeds, n)))}
    log_w = jnp.asarray(rng.normal(size=(seeds, n)))
    zeros = jnp.zeros((seeds, n))
    step = jnp.full(seeds, 20, jnp.int32)
    lineage = jnp.tile(jnp.arange(n, dtype=jnp.int32), (seeds, 1))
    return State(particles, log_w, zeros, particles, jnp.ones(seeds), step, (), lineage, jnp.full(seeds, n, jnp.int32))


def test_snapshots_and_checkpoint_round_trip(tmp_path):
    (tmp_path / rundir.SNAPSHOTS).mkdir()
    state = _state()
    rundir.write_snapshot(tmp_path, "bd", 20, [4, 9], state)
    rundir.write_snapshot(tmp_path, "bd", 0, [4, 9], state)
    snaps = rundir.read_snapshots(tmp_path, "bd")
    assert [s["step"] for s in snaps] == [0, 20]
    np.testing.assert_array_equal(snaps[1]["seeds"], [4, 9])
    np.testing.assert_array_equal(snaps[1]["log_weights"], state.log_weights)
    assert set(snaps[1]["particles"]) == {"c", "y"}
    np.testing.assert_array_equal(snaps[1]["particles"]["y"], state.particles["y"])

    checkpoint = rundir.Checkpoint({"bd": {"status": "pending", "step": 0}}, {}, np.arange(4, dtype=np.uint32))
    checkpoint.put("bd", state, {"status": "running", "step": 20})
    checkpoint.save(tmp_path)
    back = rundir.Checkpoint.load(tmp_path)
    assert back.status == {"bd": {"status": "running", "step": 20}}
    np.testing.assert_array_equal(back.key_data, checkpoint.key_data)
    assert len(back.states["bd"]) == len(checkpoint.states["bd"])
    for a, b in zip(back.states["bd"], checkpoint.states["bd"], strict=True):
        np.testing.assert_array_equal(a, b)


def test_new_run_dir_and_status(small_config, tmp_path):
    out = rundir.new_run_dir(small_config, str(tmp_path / "run"))
    assert sorted(p.name for p in out.iterdir()) == [rundir.CONFIG, rundir.METRICS, rundir.SNAPSHOTS]
    assert (out / rundir.CONFIG).read_text() == dumps(small_config)
    with pytest.raises(ConfigError, match="already exists and is not empty"):
        rundir.new_run_dir(small_config, str(out))
    assert rundir.read_status(out) == {}
    rundir.write_json(out / rundir.METADATA, {"arms": {"gd": {"status": "failed", "step": 0, "failed_at": 10}}})
    assert rundir.read_status(out)["gd"]["failed_at"] == 10
    with pytest.raises(ConfigError, match="not an mfbd run directory"):
        rundir.require(out, (rundir.CONFIG, rundir.CHECKPOINT), "--resume x")
    assert rundir.versions()["mfbd"]
