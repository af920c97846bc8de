"""Sampling metrics of a weighted particle measure μ = Σ_i w_i δ_{θ_i} against π.

Each metric takes particles ``x [n, d]``, weights ``w [n]`` (Σ w = 1) and, where
it compares with π, exact samples ``y [m, d]``. :func:`sampling_observer` and
:func:`double_well_observer` wrap them as ``state -> dict`` observables for
``mfbd.simulate(..., observe=...)`` (weights are the state's, so scheme B is
measured with its weights).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from mfbd.problems.base import map_rows
from mfbd.problems.entropy import knn_entropy
from mfbd.problems.targets import Target

__all__ = [
    "basin_mass",
    "double_well_observer",
    "kl_observer",
    "mmd2",
    "moment_errors",
    "sampling_observer",
    "w1_marginals",
]


def _mean_rbf(x, y, y_weights, block_size):
    """``[n]`` Σ_j v_j exp(-‖x_i - y_j‖²) for the rows x_i (blocked over i)."""
    return map_rows(lambda a: jnp.exp(-jnp.sum((a - y) ** 2, axis=-1)) @ y_weights, x, block_size)


def mmd2(x, w, y, *, yy=None, block_size: int = 1024):
    """Squared MMD (biased V-statistic) with the RBF kernel k(a, b) = exp(-‖a - b‖²):

    .. math:: Σ_{ij} w_i w_j k(x_i, x_j) - 2 Σ_i w_i \\frac1m Σ_k k(x_i, y_k) + \\frac1{m^2} Σ_{kl} k(y_k, y_l).

    ``yy`` may pass the last term when it is reused.
    """
    m = y.shape[0]
    uniform = jnp.full((m,), 1.0 / m, y.dtype)
    if yy is None:
        yy = uniform @ _mean_rbf(y, y, uniform, block_size)
    xx = w @ _mean_rbf(x, x, w, block_size)
    xy = w @ _mean_rbf(x, y, uniform.astype(x.dtype), block_size)
    return xx - 2.0 * xy + yy


def w1_marginals(x, w, y):
    """Mean over coordinates of the 1-D W1 = ∫|F_μ - F_π| between the weighted
    marginal of μ and the empirical marginal of ``y`` (exact, from the merged sort)."""
    m = y.shape[0]
    signed = jnp.concatenate([w, jnp.full((m,), -1.0 / m, w.dtype)])

    def one(coordinate):
        z, s = coordinate
        order = jnp.argsort(z)
        z, cdf_gap = z[order], jnp.cumsum(s[order])
        return jnp.sum(jnp.abs(cdf_gap[:-1]) * jnp.diff(z))

    z = jnp.concatenate([x, y.astype(x.dtype)], axis=0).T  # [d, n + m]
    return jnp.mean(jax.vmap(one)((z, jnp.broadcast_to(signed, z.shape))))


def moment_errors(x, w, mean, covariance):
    """``{"mean_error": ‖m_μ - m_π‖, "cov_error": ‖C_μ - C_π‖_F}`` with the weighted mean and covariance."""
    m = w @ x
    u = x - m
    c = (u * w[:, None]).T @ u
    mean, covariance = jnp.asarray(mean, x.dtype), jnp.asarray(covariance, x.dtype)
    return {"mean_error": jnp.linalg.norm(m - mean), "cov_error": jnp.linalg.norm(c - covariance)}


def basin_mass(x, w, split):
    """μ-mass of {θ_0 < split} (the left basin of a double well)."""
    return jnp.sum(jnp.where(x[:, 0] < split, w, 0.0))


def _weights(state):
    return jax.nn.softmax(state.log_weights)


def sampling_observer(target: Target, key, num_samples: int = 2000, *, block_size: int = 1024):
    """``state -> {"mmd2", "w1", "mean_error", "cov_error"}`` against ``num_samples`` exact samples
    of ``target`` drawn once with ``key`` (their self-term of MMD² is computed once)."""
    if target.sample is None:
        raise ValueError(f"target {target.name} has no exact sampler; MMD and W1 need one")
    y = target.sample(key, num_samples)
    uniform = jnp.full((num_samples,), 1.0 / num_samples, y.dtype)
    yy = uniform @ _mean_rbf(y, y, uniform, block_size)

    def observe(state):
        x, w = state.particles, _weights(state)
        ys = y.astype(x.dtype)
        out = {"mmd2": mmd2(x, w, ys, yy=yy.astype(x.dtype), block_size=block_size), "w1": w1_marginals(x, w, ys)}
        return out | moment_errors(x, w, target.mean, target.covariance)

    return observe


def double_well_observer(target: Target):
    """``state -> {"mass_left", "delta_F"}``: the mass left of the saddle and ΔF = -log(mass₊/mass₋)
    (compare with ``target.extras["mass_left"]`` and ``["delta_F"]``)."""
    split = target.extras["saddle"]

    def observe(state):
        left = basin_mass(state.particles, _weights(state), split)
        return {"mass_left": left, "delta_F": jnp.log(left) - jnp.log1p(-left)}

    return observe


def kl_observer(target: Target):
    """``state -> {"kl"}``: KL(μ‖π) ≈ -ĥ(μ) - (1/n)Σ_i log π(θ_i) + log Z for equally weighted particles, with ĥ
    the Kozachenko–Leonenko entropy (:func:`~mfbd.problems.entropy.knn_entropy` with ``distinct=True``: exact
    copies skipped; biased at small n in high d: compare arms at the same n) and
    log Z = ``target.extras["log_normaliser"]`` (of exp(log_density))."""
    if "log_normaliser" not in target.extras:
        raise ValueError(f"target {target.name} has no extras['log_normaliser']; the KL estimate needs log Z")
    log_z = target.extras["log_normaliser"]

    def observe(state):
        x = state.particles
        return {"kl": -knn_entropy(x, distinct=True) - jnp.mean(jax.vmap(target.log_density)(x)) + log_z}

    return observe
