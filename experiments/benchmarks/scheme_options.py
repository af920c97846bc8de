"""Cost per step of the step options against a plain step, measured in one process.

Experiment 1 (kernel mode, n = 200, float64) and experiment 2 in mean-field
kernel mode (d = 50, n = 200, float64); for scheme A (birth_death), scheme B
(reweighting) and gradient flow, each option alone, the split second-order
combination and ``order=2`` (the FSAL Heun step, two oracle passes), as the
median over interleaved rounds of time(option) / time(plain) for a jitted
chunk of 100 steps, and the oracle passes per step (``problem.evaluate`` calls
in one traced step: the cost unit that does not depend on the machine's load).
``--clock process`` times CPU seconds of this process instead of wall-clock.
Run ``python -m experiments.benchmarks.scheme_options``.
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import jax
import jax.numpy as jnp

import mfbd
from experiments.benchmarks.common import interleaved, machine
from mfbd.problems import gaussian_mixture_1d, student_teacher
from mfbd.simulate import run_chunk

jax.config.update("jax_enable_x64", True)

N, STEPS = 200, 100
OPTIONS = {
    "plain": {},
    "fresh": dict(gradient="fresh"),
    "strang": dict(splitting="strang"),
    "heun": dict(integrator="heun"),
    "strang+heun+fresh": dict(splitting="strang", integrator="heun", gradient="fresh"),
    "order=2": dict(order=2),
}
PROBLEMS = {
    "exp1": (lambda: gaussian_mixture_1d(), 0.01, 5.0),
    "exp2-meanfield": (lambda: student_teacher(jax.random.key(0), dim=50, mode="kernel"), 5.0, 1.0),
}
SCHEMES = {
    "A": mfbd.birth_death,
    "B": mfbd.reweighting,
    "GD": lambda problem, dt, alpha, **options: mfbd.gradient_flow(problem, dt, **options),
}
SKIP = {"A": ("order=2",), "B": (), "GD": ("fresh", "strang", "strang+heun+fresh")}  # refused, or the same as plain


def chunk(scheme, particles):
    """A zero-argument callable running STEPS steps from the same start."""
    state = scheme.init(particles)
    run = run_chunk(scheme, 1, STEPS)
    key = jax.random.key(1)
    return lambda: run(key, state)[1]["energy"]


def passes_per_step(make, problem, dt, alpha, options, particles) -> int:
    """problem.evaluate calls in one traced step of the scheme (init excluded)."""
    calls = []

    def counting(*args, **kwargs):
        calls.append(1)
        return problem.evaluate(*args, **kwargs)

    scheme = make(dataclasses.replace(problem, evaluate=counting), dt, alpha, **options)
    state = scheme.init(particles)
    calls.clear()
    jax.eval_shape(scheme.step, jax.random.key(0), state)
    return len(calls)


parser = argparse.ArgumentParser(prog="python -m experiments.benchmarks.scheme_options")
parser.add_argument("--repeats", type=int, default=7)
parser.add_argument("--clock", choices=("wall", "process"), default="wall")
parser.add_argument("--schemes", default="A,B,GD", help="comma-separated subset of A, B, GD")
args = parser.parse_args()
print(machine())
for problem_name, (make_problem, dt, alpha) in PROBLEMS.items():
    problem = make_problem()
    particles = jax.tree_util.tree_map(lambda a: a.astype(jnp.float64), problem.init_particles(jax.random.key(0), N))
    for scheme_name in args.schemes.split(","):
        make = SCHEMES[scheme_name]
        options = {name: opts for name, opts in OPTIONS.items() if name not in SKIP[scheme_name]}
        fns = {name: chunk(make(problem, dt, alpha, **opts), particles) for name, opts in options.items()}
        timings = interleaved(fns, args.repeats, time.process_time if args.clock == "process" else time.perf_counter)
        plain = timings.median("plain") / STEPS
        passes = {name: passes_per_step(make, problem, dt, alpha, opts, particles) for name, opts in options.items()}
        ratios = "  ".join(f"{name} {timings.ratio(name, 'plain'):.2f}x ({passes[name]}/{passes['plain']} passes)"
                           for name in options if name != "plain")  # fmt: skip
        print(f"{problem_name:15s} scheme {scheme_name}: plain {plain * 1e6:8.1f} µs/step;  {ratios}", flush=True)
