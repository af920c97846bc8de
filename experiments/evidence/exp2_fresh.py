"""Study 2 (a): the experiment-2 schedule winners on fresh seeds, with a horizon sweep.

The winners were chosen by the schedule study (``results/exp2_schedules``) on seeds 0–4 at T = 5 000:

* scheme A, α = 1, fresh gradient, α switched off for the last 20% of the run (chosen from 18 scheme-A arms);
* scheme B, α = 1, constant, carried gradient (the README's setting; chosen from 13 scheme-B arms), and the
  same with ``max_transfer=0.25`` (issue 23's cure for its late divergence; not part of the choice).

Here they run on seeds 100–119, which the choice never saw, against GD (all at Δt = 5, n = 200, kernel mode,
float64, the mean-field student–teacher problem of :mod:`experiments.exp2_schedules.core`). For each horizon T
scheme A's quench starts at 0.8 T (a run per T); scheme B is constant, so one run to the longest T is read up
to each T. GD runs to 2·T_max so that it can reach the arms' energies (beyond that a time is a bound).
E is the energy after the reaction, recorded every 100 time units with the divergence observables of
:func:`experiments.evidence.exp2_stability.mechanism` (for the frozen-V weight step at αΔt = 5). Every arm's wall-clock
is measured interleaved chunk by chunk (:func:`experiments.evidence.common.run_interleaved`).

Study 3 (``--n``, without ``--large``): the same at another width on seeds 100–109 to T = 1 000 only, recorded
every 50 time units, without the transfer-limit arm (the CPU size; ``--large --n 5000`` is the full one).

The statistic is :func:`mfbd.stats.compare` at 0.25 T, 0.5 T, 0.8 T and T in mean-field time, oracle passes
and wall-clock (each checkpoint GD's x at that time), both directions, bootstrap intervals over seeds.
"""

from __future__ import annotations

import dataclasses
import json
import time

import numpy as np

import mfbd
from experiments.common import md_table, write_rows
from experiments.evidence.common import RESULTS, run_interleaved
from experiments.evidence.exp2_stability import mechanism
from experiments.exp2_schedules import core
from mfbd import stats

CHOSEN_FROM = {"A": 18, "B": 13}
FRACTIONS = (0.25, 0.5, 0.8, 1.0)
UNITS = (("time", "time"), ("oracle passes", "passes"), ("wall-clock s", "wall"))


@dataclasses.dataclass(frozen=True)
class Sizes:
    n: int = 200
    seeds: tuple = tuple(range(100, 120))
    horizons: tuple = (2500.0, 5000.0)
    dt: float = 5.0
    record_time: float = 100.0
    chunk_records: int = 5
    transfer_arm: bool = True  # B with max_transfer=0.25 beside B (it never engaged at n = 200)


FULL = Sizes()
LARGE = Sizes(horizons=(2500.0, 5000.0, 10000.0, 20000.0))  # the full sweep (a GPU, or hours here)
# study 3 on this CPU (``--n`` without ``--large``): 10 seeds, one horizon, no transfer-limit arm
SCALE = Sizes(seeds=tuple(range(100, 110)), horizons=(1000.0,), record_time=50.0, transfer_arm=False)
SMOKE = Sizes(n=16, seeds=(100, 101, 102), horizons=(100.0, 200.0), record_time=20.0, chunk_records=1)


def chosen_from(name: str) -> int:
    """How many arms of its scheme the arm was chosen from (1: not chosen, run beside the winner)."""
    return 1 if "max_transfer" in name else CHOSEN_FROM[name[0]]


