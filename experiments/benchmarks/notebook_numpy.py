"""Experiment 1 the way the authors' Gaussian notebook runs it: a Python loop over steps in NumPy.

Written for the benchmarks from the algorithm in paper-notes §4–5 (not copied
from the notebook). Float64 NumPy, closed forms, n = 200, mean-field scaling
f_μ = (1/n) Σ c_i g_{1/2}(x - y_i). Each step:

1. simultaneous Euler step of the gradient flow, from the old positions,
   c_i += Δt [F(y_i) - (1/n) Σ_j K_ij c_j],  y_i += Δt c_i [F'(y_i) - (1/n) Σ_j ∂_y K_ij c_j];
2. unless quenched, birth-death at the new positions with uncentred, linear
   probabilities: a_i = p · c_i [F(y_i) - (1/n) Σ_j K_ij c_j] (p = αΔt = 0.05);
   one uniform draw per unit, a loop over the units: kill if a_i < 0, clone if
   a_i > 0, with probability |a_i|;
3. rebalance: drop the killed, append the clones, then delete a uniform subset
   or append copies of uniform units (or, for μ_b, fresh units y ~ N(0, 1),
   c = 0);
4. the energy E = C_f - (1/n) Σ c_i F(y_i) + (1/2n²) Σ_ij c_i c_j K_ij.
"""

from __future__ import annotations

import numpy as np

from mfbd.problems.gaussian_mixture import AMPLITUDES, CENTRES, UNIT_VARIANCE, VARIANCES, _exact_C_f

ARMS = ("gd", "gd_bd", "gd_bd_prior")


def _gauss(u, v):
    return np.exp(-(u**2) / (2 * v)) / np.sqrt(2 * np.pi * v)


def F(y):
    """F(y) / c = (1/3) Σ_k a_k g_{v_k + 1/2}(y - y_k)."""
    return (
        sum(a * _gauss(y - yk, vk + UNIT_VARIANCE) for a, yk, vk in zip(AMPLITUDES, CENTRES, VARIANCES, strict=True))
        / 3
    )


def dF(y):
    return (
        sum(
            -a * (y - yk) / (vk + UNIT_VARIANCE) * _gauss(y - yk, vk + UNIT_VARIANCE)
            for a, yk, vk in zip(AMPLITUDES, CENTRES, VARIANCES, strict=True)
        )
        / 3
    )


def K(y):
    """K_ij / (c_i c_j) = g_1(y_i - y_j)."""
    return _gauss(y[:, None] - y[None, :], 2 * UNIT_VARIANCE)


def dK(y):
    d = y[:, None] - y[None, :]
    return -d / (2 * UNIT_VARIANCE) * _gauss(d, 2 * UNIT_VARIANCE)


class NotebookRun:
    """One run of one arm; ``step()`` advances one time step and returns E."""

    def __init__(self, y, c, arm, num_steps, seed, dt=0.01, p=0.05, quench=1000):
        if arm not in ARMS:
            raise ValueError(f"unknown arm {arm!r}; choose one of {ARMS}")
        self.y, self.c = np.array(y, np.float64), np.array(c, np.float64)
        self.n = self.y.shape[0]
        self.arm, self.num_steps, self.dt, self.p, self.quench = arm, num_steps, dt, p, quench
        self.rng = np.random.default_rng(seed)
        self.C_f = _exact_C_f()
        self.t = 0

    def step(self):
        y, c, n = self.y, self.c, self.n
        kc = K(y) @ c / n
        grad_c = F(y) - kc
        grad_y = c * (dF(y) - dK(y) @ c / n)
        y, c = y + self.dt * grad_y, c + self.dt * grad_c
        if self.arm != "gd" and self.t < self.num_steps - self.quench:
            y, c = self.birth_death(y, c)
        self.y, self.c, self.t = y, c, self.t + 1
        return self.C_f - np.mean(c * F(y)) + 0.5 * c @ K(y) @ c / n**2

    def birth_death(self, y, c):
        n = self.n
        a = self.p * c * (F(y) - K(y) @ c / n)
        killed, clones = [], []
        for i in range(n):
            if self.rng.random() < abs(a[i]):
                if a[i] < 0:
                    killed.append(i)
                else:
                    clones.append(i)
        keep = np.setdiff1d(np.arange(n), killed)
        y = np.concatenate([y[keep], y[clones]])
        c = np.concatenate([c[keep], c[clones]])
        delta = y.shape[0] - n
        if delta > 0:
            stay = np.sort(self.rng.permutation(y.shape[0])[:n])
            y, c = y[stay], c[stay]
        elif delta < 0 and self.arm == "gd_bd":
            pick = self.rng.integers(0, y.shape[0], -delta)
            y, c = np.concatenate([y, y[pick]]), np.concatenate([c, c[pick]])
        elif delta < 0:
            y = np.concatenate([y, self.rng.standard_normal(-delta)])
            c = np.concatenate([c, np.zeros(-delta)])
        return y, c
