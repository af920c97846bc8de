"""Experiment 1 of the paper: a mixture of Gaussians in one dimension (kernel mode).

With g_v(u) = exp(-u²/(2v)) / √(2πv) and a unit θ = (y, c),

.. math::

   φ(x, θ) = c\\, g_{1/2}(x - y), \\qquad
   f(x) = \\tfrac13 [g_{1/2}(x+2) - 2 g_1(x) + g_{1/2}(x-2)],

and ν the Lebesgue measure on R. Gaussian convolutions give the closed forms

.. math::

   F(θ) = \\tfrac{c}{3} Σ_k a_k g_{v_k + 1/2}(y - y_k), \\quad
   K(θ, θ') = c c' g_1(y - y'), \\quad
   C_f = \\tfrac1{18} Σ_{kl} a_k a_l g_{v_k + v_l}(y_k - y_l),

with (a, y, v) = ((1, -2, 1), (-2, 0, 2), (0.5, 1, 0.5)) read column-wise.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from mfbd._checks import choice
from mfbd.problems.base import Problem, from_kernel

__all__ = ["gaussian_mixture_1d", "gaussian_density", "STARTS"]

#: Target bumps: amplitude a_k, centre y_k, variance v_k (the sum is divided by 3).
AMPLITUDES = (1.0, -2.0, 1.0)
CENTRES = (-2.0, 0.0, 2.0)
VARIANCES = (0.5, 1.0, 0.5)
#: Variance of the unit's bump.
UNIT_VARIANCE = 0.5


def gaussian_density(u, v):
    """g_v(u) = exp(-u²/(2v)) / √(2πv)."""
    return jnp.exp(-(u**2) / (2 * v)) / jnp.sqrt(2 * jnp.pi * v)


def _exact_C_f() -> float:
    a, y, v = (np.asarray(t) for t in (AMPLITUDES, CENTRES, VARIANCES))
    dy = y[:, None] - y[None, :]
    vv = v[:, None] + v[None, :]
    g = np.exp(-(dy**2) / (2 * vv)) / np.sqrt(2 * np.pi * vv)
    return float(0.5 * (a @ g @ a) / 9.0)


def _good_start(key, n):
    ky, kc = jax.random.split(key)
    return {"y": jax.random.uniform(ky, (n,), minval=-2.0, maxval=2.0), "c": jax.random.normal(kc, (n,))}


def _bad_start(key, n):
    ky, kc = jax.random.split(key)
    return {"y": -2.0 + 0.1 * jax.random.normal(ky, (n,)), "c": jax.random.normal(kc, (n,))}


def _prior(key, n):
    # μ_b of the Gaussian notebook: y ~ N(0, 1) and c = 0, so f_μ does not jump at a birth.
    y = jax.random.normal(key, (n,))
    return {"y": y, "c": jnp.zeros_like(y)}


#: The paper's named initial distributions (paper-notes §5).
STARTS = {"good": _good_start, "bad": _bad_start}


def gaussian_mixture_1d(start: str = "good", *, block_size: int = 1024) -> Problem:
    """The paper's experiment 1 in kernel mode with the exact C_f.

    Args:
      start: ``"good"`` (y ~ U[-2, 2], c ~ N(0, 1)) or ``"bad"``
        (y = -2 + 0.1 N(0, 1), c ~ N(0, 1)): the distribution ``init_particles`` samples.
      block_size: rows of the n × n interaction evaluated at once.

    Particles are ``{"y": [n], "c": [n]}``; ``sample_prior`` draws μ_b
    (y ~ N(0, 1), c = 0).
    """
    choice("start", start, STARTS)
    a, yk, vk = (jnp.asarray(t) for t in (AMPLITUDES, CENTRES, VARIANCES))

    def F(theta):
        y, c = theta["y"], theta["c"]
        a_, yk_, vk_ = (t.astype(y.dtype) for t in (a, yk, vk))
        return c / 3.0 * jnp.dot(a_, gaussian_density(y - yk_, vk_ + UNIT_VARIANCE))

    def K(theta, other):
        return theta["c"] * other["c"] * gaussian_density(theta["y"] - other["y"], 2 * UNIT_VARIANCE)

    def target(x):
        x = jnp.asarray(x)  # a float64 NumPy grid becomes float32 without a warning when x64 is off
        a_, yk_, vk_ = (t.astype(x.dtype) for t in (a, yk, vk))
        return jnp.dot(gaussian_density(x[..., None] - yk_, vk_), a_) / 3.0

    def predict(particles, weights, x):
        g = gaussian_density(x[:, None] - particles["y"][None, :], UNIT_VARIANCE)
        return g @ (weights * particles["c"])

    return from_kernel(
        F,
        K,
        _exact_C_f(),
        STARTS[start],
        _prior,
        block_size=block_size,
        name=f"gaussian_mixture_1d[{start}]",
        predict=predict,
        target=target,
    )