def arms(prob, sizes: Sizes, horizon: float) -> tuple[dict, dict]:
    """``({name: scheme}, {name: steps})`` of one round: GD to 2T; B (with, without the transfer limit) and A to T."""
    step_of = lambda t: int(round(t / sizes.dt))  # noqa: E731
    schemes = {"GD": core.scheme_of(prob, "gd", sizes.dt, 0.0, None, 0, "")}
    steps = {"GD": step_of(2 * horizon)}
    schemes["B a=1 constant"] = core.scheme_of(prob, "B", sizes.dt, 1.0, ("constant", 0.0), 0, "carried")
    if sizes.transfer_arm:
        schemes["B a=1 constant max_transfer=0.25"] = mfbd.reweighting(prob, sizes.dt, 1.0, max_transfer=0.25)
    name = f"A a=1 quench-last-20% fresh T={horizon:g}"
    schemes[name] = core.scheme_of(prob, "A", sizes.dt, 1.0, ("quench", 0.2), step_of(horizon), "fresh")
    for arm in schemes:
        steps.setdefault(arm, step_of(horizon))
    return schemes, steps


def upto(trace: dict, horizon: float) -> dict:
    """The records of ``trace`` with t ≤ ``horizon``."""
    keep = trace["time"][0] <= horizon * (1 + 1e-9)
    return {k: (v[..., keep] if isinstance(v, np.ndarray) and v.ndim and v.shape[-1] == keep.size else v)
            for k, v in trace.items()}  # fmt: skip


def compare_rows(traces: dict, sizes: Sizes) -> tuple[list[dict], list[dict]]:
    """(summary rows, per-seed rows) of every arm against GD at every horizon, checkpoint, unit and direction."""
    gd = traces["GD"]
    rows, per_seed = [], []
    for horizon in sizes.horizons:
        for name, tr in traces.items():
            if name == "GD" or ("T=" in name and not name.endswith(f"T={horizon:g}")):
                continue
            arm = upto(tr, horizon)
            times = [f * horizon for f in FRACTIONS]
            for unit, key in UNITS:
                at = [gd_x_at(gd, key, t) for t in times]
                results = stats.compare(arm[key], arm["state_energy"], gd[key], gd["state_energy"], at,
                                        chosen_from=chosen_from(name))  # fmt: skip
                for fraction, r in zip(np.repeat(FRACTIONS, 2), results, strict=True):
                    row = {"T": horizon, "arm": name.split(" T=")[0], "unit": unit, "at": f"{fraction:g}T",
                           "checkpoint": r.checkpoint, "direction": r.direction, "ratio": r.ratio, "low": r.low,
                           "high": r.high, "bound": r.bound or "", "censored": r.censored, "seeds": r.seeds,
                           "failed": r.failed, "chosen_from": r.chosen_from}  # fmt: skip
                    rows.append(row)
                    per_seed += [{k: row[k] for k in ("T", "arm", "unit", "at", "direction")} | {"seed": s, "ratio": v}
                                 for s, v in zip(sizes.seeds, r.per_seed, strict=True)]  # fmt: skip
    return rows, per_seed


def wide_table(rows: list[dict]) -> list[dict]:
    """One row per (T, arm, checkpoint): ``ratio [low, high]`` per unit and direction (≤/≥ for bounds), and the
    failing seeds per unit (non-finite, or ending above GD at the arm's last x in that unit)."""
    cell = lambda r: (("≤ " if r["bound"] == "upper" else "≥ " if r["bound"] == "lower" else "")  # noqa: E731
                      + f"{float(r['ratio']):.2f} [{float(r['low']):.2f}, {float(r['high']):.2f}]")  # fmt: skip
    out = {}
    for r in rows:
        key = (r["T"], r["arm"], r["at"])
        row = out.setdefault(key, {"T": f"{float(r['T']):g}", "arm": r["arm"], "at": r["at"]})
        arrow = "arm→GD" if r["direction"] == "arm_reaches_reference" else "GD→arm"
        row[f"{arrow} {r['unit']}"] = cell(r)
        row[f"failed {r['unit']}"] = f"{r['failed']}/{r['seeds']}"
        row["chosen from"] = r["chosen_from"]
    return list(out.values())


