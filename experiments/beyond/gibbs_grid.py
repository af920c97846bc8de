"""The exact minimiser of F_τ(μ) = F(μ) + τH(μ) on the 2-D torus, on a periodic grid, without particles.

For F(μ) = C_f - ∫F dμ + ½∬K dμ dμ with a translation-invariant kernel
K(θ, θ') = k(θ - θ') and H(μ) = ∫ρ log ρ (ρ the density of μ in Lebesgue
measure on [0, 2π)²), F_τ is strictly convex and its minimiser is the Gibbs
fixed point

.. math:: ρ^* ∝ \\exp(-V[ρ^*]/τ),  V[ρ] = -F + k * ρ .

The solver runs mirror descent on the grid,

.. math:: \\log ρ ← (1 - η)\\log ρ - η V[ρ]/τ   (then normalised),

with η = τ/(τ + max k) (the relative smoothness of F_τ against the entropy), the
convolution by FFT and the integrals by the periodic rectangle rule (spectrally
accurate for the analytic ρ^*). It stops when the fixed-point residual
max|log ρ + V[ρ]/τ + log Z| is below ``tol``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

PERIOD = 2 * np.pi


class Gibbs(NamedTuple):
    density: np.ndarray  # [G, G] ρ* on the grid, ∫ρ* = 1
    free_energy: float  # F_τ(ρ*) = F(ρ*) + τ ∫ρ* log ρ*
    energy: float  # F(ρ*)
    entropy: float  # h(ρ*) = -∫ρ* log ρ* (differential entropy, = -H)
    residual: float  # max |log ρ + V/τ + log Z| at the end
    iterations: int


def grid(size: int) -> np.ndarray:
    """The ``[size]`` nodes 2πj/size of one coordinate."""
    return PERIOD * np.arange(size) / size


def torus_mmd_terms(atoms: np.ndarray, size: int, modes: int = 5):
    """``(F [G, G], k [G, G], C_f)`` of :func:`mfbd.problems.torus_mmd` on the grid (k at θ - 0)."""
    q = np.arange(1, modes + 1)

    def g(u):
        return 1.0 + 2.0 * np.sum(np.cos(np.asarray(u)[..., None] * q) / (1.0 + q), axis=-1)

    x = grid(size)
    gx = g(x[:, None] - atoms[:, 0])  # [G, J]
    gy = g(x[:, None] - atoms[:, 1])
    f = gx @ gy.T / len(atoms)  # F(x, y) = mean_j g(x - a_j) g(y - b_j)
    k = np.outer(g(x), g(x))
    c_f = 0.5 * np.mean(g(atoms[:, None, 0] - atoms[None, :, 0]) * g(atoms[:, None, 1] - atoms[None, :, 1]))
    return f, k, c_f


def solve(f: np.ndarray, k: np.ndarray, c_f: float, tau: float, *, tol: float = 1e-10, max_iter: int = 200_000):
    """The minimiser of F_τ on the ``[G, G]`` grid (module docstring) from the uniform density."""
    if tau <= 0:
        raise ValueError(f"tau must be > 0 (the entropy term fixes a density), got {tau}")
    size = f.shape[0]
    cell = (PERIOD / size) ** 2
    k_hat = np.fft.rfft2(k) * cell

    def potential(rho):
        return -f + np.fft.irfft2(k_hat * np.fft.rfft2(rho), s=rho.shape)

    def normalise(log_rho):
        log_rho = log_rho - log_rho.max()
        return log_rho - np.log(np.sum(np.exp(log_rho)) * cell)

    eta = tau / (tau + float(np.max(k)))
    log_rho = normalise(np.zeros_like(f))
    iterations = 0
    while True:
        iterations += 1
        gibbs = normalise(-potential(np.exp(log_rho)) / tau)
        residual = float(np.max(np.abs(log_rho - gibbs)))
        if residual < tol or iterations == max_iter:
            break
        log_rho = normalise((1 - eta) * log_rho + eta * gibbs)
    rho = np.exp(log_rho)
    v = potential(rho)
    energy = c_f - np.sum(f * rho) * cell + 0.5 * np.sum(rho * (v + f)) * cell
    neg_entropy = float(np.sum(rho * log_rho) * cell)
    return Gibbs(rho, float(energy + tau * neg_entropy), float(energy), -neg_entropy, residual, iterations)


def sample(rng: np.random.Generator, density: np.ndarray, m: int) -> np.ndarray:
    """``[m, 2]`` draws from the piecewise-constant law of ``density`` on the grid (uniform within a cell)."""
    size = density.shape[0]
    p = density.ravel() / density.sum()
    cells = rng.choice(p.size, size=m, p=p)
    corner = np.stack([cells // size, cells % size], axis=1)
    return PERIOD * (corner + rng.uniform(-0.5, 0.5, (m, 2))) / size


def particle_errors(result: Gibbs, k: np.ndarray, tau: float, m: int, draws: int, seed: int = 0) -> dict:
    """What an m-particle F_τ = F(μ_m) - τĥ reads at the exact minimiser, against F_τ(ρ*).

    ``entropy_bias``, ``entropy_sd``: of the Kozachenko–Leonenko ĥ over ``draws`` sets of m
    samples of ρ* (periodic distances); ``energy_bias``: E F(μ_m) - F(ρ*) = (k(0) - ∬K dρ* dρ*)/(2m)
    for i.i.d. particles, exact; ``free_energy_bias`` = energy_bias - τ·entropy_bias.
    """
    import jax

    from mfbd.problems import knn_entropy

    rng = np.random.default_rng(seed)
    samples = np.stack([sample(rng, result.density, m) for _ in range(draws)]) % PERIOD
    h = np.asarray(jax.vmap(lambda x: knn_entropy(x, period=PERIOD, block_size=m))(samples))
    size = k.shape[0]
    cell = (PERIOD / size) ** 2
    conv = np.fft.irfft2(np.fft.rfft2(k) * np.fft.rfft2(result.density), s=k.shape) * cell
    energy_bias = (k[0, 0] - np.sum(result.density * conv) * cell) / (2 * m)
    entropy_bias = float(h.mean() - result.entropy)
    return {
        "entropy_bias": entropy_bias,
        "entropy_sd": float(h.std(ddof=1)),
        "energy_bias": float(energy_bias),
        "free_energy_bias": float(energy_bias - tau * entropy_bias),
    }
