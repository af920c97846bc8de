"""The mfbd command: help, list, and every bad input as one line on stderr, exit code 2, nothing written.

Running, plotting and resuming are tested end to end in test_runner.py.
"""

import subprocess
import sys

import pytest
from conftest import SMALL_GD as SMALL

from mfbd.cli import main
from mfbd.config import bundled


def _one_line_error(capsys, code, fragment):
    assert code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("mfbd: error: ") and captured.err.count("\n") == 1, captured.err
    assert "Traceback" not in captured.err
    assert fragment in captured.err, captured.err


BAD_RUNS = [
    (["--set", "arms.gd.dtt=0.1"], "unknown key 'arms.gd.dtt'; did you mean 'dt'?"),
    (["--set", "run.n=16.5"], "run.n must be an integer, got a float 16.5"),
    (["--set", "arms.x.scheme=gradient_flow"], "missing required key 'arms.x.dt'"),
    (["--set", "arms.gd.scheme=gradient_descent"], "choose one of 'gradient_flow', 'birth_death', 'reweighting'"),
    (["--set", "arms.gd.dt=0"], "arms.gd.dt must be > 0, got 0.0"),
    (["--set", "run.n=-4"], "run.n must be > 0, got -4"),
    (["--set", "run.steps=0"], "run.steps must be > 0, got 0"),
    (["--set", "run.record_every=0"], "run.record_every must be > 0, got 0"),
    (["--set", "arms.b.scheme=birth_death", "--set", "arms.b.dt=1", "--set", "arms.b.alpha=-2"], "alpha must be ≥ 0"),
    (
        ["--set", "arms.r.scheme=reweighting", "--set", "arms.r.dt=1", "--set", "arms.r.alpha=1"]
        + ["--set", "arms.r.resample_below=2"],
        "arms.r.resample_below must be in (0, 1], got 2.0",
    ),
    (["--set", "run.seeds"], "malformed --set 'run.seeds'"),
    (["--set", "run.seeds=[0,"], "malformed --set 'run.seeds=[0,'"),
]


@pytest.mark.parametrize("extra, fragment", BAD_RUNS)
def test_bad_config_values(tmp_path, monkeypatch, capsys, extra, fragment):
    (tmp_path / "small.toml").write_text(SMALL)
    monkeypatch.chdir(tmp_path)
    _one_line_error(capsys, main(["run", "small.toml", *extra]), fragment)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["small.toml"]  # no runs/ folder


def test_bad_files_and_directories(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    _one_line_error(capsys, main(["run", "nothing.toml"]), "config 'nothing.toml' not found")
    _one_line_error(capsys, main(["run", "exp1_goo"]), "did you mean 'exp1_good'?")
    (tmp_path / "broken.toml").write_text(SMALL.replace("steps = 40", "steps = 40 40"))
    _one_line_error(capsys, main(["run", "broken.toml"]), "broken.toml is not valid TOML: ")
    _one_line_error(capsys, main(["run", "broken.toml"]), "(at line 5, column 12)")
    (tmp_path / "small.toml").write_text(SMALL)
    (tmp_path / "a_file").write_text("")
    _one_line_error(capsys, main(["run", "small.toml", "--out", "a_file/run"]), "cannot write the output directory")
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "keep.txt").write_text("mine")
    _one_line_error(capsys, main(["run", "small.toml", "--out", "taken"]), "taken already exists and is not empty")
    assert (tmp_path / "taken" / "keep.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file", "broken.toml", "small.toml", "taken"]


def test_bad_command_lines(tmp_path, capsys):
    _one_line_error(capsys, main(["run"]), "mfbd run needs a CONFIG")
    _one_line_error(capsys, main(["run", "--resume", str(tmp_path / "none")]), "no such directory")
    _one_line_error(capsys, main(["run", "exp1_good", "--resume", str(tmp_path)]), "--resume takes no CONFIG")
    _one_line_error(capsys, main(["plot", str(tmp_path)]), "is not an mfbd run directory")
    for argv in ([], ["fly"], ["run", "exp1_good", "--steps", "3"]):
        with pytest.raises(SystemExit) as e:
            main(argv)
        _one_line_error(capsys, e.value.code, "(see `mfbd")
    assert list(tmp_path.iterdir()) == []


def test_list_and_help(capsys):
    assert main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == list(bundled())
    assert all(len(line.split(maxsplit=1)) == 2 for line in lines)  # every config has its description
    for argv in (["--help"], ["run", "--help"]):
        with pytest.raises(SystemExit) as e:
            main(argv)
        assert e.value.code == 0
        assert "examples:" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    assert "--resume RUN_DIR" in capsys.readouterr().out


