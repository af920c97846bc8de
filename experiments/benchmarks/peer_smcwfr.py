"""Benchmark: mfbd's four-mode birth–death Langevin run side by side with the SMC-WFR repository's NumPy one.

``python -m experiments.benchmarks.peer_smcwfr --peer PATH [--peer-python PY] [--repeats R] [--smoke]``

The run (the SMC-WFR four-mode study): the anisotropic four-mode mixture, N = 500 particles all started in
mode 1, Δt = 0.01, 1 000 steps, the "pde" rate with a Gaussian KDE of σ = h = 0.1, float64.

* **mfbd**: :func:`mfbd.birth_death` (scheme A, α = 1, noise 1) on ``sampling(target, bandwidth=0.1)``,
  10 seeds vmapped in one jitted program of 1 000 steps; the time per seed-run is the call's time / 10.
  Compilation is timed apart (the first call) and not counted in the run.
* **peer**: ``BDL_kernelisedPDE`` of ``GaussianMixture4Modes/GaussianMixture4Modes.py`` in a checkout of
  https://github.com/FrancescaCrucinio/SMC-WFR (``PATH``, or the environment variable ``SMCWFR_PATH``),
  called as its notebook calls it (γ = 0.01, h = 0.01, which is a *variance* there: its KDE is
  exp(-‖x - y‖²/2h), σ = 0.1; 1 000 iterations, i.e. 999 steps). Its module imports ``particles`` and
  ``scikit-learn`` (unused by this function), so it runs in a worker process under ``--peer-python``
  (or ``SMCWFR_PYTHON``; default: this interpreter) which has them. Not a like-for-like algorithm: its
  birth–death step computes which particles to kill but never applies it (the next population is the
  duplicated particles twice, topped up by uniform draws); the cost per step is comparable (one n² KDE,
  n gradients).

The two are timed round-robin: one mfbd call (10 seed-runs), then one peer run, ``R`` rounds; each round's
ratio is peer run / mfbd seed-run, and the reported ratio is the median over rounds (target ≥ 10).
Wall-clock and process CPU time (all threads; mfbd's XLA uses every core, the peer's NumPy mostly one)
are both reported. Without a peer path only mfbd's side runs, with a message.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import subprocess
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

import mfbd
from experiments.benchmarks.common import Row, ready
from experiments.common import md_table
from mfbd.problems import make_target, sampling
from mfbd.simulate import run_chunk

N, SEEDS, DT, H, STEPS = 500, 10, 0.01, 0.1, 1000

#: The worker: imports the peer's module from argv[1], then answers each line "run" on stdin with
#: "<wall seconds> <process seconds>" of one BDL_kernelisedPDE run with the notebook's settings.
_WORKER = """
import sys, time
import numpy as np
import scipy
from scipy import linalg
sys.path.insert(0, sys.argv[1] + "/GaussianMixture4Modes")
import GaussianMixture4Modes as algo
steps = int(sys.argv[2])
weights = np.ones(4) / 4
ms = np.array([[0, 8], [0, 2], [-3, 5], [3, 5]])
Sigmas = np.array([[[1.2, 0], [0, 0.01]], [[1.2, 0], [0, 0.01]], [[0.01, 0], [0, 2]], [[0.01, 0], [0, 2]]])
Sigmas_inv = np.array([linalg.inv(S) for S in Sigmas])
np.random.seed(0)
X0 = np.random.multivariate_normal(ms[0], Sigmas[0], size=500)
print("ready", np.__version__, scipy.__version__, flush=True)
for line in sys.stdin:
    wall, cpu = time.perf_counter(), time.process_time()
    X = algo.BDL_kernelisedPDE(0.01, steps, ms, Sigmas, Sigmas_inv, weights, 500, 0.01, X0)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(wall, cpu, float(np.mean(X[-1, 1])), flush=True)
