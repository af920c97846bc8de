"""Benchmark: the cost of a birth–death Langevin step against a Langevin step (sampling mode).

``python -m experiments.benchmarks.sampling_cost [--smoke] [--f32] [--cpu]``

The four-mode target, n = 500 particles in d = 2, 10 seeds vmapped in one program, Δt = 0.01,
α = 1, float64 (the sampling studies' setting; ``--f32`` for float32). Every arm runs ``STEPS``
steps per call through :func:`mfbd.simulate.run_chunk`; calls are timed round-robin in one process
(:func:`experiments.benchmarks.common.interleaved`; wall-clock, or process CPU time of all threads
with ``--cpu``, steadier on a shared machine) and each ratio is the median over rounds.

Rows: every birth–death arm over the Langevin step (target ≤ 8 for the full KDE at fixed h, in float64 and with
its kernel in float32 (``kernel_dtype="float32"``), and for the
subsampled density estimate ``neighbours=p``), ``langevin+kde pass`` (Langevin plus one evaluation of
the full KDE, never used by a scheme: the floor of any full-KDE arm), the median bandwidth over the
fixed-h step (target ≤ 1.5), the "kl" rate, the leave-one-out option and ``untiled`` (``block_size
= n − 1``: the n² exponentials of the row-blocked sums instead of the ≈ n²/2 of the symmetric kernel tiles) as
context; the double well's step at n = 100 and 1 000 (studies (b), (b2); alone with ``--part double_well``).
Then the accuracy of the cheaper estimates: on a
fixed cloud (the start, mode 1, and 500 exact draws of π) the mean and sd over 200 keys of log ρ̂_p(θ_i)
− log ρ̂(θ_i) and the median bandwidth's estimate against the exact median of all pairs; and on the
dynamics, MMD² to π at t = 10 (1 000 steps; t = 1 with ``--smoke``) of birth–death Langevin with
``neighbours=p`` against the full KDE, mean ± standard error over the 10 seeds, so that a user can weigh
each p's cost ratio against its bias.
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np

import mfbd
from experiments.benchmarks.common import Row, interleaved
from experiments.common import md_table
from mfbd.problems import kde_log_density, make_target, median_bandwidth, sampling, sampling_observer
from mfbd.simulate import run_chunk

N, SEEDS, DT, H, STEPS = 500, 10, 0.01, 1.0, 20
NEIGHBOURS = (16, 32, 64)


def arms(target):
    """name -> scheme; ``langevin`` runs on the problem's ``transport_only`` (no KDE)."""
    fixed = sampling(target, bandwidth=H)
    out = {"langevin": mfbd.gradient_flow(fixed.meta.transport_only, DT, noise=1.0)}
    out["langevin+kde pass"] = mfbd.gradient_flow(fixed, DT, noise=1.0)
    out["bd pde h=1"] = mfbd.birth_death(fixed, DT, 1.0, noise=1.0)
    out["bd pde median"] = mfbd.birth_death(sampling(target, bandwidth="median"), DT, 1.0, noise=1.0)
    out["bd kl h=1"] = mfbd.birth_death(sampling(target, bandwidth=H, rate="kl"), DT, 1.0, noise=1.0)
    # n > block_size: rows in blocks, n² exponentials per sum (what n ≤ block_size did before the kernel tiles)
    untiled = sampling(target, bandwidth=H, block_size=N - 1)
    out["bd pde h=1 untiled"] = mfbd.birth_death(untiled, DT, 1.0, noise=1.0)
    out["bd pde h=1 leave-one-out"] = mfbd.birth_death(
        sampling(target, bandwidth=H, leave_one_out=True), DT, 1.0, noise=1.0
    )
    low = sampling(target, bandwidth=H, kernel_dtype="float32")
    out["bd pde h=1 float32 kernel"] = mfbd.birth_death(low, DT, 1.0, noise=1.0)
    for p in NEIGHBOURS:
        out[f"bd pde h=1 p={p}"] = mfbd.birth_death(sampling(target, bandwidth=H, neighbours=p), DT, 1.0, noise=1.0)
    return out


