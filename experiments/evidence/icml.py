"""Study 3 (c): experiment 2 in the ICML 2019 notebook's regime, with the notebook's sign defect as an ablation.

configs/exp2_icml_gaussian.toml: d = 50, 10 teacher units, student width 200 without 1/n, a fresh batch of 50
unnormalised Gaussian inputs every step (the published figure starts at a loss of 3–5, the scale of these
inputs), SGD lr 0.02 (Δt = 0.0002) for 100 000 steps, α_nb = 0.001 (α = 0.05), float32 as the notebook.
Arms on the same seeds (paired: the same initial units): GD; GD+BD with the correct signs (uncentred rates,
linear probabilities, pairing, as the notebook); GD+BD with ``rates="swapped"`` (β = -V: kills the units that
lower the loss, transport unchanged). ``--inputs sphere`` runs the same arms on the sphere for contrast.

The energy compared is the population energy E = ½ E_x[(f - f*)²] in closed form (arc-cosine kernel, the data
mode's ``population_energy``), in float64 of the float32 states after every chunk of 1 000 steps (the float32
observer, recorded every 100 steps and saved beside it, reaches its rounding floor late in the run); the
notebook plots the minibatch mean(r²) ≈ 2E. The statistic is :func:`mfbd.stats.compare` at GD's x at steps
1 000, 10 000, 30 000 and 100 000 in mean-field time, oracle passes and wall-clock (interleaved chunk by
chunk, :func:`experiments.evidence.common.run_interleaved`).
"""

from __future__ import annotations

import dataclasses
import json
import time

import jax
import jax.numpy as jnp
import numpy as np

from experiments.common import md_table, write_rows
from experiments.evidence.common import RESULTS, run_interleaved
from mfbd import stats
from mfbd.config import load, make_observe, make_problem, make_scheme
from mfbd.problems.student_teacher import arccos_kernel

UNITS = (("time", "time"), ("oracle passes", "passes"), ("wall-clock s", "wall"))
KEYS = ("time", "passes", "wall", "energy", "population_energy", "killed", "born")


@dataclasses.dataclass(frozen=True)
class Sizes:
    steps: int = 100_000
    seeds: tuple = tuple(range(10))
    n: int = 200
    record_every: int = 100
    chunk: int = 1000  # the float64 energies are taken every chunk: the checkpoints are multiples of it
    checkpoints: tuple = (1000, 10_000, 30_000, 100_000)


FULL = Sizes()
LARGE = Sizes(seeds=tuple(range(20)))
SMOKE = Sizes(steps=400, seeds=(0, 1), n=16, chunk=200, checkpoints=(200, 400))


