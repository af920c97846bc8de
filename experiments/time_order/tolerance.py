"""Time to tolerance and the largest stable Δt (issue 23).

``tolerance`` (experiment 1, scheme B, α = 5, good start, T = 1): for a target
relative error of E(T) (1e-3, 1e-4, 1e-5) against an order-2 reference at Δt = T/8192,
the oracle passes and the wall-clock (compilation excluded) of

* fixed Δt, first order (the default step, 1 pass per step) and second order
  (``order=2``, 2 passes per step), each at the largest Δt = T/2^k that meets the target;
* the adaptive controller (:mod:`mfbd.adaptive`) at the largest rtol = 10^-j
  (atol = rtol/100) that meets it.

``tolerance2`` (experiment 2 mean-field, n = 200, T = 100): the same table for gradient flow and
scheme B (α = 1) at targets 1e-2, 1e-3, 1e-4 (scheme A has no adaptive path: its step is stochastic).

``pde`` (experiment 1, α = 5, grid 32 × 40, T = 0.5): the PDE's adaptive path at rtol = 1e-3, 1e-4, 1e-5
against the fixed-Δt ``order=2`` solver at Δt = CFL/32.

``stable`` (experiment 2 mean-field, scheme B, α = 1, n = 200): the accepted Δt of
the controller (rtol = 1e-2) over T, and a fixed-Δt ladder of the default step that
says which Δt keep E finite and non-increasing to T.

``orders`` (experiment 1, α = 5, n = 40, T = 0.25): the fitted order of every step
combination of scheme B and of gradient flow against an order-2 reference at Δt = T/320
(the self-convergence check of ``tests/schemes/test_order.py``), and of each against the exact WFR law of
:mod:`experiments.time_order.wfr`; printed, written to ``results/time_order/orders.csv`` and drawn with
slope guides in ``orders.png`` (:mod:`experiments.time_order.figures`).

Run ``python -m experiments.time_order.tolerance {tolerance,tolerance2,pde,stable,orders}``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

import mfbd
from experiments.common import fit_power_law
from experiments.time_order import figures, wfr
from experiments.time_order.study import OUT
from mfbd.adaptive import adaptive, run_adaptive
from mfbd.problems import gaussian_mixture_1d

TARGETS = (1e-3, 1e-4, 1e-5)
TARGETS_EXP2 = (1e-2, 1e-3, 1e-4)


def fixed_runner(problem, make, start, horizon):
    """A jitted (dt, steps) -> E(μ_T) compiled once for every Δt; E of the measure itself."""
    state = make(horizon / 4).init(start)

    @jax.jit
    def run(dt, steps):
        scheme = make(dt)
        step = lambda k, s: scheme.step(jax.random.fold_in(jax.random.key(1), k), s)[0]  # noqa: E731
        final = jax.lax.fori_loop(0, steps, step, state)
        return problem.energy(final.particles, jax.nn.softmax(final.log_weights))

    return run


def timed(fn, *args):
    fn(*args)  # compile (or reuse) first
    t0 = time.perf_counter()
    out = jax.block_until_ready(fn(*args))
    return out, time.perf_counter() - t0


def ladder(problem, start, horizon, methods, adaptive_make, targets, *, reference_steps=8192, kmax=14, jmax=8):
    """The time-to-tolerance rows ``{(method, target): (passes, wall, error)}`` of one problem: each fixed method
    ``name -> (make(dt), passes per step)`` at Δt = T/2^k, the adaptive one (``adaptive_make(rtol)``) at
    rtol = 10^-j, all against the first fixed method named "order 2" at Δt = T/``reference_steps``."""
    second = next(make for name, (make, _) in methods.items() if "order 2" in name)
    reference = float(fixed_runner(problem, second, start, horizon)(horizon / reference_steps, reference_steps))
    rows = {}

    def keep(name, passes, wall, err):
        for target in targets:
            if err <= target and (name, target) not in rows:
                rows[name, target] = (passes, wall, err)

    for name, (make, per_step) in methods.items():
        run = fixed_runner(problem, make, start, horizon)
        for k in range(1, kmax + 1):
            steps = 2**k
            energy, wall = timed(run, horizon / steps, steps)
            err = abs(float(energy) - reference) / reference
            print(f"{name}  dt=T/{steps:<6d} rel err {err:.2e}  passes {per_step * steps + 1:7d}  wall {wall:.3f} s",
                  flush=True)  # fmt: skip
            keep(name, per_step * steps + 1, wall, err)
            if err <= min(targets):
                break
    if adaptive_make is not None:

        @jax.jit
        def adaptive_run(rtol):
            scheme = adaptive_make(rtol)
            a = scheme.advance(jax.random.key(1), scheme.init(start), horizon)
            return a.state.energy, 2 * (a.accepted + a.rejected) + 1, a.rejected

        for j in range(1, jmax + 1):
            (energy, passes, rejected), wall = timed(adaptive_run, 10.0**-j)
            err = abs(float(energy) - reference) / reference
            print(f"adaptive      rtol=1e-{j}  rel err {err:.2e}  passes {int(passes):7d} (rejected {int(rejected)})  "
                  f"wall {wall:.3f} s", flush=True)  # fmt: skip
            keep("adaptive", int(passes), wall, err)
            if err <= min(targets):
                break
    return rows


def print_table(rows, names, targets) -> None:
    print("\n| target | method | oracle passes | wall-clock (s) | achieved |\n|---|---|---|---|---|")
    for target in targets:
        for name in names:
            passes, wall, err = rows.get((name, target), (None, float("nan"), float("nan")))
            print(f"| {target:.0e} | {name} | {passes} | {wall:.3f} | {err:.1e} |")


def tolerance(n: int, horizon: float, alpha: float) -> None:
    problem = gaussian_mixture_1d()
    start = problem.init_particles(jax.random.key(0), n)
    methods = {
        "fixed order 1": (lambda dt: mfbd.reweighting(problem, dt, alpha), 1),
        "fixed order 2": (lambda dt: mfbd.reweighting(problem, dt, alpha, order=2), 2),
    }
    adaptive_make = lambda rtol: adaptive(problem, alpha, rtol=rtol, atol=rtol / 100, max_steps=200_000)  # noqa: E731
    rows = ladder(problem, start, horizon, methods, adaptive_make, TARGETS, kmax=14)
    print_table(rows, (*methods, "adaptive"), TARGETS)


def tolerance_exp2(n: int, horizon: float, alpha: float, kmax: int = 13, jmax: int = 8, reference_steps=8192) -> dict:
    """Experiment 2 (mean-field, d = 50): GD and scheme B at α, each fixed (orders 1, 2) and adaptive, to
    rtol ∈ TARGETS_EXP2 of E(T). Scheme A has no adaptive path (a stochastic step), so no row."""
    from experiments.exp2_schedules.core import problem as exp2_problem

    problem = exp2_problem()
    start = problem.init_particles(jax.random.key(0), n)
    tables = {}
    for label, a, make in (
        ("GD", 0.0, lambda dt, **o: mfbd.gradient_flow(problem, dt, **o)),
        (f"B (α = {alpha:g})", alpha, lambda dt, **o: mfbd.reweighting(problem, dt, alpha, **o)),
    ):
        print(f"--- {label}", flush=True)
        methods = {"fixed order 1": (make, 1), "fixed order 2": (lambda dt, make=make: make(dt, order=2), 2)}
        adaptive_make = lambda rtol, a=a: adaptive(problem, a, rtol=rtol, atol=rtol / 100, dt0=1.0, max_steps=200_000)  # noqa: E731
        rows = ladder(problem, start, horizon, methods, adaptive_make, TARGETS_EXP2, reference_steps=reference_steps,
                      kmax=kmax, jmax=jmax)  # fmt: skip
        print_table(rows, (*methods, "adaptive"), TARGETS_EXP2)
        tables[label] = rows
    return tables


def stable(n: int, horizon: float, alpha: float, dts) -> None:
    from experiments.exp2_schedules.core import problem as exp2_problem

    problem = exp2_problem()
    start = problem.init_particles(jax.random.key(0), n)
    scheme = adaptive(problem, alpha, rtol=1e-2, atol=1e-4, max_steps=100_000)
    times = np.linspace(horizon / 10, horizon, 10)
    run = run_adaptive(scheme)
    t0 = time.perf_counter()
    a, trace = run(jax.random.key(1), scheme.init(start), jnp.asarray(times))
    proposals = " ".join(f"{float(d):.3g}" for d in trace["dt"])
    print(f"adaptive rtol=1e-2: E(T) {float(a.state.energy):.4e}, accepted {int(a.accepted)}, rejected "
          f"{int(a.rejected)}, mean accepted dt {horizon / int(a.accepted):.3g}, proposals at the records "
          f"{proposals}  wall {time.perf_counter() - t0:.1f} s", flush=True)  # fmt: skip
    for dt in dts:
        s = mfbd.reweighting(problem, dt, alpha)
        steps = int(round(horizon / dt))
        every = max(1, steps // 10)
        _, tr = mfbd.simulate(jax.random.key(1), s, s.init(start), steps - steps % every, record_every=every)
        e = np.asarray(tr["energy"])
        ok = np.all(np.isfinite(e)) and np.all(np.diff(e) <= 1e-12 * np.abs(e[:-1]))
        print(f"fixed dt={dt:<6g} E(T) {e[-1]:.4e}  {'stable' if ok else 'NOT stable (non-finite or rising)'}",
              flush=True)  # fmt: skip


def _label(scheme: str, options: dict) -> str:
    return " ".join([scheme, *(f"order={v}" if k == "order" else str(v) for k, v in options.items())])


def orders(out: Path = OUT, steps=(10, 20, 40), wfr_steps=(32, 64, 128)) -> list[dict]:
    """The order table of every combination (experiment 1 self-convergence, and the exact WFR law of
    :mod:`experiments.time_order.wfr`), printed, written to ``out/orders.csv`` and drawn in ``out/orders.png``."""
    problem = gaussian_mixture_1d()
    start = problem.init_particles(jax.random.key(0), 40)
    horizon, alpha = 0.25, 5.0
    dts = [horizon / k for k in steps]
    reference = float(fixed_runner(problem, lambda dt: mfbd.reweighting(problem, dt, alpha, order=2), start, horizon)(
        horizon / 320, 320))  # fmt: skip
    combos = [dict(gradient=g, splitting=s, integrator=i) for g in ("carried", "fresh") for s in ("lie", "strang")
              for i in ("euler", "heun") if (g, s, i) != ("carried", "strang", "heun")] + [dict(order=2)]  # fmt: skip
    makers = [(_label("B", o), lambda dt, o=o: mfbd.reweighting(problem, dt, alpha, **o)) for o in combos]
    gd_ref = float(fixed_runner(problem, lambda dt: mfbd.gradient_flow(problem, dt, order=2), start, horizon)(
        horizon / 320, 320))  # fmt: skip
    rows = []
    for name, make in makers + [(_label("GD", o), lambda dt, o=o: mfbd.gradient_flow(problem, dt, **o))
                                for o in (dict(integrator="euler"), dict(order=2))]:  # fmt: skip
        ref = gd_ref if name.startswith("GD") else reference
        run = fixed_runner(problem, make, start, horizon)
        errors = [abs(float(run(dt, round(horizon / dt))) - ref) for dt in dts]
        rows += [dict(panel="experiment 1, α = 5 (self-convergence)", series=name, order=make(0.01).order(), dt=dt,
                      error=e) for dt, e in zip(dts, errors, strict=True)]  # fmt: skip
    rows += wfr.rows(wfr_steps)
    for panel in dict.fromkeys(r["panel"] for r in rows):
        print(f"\n{panel}\n| series | order() | fitted slope | errors |\n|---|---|---|---|")
        for series in dict.fromkeys(r["series"] for r in rows if r["panel"] == panel):
            mine = [r for r in rows if (r["panel"], r["series"]) == (panel, series)]
            fitted = fit_power_law([r["dt"] for r in mine], [r["error"] for r in mine]).exponent
            print(f"| {series} | {mine[0]['order']} | {fitted:.2f} | " + " ".join(f"{r['error']:.2e}" for r in mine)
                  + " |", flush=True)  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    figures.write_table(rows, out / "orders.csv")
    figures.order_figure(rows, out / "orders.png", "Order in time: GD and scheme B, every combination")
    print(f"wrote {out / 'orders.csv'} and orders.png")
    return rows


def pde_tolerance(shape=(32, 40), horizon: float = 0.5, alpha: float = 5.0, rtols=(1e-3, 1e-4, 1e-5)) -> None:
    """The PDE's adaptive path (:func:`mfbd.pde.eulerian_adaptive`) against the fixed-Δt ``order=2`` solver at
    Δt = CFL/32 (experiment 1, good start, factorised oracle); the CFL/8 and CFL/16 solutions show its error."""
    import mfbd.pde as pde
    from mfbd.adaptive import simulate_adaptive

    problem = gaussian_mixture_1d()
    grid = pde.Grid(("y", "c"), (-4.0, -5.0), (4.0, 5.0), shape)
    start = pde.start_density(grid, "good")
    limit = pde.max_dt(problem, grid, oracle="factorised")
    fixed = {}
    for k in (8, 16, 32):
        steps = int(np.ceil(horizon / (limit / k)))
        scheme = pde.eulerian_scheme(problem, grid, horizon / steps, alpha, oracle="factorised", order=2)
        fixed[k] = float(
            mfbd.simulate(jax.random.key(0), scheme, scheme.init(start), steps, record_every=steps)[0].energy
        )
    print(f"CFL limit {limit:.4g}; fixed order 2 at CFL/8, CFL/16 against CFL/32: "
          f"{abs(fixed[8] / fixed[32] - 1):.1e}, {abs(fixed[16] / fixed[32] - 1):.1e}")  # fmt: skip
    for rtol in rtols:
        scheme = pde.eulerian_adaptive(problem, grid, alpha, rtol=rtol, atol=rtol / 100, oracle="factorised")
        a, trace = simulate_adaptive(jax.random.key(0), scheme, scheme.init(start), [horizon / 2, horizon])
        err = abs(float(a.state.energy) / fixed[32] - 1)
        print(f"adaptive rtol={rtol:.0e}: rel err {err:.1e}, passes {int(trace['passes'][-1])}, "
              f"rejected {int(a.rejected)}, last dt {float(trace['dt'][-1]):.3g}")  # fmt: skip


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m experiments.time_order.tolerance", description=__doc__.split("\n")[0]
    )
    parser.add_argument("what", choices=("tolerance", "tolerance2", "pde", "stable", "orders"))
    parser.add_argument("--n", type=int, default=None)
    parser.add_argument("--horizon", type=float, default=None)
    parser.add_argument("--dts", default="2.5,5,10,20,40")
    parser.add_argument("--out", type=Path, default=OUT, help="orders: the folder of orders.csv and orders.png")
    args = parser.parse_args(argv)
    with jax.enable_x64(True):
        if args.what == "orders":
            orders(args.out)
        elif args.what == "tolerance":
            tolerance(args.n or 100, args.horizon or 1.0, 5.0)
        elif args.what == "pde":
            pde_tolerance()
        elif args.what == "tolerance2":
            tolerance_exp2(args.n or 200, args.horizon or 100.0, 1.0)
        else:
            stable(args.n or 200, args.horizon or 1000.0, 1.0, [float(d) for d in args.dts.split(",")])


if __name__ == "__main__":
    main()
