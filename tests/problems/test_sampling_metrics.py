"""Targets and sampling metrics against scipy/numpy references and Monte-Carlo error."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.integrate import quad
from scipy.stats import wasserstein_distance

import mfbd
from mfbd.problems import (
    double_well,
    double_well_observer,
    make_target,
    mmd2,
    moment_errors,
    sampling,
    sampling_observer,
    w1_marginals,
)


def _data(seed=0, n=30, m=40):
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(n, 2)), rng.normal(size=(m, 2)) + 0.5
    return jnp.asarray(x), jnp.asarray(rng.dirichlet(np.ones(n))), jnp.asarray(y)


def test_mmd2_against_the_explicit_v_statistic():
    x, w, y = _data()
    xn, wn, yn = map(np.asarray, (x, w, y))

    def k(a, b):
        return np.exp(-((a[:, None] - b[None]) ** 2).sum(-1))

    v = wn @ k(xn, xn) @ wn - 2 * wn @ k(xn, yn).mean(1) + k(yn, yn).mean()
    np.testing.assert_allclose(mmd2(x, w, y), v, rtol=1e-12)
    np.testing.assert_allclose(mmd2(x, w, y, block_size=7), v, rtol=1e-12)


def test_w1_marginals_against_scipy_weighted():
    x, w, y = _data()
    ref = np.mean([wasserstein_distance(x[:, c], y[:, c], u_weights=w) for c in range(2)])
    np.testing.assert_allclose(w1_marginals(x, w, y), ref, rtol=1e-10)


def test_moment_errors_against_numpy():
    x, w, _ = _data()
    mean, cov = np.array([0.1, -0.2]), np.array([[1.0, 0.2], [0.2, 0.5]])
    out = moment_errors(x, w, mean, cov)
    c = np.cov(np.asarray(x).T, aweights=np.asarray(w), bias=True)
    np.testing.assert_allclose(out["mean_error"], np.linalg.norm(np.asarray(w) @ np.asarray(x) - mean), rtol=1e-12)
    np.testing.assert_allclose(out["cov_error"], np.linalg.norm(c - cov), rtol=1e-12)


@pytest.mark.parametrize("b", [3.0, 5.0])
def test_double_well_exact_quantities_against_quadrature(b):
    target = double_well(b=b)
    Z = quad(lambda x: np.exp(-(x**4 - b * x**2 + 0.2 * x)), -10, 10, points=[0.0])[0]
    s = target.extras["saddle"]
    left = quad(lambda x: np.exp(-(x**4 - b * x**2 + 0.2 * x)), -10, s)[0] / Z
    mean = quad(lambda x: x * np.exp(-(x**4 - b * x**2 + 0.2 * x)), -10, 10, points=[0.0])[0] / Z
    np.testing.assert_allclose(target.extras["mass_left"], left, rtol=1e-7)
    np.testing.assert_allclose(target.mean[0], mean, atol=1e-7)
    assert abs(4 * s**3 - 2 * b * s + 0.2) < 1e-9 and abs(s) < 0.1
    x = np.asarray(target.sample(jax.random.key(0), 20_000))[:, 0]
    n = x.size
    assert abs((x < s).mean() - left) <= 4 * np.sqrt(left * (1 - left) / n)
    assert abs(x.mean() - mean) <= 4 * np.sqrt(target.covariance[0, 0] / n)


def test_four_mode_samples_match_the_exact_moments():
    target = make_target("four_mode_mixture")
    x = np.asarray(target.sample(jax.random.key(1), 40_000))
    n = x.shape[0]
    np.testing.assert_allclose(target.mean, [0.0, 5.0])
    assert np.all(np.abs(x.mean(0) - target.mean) <= 4 * np.sqrt(np.diag(target.covariance) / n))
    np.testing.assert_allclose(np.cov(x.T), target.covariance, rtol=0.05, atol=0.05)  # ~10 SE at n = 40k
    start = np.asarray(target.init_particles(jax.random.key(2), 40_000))
    assert np.all(np.abs(start.mean(0) - [0.0, 8.0]) < 0.03) and abs(start[:, 1].std() - 0.1) < 0.002


def test_observers_run_inside_simulate_with_the_state_weights():
    target = make_target("double_well")
    problem = sampling(target, bandwidth=0.3)
    scheme = mfbd.reweighting(problem, 0.01, 1.0, noise=1.0)
    state = scheme.init(target.sample(jax.random.key(0), 32))  # both basins occupied
    observe = sampling_observer(target, jax.random.key(1), 256)
    basins = double_well_observer(target)
    final, trace = mfbd.simulate(
        jax.random.key(2), scheme, state, 20, record_every=10, observe=lambda s: observe(s) | basins(s)
    )
    w = jax.nn.softmax(final.log_weights)
    y = target.sample(jax.random.key(1), 256)
    np.testing.assert_allclose(trace["mmd2"][-1], mmd2(final.particles, w, y), rtol=1e-10)
    left = float(jnp.sum(jnp.where(final.particles[:, 0] < target.extras["saddle"], w, 0.0)))
    assert 0 < left < 1
    np.testing.assert_allclose(trace["mass_left"][-1], left, rtol=1e-12)
    np.testing.assert_allclose(trace["delta_F"][-1], np.log(left / (1 - left)), rtol=1e-10)
