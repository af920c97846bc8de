"""Losses ℓ(f, y) for data mode: the energy E(μ) = E_x ℓ(f_μ(x), y) and its first variation.

With f_μ(x) = Σ_j w_j φ(x, θ_j) (a scalar, or a vector of k outputs) the first
variation of E is

.. math:: V(θ) = E_x[∂_f ℓ(f_μ(x), y) · φ(x, θ)],

so a loss enters the oracle only through the per-sample derivative ∂_f ℓ (the
"residual"; f_μ - y for the squared loss). Built in (``LOSSES``):

* ``"squared"``: ℓ = ½|f - y|², labels of the output's shape;
* ``"logistic"``: ℓ = log(1 + e^{-y f}), scalar output, labels y ∈ {-1, +1};
* ``"softmax_cross_entropy"``: ℓ = log Σ_c e^{f_c} - f_y, k ≥ 2 outputs,
  integer class labels y ∈ {0, …, k-1};
* ``"huber"``: ℓ = Σ_c h_δ(f_c - y_c), h_δ(r) = r²/2 for |r| ≤ δ, else δ(|r| - δ/2)
  (δ = 1; :func:`huber` for another δ).

A user's loss is any ``(f, y) -> scalar`` for one sample, differentiated by JAX.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["LOSSES", "Loss", "huber", "make_loss"]


class Loss(NamedTuple):
    """A per-sample loss and what its labels must be.

    Attributes:
      name: short name for messages.
      value: ``(f, y) -> ℓ`` for one sample (f a scalar or ``[k]``).
      labels: ``"output"`` (labels shaped like f, real), ``"sign"`` (scalar ±1,
        scalar output), ``"class"`` (integer class index, vector output) or ``"any"``.
      residual: optional ``(f, y) -> (∂_f ℓ, ℓ)`` for a block ``[b, ...]`` (summed ℓ);
        None: from ``value`` by autodiff.
    """

    name: str
    value: Callable
    labels: str = "any"
    residual: Callable | None = None

    def residual_and_sum(self, f, y):
        """``(∂_f ℓ [b, ...], Σ_b ℓ)`` over a block of samples."""
        if self.residual is not None:
            return self.residual(f, y)
        values, grads = jax.vmap(jax.value_and_grad(self.value))(f, y)
        return grads, jnp.sum(values)


def _squared_residual(f, y):
    # r = f_μ - y and ½Σr² (the half is exact in floating point: bit-identical to E = Σr²/(2m)).
    r = f - y.astype(f.dtype)
    return r, 0.5 * jnp.sum(r * r)


def _huber_value(delta):
    def value(f, y):
        r = jnp.abs(f - y)
        return jnp.sum(jnp.where(r <= delta, 0.5 * r * r, delta * (r - 0.5 * delta)))

    return value


def huber(delta: float = 1.0) -> Loss:
    """The Huber loss Σ_c h_δ(f_c - y_c) with threshold δ > 0."""
    if not (np.isfinite(delta) and delta > 0):  # δ is a Python number: a closure constant of the loss
        raise ValueError(f"huber delta must be > 0 and finite, got {delta}")
    return Loss(f"huber(delta={delta})", _huber_value(float(delta)), "output")


def _logistic(f, y):
    return jax.nn.softplus(-y * f)


def _softmax_cross_entropy(f, y):
    return jax.nn.logsumexp(f) - jnp.take(f, y)


LOSSES = {
    "squared": Loss("squared", lambda f, y: 0.5 * jnp.sum((f - y) ** 2), "output", _squared_residual),
    "logistic": Loss("logistic", _logistic, "sign"),
    "softmax_cross_entropy": Loss("softmax_cross_entropy", _softmax_cross_entropy, "class"),
    "huber": huber(1.0),
}


def make_loss(loss) -> Loss:
    """A :class:`Loss` from a name in ``LOSSES``, a Loss, or a user's ``(f, y) -> scalar``."""
    if isinstance(loss, Loss):
        return loss
    if isinstance(loss, str):
        if loss not in LOSSES:
            raise ValueError(f"unknown loss {loss!r}; choose one of {', '.join(map(repr, LOSSES))} or pass a function")
        return LOSSES[loss]
    if callable(loss):
        return Loss(getattr(loss, "__name__", "user_loss"), loss, "any")
    raise ValueError(f"loss must be a name ({', '.join(LOSSES)}) or a function (f, y) -> scalar, got {loss!r}")


def label_spec(loss: Loss, out_shape: tuple, y_shape: tuple | None) -> tuple:
    """The label shape of one sample the loss needs for unit outputs of ``out_shape`` (one-line errors)."""
    if loss.labels == "sign":
        if out_shape != ():
            raise ValueError(f"the logistic loss needs a scalar unit output, got shape {out_shape}")
        return ()
    if loss.labels == "class":
        if len(out_shape) != 1 or out_shape[0] < 2:
            raise ValueError(f"softmax cross-entropy needs a unit output of shape [k], k ≥ 2, got shape {out_shape}")
        return ()
    if loss.labels == "output":
        return out_shape
    return out_shape if y_shape is None else y_shape


def check_loss(loss: Loss, out, y) -> None:
    """One-line errors for a loss that fails, is not scalar or not differentiable on one sample."""
    try:
        value = jax.eval_shape(loss.value, out, y)
    except Exception as error:
        raise ValueError(f"loss {loss.name}(f, y) fails on one sample: {error}".splitlines()[0]) from error
    if value.shape != ():
        raise ValueError(f"loss {loss.name}(f, y) must return a scalar for one sample, got shape {value.shape}")
    if not jnp.issubdtype(value.dtype, jnp.floating):
        raise ValueError(f"loss {loss.name}(f, y) must return a float (differentiable in f), got {value.dtype}")
    try:
        jax.eval_shape(jax.grad(loss.value), out, y)
    except Exception as error:
        raise ValueError(f"loss {loss.name}(f, y) is not differentiable in f: {error}".splitlines()[0]) from error


def check_labels(loss: Loss, y, out_shape: tuple) -> None:
    """One-line errors for labels of the wrong type or values (values only for concrete arrays)."""
    if loss.labels == "class" and not jnp.issubdtype(y.dtype, jnp.integer):
        raise ValueError(f"softmax cross-entropy needs integer class labels, got dtype {y.dtype}")
    try:
        values = np.asarray(y)
    except Exception:  # a tracer or a shape spec: values unknown
        return
    if values.dtype == object:
        return
    if loss.labels == "class":
        k = out_shape[0]
        if values.size and (values.min() < 0 or values.max() >= k):
            raise ValueError(f"class labels must lie in 0..{k - 1} for {k} outputs, got {values.min()}..{values.max()}")
    if loss.labels == "sign" and not np.isin(values, (-1, 1)).all():
        bad = values[~np.isin(values, (-1, 1))].ravel()[0]
        raise ValueError(f"the logistic loss needs labels in {{-1, +1}} (map 0/1 labels by 2y - 1), got {bad}")
