"""Target measures π ∝ exp(-U) for sampling mode, with exact samples and moments.

Each factory returns a :class:`Target`: the unnormalised log-density log π = -U
of one point θ ``[d]``, the default start μ₀, and whatever is known exactly
(samples, mean, covariance, basin masses) for the metrics and tests. Targets are
built by name from :data:`TARGETS` (``make_target("double_well", b=5.0)``), so a
config can name them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from mfbd._checks import choice, finite, positive

__all__ = [
    "TARGETS",
    "Target",
    "banana",
    "double_well",
    "four_mode_mixture",
    "gaussian",
    "gaussian_mixture_20d",
    "gaussian_fokker_planck_law",
    "make_target",
]


@dataclasses.dataclass(frozen=True, eq=False)
class Target:
    """A target π on R^d.

    Attributes:
      name: the registry name.
      dim: d.
      log_density: ``θ [d] -> log π(θ)`` up to a constant (= -U(θ)).
      init_particles: ``(key, n) -> [n, d]``, the default start μ₀.
      sample: ``(key, n) -> [n, d]`` exact samples of π (None if unknown).
      mean, covariance: π's ``[d]`` mean and ``[d, d]`` covariance (numpy).
      params: the factory's arguments (what a config names).
      extras: target-specific exact quantities (basin masses, saddle, ...); every bundled target has
        ``log_normaliser`` = log ∫ exp(log_density), which :func:`~mfbd.problems.kl_observer` needs.
    """

    name: str
    dim: int
    log_density: Callable[[jax.Array], jax.Array]
    init_particles: Callable[[jax.Array, int], jax.Array]
    sample: Callable[[jax.Array, int], jax.Array] | None
    mean: np.ndarray
    covariance: np.ndarray
    params: dict = dataclasses.field(default_factory=dict)
    extras: dict = dataclasses.field(default_factory=dict)


def _gaussian_sampler(mean, covariance):
    mean = np.asarray(mean, float)
    chol = np.linalg.cholesky(np.asarray(covariance, float))

    def sample(key, n):
        xi = jax.random.normal(key, (n, mean.shape[0]))
        return jnp.asarray(mean, xi.dtype) + xi @ jnp.asarray(chol.T, xi.dtype)

    return sample


def _spd(name, matrix, dim):
    matrix = np.asarray(matrix, float)
    if matrix.shape != (dim, dim) or not np.allclose(matrix, matrix.T):
        raise ValueError(f"{name} must be a symmetric [{dim}, {dim}] matrix, got shape {matrix.shape}")
    if np.linalg.eigvalsh(matrix).min() <= 0:
        raise ValueError(f"{name} must be positive definite")
    return matrix


def _vector(name, vector, dim):
    vector = np.asarray(vector, float)
    if vector.size != dim:
        raise ValueError(f"{name} must have dim = {dim} entries, got shape {vector.shape}")
    return vector.reshape(dim)


def gaussian(dim: int = 2, mean=None, covariance=None, init_mean=None, init_covariance=None) -> Target:
    """π = N(mean, covariance) (default N(0, I)); μ₀ = N(init_mean, init_covariance)
    (default N(3·1, I/4)). Its Fokker–Planck law from μ₀ is :func:`gaussian_fokker_planck_law`."""
    if int(dim) != dim or dim < 1:
        raise ValueError(f"dim must be a positive integer, got {dim}")
    mean = np.zeros(dim) if mean is None else _vector("mean", mean, dim)
    cov = _spd("covariance", np.eye(dim) if covariance is None else covariance, dim)
    init_mean = np.full(dim, 3.0) if init_mean is None else _vector("init_mean", init_mean, dim)
    init_cov = _spd("init_covariance", np.eye(dim) / 4 if init_covariance is None else init_covariance, dim)
    precision = np.linalg.inv(cov)
    log_z = float(0.5 * np.linalg.slogdet(2 * np.pi * cov)[1])  # log ∫ exp(log_density)

    def log_density(theta):
        u = theta - jnp.asarray(mean, theta.dtype)
        return -0.5 * u @ jnp.asarray(precision, theta.dtype) @ u

    params = {"dim": dim, "mean": mean.tolist(), "covariance": cov.tolist()}
    params |= {"init_mean": init_mean.tolist(), "init_covariance": init_cov.tolist()}
    return Target(
        "gaussian",
        dim,
        log_density,
        _gaussian_sampler(init_mean, init_cov),
        _gaussian_sampler(mean, cov),
        mean,
        cov,
        params,
        {"init_mean": init_mean, "init_covariance": init_cov, "log_normaliser": log_z},
    )


def gaussian_fokker_planck_law(target: Target, t: float, m0=None, S0=None):
    """The exact law N(m_t, C_t) at time t of ∂_t μ = ∇·(μ∇U) + Δμ for a Gaussian target.

    With A = Σ⁻¹ (symmetric), m_t = m* + e^{-At}(m₀ - m*) and
    C_t = Σ + e^{-At}(S₀ - Σ)e^{-At} (the Ornstein–Uhlenbeck law). ``m0, S0``
    default to the target's start.
    """
    m0 = target.extras["init_mean"] if m0 is None else np.asarray(m0, float)
    S0 = target.extras["init_covariance"] if S0 is None else np.asarray(S0, float)
    evals, evecs = np.linalg.eigh(np.linalg.inv(target.covariance))
    decay = evecs @ np.diag(np.exp(-evals * t)) @ evecs.T
    return target.mean + decay @ (m0 - target.mean), target.covariance + decay @ (S0 - target.covariance) @ decay


def _tabulated(log_density_np, lo, hi, points=200_001):
    """Grid x, normalised density p, CDF and log Z = log ∫ exp(log_density) (trapezoid) of a 1-D density
    known up to a constant."""
    x = np.linspace(lo, hi, points)
    logp = log_density_np(x)
    p = np.exp(logp - logp.max())
    z = np.trapezoid(p, x)
    p /= z
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (p[1:] + p[:-1]) * np.diff(x))])
    return x, p, cdf / cdf[-1], float(logp.max() + np.log(z))


def double_well(b: float = 4.0, tilt: float = 0.2) -> Target:
    """U(x) = x⁴ - b x² + tilt·x on R (the bdld example; b = 4), π ∝ e^{-U}.

    Raising b raises the barrier (about b²/4 above the wells, ``extras["barrier"]``
    gives it exactly from the shallower right well). μ₀ is the harmonic approximation
    of the right well, N(x₊, 1/U''(x₊)). Exact samples are drawn by inverting the
    CDF tabulated on a fine grid; ``extras`` holds the saddle x_s, the exact mass of
    x < x_s and ΔF = -log(mass₊/mass₋).
    """
    positive("b", b)
    finite("tilt", tilt)

    def U_np(x):
        return x**4 - b * x**2 + tilt * x

    roots = np.sort(np.roots([4.0, 0.0, -2.0 * b, tilt]).real)
    left, saddle, right = roots if len(roots) == 3 else (roots[0], roots[0], roots[0])
    half_width = 2.0 * np.sqrt(b / 2) + 4.0
    x, p, cdf, log_z = _tabulated(lambda x: -U_np(x), -half_width, half_width)
    mass_left = float(np.interp(saddle, x, cdf))
    mean = float(np.trapezoid(x * p, x))
    var = float(np.trapezoid((x - mean) ** 2 * p, x))
    curvature = 12 * right**2 - 2 * b

    def log_density(theta):
        y = theta[0]
        return -(y**4 - b * y**2 + tilt * y)

    def sample(key, n):
        u = jax.random.uniform(key, (n,))
        return jnp.interp(u, jnp.asarray(cdf, u.dtype), jnp.asarray(x, u.dtype))[:, None]

    def init_particles(key, n):
        return float(right) + jax.random.normal(key, (n, 1)) / float(np.sqrt(max(curvature, 1e-6)))

    extras = {
        "saddle": float(saddle),
        "wells": (float(left), float(right)),
        "barrier": float(U_np(saddle) - U_np(right)),
        "mass_left": mass_left,
        "delta_F": float(-np.log((1 - mass_left) / mass_left)),
        "log_normaliser": log_z,
    }
    return Target(
        "double_well",
        1,
        log_density,
        init_particles,
        sample,
        np.array([mean]),
        np.array([[var]]),
        {"b": b, "tilt": tilt},
        extras,
    )


#: The four-mode anisotropic mixture of the SMC-WFR study (weights ¼).
FOUR_MODE_MEANS = ((0.0, 8.0), (0.0, 2.0), (-3.0, 5.0), (3.0, 5.0))
FOUR_MODE_VARIANCES = ((1.2, 0.01), (1.2, 0.01), (0.01, 2.0), (0.01, 2.0))


def four_mode_mixture() -> Target:
    """π = ¼ Σ_k N(m_k, diag(v_k)) in 2-D with the means and variances above; μ₀ = mode 1."""
    means, var = np.asarray(FOUR_MODE_MEANS), np.asarray(FOUR_MODE_VARIANCES)

    def log_density(theta):
        m, v = jnp.asarray(means, theta.dtype), jnp.asarray(var, theta.dtype)
        log_comp = -0.5 * jnp.sum((theta - m) ** 2 / v + jnp.log(2 * jnp.pi * v), axis=-1)
        return jax.nn.logsumexp(log_comp) - jnp.log(4.0).astype(theta.dtype)

    def sample(key, n):
        kc, kx = jax.random.split(key)
        k = jax.random.randint(kc, (n,), 0, 4)
        xi = jax.random.normal(kx, (n, 2))
        return jnp.asarray(means, xi.dtype)[k] + xi * jnp.sqrt(jnp.asarray(var, xi.dtype))[k]

    mean = means.mean(axis=0)
    second = np.mean([np.diag(v) + np.outer(m, m) for m, v in zip(means, var, strict=True)], axis=0)
    return Target(
        "four_mode_mixture",
        2,
        log_density,
        _gaussian_sampler(means[0], np.diag(var[0])),
        sample,
        mean,
        second - np.outer(mean, mean),
        {},
        {"means": means, "variances": var, "log_normaliser": 0.0},
    )


#: The banana of the SMC-WFR benchmark: σ = √2 (its published value).
BANANA_SIGMA = float(np.sqrt(2.0))


def banana() -> Target:
    """The twisted Gaussian ("banana") of the SMC-WFR benchmark in 2-D, σ = √2:

    .. math:: \\log π(θ) = -σ^2(θ_2 - θ_1^2)^2/2 - (1 - θ_1)^2/(2σ^2),

    i.e. θ₁ ~ N(1, σ²) and θ₂ | θ₁ ~ N(θ₁², 1/σ²) (the exact sampler). Moments: mean (1, 1 + σ²),
    Var θ₁ = σ², Cov(θ₁, θ₂) = 2σ², Var θ₂ = 4σ² + 2σ⁴ + 1/σ²; normaliser log Z = log(2π).
    μ₀ = N(0, I) (the published start).
    """
    s = BANANA_SIGMA

    def log_density(theta):
        return -(s**2) * (theta[1] - theta[0] ** 2) ** 2 / 2 - (1 - theta[0]) ** 2 / (2 * s**2)

    def sample(key, n):
        xi = jax.random.normal(key, (n, 2))
        x1 = 1.0 + s * xi[:, 0]
        return jnp.stack([x1, x1**2 + xi[:, 1] / s], axis=1)

    mean = np.array([1.0, 1.0 + s**2])
    cov = np.array([[s**2, 2 * s**2], [2 * s**2, 4 * s**2 + 2 * s**4 + 1 / s**2]])
    extras = {"log_normaliser": float(np.log(2 * np.pi))}
    return Target("banana", 2, log_density, _gaussian_sampler(np.zeros(2), np.eye(2)), sample, mean, cov, {}, extras)


def _mixture20_parts():
    """Weights, means and covariances of :func:`gaussian_mixture_20d`."""
    d = 20
    corr = 0.5 ** np.abs(np.subtract.outer(np.arange(d), np.arange(d)))
    flip = np.where(np.arange(d) % 2 == 1, -1.0, 1.0)
    third = np.where(np.arange(d) % 2 == 0, 2.0, 5.0)
    means = np.stack([np.full(d, 3.0), np.full(d, 4.0), third])
    covs = np.stack([2 * corr, 2 * corr, corr * np.outer(flip, flip)])
    return np.array([1 / 2, 1 / 3, 1 / 6]), means, covs


def gaussian_mixture_20d() -> Target:
    """A 20-D mixture of three Gaussians on the pattern of the SMC-WFR benchmark: weights ½, ⅓, ⅙, means
    3·1, 4·1 and (2, 5, 2, 5, ...), covariances 2C, 2C and SCS, with C the correlation matrix
    C_ij = 0.5^(abs(i − j)) and S = diag(1, -1, 1, -1, ...) (the published C is a data file; its third
    covariance (M∘C)⁻¹ is replaced by SCS, anti-correlated neighbours). Normalised (log Z = 0);
    μ₀ = N(0, I) (the published start)."""
    weights, means, covs = _mixture20_parts()
    chols = np.linalg.cholesky(covs)
    precisions = np.linalg.inv(covs)
    log_norms = np.log(weights) - 0.5 * (20 * np.log(2 * np.pi) + np.linalg.slogdet(covs)[1])

    def log_density(theta):
        u = theta - jnp.asarray(means, theta.dtype)
        quad = jnp.einsum("ki,kij,kj->k", u, jnp.asarray(precisions, theta.dtype), u)
        return jax.nn.logsumexp(jnp.asarray(log_norms, theta.dtype) - 0.5 * quad)

    def sample(key, n):
        kc, kx = jax.random.split(key)
        k = jax.random.choice(kc, 3, (n,), p=jnp.asarray(weights))
        xi = jax.random.normal(kx, (n, 20))
        return jnp.asarray(means, xi.dtype)[k] + jnp.einsum("nij,nj->ni", jnp.asarray(chols, xi.dtype)[k], xi)

    mean = weights @ means
    second = np.einsum("k,kij->ij", weights, covs + np.einsum("ki,kj->kij", means, means))
    extras = {"weights": weights, "means": means, "covariances": covs, "log_normaliser": 0.0}
    init, cov = _gaussian_sampler(np.zeros(20), np.eye(20)), second - np.outer(mean, mean)
    return Target("gaussian_mixture_20d", 20, log_density, init, sample, mean, cov, {}, extras)


#: Target factories by name (what a config's ``target`` names).
TARGETS = {
    "gaussian": gaussian,
    "double_well": double_well,
    "four_mode_mixture": four_mode_mixture,
    "banana": banana,
    "gaussian_mixture_20d": gaussian_mixture_20d,
}


def make_target(name: str, **params) -> Target:
    """The target ``name`` of :data:`TARGETS` built with ``params``."""
    return TARGETS[choice("target", name, TARGETS)](**params)
