"""Data mode: the oracle from samples of ν and a loss ℓ(f, y) (paper-notes §1).

With f_μ(x) = Σ_j w_j φ(x, θ_j) (a scalar, or k outputs when a unit returns ``[k]``)
and the per-sample residual r_k = ∂_f ℓ(f_μ(x_k), y_k) (:mod:`mfbd.problems.losses`),

.. math::

   V_i = \\frac1m Σ_k r_k · φ(x_k, θ_i), \\qquad
   ∇_θ V_i = \\frac1m Σ_k r_k · ∂_θ φ(x_k, θ_i), \\qquad
   E = \\frac1m Σ_k ℓ(f_μ(x_k), y_k).

For the squared loss r_k = f_μ(x_k) - y_k and E = Σ r_k²/(2m), the paper's energy.
The data are processed in blocks of ``block_size`` samples (a scan), so memory is
O(n · block_size · k), not O(n · m). :func:`with_weight_decay` adds λ∫|θ|² dμ.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from mfbd._checks import nonnegative
from mfbd.problems.base import Evaluation, Particles, Problem, _default_key, check_size
from mfbd.problems.losses import Loss, check_labels, check_loss, label_spec, make_loss

__all__ = ["from_data", "with_weight_decay"]


def from_data(
    unit: Callable[[jax.Array, Any], jax.Array],
    target: Callable[[jax.Array], jax.Array] | None,
    init_particles: Callable[[jax.Array, int], Particles],
    sample_prior: Callable[[jax.Array, int], Particles] | None = None,
    *,
    sampler: Callable[[jax.Array, int], Any] | None = None,
    batch_size: int | None = None,
    data: jax.Array | tuple[jax.Array, jax.Array] | None = None,
    block_size: int = 1024,
    loss: str | Loss | Callable = "squared",
    weight_decay: float = 0.0,
    name: str = "data_problem",
    **fields,
) -> Problem:
    """A data-mode problem from a unit function, samples of ν and a loss.

    Give either ``sampler`` and ``batch_size`` (a fresh batch from the step key
    every evaluation: SGD) or a fixed ``data`` set (full batch). Data are inputs
    ``x [m, ...]`` with labels f(x) from ``target``, or a labelled pair
    ``(x [m, ...], y [m, ...])`` (a sampler may return such a pair too); then
    ``target`` (may be None) only serves figures.

    Args:
      unit: ``(x, θ) -> φ(x, θ)`` for one sample and one unit (in that order), a
        scalar or a vector of k outputs.
      target: ``x -> f(x)`` (the label y) for one sample, or None with labelled data.
      init_particles, sample_prior: samplers of μ₀ and μ_b, ``(key, n)``.
      sampler: ``(key, m) -> x [m, ...]`` or ``(x, y)``, samples of ν.
      batch_size: m, the fresh batch size when ``sampler`` is given.
      data: a fixed data set ``x [m, ...]`` or ``(x, y)``.
      block_size: samples processed at once (memory O(n · block_size)); must divide m.
      loss: a name in :data:`~mfbd.problems.losses.LOSSES`, a :class:`~mfbd.problems.losses.Loss`
        or a function ``(f, y) -> ℓ`` for one sample (differentiated by JAX).
      weight_decay: λ ≥ 0 of the confinement λ∫|θ|² dμ added to E (:func:`with_weight_decay`).

    Example:
      >>> import jax, jax.numpy as jnp
      >>> x = jnp.linspace(-1.0, 1.0, 8)
      >>> p = from_data(lambda x, t: t[0] * jnp.tanh(t[1] * x), None,
      ...               lambda k, n: jax.random.normal(k, (n, 2)), data=(x, jnp.sign(x)), loss="logistic")
      >>> V, dV = p.potential(jnp.ones((4, 2)))
    """
    if (sampler is None) == (data is None):
        raise ValueError("from_data needs exactly one of `sampler` (with batch_size) or `data`")
    check_size("block_size", block_size)
    loss = make_loss(loss)
    nonnegative("weight_decay", weight_decay)
    if sampler is not None:
        if batch_size is None:
            raise ValueError("from_data with a sampler needs a positive `batch_size`")
        check_size("batch_size", batch_size)
        data_spec = jax.eval_shape(lambda k: sampler(k, batch_size), jax.random.key(0))
    else:
        if isinstance(data, tuple | list):
            if len(data) != 2:
                raise ValueError(f"labelled data must be a pair (x, y), got {len(data)} arrays")
            data = tuple(jnp.asarray(a) for a in data)
        else:
            data = jnp.asarray(data)
        data_spec = data
    x_spec, y_spec = _split(data_spec)
    labelled = y_spec is not None
    if target is None and not labelled:
        raise ValueError("from_data needs a `target` unless the data are labelled, data=(x, y)")
    m = x_spec.shape[0]
    if m % min(block_size, m):
        raise ValueError(f"data size {m} is not a multiple of block_size {block_size}; change either")
    out = _probe_unit(unit, init_particles, x_spec)
    y_one = _probe_labels(loss, out, target, x_spec, y_spec)
    if labelled:
        check_labels(loss, y_spec, out.shape)
    keep_int = jnp.issubdtype(y_one.dtype, jnp.integer) and loss.labels in ("class", "any")
    vector = out.shape != ()

    # Particles-major [n, b(, k)]: the matmul inside lands in the layout the row sums
    # and the pullback read, with no transposed copies of the block.
    features = jax.vmap(jax.vmap(unit, in_axes=(0, None)), in_axes=(None, 0))
    batched_target = jax.vmap(target) if target is not None else None

    def combine(weights, phi):
        """f_μ = Σ_j w_j φ_j over the leading axis of ``phi``."""
        return jnp.tensordot(weights, phi, axes=1) if vector else weights @ phi

    @jax.jit
    def evaluate(particles, weights, key=None):
        xs, ys = _split(data if data is not None else sampler(_default_key(key), batch_size))
        xs = xs.astype(weights.dtype)
        ys = batched_target(xs) if ys is None else ys
        ys = ys if keep_int else ys.astype(weights.dtype)
        b = min(block_size, m)
        blocks = (xs.reshape((m // b, b) + xs.shape[1:]), ys.reshape((m // b, b) + ys.shape[1:]))

        def accumulate(carry, block):
            x, y = block
            v_sum, g_sum, loss_sum = carry
            phi, pullback = jax.vjp(lambda th: features(x, th), particles)
            r, block_loss = loss.residual_and_sum(combine(weights, phi), y)  # r = ∂_f ℓ(f_μ, y)
            r = r.astype(phi.dtype)
            (g,) = pullback(jnp.broadcast_to(r[None], phi.shape))
            v_sum = v_sum + (jnp.einsum("nbk,bk->n", phi, r) if vector else phi @ r)
            g_sum = jax.tree_util.tree_map(jnp.add, g_sum, g)
            return (v_sum, g_sum, loss_sum + block_loss), None

        zeros = (
            jnp.zeros(weights.shape[0], weights.dtype),
            jax.tree_util.tree_map(jnp.zeros_like, particles),
            jnp.zeros((), weights.dtype),
        )
        if m == b:
            (v, g, total), _ = accumulate(zeros, (blocks[0][0], blocks[1][0]))
        else:
            (v, g, total), _ = jax.lax.scan(accumulate, zeros, blocks)
        g = jax.tree_util.tree_map(lambda a: a / m, g)
        return Evaluation(v / m, g, total / m)

    def predict(particles, weights, x):
        return combine(weights, features(x, particles))

    problem = Problem(
        evaluate=evaluate,
        init_particles=init_particles,
        sample_prior=sample_prior,
        mode="data",
        name=name,
        predict=fields.pop("predict", predict),
        target=fields.pop("target", batched_target),
        **fields,
    )
    return with_weight_decay(problem, weight_decay) if weight_decay else problem


def with_weight_decay(problem: Problem, weight_decay: float) -> Problem:
    """``problem`` with the confinement λ∫|θ|² dμ added to its energy (any mode).

    .. math:: V_i ← V_i + λ|θ_i|², \\quad ∇V_i ← ∇V_i + 2λθ_i, \\quad E ← E + λ Σ_i w_i |θ_i|²,

    with the squared norm of θ summed over every leaf of the unit.
    """
    nonnegative("weight_decay", weight_decay)
    inner = getattr(problem.evaluate, "__wrapped__", problem.evaluate)  # weights are checked by the new Problem

    @jax.jit
    def evaluate(particles, weights, key=None):
        ev = inner(particles, weights, key)
        leaves = jax.tree_util.tree_leaves(particles)
        sq = sum(jnp.sum(a.reshape(a.shape[0], -1) ** 2, axis=1) for a in leaves).astype(ev.potential.dtype)
        grad = jax.tree_util.tree_map(lambda g, a: g + 2.0 * weight_decay * a, ev.grad_potential, particles)
        return Evaluation(ev.potential + weight_decay * sq, grad, ev.energy + weight_decay * jnp.dot(weights, sq))

    return dataclasses.replace(problem, evaluate=evaluate)


def _split(batch):
    """``(x, y)`` for a labelled batch, ``(x, None)`` for inputs only."""
    if isinstance(batch, tuple | list):
        x, y = batch
        if jnp.shape(y)[:1] != jnp.shape(x)[:1]:
            raise ValueError(f"labels y must have shape [m] = {jnp.shape(x)[:1]} on the first axis, got {jnp.shape(y)}")
        return x, y
    return batch, None


def _probe_unit(unit, init_particles, x_spec):
    """The output spec of one unit on one sample; one-line errors for a wrong signature or shape."""
    theta = jax.eval_shape(lambda k: jax.tree_util.tree_map(lambda a: a[0], init_particles(k, 2)), jax.random.key(0))
    x = jax.ShapeDtypeStruct(x_spec.shape[1:], x_spec.dtype)
    try:
        out = jax.eval_shape(unit, x, theta)
    except Exception as error:
        try:
            jax.eval_shape(unit, theta, x)
        except Exception:
            raise ValueError(f"unit(x, θ) fails on one sample and one unit: {error}".splitlines()[0]) from error
        message = "unit must be written unit(x, θ) (sample first, then the unit); it looks like unit(θ, x)"
        raise ValueError(message) from error
    if len(out.shape) > 1:
        raise ValueError(f"unit(x, θ) must return a scalar or a vector [k] for one sample, got shape {out.shape}")
    return out


def _probe_labels(loss: Loss, out, target, x_spec, y_spec):
    """The spec of one label; one-line errors when labels, unit output and loss do not fit."""
    if y_spec is not None:
        y_one = jax.ShapeDtypeStruct(y_spec.shape[1:], y_spec.dtype)
    else:
        y_one = jax.eval_shape(target, jax.ShapeDtypeStruct(x_spec.shape[1:], x_spec.dtype))
    need = label_spec(loss, out.shape, y_one.shape)
    if y_one.shape != need:
        what = "labels y" if y_spec is not None else "target(x)"
        if loss.labels == "output" and out.shape != () and y_one.shape == ():
            raise ValueError(f"unit(x, θ) must return a scalar like {what} (shape ()), got shape {out.shape}")
        shape = "[m" + "".join(f", {d}" for d in need) + "]"
        raise ValueError(
            f"{what} must have shape {shape} for the {loss.name} loss with unit output shape {out.shape}; "
            f"got per-sample shape {y_one.shape}"
        )
    check_labels(loss, y_one, out.shape)  # the label dtype, before the loss is traced with it
    check_loss(loss, jax.ShapeDtypeStruct(out.shape, jnp.result_type(float)), y_one)
    return y_one
