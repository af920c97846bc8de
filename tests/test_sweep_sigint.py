"""A real SIGINT (os.kill) delivered to ``python -m mfbd run`` while a sweep runs: the group in progress is
checkpointed, the command exits 130, and ``--resume`` ends equal to an uninterrupted sweep."""

import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import SMALL_GD, assert_same_checkpoint, without_wall

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
        process = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True)
    finally:
        signal.signal(signal.SIGINT, previous)
    metrics = out / "group-000" / "metrics.csv"
    deadline = time.monotonic() + 300
    while ",gd,0,100," not in (metrics.read_text() if metrics.exists() else ""):
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGINT)
    _, err = process.communicate(timeout=300)
    assert process.returncode == 130, err
    assert f"mfbd run --resume {out}" in err
    assert (out / "group-000" / "checkpoint.npz").exists()
    assert resume_run(out, quiet=True, plot=False) == 0
    for group in ("group-000", "group-001"):
        assert without_wall(whole / group) == without_wall(out / group)
        assert_same_checkpoint(whole / group / "checkpoint.npz", out / group / "checkpoint.npz")
    assert (whole / "sweep.csv").read_bytes() == (out / "sweep.csv").read_bytes()
