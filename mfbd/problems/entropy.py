"""Differential entropy of the particles (Kozachenko–Leonenko) and the free energy F_τ = F + τH.

For n samples of a density ρ on R^d with ε_i the distance from θ_i to its
nearest other sample, the Kozachenko–Leonenko 1-NN estimator of the entropy
h(ρ) = -∫ ρ log ρ is

.. math:: \\hat h = \\frac dn Σ_i \\log ε_i + \\log(n - 1) + \\log V_d + γ,

V_d = π^{d/2}/Γ(1 + d/2) the volume of the unit ball and γ Euler's constant
(-ψ(1)). It is consistent (bias O(n^{-1/d}) for smooth ρ). On a torus
[0, L)^d the distances are periodic (minimum image). The nearest neighbours are
found ``block_size`` rows at a time: memory O(n · block_size). Exact copies (as
right after a duplication) have ε = 0 and make ĥ = -∞: an atom has no density.

Mean-field Langevin at temperature τ minimises F_τ(μ) = F(μ) + τH(μ) with
H(μ) = ∫ log(dμ/dθ) dμ = -h, which :func:`free_energy_observer` records.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import gammaln

from mfbd._checks import positive
from mfbd.problems.base import check_size, map_rows, num_particles

__all__ = ["free_energy_observer", "knn_entropy"]


def _flat(particles):
    n = num_particles(particles)
    return jnp.concatenate([a.reshape(n, -1) for a in jax.tree_util.tree_leaves(particles)], axis=1)


def knn_entropy(particles, *, period: float | None = None, block_size: int = 1024, distinct: bool = False) -> jax.Array:
    """The Kozachenko–Leonenko estimate ĥ of -∫ ρ log ρ from n ≥ 2 particles (pytree, leading axis n).

    Args:
      particles: samples of ρ; the d coordinates of a unit are all its leaves' entries.
      period: L for the torus [0, L)^d (periodic distances), None for R^d.
      block_size: rows of the nearest-neighbour search at once (memory O(n · block_size)).
      distinct: the nearest neighbour at a positive distance (exact copies, e.g. birth–death's duplicates
        before their next noise step, would give log 0 = -∞).
    """
    check_size("block_size", block_size)
    if period is not None:
        positive("period", period)
    x = _flat(particles)
    n, d = x.shape
    if n < 2:
        raise ValueError(f"the nearest-neighbour entropy needs n ≥ 2 particles, got {n}")

    def row(args):
        xi, i = args
        diff = x - xi
        if period is not None:
            diff = diff - period * jnp.round(diff / period)
        sq = jnp.sum(diff * diff, axis=1)
        return jnp.min(jnp.where((jnp.arange(n) == i) | (distinct & (sq == 0)), jnp.inf, sq))

    nearest_sq = map_rows(row, (x, jnp.arange(n)), block_size)
    log_ball = 0.5 * d * np.log(np.pi) - gammaln(1.0 + 0.5 * d)
    return 0.5 * d * jnp.mean(jnp.log(nearest_sq)) + jnp.log(n - 1.0) + log_ball + np.euler_gamma


def free_energy_observer(noise, *, period: float | None = None, block_size: int = 1024):
    """An observer ``state -> {"entropy": ĥ, "free_energy": E - τ_k ĥ}`` (uniform particle weights).

    E is the state's energy from its last oracle pass (E of its own particles for
    transport-only schemes); τ_k is ``noise`` (a number or a schedule) at the
    state's step; ``period`` as for :func:`knn_entropy` (pass ``problem.period``).
    """

    def observe(state) -> dict:
        h = knn_entropy(state.particles, period=period, block_size=block_size).astype(state.energy.dtype)
        tau = noise(state.step) if callable(noise) else noise
        return {"entropy": h, "free_energy": state.energy - jnp.asarray(tau, h.dtype) * h}

    return observe
