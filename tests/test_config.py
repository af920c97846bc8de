"""Configs: the bundled files, the TOML round trip, --set overrides and every bad input (one-line errors)."""

import dataclasses
import tomllib

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from conftest import SMALL

import mfbd
from mfbd.config import (
    BirthDeathArm,
    ConfigError,
    StudentTeacher,
    apply_overrides,
    bundled,
    dumps,
    load,
    make_problem,
    make_scheme,
    parse,
    shrink,
)
from mfbd.problems import notebook_time

#: The configs of the paper's figures (others are bundled for experiments/).
PAPER = ("exp1_good", "exp1_bad", "exp2_2020", "exp2_icml", "exp2_meanfield")


def test_bundled_configs_load_and_describe_themselves():
    configs = bundled()
    assert set(PAPER) <= set(configs)
    for name in configs:
        config = load(name)
        assert config.name == name
        assert config.description and "\n" not in config.description
    for name in PAPER:
        assert [arm for arm, _ in load(name).arms] == ["gd", "bd", "bd_prior"]  # GD, GD+BD, GD+BD-μ_b


def test_exp1_configs_use_the_notebook_settings():
    for name, start, steps in (("exp1_good", "good", 3000), ("exp1_bad", "bad", 10000)):
        config = load(name)
        assert (config.problem.start, config.run.steps, config.run.n, config.run.seed_list) == (
            start,
            steps,
            200,
            tuple(range(10)),
        )
        arms = dict(config.arms)
        for arm in ("bd", "bd_prior"):
            # per-step probability 0.05·|V| (notes/notebooks.md A.4) = alpha·dt·|V|
            assert arms[arm].alpha * arms[arm].dt == pytest.approx(0.05)
            assert (arms[arm].rates, arms[arm].probability, arms[arm].control) == ("uncentred", "linear", "rebalance")
            assert arms[arm].quench_last == 1000
        assert arms["bd_prior"].prior == "fill_deficit"


@pytest.mark.parametrize(
    "name, width, batch, alpha_bd, alpha_prior",
    [("exp2_2020", 50, 100, 1.0, 0.01), ("exp2_icml", 200, 50, 0.001, 0.001)],
)
def test_exp2_notebook_configs_convert_lr_and_alpha(name, width, batch, alpha_bd, alpha_prior):
    config = load(name)
    assert (config.run.n, config.problem.batch_size, config.problem.scaling) == (width, batch, "standard")
    arms = dict(config.arms)
    for arm, alpha_nb in (("gd", 0.0), ("bd", alpha_bd), ("bd_prior", alpha_prior)):
        dt, alpha = notebook_time(0.02, alpha_nb, width)
        assert arms[arm].dt == pytest.approx(dt, rel=1e-12)
        assert getattr(arms[arm], "alpha", 0.0) == pytest.approx(alpha, rel=1e-12)
    assert arms["bd"].control == "pairing" and arms["bd_prior"].prior == "replace_killed"


def test_dumps_round_trips_every_bundled_config():
    for name in bundled():
        config = load(name)
        text = dumps(config)
        assert parse(tomllib.loads(text), "other") == config
        assert dumps(parse(tomllib.loads(text), "other")) == text


def test_defaults_are_resolved_in_the_written_config(tmp_path):
    path = tmp_path / "small.toml"
    path.write_text(SMALL)
    config = load(str(path))
    assert (config.checkpoint_every, config.chunk, config.run.seed_list) == (40, 40, (0,))
    written = tomllib.loads(dumps(config))
    assert written["run"]["checkpoint_every"] == 40 and written["run"]["chunk"] == 40
    assert written["arms"]["bd"]["rates"] == "centred"  # the library's default, written out


def test_overrides_take_toml_values_and_bare_words(tmp_path):
    path = tmp_path / "small.toml"
    path.write_text(SMALL)
    sets = ["run.seeds=[3, 5]", "arms.bd.rates=uncentred", "arms.bd.alpha=10", "run.dtype=float32", "arms.gd.dt=1e-3"]
    config = load(str(path), sets)
    arms = dict(config.arms)
    assert config.run.seed_list == (3, 5) and config.run.dtype == "float32"
    assert (arms["bd"].rates, arms["bd"].alpha, arms["gd"].dt) == ("uncentred", 10.0, 1e-3)
    raw = tomllib.loads(SMALL)
    apply_overrides(raw, ["run.n=8"])
    assert raw["run"]["n"] == 16  # the document itself is not modified


