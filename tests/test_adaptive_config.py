"""``dt = "adaptive"`` arms (mfbd.config.adaptive) through the runner: records at the mean-field times
s·t_end/steps, the final energy within rtol of a fine fixed-step reference, the controller's columns in
metrics.csv, a bit-identical resume after Ctrl-C, and one-line errors for what it cannot run."""

import csv

import jax
import numpy as np
import pytest
from conftest import assert_same_checkpoint, without_wall

import mfbd
from mfbd.cli import resume_run, run_config
from mfbd.config import ConfigError, load
from mfbd.simulate import seed_keys

RTOL, T_END, ALPHA = 1e-4, 0.4, 5.0
CONFIG = f"""\
name = "adaptive"
[problem]
name = "gaussian_mixture_1d"
[run]
steps = 40
n = 16
seeds = 2
record_every = 10
chunk = 10
checkpoint_every = 20
[arms.gd]
scheme = "gradient_flow"
dt = 0.01
[arms.b]
scheme = "reweighting"
alpha = {ALPHA}
dt = "adaptive"
rtol = {RTOL}
atol = 1e-6
t_end = {T_END}
"""


def _rows(run_dir, arm):
    with open(run_dir / "metrics.csv", newline="") as f:
        return [r for r in csv.DictReader(f) if r["arm"] == arm]


@pytest.fixture(scope="module")
def adaptive_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("adaptive")
    (folder / "adaptive.toml").write_text(CONFIG)
    assert run_config(load(str(folder / "adaptive.toml")), str(folder / "run"), quiet=True, plot=False) == 0
    return folder


def test_records_at_fixed_times_and_meets_rtol_against_a_fine_fixed_step_reference(adaptive_run):
    rows = _rows(adaptive_run / "run", "b")
    problem = mfbd.problems.gaussian_mixture_1d()
    fine = mfbd.reweighting(problem, T_END / 2000, ALPHA, order=2)
    for seed in (0, 1):
        mine = [r for r in rows if r["seed"] == str(seed)]
        np.testing.assert_allclose([float(r["time"]) for r in mine], [0.0, 0.1, 0.2, 0.3, 0.4], rtol=0, atol=1e-15)
        gd_times = [float(r["time"]) for r in _rows(adaptive_run / "run", "gd") if r["seed"] == str(seed)]
        np.testing.assert_allclose(gd_times, [0.0, 0.1, 0.2, 0.3, 0.4], rtol=1e-12)  # the rows line up
        particle_key = seed_keys([seed])[0][0]
        start = problem.init_particles(particle_key, 16)
        reference = mfbd.simulate(jax.random.key(1), fine, fine.init(start), 2000, record_every=2000)[0].energy
        assert abs(float(mine[-1]["energy"]) / float(reference) - 1) < RTOL
        accepted, rejected = int(mine[-1]["accepted"]), int(mine[-1]["rejected"])
        assert accepted > 4 and int(mine[-1]["passes"]) == 2 * (accepted + rejected) + 1
        steps = np.diff([int(r["accepted"]) for r in mine])
        spans = [float(r["dt_accepted"]) for r in mine[1:]] * steps
        np.testing.assert_allclose(spans, 0.1, rtol=1e-12)  # the accepted steps of a record interval fill it


def test_ctrl_c_then_resume_is_bit_identical(adaptive_run, tmp_path):
    calls = []

    def stop(arm, done, total):  # 4 chunks of gd, then the first chunk of b (between checkpoints)
        calls.append(done)
        if len(calls) == 5:
            raise KeyboardInterrupt

    config = load(str(adaptive_run / "adaptive.toml"))
    assert run_config(config, str(tmp_path / "cut"), quiet=True, plot=False, reporter=stop) == 130
    assert resume_run(tmp_path / "cut", quiet=True, plot=False) == 0
    assert without_wall(adaptive_run / "run") == without_wall(tmp_path / "cut")
    assert_same_checkpoint(adaptive_run / "run" / "checkpoint.npz", tmp_path / "cut" / "checkpoint.npz")


def test_the_written_config_reads_back(adaptive_run):
    assert load(str(adaptive_run / "run" / "config.toml")) == load(str(adaptive_run / "adaptive.toml"))


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (('scheme = "reweighting"', 'scheme = "birth_death"'), "birth_death has no adaptive step"),
        (("rtol = 0.0001", "rtol = 0.0"), "arms.b.rtol must be > 0"),
        (("rtol = 0.0001", "rtol = -1.0"), "arms.b.rtol must be > 0"),
        (("rtol = 0.0001\n", ""), "missing required key 'arms.b.rtol'"),
        ((f"t_end = {T_END}\n", ""), "missing required key 'arms.b.t_end'"),
        (('dt = "adaptive"', 'dt = "adaptiv"'), 'arms.b.dt must be a positive number or "adaptive"'),
        (('dt = "adaptive"', "dt = 0.01"), 'arms.b.rtol applies only to dt = "adaptive"'),
        (("atol = 1e-6", 'atol = 1e-6\nsplitting = "strang"'), "arms.b.splitting: not an option"),
        (("atol = 1e-6", "atol = 1e-6\norder = 1"), "arms.b.order"),
        (("atol = 1e-6", "atol = 1e-6\nresample_below = 0.5"), "arms.b.resample_below"),
        (("atol = 1e-6", "atol = 1e-6\nnoise = 0.1"), "arms.b.noise"),
    ],
)
def test_bad_input_is_one_line(tmp_path, edit, match):
    path = tmp_path / "bad.toml"
    path.write_text(CONFIG.replace(*edit))
    with pytest.raises(ConfigError, match=match) as e:
        load(str(path))
    assert "\n" not in str(e.value)


def test_data_mode_is_refused_with_one_line(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(CONFIG.replace('name = "gaussian_mixture_1d"', 'name = "student_teacher"\nmode = "data"'))
    with pytest.raises(ConfigError, match="arms.b: adaptive dt needs a deterministic oracle") as e:
        load(str(path))
    assert "\n" not in str(e.value)