def _batch(scheme, target, dtype, keys):
    return jax.jit(jax.vmap(lambda k: scheme.init(target.init_particles(k, N).astype(dtype))))(keys)


def timings(target, dtype, repeats, clock):
    keys = jax.random.split(jax.random.key(0), SEEDS)
    calls = {}
    for name, scheme in arms(target).items():
        states = _batch(scheme, target, dtype, keys)
        run = jax.jit(jax.vmap(run_chunk(scheme, 1, STEPS, lambda s: {})))
        calls[name] = lambda run=run, states=states: run(keys, states)
    return interleaved(calls, repeats, clock)


def mmd_bias(target, dtype, steps):
    """MMD² to π (2 000 exact draws) after ``steps`` steps, per seed, for the full KDE and each ``neighbours=p``
    arm: rows of the mean ± standard error over the seeds and the mean paired difference to the full KDE."""
    observe = sampling_observer(target, jax.random.key(12345), 2000)
    keys = jax.random.split(jax.random.key(0), SEEDS)
    names = ["bd pde h=1", "bd pde h=1 float32 kernel", *(f"bd pde h=1 p={p}" for p in NEIGHBOURS)]
    schemes = arms(target)
    final = {}
    for name in names:
        run = jax.jit(jax.vmap(run_chunk(schemes[name], 1, steps, lambda s: {})))
        state, _ = run(keys, _batch(schemes[name], target, dtype, keys))
        final[name] = np.asarray(jax.vmap(lambda s: observe(s)["mmd2"])(state))
    se = np.sqrt(SEEDS)
    rows = []
    for name in names:
        gap = final[name] - final[names[0]]
        mmd = final[name]
        rows.append({"arm": name, "t": steps * DT, "mmd2": float(mmd.mean()), "se": float(mmd.std() / se),
                     "minus full KDE": float(gap.mean()), "se of difference": float(gap.std() / se)})  # fmt: skip
    return rows


def double_well_timings(repeats, clock, sizes=(100, 1000)):
    """The double-well studies' step ((b), (b2): h = 0.15, 16 seeds vmapped, 1-D, b = 4) at each n of ``sizes``:
    Langevin, BD-Langevin, reweighting, 100 steps per call, no records."""
    target = make_target("double_well", b=4.0)
    problem = sampling(target, bandwidth=0.15)
    schemes = {"dw langevin": mfbd.gradient_flow(problem.meta.transport_only, DT, noise=1.0)}
    schemes["dw bd h=0.15"] = mfbd.birth_death(problem, DT, 1.0, noise=1.0)
    schemes["dw reweighting h=0.15"] = mfbd.reweighting(problem, DT, 1.0, noise=1.0)
    keys = jax.random.split(jax.random.key(0), 16)
    rows = []
    for n in sizes:
        calls = {}
        for name, scheme in schemes.items():
            states = jax.jit(jax.vmap(lambda k, s=scheme, n=n: s.init(target.init_particles(k, n))))(keys)
            run = jax.jit(jax.vmap(run_chunk(scheme, 1, 100, lambda s: {})))
            calls[name] = lambda run=run, states=states: run(keys, states)
        t = interleaved(calls, repeats, clock)
        rows += [{"case": name, "n": n, "ms/step": t.median(name) / 100 * 1e3,
                  "ratio to Langevin": t.ratio(name, "dw langevin")} for name in schemes]  # fmt: skip
    return rows


