"""Adaptive Δt (mfbd.adaptive): meets its tolerance against a fine reference on experiment 1,
jits and vmaps over seeds with a Δt per seed, resumes bit-identically, honours the step
budget, and matches the closed form of a non-interacting reaction under the transfer limit."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import mfbd
from mfbd.adaptive import adaptive, run_adaptive, simulate_adaptive
from mfbd.problems import gaussian_mixture_1d, non_interacting

ALPHA, T, N = 5.0, 0.5, 40
TIMES = [0.125, 0.25, 0.375, 0.5]


def _start(problem, seed=0):
    return problem.init_particles(jax.random.key(seed), N)


def test_meets_its_tolerance_on_experiment_1_against_a_fine_reference():
    problem = gaussian_mixture_1d()
    start = _start(problem)
    fine = mfbd.reweighting(problem, T / 1000, ALPHA, order=2)
    reference = mfbd.simulate(jax.random.key(1), fine, fine.init(start), 1000, record_every=1000)[0].energy
    rtol = 1e-4
    scheme = adaptive(problem, ALPHA, rtol=rtol, atol=1e-6)
    a, trace = simulate_adaptive(jax.random.key(1), scheme, scheme.init(start), TIMES)
    np.testing.assert_array_equal(trace["time"], TIMES)  # records land on the requested times
    assert abs(float(a.state.energy) - float(reference)) / float(reference) < rtol
    assert int(a.accepted) > 4 and int(trace["passes"][-1]) == 2 * int(a.accepted + a.rejected) + 1


def test_vmaps_over_seeds_each_with_its_own_dt_and_resumes_bit_identically():
    problem = gaussian_mixture_1d()
    scheme = adaptive(problem, ALPHA, rtol=1e-3, atol=1e-5)
    starts = [scheme.init(_start(problem, seed)) for seed in (0, 1)]
    keys = jax.random.split(jax.random.key(1), 2)
    batched = jax.tree_util.tree_map(lambda *x: jnp.stack(x), *starts)
    a, trace = run_adaptive(scheme, None, seeds=True)(keys, batched, jnp.asarray(TIMES))
    assert trace["dt"].shape == (2, len(TIMES)) and float(trace["dt"][0, -1]) != float(trace["dt"][1, -1])
    for s, start in enumerate(starts):
        one, _ = simulate_adaptive(keys[s], scheme, start, TIMES)
        np.testing.assert_allclose(a.state.particles["y"][s], one.state.particles["y"], rtol=1e-12)
        assert int(a.accepted[s]) == int(one.accepted)
    whole, _ = simulate_adaptive(keys[0], scheme, starts[0], TIMES)
    half, _ = simulate_adaptive(keys[0], scheme, starts[0], TIMES[:2])
    resumed, _ = simulate_adaptive(keys[0], scheme, half, TIMES[2:])
    chex.assert_trees_all_equal(whole, resumed)


def test_step_budget_stops_the_run_short():
    problem = gaussian_mixture_1d()
    scheme = adaptive(problem, ALPHA, rtol=1e-6, atol=1e-8, max_steps=3)
    a, trace = simulate_adaptive(jax.random.key(1), scheme, scheme.init(_start(problem)), [T])
    assert int(a.accepted + a.rejected) == 3 and float(trace["time"][0]) < T


def test_transfer_limit_follows_the_non_interacting_closed_form():
    # V = U(θ) frozen, no transport: w_T ∝ w_0 exp(-αT U) exactly; α = 50 makes one step move most of the mass.
    problem = non_interacting(lambda t: t + 0.5 * t**2, lambda k, n: jax.random.normal(k, (n,), jnp.float64))
    start = problem.init_particles(jax.random.key(0), 64)
    alpha, t_end = 50.0, 0.2
    exact = jax.nn.softmax(-alpha * t_end * (start + 0.5 * start**2))
    counts = {}
    for limit in (None, 0.05):
        scheme = adaptive(problem, alpha, rtol=1e-6, atol=1e-9, max_transfer=limit, transport=False)
        a, _ = simulate_adaptive(jax.random.key(1), scheme, scheme.init(start), [t_end])
        np.testing.assert_allclose(jax.nn.softmax(a.state.log_weights), exact, atol=1e-5)
        counts[limit] = int(a.accepted)
    moved = 0.5 * float(jnp.abs(exact - 1 / 64).sum())
    assert counts[0.05] >= moved / 0.05 > counts[None] / 2


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(alpha=lambda k: 1.0), "constant alpha"),
        (dict(rtol=0.0), "rtol must be a positive"),
        (dict(max_transfer=2.0), "max_transfer must be in"),
        (dict(max_steps=0), "max_steps must be a positive integer"),
    ],
)
def test_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        adaptive(gaussian_mixture_1d(), **kwargs)