def test_schemes_get_the_converted_options():
    config = load("exp1_good", ["run.steps=3000"])
    problem = make_problem(config.problem, config.run.n, True)
    arm = dict(config.arms)["bd"]
    assert isinstance(arm, BirthDeathArm)
    assert make_scheme(problem, arm, 3000) is make_scheme(problem, arm, 3000)  # cached: compiled once
    standard = dataclasses.replace(load("exp2_2020").problem)
    assert isinstance(standard, StudentTeacher)
    assert make_problem(standard, 50, False).meta.scale == 50.0  # the standard scaling's width is run.n


BAD_SETS = [
    (["arms.bd.alpah=5"], "unknown key 'arms.bd.alpah'; did you mean 'alpha'?"),
    (["run.step=5"], "unknown key 'run.step'; did you mean 'steps'?"),
    (["problem.strat=bad"], "did you mean 'start'?"),
    (["run.steps='100'"], "run.steps must be an integer, got a string '100' (write it without quotes)"),
    (["arms.gd.dt=true"], "arms.gd.dt must be a number, got a boolean True"),
    (["run.seeds=[1, 1]"], "run.seeds must be a non-empty list of distinct seeds"),
    (["run.seeds=0"], "run.seeds must be ≥ 1"),
    (["problem.name=gaussian"], "problem.name: unknown value 'gaussian'; choose one of 'gaussian_mixture_1d', "),
    (["problem.start=middle"], "problem.start: unknown value 'middle'; choose one of 'good', 'bad'"),
    (["arms.gd.scheme=sgd"], "arms.gd.scheme: unknown value 'sgd'; choose one of 'gradient_flow', 'birth_death'"),
    (
        ["arms.bd.rates=centered"],
        "arms.bd.rates: unknown value 'centered'; choose one of 'centred', 'uncentred', 'swapped'",
    ),
    (["arms.bd.control=pair"], "choose one of 'rebalance', 'pairing'"),
    (["arms.bd.prior=fill"], "choose one of 'fill_deficit', 'replace_killed'"),
    (["run.dtype=float16"], "run.dtype: unknown value 'float16'; choose one of 'float32', 'float64'"),
    (["arms.gd.dt=0"], "arms.gd.dt must be > 0, got 0.0"),
    (["arms.gd.dt=-0.01"], "arms.gd.dt must be > 0, got -0.01"),
    (["arms.gd.dt=nan"], "arms.gd.dt must be finite"),
    (["run.n=0"], "run.n must be > 0, got 0"),
    (["run.steps=-10"], "run.steps must be > 0, got -10"),
    (["run.record_every=0"], "run.record_every must be > 0, got 0"),
    (["arms.bd.alpha=-1"], "arms.bd.alpha must be ≥ 0, got -1.0"),
    (
        ["arms.rw.scheme=reweighting", "arms.rw.dt=0.1", "arms.rw.alpha=1", "arms.rw.resample_below=0"],
        "(0, 1], got 0.0",
    ),
    (["arms.rw.scheme=reweighting", "arms.rw.dt=0.1", "arms.rw.alpha=1", "arms.rw.resample_below=1.5"], "(0, 1]"),
    (
        ["arms.bd.scheme=reweighting"],
        "'arms.bd.quench_last' is not an option of scheme 'reweighting' (only of 'birth_death')",
    ),
    (
        ["arms.gd.alpha=1"],
        "'arms.gd.alpha' is not an option of scheme 'gradient_flow' (only of 'birth_death', 'reweighting', 'conic')",
    ),
    (["problem.dim=3"], "'problem.dim' is not an option of name 'gaussian_mixture_1d' (only of 'student_teacher')"),
    (["arms.new.dt=0.1"], "missing required key 'arms.new.scheme'"),
    (["arms.new.scheme=birth_death", "arms.new.dt=0.1"], "missing required key 'arms.new.alpha': add `alpha = ...`"),
    (["run.steps=45"], "run.steps (45) must be a multiple of run.record_every (10)"),
    (["run.chunk=15"], "run.chunk (15) must be a multiple of run.record_every (10)"),
    (["run.chunk=20", "run.checkpoint_every=30"], "run.checkpoint_every (30) must be a multiple of run.chunk (20)"),
    (["arms.bd.quench_last=50"], "arms.bd.quench_last (50) exceeds run.steps (40)"),
    (["arms.gd.lr=0.1"], "arms.gd.lr needs an optimizer"),
    (["arms.gd.optimizer=rmsprop"], "choose one of 'sgd', 'adam'"),
    (["arms.bd.prior=fill_deficit", "arms.bd.control=pairing"], "arms.bd: prior='fill_deficit' works with"),
    (["arms.bd-x.scheme=gradient_flow", "arms.bd-x.dt=1", "arms.bd-x.noise=-1"], "arms.bd-x.noise must be ≥ 0"),
    (["extra=1"], "unknown key 'extra'"),
    (["run=3"], "run must be a table"),
]