def estimate_accuracy(target, dtype, keys: int = 200):
    """Bias and spread of log ρ̂_p and of the sampled median against the full computations."""
    clouds = {"start": target.init_particles(jax.random.key(8), N), "pi": target.sample(jax.random.key(9), N)}
    rows = []
    for cloud, x in clouds.items():
        x = x.astype(dtype)
        w = jnp.full((N,), 1.0 / N, dtype)
        full = kde_log_density(x, x, w, H)
        for p in NEIGHBOURS:
            problem = sampling(target, bandwidth=H, neighbours=p)
            log_pi = jax.vmap(target.log_density)(x)
            estimate = jax.vmap(lambda k, pr=problem, x=x, w=w, lp=log_pi: pr.evaluate(x, w, k).potential + lp)
            diff = np.asarray(estimate(jax.random.split(jax.random.key(1), keys)) - full[None])
            rows.append({"cloud": cloud, "estimate": f"log ρ̂, p={p}", "bias": float(diff.mean())})
            rows[-1] |= {
                "sd": float(diff.std()),
                "relative to": "sd of log ρ̂ over the cloud",
                "scale": float(full.std()),
            }
        if dtype == jnp.float64:  # the float32 kernel's rounding (deterministic: sd over the particles)
            low = sampling(target, bandwidth=H, kernel_dtype="float32").evaluate(x, w).potential
            diff = np.asarray(low + jax.vmap(target.log_density)(x) - full)
            rows.append({"cloud": cloud, "estimate": "log ρ̂, float32 kernel", "bias": float(diff.mean())})
            spread = {"sd": float(diff.std()), "relative to": "sd of log ρ̂ over the cloud"}
            rows[-1] |= spread | {"scale": float(full.std())}
        sq = np.sum((np.asarray(x)[:, None] - np.asarray(x)[None]) ** 2, -1)[~np.eye(N, dtype=bool)]
        exact = np.sqrt(np.median(sq) / (2 * np.log(N)))
        hs = np.asarray(
            jax.vmap(lambda k, x=x, w=w: median_bandwidth(x, w, k))(jax.random.split(jax.random.key(2), keys))
        )
        rows.append({"cloud": cloud, "estimate": "median h, 4096 pairs", "bias": float(hs.mean() / exact - 1)})
        rows[-1] |= {"sd": float(hs.std() / exact), "relative to": "exact median h", "scale": float(exact)}
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m experiments.benchmarks.sampling_cost")
    parser.add_argument("--smoke", "--quick", dest="smoke", action="store_true", help="fewer repeats")
    parser.add_argument("--f32", action="store_true", help="float32 instead of float64")
    parser.add_argument("--cpu", action="store_true", help="time process CPU seconds instead of wall-clock")
    parser.add_argument("--part", choices=("all", "double_well"), default="all", help="only the double well's step")
    args = parser.parse_args(argv)
    clock = time.process_time if args.cpu else time.perf_counter
    jax.config.update("jax_enable_x64", not args.f32)
    dtype = jnp.float32 if args.f32 else jnp.float64
    target = make_target("four_mode_mixture")
    well = double_well_timings(5 if args.smoke else 15, clock, (100,) if args.smoke else (100, 1000))
    if args.part == "double_well":
        print(md_table(well, list(well[0])))
        return [], [], []
    t = timings(target, dtype, 5 if args.smoke else 15, clock)
    base, fixed = "langevin", "bd pde h=1"

    def row(name, baseline, target_=""):
        value, base_value = t.median(name) / STEPS * 1e3, t.median(baseline) / STEPS * 1e3
        return Row(benchmark="sampling_cost", case=name, value=value, unit="ms/step", baseline=baseline,
                   baseline_value=base_value, ratio=t.ratio(name, baseline), target=target_)  # fmt: skip

    targets = {fixed: "<= 8", f"{fixed} float32 kernel": "<= 8"} | {f"{fixed} p={p}": "<= 8" for p in NEIGHBOURS}
    rows = [row(name, base, targets.get(name, "")) for name in t.times]
    rows.append(row("bd pde median", fixed, "<= 1.5"))
    columns = ("case", "value", "unit", "baseline", "ratio", "target")
    table = [{k: getattr(r, k) for k in columns} | {"met": r.met} for r in rows]
    clock_name = "process CPU time" if args.cpu else "wall-clock"
    print(f"n = {N}, d = 2, {SEEDS} seeds vmapped, {STEPS} steps per call, {dtype.__name__}, four-mode target, "
          f"{clock_name}")  # fmt: skip
    print(md_table(table, list(table[0])))
    print(md_table(well, list(well[0])))
    accuracy = estimate_accuracy(target, dtype, 50 if args.smoke else 200)
    print(md_table(accuracy, list(accuracy[0])))
    bias = mmd_bias(target, dtype, 100 if args.smoke else 1000)
    print(md_table(bias, list(bias[0])))
    return rows, accuracy, bias


if __name__ == "__main__":
    main()
