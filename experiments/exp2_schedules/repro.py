"""Reproducing the measured findings of issue 10 (3 seeds, n = 200, α = 1, Δt = 5, float64): scheme A against
GD at t = 10⁴ and 2·10⁴, the fresh gradient at t = 10⁴, the reaction's energy input at GD's converged state,
and the diversity collapse (distinct lineages)."""

from __future__ import annotations

import numpy as np

from experiments.exp2_schedules import core

SETTINGS = dict(n=200, seeds=(0, 1, 2), alpha=1.0, dt=5.0, record_every=100, reps=200)


def at(result: dict, dt: float, every: int, t: float, field: str = "state_energy") -> float:
    """Seed mean of ``field`` at time ``t``."""
    return float(np.mean(result[field][:, int(round(t / (dt * every)))]))


def reproduce(smoke: bool = False) -> dict:
    """The reproduction numbers as a flat dict (``smoke``: n = 16, t ≤ 1000, for the tests)."""
    s = dict(SETTINGS) | (dict(n=16, seeds=(0, 1), record_every=20, reps=10) if smoke else {})
    t_mid, t_end = (500.0, 1000.0) if smoke else (1e4, 2e4)
    prob, dt, alpha, every = core.problem(), s["dt"], s["alpha"], s["record_every"]
    steps = int(t_end / dt)
    out = {"settings": {k: v for k, v in s.items()}, "t_mid": t_mid, "t_end": t_end, "walls": {}}
    runs = {}
    for name, gradient, horizon in (("gd", "carried", t_end), ("A", "carried", t_end), ("A", "fresh", t_mid)):
        n_steps = int(horizon / dt)
        scheme = core.scheme_of(prob, name, dt, alpha, ("constant", 0.0), n_steps, gradient)
        runs[name, gradient] = core.run_arm(prob, scheme, s["n"], s["seeds"], n_steps, every, 1000)
        out["walls"][f"{name} {gradient}"] = runs[name, gradient]["wall"]
    gd, a, fresh = runs["gd", "carried"], runs["A", "carried"], runs["A", "fresh"]
    for tag, t in (("mid", t_mid), ("end", t_end)):
        out[f"gd_energy_{tag}"] = at(gd, dt, every, t)
        out[f"A_carried_energy_{tag}"] = at(a, dt, every, t)
        out[f"A_carried_lineages_{tag}"] = at(a, dt, every, t, "lineages")
        out[f"A_carried_effective_lineages_{tag}"] = at(a, dt, every, t, "effective_lineages")
    out["A_fresh_energy_mid"] = at(fresh, dt, every, t_mid)
    out["A_fresh_lineages_mid"] = at(fresh, dt, every, t_mid, "lineages")
    out["A_carried_energy_end_per_seed"] = [float(x) for x in a["state_energy"][:, -1]]
    out["reaction"] = core.reaction_input(prob, gd["state"], dt, alpha, s["reps"])
    reaction = out["reaction"]
    reaction["ratio_to_gd_descent"] = reaction["reaction_input_per_time"] / reaction["gd_descent_rate"]
    out["steps"] = steps
    return out
