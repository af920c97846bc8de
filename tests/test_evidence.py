"""The pure pieces of experiments/evidence: the stability rule of the Δt ladder, the late-time fits, the fresh-seed
comparison rows, the divergence observables, the simplex optimum of the rate bound and the noise-floor slope."""

import numpy as np
import pytest

from experiments.evidence.dt_ladder import rise, stable
from experiments.evidence.rates import fits


def test_stability_rule_counts_blow_ups_and_non_finite_seeds():
    t = np.linspace(0, 30, 31)
    good = np.exp(-0.1 * t)
    noisy = good * np.where(np.arange(31) % 5 == 0, 3.0, 1.0)  # jump noise (~3x rises), not a blow-up
    blown = good.copy()
    blown[20:] = good[19] * 50  # rises 50x above its lowest
    broken = good.copy()
    broken[-1] = np.nan
    energy = np.stack([good] * 17 + [noisy, blown, broken])
    np.testing.assert_allclose(rise(energy)[[0, 17, 18]], [1.0, 3.0 * np.exp(-0.1), 50.0])
    assert np.isinf(rise(energy)[19])
    assert stable(energy) == (False, 18)  # two seeds fail: fewer than 19 of 20 pass
    assert stable(energy[:19]) == (True, 18)


def test_late_fits_recover_an_exponential_and_a_power_law():
    t = np.linspace(0, 30, 61)
    exp = fits(t, np.exp(-0.2 * t))
    assert abs(exp["lambda"] - 0.2) < 1e-12 and exp["rss_exp"] < 1e-20 < exp["rss_alg"]
    power = fits(t, 3.0 * np.maximum(t, 1e-9) ** -1.5)
    assert abs(power["p"] - 1.5) < 1e-12 and power["rss_alg"] < 1e-20 < power["rss_exp"]


def test_fresh_seed_rows_recover_a_known_speed_up_in_every_unit():
    """Constructed traces: the arm's log E falls 2x faster in time; its wall and passes run at 1x and 2x GD's."""
    from experiments.evidence import exp2_fresh

    sizes = exp2_fresh.Sizes(seeds=(100, 101), horizons=(10.0,))
    t = np.tile(np.linspace(0, 20, 21), (2, 1))
    gd = {"time": t, "passes": t + 1, "wall": t.copy(), "state_energy": np.exp(-0.1 * t)}
    arm = {"time": t, "passes": 2 * t + 1, "wall": t.copy(), "state_energy": np.exp(-0.2 * t)}
    rows, per_seed = exp2_fresh.compare_rows({"GD": gd, "A a=1 quench-last-20% fresh T=10": arm}, sizes)
    assert len(rows) == 4 * 3 * 2 and len(per_seed) == 2 * len(rows)
    full = {(r["unit"], r["direction"]): r for r in rows if r["at"] == "1T"}
    assert full["time", "arm_reaches_reference"]["ratio"] == pytest.approx(2.0, rel=1e-9)
    assert full["wall-clock s", "arm_reaches_reference"]["ratio"] == pytest.approx(2.0, rel=1e-9)
    # in passes the arm pays two per step: T_ref/T_arm = (t + 1)/(2 t/2 + 1) = 1 at every target
    assert full["oracle passes", "reference_reaches_arm"]["ratio"] == pytest.approx(1.0, rel=1e-9)
    assert {r["chosen_from"] for r in rows} == {18} and exp2_fresh.chosen_from("B a=1 constant max_transfer=0.25") == 1
    cut = exp2_fresh.upto(arm, 5.0)
    assert cut["time"].shape == (2, 6) and cut["state_energy"][0, -1] == pytest.approx(np.exp(-1.0))


def test_first_rise_finds_the_step_a_curve_leaves_its_minimum():
    from experiments.evidence.exp2_stability import first_rise

    e = np.array([1.0, 0.5, 0.1, 0.2, 0.9, 2.0, 5.0])
    assert first_rise(e) == 5  # 2.0 > 10 x 0.1
    assert first_rise(np.array([1.0, 0.5, np.nan])) == 2
    assert first_rise(np.array([1.0, 0.5, 0.4])) == 2  # none: the last record


def test_mechanism_observer_matches_a_weight_step_by_hand():
    import jax
    import jax.numpy as jnp

    import mfbd
    from experiments.evidence.exp2_stability import mechanism

    with jax.enable_x64(True):
        problem = mfbd.problems.gaussian_mixture_1d("good")
        scheme = mfbd.reweighting(problem, 0.01, 5.0)
        state = scheme.init(problem.init_particles(jax.random.key(0), 8))
        state = state._replace(log_weights=jnp.log(jnp.arange(1.0, 9.0) / 36.0))
        got = mechanism(problem, 2.0)(state)
        w, v = np.arange(1.0, 9.0) / 36.0, np.asarray(state.potential)
        drift = v - w @ v
        after = w * np.exp(-2.0 * drift)
        after /= after.sum()
        assert float(got["max_shift"]) == pytest.approx(2.0 * np.max(np.abs(drift)), rel=1e-12)
        assert float(got["moved"]) == pytest.approx(0.5 * np.sum(np.abs(after - w)), rel=1e-10)
        assert float(got["top1"]) == pytest.approx(8 / 36) and float(got["top5"]) == pytest.approx(30 / 36)


