"""The pure config layer (issue 20): the one binder, the one owner of dotted keys, sweep values frozen as
the schema's values, and reading that asks no device and builds nothing."""

import sys
import textwrap
import tomllib

import pytest
from conftest import SMALL

from mfbd import config as cfg
from mfbd.cli import main
from mfbd.config import ConfigError, Sweep, dumps, load, parse, read
from mfbd.config.bind import bind
from mfbd.config.schedules import AlphaSchedule
from mfbd.config.toml import assign, flatten


def _file(tmp_path, text, name="c.toml"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_bind_checks_keys_against_the_signature_and_converts_values():
    def factory(width, scale=1.0, *, n, mode="a"):
        return width, scale, n, mode

    kwargs = bind(factory, {"width": 3, "mode": "b"}, "problem", "f", reserved=("n",), convert=lambda p, v, w: v * 2)
    assert kwargs == {"width": 6, "mode": "bb"}
    with pytest.raises(ConfigError, match=r"problem\.widht is not a parameter of f; did you mean 'width'\?"):
        bind(factory, {"widht": 3}, "problem", "f", reserved=("n",))
    with pytest.raises(ConfigError, match=r"missing key 'problem\.width' of f: add width = \.\.\. under \[problem\]"):
        bind(factory, {}, "problem", "f", reserved=("n",))
    assert bind(lambda **kw: kw, {"anything": 1}, "problem", "g") == {"anything": 1}


def test_flatten_and_assign_own_the_dotted_keys():
    table = {"arms": {"bd": {"alpha": {"schedule": "constant", "value": 1.0}}}, "run.n": [1]}
    assert flatten(table, leaf=lambda k: k == "alpha") == {"arms.bd.alpha": table["arms"]["bd"]["alpha"], "run.n": [1]}
    with pytest.raises(ConfigError, match="'run.n' is given twice"):
        flatten({"run.n": [1], "run": {"n": [2]}})
    assert assign({"run": {"n": 1}}, {"run.n": 2, "arms.gd.dt": 0.1}) == {"run": {"n": 2}, "arms": {"gd": {"dt": 0.1}}}
    with pytest.raises(ConfigError, match="run.n is not a table"):
        assign({"run": {"n": 1}}, {"run.n.x": 2})


def test_list_valued_and_schedule_sweep_values_are_frozen_and_written_back(tmp_path):
    schedule = '{schedule = "linear", init_value = 1.0, end_value = 0.5, transition_steps = 40}'
    text = SMALL + f'\n[sweep]\n"run.seeds" = [[0, 1], [2, 3]]\n"arms.bd.alpha" = [2.0, {schedule}]\n'
    sw = load(_file(tmp_path, text))
    assert isinstance(sw, Sweep) and sw.values[0] == ((0, 1), (2, 3))
    assert isinstance(sw.values[1][1], AlphaSchedule) and len(sw.points) == 4
    assert [c.run.seed_list for c in sw.configs] == [(0, 1), (0, 1), (2, 3), (2, 3)]
    again = parse(tomllib.loads(dumps(sw)), "other")  # no TypeError: the values are the schema's
    assert again.points == sw.points and dumps(again) == dumps(sw)


@pytest.mark.parametrize(
    "sweep, sets, message",
    [
        ('"run.seeds" = [[0, 1], [2, -3]]', [], "sweep.run.seeds[1] = [2, -3]: run.seeds must be"),
        ('"run.n" = [8]\nrun.n = [16]', [], "key 'run.n' is given twice"),
        ('mode = "zip"\n"run.n" = [8, 16]\n"arms.gd.dt" = [0.1]', [], "lists of the same length"),
    ],
)
def test_bad_sweep_values_are_one_line_errors(tmp_path, sweep, sets, message):
    with pytest.raises(ConfigError) as e:
        read(_file(tmp_path, SMALL + "\n[sweep]\n" + sweep + "\n"), sets)
    assert message in str(e.value) and "\n" not in str(e.value)


def test_set_sweep_to_a_value_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="sweep must be a table"):
        read(_file(tmp_path, SMALL), ["sweep=3"])


def test_reading_builds_nothing_and_asks_no_device(tmp_path, monkeypatch):
    """A config too large for any machine reads (pure); the memory is the runner's question."""
    from mfbd import _memory

    monkeypatch.setattr(_memory, "available", lambda: pytest.fail("reading a config asked for the memory"))
    monkeypatch.setattr(cfg.schema, "make_problem", lambda *a: pytest.fail("reading a config built its problem"))
    config = read("exp2_meanfield", ["problem.dim=1000000000"])
    assert config.problem.dim == 10**9


def test_a_ragged_covariance_is_named(tmp_path):
    text = 'name = "g"\n[problem]\nname = "sampling"\ntarget = "gaussian"\ncovariance = [[1.0, 0.0], [0.0]]\n'
    text += '[run]\nsteps = 40\nn = 16\n[arms.gd]\nscheme = "gradient_flow"\ndt = 0.01\nnoise = 1.0\n'
    message = r"problem\.covariance must be a matrix \(rows of equal length\), got rows of 2, 1"
    with pytest.raises(ConfigError, match=message):
        read(_file(tmp_path, text))


def test_a_factory_calling_sys_exit_is_one_error_line(tmp_path, monkeypatch, capsys):
    (tmp_path / "exiting.py").write_text(
        textwrap.dedent("""
        import sys

        def factory(n):
            sys.exit(3)
        """)
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("exiting", None)
    text = SMALL.replace('name = "gaussian_mixture_1d"', 'name = "exiting:factory"')
    out = tmp_path / "out"
    assert main(["run", _file(tmp_path, text), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mfbd: error: ") and "SystemExit" in err and err.count("\n") == 1
    assert not out.exists()
