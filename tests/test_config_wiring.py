"""The config wiring of issues 21, 23 and 26 (issue 20's registry): arm ``order``, ``periodic``, the ``conic``
arm, ``noise`` schedules, the ``digits`` and ``torus_mmd`` problem kinds and the ProblemKind registry."""

import tomllib

import numpy as np
import pytest
from test_runner import smoke_sets

import mfbd
from mfbd.cli import main
from mfbd.config import KINDS, PROBLEMS, ConfigError, dumps, kind_of, load, make_problem, make_scheme, parse
from mfbd.config import user as user_config
from mfbd.config.schedules import AlphaSchedule
from mfbd.config.schema import picture_key
from mfbd.runner import read_metrics

BASE = """
[problem]
name = "gaussian_mixture_1d"
[run]
steps = 20
n = 8
record_every = 5
[arms.a]
scheme = "gradient_flow"
dt = 0.01
"""


def _config(extra: str, base: str = BASE):
    return parse(tomllib.loads(base + extra), "wiring")


def test_order_periodic_and_conic_parse_build_and_round_trip():
    config = _config(
        "order = 2\n[arms.rw]\nscheme = 'reweighting'\ndt = 0.01\nalpha = 1.0\norder = 1\nmax_transfer = 0.5\n"
        "[arms.c]\nscheme = 'conic'\ndt = 0.01\nalpha = 2.0\n"
    )
    arms = dict(config.arms)
    assert (arms["a"].order, arms["rw"].order, arms["rw"].max_transfer, arms["c"].alpha) == (2, 1, 0.5, 2.0)
    assert parse(tomllib.loads(dumps(config)), "other").arms == config.arms
    problem = make_problem(config.problem, 8, True)
    assert make_scheme(problem, arms["a"], 20).order() == 2  # Heun
    assert make_scheme(problem, arms["rw"], 20).order() == 1
    assert make_scheme(problem, arms["c"], 20).order() == mfbd.conic(problem, 0.01, 2.0).order()


@pytest.mark.parametrize(
    "extra, fragment",
    [
        ("order = 0", "arms.a.order: unknown value 0; choose one of 1, 2"),
        ("order = true", "arms.a.order"),
        ("[arms.b]\nscheme = 'birth_death'\ndt = 0.01\nalpha = 1.0\norder = 2", "birth_death is first order only"),
        ("[arms.c]\nscheme = 'conic'\ndt = 0.01\nalpha = 1.0\norder = 2", "conic is first order only"),
        ("[arms.c]\nscheme = 'conic'\ndt = 0.01", "arms.c"),
        ("noise = {schedule = 'logarithmic', c = -1.0}", "arms.a.noise"),
        ("noise = {schedule = 'logarithmc', c = 1.0}", "did you mean 'logarithmic'"),
        ("periodic = 1", "arms.a.periodic must be a boolean"),
    ],
)
def test_bad_new_options_are_one_line_errors(extra, fragment):
    with pytest.raises(ConfigError, match=None) as e:
        _config(extra)
    assert fragment in str(e.value) and "\n" not in str(e.value)


def test_noise_schedules_are_the_library_temperatures():
    """A noise table evaluates as mfbd.schemes.logarithmic / optax's piecewise constant, step by step."""
    arm = dict(_config("noise = {schedule = 'logarithmic', c = 0.3, dt = 0.08}").arms)["a"]
    assert isinstance(arm.noise, AlphaSchedule)
    k = np.arange(0, 1000, 37)
    np.testing.assert_allclose(np.asarray(arm.noise(k)), 0.3 / np.log(k * 0.08 + np.e), rtol=1e-6)
    table = "noise = {schedule = 'piecewise_constant', init_value = 0.1, boundaries_and_scales = {'8' = 0.0}}"
    off = dict(_config(table).arms)["a"].noise
    np.testing.assert_allclose(np.asarray([off(7), off(8), off(19)]), [0.1, 0.0, 0.0])


def test_every_problem_name_has_one_kind_and_user_problems_theirs():
    assert set(PROBLEMS) == set(KINDS) >= {"gaussian_mixture_1d", "student_teacher", "sampling", "digits", "torus_mmd"}
    for name, kind in KINDS.items():
        assert kind.schema is PROBLEMS[name] and kind_of(kind.schema()) is kind if name != "sampling" else True
    factory = user_config.UserProblem("examples.tanh_network:tanh_network")
    assert kind_of(factory) is user_config.KIND and picture_key(factory) == factory.name
    assert KINDS["student_teacher"].log_time and not KINDS["gaussian_mixture_1d"].log_time
    assert KINDS["sampling"].figures == ("sampling_metrics",)


def test_torus_needs_periodic_arms_and_takes_them():
    torus = '\n[problem]\nname = "torus_mmd"\n[run]\nsteps = 20\nn = 8\nrecord_every = 5\n[arms.a]\n'
    with pytest.raises(ConfigError, match="add periodic = true"):
        _config('scheme = "gradient_flow"\ndt = 0.08\n', torus)
    config = _config('scheme = "gradient_flow"\ndt = 0.08\nperiodic = true\nnoise = 0.1\n', torus)
    assert make_problem(config.problem, 8, True).period == pytest.approx(2 * np.pi)


@pytest.mark.parametrize(
    "name, columns",
    [("digits", {"train_loss", "train_accuracy", "test_loss", "test_accuracy"}), ("mfl_torus", {"free_energy"})],
)
def test_new_bundled_configs_smoke_through_the_cli(tmp_path, name, columns):
    sizes = ["run.n=16", "run.seeds=1"] + [s for s in smoke_sets(name, steps=20) if "seeds" not in s and ".n=" not in s]
    out = tmp_path / name
    assert main(["run", name, *[a for s in sizes for a in ("--set", s)], "--out", str(out), "--quiet"]) == 0
    metrics = read_metrics(out)
    assert set(metrics) == {arm for arm, _ in load(name).arms}
    for arm in metrics.values():
        assert columns <= set(arm) and np.isfinite(arm["energy"]).all()
    if name == "digits":
        accuracy = metrics["gd"]["test_accuracy"]
        assert ((accuracy >= 0) & (accuracy <= 1)).all()


def test_a_conic_arm_records_the_population_energy_of_its_masses():
    teacher = "\n[problem]\nname = 'student_teacher'\nmode = 'data'\n[run]\nsteps = 20\nn = 8\nrecord_every = 5\n"
    config = _config(
        "[arms.a]\nscheme = 'gradient_flow'\ndt = 0.01\n[arms.c]\nscheme = 'conic'\ndt = 0.01\nalpha = 1.0\n", teacher
    )
    kind, arms = kind_of(config.problem), dict(config.arms)
    observe = kind.observe(config.problem, 8, True)
    problem = make_problem(config.problem, 8, True)
    assert not kind.arm_observe(observe, problem, arms["a"]).conic
    assert kind.arm_observe(observe, problem, arms["c"]).conic
