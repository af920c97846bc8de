"""Data mode with a loss: V is the first variation of E, ∇V the gradient of V, vector outputs, bad input."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mfbd.problems import LOSSES, from_data, huber

jax.config.update("jax_enable_x64", True)

D, M, N, K = 3, 12, 5, 4
X = jax.random.normal(jax.random.key(0), (M, D))
Y_REAL = jax.random.normal(jax.random.key(1), (M,))
Y_SIGN = jnp.where(Y_REAL > 0, 1.0, -1.0)
Y_CLASS = jnp.arange(M) % K
Y_VEC = jax.random.normal(jax.random.key(2), (M, K))


def _unit(x, theta):
    return theta["a"] * jnp.tanh(theta["z"] @ x)


def _init(k_out):
    def init(key, n):
        ka, kz = jax.random.split(key)
        shape = (n,) if k_out is None else (n, k_out)
        return {"a": jax.random.normal(ka, shape), "z": jax.random.normal(kz, (n, D))}

    return init


def _case(loss, k_out, labels, **kwargs):
    init = _init(k_out)
    problem = from_data(_unit, None, init, data=(X, labels), block_size=4, loss=loss, **kwargs)
    return problem, init(jax.random.key(3), N)


CASES = {
    "squared": ("squared", None, Y_REAL),
    "logistic": ("logistic", None, Y_SIGN),
    "softmax_cross_entropy": ("softmax_cross_entropy", K, Y_CLASS),
    "huber": (huber(0.5), None, Y_REAL),
    "user": (lambda f, y: jnp.log(jnp.cosh(f - y)), None, Y_REAL),
    "squared_vector": ("squared", K, Y_VEC),
    "squared_decay": ("squared", K, Y_VEC, 0.3),
}


def _energy_of_weights(problem, particles):
    return jax.jit(lambda w: problem.evaluate(particles, w).energy)


@pytest.mark.parametrize("case", CASES)
def test_potential_is_the_first_variation_of_the_energy(case):
    loss, k_out, labels, *decay = CASES[case]
    problem, particles = _case(loss, k_out, labels, weight_decay=decay[0] if decay else 0.0)
    w = jnp.linspace(0.5, 1.5, N) / jnp.linspace(0.5, 1.5, N).sum()
    energy = _energy_of_weights(problem, particles)
    eps = 1e-6
    fd = jnp.array([(energy(w.at[i].add(eps)) - energy(w.at[i].add(-eps))) / (2 * eps) for i in range(N)])
    v = problem.evaluate(particles, w).potential
    np.testing.assert_allclose(v, fd, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("case", CASES)
def test_grad_potential_is_the_gradient_of_v_with_the_measure_held(case):
    loss, k_out, labels, *decay = CASES[case]
    lam = decay[0] if decay else 0.0
    problem, particles = _case(loss, k_out, labels, weight_decay=lam)
    w = jnp.full(N, 1.0 / N)
    f_mu = jnp.stack([jnp.tensordot(w, jax.vmap(_unit, (None, 0))(x, particles), axes=1) for x in X])
    value = LOSSES[loss] if isinstance(loss, str) else loss
    value = value.value if hasattr(value, "value") else value
    r = jax.vmap(jax.grad(value))(f_mu, labels)  # ∂_f ℓ by autodiff, μ fixed

    def v_one(theta):
        phi = jax.vmap(_unit, (0, None))(X, theta)
        sq = sum(jnp.sum(a**2) for a in jax.tree.leaves(theta))
        return jnp.mean(jnp.sum((r * phi).reshape(M, -1), axis=1)) + lam * sq

    v_ref, g_ref = jax.vmap(jax.value_and_grad(v_one))(particles)
    ev = problem.evaluate(particles, w)
    np.testing.assert_allclose(ev.potential, v_ref, rtol=1e-10, atol=1e-12)
    for a, b in zip(jax.tree.leaves(ev.grad_potential), jax.tree.leaves(g_ref), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("loss", ["squared", huber(0.5)])
def test_vector_outputs_equal_a_loop_over_outputs(loss):
    problem, particles = _case(loss, K, Y_VEC)
    ev = problem.evaluate(particles)
    v, e = 0.0, 0.0
    g = jax.tree.map(jnp.zeros_like, particles)
    for c in range(K):
        unit = lambda x, t, c=c: t["a"][c] * jnp.tanh(t["z"] @ x)  # noqa: E731
        scalar = from_data(unit, None, _init(K), data=(X, Y_VEC[:, c]), block_size=4, loss=loss)
        out = scalar.evaluate(particles)
        v, e = v + out.potential, e + out.energy
        g = jax.tree.map(jnp.add, g, out.grad_potential)
    np.testing.assert_allclose(ev.potential, v, rtol=1e-12)
    np.testing.assert_allclose(ev.energy, e, rtol=1e-12)
    for a, b in zip(jax.tree.leaves(ev.grad_potential), jax.tree.leaves(g), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def _reference_squared(unit, particles, weights, xs, ys, block):
    """The data-mode oracle before losses existed (squared loss only), for the bit-identity test."""
    features = jax.vmap(jax.vmap(unit, in_axes=(0, None)), in_axes=(None, 0))
    m, n = xs.shape[0], weights.shape[0]
    xs, ys = xs.astype(weights.dtype), ys.astype(weights.dtype)
    blocks = (xs.reshape((m // block, block) + xs.shape[1:]), ys.reshape(m // block, block))

    def accumulate(carry, blk):
        x, y = blk
        v_sum, g_sum, sq_sum = carry
        phi, pullback = jax.vjp(lambda th: features(x, th), particles)
        r = weights @ phi - y.astype(phi.dtype)
        (g,) = pullback(jnp.broadcast_to(r[None, :], (n, block)))
        return (v_sum + phi @ r, jax.tree.map(jnp.add, g_sum, g), sq_sum + jnp.sum(r * r)), None

    zeros = (jnp.zeros(n, weights.dtype), jax.tree.map(jnp.zeros_like, particles), jnp.zeros((), weights.dtype))
    if m == block:
        (v, g, sq), _ = accumulate(zeros, (blocks[0][0], blocks[1][0]))
    else:
        (v, g, sq), _ = jax.lax.scan(accumulate, zeros, blocks)
    return v / m, jax.tree.map(lambda a: a / m, g), 0.5 * sq / m


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
@pytest.mark.parametrize("block", [4, M])
def test_squared_loss_is_bit_identical_to_the_loss_free_oracle(dtype, block):
    init = _init(None)
    particles = jax.tree.map(lambda a: a.astype(dtype), init(jax.random.key(5), N))
    w = jnp.linspace(0.5, 1.5, N, dtype=dtype)
    w = w / w.sum()
    xs, ys = X.astype(dtype), Y_REAL.astype(dtype)
    ev = from_data(_unit, None, init, data=(xs, ys), block_size=block).evaluate(particles, w)
    # the data are constants of the compiled program in both, as in from_data
    ref = jax.jit(lambda p, w: _reference_squared(_unit, p, w, xs, ys, block))(particles, w)
    np.testing.assert_array_equal(ev.potential, ref[0])
    np.testing.assert_array_equal(ev.energy, ref[2])
    for a, b in zip(jax.tree.leaves(ev.grad_potential), jax.tree.leaves(ref[1]), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "loss, k_out, labels, message",
    [
        ("hinge", None, Y_REAL, "unknown loss 'hinge'; choose one of"),
        (lambda f, y: jnp.stack([f - y, f]), None, Y_REAL, r"must return a scalar for one sample, got shape \(2,\)"),
        (lambda f, y: jnp.round(f - y).astype(jnp.int32), None, Y_REAL, "must return a float"),
        (lambda f, y: f[3] - y, None, Y_REAL, "fails on one sample"),
        ("softmax_cross_entropy", K, Y_CLASS + 1, "class labels must lie in 0..3 for 4 outputs, got 1..4"),
        ("softmax_cross_entropy", K, Y_CLASS * 1.0, "needs integer class labels"),
        ("softmax_cross_entropy", None, Y_CLASS, r"needs a unit output of shape \[k\], k ≥ 2"),
        ("logistic", None, (Y_SIGN + 1) / 2, r"labels in \{-1, \+1\} \(map 0/1 labels by 2y - 1\), got 0.0"),
        ("logistic", K, Y_SIGN, "logistic loss needs a scalar unit output"),
        ("squared", K, Y_REAL, r"must return a scalar like labels y"),
        ("squared", None, Y_VEC, r"labels y must have shape \[m\] for the squared loss"),
        (
            "softmax_cross_entropy",
            K,
            Y_VEC.astype(jnp.int32),
            r"labels y must have shape \[m\] for the softmax_cross_entropy loss",
        ),
    ],
)
def test_bad_losses_and_labels_raise_one_line_errors(loss, k_out, labels, message):
    with pytest.raises(ValueError, match=message) as error:
        _case(loss, k_out, labels)
    assert "\n" not in str(error.value)


def test_bad_weight_decay_and_huber_delta():
    with pytest.raises(ValueError, match="weight_decay must be ≥ 0"):
        _case("squared", None, Y_REAL, weight_decay=-1.0)
    with pytest.raises(ValueError, match="huber delta must be > 0"):
        huber(0.0)
