"""The sweep batching rule (issue 24): a group vmaps at most PAIRS pair intermediates per call of its program
and loops (``lax.map``) over the rest of its values, in one program."""

import csv

import jax
import jax.numpy as jnp
import numpy as np
from test_sweep_loop import SWEEP

from mfbd.cli import run_config
from mfbd.config import read
from mfbd.runner import batching


def _config(tmp_path, text):
    source = tmp_path / "c.toml"
    source.write_text(text)
    return read(str(source))


def test_values_per_call_is_the_largest_divisor_within_the_pairs(tmp_path):
    # 10 seeds · n² pairs per value (the Gaussian mixture has no block below n).
    base = SWEEP.replace("seeds = 2", "seeds = 10")
    for n, values, want in ((200, 5, 1), (100, 5, 5), (100, 6, 3), (100, 7, 1), (70, 10, 10), (8, 3, 3)):
        cfg = _config(tmp_path, base.replace("n = 8", f"n = {n}")).configs[0]
        assert batching.values_per_call(cfg, values) == want
        pairs = 10 * n * n
        assert want == 1 or (values % want == 0 and want * pairs <= batching.PAIRS)


def test_data_mode_is_not_split():
    cfg = read("exp2_icml", ["run.n=4096", "run.seeds=10"])  # 10 · 50 · 4096 pairs per value: not kernel pairs
    assert batching.values_per_call(cfg, 4) == 4


def test_in_calls_equals_one_vmapped_call():
    def f(x, y):
        return {"sum": x * 3 + y[0], "y": y}

    batched = jax.vmap(f)
    x, y = jnp.arange(12), jnp.arange(24).reshape(12, 2)
    want = batched(x, y)
    for calls in (1, 2, 3, 12):
        got = jax.jit(batching.in_calls(batched, calls))(x, y)
        jax.tree_util.tree_map(np.testing.assert_array_equal, got, want)


def _energies(out):
    rows = []
    for path in sorted(out.rglob("metrics.csv")):
        with open(path) as f:
            rows += [float(r["energy"]) for r in csv.DictReader(f)]
    return np.asarray(rows)


def test_a_sweep_looped_over_its_values_equals_the_vmapped_sweep(tmp_path, monkeypatch):
    spec = _config(tmp_path, SWEEP.replace("[0.01, 0.02]", "[0.01, 0.02, 0.03, 0.04]"))
    assert run_config(spec, str(tmp_path / "vmapped"), quiet=True, plot=False) == 0
    monkeypatch.setattr(batching, "PAIRS", 2 * 2 * 8 * 8)  # two values per call: two calls
    assert batching.values_per_call(spec.configs[0], 4) == 2
    assert run_config(spec, str(tmp_path / "looped"), quiet=True, plot=False) == 0
    vmapped, looped = _energies(tmp_path / "vmapped"), _energies(tmp_path / "looped")
    assert vmapped.size == looped.size > 0
    np.testing.assert_allclose(looped, vmapped, rtol=1e-12)  # batch shapes differ: equal to rounding