@pytest.mark.parametrize("sets, message", BAD_SETS)
def test_bad_values_give_one_line_errors(tmp_path, sets, message):
    path = tmp_path / "small.toml"
    path.write_text(SMALL)
    with pytest.raises(ConfigError) as e:
        load(str(path), sets)
    assert message in str(e.value)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize(
    "item, message",
    [
        ("run.steps", "malformed --set 'run.steps': write --set section.key=value"),
        ("=5", "malformed --set '=5'"),
        ("run..steps=5", "malformed --set 'run..steps=5'"),
        ("run.steps=", "no value after '='"),
        ("run.seeds=[1, 2", "'[1, 2' is not a TOML value"),
        ("arms.bd.rates=a b", "'a b' is not a TOML value"),
        ("run.steps.x=5", "run.steps is not a table"),
    ],
)
def test_malformed_set(tmp_path, item, message):
    path = tmp_path / "small.toml"
    path.write_text(SMALL)
    with pytest.raises(ConfigError, match="malformed") as e:
        load(str(path), [item])
    assert message in str(e.value)


def test_missing_and_unparsable_files(tmp_path):
    with pytest.raises(ConfigError, match="config 'exp1_goood' not found.*did you mean 'exp1_good'"):
        load("exp1_goood")
    with pytest.raises(ConfigError, match="not found"):
        load(str(tmp_path / "none.toml"))
    with pytest.raises(ConfigError, match="is a directory"):
        load(str(tmp_path))
    path = tmp_path / "broken.toml"
    path.write_text(SMALL.replace("n = 16", "n = = 16"))
    with pytest.raises(ConfigError, match=r"is not valid TOML: .*line 9, column 5") as e:
        load(str(path))
    assert "\n" not in str(e.value)
    path.write_text(SMALL.replace("[arms.gd]", "[arms.gd]\nname = 'x'\n[arms.gd]"))
    with pytest.raises(ConfigError, match="not valid TOML"):
        load(str(path))


def test_shrink_makes_a_smoke_config_and_rescales_quench_last():
    config = load("exp1_good")  # 3000 steps, quench_last = 1000 on both birth-death arms
    small = shrink(config, steps=40, n=8, seeds=3)
    assert (small.run.steps, small.run.n, small.run.seed_list) == (40, 8, (0, 1, 2))
    assert (small.run.record_every, small.chunk, small.checkpoint_every) == (10, 10, 20)
    assert [getattr(arm, "quench_last", None) for _, arm in small.arms] == [None, 10, 10]  # 1/3 of 40 → 10
    assert [getattr(arm, "quench_last", None) for _, arm in shrink(config, steps=400).arms] == [None, 100, 100]
    assert small.problem == config.problem and small.name == config.name
    with pytest.raises(ConfigError, match="multiple of 4"):
        shrink(config, steps=42)


