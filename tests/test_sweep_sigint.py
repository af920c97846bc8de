"""A real SIGINT (os.kill) to ``python -m mfbd run``: inside a sweep (the group in progress is checkpointed,
exit 130, ``--resume`` ends equal to an uninterrupted sweep), and while the first chunk compiles."""

import os
import signal
import sys
import time

import pytest
from conftest import SMALL_GD, assert_same_checkpoint, spawn, without_wall

from mfbd import runner
from mfbd.cli import resume_run
from mfbd.config import read

SWEEP = SMALL_GD.replace("steps = 40", "steps = 2000\nrecord_every = 20\nchunk = 20\ncheckpoint_every = 40")
SWEEP += '\n[sweep]\n"arms.gd.dt" = [0.01, 0.02]\n"run.n" = [16, 24]\n'


@pytest.mark.slow  # a subprocess that imports jax and compiles: about 30 s on 2 busy cores
def test_sigint_inside_a_sweep_checkpoints_and_resume_equals_the_uninterrupted_sweep(tmp_path):
    path = tmp_path / "sweep.toml"
    path.write_text(SWEEP)
    whole = tmp_path / "whole"
    assert runner.run(read(str(path)), whole).code == 0
    out = tmp_path / "cut"
    previous = signal.signal(signal.SIGINT, signal.SIG_DFL)  # as a shell starts it (xdist workers may ignore it)
    try:
        argv = [sys.executable, "-m", "mfbd", "run", str(path), "--out", str(out), "--quiet"]
        process = spawn(argv, tmp_path / "stderr.txt")
    finally:
        signal.signal(signal.SIGINT, previous)
    metrics = out / "group-000" / "metrics.csv"
    deadline = time.monotonic() + 300
    while ",gd,0,100," not in (metrics.read_text() if metrics.exists() else ""):
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGINT)
    process.wait(timeout=300)
    err = (tmp_path / "stderr.txt").read_text()
    assert process.returncode == 130, err
    assert f"mfbd run --resume {out}" in err
    assert (out / "group-000" / "checkpoint.npz").exists()
    assert resume_run(out, quiet=True, plot=False) == 0
    for group in ("group-000", "group-001"):
        assert without_wall(whole / group) == without_wall(out / group)
        assert_same_checkpoint(whole / group / "checkpoint.npz", out / group / "checkpoint.npz")
    assert (whole / "sweep.csv").read_bytes() == (out / "sweep.csv").read_bytes()


@pytest.mark.slow  # a subprocess that imports jax and compiles: about 30 s on 2 busy cores
def test_sigint_while_the_first_chunk_compiles_exits_130_and_resume_finishes(tmp_path):
    """Ctrl-C while XLA compiles the first chunk (the persistent cache off, so there is a compile to cut):
    exit 130 with the resume line, not a crash in the interpreter's teardown (139), and --resume finishes
    equal to an uninterrupted run."""
    path = tmp_path / "run.toml"
    path.write_text(SMALL_GD.replace("steps = 40", "steps = 40\nrecord_every = 10\nchunk = 10\ncheckpoint_every = 20"))
    whole = tmp_path / "whole"
    assert runner.run(read(str(path)), whole).code == 0
    out = tmp_path / "cut"
    env = dict(os.environ, MFBD_NO_COMPILATION_CACHE="1")
    previous = signal.signal(signal.SIGINT, signal.SIG_DFL)
    try:
        argv = [sys.executable, "-m", "mfbd", "run", str(path), "--out", str(out), "--quiet"]
        process = spawn(argv, tmp_path / "stderr.txt", env=env)
    finally:
        signal.signal(signal.SIGINT, previous)
    deadline = time.monotonic() + 300
    while not (out / "metadata.json").exists():  # written before the first chunk is compiled
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGINT)
    rows = (out / "metrics.csv").read_text().splitlines()[1:] if (out / "metrics.csv").exists() else []
    process.wait(timeout=300)
    err = (tmp_path / "stderr.txt").read_text()
    assert all(row.split(",")[2] == "0" for row in rows)  # sent before the first chunk's rows: during its compile
    assert process.returncode == 130, err
    assert f"mfbd run --resume {out}" in err
    assert resume_run(out, quiet=True, plot=False) == 0
    assert without_wall(whole) == without_wall(out)
    assert_same_checkpoint(whole / "checkpoint.npz", out / "checkpoint.npz")
