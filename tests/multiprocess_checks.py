"""A sharded simulation over 2 processes on localhost, checked against one process.

``python -m tests.multiprocess_checks`` starts two workers, each with
2 CPU devices (``JAX_NUM_CPU_DEVICES=2``), joined by ``jax.distributed`` through
a loopback coordinator on a free port and gloo CPU collectives, so the particle
mesh spans 4 devices in 2 processes. Every worker builds the same initial state
from the same key, shards it with :func:`mfbd.sharding.shard_state`, runs
:func:`mfbd.simulate`, and process 0 gathers the particles. The launcher then
runs the same simulations in one process on one device and prints the largest
differences as JSON (exit status 1 if they exceed the tolerance).

The cases: gradient flow in data mode (student-teacher, a fresh batch per step
drawn from the step key) and birth-death with the notebook settings on
experiment 1 at a high rate α = 100 (kernel mode; kills and clones move units
across processes).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile

import numpy as np

N = 64  # particles: 16 per device
STEPS = 40
TOLERANCE = 1e-4  # float32, reductions split over devices in another order


def simulations():
    """``{name: (final particles, trace)}`` for every case, on the current devices."""
    import jax

    import mfbd
    from mfbd.sharding import shard_state

    cases = {
        "gradient_flow_data": (
            mfbd.problems.student_teacher(jax.random.key(0), dim=8, mode="data", batch_size=32),
            lambda p: mfbd.gradient_flow(p, dt=0.05),
        ),
        "birth_death_kernel": (
            mfbd.problems.gaussian_mixture_1d(),
            # α = 100 (per-step probability |V|) so that about 1 in 20 units jumps per step.
            lambda p: mfbd.birth_death(p, 0.01, 100.0, rates="uncentred", probability="linear"),
        ),
    }
    out = {}
    for name, (problem, make) in cases.items():
        scheme = make(problem)
        state = scheme.init(problem.init_particles(jax.random.key(1), N))
        if jax.device_count() > 1:
            state = shard_state(state)
        state, trace = mfbd.simulate(jax.random.key(2), scheme, state, STEPS)
        out[name] = (_gather(state.particles), _gather(trace))
    return out


def _gather(tree):
    """Host copies of a pytree of global arrays (all processes take part)."""
    import jax
    from jax.experimental import multihost_utils

    if jax.process_count() == 1:
        return jax.tree_util.tree_map(np.asarray, tree)
    return jax.tree_util.tree_map(np.asarray, multihost_utils.process_allgather(tree, tiled=True))


def worker(args):
    import jax

    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(args.coordinator, args.num_processes, args.process_id)
    if jax.local_device_count() != 2 or jax.device_count() != 2 * args.num_processes:
        raise SystemExit(
            f"expected 2 local devices per process, got {jax.local_device_count()} of {jax.device_count()}"
        )
    result = simulations()
    if jax.process_index() == 0:
        flat = {
            f"{name}/{part}/{key}": v
            for name, r in result.items()
            for part, tree in zip(("particles", "trace"), r, strict=True)
            for key, v in tree.items()
        }
        np.savez(args.out, **flat)
    jax.distributed.shutdown()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(num_processes: int = 2, timeout: float = 300.0) -> dict:
    """Run the workers and the single-process reference; return the differences."""
    coordinator = f"127.0.0.1:{free_port()}"
    env = dict(os.environ, JAX_PLATFORMS="cpu", JAX_NUM_CPU_DEVICES="2")
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "sharded.npz")
        cmd = [
            sys.executable,
            "-m",
            "tests.multiprocess_checks",
            "--worker",
            "--coordinator",
            coordinator,
            "--num-processes",
            str(num_processes),
            "--out",
            out,
        ]
        procs = [subprocess.Popen([*cmd, "--process-id", str(i)], env=env) for i in range(num_processes)]
        try:
            codes = [p.wait(timeout=timeout) for p in procs]
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
        if any(codes):
            raise RuntimeError(f"worker exit codes {codes}")
        sharded = dict(np.load(out))
    reference = simulations()
    report = {"processes": num_processes, "devices": 2 * num_processes, "particles": N, "steps": STEPS}
    for name, (particles, trace) in reference.items():
        diff = max(float(np.max(np.abs(sharded[f"{name}/particles/{k}"] - v))) for k, v in particles.items())
        report[name] = {
            "max_abs_particle_difference": diff,
            "max_abs_energy_difference": float(np.max(np.abs(sharded[f"{name}/trace/energy"] - trace["energy"]))),
            "kills_sharded": int(sharded[f"{name}/trace/killed"].sum()),
            "kills_single": int(trace["killed"].sum()),
            "births_sharded": int(sharded[f"{name}/trace/born"].sum()),
            "births_single": int(trace["born"].sum()),
        }
    report["match"] = all(
        r["max_abs_particle_difference"] < TOLERANCE
        and r["kills_sharded"] == r["kills_single"]
        and r["births_sharded"] == r["births_single"]
        for k, r in report.items()
        if isinstance(r, dict)
    )
    return report


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", action="store_true", help="run as one worker (internal)")
    parser.add_argument("--coordinator")
    parser.add_argument("--num-processes", type=int, default=2)
    parser.add_argument("--process-id", type=int)
    parser.add_argument("--out")
    args = parser.parse_args(argv)
    if args.worker:
        worker(args)
        return
    report = launch(args.num_processes)
    print(json.dumps(report, indent=1))
    sys.exit(0 if report["match"] else 1)


if __name__ == "__main__":
    main()
