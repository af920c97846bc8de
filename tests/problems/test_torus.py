"""torus_mmd: ½ MMD² against a direct numpy sum, zero at the target, periodic, declared torus."""

import jax
import jax.numpy as jnp
import numpy as np

from mfbd.problems import torus_mmd

jax.config.update("jax_enable_x64", True)


def _g(u, modes=5):
    q = np.arange(1, modes + 1)
    return 1 + 2 * np.sum(np.cos(u[..., None] * q) / (1 + q), axis=-1)


def test_torus_mmd_is_half_the_squared_mmd():
    problem = torus_mmd(10, modes=5)
    y = problem.extras["atoms"]
    theta = np.asarray(problem.init_particles(jax.random.key(0), 7), np.float64)

    def k(a, b):
        d = a[:, None, :] - b[None, :, :]
        return _g(d[..., 0]) * _g(d[..., 1])

    exact = 0.5 * (k(theta, theta).mean() - 2 * k(theta, y).mean() + k(y, y).mean())
    np.testing.assert_allclose(problem.energy(jnp.asarray(theta)), exact, rtol=1e-12)
    np.testing.assert_allclose(problem.energy(jnp.asarray(theta) + 2 * np.pi), exact, rtol=1e-10)  # periodic
    at_target = jnp.asarray(np.repeat(y, 5, axis=0))  # 50 particles, 5 on each atom: μ = ν
    assert abs(float(problem.energy(at_target))) < 1e-12
    assert problem.period == 2 * np.pi
