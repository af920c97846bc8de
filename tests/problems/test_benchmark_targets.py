"""The banana and the 20-D Gaussian mixture (SMC-WFR benchmark targets): exact samplers, moments, densities,
the KL diagnostic, and their use from the registry and a config."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate
from scipy.stats import multivariate_normal

from mfbd.problems import banana, gaussian_mixture_20d, kl_observer, make_target, sampling
from mfbd.schemes.base import State

N = 20_000


def _draws(target, key=0, n=N):
    return target.sample(jax.random.key(key), n)


@pytest.mark.parametrize("factory", [banana, gaussian_mixture_20d])
def test_exact_samples_have_the_stated_moments(factory):
    """Sample mean and covariance of 2·10⁴ draws against the closed forms, within 5 standard errors per entry
    (SE of a mean sd/√N; of a covariance entry, the sd of the centred products over √N)."""
    target = factory()
    y = np.asarray(_draws(target))
    u = y - target.mean
    se_mean = y.std(0) / np.sqrt(N)
    assert np.all(np.abs(y.mean(0) - target.mean) <= 5 * se_mean)
    products = u[:, :, None] * u[:, None, :]
    se_cov = products.std(0) / np.sqrt(N)
    assert np.all(np.abs(products.mean(0) - target.covariance) <= 5 * se_cov + 1e-12)


@pytest.mark.parametrize("factory", [banana, gaussian_mixture_20d])
def test_the_sampler_and_the_log_density_describe_one_law(factory):
    """Stein's identities under π: E[∇log π] = 0 and E[(θ - m)∇log πᵀ] = -I, with the gradient of the
    log-density by autodiff and θ from the exact sampler (5 standard errors per entry)."""
    target = factory()
    y = _draws(target, 1)
    g = np.asarray(jax.vmap(jax.grad(target.log_density))(y))
    u = np.asarray(y) - target.mean
    assert np.all(np.abs(g.mean(0)) <= 5 * g.std(0) / np.sqrt(N))
    outer = u[:, :, None] * g[:, None, :]
    err = np.abs(outer.mean(0) + np.eye(target.dim))
    assert np.all(err <= 5 * outer.std(0) / np.sqrt(N) + 1e-12)


def test_log_densities_against_independent_forms():
    """The banana's normaliser 2π by quadrature; the mixture's log-density against scipy's Gaussian pdfs."""
    t = banana()
    x1, x2 = np.meshgrid(np.linspace(-8, 10, 901), np.linspace(-2, 101, 2061), indexing="ij")
    grid = jnp.stack([x1.ravel(), x2.ravel()], axis=1)
    mass = np.exp(np.asarray(jax.vmap(t.log_density)(grid))).sum() * (18 / 900) * (103 / 2060)
    np.testing.assert_allclose(np.log(mass), t.extras["log_normaliser"], atol=1e-3)
    m = gaussian_mixture_20d()
    x = np.asarray(_draws(m, 2)[:50])
    pdf = sum(w * multivariate_normal(mu, c).pdf(x) for w, mu, c in zip(*_parts(m), strict=True))
    np.testing.assert_allclose(np.asarray(jax.vmap(m.log_density)(jnp.asarray(x))), np.log(pdf), rtol=1e-10)
    assert np.all(np.linalg.eigvalsh(m.extras["covariances"]) > 0)


def _parts(m):
    return m.extras["weights"], m.extras["means"], m.extras["covariances"]


def test_kl_observer_on_exact_and_shifted_banana_samples():
    """KL(μ‖π) from n = 4000 particles: ≈ 0 on exact draws (to 0.05: the kNN entropy's bias and noise at
    n = 4000 in 2-D are a few 0.01), and for μ = π shifted by δ = (0.2, 0) it matches
    E_π[log π(y)] - E_π[log π(y + δ)] from 10⁵ other draws (no entropy estimate), to 0.05 plus 5 standard
    errors of the particles' own mean of log π(x) - log π(x + δ)."""
    t = banana()
    observe = kl_observer(t)

    def kl(x):
        return float(observe(State(x, None, *([None] * 7)))["kl"])

    x = t.sample(jax.random.key(3), 4000)
    assert abs(kl(x)) < 0.05
    y, delta = _draws(t, 4, 100_000), jnp.array([0.2, 0.0])
    log_pi = jax.vmap(t.log_density)
    exact = float(jnp.mean(log_pi(y)) - jnp.mean(log_pi(y + delta)))
    se = float(jnp.std(log_pi(x) - log_pi(x + delta)) / np.sqrt(4000))
    assert exact > 0.2 and abs(kl(x + delta) - exact) < 0.05 + 5 * se, (kl(x + delta), exact, se)
    copies = jnp.concatenate([x[:3000], x[:1000]])  # birth–death's duplicates: the nearest distinct neighbour
    assert np.isfinite(kl(copies)) and abs(kl(copies) - kl(x)) < 0.5
    with pytest.raises(ValueError, match="log_normaliser"):
        kl_observer(dataclasses.replace(t, extras={}))


def test_gaussian_and_double_well_normalisers_against_independent_forms():
    """log Z of the Gaussian: log π(θ) - log Z equals scipy's log-pdf; of the double well: scipy's adaptive
    quadrature of exp(-U) over R (the target tabulates it by the trapezoid rule on a grid)."""
    g = make_target("gaussian", mean=(1.0, -1.0), covariance=((1.0, 0.6), (0.6, 2.0)))
    x = np.asarray(_draws(g, 5, 20), np.float64)
    got = np.asarray(jax.vmap(g.log_density)(jnp.asarray(x))) - g.extras["log_normaliser"]
    np.testing.assert_allclose(got, multivariate_normal(g.mean, g.covariance).logpdf(x), rtol=1e-6)
    for b in (4.0, 7.0):
        w = make_target("double_well", b=b)
        z = integrate.quad(lambda y, b=b: np.exp(-(y**4 - b * y**2 + 0.2 * y)), -np.inf, np.inf)[0]
        np.testing.assert_allclose(w.extras["log_normaliser"], np.log(z), atol=1e-8)


def test_targets_are_registered_and_build_from_a_config():
    from mfbd.config.sampling import Sampling, build_sampling

    for name in ("banana", "gaussian_mixture_20d"):
        target = make_target(name)
        assert target.name == name and target.init_particles(jax.random.key(0), 5).shape == (5, target.dim)
        problem = build_sampling(Sampling(target=name, bandwidth=0.5), x64=True)
        assert problem.evaluate is not None
    assert sampling(banana(), bandwidth="median").meta.cost(10).kernel_evals == 100
