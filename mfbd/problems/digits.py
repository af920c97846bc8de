"""scikit-learn's digits (8×8 images, 1 797 samples, 10 classes) as a classification problem.

The data ship inside the package (``mfbd/data/digits.npz``, provenance and licence
in ``mfbd/data/README.md``); nothing is downloaded and scikit-learn is not needed.
Inputs are the 64 pixel intensities scaled to [0, 1] with a constant 1 appended
(a bias), x̃ ∈ R^65. A unit θ = (c, z), c ∈ R^10, z ∈ R^65, returns the vector

.. math:: φ(x, θ) = c · \\mathrm{relu}(z · x̃) \\in R^{10},

f_μ(x) = Σ_i w_i φ(x, θ_i) are the class logits, and the energy is the mean
softmax cross-entropy over the training split (plus λ∫|θ|² dμ with
``weight_decay``). :func:`classification_observer` records the accuracy and loss
on held-out samples.
"""

from __future__ import annotations

import importlib.resources

import jax
import jax.numpy as jnp
import numpy as np

from mfbd._checks import positive
from mfbd.problems.base import Problem, check_size
from mfbd.problems.data import from_data
from mfbd.problems.losses import make_loss

__all__ = ["classification_observer", "digits", "load_digits"]

CLASSES = 10


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """``(images [1797, 64] uint8 in 0..16, labels [1797] uint8 in 0..9)`` from the bundled file."""
    with importlib.resources.files("mfbd").joinpath("data/digits.npz").open("rb") as f, np.load(f) as npz:
        return npz["images"], npz["labels"]


def _features(images, dtype):
    x = jnp.asarray(images, dtype) / 16.0
    return jnp.concatenate([x, jnp.ones((x.shape[0], 1), dtype)], axis=1)


def unit(x, theta):
    """φ(x, θ) = c·relu(z·x̃) ∈ R^10 for one (bias-augmented) sample and one unit."""
    return theta["c"] * jax.nn.relu(jnp.dot(theta["z"], x))


def digits(
    *,
    train_size: int = 1500,
    split_seed: int = 0,
    block_size: int = 750,
    weight_decay: float = 0.0,
    output_std: float = 1.0,
    hidden_std: float = 1.0,
    dtype=jnp.float32,
) -> Problem:
    """The digits classification problem (data mode, full batch, softmax cross-entropy).

    Args:
      train_size: samples in the training split (the rest, 1 797 - train_size, are the test split),
        drawn by a permutation from ``split_seed``; a multiple of ``block_size``, or below it.
      block_size: training samples per block of the oracle (memory O(n · block_size · 10)).
      weight_decay: λ of λ∫|θ|² dμ in the energy.
      output_std, hidden_std: μ₀ = μ_b draws c ~ N(0, output_std² I_10), z ~ N(0, hidden_std² I/65).
      dtype: of the data and particles.

    ``problem.extras`` holds ``x_train, y_train, x_test, y_test`` (features x̃, int32 labels).
    """
    images, labels = load_digits()
    total = labels.shape[0]
    check_size("train_size", train_size)
    check_size("block_size", block_size)
    if train_size >= total:
        raise ValueError(f"train_size must leave a test split: below {total}, got {train_size}")
    positive("output_std", output_std)
    positive("hidden_std", hidden_std)
    order = np.random.default_rng(split_seed).permutation(total)
    x, y = _features(images[order], dtype), jnp.asarray(labels[order], jnp.int32)
    x_train, y_train, x_test, y_test = x[:train_size], y[:train_size], x[train_size:], y[train_size:]
    d = x.shape[1]

    def init_particles(key, n):
        k_c, k_z = jax.random.split(key)
        return {
            "c": output_std * jax.random.normal(k_c, (n, CLASSES), dtype),
            "z": hidden_std * jax.random.normal(k_z, (n, d), dtype) / jnp.sqrt(d).astype(dtype),
        }

    extras = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
    return from_data(
        unit,
        None,
        init_particles,
        init_particles,
        data=(x_train, y_train),
        block_size=min(block_size, train_size),
        loss="softmax_cross_entropy",
        weight_decay=weight_decay,
        name="digits",
        extras=extras,
    )


def classification_observer(problem: Problem, x, y, *, loss="softmax_cross_entropy", prefix="test", conic=False):
    """An observer ``state -> {prefix_accuracy, prefix_loss}`` on held-out samples ``(x [m, ...], y [m])``.

    The prediction is argmax_c f_μ(x)_c for vector outputs and sign f_μ(x) for a
    scalar output (labels ±1); the loss is the mean of ``loss`` (without weight
    decay). ``conic=True`` reads the state's log-weights as unnormalised masses
    (:func:`mfbd.conic`); otherwise μ has weights softmax(log w).
    """
    loss = make_loss(loss)
    x, y = jnp.asarray(x), jnp.asarray(y)

    def observe(state) -> dict:
        w = jnp.exp(state.log_weights) if conic else jax.nn.softmax(state.log_weights)
        f = problem.predict(state.particles, w, x.astype(w.dtype))
        guess = jnp.argmax(f, axis=-1) if f.ndim == 2 else jnp.where(f >= 0, 1, -1)
        values = jax.vmap(loss.value)(f, y if jnp.issubdtype(y.dtype, jnp.integer) else y.astype(f.dtype))
        return {f"{prefix}_accuracy": jnp.mean((guess == y).astype(w.dtype)), f"{prefix}_loss": jnp.mean(values)}

    return observe
