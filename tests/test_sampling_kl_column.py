"""``problem.kl = true``: the runner records the k-NN estimate of KL(μ‖π) as the metrics column ``kl``, equal to
:func:`mfbd.problems.kl_observer` applied to the saved particles (a Langevin arm's column: in
tests/test_sampling_runner.py); bad uses are one-line config errors."""

import dataclasses
import tomllib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mfbd import runner
from mfbd.cli import main
from mfbd.config import ConfigError, make_observe, parse
from mfbd.problems import make_target
from mfbd.problems.sampling_metrics import kl_observer
from mfbd.runner.records import read_metrics, read_snapshots
from mfbd.schemes.base import State

CONFIG = """\
[problem]
name = "sampling"
target = "double_well"
bandwidth = 0.3
kl = true

[run]
steps = 8
n = 16
seeds = 2
record_every = 4
dtype = "float64"

[arms.bd]
scheme = "birth_death"
dt = 0.01
noise = 1.0
alpha = 1.0
"""


def test_the_config_observer_adds_kl_only_when_asked():
    """The wiring alone (no run): ``make_observe`` of a ``kl = true`` section records ``kl`` equal to
    :func:`kl_observer` on the state, and without the key it has no ``kl``."""
    config = parse(tomllib.loads(CONFIG), "s")
    particles = jax.random.normal(jax.random.key(0), (16, 1), jnp.float64) + 1.5
    state = State(particles, jnp.zeros(16), *([None] * 7))
    with jax.enable_x64(True):
        got = make_observe(config.problem, 16, True)(state)
        plain = make_observe(dataclasses.replace(config.problem, kl=False), 16, True)(state)
        want = kl_observer(make_target("double_well"))(state)["kl"]
    assert "kl" not in plain and set(got) == set(plain) | {"kl"}
    np.testing.assert_allclose(got["kl"], want, rtol=1e-12)


@pytest.mark.slow  # a run through the runner (its compile: ~15 s alone, over a minute at load 16)
def test_the_kl_column_is_the_observer_on_the_saved_particles(tmp_path):
    config = parse(tomllib.loads(CONFIG), "s")
    assert runner.run(config, str(tmp_path / "run")).code == 0
    metrics = read_metrics(tmp_path / "run")
    observe = kl_observer(make_target("double_well"))
    snapshots = read_snapshots(tmp_path / "run", "bd")
    assert [s["step"] for s in snapshots] == [0, 8]
    for snapshot, record in zip(snapshots, (0, -1), strict=True):
        with jax.enable_x64(True):
            want = [float(observe(State(x, None, *([None] * 7)))["kl"]) for x in snapshot["particles"][""]]
        np.testing.assert_allclose(metrics["bd"]["kl"][:, record], want, rtol=1e-12)
    assert np.all(np.isfinite(metrics["bd"]["kl"]))  # after duplications too (exact copies skipped)


@pytest.mark.parametrize(
    "arm, fragment",
    [
        ('scheme = "conic"\ndt = 0.01\nalpha = 1.0', "arms.w: problem.kl estimates KL of equally weighted"),
        ('scheme = "reweighting"\ndt = 0.01\nalpha = 1.0\nresample_below = 0.5', "or resample_below = 1"),
    ],
)
def test_a_weighted_arm_with_kl_is_refused(arm, fragment):
    with pytest.raises(ConfigError, match=fragment):
        parse(tomllib.loads(CONFIG + f"\n[arms.w]\n{arm}\n"), "s")
    resampled = CONFIG + '\n[arms.w]\nscheme = "reweighting"\ndt = 0.01\nalpha = 1.0\nresample_below = 1.0\n'
    assert dict(parse(tomllib.loads(resampled), "s").arms)["w"].resample_below == 1.0  # equal weights: allowed


def test_bad_kl_values_are_one_line_errors(tmp_path, monkeypatch, capsys):
    (tmp_path / "s.toml").write_text(CONFIG)
    monkeypatch.chdir(tmp_path)
    for extra, fragment in [
        (["--set", "problem.kl=1"], "problem.kl must be a boolean"),
        (["--set", "run.n=1"], "problem.kl needs at least 2 particles (nearest neighbours), got run.n = 1"),
    ]:
        assert main(["run", "s.toml", *extra]) == 2
        captured = capsys.readouterr()
        assert captured.out == "" and captured.err.count("\n") == 1 and fragment in captured.err, captured.err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.toml"]
