"""The driver: chunking does not change a run; a vmapped ensemble is the loop over keys."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import mfbd
from mfbd.problems import gaussian_mixture_1d


def _setup():
    problem = gaussian_mixture_1d()
    scheme = mfbd.birth_death(problem, 0.01, 5.0, rates="uncentred", probability="linear")
    start = jax.tree_util.tree_map(lambda a: a.astype(jnp.float64), problem.init_particles(jax.random.key(0), 32))
    return problem, scheme, start


def test_chunked_and_unchunked_runs_are_identical():
    _, scheme, start = _setup()
    state = scheme.init(start)
    whole = mfbd.simulate(jax.random.key(1), scheme, state, 60, record_every=3)
    chunked = mfbd.simulate(jax.random.key(1), scheme, state, 60, record_every=3, chunk_size=9)
    chex.assert_trees_all_equal(whole, chunked)
    # Resuming from a saved state continues the same stream.
    first, _ = mfbd.simulate(jax.random.key(1), scheme, state, 30, record_every=3)
    resumed, _ = mfbd.simulate(jax.random.key(1), scheme, first, 30, record_every=3)
    chex.assert_trees_all_equal(resumed, whole[0])
    trace = whole[1]
    np.testing.assert_array_equal(trace["step"], np.arange(3, 61, 3))
    np.testing.assert_allclose(trace["time"], 0.01 * np.arange(3, 61, 3))
    assert int(trace["killed"].sum()) > 0


def test_vmapped_ensemble_equals_the_loop_over_keys():
    _, scheme, start = _setup()
    keys = jax.random.split(jax.random.key(2), 3)
    states = jax.vmap(lambda k: scheme.init(start))(keys)
    batched = jax.vmap(lambda k, s: mfbd.simulate(k, scheme, s, 40, record_every=4))(keys, states)
    for i, key in enumerate(keys):
        single = mfbd.simulate(key, scheme, scheme.init(start), 40, record_every=4)
        ith = jax.tree_util.tree_map(lambda a, i=i: a[i], batched)
        chex.assert_trees_all_close(ith, single, rtol=1e-12, atol=1e-14)


def test_observables_are_recorded():
    problem, scheme, start = _setup()
    observe = lambda s: {"mean_y": jnp.mean(s.particles["y"])}  # noqa: E731
    state, trace = mfbd.simulate(jax.random.key(1), scheme, scheme.init(start), 20, record_every=5, observe=observe)
    np.testing.assert_allclose(trace["mean_y"][-1], jnp.mean(state.particles["y"]))
    np.testing.assert_allclose(trace["energy"][-1], problem.energy(state.particles, jnp.full(32, 1 / 32)), rtol=0.2)


def test_bad_arguments_are_named():
    _, scheme, start = _setup()
    state = scheme.init(start)
    with pytest.raises(ValueError, match="multiple of record_every"):
        mfbd.simulate(jax.random.key(0), scheme, state, 10, record_every=3)
    with pytest.raises(ValueError, match="num_steps must be a positive integer"):
        mfbd.simulate(jax.random.key(0), scheme, state, 0)
