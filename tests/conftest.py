"""Test session set-up: float64 available (tests choose their dtype explicitly), and small configs.

``SMALL_GD`` (one gradient-flow arm) and ``SMALL`` (named, with a birth-death arm
too) are the small TOML configs of the config and CLI tests; the fixtures
``small_config`` and ``smoke`` give them and the bundled configs as smoke runs.
"""

import subprocess

import jax
import pytest

jax.config.update("jax_enable_x64", True)

SMALL_GD = """\
[problem]
name = "gaussian_mixture_1d"

[run]
steps = 40
n = 16

[arms.gd]
scheme = "gradient_flow"
dt = 0.01
"""

SMALL = (
    'name = "small"\ndescription = "a small config"\n\n'
    + SMALL_GD
    + '\n[arms.bd]\nscheme = "birth_death"\ndt = 0.01\nalpha = 5.0\nquench_last = 10\n'
)


@pytest.fixture
def small_config(tmp_path):
    """The :data:`SMALL` config (gd and bd arms, 40 steps of 16 particles, one seed)."""
    from mfbd.config import load

    path = tmp_path / "small.toml"
    path.write_text(SMALL)
    return load(str(path))


@pytest.fixture
def smoke():
    """``smoke(name, **sizes)``: a bundled config as a smoke run (:func:`mfbd.config.shrink`)."""
    from mfbd.config import load, shrink

    return lambda name, **sizes: shrink(load(name), **sizes)


def without_wall(run_dir, name="metrics.csv"):
    """A metrics file's rows without the ``wall`` column (seconds of run time: two runs of the same numbers
    differ there), for the bit-identical comparisons; ``passes`` stays in."""
    import csv

    with open(run_dir / name, newline="") as f:
        return [{k: v for k, v in row.items() if k != "wall"} for row in csv.DictReader(f)]


def assert_same_checkpoint(a, b):
    """Two checkpoint.npz files hold the same arrays, but for the ``wall`` seconds of their ``costs`` record."""
    import json

    import numpy as np

    with np.load(a) as za, np.load(b) as zb:
        assert za.files == zb.files
        for key in za.files:
            if key == "costs":
                costs = [json.loads(str(z[key])) for z in (za, zb)]
                for c in costs:
                    for entry in c.values():
                        entry.pop("wall")
                assert costs[0] == costs[1]
            else:
                np.testing.assert_array_equal(za[key], zb[key], err_msg=key)


def spawn(argv, log, **kwargs) -> subprocess.Popen:
    """``subprocess.Popen(argv)`` with its stderr in the file ``log`` (stdout discarded); read it once the process
    has ended. A pipe read only at the end blocks the child once it holds 64 KB, and XLA alone logs ~2.5 KB for
    each cached program it loads that was compiled for other CPU features (seen with a warm compilation cache)."""
    with open(log, "w") as f:
        return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=f, text=True, **kwargs)
