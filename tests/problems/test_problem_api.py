"""Problem API: weights (None = uniform, Σ w = 1 checked), labelled data, unit order, sizes."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mfbd.problems import from_data, gaussian_mixture_1d, student_teacher

P = {"y": jnp.linspace(-2.0, 2.0, 6), "c": jnp.linspace(-1.0, 1.0, 6)}


def test_weights_none_is_uniform():
    problem = gaussian_mixture_1d()
    np.testing.assert_array_equal(problem.energy(P), problem.energy(P, jnp.full(6, 1 / 6)))
    v, g = problem.potential(P)
    v1, g1 = problem.potential(P, jnp.full(6, 1 / 6))
    np.testing.assert_array_equal(v, v1)
    np.testing.assert_array_equal(problem.evaluate(P).energy, problem.energy(P))


@pytest.mark.parametrize(
    "weights, message",
    [
        (jnp.ones(6), r"must sum to 1 \(Σ w = 6\)"),
        (jnp.array([0.5, 0.5, 0.5, -0.5, 0.0, 0.0]), "must be ≥ 0"),
        (jnp.full(5, 0.2), r"shape \[6\]"),
        (jnp.full(6, jnp.nan), "must sum to 1"),
    ],
)
def test_bad_concrete_weights_raise(weights, message):
    problem = gaussian_mixture_1d()
    for call in (problem.energy, problem.potential, problem.evaluate):
        with pytest.raises(ValueError, match=message):
            call(P, weights)


def test_weight_tolerance_follows_the_dtype():
    problem = gaussian_mixture_1d()
    p32 = jax.tree.map(lambda a: a.astype(jnp.float32), P)
    problem.energy(p32, jnp.full(6, 1 / 6, jnp.float32) * (1 + 1e-5))  # within √ε₃₂
    with pytest.raises(ValueError, match="must sum to 1"):
        problem.energy(P, jnp.full(6, 1 / 6) * (1 + 1e-5))  # beyond √ε₆₄


def test_weights_are_not_checked_under_tracing():
    problem = gaussian_mixture_1d()
    e = jax.jit(lambda w: problem.energy(P, w))(jnp.ones(6))  # unnormalised on purpose, e.g. the PDE's probes
    assert np.isfinite(e)


def _unit(x, theta):
    return theta["c"] * jnp.tanh(x - theta["y"])


def _init(k, n):
    return {"y": jax.random.normal(k, (n,)), "c": jnp.ones(n)}


def test_labelled_data_equal_the_target_function():
    x = jnp.linspace(-1.0, 1.0, 16)
    by_target = from_data(_unit, jnp.sin, _init, data=x, block_size=8)
    labelled = from_data(_unit, None, _init, data=(x, jnp.sin(x)), block_size=8)
    a, b = by_target.evaluate(P), labelled.evaluate(P)
    for u, v in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_allclose(u, v, rtol=1e-12)
    paired = from_data(_unit, None, _init, sampler=lambda k, m: (x[:m], jnp.sin(x[:m])), batch_size=16)
    np.testing.assert_allclose(paired.energy(P), a.energy, rtol=1e-12)


def test_labelled_data_errors():
    x = jnp.linspace(-1.0, 1.0, 16)
    with pytest.raises(ValueError, match=r"labels y must have shape \[m\]"):
        from_data(_unit, None, _init, data=(x, jnp.sin(x)[:8]))
    with pytest.raises(ValueError, match="needs a `target` unless the data are labelled"):
        from_data(_unit, None, _init, data=x)
    with pytest.raises(ValueError, match="not a multiple of block_size"):
        from_data(_unit, jnp.sin, _init, data=x, block_size=5)


def test_unit_in_the_wrong_order_is_named_at_construction():
    with pytest.raises(ValueError, match=r"it looks like unit\(θ, x\)"):
        from_data(lambda theta, x: _unit(x, theta), jnp.sin, _init, data=jnp.linspace(-1.0, 1.0, 8))
    with pytest.raises(ValueError, match="must return a scalar"):
        from_data(lambda x, t: jnp.stack([t["c"], x]), jnp.sin, _init, data=jnp.linspace(-1.0, 1.0, 8))


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"dim": 0}, "dim"),
        ({"teacher_width": 0}, "teacher_width"),
        ({"dim": 2.5}, "dim"),
        ({"mode": "data", "batch_size": 0}, "batch_size"),
        ({"block_size": -1}, "block_size"),
        ({"scaling": "standard", "width": 0}, "width"),
    ],
)
def test_impossible_student_teacher_sizes(kwargs, name):
    with pytest.raises(ValueError, match=f"^{name} must be a positive integer"):
        student_teacher(jax.random.key(0), **kwargs)


def test_student_teacher_prior_std_and_choices():
    with pytest.raises(ValueError, match="prior_std must be > 0"):
        student_teacher(jax.random.key(0), prior_std=-1.0)
    with pytest.raises(ValueError, match="unknown inputs 'cube'; choose one of 'sphere', 'gaussian'"):
        student_teacher(jax.random.key(0), inputs="cube")
    with pytest.raises(ValueError, match="unknown start 'middle'; choose one of 'good', 'bad'"):
        gaussian_mixture_1d("middle")
