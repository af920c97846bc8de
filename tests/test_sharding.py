"""Particle sharding: placement, errors, and sharded runs against single-device runs.

The multi-device checks need fake CPU devices, which must be set before JAX
starts, so they run in fresh processes: ``tests/multidevice_checks.py`` with
``JAX_NUM_CPU_DEVICES=4``, and ``tests/multiprocess_checks.py`` for 2
processes of 2 devices each.
"""

import json
import os
import pathlib
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import AxisType, NamedSharding, PartitionSpec

import mfbd
from mfbd.sharding import PARTICLE_AXIS, particle_mesh, shard_state

ROOT = pathlib.Path(__file__).resolve().parents[1]


def run_fresh(args, devices=4, timeout=600):
    """Run ``python args`` from the repository root with ``devices`` fake CPU devices; parse its JSON output."""
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))  # mfbd from this checkout
    env = dict(os.environ, JAX_PLATFORMS="cpu", JAX_NUM_CPU_DEVICES=str(devices), PYTHONPATH=path)
    done = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode in (0, 1), done.stderr[-3000:]
    return json.loads(done.stdout[done.stdout.index("{") :])


def test_particle_mesh_has_one_auto_axis():
    mesh = particle_mesh()
    assert mesh.axis_names == (PARTICLE_AXIS,)
    assert mesh.axis_types == (AxisType.Auto,)
    assert mesh.size == jax.device_count()


def test_shard_state_splits_particle_leaves_and_replicates_the_rest():
    problem = mfbd.problems.gaussian_mixture_1d()
    scheme = mfbd.birth_death(problem, 0.01, 5.0)
    state = scheme.init(problem.init_particles(jax.random.key(0), 8))
    placed = shard_state(state)
    assert placed.particles["y"].sharding == NamedSharding(particle_mesh(), PartitionSpec(PARTICLE_AXIS))
    assert placed.step.sharding.spec == PartitionSpec()
    assert placed.energy.sharding.spec == PartitionSpec()
    jax.tree.map(np.testing.assert_array_equal, placed, state)


def test_shard_state_particle_axis_one_for_stacked_seeds():
    stacked = {"z": jnp.zeros((3, 8, 2)), "count": jnp.zeros((3,))}
    placed = shard_state(stacked, particle_axis=1)
    assert placed["z"].sharding.spec == PartitionSpec(None, PARTICLE_AXIS)
    assert placed["count"].sharding.spec == PartitionSpec()


def test_shard_state_rejects_a_tree_without_the_axis():
    with pytest.raises(ValueError, match="particle_axis"):
        shard_state({"a": jnp.zeros(())})


def test_four_devices_deterministic_schemes_match_one_device():
    report = run_fresh(["tests/multidevice_checks.py", "deterministic", "errors"])
    assert report["devices"] == 4
    assert report["errors"]["mesh_axis"] == [PARTICLE_AXIS]
    assert report["errors"]["indivisible"].startswith("cannot shard 10 particles over 4 devices")
    for case, r in report["deterministic"].items():
        assert r["still_sharded"], case
        assert r["state"] <= 1e-10 * max(1.0, r["scale"]), case  # float64: only the order of sums differs
        assert r["energy"] <= 1e-12, case


@pytest.mark.slow
def test_four_devices_birth_death_analytic_law():
    """Pure birth-death with U = θ²/2 from N(0, 1): the law at t is N(0, 1/(1 + αt)).

    Mean and second moment within 4 Monte-Carlo standard errors (over 32 seeds
    with fixed keys), on one device and on 4.
    """
    report = run_fresh(["tests/multidevice_checks.py", "birth_death_law"])
    for where, r in report["birth_death_law"].items():
        assert r["events_per_seed"] > 10, where  # the reaction did act
        assert abs(r["mean"]) <= 4 * r["mean_se"], (where, r)
        assert abs(r["second_moment"] - r["second_moment_exact"]) <= 4 * r["second_moment_se"], (where, r)


@pytest.mark.slow
def test_two_processes_match_one_process():
    report = run_fresh(["-m", "tests.multiprocess_checks"], devices=2)
    for case in ("gradient_flow_data", "birth_death_kernel"):
        r = report[case]
        assert r["max_abs_particle_difference"] < 1e-4, (case, r)
        assert (r["kills_sharded"], r["births_sharded"]) == (r["kills_single"], r["births_single"]), (case, r)
    assert report["birth_death_kernel"]["births_single"] > 0
    assert report["match"]
