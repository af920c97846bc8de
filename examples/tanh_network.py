"""A two-layer tanh network on a fixed labelled data set, as a user problem of ``mfbd run``.

The unit is φ(x, θ) = c·tanh(w·x + b) with θ = (c, w, b), the network the
mean-field average f_μ(x) = Σ_i w_i φ(x, θ_i), and the energy the full-batch
square loss on m labelled samples (x_k, y_k),

.. math:: E(μ) = \\frac{1}{2m} Σ_k (f_μ(x_k) - y_k)^2 .

The labels come from a teacher of ``teacher_width`` tanh units (drawn from
``data_seed``) plus Gaussian noise of standard deviation ``label_noise``; the
pair ``(x, y)`` is the fixed labelled data set of :func:`mfbd.problems.from_data`.

Run it from the repository root (so that ``examples`` is importable)::

    python -m mfbd run examples/tanh_network.toml
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

import mfbd


def unit(x, theta):
    """φ(x, θ) = c·tanh(w·x + b) for one sample x and one unit."""
    return theta["c"] * jnp.tanh(jnp.dot(theta["w"], x) + theta["b"])


def labelled_data(key, samples: int, dim: int, teacher_width: int, label_noise: float, dtype):
    """``(x, y)``: x ~ N(0, I_dim), y = teacher(x) + label_noise·ξ, the teacher (1/k) Σ_j a_j tanh(u_j·x)."""
    k_x, k_u, k_a, k_noise = jax.random.split(key, 4)
    x = jax.random.normal(k_x, (samples, dim), dtype)
    u = jax.random.normal(k_u, (teacher_width, dim), dtype)
    a = jax.random.normal(k_a, (teacher_width,), dtype) * 2.0
    y = jnp.tanh(x @ u.T) @ a / teacher_width + label_noise * jax.random.normal(k_noise, (samples,), dtype)
    return x, y


def tanh_network(
    samples: int = 128,
    dim: int = 2,
    teacher_width: int = 3,
    label_noise: float = 0.0,
    data_seed: int = 0,
    dtype=jnp.float64,
) -> mfbd.problems.Problem:
    """The problem (the factory named in ``tanh_network.toml``); ``dtype`` is filled in by the runner.

    Particles are ``{"c": [n], "w": [n, dim], "b": [n]}``; μ₀ = μ_b draws
    c ~ N(0, 1), w ~ N(0, I/dim), b ~ N(0, 1).
    """
    if samples < 1 or dim < 1 or teacher_width < 1:
        raise ValueError(f"samples, dim and teacher_width must be ≥ 1, got {samples}, {dim}, {teacher_width}")
    data = labelled_data(jax.random.key(data_seed), samples, dim, teacher_width, label_noise, dtype)

    def init_particles(key, n):
        k_c, k_w, k_b = jax.random.split(key, 3)
        return {
            "c": jax.random.normal(k_c, (n,), dtype),
            "w": jax.random.normal(k_w, (n, dim), dtype) / jnp.sqrt(dim),
            "b": jax.random.normal(k_b, (n,), dtype),
        }

    return mfbd.problems.from_data(
        unit, None, init_particles, init_particles, data=data, name="tanh_network", extras={"data": data}
    )
