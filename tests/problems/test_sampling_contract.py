"""The scheme contract (jit, vmap over seeds, determinism, dtypes, finiteness, sharding)
for sampling problems, with its own small registry (tests/schemes/test_contract.py is
the schemes' file)."""

import json
import os
import pathlib
import subprocess
import sys

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import mfbd
from mfbd.problems import make_target, sampling

N = 16
ROOT = pathlib.Path(__file__).resolve().parents[2]
SCHEMES = {
    "langevin": lambda p: mfbd.gradient_flow(p, 0.01, noise=1.0),
    "bd-langevin": lambda p: mfbd.birth_death(p, 0.01, 1.0, noise=1.0),
    "bd-pairing": lambda p: mfbd.birth_death(p, 0.01, 1.0, noise=1.0, control="pairing"),
    "reweighting": lambda p: mfbd.reweighting(p, 0.01, 1.0, noise=1.0),
    "reweighting-resample": lambda p: mfbd.reweighting(p, 0.01, 20.0, resample_below=0.9, noise=1.0),
    "bd-blob": lambda p: mfbd.birth_death(p, 0.01, 1.0),
}
PROBLEMS = {
    "four_modes-pde-median": lambda: sampling(make_target("four_mode_mixture"), bandwidth="median"),
    "double_well-kl": lambda: sampling(make_target("double_well"), bandwidth=0.3, rate="kl"),
    "gaussian-kl-blob": lambda: sampling(make_target("gaussian", dim=3), bandwidth=0.7, rate="kl", transport="blob"),
}
CASES = [
    ("langevin", "f32", "four_modes-pde-median"),
    ("bd-langevin", "f64", "four_modes-pde-median"),
    ("bd-pairing", "f32", "four_modes-pde-median"),
    ("reweighting", "f32", "four_modes-pde-median"),
    ("reweighting-resample", "f64", "four_modes-pde-median"),
    ("bd-langevin", "f32", "double_well-kl"),
    ("bd-blob", "f64", "gaussian-kl-blob"),
]


@pytest.mark.parametrize("scheme_name, dtype, problem_name", CASES)
def test_sampling_scheme_contract(scheme_name, dtype, problem_name):
    dtype = {"f32": jnp.float32, "f64": jnp.float64}[dtype]
    problem = PROBLEMS[problem_name]()
    scheme = SCHEMES[scheme_name](problem)
    keys = jax.random.split(jax.random.key(1), 3)
    start = jax.vmap(lambda k: problem.init_particles(k, N).astype(dtype))(keys)
    states = jax.vmap(scheme.init)(start)
    step = jax.jit(jax.vmap(scheme.step))
    for k in range(2):
        step_keys = jax.vmap(lambda key, k=k: jax.random.fold_in(key, k))(keys)
        new, info = step(step_keys, states)
        chex.assert_trees_all_equal(new, step(step_keys, states)[0])  # same key, same result
        states = new
    chex.assert_tree_all_finite((states.particles, states.log_weights, states.potential, info))
    assert states.particles.shape == start.shape
    for leaf in (states.particles, states.log_weights, states.potential, states.grad_potential, info.energy):
        assert leaf.dtype == dtype
    np.testing.assert_allclose(jax.nn.logsumexp(states.log_weights, axis=1), 0.0, atol=1e-5)
    assert not np.allclose(states.particles, start)  # the transport did move them


@pytest.mark.slow
def test_sampling_runs_sharded_over_four_devices_as_on_one():
    env = dict(os.environ, JAX_PLATFORMS="cpu", JAX_NUM_CPU_DEVICES="4", PYTHONPATH=str(ROOT))
    script = ["tests/problems/sampling_multidevice.py"]
    done = subprocess.run([sys.executable, *script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout[done.stdout.index("{") :])
    assert report["devices"] == 4
    for case, r in report["cases"].items():
        assert r["still_sharded"], case
        assert r["state"] <= 1e-10 * max(1.0, r["scale"]), case  # float64: only the order of sums differs
