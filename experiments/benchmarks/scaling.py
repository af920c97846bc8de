"""Benchmark 5: step time against the number of particles n, on log-log axes.

* kernel mode (experiment 1): every pair interacts, time ∝ n²;
* data mode (student-teacher, d = 50) with a fixed batch m = 1024: time ∝ n·m,
  so ∝ n at fixed m;
* data mode with m = n: ∝ n².

The slope is fitted by least squares on log time against log n over the
largest sizes (small sizes are dominated by fixed per-step costs).
"""

from __future__ import annotations

import jax
import numpy as np
from matplotlib.figure import Figure

import mfbd
from experiments.benchmarks.common import Row, Settings, compile_seconds, interleaved
from experiments.common import fit_power_law, save_figure

FIT_POINTS = 4


def series(settings: Settings):
    """``{label: (expected slope, [(n, problem)])}``, about 10⁴..10⁸ interactions per step."""
    if jax.default_backend() == "cpu":
        low, top = 8, 4096 if settings.quick else 8192
    else:  # an accelerator is latency-bound below ~3·10⁴ particles
        low, top = 10, 32768 if settings.quick else 65536
    square = [2**k for k in range(low, int(np.log2(top)) + 1)]
    wide = [2**k for k in range(10, int(np.log2(top)) + 4)]
    block = 256 if jax.default_backend() == "cpu" else 4096

    def student(n, m):
        return mfbd.problems.student_teacher(
            jax.random.key(0), dim=50, mode="data", batch_size=m, block_size=min(m, block)
        )

    return {
        "kernel (exp. 1)": (2, [(n, mfbd.problems.gaussian_mixture_1d()) for n in square]),
        "data, m = 1024": (1, [(n, student(n, 1024)) for n in wide]),
        "data, m = n": (2, [(n, student(n, n)) for n in square]),
    }


def fitted_slope(ns, seconds, points=FIT_POINTS):
    """Least-squares slope of log t against log n over the largest ``points`` sizes (equal weights)."""
    return fit_power_law(ns[-points:], seconds[-points:]).exponent


def run(settings: Settings, plot_path=None) -> list[Row]:
    rows, curves = [], {}
    for label, (expected, cases) in series(settings).items():
        ns, seconds = [], []
        for n, problem in cases:
            scheme = mfbd.gradient_flow(problem, 0.01)
            state = scheme.init(problem.init_particles(jax.random.key(1), n))
            _, step = compile_seconds(scheme.step, jax.random.key(2), state)
            t = interleaved({"step": lambda step=step, state=state: step(jax.random.key(2), state)}, settings.reps(7))
            ns.append(n)
            seconds.append(t.median("step"))
        slope = fitted_slope(ns, seconds)
        curves[label] = (ns, seconds, slope, expected)
        rows.append(
            Row(
                benchmark="5 scaling",
                case=f"{label}: fitted slope of log t vs log n",
                value=slope,
                unit="",
                note=(
                    f"expected {expected}; n = {ns[0]}..{ns[-1]}, fit on the largest {FIT_POINTS}; "
                    f"t(n={ns[-1]}) = {seconds[-1] * 1e3:.1f} ms"
                ),
            )
        )
    if plot_path is not None:
        plot(curves, plot_path)
    return rows


def plot(curves, path):
    """Step time against n on log-log axes, with n^expected guides through the largest size."""
    fig = Figure(figsize=(6, 4.5), layout="tight")
    ax = fig.subplots()
    for label, (ns, seconds, slope, expected) in curves.items():
        ns, seconds = np.asarray(ns), np.asarray(seconds)
        (line,) = ax.loglog(ns, seconds * 1e3, "o-", label=f"{label}: fitted slope {slope:.2f}")
        guide = seconds[-1] * 1e3 * (ns / ns[-1]) ** expected
        ax.loglog(ns, guide, ":", color=line.get_color(), alpha=0.7, label=f"n^{expected} through the largest")
    ax.set_xlabel("particles n")
    ax.set_ylabel("gradient-flow step (ms)")
    ax.set_title(f"Gradient-flow step time vs n ({jax.devices()[0].device_kind}, float32)", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    save_figure(fig, path)
