"""Benchmark: the price of the reaction, a birth-death and a reweighting step over a gradient-flow step.

Each case times a chunk of steps of each scheme as the runner compiles it
(:func:`mfbd.simulate.run_chunk`, records at the config's ``record_every``,
seeds vmapped where stated), in one process, interleaved round by round; the
ratio is best-of-k (the fastest round of each program), the median of the
per-round ratios is printed in the note.

* experiment 1 (``exp1_good``'s arms: uncentred rates, linear probabilities,
  rebalance, quench), n = 200, 10 seeds vmapped, float32 and float64;
* experiment 2 kernel mode (``exp2_meanfield_sweep``'s arms: centred rates,
  exp probabilities, rebalance), n = 200, 10 seeds vmapped, float64;
* experiment 2 data mode n = m = 4096, d = 50 (one seed, one step per call).

    python -m experiments.benchmarks.reaction [--smoke]
"""

from __future__ import annotations

import jax

import mfbd
from experiments.benchmarks.common import Row, Settings, interleaved, standalone
from mfbd.config import load, make_problem, make_scheme
from mfbd.simulate import run_chunk

SEEDS, N = 10, 200
DATA_N, DIM, BLOCK = 4096, 50, 256
RUN_STEPS = 3000  # the configs' run length (exp1: quench in the last 1000 steps)


def program(scheme, steps: int, every: int, seeds: int | None):
    """The runner's compiled chunk: ``steps`` steps, one record (Info summed or sampled) every ``every``."""
    return run_chunk(scheme, steps // every, every, None, seeds=bool(seeds))


def _states(scheme, problem, n, seeds):
    keys = jax.random.split(jax.random.key(1), seeds or 1)
    particles = jax.vmap(lambda k: problem.init_particles(k, n))(keys)
    states = jax.vmap(scheme.init)(particles)
    return (keys, states) if seeds else (keys[0], jax.tree.map(lambda a: a[0], states))


def time_schemes(schemes: dict, problem, n, seeds, steps, every, repeats):
    """Per-round seconds of ``steps`` steps of each scheme, interleaved."""
    fns = {}
    for name, scheme in schemes.items():
        chunk = program(scheme, steps, every, seeds)
        keys, state = _states(scheme, problem, n, seeds)
        fns[name] = lambda chunk=chunk, keys=keys, state=state: chunk(keys, state)
    return interleaved(fns, repeats)


def _arms(config: str, x64: bool, n: int):
    """The problem at n units and the arms of a bundled config (of a sweep: its base config's)."""
    cfg = load(config)
    cfg = getattr(cfg, "base", cfg)  # a [sweep] config loads as a Sweep
    problem = make_problem(cfg.problem, n, x64)
    arms = dict(cfg.arms)
    return problem, arms


def ratio_rows(bench: str, timings, steps: int, target: str, names=("birth_death", "reweighting")) -> list[Row]:
    base = timings.best("gradient_flow") / steps * 1e3
    rows = [Row(benchmark=bench, case="gradient_flow step", value=base, unit="ms")]
    for name in names:
        rows.append(
            Row(
                benchmark=bench,
                case=f"{name} / gradient_flow",
                value=timings.best(name) / steps * 1e3,
                unit="ms",
                baseline="gradient_flow step",
                baseline_value=base,
                ratio=timings.best_ratio(name, "gradient_flow"),
                target=target,
                note=f"median of per-round ratios {timings.ratio(name, 'gradient_flow'):.3f}",
            )
        )
    return rows


def experiment1(steps, repeats, x64) -> list[Row]:
    with jax.enable_x64(x64):
        problem, arms = _arms("exp1_good", x64, N)
        schemes = {
            "gradient_flow": make_scheme(problem, arms["gd"], RUN_STEPS),
            "birth_death": make_scheme(problem, arms["bd"], RUN_STEPS),
            "reweighting": mfbd.reweighting(problem, arms["bd"].dt, arms["bd"].alpha),
        }
        t = time_schemes(schemes, problem, N, SEEDS, steps, 10, repeats)
    bench = f"reaction: exp1 n={N} {SEEDS} seeds vmapped {'float64' if x64 else 'float32'}"
    return ratio_rows(bench, t, steps, "<= 1.15")


def experiment2_kernel(steps, repeats) -> list[Row]:
    with jax.enable_x64(True):
        problem, arms = _arms("exp2_meanfield_sweep", True, N)
        schemes = {
            "gradient_flow": make_scheme(problem, arms["gd"], RUN_STEPS),
            "birth_death": make_scheme(problem, arms["bd"], RUN_STEPS),
            "reweighting": make_scheme(problem, arms["rw"], RUN_STEPS),
        }
        t = time_schemes(schemes, problem, N, SEEDS, steps, 40, repeats)
    bench = f"reaction: exp2 kernel n={N} d=50 {SEEDS} seeds vmapped float64"
    return ratio_rows(bench, t, steps, "<= 1.05")


def data_mode(n, repeats) -> list[Row]:
    problem = mfbd.problems.student_teacher(jax.random.key(0), dim=DIM, mode="data", batch_size=n, block_size=BLOCK)
    schemes = {
        "gradient_flow": mfbd.gradient_flow(problem, 0.01),
        "birth_death": mfbd.birth_death(problem, 0.01, 1.0),
        "reweighting": mfbd.reweighting(problem, 0.01, 1.0),
    }
    t = time_schemes(schemes, problem, n, None, 2, 2, repeats)
    return ratio_rows(f"reaction: data mode n=m={n} d={DIM} block={BLOCK} float32", t, 2, "<= 1.05")


def run(settings: Settings) -> list[Row]:
    steps = 60 if settings.quick else 200  # exp1 records every 10 steps
    repeats = settings.reps(15)
    rows = experiment1(steps, repeats, False) + experiment1(steps, repeats, True)
    rows += experiment2_kernel(40 if settings.quick else 80, repeats)
    rows += data_mode(1024 if settings.quick else DATA_N, settings.reps(9))
    return rows


main = standalone(run, __doc__)


if __name__ == "__main__":
    raise SystemExit(main())
