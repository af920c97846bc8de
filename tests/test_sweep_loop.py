"""What sweeps gained from the one loop (issue 20): Ctrl-C, the fingerprint checked on resume before anything
is touched, per-arm wall times, run.shard checked; the sweep index written with the csv module (a value
with a comma round-trips, a header-only index is one error line); --part I/K; NaN initial particles and
--force through the whole command."""

import hashlib
import json
import pathlib
import subprocess
import sys

import jax
import pytest
from conftest import without_wall

from mfbd import runner
from mfbd.cli import main, run_config
from mfbd.config import ConfigError, read
from mfbd.runner import plan, rundir

ROOT = pathlib.Path(__file__).resolve().parents[1]

SWEEP = """\
name = "tiny"

[problem]
name = "gaussian_mixture_1d"

[run]
steps = 20
n = 8
seeds = 2
record_every = 10
chunk = 10
checkpoint_every = 10

[arms.gd]
scheme = "gradient_flow"
dt = 0.01

[sweep]
"arms.gd.dt" = [0.01, 0.02]
"""


def _tree(path):
    return {
        str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest() for p in path.rglob("*") if p.is_file()
    }


def test_ctrl_c_in_a_sweep_then_an_edit_is_refused_and_the_resume_completes(tmp_path, capsys):
    source = tmp_path / "tiny.toml"
    source.write_text(SWEEP)
    out = tmp_path / "out"

    def ctrl_c(arm, done, total):
        raise KeyboardInterrupt

    assert run_config(read(str(source)), str(out), quiet=True, plot=False, reporter=ctrl_c) == 130
    assert "interrupted; checkpoint written" in capsys.readouterr().err
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["sessions"][-1]["status"] == "interrupted" and meta["groups"]["group-000/gd"]["status"] == "running"
    config = out / "config.toml"
    original = config.read_text()
    config.write_text(original.replace("dt = 0.01", "dt = 0.03", 1))
    before = _tree(out)
    assert main(["run", "--resume", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "arms.gd.dt changed from 0.01 to 0.03" in err
    assert _tree(out) == before  # refused before anything was touched
    config.write_text(original)
    assert main(["run", "--resume", str(out), "--quiet"]) == 0
    groups = json.loads((out / "metadata.json").read_text())["groups"]
    assert groups["group-000/gd"]["status"] == "complete" and groups["group-000/gd"]["wall_s"] > 0


def test_shard_in_a_sweep_is_checked_against_the_devices(tmp_path, monkeypatch, capsys):
    source = tmp_path / "tiny.toml"
    source.write_text(SWEEP.replace("n = 8", "n = 15\nshard = true"))
    monkeypatch.setattr(jax, "device_count", lambda: 2)
    out = tmp_path / "out"
    assert main(["run", str(source), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "run.shard: n = 15 must be a multiple of the 2 devices" in err and err.count("\n") == 1
    assert not out.exists()


def test_the_index_quotes_values_with_commas_and_refuses_a_header_alone(tmp_path):
    source = tmp_path / "tiny.toml"
    source.write_text(SWEEP.replace('"arms.gd.dt" = [0.01, 0.02]', '"run.seeds" = [[0, 1], [2, 3]]'))
    sw = read(str(source))
    rundir.write_index(tmp_path, sw, [[0, 1]])
    keys, rows = rundir.read_index(tmp_path)
    assert keys == ["run.seeds"] and [r["run.seeds"] for r in rows] == ["[0, 1]", "[2, 3]"]
    (tmp_path / rundir.INDEX).write_text("point,group,run.seeds\n")
    with pytest.raises(ConfigError, match="lists no points"):
        rundir.read_index(tmp_path)


def test_a_header_only_index_is_one_error_line_for_plot_and_resume(tmp_path, capsys):
    (tmp_path / "config.toml").write_text(SWEEP)
    (tmp_path / "metadata.json").write_text("{}")
    (tmp_path / rundir.INDEX).write_text("point,group,arms.gd.dt\n")
    for argv in (["plot", str(tmp_path)], ["run", "--resume", str(tmp_path)]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("mfbd: error: ") and err.count("\n") == 1 and "Traceback" not in err


def test_sizes_below_a_gib_are_shown_in_mib():
    assert plan._gib(3 * 2**20) == "3.0 MiB" and plan._gib(3 * 2**30) == "3.0 GiB"


def test_nan_initial_particles_stop_at_step_0_and_still_draw(tmp_path, monkeypatch, capsys):
    (tmp_path / "nan_start.py").write_text(
        "import dataclasses\n\nimport jax\nimport jax.numpy as jnp\n\n"
        "from mfbd.problems import gaussian_mixture_1d\n\n\n"
        "def factory():\n"
        "    base = gaussian_mixture_1d()\n\n"
        "    def init(key, n):\n"
        "        return jax.tree_util.tree_map(lambda a: jnp.full_like(a, jnp.nan), base.init_particles(key, n))\n\n"
        "    return dataclasses.replace(base, init_particles=init)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    source = tmp_path / "nan.toml"
    text = SWEEP.split("[sweep]")[0].replace('"gaussian_mixture_1d"', '"nan_start:factory"')
    source.write_text(text)
    out = tmp_path / "out"
    assert main(["run", str(source), "--out", str(out), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "seed 0 has a non-finite energy or particles at step 0" in err
    assert "dt too large" not in err and (out / "energy.png").is_file()
    status = json.loads((out / "metadata.json").read_text())["arms"]["gd"]
    assert (status["status"], status["step"], status["failed_at"]) == ("failed", 0, 0)


def test_force_holds_for_the_whole_command_and_plot_never_asks_the_memory(tmp_path, monkeypatch, capsys):
    source = tmp_path / "plain.toml"
    source.write_text(SWEEP.split("[sweep]")[0])
    monkeypatch.setattr(plan, "available", lambda: (1.0, "a test machine"))  # nothing fits
    out = tmp_path / "out"
    assert main(["run", str(source), "--out", str(out)]) == 2
    assert "one chunk needs about" in capsys.readouterr().err and not out.exists()
    assert main(["run", str(source), "--out", str(out), "--quiet", "--force"]) == 0  # figures drawn at the end
    assert (out / "energy.png").is_file() and capsys.readouterr().err == ""
    monkeypatch.setattr(plan, "available", lambda: pytest.fail("mfbd plot asked for the memory"))
    assert main(["plot", str(out)]) == 0


class Killed(BaseException):
    """Stands for kill -9: nothing of the session's clean-up on KeyboardInterrupt runs."""


@pytest.mark.slow
def test_three_parts_fill_one_directory_and_equal_one_process_bit_for_bit(tmp_path, capsys):
    """K = 3 shares of the groups: parts 1 and 3 as two processes at once, part 2 killed after its first chunk
    and resumed; the merged directory equals a single-process sweep's, file by file."""
    source = tmp_path / "parts.toml"
    source.write_text(SWEEP.replace('"arms.gd.dt" = [0.01, 0.02]', '"run.n" = [8, 10, 12]'))
    reference = runner.run(read(str(source)), str(tmp_path / "one")).run_dir
    out = tmp_path / "parts"
    command = [sys.executable, "-m", "mfbd", "run", str(source), "--out", str(out), "--quiet", "--part"]
    others = [subprocess.Popen([*command, f"{i}/3"], cwd=ROOT) for i in (1, 3)]

    def kill(arm, done, total):
        raise Killed

    with pytest.raises(Killed):
        runner.run(read(str(source)), str(out), part=(2, 3), reporter=kill)
    assert [p.wait(timeout=600) for p in others] == [0, 0]
    assert main(["plot", str(out)]) == 0
    assert "1 group(s) not finished yet: group-001" in capsys.readouterr().err
    assert main(["run", "--resume", str(out), "--part", "2/3", "--quiet"]) == 0
    for g in ("group-000", "group-001", "group-002"):
        assert without_wall(out / g) == without_wall(reference / g), g  # but for the seconds of the wall column
    assert (out / "sweep.csv").read_bytes() == (reference / "sweep.csv").read_bytes()
    assert sorted(p.name for p in out.glob("part-*.json")) == [
        "part-1-of-3.json",
        "part-2-of-3.json",
        "part-3-of-3.json",
    ]
    assert rundir.unfinished(out) == [] and main(["plot", str(out)]) == 0 and capsys.readouterr().err == ""


@pytest.mark.parametrize(
    "part, message",
    [("0/3", "1 ≤ I ≤ K"), ("4/3", "1 ≤ I ≤ K"), ("a/b", "write I/K"), ("2/5", "the sweep has 1 group(s); use K ≤ 1")],
)
def test_a_bad_part_is_one_error_line(tmp_path, capsys, part, message):
    source = tmp_path / "tiny.toml"
    source.write_text(SWEEP)
    out = tmp_path / "out"
    assert main(["run", str(source), "--out", str(out), "--part", part]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and not out.exists()
