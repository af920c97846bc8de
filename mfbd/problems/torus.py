"""MMD to atoms on the 2-D torus (Chizat 2022, mean-field Langevin study), a periodic kernel-mode problem.

Units are points θ ∈ [0, 2π)²; the target is ν = (1/J) Σ_j δ_{y_j}, J atoms
uniform on the torus; the kernel factorises,

.. math:: k(θ, θ') = g(θ_1 - θ'_1)\\, g(θ_2 - θ'_2), \\qquad g(u) = 1 + 2 Σ_{q=1}^{Q} \\frac{\\cos(q u)}{1 + q},

(positive definite: all Fourier coefficients are positive), and the energy is
E(μ) = ½ MMD²(μ, ν) = ½∫∫k dμdμ - ∫∫k dμdν + ½∫∫k dνdν, so in kernel mode
F(θ) = ∫k(θ, ·)dν, K = k, C_f = ½∫∫k dνdν. E ≥ 0 with E = 0 at μ = ν. The problem
declares ``period = 2π``: run the schemes with ``periodic=True``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from mfbd.problems.base import Problem, check_size, from_kernel

__all__ = ["torus_mmd"]

PERIOD = 2 * np.pi


def torus_mmd(atoms: int = 10, *, modes: int = 5, atom_seed: int = 0, block_size: int = 1024) -> Problem:
    """½ MMD² to ``atoms`` points uniform on [0, 2π)² (from ``atom_seed``) with Q = ``modes`` cosine modes.

    μ₀ = μ_b is the uniform law on the torus. ``problem.extras["atoms"]`` is ``[J, 2]``.
    """
    check_size("atoms", atoms)
    check_size("modes", modes)
    q = np.arange(1, modes + 1)

    def g(u):
        return 1.0 + 2.0 * jnp.sum(jnp.cos(u[..., None] * q) / (1.0 + q), axis=-1)

    def k(s, t):
        return g(s[0] - t[0]) * g(s[1] - t[1])

    y = np.random.default_rng(atom_seed).uniform(0.0, PERIOD, (atoms, 2))
    gram = np.prod(1.0 + 2.0 * np.sum(np.cos((y[:, None, :] - y[None, :, :])[..., None] * q) / (1.0 + q), -1), -1)

    def F(theta):
        return jnp.mean(jax.vmap(k, in_axes=(None, 0))(theta, jnp.asarray(y, theta.dtype)))

    def init_particles(key, n):
        return jax.random.uniform(key, (n, 2), minval=0.0, maxval=PERIOD)

    return from_kernel(
        F, k, 0.5 * float(gram.mean()), init_particles, init_particles, block_size=block_size, name="torus_mmd",
        extras={"atoms": y}, period=PERIOD,
    )  # fmt: skip
