"""The grid of the schedule study: arms, the GD references, per-arm rows (speed-up, end-energy ratio, lineages)
and the energy curves, written after every arm so that a cut run keeps what it measured."""

from __future__ import annotations

import dataclasses

import numpy as np

from experiments.common import write_rows
from experiments.exp2_schedules import core


@dataclasses.dataclass(frozen=True)
class Sizes:
    """The study's sizes; GD's reference runs to ``gd_horizon`` at the largest Δt (and to the arms' horizon at
    any other Δt, to show the Δt effect on GD)."""

    n: int = 200
    seeds: int = 5
    gd_horizon: float = 20000.0
    record_time: float = 100.0
    # (α, the Δt it needs for stability, the arms' horizon: α = 10 needs 5x the steps, so a shorter one)
    dts: tuple = ((0.1, 5.0, 5000.0), (1.0, 5.0, 5000.0), (10.0, 1.0, 2000.0))
    schedules: tuple = (("constant", 0.0), ("quench", 0.2), ("quench", 0.5), ("cosine", 0.0))
    # (α, scheme, schedule kind) that also run with the fresh gradient; "*" matches every α or kind
    fresh: tuple = ((1.0, "A", "*"), ("*", "A", "constant"), (1.0, "B", "constant"))


FULL = Sizes()
SMOKE = Sizes(n=16, seeds=2, gd_horizon=400.0, record_time=50.0, dts=((1.0, 5.0, 200.0),),
              schedules=(("cosine", 0.0),), fresh=())  # fmt: skip


def schedule_name(schedule) -> str:
    kind, fraction = schedule
    return f"quench-last-{int(round(100 * fraction))}%" if kind == "quench" else kind


def arms(sizes: Sizes) -> list[dict]:
    """Every arm of the grid: α, Δt, scheme, schedule, gradient."""
    out = []
    for alpha, dt, horizon in sizes.dts:
        for scheme in ("A", "B"):
            for schedule in sizes.schedules:
                wanted = [(a, s, k) for a, s, k in sizes.fresh if a in ("*", alpha) and s == scheme]
                fresh = any(k in ("*", schedule[0]) for _, _, k in wanted)
                for gradient in ("carried", "fresh") if fresh else ("carried",):
                    out.append(dict(alpha=alpha, dt=dt, horizon=horizon, scheme=scheme, schedule=schedule,
                                    gradient=gradient))  # fmt: skip
    return out


def records(sizes: Sizes, dt: float, horizon: float) -> tuple[int, int]:
    """(steps, record_every) for a run to ``horizon`` at ``dt`` recording every ``record_time``."""
    return int(round(horizon / dt)), max(1, int(round(sizes.record_time / dt)))


def run(sizes: Sizes, out, raw) -> dict:
    """Run the GD references and every arm (in the order of :func:`arms`); write ``arms.csv``, ``curves.csv``
    and the raw ``.npz`` traces."""
    prob = core.problem()
    seeds = tuple(range(sizes.seeds))
    walls, results = {}, {}
    gd = {}
    for dt in sorted({dt for _, dt, _ in sizes.dts}, reverse=True):
        horizon = (
            sizes.gd_horizon if dt == max(d for _, d, _ in sizes.dts) else max(h for _, d, h in sizes.dts if d == dt)
        )
        steps, every = records(sizes, dt, horizon)
        gd[dt] = core.run_arm(prob, core.scheme_of(prob, "gd", dt, 0, None, steps, ""), sizes.n, seeds, steps,
                              every, 1000 * every)  # fmt: skip
        gd[dt]["t"] = dt * every * np.arange(gd[dt]["energy"].shape[1])
        walls[f"gd dt={dt}"] = gd[dt]["wall"]
        save_raw(raw / f"gd-dt{dt}.npz", gd[dt])
        print(f"  GD dt={dt}: {gd[dt]['wall']:.1f} s", flush=True)
    reference = gd[max(gd)]
    rows, curves = [], curve_rows("GD", dict(alpha=0.0, dt=max(gd), scheme="gd", schedule=("constant", 0),
                                             gradient="-"), reference)  # fmt: skip
    for arm in arms(sizes):
        steps, every = records(sizes, arm["dt"], arm["horizon"])
        scheme = core.scheme_of(prob, arm["scheme"], arm["dt"], arm["alpha"], arm["schedule"], steps, arm["gradient"])
        result = core.run_arm(prob, scheme, sizes.n, seeds, steps, every, 1000 * every)
        result["t"] = arm["dt"] * every * np.arange(result["energy"].shape[1])
        name = label(arm)
        walls[name] = result["wall"]
        results[name] = result
        save_raw(raw / f"{name.replace(' ', '_')}.npz", result)
        rows.append(arm_row(arm, result, reference, gd.get(arm["dt"])))
        curves += curve_rows(name, arm, result)
        write_rows(out / "arms.csv", rows, columns(rows), float_format="{:.4g}")
        write_rows(out / "curves.csv", curves, float_format="{:.4g}")
        print(f"  {name}: {result['wall']:.1f} s, E_end {rows[-1]['energy_end']:.3g}", flush=True)
    return {"walls": walls, "rows": rows, "curves": curves, "gd": gd, "results": results}


