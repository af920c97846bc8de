"""A researcher's own problem in a config (mfbd.config.user): the shipped example end to end through the
CLI, re-running and resuming its resolved config, and the one-line errors of a bad factory."""

import pathlib
import sys
import textwrap

import pytest

from mfbd import plotting
from mfbd.cli import main
from mfbd.config import load
from mfbd.config.user import UserProblem

SMALL = ["run.steps=40", "run.n=16", "run.seeds=2", "run.record_every=10", "run.chunk=10", "run.checkpoint_every=20"]


def _sets(items):
    return [a for s in items for a in ("--set", s)]


class Interrupt(KeyboardInterrupt):
    pass


def test_the_tanh_network_example_runs_end_to_end_with_figures(tmp_path, capsys):
    out = tmp_path / "tanh"
    assert main(["run", "examples/tanh_network.toml", *_sets(SMALL), "--out", str(out), "--quiet"]) == 0
    for name in ("metrics.csv", "energy.png", "energy.pdf", "particles.png", "particles.pdf"):
        assert (out / name).stat().st_size > 0, name
    config = load(str(out / "config.toml"))
    assert config == load("examples/tanh_network.toml", SMALL)  # the resolved config re-runs as is
    assert isinstance(config.problem, UserProblem) and dict(config.problem.options)["samples"] == 128
    assert config.problem.name not in plotting.PICTURES  # drawn by the generic picture
    text = (out / "metrics.csv").read_text().splitlines()
    assert len(text) == 1 + 3 * 2 * 5  # header + 3 arms × 2 seeds × 5 records
    energies = [float(line.split(",")[4]) for line in text[1:]]
    assert all(0 < e < 1 for e in energies)
    source = pathlib.Path("examples/tanh_network.py").read_text()
    assert (out / "problem_source" / "tanh_network.py").read_text() == source  # the code the run ran


def test_an_interrupted_user_problem_run_resumes_from_its_config(tmp_path):
    from mfbd.cli import resume_run, run_config

    calls = []

    def reporter(arm, done, total):
        calls.append(done)
        if len(calls) == 3:
            raise Interrupt

    out = tmp_path / "run"
    config = load("examples/tanh_network.toml", [*SMALL, "run.seeds=1"])
    assert run_config(config, str(out), quiet=True, plot=False, reporter=reporter) == 130
    assert resume_run(out, quiet=True, plot=False) == 0
    assert (out / "metrics.csv").read_text().count("\nrw,") == 5


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    """A module ``my_problems`` on sys.path with good and bad factories."""
    (tmp_path / "my_problems.py").write_text(
        textwrap.dedent(
            """
            import mfbd

            def mixture(start="good", n=None):
                assert n is not None  # filled in by the runner
                return mfbd.problems.gaussian_mixture_1d(start)

            def broken(scale=1.0):
                raise RuntimeError("no data set found")

            def not_a_problem():
                return 42

            NUMBER = 3
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "my_problems"
    sys.modules.pop("my_problems", None)


def _config(tmp_path, problem_lines):
    path = tmp_path / "user.toml"
    path.write_text(
        "[problem]\n" + problem_lines + "\n[run]\nsteps = 20\nn = 8\nrecord_every = 10\n\n"
        '[arms.gd]\nscheme = "gradient_flow"\ndt = 0.01\n'
    )
    return str(path)


def test_a_user_factory_gets_n_and_its_keys(tmp_path, user_module):
    config = load(_config(tmp_path, 'name = "my_problems:mixture"\nstart = "bad"'))
    assert config.problem == UserProblem("my_problems:mixture", (("start", "bad"),))


@pytest.mark.parametrize(
    "lines, message",
    [
        ('name = "no_such_module_xyz:f"', "cannot import module 'no_such_module_xyz'"),
        ('name = "my_problems:mixtur"', "has no attribute 'mixtur'; did you mean 'mixture'?"),
        ('name = "my_problems:NUMBER"', "is a int, not a callable factory"),
        ('name = "my_problems:broken"', "the factory 'my_problems:broken' raised RuntimeError: no data set found"),
        ('name = "my_problems:not_a_problem"', "returned a int, not an mfbd.problems.Problem"),
        ('name = "my_problems:mixture"\nstrat = "bad"', "problem.strat is not a parameter of my_problems:mixture"),
        ('name = "my_problems:mixture"\nn = 4', "problem.n is set by the runner"),
        ('name = "my_problems:mixture"\nstart = {a = 1}', "not a table"),
        ('name = "my problems:f"', "is not a factory path"),
    ],
)
def test_a_bad_factory_is_a_one_line_error_and_nothing_is_written(tmp_path, user_module, capsys, lines, message):
    out = tmp_path / "out"
    assert main(["run", _config(tmp_path, lines), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "problem" in err
    assert not out.exists()


def test_resuming_without_the_module_says_it_must_be_importable(tmp_path, user_module, monkeypatch, capsys):
    out = tmp_path / "run"
    path = _config(tmp_path, 'name = "my_problems:mixture"')
    assert main(["run", path, "--out", str(out), "--quiet"]) == 0
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p != str(tmp_path)])
    sys.modules.pop("my_problems", None)
    assert main(["run", str(out / "config.toml"), "--out", str(tmp_path / "again")]) == 2
    assert "must be importable" in capsys.readouterr().err


def test_a_user_problem_may_register_its_own_picture(tmp_path, user_module, monkeypatch):
    drawn = []

    def picture(config, problem, snapshots, arms):
        drawn.append(config.problem.name)
        return plotting.generic_picture(config, problem, snapshots, arms)

    monkeypatch.setitem(plotting.PICTURES, "my_problems:mixture", picture)
    out = tmp_path / "run"
    assert main(["run", _config(tmp_path, 'name = "my_problems:mixture"'), "--out", str(out), "--quiet"]) == 0
    assert drawn == ["my_problems:mixture"] and (out / "particles.png").is_file()