def gd_x_at(gd: dict, key: str, t: float) -> float:
    """GD's x (in the unit ``key``) at mean-field time t: the checkpoint of that unit."""
    return float(np.interp(t, gd["time"][0], np.mean(np.atleast_2d(gd[key]), axis=0)))


KEYS = ("time", "passes", "wall", "state_energy", "ess", "lineages", "effective_lineages", "max_shift", "moved",
        "top1", "top5")  # fmt: skip


def run_rounds(prob, sizes, out, keys, schemes_for, observe) -> dict:
    """One interleaved round per horizon (shortest first), every table rewritten after each round.

    ``schemes_for(T) -> (schemes, steps)``; ``keys``: the trace keys saved to ``traces_T{T}.npz``.
    """
    every = int(round(sizes.record_time / sizes.dt))
    out.mkdir(parents=True, exist_ok=True)
    rows, per_seed, finals, walls = [], [], {}, {}
    for horizon in sizes.horizons:
        schemes, steps = schemes_for(horizon)
        t0 = time.perf_counter()
        traces = run_interleaved(prob, schemes, list(sizes.seeds), sizes.n, steps, every,
                                 every * sizes.chunk_records, observe=observe)  # fmt: skip
        walls[f"T={horizon:g}"] = time.perf_counter() - t0
        for tr in traces.values():  # wall is [R]: the same for every seed of an arm (one vmapped program)
            tr["wall"] = np.broadcast_to(tr["wall"], tr["time"].shape)
        np.savez_compressed(out / f"traces_T{horizon:g}.npz",
                            **{f"{n}/{k}": np.asarray(tr[k]) for n, tr in traces.items() for k in keys})  # fmt: skip
        new, seeds_rows = compare_rows(traces, dataclasses.replace(sizes, horizons=(horizon,)))
        rows, per_seed = rows + new, per_seed + seeds_rows
        for name, tr in traces.items():
            e, at_t = tr["state_energy"], upto(tr, horizon)["state_energy"][:, -1]
            finals[f"{name.split(' T=')[0]} T={horizon:g}"] = {
                "steps": steps[name], "non_finite_seeds": int(np.sum(~np.all(np.isfinite(e), axis=1))),
                "energy_at_T_geomean": float(np.exp(np.mean(np.log(at_t)))),
                "energy_end_geomean": float(np.exp(np.mean(np.log(e[:, -1])))),
                "compile_s": tr["compile_s"], "run_wall_s": float(tr["wall"][0, -1]),
                "passes_end": float(tr["passes"][0, -1]),
            }  # fmt: skip
        write_rows(out / "compare.csv", rows)
        write_rows(out / "per_seed.csv", per_seed)
        summary = {"sizes": dataclasses.asdict(sizes), "wall_seconds_per_round": walls, "arms": finals}
        (out / "summary.json").write_text(json.dumps(summary, indent=1))
        wide = wide_table(rows)
        (out / "wide.md").write_text(md_table(wide, list(wide[0])))
        print(md_table(wide, list(wide[0])), json.dumps(finals, indent=1), sep="\n", flush=True)
    return summary


def main(seeds: int = 0, smoke: bool = False, large: bool = False, n: int | None = None):
    """The winners against GD on fresh seeds, a round per horizon (:func:`run_rounds`)."""
    del seeds  # fixed: 100-119
    sizes = SMOKE if smoke else LARGE if large else SCALE if n else FULL
    sizes = dataclasses.replace(sizes, n=n) if n else sizes
    prob = core.problem()
    out = RESULTS / (
        ("exp2_fresh_smoke" if smoke else "exp2_fresh_large" if large else "exp2_fresh") + (f"_n{n}" if n else "")
    )
    return run_rounds(prob, sizes, out, KEYS, lambda horizon: arms(prob, sizes, horizon),
                      mechanism(prob, sizes.dt * 1.0))  # fmt: skip
