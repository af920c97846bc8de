"""Experiment 1's closed forms against quadrature, and the oracle against autodiff."""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mfbd.problems import gaussian_mixture_1d
from mfbd.problems.gaussian_mixture import UNIT_VARIANCE, _exact_C_f

X = np.linspace(-15.0, 15.0, 60_001)  # quadrature grid for ν = Lebesgue on R


def _g(u, v):
    return np.exp(-(u**2) / (2 * v)) / np.sqrt(2 * np.pi * v)


def _f(x):
    return (_g(x + 2, 0.5) - 2 * _g(x, 1.0) + _g(x - 2, 0.5)) / 3


def _phi(x, y, c):
    return c * _g(x - y, UNIT_VARIANCE)


def _particles(n, seed=0):
    rng = np.random.default_rng(seed)
    return {"y": jnp.asarray(rng.uniform(-3, 3, n)), "c": jnp.asarray(rng.standard_normal(n))}


def test_C_f_is_half_the_integral_of_f_squared():
    exact = 0.5 * np.trapezoid(_f(X) ** 2, X)
    np.testing.assert_allclose(_exact_C_f(), exact, rtol=1e-10)
    assert abs(_exact_C_f() - 0.206 / 3) > 1e-4  # the notebook's rounded constant differs


def test_energy_equals_quadrature_of_the_squared_residual():
    problem = gaussian_mixture_1d()
    p = _particles(7)
    w = jnp.asarray(np.random.default_rng(1).dirichlet(np.ones(7)))
    f_mu = sum(float(w[i]) * _phi(X, float(p["y"][i]), float(p["c"][i])) for i in range(7))
    exact = 0.5 * np.trapezoid((f_mu - _f(X)) ** 2, X)
    np.testing.assert_allclose(problem.energy(p, w), exact, rtol=1e-9)
    np.testing.assert_allclose(problem.predict(p, w, jnp.asarray(X[::100])), f_mu[::100], atol=1e-12)
    np.testing.assert_allclose(problem.target(jnp.asarray(X[::100])), _f(X[::100]), atol=1e-12)


def test_potential_equals_quadrature_of_phi_times_residual():
    problem = gaussian_mixture_1d()
    p = _particles(5)
    w = jnp.full(5, 0.2)
    f_mu = sum(0.2 * _phi(X, float(p["y"][i]), float(p["c"][i])) for i in range(5))
    v, _ = problem.potential(p, w)
    for i in range(5):
        vi = np.trapezoid(_phi(X, float(p["y"][i]), float(p["c"][i])) * (f_mu - _f(X)), X)
        np.testing.assert_allclose(v[i], vi, rtol=1e-9, atol=1e-12)


def test_potential_is_the_weight_derivative_of_the_energy():
    problem = gaussian_mixture_1d()
    p = _particles(9)
    w = jnp.full(9, 1 / 9)
    v, _ = problem.potential(p, w)
    dE_dw = jax.grad(lambda w: problem.energy(p, w))(w)
    np.testing.assert_allclose(v, dE_dw, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", ["y", "c"])
def test_grad_potential_matches_finite_differences(name):
    problem = gaussian_mixture_1d()
    p = _particles(6)
    w = jnp.full(6, 1 / 6)
    _, grad = problem.potential(p, w)
    h = 1e-6
    for i in range(6):
        # Move unit i only as the argument of V(·, μ): μ stays fixed.
        @jax.jit
        def v_at(delta, i=i):
            theta = {k: a[i] for k, a in p.items()}
            theta[name] = theta[name] + delta
            moved = {k: jnp.concatenate([p[k], jnp.atleast_1d(theta[k])]) for k in p}
            v, _ = problem.potential(moved, jnp.concatenate([w, jnp.zeros(1)]))
            return v[-1]

        fd = (v_at(h) - v_at(-h)) / (2 * h)
        np.testing.assert_allclose(grad[name][i], fd, rtol=1e-6, atol=1e-9)


def test_blocked_rows_equal_one_block():
    p = _particles(50)
    w = jnp.full(50, 1 / 50)
    full = gaussian_mixture_1d(block_size=1024).evaluate(p, w)
    blocked = gaussian_mixture_1d(block_size=8).evaluate(p, w)
    jax.tree_util.tree_map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15), full, blocked)


def test_duplicated_units_give_finite_values():
    p = _particles(4)
    p = {k: a.at[1].set(a[0]) for k, a in p.items()}
    ev = gaussian_mixture_1d().evaluate(p, jnp.full(4, 0.25))
    assert all(np.isfinite(np.asarray(x)).all() for x in jax.tree_util.tree_leaves(ev))
    np.testing.assert_allclose(ev.potential[0], ev.potential[1])


def test_named_starts_and_prior():
    key = jax.random.key(3)
    good = gaussian_mixture_1d("good").init_particles(key, 4000)
    bad = gaussian_mixture_1d("bad").init_particles(key, 4000)
    assert -2 <= float(good["y"].min()) and float(good["y"].max()) <= 2
    np.testing.assert_allclose(float(bad["y"].mean()), -2.0, atol=4 * 0.1 / np.sqrt(4000))
    prior = gaussian_mixture_1d().sample_prior(key, 10)
    assert float(jnp.abs(prior["c"]).max()) == 0.0
    with pytest.raises(ValueError, match="unknown start"):
        gaussian_mixture_1d("ugly")


def test_target_on_a_numpy_grid_warns_nothing_in_float32():
    """The figures evaluate f on a float64 NumPy grid; with x64 off that must not warn (issue 22)."""
    problem = gaussian_mixture_1d()
    grid = np.linspace(-5.0, 5.0, 11)
    with jax.enable_x64(False), warnings.catch_warnings():
        warnings.simplefilter("error")
        values = problem.target(grid)
    assert values.dtype == jnp.float32
    np.testing.assert_allclose(values, np.asarray(problem.target(jnp.asarray(grid, jnp.float32))), rtol=1e-6)
