"""Counter-based random draws written with jnp operations, so that XLA fuses them with their neighbours.

On CPU, JAX lowers its own Threefry (``jax.random.bits``, ``split``, ``fold_in``) to a rolled loop of
several sequential kernels per call; these functions compute the same Threefry-2x32 block function
(Salmon et al. 2011) inline: :func:`split_key` and :func:`fold_in_key` bit for bit JAX's, and
:func:`random_words` one pass of words for a whole reaction, turned into uniforms by
:func:`unit_interval` and integers by :func:`uniform_below`. Shared by the schemes and the problems.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["fold_in_key", "random_words", "split_key", "uniform_below", "unit_interval"]

_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))


def _threefry2x32(k0, k1, x0, x1):
    """The Threefry-2x32 block function, 20 rounds (Salmon et al. 2011), as JAX's default PRNG uses it."""
    ks = (k0, k1, k0 ^ k1 ^ np.uint32(0x1BD11BDA))
    x0, x1 = x0 + ks[0], x1 + ks[1]
    for i in range(5):
        for r in _ROTATIONS[i % 2]:
            x0 = x0 + x1
            x1 = ((x1 << np.uint32(r)) | (x1 >> np.uint32(32 - r))) ^ x0
        x0, x1 = x0 + ks[(i + 1) % 3], x1 + ks[(i + 2) % 3] + np.uint32(i + 1)
    return x0, x1


def _is_threefry(key: jax.Array) -> bool:
    """Whether ``key`` is a typed key of JAX's Threefry-2x32 implementation."""
    typed = jnp.issubdtype(key.dtype, jax.dtypes.prng_key)
    return typed and str(jax.random.key_impl(key)) in ("threefry2x32", "PRNGImpl(threefry2x32)")


def random_words(key: jax.Array, size: int) -> jax.Array:
    """``[size]`` uniform uint32 words, one Threefry-2x32 pass for the whole reaction.

    Block c = 0, 1, ... (input (c, 0) under the key's two words) gives words 2c
    and 2c + 1, so a shorter draw is a prefix of a longer one.
    Written with jnp operations so that XLA fuses it with its neighbours: on
    CPU it costs ~1/5 of ``jax.random.bits`` (whose lowering does not fuse).
    A key of another PRNG implementation seeds the block function with
    ``jax.random.bits(key, (2,))``.
    """
    k = jax.random.key_data(key) if _is_threefry(key) else jax.random.bits(key, (2,), jnp.uint32)
    count = jnp.arange((size + 1) // 2, dtype=jnp.uint32)
    x0, x1 = _threefry2x32(k[0], k[1], count, jnp.zeros_like(count))
    return jnp.stack([x0, x1], axis=1).reshape(-1)[:size]


def _threefry_words(key: jax.Array):
    """The two uint32 words of a typed Threefry key whose split and fold_in are the block function on
    (0, c) (``jax_threefry_partitionable``, JAX's default), else None."""
    if not _is_threefry(key) or not jax.config.jax_threefry_partitionable:
        return None
    return jax.random.key_data(key)


def _wrap(key: jax.Array, x0: jax.Array, x1: jax.Array) -> jax.Array:
    return jax.random.wrap_key_data(jnp.stack([x0, x1], axis=-1), impl=jax.random.key_impl(key))


def split_key(key: jax.Array, num: int) -> jax.Array:
    """``jax.random.split(key, num)`` bit for bit: key c is the block function on (0, c).

    Written with jnp operations, so that it fuses: on CPU JAX lowers its Threefry to a
    rolled loop (several sequential kernels per call). Other keys go to ``jax.random.split``.
    """
    k = _threefry_words(key)
    if k is None:
        return jax.random.split(key, num)
    count = jnp.arange(num, dtype=jnp.uint32)
    return _wrap(key, *_threefry2x32(k[0], k[1], jnp.zeros_like(count), count))


def fold_in_key(key: jax.Array, data) -> jax.Array:
    """``jax.random.fold_in(key, data)`` bit for bit (the block function on (0, data)), fused as
    :func:`split_key`."""
    k = _threefry_words(key)
    if k is None:
        return jax.random.fold_in(key, data)
    data = jnp.asarray(data).astype(jnp.uint32)
    return _wrap(key, *_threefry2x32(k[0], k[1], jnp.zeros_like(data), data))


def unit_interval(words: jax.Array, dtype) -> jax.Array:
    """Uniform draws on [0, 1) from uint32 words: k·2^-b with the top b = min(32, mantissa + 1) bits."""
    bits = min(32, jnp.finfo(dtype).nmant + 1)
    return (words >> np.uint32(32 - bits)).astype(dtype) * np.asarray(2.0**-bits, dtype)


def uniform_below(words: jax.Array, m: jax.Array) -> jax.Array:
    """Integers ⌊u·m⌋ in [0, m) from uint32 words u/2³² (the high word of the 64-bit product u·m),
    for 1 ≤ m < 2³¹; each value has probability 1/m within m/2³²."""
    m = jnp.asarray(m).astype(jnp.uint32)
    lo16 = np.uint32(0xFFFF)
    w_hi, w_lo, m_hi, m_lo = words >> 16, words & lo16, m >> 16, m & lo16
    cross = ((w_lo * m_lo) >> 16) + ((w_hi * m_lo) & lo16) + ((w_lo * m_hi) & lo16)
    high = w_hi * m_hi + ((w_hi * m_lo) >> 16) + ((w_lo * m_hi) >> 16) + (cross >> 16)
    return high.astype(jnp.int32)
