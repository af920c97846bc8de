"""Sampling mode through the runner: the bundled configs end to end (CLI, metrics, figures), the config
schema (round trip, target parameters) and every bad input as a one-line error with nothing written."""

import csv
import dataclasses
import tomllib

import jax
import numpy as np
import pytest

from mfbd import gradient_flow, runner
from mfbd.cli import main
from mfbd.config import dumps, load, make_observe, make_problem, make_scheme, parse, shrink
from mfbd.config.sampling import _PARAMETER_FIELDS, REFERENCE_SAMPLES, TARGET_PARAMETERS, Sampling
from mfbd.problems import make_target, mmd2, sampling_observer
from mfbd.runner.rundir import read_metrics
from mfbd.simulate import initial_record, seed_keys, simulate

SAMPLING = ("sampling_double_well", "sampling_four_modes", "sampling_gaussian", "sampling_four_modes_kl")
SMALL = """\
[problem]
name = "sampling"
target = "double_well"
bandwidth = 0.3

[run]
steps = 8
n = 16
record_every = 4

[arms.bd]
scheme = "birth_death"
dt = 0.01
noise = 1.0
alpha = 1.0
"""


def _sets(config):
    keys = ("steps", "n", "seeds", "record_every", "chunk", "checkpoint_every")
    return [a for k in keys for a in ("--set", f"run.{k}={getattr(config.run, k)}")]


