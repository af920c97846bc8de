"""The reaction's fused random draws (issue 24) against JAX's Threefry, exact integer arithmetic and
their laws; lineage counts against a plain NumPy count."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mfbd._random import _threefry2x32, fold_in_key, random_words, split_key, uniform_below, unit_interval
from mfbd.schemes.base import lineage_counts, lineage_counts_uniform
from mfbd.schemes.birth_death import rebalance_sources, selection_cut


def test_block_function_is_jax_threefry():
    # jax.random.bits (partitionable Threefry) is x0 ^ x1 of the blocks (0, i) under the key's words.
    if not jax.config.jax_threefry_partitionable:
        pytest.skip("needs jax_threefry_partitionable")
    key = jax.random.key(11)
    k = jax.random.key_data(key)
    i = jnp.arange(4097, dtype=jnp.uint32)
    x0, x1 = _threefry2x32(k[0], k[1], jnp.zeros_like(i), i)
    np.testing.assert_array_equal(x0 ^ x1, jax.random.bits(key, (4097,), jnp.uint32))


def test_split_and_fold_in_are_jax_randoms_bit_for_bit():
    for seed in (0, 7, 2**31 - 1):
        key = jax.random.key(seed)
        for num in (1, 3, 8):
            want = jax.random.key_data(jax.random.split(key, num))
            np.testing.assert_array_equal(jax.random.key_data(split_key(key, num)), want)
        for data in (0, 1, 12345, 2**32 - 1):
            want = jax.random.key_data(jax.random.fold_in(key, jnp.uint32(data)))
            np.testing.assert_array_equal(jax.random.key_data(fold_in_key(key, jnp.uint32(data))), want)
    keys = jax.random.split(jax.random.key(3), 4)  # under jit and vmap, an int32 step as the data
    got = jax.jit(jax.vmap(lambda k: split_key(fold_in_key(k, jnp.int32(9)), 3)))(keys)
    want = jax.vmap(lambda k: jax.random.split(jax.random.fold_in(k, 9), 3))(keys)
    np.testing.assert_array_equal(jax.random.key_data(got), jax.random.key_data(want))
    raw = jax.random.PRNGKey(5)  # a raw uint32 key goes to jax.random
    np.testing.assert_array_equal(split_key(raw, 2), jax.random.split(raw, 2))


def test_words_are_uniform_and_independent_of_the_size():
    words = np.asarray(random_words(jax.random.key(3), 100_001), np.float64)
    np.testing.assert_array_equal(random_words(jax.random.key(3), 7), words[:7].astype(np.uint32))
    u = words / 2.0**32
    n = u.size  # mean 1/2 and variance 1/12 within 5 standard errors; a lag-1 correlation near 0
    assert abs(u.mean() - 0.5) < 5 * np.sqrt(1 / 12 / n)
    assert abs(u.var() - 1 / 12) < 5 * np.sqrt(1 / 180 / n)
    assert abs(np.corrcoef(u[:-1], u[1:])[0, 1]) < 5 / np.sqrt(n)
    other = np.asarray(random_words(jax.random.key(4), 1000))
    assert (other != words[:1000].astype(np.uint32)).mean() > 0.99


def test_uniform_below_is_the_high_word_of_the_product():
    rng = np.random.default_rng(0)
    words = rng.integers(0, 2**32, 20_000, dtype=np.uint64)
    for m in (1, 2, 3, 200, 65_535, 65_536, 70_001, 2**31 - 1):
        got = np.asarray(uniform_below(jnp.asarray(words.astype(np.uint32)), m))
        np.testing.assert_array_equal(got, (words * m) >> 32)
    assert np.asarray(uniform_below(jnp.asarray([0, 2**32 - 1], jnp.uint32), 7)).tolist() == [0, 6]


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_unit_interval_is_exact_and_in_range(dtype):
    with jax.enable_x64(dtype == jnp.float64):
        words = jnp.asarray([0, 1, 2**31, 2**32 - 1], jnp.uint32)
        u = np.asarray(unit_interval(words, dtype), np.float64)
        bits = min(32, jnp.finfo(dtype).nmant + 1)
        np.testing.assert_array_equal(u, (np.asarray(words, np.uint64) >> (32 - bits)) / 2.0**bits)
        assert u.max() < 1.0 and u.min() == 0.0


def test_rebalance_deletes_uniformly_in_a_surplus():
    # n = 6, every unit duplicated: m = 12 slots, 6 kept; each slot is kept with probability 1/2.
    n, trials = 6, 4000
    kill, dup = jnp.zeros(n, bool), jnp.ones(n, bool)
    keys = jax.random.split(jax.random.key(5), trials)
    sources = np.asarray(jax.vmap(lambda k: rebalance_sources(k, kill, dup)[0])(keys))
    counts = np.stack([np.bincount(s, minlength=n) for s in sources])  # copies of each unit kept: 0, 1 or 2
    # Each unit's two slots: P(both kept) = C(10,4)/C(12,6) = 210/924, mean copies 1.
    assert abs(counts.mean() - 1.0) < 1e-12
    p_two = 210 / 924
    assert abs((counts == 2).mean() - p_two) < 5 * np.sqrt(p_two * (1 - p_two) / (trials * n))


def test_lineage_counts_match_a_plain_count():
    rng = np.random.default_rng(1)
    for _ in range(5):
        ids = rng.integers(0, 40, 64).astype(np.int32)
        w = rng.random(64) * (rng.random(64) < 0.8)
        w /= w.sum()
        mass = {i: w[ids == i].sum() for i in np.unique(ids)}
        count, effective = lineage_counts(jnp.asarray(ids), jnp.asarray(w))
        assert int(count) == sum(m > 0 for m in mass.values())
        np.testing.assert_allclose(float(effective), 1 / sum(m * m for m in mass.values()), rtol=1e-12)


def test_lineage_counts_for_equal_weights_match_the_general_count():
    rng = np.random.default_rng(2)
    for n in (1, 5, 64):
        ids = jnp.asarray(rng.integers(0, 9, n).astype(np.int32))
        count, effective = lineage_counts_uniform(ids, jnp.float64)
        want = lineage_counts(ids, jnp.full(n, 1.0 / n, jnp.float64))
        assert int(count) == int(want[0])
        np.testing.assert_allclose(float(effective), float(want[1]), rtol=1e-12)


def _rebalance_by_sorting(words, kill, duplicate):
    """The sorting reference (issue 24's first round): the n smallest priorities' slots in index order."""
    n = kill.size
    valid = np.concatenate([~kill, duplicate])
    m = int(valid.sum())
    top = 2**31 - 1
    priority = np.where(valid, np.minimum(words >> 1, top - 1), top).astype(np.int64)
    chosen = valid & (priority <= np.sort(priority)[n - 1])
    kept = np.sort(np.where(chosen, np.arange(2 * n), 2 * n))[:n]
    fill = (words[:n].astype(np.uint64) * max(m, 1)) >> 32
    j = np.arange(n)
    slot = np.where(j < m, kept, kept[np.minimum(fill.astype(np.int64), n - 1)])
    return np.where(m > 0, np.concatenate([j, j])[np.minimum(slot, 2 * n - 1)], j), m


@pytest.mark.parametrize("spread", [2**32, 64])  # 64: priorities tie at the cut, broken by index
def test_rebalance_without_sorting_equals_the_sorting_reference(spread):
    rng = np.random.default_rng(7)
    sources = jax.jit(rebalance_sources)
    for trial in range(40):
        n = (1, 2, 9, 33)[trial % 4]
        kill = rng.random(n) < rng.choice([0.0, 0.2, 0.6, 1.0])
        duplicate = ~kill & (rng.random(n) < rng.choice([0.0, 0.3, 0.9]))
        words = rng.integers(0, spread, 2 * n, dtype=np.uint64).astype(np.uint32)
        want, m = _rebalance_by_sorting(words, kill, duplicate)
        source, filled, got_m = sources(None, jnp.asarray(kill), jnp.asarray(duplicate), jnp.asarray(words))
        assert int(got_m) == m
        np.testing.assert_array_equal(np.asarray(source), want, err_msg=f"trial {trial}")
        np.testing.assert_array_equal(np.asarray(filled), (np.arange(n) >= m) & (m > 0))


@pytest.mark.parametrize("interpolate", [8, 0])  # 0: halving only, the search's bound
def test_selection_cut_selects_the_sorted_n_smallest(interpolate):
    """Against np.sort: uniform 31-bit priorities, priorities packed at the top, and ties (values < 6),
    with every valid count m (m ≤ n selects all), vmapped over rows as the runner's seeds are."""
    rng = np.random.default_rng(8)
    top = np.iinfo(np.int32).max
    cut = jax.jit(jax.vmap(lambda p, m, n: selection_cut(p, n, m, interpolate), (0, 0, None)), static_argnums=2)
    for n in (1, 2, 17, 200):
        for low, high in ((0, top - 1), (top - 9, top - 1), (0, 5)):
            priority = rng.integers(low, high, (64, 2 * n), endpoint=True).astype(np.int32)
            valid = rng.random((64, 2 * n)) < rng.random((64, 1))
            priority = np.where(valid, priority, top).astype(np.int32)
            got = np.asarray(cut(jnp.asarray(priority), jnp.asarray(valid.sum(1), jnp.int32), n))
            want = np.sort(priority, axis=1)[:, n - 1]
            np.testing.assert_array_equal(valid & (priority <= got[:, None]), valid & (priority <= want[:, None]))