def test_python_dash_m_mfbd():
    done = subprocess.run([sys.executable, "-m", "mfbd", "list"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "exp1_good" in done.stdout


def test_version(capsys):
    import mfbd

    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0
    assert capsys.readouterr().out == f"mfbd {mfbd.__version__}\n"  # not installed here: the source tree's


def test_progress_bar_rate_and_eta_are_per_arm_without_compile_time(monkeypatch):
    """gd runs 30 steps/s; bd compiles for 99 s, then runs 30 steps/s: its bar says 30, not (30 + 30)/101."""
    import io

    from mfbd import cli

    clock = iter([0.0, 1.0, 100.0, 101.0])
    monkeypatch.setattr(cli.time, "perf_counter", lambda: next(clock))
    stream = io.StringIO()
    bar = cli.ProgressBar(stream)
    for arm, done in (("gd", 10), ("gd", 40), ("bd", 10), ("bd", 40)):
        bar(arm, done, 40)
    frames = stream.getvalue().split("\r")[1:]
    assert "gd" in frames[1] and "40/40 steps  30 steps/s  ETA 0:00:00" in frames[1]
    assert "bd" in frames[2] and "10/40 steps  - steps/s  ETA ?" in frames[2]
    assert "bd" in frames[3] and "40/40 steps  30 steps/s  ETA 0:00:00" in frames[3]


@pytest.mark.parametrize("name", sorted(bundled()))
def test_smoke_shrinks_every_bundled_config_to_a_plan(name):
    """`mfbd run NAME --smoke` is config.shrink (a swept run.n keeps its ratios, its smallest value 16, so its
    groups and --part shares stay): every bundled config (and sweep) shrinks to a config that
    validates and plans (quench and schedules consistent). Only the plan here (a full --smoke sweep takes
    minutes); exp1_good --smoke runs end to end in test_trackers.py."""
    from mfbd.config import read, shrink, validate
    from mfbd.runner import plan

    full = read(name)
    spec = shrink(full)
    configs, widths = getattr(spec, "configs", (spec,)), [c.run.n for c in getattr(full, "configs", (full,))]
    assert all((c.run.steps, c.run.seeds) == (40, 2) for c in configs)
    assert [c.run.n for c in configs] == [round(16 * n / min(widths)) for n in widths]
    validate(spec)
    assert plan.make(spec).groups


def test_smoke_refused_with_resume(tmp_path, capsys):
    _one_line_error(capsys, main(["run", "--resume", str(tmp_path), "--smoke"]), "--resume takes no CONFIG")


def test_progress_lines_cadence_and_the_bar_shows_the_overall_position(monkeypatch):
    """Lines: one at the first report, then when the overall percent passes a multiple of 5, when 10 s have
    passed, and at an arm's end; never a carriage return. The bar appends the overall position and ETA."""
    import io

    from mfbd import cli
    from mfbd.progress import Position

    clock = iter([0.0, 1.0, 2.0, 13.0, 14.0])
    monkeypatch.setattr(cli.time, "perf_counter", lambda: next(clock))
    stream = io.StringIO()
    lines = cli.ProgressLines(stream)
    for done, overall in ((10, 1), (20, 2), (30, 3), (31, 4), (400, 400)):  # of 400 arm-steps in all
        lines.overall(Position(2, 3, 1, 1, overall, 400))
        lines("group-001/gd", done, 400)
    out = stream.getvalue()
    assert "\r" not in out and out.count("\n") == 3  # first report, 10 s later (t = 13), the arm's end
    assert (
        out.splitlines()[0]
        == "mfbd: group-001/gd 10/400 steps  - steps/s  ETA ?  [group 2/3, arm 1/1, overall 0%, ETA ?]"
    )
    assert out.splitlines()[-1].endswith(
        "400/400 steps  28 steps/s  ETA 0:00:00  [group 2/3, arm 1/1, overall 100%, ETA 0:00:00]"
    )

    clock = iter([0.0, 10.0])
    monkeypatch.setattr(cli.time, "perf_counter", lambda: next(clock))
    bar, stream = cli.ProgressBar(io.StringIO()), None
    for done in (100, 200):
        bar.overall(Position(1, 1, 2, 2, 100 + done, 400))
        bar("bd", done, 200)
    assert bar.stream.getvalue().split("\r")[-1].endswith("[arm 2/2, overall 75%, ETA 0:00:10]  ")
