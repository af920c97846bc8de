"""The mean-field oracle: V(θ, μ), ∇_θ V and E(μ) from one pass.

A :class:`Problem` bundles a model (unit φ, target f, data measure ν) with the
functions the schemes need. Two evaluation modes build it (paper-notes §1):

* **kernel mode** (:func:`from_kernel`): closed-form F, K and C_f,

  .. math::

     V(θ_i) = -F(θ_i) + Σ_j w_j K(θ_i, θ_j), \\qquad
     E = C_f - Σ_i w_i F(θ_i) + ½ Σ_{ij} w_i w_j K(θ_i, θ_j)
       = C_f + ½ Σ_i w_i (V_i - F_i).

  Rows i are processed in blocks, so memory is O(n · block_size), not O(n²).

* **data mode** (:func:`~mfbd.problems.data.from_data`): samples x_1..x_m of ν
  and a loss ℓ(f, y) (squared by default),

  .. math::

     r_k = ∂_f ℓ(f_μ(x_k), y_k) \\ (= f_μ(x_k) - f(x_k)), \\qquad
     V_i = \\frac1m Σ_k φ(x_k, θ_i) r_k, \\qquad E = \\frac1m Σ_k ℓ(f_μ(x_k), y_k).

  The data are processed in blocks of ``block_size`` samples (a scan), so
  memory is O(n · block_size), not O(n · m).

Per-unit math is written for one unit θ (a pytree of scalars or vectors) and
lifted with ``vmap``; a population of n units is the same pytree with a leading
axis n on every leaf.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "Evaluation",
    "Problem",
    "check_size",
    "check_weights",
    "from_kernel",
    "map_rows",
    "num_particles",
]

Particles = Any  # a pytree whose leaves have leading axis n


class Evaluation(NamedTuple):
    """One pass of the oracle at a weighted population μ = Σ_j w_j δ_{θ_j}.

    Attributes:
      potential: ``[n]`` V(θ_i, μ).
      grad_potential: ∇_θ V(θ_i, μ), same pytree as the particles.
      energy: scalar E(μ) (a batch estimate in data mode with a fresh batch).
    """

    potential: jax.Array
    grad_potential: Particles
    energy: jax.Array


@dataclasses.dataclass(frozen=True, eq=False)
class Problem:
    """An energy E(μ) and its first variation V, ready for the particle schemes.

    ``evaluate``, ``potential`` and ``energy`` take the weights of
    μ = Σ_j w_j δ_{θ_j} with w_j ≥ 0 and Σ_j w_j = 1; ``weights=None`` means
    uniform w_j = 1/n. Concrete weights that are negative or do not sum to one
    raise a ValueError (under jit or vmap the check is skipped).

    Attributes:
      evaluate: ``(particles, weights, key) -> Evaluation``; the key feeds the
        data batch in data mode (and the median bandwidth in sampling mode) and
        is ignored in kernel mode.
      init_particles: ``(key, n) -> particles``, a sample of the default μ₀.
      sample_prior: ``(key, n) -> particles``, a sample of the birth measure μ_b
        (``None`` if the problem has none).
      mode: ``"kernel"``, ``"data"`` or ``"sampling"``.
      name: short name used in messages and run directories.
      predict: optional ``(particles, weights, x) -> f_μ(x)`` for ``x`` of shape
        ``[m, ...]``, used by figures.
      target: optional ``x -> f(x)`` (batched like ``predict``).
      meta: the family's typed, frozen record of constants for figures and the edge
        (:class:`~mfbd.problems.sampling.SamplingMeta`,
        :class:`~mfbd.problems.student_teacher.TeacherMeta`; None: none).
      extras: free-form constants by name (the digits split, the torus atoms, a user's).
      period: L when the units live on the torus [0, L)^d (every coordinate of
        every leaf; E must then be L-periodic): schemes with ``periodic=True`` wrap
        positions into [0, L) and the entropy estimator uses the periodic distance.
        None: R^d.
    """

    evaluate: Callable[..., Evaluation]
    init_particles: Callable[[jax.Array, int], Particles]
    sample_prior: Callable[[jax.Array, int], Particles] | None = None
    mode: str = "kernel"
    name: str = "problem"
    predict: Callable[..., jax.Array] | None = None
    target: Callable[[jax.Array], jax.Array] | None = None
    meta: Any = None
    extras: dict = dataclasses.field(default_factory=dict)
    period: float | None = None

    def __post_init__(self):
        object.__setattr__(self, "evaluate", _checking_weights(self.evaluate))

    def potential(self, particles, weights=None, key=None):
        """``(V, ∇V)`` at every particle (weights Σ w = 1, None: uniform), from one value-and-gradient pass."""
        ev = self.evaluate(particles, weights, _default_key(key))
        return ev.potential, ev.grad_potential

    def energy(self, particles, weights=None, key=None):
        """E(μ) (weights Σ w = 1, None: uniform); in data mode with a sampler, a batch estimate (fixed key if None)."""
        return self.evaluate(particles, weights, _default_key(key)).energy


def _default_key(key):
    return jax.random.key(0) if key is None else key


def _checking_weights(evaluate):
    """``evaluate`` with ``weights=None`` read as uniform and concrete weights checked."""
    if getattr(evaluate, "checks_weights", False):
        return evaluate

    @functools.wraps(evaluate)
    def checked(particles, weights=None, key=None):
        return evaluate(particles, check_weights(particles, weights), key)

    checked.checks_weights = True
    return checked


def check_weights(particles: Particles, weights):
    """Uniform 1/n weights for None; else ``weights`` after checking a concrete array is ``[n]``,
    ≥ 0 and sums to one within √ε of its dtype (ValueError otherwise; tracers pass unchecked)."""
    n = num_particles(particles)
    if weights is None:
        dtype = jnp.result_type(*jax.tree_util.tree_leaves(particles))
        dtype = dtype if jnp.issubdtype(dtype, jnp.floating) else jnp.result_type(float)
        return jnp.full((n,), 1.0 / n, dtype)
    if jnp.shape(weights) != (n,):
        raise ValueError(f"weights must have shape [{n}] (one per particle), got {jnp.shape(weights)}")
    try:
        w = np.asarray(weights)
    except jax.errors.JAXTypeError:  # a tracer under jit or vmap
        return weights
    tol = float(np.sqrt(np.finfo(w.dtype).eps)) if np.issubdtype(w.dtype, np.floating) else 1e-8
    if (w < 0).any():
        raise ValueError(f"weights must be ≥ 0, got min {w.min():.3g}; pass None for uniform 1/n")
    if not abs(float(w.sum(dtype=np.float64)) - 1.0) <= tol:
        raise ValueError(f"weights must sum to 1 (Σ w = {float(w.sum()):.6g}); pass None for uniform 1/n")
    return weights


def check_size(name: str, value) -> int:
    """Raise a one-line ValueError unless ``value`` is a positive integer."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def num_particles(particles: Particles) -> int:
    """The size n of the leading axis shared by every leaf."""
    return jax.tree_util.tree_leaves(particles)[0].shape[0]


def map_rows(row: Callable, particles: Particles, block_size: int):
    """``vmap(row)(particles)``, evaluated ``block_size`` particles at a time when n is larger.

    Memory is then O(block_size · n) for a row that interacts with all n particles.
    """
    if num_particles(particles) <= block_size:
        return jax.vmap(row)(particles)
    return jax.lax.map(row, particles, batch_size=block_size)


def from_kernel(
    F: Callable[[Any], jax.Array],
    K: Callable[[Any, Any], jax.Array],
    C_f: float,
    init_particles: Callable[[jax.Array, int], Particles],
    sample_prior: Callable[[jax.Array, int], Particles] | None = None,
    *,
    block_size: int = 1024,
    name: str = "kernel_problem",
    **fields,
) -> Problem:
    """A kernel-mode problem from closed forms for one unit.

    Args:
      F: ``θ -> F(θ) = ∫ f φ(·, θ) dν`` for one unit.
      K: ``(θ, θ') -> K(θ, θ') = ∫ φ(·, θ) φ(·, θ') dν``; its gradient in θ must
        stay finite when θ = θ' (duplicated units coincide exactly).
      C_f: ``½ ∫ f² dν``.
      init_particles, sample_prior: samplers of μ₀ and μ_b, ``(key, n)``.
      block_size: rows of the interaction evaluated at once.
      name, fields: passed on to :class:`Problem` (``predict``, ``target``, ...).

    Example:
      >>> import jax, jax.numpy as jnp
      >>> p = from_kernel(lambda t: t, lambda s, t: s * t, 0.5,
      ...                 lambda k, n: jax.random.normal(k, (n,)))
      >>> V, dV = p.potential(jnp.array([1.0, 2.0]), jnp.array([0.5, 0.5]))
    """

    check_size("block_size", block_size)

    def unit_potential(theta, others, weights):
        # V(θ) = -F(θ) + Σ_j w_j K(θ, θ_j); F(θ) rides along for the energy.
        f = F(theta)
        k = jax.vmap(K, in_axes=(None, 0))(theta, others)
        return -f + jnp.dot(weights, k.astype(f.dtype)), f

    value_and_grad = jax.value_and_grad(unit_potential, has_aux=True)

    @jax.jit
    def evaluate(particles, weights, key=None):
        del key
        others = jax.lax.stop_gradient(particles)

        def row(theta):
            (v, f), g = value_and_grad(theta, others, weights)
            return v, f, g

        v, f, g = map_rows(row, particles, block_size)
        energy = jnp.asarray(C_f, v.dtype) + 0.5 * jnp.dot(weights, v - f)
        return Evaluation(v, g, energy)

    return Problem(
        evaluate=evaluate,
        init_particles=init_particles,
        sample_prior=sample_prior,
        mode="kernel",
        name=name,
        **fields,
    )
