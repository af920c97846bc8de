"""The runner end to end on smoke configs: run directory, agreement with the driver, bit-identical
resume after Ctrl-C or a kill, non-finite arms, figures, sharding.

The compiled chunks are cached per config, so the tests that reuse the smoke config of the
``exp1_run`` fixture compile nothing new.
"""

import csv
import dataclasses
import json
import os
import pathlib
import re
import signal
import subprocess
import sys
import time

import chex
import jax
import numpy as np
import pytest
from conftest import SMALL, assert_same_checkpoint, spawn, without_wall

import mfbd
from mfbd.cli import ProgressBar, main, resume_run, run_config
from mfbd.config import bundled, load, make_problem, make_scheme, shrink
from mfbd.runner import rundir


def smoke_sets(name, steps=40):
    """Overrides that make a bundled config a smoke run (config.shrink): 2 seeds of 16 particles, 4 chunks."""
    small = shrink(load(name), steps=steps)
    keys = ("steps", "n", "seeds", "record_every", "chunk", "checkpoint_every")
    sets = [f"run.{key}={getattr(small.run, key)}" for key in keys]
    sets += [f"arms.{a}.quench_last={arm.quench_last}" for a, arm in small.arms if getattr(arm, "quench_last", None)]
    return sets


EXP1 = smoke_sets("exp1_good")


@pytest.fixture(scope="module")
def exp1_run(tmp_path_factory):
    """The exp1_good smoke config run once, uninterrupted, through the CLI."""
    out = tmp_path_factory.mktemp("runs") / "exp1"
    assert main(["run", "exp1_good", *[a for s in EXP1 for a in ("--set", s)], "--out", str(out), "--quiet"]) == 0
    return out


def _rows(run_dir):
    with open(run_dir / "metrics.csv", newline="") as f:
        return list(csv.DictReader(f))


def _checkpoint(run_dir):
    with np.load(run_dir / "checkpoint.npz") as z:
        return {k: z[k] for k in z.files}


def _assert_same_run(a, b):
    """Bit-identical metrics, checkpoint and snapshots, but for the seconds of the ``wall`` column and record
    (``passes`` is compared)."""
    assert without_wall(a) == without_wall(b)
    assert_same_checkpoint(a / "checkpoint.npz", b / "checkpoint.npz")
    snaps = sorted(p.name for p in (a / "snapshots").iterdir())
    assert snaps == sorted(p.name for p in (b / "snapshots").iterdir())
    for name in snaps:
        assert (a / "snapshots" / name).read_bytes() == (b / "snapshots" / name).read_bytes(), name


class Killed(BaseException):
    """Stands for kill -9: nothing of the runner's clean-up on KeyboardInterrupt runs."""


def stop_after(chunks, exception):
    calls = []

    def reporter(arm, done, total):
        calls.append(done)
        if len(calls) == chunks:
            raise exception

    return reporter