def rebuild(sizes: Sizes, out, raw, walls: dict) -> None:
    """Rewrite ``arms.csv`` and ``curves.csv`` from the raw traces in ``raw`` and the recorded ``walls``
    (no simulation)."""
    gd = {}
    for dt in {dt for _, dt, _ in sizes.dts}:
        gd[dt] = {k: v for k, v in np.load(raw / f"gd-dt{dt}.npz").items()}
        gd[dt]["finite"] = True
    reference = gd[max(gd)]
    reference_arm = dict(alpha=0.0, dt=max(gd), scheme="gd", schedule=("constant", 0), gradient="-")
    rows, curves = [], curve_rows("GD", reference_arm, reference)
    for arm in arms(sizes):
        result = {k: v for k, v in np.load(raw / f"{label(arm).replace(' ', '_')}.npz").items()}
        steps, every = records(sizes, arm["dt"], arm["horizon"])
        result["finite"] = bool(np.all(np.isfinite(result["state_energy"]))) and len(result["t"]) == steps // every + 1
        result["wall"] = walls.get(label(arm), float("nan"))
        rows.append(arm_row(arm, result, reference, gd.get(arm["dt"])))
        curves += curve_rows(label(arm), arm, result)
    write_rows(out / "arms.csv", rows, columns(rows), float_format="{:.4g}")
    write_rows(out / "curves.csv", curves, float_format="{:.4g}")


def save_raw(path, result: dict):
    """The per-seed traces of an arm (its array fields) as ``.npz``."""
    np.savez(path, **{k: v for k, v in result.items() if isinstance(v, np.ndarray)})


def columns(rows: list[dict]) -> list[str]:
    """The union of the rows' keys, in first-seen order (a diverged arm has fewer)."""
    return list(dict.fromkeys(k for r in rows for k in r))


def label(arm: dict) -> str:
    return f"{arm['scheme']} a={arm['alpha']:g} {schedule_name(arm['schedule'])} {arm['gradient']}"


def curve_rows(name: str, arm: dict, result: dict) -> list[dict]:
    """E(t) (after the reaction), distinct and effective lineages: mean and sd over seeds per record."""
    e = result["state_energy"]
    out = []
    for i, t in enumerate(result["t"]):
        column = e[:, i]
        out.append({"arm": name, "scheme": arm["scheme"], "alpha": arm["alpha"], "dt": arm["dt"],
                    "schedule": schedule_name(arm["schedule"]), "gradient": arm["gradient"], "t": float(t),
                    "energy_mean": float(np.mean(column)), "energy_sd": float(np.std(column, ddof=1)),
                    "lineages_mean": float(np.mean(result["lineages"][:, i])),
                    "effective_lineages_mean": float(np.mean(result["effective_lineages"][:, i]))})  # fmt: skip
    return out


def arm_row(arm: dict, result: dict, reference: dict, same_dt_gd: dict | None) -> dict:
    """Speed-ups over GD at half the horizon and at its end, the end-energy ratio and the lineage counts."""
    e, t = result["state_energy"], result["t"]
    end, half = len(t) - 1, (len(t) - 1) // 2
    row = {"scheme": arm["scheme"], "alpha": arm["alpha"], "dt": arm["dt"], "schedule": schedule_name(arm["schedule"]),
           "gradient": arm["gradient"], "finite": result["finite"]}  # fmt: skip
    if not result["finite"] or e.shape[1] < len(t):
        return row | {"energy_end": float("nan"), "wall_s": result["wall"]}
    gd_e = reference["state_energy"]
    gd_at = [float(np.mean(gd_e[:, np.searchsorted(reference["t"], t[i])])) for i in (half, end)]
    paired = np.log10(gd_e[:, np.searchsorted(reference["t"], t[end])] / e[:, end])  # same start per seed
    row |= {"log10_ratio_end_paired": float(np.mean(paired)), "log10_ratio_end_se": float(np.std(paired, ddof=1)
            / np.sqrt(paired.size)), "seeds_below_gd_end": f"{int(np.sum(paired > 0))}/{paired.size}"}  # fmt: skip
    for tag, i, gd_value in (("half", half, gd_at[0]), ("end", end, gd_at[1])):
        factor, bound = core.speedup(reference["t"], gd_e, e[:, i], float(t[i]))
        row[f"speedup_{tag}"] = ("> " if bound else "") + f"{factor:.3g}"
        row[f"energy_ratio_{tag}"] = gd_value / float(np.mean(e[:, i]))
    row |= {"t_half": float(t[half]), "t_end": float(t[end]), "energy_end": float(np.mean(e[:, end])),
            "energy_end_sd": float(np.std(e[:, end], ddof=1)), "gd_energy_end": gd_at[1],
            "lineages_end": float(np.mean(result["lineages"][:, end])),
            "effective_lineages_end": float(np.mean(result["effective_lineages"][:, end])),
            "min_lineages": float(np.min(result["lineages"])), "wall_s": result["wall"]}  # fmt: skip
    if same_dt_gd is not None and same_dt_gd is not reference:  # GD at the arm's own Δt, for the Δt effect
        row["gd_same_dt_energy_end"] = float(np.mean(same_dt_gd["state_energy"][:, -1]))
    return row
