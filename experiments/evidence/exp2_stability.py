"""Study 2 (b, c): scheme B's late divergence at αΔt = 5, and α against αΔt at α = 10 (experiment 2).

(b) Scheme B at α = 1, Δt = 5 (αΔt = 5) on seeds 0–19 to T = 5 000, recorded every step, beside the same
with ``max_transfer=0.25`` and GD at Δt = 5. At every step the observer records the mechanism's quantities
from the state the next reaction acts on: the largest log-weight change of one frozen-V weight step,
αΔt·max_i |V_i − V̄|; the mass that step would move, ½Σ|w' − w| (total variation); the ESS; and the mass of
the heaviest unit and of the five heaviest. A seed *fails* when its energy is non-finite or ends above GD's
(the :func:`mfbd.stats.failing_seeds` rule); the report gives the worst value (the least ESS, the largest
otherwise) of each quantity over the 50 steps before a failing seed's energy leaves its minimum (rises 10× over
it), seed-averaged, against the worst value over the whole run of the seeds that do not fail.

(c) Schemes A and B at constant α = 10 with Δt ∈ {1, 0.1, 0.01} (αΔt ∈ {10, 1, 0.1}) and GD at Δt = 0.01,
10 seeds, to t = 10, every step recorded and read at log-spaced times t ∈ {0.1, 0.2, 0.5, …, 10}: E, distinct and
effective lineages (A), ESS (B). If E at a fixed t changes with Δt, it is αΔt (the step) and not α (the
dynamics) that sets the behaviour seen in the schedule study at α = 10, Δt = 1.
"""

from __future__ import annotations

import dataclasses
import json
import time

import jax
import jax.numpy as jnp
import numpy as np

import mfbd
from experiments.common import ensemble, md_table, write_rows
from experiments.evidence.common import RESULTS
from experiments.exp2_schedules import core
from mfbd import stats
from mfbd.simulate import state_energy

TIMES = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0)


@dataclasses.dataclass(frozen=True)
class Sizes:
    n: int = 200
    seeds: int = 20
    horizon: float = 5000.0
    alpha_seeds: int = 5
    alpha_horizon: float = 10.0
    dts: tuple = (1.0, 0.1, 0.01)


FULL = Sizes()
SMOKE = Sizes(n=16, seeds=3, horizon=100.0, alpha_seeds=2, alpha_horizon=2.0, dts=(1.0, 0.1))


def mechanism(prob, a_dt: float):
    """Observer: the next frozen-V weight step's largest log-weight change and moved mass, ESS, top masses."""
    energy = state_energy(prob)

    def observe(state):
        w = jax.nn.softmax(state.log_weights)
        drift = state.potential - jnp.dot(w, state.potential)
        after = jax.nn.softmax(state.log_weights - a_dt * drift)
        top = jax.lax.top_k(w, 5)[0]
        return energy(state) | {"max_shift": a_dt * jnp.max(jnp.abs(drift)), "moved": 0.5 * jnp.sum(jnp.abs(after - w)),
                                "top1": top[0], "top5": jnp.sum(top)}  # fmt: skip

    return observe


def divergence(sizes: Sizes) -> tuple[list[dict], dict]:
    prob = core.problem()
    dt, steps, seeds = 5.0, int(round(sizes.horizon / 5.0)), list(range(sizes.seeds))
    arms = {"GD": mfbd.gradient_flow(prob, dt), "B a=1": mfbd.reweighting(prob, dt, 1.0),
            "B a=1 max_transfer=0.25": mfbd.reweighting(prob, dt, 1.0, max_transfer=0.25)}  # fmt: skip
    traces, walls = {}, {}
    for name, scheme in arms.items():
        t0 = time.perf_counter()
        _, traces[name] = ensemble(scheme, prob, sizes.n, seeds, steps, 1, observe=mechanism(prob, dt * 1.0),
                                   chunk=min(steps, 400))  # fmt: skip
        walls[name] = time.perf_counter() - t0
        print(f"  {name}: {walls[name]:.0f} s", flush=True)
    gd = traces["GD"]["state_energy"]
    rows, detail = [], {}
    for name in ("B a=1", "B a=1 max_transfer=0.25"):
        tr = traces[name]
        e = tr["state_energy"]
        failing = stats.failing_seeds(e, gd[:, -1:])
        rise_at = [first_rise(row) for row in e]
        windows = [slice(max(0, r - 50), r) for r in rise_at]
        pre = [w for w, f in zip(windows, failing, strict=True) if f]
        row = {"arm": name, "failed": f"{int(failing.sum())}/{len(failing)}",
               "failing_seeds": " ".join(str(s) for s in np.flatnonzero(failing)),
               "rise_t": " ".join(f"{5.0 * r:g}" for r, f in zip(rise_at, failing, strict=True) if f),
               "geomean_E_end": float(np.exp(np.nanmean(np.log(e[:, -1])))),
               "geomean_E_end_gd": float(np.exp(np.mean(np.log(gd[:, -1])))),
               "oracle_passes_per_step": float(np.mean(tr["oracle_passes"][:, 1:])), "wall_s": walls[name]}  # fmt: skip
        ok = ~failing
        for key in ("max_shift", "moved", "ess", "top1", "top5"):
            v, extreme = tr[key], (np.min if key == "ess" else np.max)  # the worst value: least ESS, most else
            row[f"{key}_fail_pre"] = float(np.mean([extreme(v[s, w]) for s, w in zip(np.flatnonzero(failing), pre,
                                                    strict=True)])) if pre else float("nan")  # fmt: skip
            row[f"{key}_ok_run"] = float(np.mean(extreme(v[ok], axis=1))) if ok.any() else float("nan")
        rows.append(row)
        detail[name] = {key: np.asarray(tr[key]) for key in ("state_energy", "max_shift", "moved", "ess", "top1")}
    detail["GD"] = {"state_energy": gd}
    return rows, detail


