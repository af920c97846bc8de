"""Study 2 (d): the lineage collapse at α = 10 against n (experiment 2, kernel mode, float64).

Schemes A and B at constant α = 10, Δt = 0.1 (αΔt = 1; at n = 200 the α-against-αΔt study found the collapse
set by α, not by αΔt), carried gradient, on the mean-field student–teacher problem of
:mod:`experiments.exp2_schedules.core`, n ∈ {100, 200, 400, 1 000}, every step recorded to t = 20. The count is
scheme B's ESS = 1/Σw_i² and scheme A's effective number of lineages 1/Σ_L m_L² (m_L the mass descended from
initial unit L); both start at n.

**Prediction** (the mean-field limit, derived before the run). Scheme B's weights are
w_i = exp(−α∫₀ᵗ(V_i − V̄) ds)/Z with V evaluated along unit i's transport path. As n → ∞ with the units i.i.d.
from μ₀, w_i → g_t(θ_i⁰)/n for a function g_t of the starting point alone (the density of μ_t against the
transported μ₀; ∫g_t dμ₀ = 1) that does not depend on n, so

    ESS/n = (Σw_i)²/(n Σw_i²) → r(t) = 1/∫g_t² dμ₀,

a curve set by α, t and the problem. Scheme A's descendant count Z_L of unit L is a branching process with mean
g_t(θ_L⁰) to leading order, so its effective lineages n²/Σ Z_L² → n/∫(g_t² + Var Z) dμ₀: again n times a curve
of t alone (below B's by the branching variance). Hence at fixed t the count grows like n (slope 1 in log–log),
the time to fall below a fixed *fraction* f of n does not depend on n, and the time to fall below a fixed
*number* N solves r(t) = N/n: it grows with n (like log(n)/λ where r decays like e^{−λt}). The measured r(t) of
the largest n predicts that time for every n; the table gives both.

Collapse times are first crossings (:func:`mfbd.stats.first_reach`, linear in log count between records); a seed
that never crosses by the horizon is censored (its time is the horizon, counted). Intervals: 95% percentile
bootstrap over seeds (2 000 resamplings, fixed generator); slopes in n: least squares over every seed's point,
with the bootstrap resampling seeds within each n.
"""

from __future__ import annotations

import dataclasses
import json
import time

import numpy as np

from experiments.common import ensemble, md_table, write_rows
from experiments.evidence.common import RESULTS
from experiments.exp2_schedules import core
from mfbd.stats import first_reach

COUNT = {"A": "effective_lineages", "B": "ess"}


@dataclasses.dataclass(frozen=True)
class Sizes:
    ns: tuple = (100, 200, 400, 1000)
    seeds: int = 8
    alpha: float = 10.0
    dt: float = 0.1
    horizon: float = 20.0
    times: tuple = (2.0, 5.0, 10.0, 15.0, 20.0)
    fractions: tuple = (0.5, 0.25, 0.1)
    number: float = 20.0
    chunk: int = 50


FULL = Sizes()
LARGE = Sizes(ns=(100, 200, 400, 1000, 2000, 5000), seeds=16, horizon=30.0, times=(2.0, 5.0, 10.0, 20.0, 30.0))
SMOKE = Sizes(ns=(8, 16), seeds=2, horizon=0.4, times=(0.2, 0.4), chunk=4)


def run(sizes: Sizes) -> dict:
    """``{(scheme, n): {"time" [R+1], "count" [S, R+1], "lineages" [S, R+1], "energy" [S, R+1], "wall_s"}}``."""
    prob = core.problem()
    steps, out = int(round(sizes.horizon / sizes.dt)), {}
    for n in sizes.ns:
        for name in ("A", "B"):
            scheme = core.scheme_of(prob, name, sizes.dt, sizes.alpha, ("constant", 0.0), steps, "carried")
            t0 = time.perf_counter()
            _, tr = ensemble(scheme, prob, n, list(range(sizes.seeds)), steps, 1, chunk=min(sizes.chunk, steps))
            out[name, n] = {"time": np.asarray(tr["time"][0]), "count": np.asarray(tr[COUNT[name]], float),
                            "lineages": np.asarray(tr["lineages"], float), "energy": np.asarray(tr["energy"]),
                            "wall_s": time.perf_counter() - t0}  # fmt: skip
            print(f"  {name} n={n}: {out[name, n]['wall_s']:.0f} s", flush=True)
    return out


def interval(values, resamples: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """(mean, low, high): the seed mean and its 95% percentile bootstrap interval."""
    values = np.asarray(values, float)
    means = values[np.random.default_rng(seed).integers(0, len(values), (resamples, len(values)))].mean(axis=1)
    return float(values.mean()), float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975))


def crossing(t, count, level) -> tuple[np.ndarray, int]:
    """Per seed, the first t at which ``count`` [S, R] is ≤ ``level`` (a number or [S]); and how many never are."""
    times, censored = first_reach(t, count, level)
    return times, int(censored.sum())