def compare_rows(traces: dict, checkpoint_steps, seeds, record_every: int, energy="population_energy"):
    """(summary rows, per-seed rows): every arm against ``traces["GD"]`` at GD's x at ``checkpoint_steps`` in each
    unit (time, passes, wall), both directions, with :func:`mfbd.stats.compare` (failing seeds counted)."""
    gd = traces["GD"]
    rows, per_seed = [], []
    for name, tr in traces.items():
        if name == "GD":
            continue
        for unit, key in UNITS:
            at = [float(np.mean(np.atleast_2d(gd[key])[:, s // record_every])) for s in checkpoint_steps]
            results = stats.compare(tr[key], tr[energy], gd[key], gd[energy], at)
            for step, r in zip(np.repeat(checkpoint_steps, 2), results, strict=True):
                row = {"arm": name, "unit": unit, "gd_step": int(step), "checkpoint": r.checkpoint,
                       "direction": r.direction, "ratio": r.ratio, "low": r.low, "high": r.high,
                       "bound": r.bound or "", "censored": r.censored, "seeds": r.seeds,
                       "failed": r.failed}  # fmt: skip
                rows.append(row)
                per_seed += [{k: row[k] for k in ("arm", "unit", "gd_step", "direction")} | {"seed": s, "ratio": v}
                             for s, v in zip(seeds, r.per_seed, strict=True)]  # fmt: skip
    return rows, per_seed


def wide_table(rows: list[dict]) -> list[dict]:
    """One row per (arm, checkpoint): ``ratio [low, high]`` per unit and direction (≤/≥ for bounds), failing seeds."""
    cell = lambda r: (("≤ " if r["bound"] == "upper" else "≥ " if r["bound"] == "lower" else "")  # noqa: E731
                      + f"{float(r['ratio']):.2f} [{float(r['low']):.2f}, {float(r['high']):.2f}]")  # fmt: skip
    out = {}
    for r in rows:
        row = out.setdefault((r["arm"], r["gd_step"]), {"arm": r["arm"], "GD step": r["gd_step"]})
        arrow = "arm→GD" if r["direction"] == "arm_reaches_reference" else "GD→arm"
        row[f"{arrow} {r['unit']}"] = cell(r)
        row[f"failed {r['unit']}"] = f"{r['failed']}/{r['seeds']}"
    return list(out.values())


def energy_table(traces: dict, checkpoint_steps, record_every: int, energy="population_energy") -> list[dict]:
    """Mean ± sd over seeds of E at each checkpoint step, and how many seeds end below GD (paired)."""
    gd_end = traces["GD"][energy][:, -1]
    rows = []
    for name, tr in traces.items():
        e = np.asarray(tr[energy], float)
        row = {"arm": name}
        for s in (0, *checkpoint_steps):
            col = e[:, s // record_every]
            row[f"step {s}"] = f"{np.mean(col):.3e} ± {np.std(col, ddof=1):.1e}" if len(col) > 1 else f"{col[0]:.3e}"
        row["below GD at end"] = f"{int(np.sum(e[:, -1] < gd_end))}/{len(e)}"
        row["non-finite"] = int(np.sum(~np.all(np.isfinite(e), axis=1)))
        if "killed" in tr:
            row["kills per step"] = (
                f"{float(np.mean(np.sum(tr['killed'], axis=1))) / (len(e[0]) - 1) / record_every:.3g}"
            )
        rows.append(row)
    return rows


def exact_energies(problem, inputs: str, saved: dict) -> dict:
    """E(μ) = ½ wᵀ G w in float64 of the float32 states ``saved[name]`` (a list of batched particles and log-weights,
    one per chunk): G the arc-cosine Gram matrix of the student's z_i and the teacher's u_t (``problem.meta``),
    w = (s·w_i·c_i, -σ_t). Returns ``{name: [S, C+1]}``. The float32 observer's E carries a rounding error of
    order 1e-7·C_f (C_f ≈ 2.8 with Gaussian inputs), which the late energies reach."""
    meta = problem.meta
    with jax.enable_x64(True):
        u, sign = jnp.asarray(meta.directions, jnp.float64), jnp.asarray(meta.signs, jnp.float64)
        gram = jax.vmap(jax.vmap(arccos_kernel, (None, 0, None)), (0, None, None))

        def energy(particles, log_weights):
            z = jnp.concatenate([jnp.asarray(particles["z"], jnp.float64), u])
            c = jnp.asarray(particles["c"], jnp.float64) * jax.nn.softmax(jnp.asarray(log_weights, jnp.float64))
            w = jnp.concatenate([meta.scale * c, -sign])
            return 0.5 * w @ gram(z, z, inputs) @ w

        energy = jax.jit(jax.vmap(energy))
        return {name: np.stack([np.asarray(energy(p, lw)) for p, lw in states], axis=1)
                for name, states in saved.items()}  # fmt: skip


def run_study(config: str, sets: list[str], sizes: Sizes, out, labels: dict) -> dict:
    """Build the config's problem and arms (``labels``: arm key -> name), run them interleaved over the seeds in
    float32, write traces, tables and a summary under ``out``; return the summary. The tables use E in float64 of
    the states after every chunk (:func:`exact_energies`); the float32 records are saved beside them."""
    out.mkdir(parents=True, exist_ok=True)
    sets = [*sets, f"run.n={sizes.n}", f"run.steps={sizes.steps}"]
    saved = {}

    def keep(name, step, state):
        saved.setdefault(name, []).append(jax.device_get((state.particles, state.log_weights)))

    with jax.enable_x64(False):
        cfg = load(config, sets)
        prob = make_problem(cfg.problem, sizes.n, False)
        observe = make_observe(cfg.problem, sizes.n, False)
        arms = dict(cfg.arms)
        schemes = {name: make_scheme(prob, arms[key], sizes.steps) for key, name in labels.items()}
        t0 = time.perf_counter()
        traces = run_interleaved(prob, schemes, list(sizes.seeds), sizes.n, dict.fromkeys(schemes, sizes.steps),
                                 sizes.record_every, sizes.chunk, observe=observe, on_chunk=keep)  # fmt: skip
        wall = time.perf_counter() - t0
    per_chunk = sizes.chunk // sizes.record_every
    coarse = {}
    for (name, tr), e64 in zip(traces.items(), exact_energies(prob, cfg.problem.inputs, saved).values(), strict=True):
        tr["wall"] = np.broadcast_to(tr["wall"], tr["time"].shape)  # [R]: one vmapped program per arm
        tr["population_energy_f64"] = e64
        coarse[name] = {k: np.asarray(tr[k])[:, ::per_chunk] for k in KEYS if k not in ("killed", "born")}
        coarse[name] |= {"population_energy": e64, "killed": tr["killed"]}
    np.savez_compressed(out / "traces.npz", **{f"{n}/{k}": np.asarray(tr[k]) for n, tr in traces.items()
                                                for k in (*KEYS, "population_energy_f64") if k in tr})  # fmt: skip
    rows, per_seed = compare_rows(coarse, sizes.checkpoints, sizes.seeds, sizes.chunk)
    write_rows(out / "compare.csv", rows)
    write_rows(out / "per_seed.csv", per_seed)
    wide = wide_table(rows)
    energies = energy_table(coarse, sizes.checkpoints, sizes.chunk)
    (out / "wide.md").write_text(md_table(wide, list(wide[0])))
    (out / "energy.md").write_text(md_table(energies, list(energies[0])))
    summary = {"config": config, "sets": sets, "sizes": dataclasses.asdict(sizes), "wall_seconds": wall,
               "compile_s": {n: tr["compile_s"] for n, tr in traces.items()},
               "run_wall_s": {n: float(tr["wall"][0, -1]) for n, tr in traces.items()},
               "passes_end": {n: float(tr["passes"][0, -1]) for n, tr in traces.items()}}  # fmt: skip
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    print(md_table(energies, list(energies[0])), md_table(wide, list(wide[0])), json.dumps(summary, indent=1),
          sep="\n", flush=True)  # fmt: skip
    return summary


LABELS = {"gd": "GD", "bd": "GD+BD", "bd_swapped": "GD+BD swapped"}


def main(seeds: int = 0, smoke: bool = False, large: bool = False, inputs: str = "gaussian"):
    """The three arms on ``inputs`` ("gaussian": the ICML regime; "sphere": the contrast)."""
    del seeds  # fixed: 0-9 (0-19 with --large)
    sizes = SMOKE if smoke else LARGE if large else FULL
    name = f"icml_{inputs}" + ("_smoke" if smoke else "_large" if large else "")
    return run_study("exp2_icml_gaussian", [f"problem.inputs={inputs}"], sizes, RESULTS / name, LABELS)