def test_run_directory(exp1_run):
    config = load("exp1_good", EXP1)
    assert load(str(exp1_run / "config.toml")) == config  # fully resolved and re-runnable
    rows = _rows(exp1_run)
    assert len(rows) == 3 * 2 * (40 // 10 + 1)
    columns = ["arm", "seed", "step", "time", "energy", "mean_potential", "killed", "born", "ess"]
    # Info's lineage counts (issue 10), the oracle passes summed over each record (issue 21), total mass (issue 26),
    # clipped jump probabilities (issue 24), then the runner's cost columns (issue 21)
    columns += ["lineages", "effective_lineages", "oracle_passes", "mass", "clipped"]
    assert list(rows[0]) == [*columns, "passes", "wall"]
    assert {(r["arm"], r["seed"], r["step"]) for r in rows} == {
        (a, s, str(k)) for a in ("gd", "bd", "bd_prior") for s in "01" for k in range(0, 41, 10)
    }
    bd = [r for r in rows if r["arm"] == "bd" and int(r["step"]) > 0]
    assert sum(int(r["killed"]) + int(r["born"]) for r in bd) > 0  # birth-death happened before the quench
    meta = json.loads((exp1_run / "metadata.json").read_text())
    for key in ("mfbd", "jax", "jaxlib", "numpy", "python", "backend", "devices", "x64", "seeds", "git_commit"):
        assert key in meta
    assert meta["seeds"] == [0, 1] and meta["x64"] is True and meta["end_time"]
    assert {a: m["status"] for a, m in meta["arms"].items()} == dict.fromkeys(("gd", "bd", "bd_prior"), "complete")
    assert all(m["wall_s"] > 0 for m in meta["arms"].values())
    assert sorted(p.name for p in (exp1_run / "snapshots").iterdir()) == [
        f"{a}-{k:08d}.npz" for a in ("bd", "bd_prior", "gd") for k in (0, 20, 40)
    ]
    for figure in ("energy.png", "energy.pdf", "particles.png", "particles.pdf"):
        assert (exp1_run / figure).stat().st_size > 1000


def test_seeds_run_together_agree_with_the_driver(exp1_run):
    """Seed s of the vmapped run equals mfbd.simulate on that seed alone (keys split(key(s), 3)).

    Checked on the birth-death arm, whose kills and births would diverge at the first differing draw.
    """
    config = load(str(exp1_run / "config.toml"))
    energy = [float(r["energy"]) for r in _rows(exp1_run) if r["arm"] == "bd" and r["seed"] == "1"]
    with jax.enable_x64(True):
        problem = make_problem(config.problem, 16, True)
        scheme = make_scheme(problem, dict(config.arms)["bd"], 40)
        k_particles, k_init, k_run = jax.random.split(jax.random.key(1), 3)
        state = scheme.init(problem.init_particles(k_particles, 16), k_init)
        np.testing.assert_allclose(energy[0], state.energy, rtol=1e-12)
        state, trace = mfbd.simulate(k_run, scheme, state, 40, record_every=10)
    assert trace["killed"].sum() + trace["born"].sum() > 0
    np.testing.assert_allclose(energy[1:], trace["energy"], rtol=1e-12)
    saved = _checkpoint(exp1_run)
    particles = {"c": saved["bd/0"][1], "y": saved["bd/1"][1]}  # State leaves: particles first, keys sorted
    chex.assert_trees_all_close(particles, state.particles, rtol=1e-12, atol=1e-14)


def test_ctrl_c_then_resume_is_bit_identical(exp1_run, tmp_path, capsys):
    out = tmp_path / "run"
    # 4 chunks per arm: the 5th chunk is the first of arm bd (step 10, between checkpoints).
    code = run_config(load("exp1_good", EXP1), str(out), plot=False, reporter=stop_after(5, KeyboardInterrupt))
    assert code == 130
    assert f"mfbd run --resume {out}" in capsys.readouterr().err
    status = json.loads(str(_checkpoint(out)["progress"]))
    assert status == {
        "gd": {"status": "complete", "step": 40},
        "bd": {"status": "running", "step": 10},
        "bd_prior": {"status": "pending", "step": 0},
    }
    assert resume_run(out, quiet=True, plot=False) == 0
    _assert_same_run(exp1_run, out)
    meta = json.loads((out / "metadata.json").read_text())
    assert [s["status"] for s in meta["sessions"]] == ["interrupted", "finished"]


def test_a_swallowed_sigint_still_stops_the_run_after_the_chunk(exp1_run, tmp_path):
    """A SIGINT whose KeyboardInterrupt is swallowed where it is raised (as inside JAX's garbage-collector
    callback, jax-ml/jax#18246) still interrupts the run after the chunk in progress, and resumes exactly."""
    out = tmp_path / "run"

    def swallow(arm, step, steps):
        if (arm, step) == ("bd", 10):
            try:
                signal.raise_signal(signal.SIGINT)
            except KeyboardInterrupt:
                pass  # lost here, as in a gc callback

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a shell; workers may ignore it
    try:
        assert run_config(load("exp1_good", EXP1), str(out), plot=False, reporter=swallow) == 130
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the session's handler is gone
    finally:
        signal.signal(signal.SIGINT, previous)
    assert json.loads(str(_checkpoint(out)["progress"]))["bd"] == {"status": "running", "step": 10}
    assert resume_run(out, quiet=True, plot=False) == 0
    _assert_same_run(exp1_run, out)


def test_ctrl_c_after_a_chunks_rows_before_its_state_resumes_bit_identical(exp1_run, tmp_path, monkeypatch):
    """Ctrl-C landing after a chunk's rows were written (the cost columns advanced) and before that chunk's
    state became the one to checkpoint: the resumed run's passes continue from the checkpointed state's."""
    from mfbd.runner import loop

    write, calls = loop.Group._write, []

    def write_then_interrupt(self, *args, **kwargs):
        write(self, *args, **kwargs)
        calls.append(1)
        if len(calls) == 3:  # the init record, then two chunks of the first arm
            raise KeyboardInterrupt

    out = tmp_path / "run"
    with monkeypatch.context() as m:
        m.setattr(loop.Group, "_write", write_then_interrupt)
        assert main(["run", "exp1_good", *[a for s in EXP1 for a in ("--set", s)], "--out", str(out), "--quiet"]) == 130
    assert resume_run(out, quiet=True, plot=False) == 0
    _assert_same_run(exp1_run, out)


@pytest.mark.slow
def test_sigint_to_the_command_then_resume_is_bit_identical(exp1_run, tmp_path):
    """A real Ctrl-C (SIGINT) to `python -m mfbd run` once the first arm has written rows.

    Sent that early, two arms (and their compilation) are still to run, so the
    signal cannot arrive after the run has finished.
    """
    out = tmp_path / "run"
    argv = [sys.executable, "-m", "mfbd", "run", "exp1_good", *[a for s in EXP1 for a in ("--set", s)]]
    # A child inherits an ignored SIGINT (pytest-xdist workers under nohup, background jobs) and keeps
    # ignoring it, as it should: start it with the default disposition, as a shell does.
    previous = signal.signal(signal.SIGINT, signal.SIG_DFL)
    try:
        process = spawn([*argv, "--out", str(out), "--quiet"], tmp_path / "stderr.txt")
    finally:
        signal.signal(signal.SIGINT, previous)
    deadline = time.monotonic() + 300
    while "\ngd,0,10," not in ((out / "metrics.csv").read_text() if (out / "metrics.csv").exists() else ""):
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    process.wait(timeout=300)
    err = (tmp_path / "stderr.txt").read_text()
    assert process.returncode == 130, err
    assert f"Continue with: mfbd run --resume {out}" in err
    assert resume_run(out, quiet=True, plot=False) == 0
    _assert_same_run(exp1_run, out)


@pytest.mark.parametrize("chunks", [3, 7])
def test_kill_between_checkpoints_then_resume_is_bit_identical(exp1_run, tmp_path, chunks):
    """Rows written after the last checkpoint (step 20 of the arm) are dropped on resume, not duplicated."""
    out = tmp_path / "run"
    with pytest.raises(Killed):
        run_config(load("exp1_good", EXP1), str(out), plot=False, reporter=stop_after(chunks, Killed()))
    arm = "gd" if chunks == 3 else "bd"
    assert max(int(r["step"]) for r in _rows(out) if r["arm"] == arm) == 30  # written, then lost
    assert json.loads(str(_checkpoint(out)["progress"]))[arm] == {"status": "running", "step": 20}
    assert resume_run(out, quiet=True, plot=False) == 0
    _assert_same_run(exp1_run, out)


def test_resume_refuses_complete_runs_and_non_runs(exp1_run, tmp_path, capsys):
    before = {p.name: p.stat().st_mtime_ns for p in exp1_run.iterdir()}
    assert main(["run", "--resume", str(exp1_run)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mfbd: error: --resume") and "already complete" in err and err.count("\n") == 1
    assert {p.name: p.stat().st_mtime_ns for p in exp1_run.iterdir()} == before
    assert main(["run", "--resume", str(tmp_path)]) == 2
    assert "not an mfbd run directory (no config.toml, metadata.json)" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_non_finite_arm_stops_and_the_others_go_on(tmp_path, capsys):
    config = tmp_path / "blowup.toml"
    config.write_text(
        "[problem]\nname = 'gaussian_mixture_1d'\n[run]\nsteps = 80\nn = 16\nseeds = 2\nchunk = 20\n"
        "checkpoint_every = 40\n[arms.big]\nscheme = 'gradient_flow'\ndt = 1e5\n"
        "[arms.gd]\nlabel = 'GD'\nscheme = 'gradient_flow'\ndt = 0.01\n"
    )
    out = tmp_path / "run"
    assert run_config(load(str(config)), str(out), quiet=True, plot=False) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "arm 'big' stopped: seed 0 has a non-finite energy or particles by step 50" in err
    assert "dt too large? (dt = 100000" in err and "checkpoint at step 40" in err
    status = json.loads(str(_checkpoint(out)["progress"]))
    assert (status["big"]["status"], status["big"]["step"], status["big"]["failed_at"]) == ("failed", 40, 50)
    assert status["gd"] == {"status": "complete", "step": 80}
    rows = _rows(out)
    big = [r for r in rows if r["arm"] == "big"]
    assert max(int(r["step"]) for r in big) == 50 and not np.isfinite(float(big[-1]["energy"]))
    assert max(int(r["step"]) for r in rows if r["arm"] == "gd") == 80
    assert np.isfinite(_checkpoint(out)["big/0"]).all()  # the last good state is kept
    assert main(["run", "--resume", str(out)]) == 2


def test_data_mode_records_population_energy_and_plot_redraws(tmp_path):
    """exp2_2020's μ_b arm (data mode, pairing, prior): the population energy is recorded, `mfbd plot` draws."""
    config = load("exp2_2020", smoke_sets("exp2_2020"))
    config = dataclasses.replace(config, arms=config.arms[2:])
    out = tmp_path / "run"
    assert run_config(config, str(out), quiet=True, plot=False) == 0
    metrics = rundir.read_metrics(out)
    assert list(metrics) == ["bd_prior"]
    assert metrics["bd_prior"]["population_energy"].shape == (2, 5)
    assert (metrics["bd_prior"]["population_energy"] > 0).all()
    assert main(["plot", str(out)]) == 0
    for figure in ("energy.png", "energy.pdf", "particles.png", "particles.pdf"):
        assert (out / figure).stat().st_size > 1000


def test_shard_over_the_visible_devices_gives_the_same_run(exp1_run, tmp_path):
    """run.shard places the particles on a mesh of all devices (one on this CPU): same numbers."""
    text = (exp1_run / "config.toml").read_text().replace("shard = false", "shard = true")
    config = tmp_path / "sharded.toml"
    config.write_text(text.split("[arms.bd]")[0])  # the gd arm only
    out = tmp_path / "run"
    assert run_config(load(str(config)), str(out), quiet=True, plot=False) == 0
    gd = [r for r in without_wall(exp1_run) if r["arm"] == "gd"]
    assert without_wall(out) == gd  # but for the seconds of the wall column


@pytest.mark.slow
def test_shard_over_two_cpu_devices_agrees(exp1_run, tmp_path):
    """run.shard on two (forced) CPU devices: the same run up to the order of floating-point sums."""
    out = tmp_path / "run"
    argv = [sys.executable, "-m", "mfbd", "run", "exp1_good", *[a for s in EXP1 for a in ("--set", s)]]
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    done = subprocess.run([*argv, "--set", "run.shard=true", "--out", str(out), "--quiet"], env=env, timeout=600)
    assert done.returncode == 0
    assert json.loads((out / "metadata.json").read_text())["devices"] == ["cpu:0", "cpu:1"]
    sharded, single = rundir.read_metrics(out), rundir.read_metrics(exp1_run)
    for arm in single:
        np.testing.assert_array_equal(sharded[arm]["killed"], single[arm]["killed"])
        np.testing.assert_allclose(sharded[arm]["energy"], single[arm]["energy"], rtol=1e-12)


def test_default_run_directory_is_new_and_timestamped(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = load("exp1_good", EXP1)
    first, second = rundir.new_run_dir(config, None), rundir.new_run_dir(config, None)
    assert first.parent == second.parent == pathlib.Path("runs") and first != second
    assert re.fullmatch(r"exp1_good-\d{8}-\d{6}(-\d+)?", first.name) and (first / "config.toml").is_file()
    (tmp_path / "empty").mkdir()
    assert rundir.new_run_dir(config, "empty") == pathlib.Path("empty")  # an empty folder may be used


def test_progress_bar_shows_rate_and_eta():
    import io

    stream = io.StringIO()
    bar = ProgressBar(stream)
    bar("gd", 100, 1000)
    bar("gd", 300, 1000)
    bar.close()
    text = stream.getvalue()
    assert "300/1000 steps" in text and "steps/s" in text and "ETA" in text and text.endswith("\n")


@pytest.mark.slow
@pytest.mark.parametrize("name", ["exp1_bad", "exp2_2020", "exp2_icml", "exp2_meanfield"])
def test_every_paper_config_runs_as_a_smoke_run(name, tmp_path):
    """The configs of the paper's figures (exp1_good is the exp1_run fixture)."""
    out = tmp_path / name
    assert main(["run", name, *[a for s in smoke_sets(name) for a in ("--set", s)], "--out", str(out), "--quiet"]) == 0
    assert {r["arm"] for r in _rows(out)} == {"gd", "bd", "bd_prior"}
    assert (out / "particles.png").exists()


def test_configs_folder_is_the_package_data():
    root = pathlib.Path(__file__).resolve().parents[1]
    assert (root / "configs").is_symlink()
    assert sorted(p.name for p in (root / "configs").iterdir()) == sorted(f"{n}.toml" for n in bundled())


SCHEDULED = [
    "run.seeds=2",
    "run.chunk=10",
    "run.checkpoint_every=20",
    'arms.bd.alpha={schedule="cosine_decay", init_value=20.0, decay_steps=30}',
]


def test_ctrl_c_then_resume_with_an_alpha_schedule_is_bit_identical(tmp_path):
    """A scheduled α resumes where it stopped (the step counter is in the state), between checkpoints."""
    path = tmp_path / "small.toml"
    path.write_text(SMALL.replace("quench_last = 10\n", ""))
    config = load(str(path), SCHEDULED)
    assert run_config(config, str(tmp_path / "whole"), quiet=True, plot=False) == 0
    # 4 chunks of gd, then the first chunk of bd (step 10, between checkpoints)
    code = run_config(config, str(tmp_path / "cut"), quiet=True, plot=False, reporter=stop_after(5, KeyboardInterrupt))
    assert code == 130
    assert resume_run(tmp_path / "cut", quiet=True, plot=False) == 0
    _assert_same_run(tmp_path / "whole", tmp_path / "cut")
    bd = [r for r in _rows(tmp_path / "whole") if r["arm"] == "bd" and int(r["step"]) > 0]
    assert sum(int(r["killed"]) + int(r["born"]) for r in bd) > 0  # the schedule's reaction happened


def test_sigterm_mid_run_exits_143_with_line_progress_then_resume_is_bit_identical(exp1_run, tmp_path):
    """SIGTERM (a scheduler's pre-emption) to `python -m mfbd run exp1_good` (smoke sizes) with stderr a pipe, as
    in a batch log: progress comes as whole lines (no carriage return) with the overall position, the
    signal checkpoints after the chunk and exits 143, and --resume ends bit-identical to exp1_run."""
    out = tmp_path / "run"
    argv = [
        sys.executable,
        "-m",
        "mfbd",
        "run",
        "exp1_good",
        *[a for s in EXP1 for a in ("--set", s)],
        "--out",
        str(out),
    ]
    previous = signal.signal(signal.SIGTERM, signal.SIG_DFL)  # as a shell starts a job
    try:
        process = spawn(argv, tmp_path / "stderr.txt")
    finally:
        signal.signal(signal.SIGTERM, previous)
    deadline = time.monotonic() + 300
    while "\ngd,0,10," not in ((out / "metrics.csv").read_text() if (out / "metrics.csv").exists() else ""):
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=300)
    err = (tmp_path / "stderr.txt").read_text()
    assert process.returncode == 143, err
    assert "\r" not in err and "mfbd: gd 10/40 steps  - steps/s  ETA ?  [arm 1/3, overall 8%, ETA ?]\n" in err
    assert f"mfbd: terminated (SIGTERM); checkpoint written. Continue with: mfbd run --resume {out}" in err
    assert json.loads((out / "metadata.json").read_text())["sessions"][0]["status"] == "interrupted"
    assert resume_run(out, quiet=True, plot=False) == 0
    _assert_same_run(exp1_run, out)


def test_sigterm_in_process_returns_143_and_restores_the_handler(exp1_run, tmp_path):
    out = tmp_path / "run"

    def term(arm, step, steps):
        if (arm, step) == ("bd", 20):
            signal.raise_signal(signal.SIGTERM)

    previous = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        assert run_config(load("exp1_good", EXP1), str(out), plot=False, quiet=True, reporter=term) == 143
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert json.loads(str(_checkpoint(out)["progress"]))["bd"] == {"status": "running", "step": 20}
    assert resume_run(out, quiet=True, plot=False) == 0
    _assert_same_run(exp1_run, out)