def slope(ns, values, resamples: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """(slope, low, high) of log(values) on log(n) by least squares over ``{n: per-seed values}``, the interval
    from resampling the seeds of each n (``ns`` lists the n, ``values`` the matching per-seed arrays)."""
    rng = np.random.default_rng(seed)
    x = np.concatenate([np.full(len(v), np.log(n)) for n, v in zip(ns, values, strict=True)])
    picks = [rng.integers(0, len(v), (resamples, len(v))) for v in values]
    y = np.log(np.concatenate([np.asarray(v, float)[None] for v in values], axis=1))
    drawn = np.log(np.concatenate([np.asarray(v, float)[p] for v, p in zip(values, picks, strict=True)], axis=1))
    fit = lambda y: np.sum((x - x.mean()) * (y - y.mean(axis=1, keepdims=True)), axis=1) / np.sum((x - x.mean()) ** 2)  # noqa: E731
    draws = fit(drawn)
    return float(fit(y)[0]), float(np.quantile(draws, 0.025)), float(np.quantile(draws, 0.975))


def fmt(m: tuple) -> str:
    return f"{m[0]:.3g} [{m[1]:.3g}, {m[2]:.3g}]"


def tables(traces: dict, sizes: Sizes) -> tuple[list[dict], list[dict]]:
    """(one row per scheme and n, one fit row per scheme and quantity, none from one n): counts at ``times`` and
    collapse times (fractions of n, and the fixed number with its prediction from the largest n's fraction curve)."""
    rows, fits = [], []
    for name in ("A", "B"):
        largest = traces[name, max(sizes.ns)]
        r_curve = np.mean(largest["count"], axis=0) / max(sizes.ns)  # the measured r(t) of the largest n
        for n in sizes.ns:
            tr = traces[name, n]
            t, count = tr["time"], tr["count"]
            row = {"scheme": name, "n": n, "seeds": count.shape[0]}
            for at in sizes.times:
                k = int(np.argmin(np.abs(t - at)))
                row[f"count t={at:g}"] = fmt(interval(count[:, k]))
                row[f"fraction t={at:g}"] = f"{np.mean(count[:, k]) / n:.3f}"
            for f in sizes.fractions:
                times, censored = crossing(t, count / n, f)
                row[f"t(count<{f:g}n)"] = fmt(interval(times)) + (f" ({censored} censored)" if censored else "")
            times, censored = crossing(t, count, sizes.number)
            row[f"t(count<{sizes.number:g})"] = fmt(interval(times)) + (f" ({censored} censored)" if censored else "")
            predicted, never = crossing(t, r_curve[None] * n, sizes.number)
            row[f"predicted t(count<{sizes.number:g})"] = f"{predicted[0]:.3g}" + (" (bound)" if never else "")
            k = int(np.argmin(np.abs(t - 10.0)))
            row["distinct lineages t=10"] = fmt(interval(tr["lineages"][:, k])) if name == "A" else "-"
            row["E t=10"] = fmt(interval(tr["energy"][:, k]))
            row["wall_s"] = round(tr["wall_s"], 1)
            rows.append(row)
        if len(sizes.ns) < 2:  # no slope in n from one n
            continue
        for at in sizes.times:
            per_n = [
                traces[name, n]["count"][:, int(np.argmin(np.abs(traces[name, n]["time"] - at)))] for n in sizes.ns
            ]
            fits.append({"scheme": name, "quantity": f"log count at t={at:g} against log n", "predicted": "1",
                         "slope": fmt(slope(sizes.ns, per_n))})  # fmt: skip
        for f in sizes.fractions:
            per_n = [crossing(traces[name, n]["time"], traces[name, n]["count"] / n, f)[0] for n in sizes.ns]
            fits.append({"scheme": name, "quantity": f"log t(count<{f:g}n) against log n", "predicted": "0",
                         "slope": fmt(slope(sizes.ns, per_n))})  # fmt: skip
    return rows, fits


def main(seeds: int = 0, smoke: bool = False, large: bool = False):
    """Run, then write ``collapse.md``/``.csv``, ``fits.md``/``.csv``, ``traces.npz`` and ``summary.json``."""
    del seeds  # fixed: Sizes.seeds (0 .. S - 1)
    sizes = SMOKE if smoke else LARGE if large else FULL
    out = RESULTS / ("lineage_smoke" if smoke else "lineage_large" if large else "lineage")
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    traces = run(sizes)
    wall = time.perf_counter() - t0
    np.savez_compressed(out / "traces.npz", **{f"{s}/{n}/{k}": v for (s, n), tr in traces.items()
                                                for k, v in tr.items() if k != "wall_s"})  # fmt: skip
    rows, fits = tables(traces, sizes)
    for stem, table in (("collapse", rows), ("fits", fits)):
        write_rows(out / f"{stem}.csv", table)
        (out / f"{stem}.md").write_text(md_table(table, list(table[0])))
        print(md_table(table, list(table[0])), flush=True)
    summary = {"sizes": dataclasses.asdict(sizes), "wall_s": wall}
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    return rows, fits
