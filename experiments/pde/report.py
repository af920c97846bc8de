"""REPORT.md from the study's CSV tables: the computed values filled into ``REPORT.template.md``."""

from __future__ import annotations

from pathlib import Path

from experiments.common import md_table, read_rows
from experiments.pde.base import ALPHA, COARSE_BINS, LOWER, PARTICLE_DT, SCHEMES, TIMES, UPPER, grid_at

TEMPLATE = Path(__file__).with_name("REPORT.template.md")
E = "{:.2e}"
ERROR_COLUMNS = ["scheme", "n", "seeds", "mean_abs_error", "se_abs_error", "bias", "se_bias", "bias_cv", "se_bias_cv"]
ERROR_COLUMNS += ["initial_bias", "wall_s", "compile_s"]
SLOPE_COLUMNS = ["scheme", "t", "abs_gap_slope", "abs_gap_slope_se", "abs_gap_chi2_dof", "beta", "bias_exponent"]
SLOPE_COLUMNS += ["bias_exponent_lo", "bias_exponent_hi", "bias_prefactor", "bias_offset", "bias_offset_se"]
SLOPE_COLUMNS += ["bias_chi2_dof"]
SLOPE_FORMAT = {k: "{:.2f}" for k in SLOPE_COLUMNS[2:9] + ["bias_chi2_dof"]}
SLOPE_FORMAT |= {"bias_prefactor": "{:.3f}", "bias_offset": "{:+.1e}", "bias_offset_se": "{:.1e}"}
ORDER_COLUMNS = ["alpha", "limiter", "t", "E_finest", "successive_differences", "pairwise_orders", "fitted_order"]
ORDER_COLUMNS += ["order_se", "error_finest"]
ORDER_FORMAT = {"E_finest": "{:.7f}", "fitted_order": "{:.2f}", "order_se": "{:.2f}", "error_finest": "{:.1e}"}
DISS_FORMAT = {"dE_dt": "{:.6e}", "rate": "{:.6e}", "rel_error": "{:.2e}", "dt": "{:.5f}"}
CHECK_COLUMNS = ["scheme", "n", "seeds", "t", "beta", "bias_cv", "se_bias_cv", "n_times_bias_cv", "bias", "se_bias"]


def _ints(text) -> list[int]:
    return [int(x) for x in str(text).split()]


def _exponent(s) -> str:
    if s["bias_exponent_lo"] <= -2.5 or s["bias_exponent_hi"] >= -0.1:
        return f"{s['scheme']} (t = {s['t']:g}): not determined"
    interval = f"[{s['bias_exponent_lo']:.2f}, {s['bias_exponent_hi']:.2f}]"
    return f"{s['scheme']} (t = {s['t']:g}): {s['bias_exponent']:.2f} {interval}"


def _nb_range(sel) -> str:
    values = [r["n"] * r["bias_cv"] for r in sel]
    return f"{min(values):.2f} to {max(values):.2f}"