def test_overrides_mark_the_description(tmp_path):
    """A resolved config.toml after --set says so, and reads back as the same config."""
    plain = load("exp1_good")
    config = load("exp1_good", ["run.seeds=2", "run.n=16"])
    assert config.description == f"{plain.description} [--set run.seeds=2, run.n=16]"
    (tmp_path / "config.toml").write_text(dumps(config))
    assert load(str(tmp_path / "config.toml")) == config
    assert load("exp1_good", ["description='mine'", "run.seeds=2"]).description == "mine"


SCHEDULE_TABLES = [
    ('{schedule = "constant", value = 2.0}', lambda: optax.constant_schedule(2.0)),
    (
        '{schedule = "linear", init_value = 4, end_value = 1.0, transition_steps = 20}',
        lambda: optax.linear_schedule(4.0, 1.0, 20),
    ),
    ('{schedule = "cosine_decay", init_value = 1.0, decay_steps = 30}', lambda: optax.cosine_decay_schedule(1.0, 30)),
    (
        '{schedule = "exponential_decay", init_value = 3.0, transition_steps = 5, decay_rate = 0.5, staircase = true}',
        lambda: optax.exponential_decay(3.0, 5, 0.5, staircase=True),
    ),
    (
        '{schedule = "piecewise_constant", init_value = 5.0, boundaries_and_scales = {"10" = 0.5, "25" = 0.1}}',
        lambda: optax.piecewise_constant_schedule(5.0, {10: 0.5, 25: 0.1}),
    ),
]


@pytest.mark.parametrize("table, reference", SCHEDULE_TABLES, ids=[t[0].split('"')[1] for t in SCHEDULE_TABLES])
def test_alpha_schedule_tables_are_optax_schedules_and_round_trip(tmp_path, table, reference):
    path = tmp_path / "c.toml"
    path.write_text(SMALL.replace("alpha = 5.0", f"alpha = {table}"))
    config = load(str(path))
    alpha = dict(config.arms)["bd"].alpha
    steps = jnp.arange(40)
    np.testing.assert_array_equal(jax.vmap(alpha)(steps), jax.vmap(reference())(steps))
    assert parse(tomllib.loads(dumps(config)), "small").arms == config.arms  # dumps writes the table back
    assert load(str(path), [f"arms.bd.alpha={table}"]).arms == config.arms


def test_step_options_reach_the_schemes():
    """gradient/splitting/integrator/max_transfer from a config give the library's scheme with those options."""
    config = load(
        "exp1_good",
        ["arms.gd.integrator=heun", "arms.bd.splitting=strang", "arms.bd.gradient=fresh", "run.n=8"]
        + ["arms.r.scheme=reweighting", "arms.r.dt=0.1", "arms.r.alpha=50.0", "arms.r.max_transfer=0.01"],
    )
    problem = make_problem(config.problem, 8, True)
    arms = dict(config.arms)
    expected = {
        "gd": mfbd.gradient_flow(problem, arms["gd"].dt, integrator="heun"),
        "bd": mfbd.birth_death(problem, arms["bd"].dt, arms["bd"].alpha, splitting="strang", gradient="fresh"),
        "r": mfbd.reweighting(problem, 0.1, 50.0, max_transfer=0.01),
    }
    plain = {"gd": mfbd.gradient_flow(problem, arms["gd"].dt), "r": mfbd.reweighting(problem, 0.1, 50.0)}
    with jax.enable_x64(True):
        particles = problem.init_particles(jax.random.key(0), 8)
        for name, scheme in expected.items():
            ours = make_scheme(problem, arms[name], config.run.steps)
            a, _ = ours.step(jax.random.key(1), ours.init(particles))
            b, _ = scheme.step(jax.random.key(1), scheme.init(particles))
            chex.assert_trees_all_equal(a.particles, b.particles)
            chex.assert_trees_all_equal(a.log_weights, b.log_weights)
            if name in plain:  # and the option changes the step
                c, _ = plain[name].step(jax.random.key(1), plain[name].init(particles))
                assert not all(
                    np.array_equal(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(c), strict=True)
                )
