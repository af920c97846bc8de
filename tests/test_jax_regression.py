"""Regression test for JAX issue 39103 (jax/jaxlib 0.10.2 on CPU).

That release returns wrong results for a vmapped matrix-vector product followed
by a reduction under jit, which is exactly mfbd's hot path; pyproject.toml
excludes it. This test fails on a miscompiling JAX.
"""

import jax
import jax.numpy as jnp
import numpy as np


def test_vmapped_matvec_reduction_matches_eager_and_numpy():
    rng = np.random.default_rng(0)
    m = rng.standard_normal((8, 16)).astype(np.float32)
    rows = rng.standard_normal((32_769, 16)).astype(np.float32)
    f = jax.vmap(lambda r: jnp.sum((jnp.asarray(m) @ r) ** 2))
    eager = np.asarray(f(rows))
    jitted = np.asarray(jax.jit(f)(rows))
    reference = np.sum((rows.astype(np.float64) @ m.T.astype(np.float64)) ** 2, axis=1)
    np.testing.assert_allclose(eager, reference, rtol=1e-4)
    np.testing.assert_allclose(jitted, reference, rtol=1e-4)


def test_installed_jax_is_not_the_excluded_release():
    import jaxlib

    assert "0.10.2" not in (jax.__version__, jaxlib.__version__)
