"""Benchmark 2: peak memory of blocked evaluation, each case in a fresh process.

A case builds a problem and a gradient-flow state, compiles one step, runs
it, and reports

* ``temp_bytes``: XLA's scratch memory for the step (``memory_analysis()``), to
  compare with one n × m (data mode) or n × n (kernel mode) float32 array;
* ``peak_rss_bytes``: the process's peak resident memory (VmHWM, or
  ``getrusage`` where there is no /proc), which includes Python, JAX and the
  compiler;
* ``device_peak_bytes``: the accelerator's peak allocation, when it reports one.

Blocked and unblocked (block_size = m or n) runs of the same size show the
difference; kernel mode with n = 100 000 (experiment 1) must stay within 2 GB.

Run one case by hand: ``python -m experiments.benchmarks.memory kernel 100000 1024``.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys

from experiments.benchmarks.common import Row, Settings

GB = 1e9
MiB = 2**20


def peak_rss_bytes() -> int:
    """This process's peak resident memory.

    Linux keeps ``getrusage``'s ru_maxrss across ``exec``, so a child started by a
    large parent would report the parent's size; VmHWM in /proc/self/status
    belongs to this process image alone. Elsewhere fall back to ru_maxrss.
    """
    try:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def measure(mode: str, n: int, block_size: int, steps: int = 1) -> dict:
    """Run ``steps`` gradient-flow steps of an n-particle problem; report memory (in this process)."""
    import jax

    import mfbd

    if mode == "kernel":
        problem = mfbd.problems.gaussian_mixture_1d(block_size=block_size)
        pairs = n * n
    else:
        problem = mfbd.problems.student_teacher(
            jax.random.key(0), dim=50, mode="data", batch_size=n, block_size=block_size
        )
        pairs = n * n  # m = n samples
    scheme = mfbd.gradient_flow(problem, 0.01)
    state = scheme.init(problem.init_particles(jax.random.key(1), n))
    step = jax.jit(scheme.step).lower(jax.random.key(2), state).compile()
    analysis = step.memory_analysis()
    for k in range(steps):
        state, info = step(jax.random.key(k), state)
    energy = float(info.energy)
    stats = jax.local_devices()[0].memory_stats() or {}
    return {
        "mode": mode,
        "n": n,
        "block_size": block_size,
        "temp_bytes": int(getattr(analysis, "temp_size_in_bytes", -1)),
        "full_matrix_bytes": 4 * pairs,
        "peak_rss_bytes": peak_rss_bytes(),
        "device_peak_bytes": int(stats.get("peak_bytes_in_use", -1)),
        "backend": jax.default_backend(),
        "energy": energy,
    }


def run_case(mode: str, n: int, block_size: int, timeout: float = 1800) -> dict:
    """``measure`` in a fresh Python process, so that peak RSS is this case's alone."""
    cmd = [sys.executable, "-m", "experiments.benchmarks.memory", mode, str(n), str(block_size)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if done.returncode:
        raise RuntimeError(f"memory case {mode} n={n} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(settings: Settings) -> list[Row]:
    import jax

    on_cpu = jax.default_backend() == "cpu"
    size = 8192
    big = 20_000 if settings.quick and on_cpu else 100_000
    data_block = 256 if on_cpu else 1024
    cases = [
        ("data", size, data_block),
        ("data", size, size),
        ("kernel", size, 1024),
        ("kernel", size, size),
        ("kernel", big, 1024),
    ]
    rows = []
    for mode, n, block in cases:
        r = run_case(mode, n, block)
        shape = "n x m" if mode == "data" else "n x n"
        blocked = "blocked" if block < n else "unblocked"
        label = f"{mode} n={n}{' m=' + str(n) if mode == 'data' else ''} block={block} ({blocked})"
        rows.append(
            Row(
                benchmark="2 memory",
                case=f"{label}: XLA temp / one {shape} f32",
                value=r["temp_bytes"] / MiB,
                unit="MiB",
                baseline=f"one {shape} f32",
                baseline_value=r["full_matrix_bytes"] / MiB,
                ratio=r["temp_bytes"] / r["full_matrix_bytes"],
                target="< 1" if blocked == "blocked" else "",
                note=f"peak RSS {r['peak_rss_bytes'] / MiB:.0f} MiB",
            )
        )
        if n == big:
            peak = r["peak_rss_bytes"] if on_cpu else r["device_peak_bytes"]
            where = "peak RSS" if on_cpu else "device peak"
            note = f"{where}; quick mode uses n={big} on CPU" if big != 100_000 else where
            rows.append(
                Row(
                    benchmark="2 memory",
                    case=f"kernel n={n} block=1024: {where}",
                    value=peak / GB,
                    unit="GB",
                    baseline="2 GB",
                    baseline_value=2.0,
                    ratio=peak / GB,
                    target="<= 2.0",
                    note=note,
                )
            )
    return rows


if __name__ == "__main__":
    mode, n, block = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    print(json.dumps(measure(mode, n, block)))