"""


class Peer:
    """The peer's run in a worker process: :meth:`run` returns (wall s, CPU s, mean of y at the end)."""

    def __init__(self, path: str, python: str, steps: int):
        module = pathlib.Path(path) / "GaussianMixture4Modes" / "GaussianMixture4Modes.py"
        if not module.is_file():
            raise SystemExit(f"peer path {path!r} has no GaussianMixture4Modes/GaussianMixture4Modes.py; "
                             "give a checkout of FrancescaCrucinio/SMC-WFR")  # fmt: skip
        self.process = subprocess.Popen([python, "-c", _WORKER, path, str(steps)], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True)  # fmt: skip
        first = self.process.stdout.readline().split()
        if not first or first[0] != "ready":
            self.close()
            raise SystemExit(f"the peer's module did not import under {python} (it needs numpy, scipy, scikit-learn "
                             "and particles): pass --peer-python with an interpreter that has them")  # fmt: skip
        self.versions = f"numpy {first[1]}, scipy {first[2]}"

    def run(self) -> tuple[float, float, float]:
        self.process.stdin.write("run\n")
        self.process.stdin.flush()
        wall, cpu, mean_y = (float(v) for v in self.process.stdout.readline().split())
        return wall, cpu, mean_y

    def close(self):
        self.process.stdin.close()
        self.process.wait()


def mfbd_run(steps: int):
    """(compile + first call seconds, call) for the 10-seed vmapped run of ``steps`` steps, float64."""
    target = make_target("four_mode_mixture")
    scheme = mfbd.birth_death(sampling(target, bandwidth=H), DT, 1.0, noise=1.0)
    keys = jax.random.split(jax.random.key(0), SEEDS)
    states = jax.jit(jax.vmap(lambda k: scheme.init(target.init_particles(k, N).astype(jnp.float64))))(keys)
    run = jax.jit(jax.vmap(run_chunk(scheme, 1, steps, lambda s: {})))
    start = time.perf_counter()
    ready(run(keys, states))
    first = time.perf_counter() - start
    return first, lambda: run(keys, states)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m experiments.benchmarks.peer_smcwfr")
    parser.add_argument("--peer", default=os.environ.get("SMCWFR_PATH"), help="checkout of SMC-WFR")
    parser.add_argument("--peer-python", default=os.environ.get("SMCWFR_PYTHON", sys.executable))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--smoke", action="store_true", help="100 steps, 2 rounds")
    args = parser.parse_args(argv)
    jax.config.update("jax_enable_x64", True)
    steps, repeats = (100, 2) if args.smoke else (STEPS, args.repeats)
    first, call = mfbd_run(steps)
    print(f"four modes, N = {N}, Δt = {DT}, {steps} steps, h = {H}, float64; mfbd: {SEEDS} seeds vmapped, "
          f"compile + first call {first:.2f} s (not counted)")  # fmt: skip
    peer = Peer(args.peer, args.peer_python, steps) if args.peer else None
    if peer is None:
        print("no peer: pass --peer PATH (a checkout of FrancescaCrucinio/SMC-WFR) or set SMCWFR_PATH; "
              "timing mfbd alone")  # fmt: skip
    else:
        print(f"peer: {args.peer} under {args.peer_python} ({peer.versions}; its time depends on scipy's logsumexp)")
    ours, theirs = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        ready(call())
        ours.append(((time.perf_counter() - wall) / SEEDS, (time.process_time() - cpu) / SEEDS))
        if peer is not None:
            theirs.append(peer.run())
    if peer is not None:
        peer.close()
    ours = np.asarray(ours)
    rows = [Row(benchmark="peer_smcwfr", case=f"mfbd seed-run ({clock})", value=float(np.median(ours[:, c])),
                unit="s") for c, clock in enumerate(("wall", "cpu"))]  # fmt: skip
    if peer is not None:
        theirs = np.asarray(theirs)
        for c, clock in enumerate(("wall", "cpu")):
            rows.append(Row(benchmark="peer_smcwfr", case=f"peer run / mfbd seed-run ({clock})",
                            value=float(np.median(theirs[:, c])), unit="s", baseline=f"mfbd seed-run ({clock})",
                            baseline_value=float(np.median(ours[:, c])),
                            ratio=float(np.median(theirs[:, c] / ours[:, c])), target=">= 10"))  # fmt: skip
        print(f"peer's final mean of θ₂ per run (π's is 5): {np.round(theirs[:, 2], 2).tolist()}")
    columns = ("case", "value", "unit", "baseline_value", "ratio", "target")
    table = [{k: getattr(r, k) for k in columns} | {"met": r.met} for r in rows]
    print(md_table(table, list(table[0])))
    return rows


if __name__ == "__main__":
    main()