def first_rise(energy: np.ndarray, factor: float = 10.0) -> int:
    """The first record at which E rises ``factor``× over its running minimum (or is non-finite); last if none."""
    running = np.minimum.accumulate(np.where(np.isfinite(energy), energy, np.inf))
    bad = ~np.isfinite(energy) | (energy > factor * running)
    return int(np.argmax(bad)) if bad.any() else len(energy) - 1


def alpha_vs_step(sizes: Sizes) -> list[dict]:
    prob = core.problem()
    seeds, rows = list(range(sizes.alpha_seeds)), []
    runs = [("GD", min(sizes.dts))] + [(s, dt) for dt in sizes.dts for s in ("A", "B")]
    for scheme_name, dt in runs:
        steps = int(round(sizes.alpha_horizon / dt))
        scheme = core.scheme_of(prob, scheme_name.lower() if scheme_name == "GD" else scheme_name, dt, 10.0,
                                ("constant", 0.0), steps, "carried")  # fmt: skip
        t0 = time.perf_counter()
        _, tr = ensemble(scheme, prob, sizes.n, seeds, steps, 1, observe=state_energy(prob))
        wall = time.perf_counter() - t0
        t = tr["time"][0]
        for at in TIMES:
            if at < dt - 1e-12 or at > sizes.alpha_horizon + 1e-9:
                continue
            k = int(np.argmin(np.abs(t - at)))
            e = tr["state_energy"][:, k]
            rows.append({"scheme": scheme_name, "dt": dt, "alpha_dt": 0.0 if scheme_name == "GD" else 10.0 * dt,
                         "t": float(t[k]), "E_geomean": float(np.exp(np.mean(np.log(e)))),
                         "E_log10_sd": float(np.std(np.log10(e), ddof=1)),
                         "non_finite": int(np.sum(~np.isfinite(e))),
                         "lineages": float(np.mean(tr["lineages"][:, k])),
                         "effective_lineages": float(np.mean(tr["effective_lineages"][:, k])),
                         "ess": float(np.mean(tr["ess"][:, k])), "wall_s": wall})  # fmt: skip
        print(f"  {scheme_name} dt={dt}: {wall:.0f} s", flush=True)
    return rows


def horizon_rows(traces: dict, seeds, dt: float = 5.0) -> list[dict]:
    """Scheme B against GD at 0.25 T … T on the given seeds of the divergence run, in time and oracle passes
    (one pass per step for both, so the two units agree; the wall-clock of these runs was not interleaved)."""
    gd = traces["GD/state_energy"][seeds]
    t = dt * np.arange(gd.shape[1])
    rows = []
    for arm in ("B a=1", "B a=1 max_transfer=0.25"):
        e = traces[f"{arm}/state_energy"][seeds]
        for r in stats.compare(t, e, t, gd, [f * t[-1] for f in (0.25, 0.5, 0.8, 1.0)], chosen_from=13):
            rows.append({"arm": arm, "seeds": f"{min(seeds)}-{max(seeds)}", "t": r.checkpoint,
                         "direction": r.direction, "ratio": r.ratio, "low": r.low, "high": r.high,
                         "bound": r.bound or "", "censored": r.censored, "failed": f"{r.failed}/{r.seeds}",
                         "chosen_from": r.chosen_from})  # fmt: skip
    return rows


def main(seeds: int = 0, smoke: bool = False, large: bool = False, report_only: bool = False):
    del seeds, large
    sizes = SMOKE if smoke else FULL
    out = RESULTS / ("exp2_stability_smoke" if smoke else "exp2_stability")
    out.mkdir(parents=True, exist_ok=True)
    if report_only:  # scheme B against GD from the saved divergence traces: seeds 5-19 never saw the choice
        rows = horizon_rows(dict(np.load(out / "divergence_traces.npz")), list(range(5, sizes.seeds)))
        write_rows(out / "horizon_fresh.csv", rows)
        (out / "horizon_fresh.md").write_text(md_table(rows, list(rows[0])))
        print(md_table(rows, list(rows[0])))
        return rows
    t0 = time.perf_counter()
    alpha_rows = alpha_vs_step(sizes)
    write_rows(out / "alpha_dt.csv", alpha_rows)
    (out / "alpha_dt.md").write_text(md_table(alpha_rows, list(alpha_rows[0])))
    print(md_table(alpha_rows, list(alpha_rows[0])), flush=True)
    t1 = time.perf_counter()
    rows, detail = divergence(sizes)
    write_rows(out / "divergence.csv", rows)
    np.savez_compressed(
        out / "divergence_traces.npz", **{f"{a}/{k}": v for a, d in detail.items() for k, v in d.items()}
    )
    (out / "divergence.md").write_text(md_table(rows, list(rows[0])))
    print(md_table(rows, list(rows[0])), flush=True)
    summary = {"sizes": dataclasses.asdict(sizes), "alpha_dt_wall_s": t1 - t0,
               "divergence_wall_s": time.perf_counter() - t1}  # fmt: skip
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    return summary