def test_simplex_minimum_and_quadratic_form():
    import jax

    import mfbd
    from experiments.evidence.particle_rates import quadratic, simplex_minimum

    # ½|w|² - w·(1, 0, 0) + 1 on the simplex: w* = e_1, E* = 1/2, KL(w*‖uniform) = log 3
    got = simplex_minimum(1.0, np.array([1.0, 0.0, 0.0]), np.eye(3))
    assert got["E_star"] == pytest.approx(0.5, abs=1e-9) and got["kl"] == pytest.approx(np.log(3), abs=1e-6)
    assert got["support"] == 1 and got["kkt"] < 1e-6
    with jax.enable_x64(True):  # the quadratic read off by autodiff reproduces E at another weight vector
        problem = mfbd.problems.gaussian_mixture_1d("good")
        particles = problem.init_particles(jax.random.key(1), 6)
        c_f, f, k = quadratic(problem, particles, 6)
        w = np.array([0.3, 0.1, 0.2, 0.15, 0.05, 0.2])
        assert c_f - w @ f + 0.5 * w @ k @ w == pytest.approx(float(problem.energy(particles, w)), rel=1e-10)


def test_noise_floor_slope_in_n():
    from experiments.evidence.particle_rates import slopes

    rows = [{"alpha": 5.0, "t": 10.0, "n": n, "A_minus_B": 3.0 / n**2, "A_minus_B_se": 0.1 / n**2} for n in (200, 1000)]
    (fit,) = slopes(rows)
    assert fit["slope_in_n"] == pytest.approx(-2.0) and fit["slope_se"] == pytest.approx(
        np.hypot(1 / 30, 1 / 30) / np.log(5)
    )


def test_horizon_rows_read_the_divergence_traces_per_seed():
    from experiments.evidence.exp2_stability import horizon_rows

    t = 5.0 * np.arange(101)
    gd = np.tile(np.exp(-t / 1000), (8, 1))
    b = np.tile(np.exp(-t / 500), (8, 1))
    b[6, -1] = 1.0  # seed 6 ends above GD: counted as failing among seeds 5-7
    traces = {"GD/state_energy": gd, "B a=1/state_energy": b, "B a=1 max_transfer=0.25/state_energy": b}
    rows = horizon_rows(traces, [5, 6, 7])
    ahead = [r for r in rows if r["direction"] == "arm_reaches_reference" and r["arm"] == "B a=1"]
    assert [r["t"] for r in ahead] == [125.0, 250.0, 400.0, 500.0]
    assert all(r["ratio"] == pytest.approx(2.0, rel=1e-9) for r in ahead[:3])
    assert {r["failed"] for r in rows} == {"1/3"} and rows[0]["seeds"] == "5-7"


def test_lineage_tables_recover_the_mean_field_prediction_on_constructed_counts():
    """Counts n·exp(−λt): slope 1 in n at fixed t, fraction times independent of n, t(count < N) = log(n/N)/λ."""
    from experiments.evidence import lineage

    sizes = lineage.Sizes(ns=(100, 400), seeds=3, times=(5.0,), fractions=(0.25,), number=20.0)
    t, lam = np.linspace(0.0, 20.0, 201), 0.3
    traces = {}
    for name in ("A", "B"):
        for n in sizes.ns:
            count = n * np.exp(-lam * t) * np.array([[0.9], [1.0], [1.1]])
            traces[name, n] = {"time": t, "count": count, "lineages": count, "energy": np.exp(-t) + 0 * count,
                               "wall_s": 0.0}  # fmt: skip
    rows, fits = lineage.tables(traces, sizes)
    assert len(rows) == 4 and len(fits) == 4
    by = {(r["scheme"], r["n"]): r for r in rows}
    assert by["B", 400]["count t=5"].startswith(f"{400 * np.exp(-1.5):.3g} ")
    t_quarter = np.log(np.array([0.9, 1.0, 1.1]) / 0.25) / lam  # per seed, the same at every n
    assert by["A", 100]["t(count<0.25n)"] == by["A", 400]["t(count<0.25n)"]
    assert float(by["A", 100]["t(count<0.25n)"].split()[0]) == pytest.approx(np.mean(t_quarter), rel=1e-3)
    assert float(by["B", 400]["predicted t(count<20)"]) == pytest.approx(np.log(400 / 20) / lam, rel=1e-3)
    slopes = {(f["scheme"], f["quantity"]): float(f["slope"].split()[0]) for f in fits}
    assert slopes["A", "log count at t=5 against log n"] == pytest.approx(1.0, abs=1e-9)
    assert slopes["B", "log t(count<0.25n) against log n"] == pytest.approx(0.0, abs=1e-9)
    mean, low, high = lineage.interval([1.0, 2.0, 3.0])
    assert mean == 2.0 and 1.0 <= low <= mean <= high <= 3.0


@pytest.mark.slow
def test_lineage_smoke_run_starts_every_count_at_n():
    import jax

    from experiments.evidence import lineage

    sizes = lineage.Sizes(ns=(8,), seeds=2, horizon=0.2, times=(0.2,), chunk=2)
    with jax.enable_x64(True):
        traces = lineage.run(sizes)
    for name in ("A", "B"):
        count = traces[name, 8]["count"]
        assert count.shape == (2, 3) and np.all(count[:, 0] == 8) and np.all((count > 0) & (count <= 8 + 1e-9))
    rows, fits = lineage.tables(traces, sizes)
    assert [(r["scheme"], r["n"]) for r in rows] == [("A", 8), ("B", 8)] and fits == []