def _rows(run_dir):
    with open(run_dir / "metrics.csv", newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize(
    "name", [*SAMPLING[:2], *(pytest.param(n, marks=pytest.mark.slow) for n in SAMPLING[2:])]
)  # the gaussian target and the "kl" rate also build (and round-trip) in the fast tests below
def test_bundled_sampling_config_runs_through_the_cli_with_metrics_and_figures(name, tmp_path):
    small = shrink(load(name), steps=8, n=8, seeds=2)
    out = tmp_path / name
    assert main(["run", name, *_sets(small), "--out", str(out), "--quiet"]) == 0
    rows = _rows(out)
    assert {r["arm"] for r in rows} == {arm for arm, _ in small.arms}
    columns = {"mmd2", "w1", "mean_error", "cov_error"} | ({"mass_left", "delta_F"} if "double" in name else set())
    assert columns <= set(rows[0])
    assert len(rows) == len(small.arms) * 2 * 5  # 2 seeds, steps 0, 2, 4, 6, 8
    assert all(np.isfinite(float(r["mmd2"])) and float(r["mmd2"]) >= -1e-12 for r in rows)
    written = load(str(out / "config.toml"))  # the resolved config re-reads to the run's
    assert dataclasses.replace(written, description="") == dataclasses.replace(small, description="")
    for stem in ("energy", "particles", "sampling_metrics"):
        assert (out / f"{stem}.png").stat().st_size > 0 and (out / f"{stem}.pdf").exists()
    (out / "sampling_metrics.png").unlink()
    assert main(["plot", str(out)]) == 0 and (out / "sampling_metrics.png").exists()  # mfbd plot redraws them


@pytest.mark.parametrize("rate", ["pde", "kl"])
def test_langevin_arm_skips_the_density_estimate_and_records_the_same_rows(rate, tmp_path):
    """A gradient_flow arm runs on ``transport_only`` (no O(n²) KDE per step) yet writes the rows of the
    full oracle: E_h and Σ w V at the record steps, the same particles, hence the same metrics."""
    text = SMALL.replace("bandwidth = 0.3", f'bandwidth = 0.3\nrate = "{rate}"\nkl = true')
    text += '\n[arms.langevin]\nscheme = "gradient_flow"\ndt = 0.01\nnoise = 1.0\n'
    config = parse(tomllib.loads(text), "s")
    assert runner.run(config, str(tmp_path / "run")).code == 0
    got = read_metrics(tmp_path / "run")["langevin"]
    with jax.enable_x64(True):
        problem = make_problem(config.problem, 16, True)
        assert problem.meta.transport_only is not None
        scheme = gradient_flow(problem, 0.01, noise=1.0)  # the full oracle: the KDE at every step
        particle_keys, init_keys, run_keys = seed_keys([0])
        state = scheme.init(problem.init_particles(particle_keys[0], 16), init_keys[0])
        observe = make_observe(config.problem, 16, True)
        _, want = simulate(run_keys[0], scheme, state, 8, record_every=4, observe=observe, record_initial=True)
        arm = dict(config.arms)["langevin"]
        fast = make_scheme(runner.arm_problem(problem, arm, config.problem), arm, 8)  # the runner's scheme
        pairwise = "f64[1,16,16]"  # the density estimate's kernel: one [n, n] tile at n = 16
        assert pairwise in str(jax.make_jaxpr(scheme.step)(run_keys[0], state))
        assert pairwise not in str(jax.make_jaxpr(fast.step)(run_keys[0], state))
    assert got["step"][0].tolist() == [0, 4, 8]
    for column in ("energy", "mean_potential", "mmd2", "w1", "mean_error", "mass_left", "kl"):
        np.testing.assert_allclose(got[column][0], want[column], rtol=1e-9, atol=1e-12, err_msg=column)


def test_configs_map_to_the_study_settings():
    gaussian, well, modes, kl = (
        load(f"sampling_{n}") for n in ("gaussian", "double_well", "four_modes", "four_modes_kl")
    )
    assert gaussian.problem.covariance == ((1.0, 0.6), (0.6, 2.0)) and gaussian.problem.bandwidth == "median"
    assert (well.problem.b, well.problem.bandwidth, well.run.n, well.run.steps) == (4.0, 0.15, 100, 4000)
    assert (modes.run.n, modes.run.steps, modes.problem.rate, kl.problem.rate) == (500, 1000, "pde", "kl")
    for config in (gaussian, well, modes, kl):
        assert all(arm.noise == 1.0 and arm.dt == 0.01 for _, arm in config.arms)  # Langevin transport
        assert all(arm.alpha == 1.0 for _, arm in config.arms if arm.scheme != "gradient_flow")
    assert [arm.resample_below for _, arm in modes.arms if arm.scheme == "reweighting"] == [None, 0.5]
    for name in SAMPLING:
        text = dumps(load(name))
        assert parse(tomllib.loads(text), "x") == load(name) and dumps(parse(tomllib.loads(text), "x")) == text


def test_every_target_parameter_is_a_config_key():
    assert set(_PARAMETER_FIELDS) == {f.name for f in dataclasses.fields(Sampling)} - {
        "name",
        "target",
        "bandwidth",
        "rate",
        "transport",
        "block_size",
        "kl",
        "kernel_dtype",
    }
    for name, keys in TARGET_PARAMETERS.items():
        assert set(keys) <= set(_PARAMETER_FIELDS), name


def test_config_builds_the_target_it_names(tmp_path):
    path = tmp_path / "g.toml"
    path.write_text(
        SMALL.replace('target = "double_well"', 'target = "gaussian"\nmean = [1, 2, 3]\ninit_mean = [0, 0, 0]')
    )
    config = load(str(path))
    target = make_problem(config.problem, 16, True).meta.target
    np.testing.assert_array_equal(target.mean, [1.0, 2.0, 3.0])  # dim = 3 from the mean
    np.testing.assert_array_equal(target.covariance, np.eye(3))
    np.testing.assert_array_equal(target.extras["init_mean"], [0.0, 0.0, 0.0])
    assert config.problem.mean == (1.0, 2.0, 3.0)  # ints read as floats
    (tmp_path / "w.toml").write_text(SMALL)
    five = load(str(tmp_path / "w.toml"), ["problem.b=5"])
    assert make_problem(five.problem, 16, True).meta.target.params == {"b": 5.0, "tilt": 0.2}
    low = load(str(tmp_path / "w.toml"), ['problem.kernel_dtype="float32"'])
    assert make_problem(low.problem, 16, True).meta.kernel_dtype == "float32"
    assert make_problem(five.problem, 16, True).meta.kernel_dtype is None


def test_observer_matches_the_library_metrics_on_a_fixed_reference():
    with jax.enable_x64(True):
        config = parse(tomllib.loads(SMALL), "s")
        problem = make_problem(config.problem, 16, True)
        observe = make_observe(config.problem, 16, True)
        from mfbd import birth_death

        scheme = birth_death(problem, 0.01, 1.0, noise=1.0)
        state = scheme.init(problem.init_particles(jax.random.key(3), 16))
        row = initial_record(state, observe)
        target = make_target("double_well")
        y = target.sample(jax.random.key(12345), REFERENCE_SAMPLES)  # the documented reference
        w = jax.nn.softmax(state.log_weights)
        np.testing.assert_allclose(row["mmd2"], mmd2(state.particles, w, y), rtol=1e-12)
        np.testing.assert_allclose(
            row["w1"], sampling_observer(target, jax.random.key(12345), REFERENCE_SAMPLES)(state)["w1"], rtol=1e-12
        )
        left = float(np.mean(np.asarray(state.particles[:, 0]) < target.extras["saddle"]))
        assert float(row["mass_left"]) == pytest.approx(left)


BAD = [
    (["--set", "problem.bandwidth=0"], "problem.bandwidth must be > 0, got 0.0"),
    (["--set", "problem.bandwidth=-1.5"], "problem.bandwidth must be > 0, got -1.5"),
    (["--set", "problem.bandwidth=nan"], "problem.bandwidth must be finite, got nan"),
    (["--set", 'problem.bandwidth="mean"'], "problem.bandwidth must be a number > 0 or \"median\", got 'mean'"),
    (["--set", "problem.target=double_wel"], "problem.target: unknown value 'double_wel'; choose one of 'gaussian'"),
    (["--set", "problem.bb=4"], "unknown key 'problem.bb'; did you mean 'b'?"),
    (
        ["--set", "problem.mean=[1, 2]"],
        "problem.mean is not a parameter of target 'double_well'; its parameters are b, tilt",
    ),
    (["--set", "problem.dim=2"], "'problem.dim' is not an option of name 'sampling' (only of 'student_teacher')"),
    (["--set", "problem.b=0"], "problem.b must be > 0, got 0.0"),
    (["--set", "problem.rate=pd"], "problem.rate: unknown value 'pd'; choose one of 'pde', 'kl'"),
    (
        ["--set", "problem.target=four_mode_mixture", "--set", "problem.b=4"],
        "problem.b is not a parameter of target 'four_mode_mixture'; it takes no parameters",
    ),
    (
        ["--set", "problem.target=gaussian", "--set", "problem.covariance=[[1, 0], [0, 1], [0, 0]]"],
        "problem: target 'gaussian': covariance must be a symmetric [3, 3] matrix, got shape (3, 2)",
    ),
    (
        ["--set", "problem.target=gaussian", "--set", "problem.mean=[1, 2, 3]", "--set", "problem.init_mean=[0, 0]"],
        "problem: target 'gaussian': init_mean must have dim = 3 entries, got shape (2,)",
    ),
    (
        ["--set", "problem.target=gaussian", "--set", 'problem.covariance=[[1, "a"], [0, 1]]'],
        "problem.covariance must be a list of lists of numbers, got an array",
    ),
    (  # exp(-U) at the start underflows: log π = -inf there
        ["--set", "problem.target=gaussian", "--set", "problem.init_mean=[1e200, 1e200]"],
        "problem: target 'gaussian': log_target is not finite at the initial particles",
    ),
]


@pytest.mark.parametrize("extra, fragment", BAD)
def test_bad_sampling_input_is_one_line_exit_2_nothing_written(tmp_path, monkeypatch, capsys, extra, fragment):
    (tmp_path / "s.toml").write_text(SMALL)
    monkeypatch.chdir(tmp_path)
    code = main(["run", "s.toml", *extra])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    assert captured.err.startswith("mfbd: error: ") and captured.err.count("\n") == 1, captured.err
    assert fragment in captured.err, captured.err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.toml"]
