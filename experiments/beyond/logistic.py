"""Chizat and Bach (2020)'s logistic-loss setting at a CPU size: test error and margin against n.

Our reconstruction, sized down (the paper: m = 1 000 units, 50 000 iterations,
d ∈ {5, …, 25}, n from 32 to 512): inputs x ∈ R^d whose first two coordinates
come from four Gaussian clusters at (±1/2, ±1/2) (σ = 0.1) with XOR labels
y = sign(x₁x₂) ∈ {-1, +1}, the other d - 2 coordinates uniform on [-1/2, 1/2];
d = 10, n ∈ {32, 128}, m = 100 ReLU units θ = (a, b), φ = a·relu(b·x̃)
(x̃ = (x, 1), mean-field scaling), logistic loss, Δt = 0.5 for 2 000 steps, 3 seeds.
Arms: both layers trained (gradient descent), output layer only (b frozen at
μ₀: random features), and both layers with birth-death or conic descent (α = 0.1).
Test error on 2 000 fresh samples; margin min_i y_i f(x_i) / Σ_j w_j |θ_j|²
(f is 2-homogeneous in θ, so this is scale-free).

The d sweep (``--sweep-d``): the same arms at n = 64 for d ∈ {5, 10, 15, 20, 25},
1 000 steps, 3 seeds (sized to the loaded CPU; the paper's size is
``--sweep-d --n 512 --m 1000 --steps 50000 --seeds 10``), written to
``results/beyond/logistic_d/``.

    PYTHONPATH=. python -m experiments.beyond.logistic
    PYTHONPATH=. python -m experiments.beyond.logistic --sweep-d
"""

from __future__ import annotations

import argparse
import functools
import json
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax

import mfbd
from experiments.common import machine_record, md_table, write_rows
from mfbd.problems import from_data

RESULTS = Path(__file__).resolve().parents[1] / "results" / "beyond" / "logistic"
D, M, DT, STEPS, SEEDS, ALPHA, TEST = 10, 100, 0.5, 2000, 3, 0.1, 2000
SIZES = (32, 128)


DIMS, SWEEP_N, SWEEP_STEPS = (5, 10, 15, 20, 25), 64, 1000


def samples(key, n, d=D):
    k_c, k_s, k_u = jax.random.split(key, 3)
    centres = jnp.asarray([[0.5, 0.5], [0.5, -0.5], [-0.5, 0.5], [-0.5, -0.5]])[jax.random.randint(k_c, (n,), 0, 4)]
    xy = centres + 0.1 * jax.random.normal(k_s, (n, 2))
    x = jnp.concatenate([xy, jax.random.uniform(k_u, (n, d - 2), minval=-0.5, maxval=0.5)], axis=1)
    return x, jnp.where(xy[:, 0] * xy[:, 1] > 0, 1.0, -1.0)


def unit(x, theta):
    return theta["a"] * jax.nn.relu(jnp.dot(theta["b"][:-1], x) + theta["b"][-1])


def init_particles(key, m, d=D):
    k_a, k_b = jax.random.split(key)
    return {"a": jax.random.normal(k_a, (m,)), "b": jax.random.normal(k_b, (m, d + 1)) / jnp.sqrt(d + 1.0)}


ARMS = {
    "both layers": lambda p: mfbd.gradient_flow(p, DT),
    "output layer only": lambda p: mfbd.gradient_flow(
        p, DT, optimizer=optax.multi_transform({"a": optax.sgd(DT), "b": optax.set_to_zero()}, {"a": "a", "b": "b"})
    ),
    "both + birth-death": lambda p: mfbd.birth_death(p, DT, ALPHA),
    "both + conic": lambda p: mfbd.conic(p, DT, ALPHA),
}


def run(steps=STEPS, seeds=SEEDS, sizes=SIZES, d=D, m=M):
    x_test, y_test = samples(jax.random.key(999), TEST, d)
    init = functools.partial(init_particles, d=d)
    rows = []
    for n in sizes:
        for name, make in ARMS.items():

            def one(seed, n=n, make=make, name=name):
                k_data, k_init, k_run = jax.random.split(jax.random.key(seed), 3)
                data = samples(k_data, n, d)
                problem = from_data(unit, None, init, data=data, loss="logistic", block_size=n)
                scheme = make(problem)
                state = scheme.init(init(k_init, m))
                state, trace = mfbd.simulate(k_run, scheme, state, steps, record_every=steps)
                w = jnp.exp(state.log_weights) if name == "both + conic" else jax.nn.softmax(state.log_weights)
                err = jnp.mean(jnp.sign(problem.predict(state.particles, w, x_test)) != y_test)
                norm = jnp.dot(w, jnp.sum(state.particles["b"] ** 2, axis=1) + state.particles["a"] ** 2)
                margin = jnp.min(data[1] * problem.predict(state.particles, w, data[0])) / norm
                return trace["energy"][-1], err, margin

            t0 = time.perf_counter()
            loss, err, margin = map(np.asarray, jax.jit(jax.vmap(one))(jnp.arange(seeds)))
            wall = time.perf_counter() - t0
            rows.append({"d": d, "n": n, "arm": name, "train_loss": loss.mean(), "test_error": err.mean(),
                         "test_error_sd": err.std(ddof=1) if seeds > 1 else 0.0, "margin": margin.mean(),
                         "margin_sd": margin.std(ddof=1) if seeds > 1 else 0.0, "wall_s": wall})  # fmt: skip
            print(rows[-1], flush=True)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="d = 10, n = 32, 50 steps, 2 seeds, nothing written")
    parser.add_argument("--sweep-d", action="store_true", help=f"d in {DIMS} at one n")
    parser.add_argument("--n", type=int, default=SWEEP_N, help="samples of the d sweep")
    parser.add_argument("--m", type=int, default=M, help="units")
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--seeds", type=int, default=SEEDS)
    args = parser.parse_args(argv)
    if args.smoke:
        return run(50, 2, (32,))
    if args.sweep_d:
        steps = args.steps or SWEEP_STEPS
        rows = [r for d in DIMS for r in run(steps, args.seeds, (args.n,), d, args.m)]
        out, meta = RESULTS.parent / "logistic_d", {"dims": DIMS, "n": args.n, "steps": steps}
    else:
        steps = args.steps or STEPS
        rows, out, meta = run(steps, args.seeds, m=args.m), RESULTS, {"d": D, "steps": steps}
    out.mkdir(parents=True, exist_ok=True)
    write_rows(out / "table.csv", rows, float_format="{:.5g}")
    meta |= {"m": args.m, "dt": DT, "seeds": args.seeds, "alpha": ALPHA, "test": TEST}
    (out / "summary.json").write_text(json.dumps({**meta, "machine": machine_record()}, indent=1, default=str))
    columns = ["d", "n", "arm", "train_loss", "test_error", "test_error_sd", "margin", "margin_sd", "wall_s"]
    print(md_table(rows, columns))
    return rows


if __name__ == "__main__":
    main()
