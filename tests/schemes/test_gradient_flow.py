"""Gradient flow against an independent NumPy implementation of the Gaussian
notebook's update, energy monotonicity and the dissipation identity."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import mfbd
from mfbd.problems import gaussian_mixture_1d


def _notebook_gd(y, c, dt, steps):
    """The notebook's hand-written Euler step (paper-notes §5), in float64 NumPy."""
    a, yk, vk, s2 = np.array([1.0, -2.0, 1.0]), np.array([-2.0, 0.0, 2.0]), np.array([0.5, 1.0, 0.5]), 0.5
    n = y.size

    def normal(u, v):
        return np.exp(-(u**2) / (2 * v)) / np.sqrt(2 * np.pi * v)

    for _ in range(steps):
        d = y[:, None] - yk[None, :]
        F = normal(d, vk + s2) @ a / 3
        dF = -(d / (vk + s2) * normal(d, vk + s2)) @ a / 3
        dy = y[:, None] - y[None, :]
        K = np.exp(-(dy**2) / (4 * s2)) / (2 * np.sqrt(np.pi * s2))
        dK = -dy * np.exp(-(dy**2) / (4 * s2)) / (4 * s2 * np.sqrt(np.pi * s2))
        c_new = c + dt * (F - K @ c / n)
        y_new = y + dt * (c * dF - c * (dK @ c) / n)
        y, c = y_new, c_new
    return y, c


def test_matches_numpy_notebook_update_to_1e_10():
    problem = gaussian_mixture_1d()
    p = problem.init_particles(jax.random.key(0), 200)
    p = jax.tree_util.tree_map(lambda a: a.astype(jnp.float64), p)
    scheme = mfbd.gradient_flow(problem, dt=0.01)
    state, _ = mfbd.simulate(jax.random.key(1), scheme, scheme.init(p), 100, record_every=100)
    y, c = _notebook_gd(np.asarray(p["y"]), np.asarray(p["c"]), 0.01, 100)
    np.testing.assert_allclose(state.particles["y"], y, rtol=0, atol=1e-10)
    np.testing.assert_allclose(state.particles["c"], c, rtol=0, atol=1e-10)
    assert np.max(np.abs(y - np.asarray(p["y"]))) > 1e-3  # the particles did move


@pytest.mark.parametrize("make", [lambda p: mfbd.gradient_flow(p, 1e-3), lambda p: mfbd.reweighting(p, 1e-3, 5.0)])
def test_energy_never_increases_at_small_dt(make):
    problem = gaussian_mixture_1d()
    p = jax.tree_util.tree_map(lambda a: a.astype(jnp.float64), problem.init_particles(jax.random.key(2), 100))
    scheme = make(problem)
    _, trace = mfbd.simulate(jax.random.key(3), scheme, scheme.init(p), 2000, record_every=1)
    e = np.asarray(trace["energy"])
    assert np.all(np.diff(e) <= 1e-15), np.max(np.diff(e))
    assert e[-1] < 0.5 * e[0]


def _dissipation_error(scheme_fn, dt, t_end=0.2):
    """max_k |(E_{k+1} - E_k)/dt - Ė_k| / max|Ė| along a run, with the exact
    Ė = -Σ w|∇V|² - αΣ w(V - V̄)² evaluated at each state."""
    problem = gaussian_mixture_1d()
    p = jax.tree_util.tree_map(lambda a: a.astype(jnp.float64), problem.init_particles(jax.random.key(4), 64))
    scheme, alpha = scheme_fn(problem, dt)
    state = scheme.init(p)
    step = jax.jit(scheme.step)

    @jax.jit
    def exact(state):
        w = jax.nn.softmax(state.log_weights)
        ev = problem.evaluate(state.particles, w)
        grad_sq = sum(g**2 for g in jax.tree_util.tree_leaves(ev.grad_potential))
        v_bar = jnp.dot(w, ev.potential)
        return ev.energy, -jnp.dot(w, grad_sq) - alpha * jnp.dot(w, (ev.potential - v_bar) ** 2)

    errors, rates = [], []
    for k in range(int(round(t_end / dt))):
        e0, rate = exact(state)
        state, _ = step(jax.random.key(k), state)
        e1, _ = exact(state)
        errors.append(abs((e1 - e0) / dt - rate))
        rates.append(abs(rate))
    return max(errors) / max(rates)


@pytest.mark.parametrize(
    "scheme_fn",
    [
        lambda p, dt: (mfbd.gradient_flow(p, dt), 0.0),
        lambda p, dt: (mfbd.reweighting(p, dt, 5.0), 5.0),
    ],
    ids=["gradient_flow", "reweighting"],
)
def test_dissipation_identity_holds_to_first_order(scheme_fn):
    coarse = _dissipation_error(scheme_fn, 0.01)
    fine = _dissipation_error(scheme_fn, 0.005)
    assert coarse < 0.05
    # First order: halving dt halves the error (observed ratio ≈ 2).
    assert 1.6 < coarse / fine < 2.5, (coarse, fine)