def values(out: Path) -> dict:
    """Every value that REPORT.template.md names, computed from the CSVs in ``out``."""
    info = {r["key"]: r["value"] for r in read_rows(out / "run_info.csv")}
    rows, slopes = read_rows(out / "particle_errors.csv"), read_rows(out / "particle_slopes.csv")
    l1, orders = read_rows(out / "histogram_l1.csv"), read_rows(out / "grid_orders.csv")
    kl, dt_rows = read_rows(out / "kl_summary.csv")[0], read_rows(out / "dt_bias.csv")
    check = read_rows(out / "bd_bias_check.csv")
    levels, ns, seeds, t_main = _ints(info["levels"]), _ints(info["ns"]), _ints(info["seeds"]), max(TIMES)
    gap = [s["abs_gap_slope"] for s in slopes]

    def order_range(alpha, limiter):
        sel = [r["fitted_order"] for r in orders if r["alpha"] == alpha and r["limiter"] == limiter]
        return f"{min(sel):.2f} to {max(sel):.2f} (t = 0.5, 1, 2)"

    def l1_ratio(name):
        ratios = [r["mean_L1"] / r["iid_L1"] for r in l1 if r["scheme"] == name]
        return f"{name} {min(ratios):.2f} to {max(ratios):.2f}"

    return dict(
        alpha=ALPHA,
        y0=LOWER[0],
        y1=UPPER[0],
        c0=LOWER[1],
        c1=UPPER[1],
        pdt=PARTICLE_DT,
        adt=ALPHA * PARTICLE_DT,
        command=info["command"],
        total=float(info["wall total"]),
        walls=", ".join(
            f"{k[5:]} {float(v):.0f} s" for k, v in info.items() if k.startswith("wall ") and k != "wall total"
        ),
        tmax=t_main,
        nmax=max(ns),
        grids=", ".join(str(grid_at(k).shape) for k in levels),
        hmin=grid_at(max(levels)).spacing[0],
        order_upwind=f"α = 0: {order_range(0.0, 'upwind')}, α = {ALPHA:g}: {order_range(ALPHA, 'upwind')}",
        order_vl0=order_range(0.0, "van_leer"),
        order_vl=order_range(ALPHA, "van_leer"),
        orders=md_table(orders, ORDER_COLUMNS, ORDER_FORMAT),
        box=md_table(read_rows(out / "box_check.csv"), ["box", "shape", "E_t2", "edge_mass_t2"], {"E_t2": "{:.8f}"}),
        ref_shape=grid_at(max(levels)).shape,
        ref_error=max(r["error_finest"] for r in orders if r["limiter"] == "van_leer" and r["t"] == 0.5),
        seeds=", ".join(f"{n}: {s}" for n, s in zip(ns, seeds, strict=True)),
        errors=md_table(
            [r for r in rows if r["t"] == t_main],
            ERROR_COLUMNS,
            {k: E for k in ERROR_COLUMNS[3:10]} | {"wall_s": "{:.1f}", "compile_s": "{:.1f}"},
        ),
        slopes=md_table(slopes, SLOPE_COLUMNS, SLOPE_FORMAT),
        gap_range=f"{min(gap):.2f} to {max(gap):.2f}",
        bias_summary="; ".join(_exponent(s) for s in slopes),
        dt_n=dt_rows[0]["n"],
        dt_bias="; ".join(
            f"{r['scheme']}: E(0.01) - E(0.005) = {r['E_dt_minus_E_half_dt']:+.1e}, "
            f"so a Δt-bias of about {r['estimated_dt_bias']:+.1e}"
            for r in dt_rows
        ),
        bins=f"{COARSE_BINS[0]} × {COARSE_BINS[1]}",
        l1=md_table(
            l1,
            ["scheme", "n", "seeds", "mean_L1", "se_L1", "iid_L1", "mean_ess"],
            {"mean_L1": "{:.4f}", "se_L1": "{:.4f}", "iid_L1": "{:.4f}", "mean_ess": "{:.0f}"},
        ),
        l1_ratios="; ".join(l1_ratio(name) for name in SCHEMES),
        check_n=check[0]["n"],
        check_nb=_nb_range(check),
        bd_small_nb=_nb_range([r for r in rows if r["scheme"] == "GD+BD" and r["n"] <= 500]),
        gd_small_nb=_nb_range([r for r in rows if r["scheme"] == "GD" and r["n"] <= 500]),
        check_seeds=check[0]["seeds"],
        check=md_table(
            check,
            CHECK_COLUMNS,
            {"beta": "{:.2f}", "n_times_bias_cv": "{:.2f}"}
            | {k: E for k in ("bias_cv", "se_bias_cv", "bias", "se_bias")},
        ),
        diss=md_table(
            [r for r in read_rows(out / "dissipation.csv") if r["t"] == 0.5],
            ["alpha", "limiter", "ny", "nc", "dt", "dE_dt", "rate", "rel_error"],
            DISS_FORMAT,
        ),
        sweep_shape=grid_at(1).shape,
        sweep=md_table(
            read_rows(out / "dissipation_dt.csv"),
            ["alpha", "limiter", "cfl", "dt", "dE_dt", "rate", "rel_error"],
            DISS_FORMAT,
        ),
        kl_grid=kl["grid"],
        kl_dt=kl["dt"],
        kl_T=kl["t_long"],
        kl_E=kl["E_nu"],
        kl_Eq=kl["E_quarter"],
        kl_Eh=kl["E_half"],
        kl_KL=kl["KL"],
        kl_ratio=kl["max_ratio"],
        kl_t=kl["argmax_t"],
    )


def report(out: Path) -> None:
    """Write ``out/REPORT.md``."""
    (out / "REPORT.md").write_text(TEMPLATE.read_text().format_map(values(out)))
