"""The bundled digits data and the digits problem: data, split, energy, observer, bad input."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import mfbd
from mfbd.problems import classification_observer, digits, load_digits


def test_bundled_digits_data():
    images, labels = load_digits()
    assert images.shape == (1797, 64) and images.dtype == np.uint8 and images.max() == 16
    np.testing.assert_array_equal(np.bincount(labels), [178, 182, 177, 183, 181, 182, 181, 179, 174, 180])


def test_split_energy_and_observer_against_numpy():
    problem = digits(train_size=1500, block_size=500, dtype=jnp.float64)
    e = problem.extras
    assert e["x_train"].shape == (1500, 65) and e["x_test"].shape == (297, 65)
    images, labels = load_digits()
    rows = np.concatenate([e["x_train"], e["x_test"]])[:, :64] * 16
    order = np.lexsort(rows.T)
    np.testing.assert_array_equal(rows[order], images[np.lexsort(images.T)])  # a split of all 1 797 images
    np.testing.assert_array_equal(np.bincount(np.concatenate([e["y_train"], e["y_test"]])), np.bincount(labels))
    theta = problem.init_particles(jax.random.key(0), 8)
    state = mfbd.gradient_flow(problem, 0.5).init(theta)
    # f_μ(x) = (1/n) Σ_i c_i relu(z_i·x̃), mean softmax cross-entropy, in numpy
    c, z = np.asarray(theta["c"]), np.asarray(theta["z"])

    def logits(x):
        return np.maximum(np.asarray(x) @ z.T, 0.0) @ c / 8

    def cross_entropy(f, y):
        f = f - f.max(axis=1, keepdims=True)
        return np.mean(np.log(np.exp(f).sum(axis=1)) - f[np.arange(len(y)), y])

    np.testing.assert_allclose(state.energy, cross_entropy(logits(e["x_train"]), np.asarray(e["y_train"])), rtol=1e-12)
    row = classification_observer(problem, e["x_test"], e["y_test"])(state)
    f_test, y_test = logits(e["x_test"]), np.asarray(e["y_test"])
    np.testing.assert_allclose(row["test_accuracy"], np.mean(f_test.argmax(axis=1) == y_test), rtol=1e-12)
    np.testing.assert_allclose(row["test_loss"], cross_entropy(f_test, y_test), rtol=1e-12)
    tiny = digits(output_std=1e-9, dtype=jnp.float64)
    np.testing.assert_allclose(tiny.energy(tiny.init_particles(jax.random.key(0), 4)), np.log(10), rtol=1e-8)


def test_digits_bad_input():
    with pytest.raises(ValueError, match="train_size must leave a test split"):
        digits(train_size=1797)
    with pytest.raises(ValueError, match="not a multiple of block_size"):
        digits(train_size=1000, block_size=300)
    with pytest.raises(ValueError, match="output_std must be > 0"):
        digits(output_std=0.0)
