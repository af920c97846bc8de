"""Experiment 2: the arc-cosine kernel against Monte Carlo and finite differences,
kernel mode against data mode, and the standard scaling against plain SGD."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mfbd.problems import arccos_kernel, from_kernel, notebook_time, student_teacher

DIM = 6


def _inputs(key, m, dim, inputs):
    x = jax.random.normal(key, (m, dim))
    return x / jnp.linalg.norm(x, axis=1, keepdims=True) if inputs == "sphere" else x


@pytest.mark.parametrize("inputs", ["sphere", "gaussian"])
def test_arccos_kernel_matches_monte_carlo(inputs):
    ku, kx = jax.random.split(jax.random.key(0))
    u, v = jax.random.normal(ku, (2, DIM))
    x = _inputs(kx, 400_000, DIM, inputs)
    samples = jax.nn.relu(x @ u) * jax.nn.relu(x @ v)
    se = float(jnp.std(samples)) / np.sqrt(x.shape[0])
    assert abs(float(arccos_kernel(u, v, inputs)) - float(jnp.mean(samples))) < 4 * se


def test_arccos_kernel_gradient_matches_finite_differences():
    u, v = jax.random.normal(jax.random.key(1), (2, DIM))
    g = jax.grad(arccos_kernel, argnums=(0, 1))(u, v)
    h = 1e-6
    for arg in range(2):
        for j in range(DIM):
            e = jnp.zeros(DIM).at[j].set(h)
            args_p = [u, v]
            args_m = [u, v]
            args_p[arg] = args_p[arg] + e
            args_m[arg] = args_m[arg] - e
            fd = (arccos_kernel(*args_p) - arccos_kernel(*args_m)) / (2 * h)
            np.testing.assert_allclose(g[arg][j], fd, rtol=1e-6, atol=1e-10)


def test_arccos_kernel_gradient_is_finite_and_right_at_coincident_units():
    u = jax.random.normal(jax.random.key(2), (DIM,))
    g = jax.grad(arccos_kernel)(u, u)
    # ∇_u E[relu(u·x) relu(v·x)] at v = u is E[x (u·x)_+] = u/(2d) on the sphere.
    np.testing.assert_allclose(g, u / (2 * DIM), rtol=1e-12)
    np.testing.assert_allclose(arccos_kernel(u, u), jnp.dot(u, u) / (2 * DIM), rtol=1e-12)


def _fixed_data_problems(m, scaling="mean_field", width=None):
    x = _inputs(jax.random.key(4), m, DIM, "sphere")
    common = dict(dim=DIM, teacher_width=3, scaling=scaling, width=width)
    kernel = student_teacher(jax.random.key(5), mode="kernel", **common)
    data = student_teacher(jax.random.key(5), mode="data", data=x, block_size=m // 4, **common)
    return kernel, data, x


def test_kernel_mode_agrees_with_data_mode_within_monte_carlo_error():
    m = 200_000
    kernel, data, x = _fixed_data_problems(m)
    p = kernel.init_particles(jax.random.key(6), 5)
    w = jnp.full(5, 0.2)
    ek, ed = kernel.evaluate(p, w), data.evaluate(p, w)
    r = kernel.predict(p, w, x) - kernel.target(x)
    se_energy = float(jnp.std(0.5 * r**2)) / np.sqrt(m)
    assert abs(float(ek.energy - ed.energy)) < 4 * se_energy
    phi = p["c"][None, :] * jax.nn.relu(x @ p["z"].T)
    se_v = np.asarray(jnp.std(phi * r[:, None], axis=0)) / np.sqrt(m)
    assert np.all(np.abs(np.asarray(ek.potential - ed.potential)) < 4 * se_v)


@pytest.mark.parametrize("mode", ["kernel", "data"])
def test_potential_is_weight_derivative_and_gradient_matches_finite_differences(mode):
    kernel, data, _ = _fixed_data_problems(256)
    problem = kernel if mode == "kernel" else data
    p = problem.init_particles(jax.random.key(7), 4)
    w = jnp.asarray([0.1, 0.2, 0.3, 0.4])
    v, grad = problem.potential(p, w)
    np.testing.assert_allclose(v, jax.grad(lambda w: problem.energy(p, w))(w), rtol=1e-10, atol=1e-14)
    h = 1e-6

    @jax.jit
    def v_new(delta):  # V(θ, μ) for θ = θ_1 + δ, with μ fixed (the new unit has zero weight)
        moved = {k: jnp.concatenate([p[k], (p[k][1] + delta[k])[None]]) for k in p}
        return problem.potential(moved, jnp.concatenate([w, jnp.zeros(1)]))[0][-1]

    zero = {"c": jnp.zeros(()), "z": jnp.zeros(DIM)}
    for name in ("c", "z"):
        for j in range(p[name][1].size):
            e = dict(zero, **{name: zero[name].reshape(-1).at[j].set(h).reshape(zero[name].shape)})
            neg = jax.tree_util.tree_map(jnp.negative, e)
            fd = (v_new(e) - v_new(neg)) / (2 * h)
            np.testing.assert_allclose(grad[name][1].reshape(-1)[j], fd, rtol=1e-5, atol=1e-10)


@pytest.mark.parametrize("mode", ["kernel", "data"])
def test_duplicated_units_give_finite_values(mode):
    problem = student_teacher(jax.random.key(8), dim=DIM, teacher_width=3, mode=mode, batch_size=64)
    p = problem.init_particles(jax.random.key(9), 4)
    p = {k: a.at[2].set(a[0]) for k, a in p.items()}
    ev = problem.evaluate(p, jnp.full(4, 0.25), jax.random.key(10))
    assert all(np.isfinite(np.asarray(x)).all() for x in jax.tree_util.tree_leaves(ev))
    np.testing.assert_allclose(ev.grad_potential["z"][0], ev.grad_potential["z"][2])


def test_standard_scaling_euler_step_is_the_notebooks_sgd_step():
    n, lr = 8, 0.02
    _, data, x = _fixed_data_problems(128, scaling="standard", width=n)
    p = data.init_particles(jax.random.key(11), n)
    w = jnp.full(n, 1 / n)

    def network(params, x):
        return jax.nn.relu(x @ params["z"].T) @ params["c"]

    def loss(params):  # the notebooks' loss: batch mean of (f - f*)², no ½
        return jnp.mean((network(params, x) - data.target(x)) ** 2)

    np.testing.assert_allclose(data.predict(p, w, x), network(p, x), rtol=1e-12)
    dt, alpha = notebook_time(lr, 1.0, n)
    v, grad_v = data.potential(p, w)
    sgd = jax.tree_util.tree_map(lambda a, g: a - lr * g, p, jax.grad(loss)(p))
    euler = jax.tree_util.tree_map(lambda a, g: a - dt * g, p, grad_v)
    jax.tree_util.tree_map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15), sgd, euler)
    # The notebooks' per-step probability α_nb·|c ∂ℓ/∂c| is α·dt·|V| in mfbd's units.
    np.testing.assert_allclose(1.0 * p["c"] * jax.grad(loss)(p)["c"], alpha * dt * v, rtol=1e-12, atol=1e-15)


def test_teacher_rows_have_unit_norm_and_bad_options_are_named():
    problem = student_teacher(jax.random.key(12), dim=DIM, teacher_width=5)
    np.testing.assert_allclose(jnp.linalg.norm(problem.meta.directions, axis=1), 1.0, rtol=1e-6)
    with pytest.raises(ValueError, match="unknown mode 'kernal'"):
        student_teacher(jax.random.key(0), mode="kernal")
    with pytest.raises(ValueError, match="width"):
        student_teacher(jax.random.key(0), scaling="standard")


@pytest.mark.parametrize("scaling", ["mean_field", "standard"])
@pytest.mark.parametrize("inputs", ["sphere", "gaussian"])
def test_gram_kernel_mode_equals_pairwise_autodiff_implementation(inputs, scaling):
    """The Gram-matrix oracle against from_kernel with per-pair autodiff of κ."""
    n = 40
    problem = student_teacher(
        jax.random.key(13), dim=DIM, teacher_width=3, inputs=inputs, scaling=scaling, width=n, block_size=16
    )
    u, sign, s = problem.meta

    def F(theta):
        return s * theta["c"] * sum(sign[t] * arccos_kernel(theta["z"], u[t], inputs) for t in range(3))

    def K(theta, other):
        return s**2 * theta["c"] * other["c"] * arccos_kernel(theta["z"], other["z"], inputs)

    C_f = 0.5 * sum(sign[a] * sign[b] * arccos_kernel(u[a], u[b], inputs) for a in range(3) for b in range(3))
    pairwise = from_kernel(F, K, float(C_f), problem.init_particles)
    p = problem.init_particles(jax.random.key(14), n)
    p = {k: a.at[3].set(a[0]) for k, a in p.items()}  # an exact duplicate
    w = jax.random.dirichlet(jax.random.key(15), jnp.ones(n))
    chex.assert_trees_all_close(problem.evaluate(p, w), pairwise.evaluate(p, w), rtol=1e-10, atol=1e-14)
