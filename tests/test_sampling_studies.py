"""The sampling studies of issue 25 (equal cost, covariance bias): their bookkeeping and smoke runs."""

import numpy as np
import pytest


def test_equal_cost_reads_langevin_at_the_same_wallclock():
    """A synthetic Langevin curve e^{-t} at 1 ms/step and a birth–death arm at 5 ms/step: at t = 2 the
    same wall-clock is Langevin's t = 10, whose value is read by interpolation."""
    from experiments.sampling.equal_cost import DT, equal_cost_rows

    t = np.arange(1, 3001) * 0.01
    lan = {"time": t, "mmd2": np.exp(-t), "w1": np.exp(-t), "seconds": 1e-3 * t / DT}
    bd = {"time": t[:1000], "mmd2": np.full(1000, 0.5), "w1": np.full(1000, 0.5), "seconds": 5e-3 * t[:1000] / DT}
    rows = equal_cost_rows("case", {"langevin": lan, "bd": bd}, ("mmd2", "w1"))
    at2 = next(r for r in rows if r["arm"] == "bd" and r["t"] == 2.0)
    assert at2["langevin_t_same_wallclock"] == pytest.approx(10.0)
    assert at2["langevin_mmd2_same_t"] == pytest.approx(np.exp(-2.0), rel=1e-9)
    assert at2["langevin_mmd2_same_wallclock"] == pytest.approx(np.exp(-10.0), rel=1e-9)
    plateau = next(r for r in rows if r["arm"].startswith("langevin plateau"))
    assert plateau["mmd2"] == pytest.approx(np.mean(np.exp(-t[t >= 0.7 * 30])))


@pytest.mark.slow
@pytest.mark.parametrize("study", ["covariance_bias"])  # equal_cost --smoke compiles 16 programs: 468 s at load 10
def test_sampling_study_smoke(tmp_path, study):
    import importlib

    import jax

    from experiments.common import read_rows

    with jax.enable_x64(True):
        importlib.import_module(f"experiments.sampling.{study}").main(smoke=True, out=tmp_path)
    name = {"equal_cost": "equal_cost.csv", "covariance_bias": "table.csv"}[study]
    rows = read_rows(tmp_path / study / name)
    assert rows and (tmp_path / study / "table.md").stat().st_size > 0


def test_double_well_tau_bootstrap_crossings_and_local_slopes():
    """Synthetic masses: seed s reaches the exact mass 0.6 at t = s + 1 (linear ramps), so the seed mean is
    within 0.05 first where mean(min(t/(s+1), 1))·0.6 ≥ 0.55 (t ≈ 2.26); resampling identical seeds changes nothing;
    a seed that stays at 0 never crossed; τ = e^{0.5 ΔU} has local slope 0.5 with a zero-width interval."""
    from experiments.sampling.double_well import equilibration_times, first_crossings, local_slopes

    t = np.arange(1, 401) * 0.01
    mass = np.stack([0.6 * np.minimum(t / (s + 1), 1.0) for s in range(3)])
    expected = t[np.argmax(np.abs(0.6 * np.mean(np.minimum(t / np.arange(1, 4)[:, None], 1.0), axis=0) - 0.6) <= 0.05)]
    tau, boot = equilibration_times(t, mass, 0.6, rng=np.random.default_rng(0), resamples=200)
    assert tau == pytest.approx(expected) and np.all(np.isin(boot, t)) and boot.min() < tau < boot.max()
    same, boot_same = equilibration_times(t, np.stack([mass[0]] * 4), 0.6, rng=np.random.default_rng(1))
    assert np.all(boot_same == same) and same == pytest.approx(0.92)
    assert equilibration_times(t, np.zeros((2, t.size)), 0.6)[0] == np.inf
    crossings = first_crossings(t, np.concatenate([mass, np.zeros((1, t.size))]))
    assert list(crossings[:3]) == [0.01] * 3 and crossings[3] == np.inf
    rows = [{"arm": "a", "b": b, "barrier": u, "tau": float(np.exp(0.5 * u))} for b, u in ((2.0, 1.0), (3.0, 3.0))]
    boots = {("a", r["b"]): np.full(50, r["tau"]) for r in rows}
    (slope,) = local_slopes(rows, boots)
    assert slope["local_slope"] == pytest.approx(0.5) and slope["lo"] == pytest.approx(0.5) == slope["hi"]


def test_side_by_side_cases_use_the_published_settings():
    """The banana (N = 300, Δt = 0.01, 3 000 steps), the 20-D mixture (N = 1 000, Δt = 0.1, 1 000 steps) and the
    four modes (N = 500, Δt = 0.01, 1 000 steps, with the SMC-WFR-style arm resampling at every step)."""
    from experiments.sampling.side_by_side import LANGEVIN_FACTOR, cases

    got = cases(smoke=False)
    settings = {name: (n, dt, arms["bd_langevin"][2]) for name, (_, n, dt, _, arms, _) in got.items()}
    assert settings == {"banana": (300, 0.01, 3000), "mixture20": (1000, 0.1, 1000), "four_modes": (500, 0.01, 1000)}
    assert all(arms["langevin"][2] == LANGEVIN_FACTOR * arms["bd_langevin"][2] for *_, arms, _ in got.values())
    assert set(got["four_modes"][4]) == {"langevin", "bd_langevin", "smc_wfr"}


@pytest.mark.slow
def test_splitting_order_smoke(tmp_path):
    import jax

    from experiments.common import read_rows
    from experiments.sampling import splitting_order

    with jax.enable_x64(True):
        splitting_order.main(smoke=True, out=tmp_path)
    rows = read_rows(tmp_path / "splitting_order" / "errors.csv")
    assert [(r["scheme"], r["dt"]) for r in rows] == [(s, dt) for s in "AB" for dt in splitting_order.STEPS[:2]]
    assert len(read_rows(tmp_path / "splitting_order" / "order.csv")) == 4


def test_double_well_fr_time_solves_the_two_basin_fisher_rao_flow():
    """fr_time against an ODE solve of dm_k/dt = -α(V_k - V̄)m_k, V_k = log(m_k/π_k), for the two basin masses."""
    from scipy.integrate import solve_ivp

    from experiments.sampling.double_well_mechanism import fr_time

    exact, alpha = 0.65, 2.0
    for m0 in (0.5, 1e-3):

        def rhs(_, m):
            v = np.log(m / np.array([exact, 1 - exact]))
            return -alpha * (v - m @ v) * m

        def within(_, m):
            return m[0] - (exact - 0.05)

        within.terminal = True
        sol = solve_ivp(rhs, (0, 20), [m0, 1 - m0], rtol=1e-10, atol=1e-12, events=within)
        assert fr_time(m0, exact, 0.05, alpha) == pytest.approx(sol.t_events[0][0], rel=1e-6)


def test_double_well_both_wells_start_and_climber_observer():
    """Half the particles start in each well; the observer's leader is the leftmost particle and its β with and
    without its own kernel match a direct NumPy computation."""
    from types import SimpleNamespace

    import jax

    from experiments.sampling.double_well_mechanism import both_wells, climber_observer
    from mfbd.problems import double_well

    with jax.enable_x64(True):
        target = both_wells(double_well(b=5.0))
        x = np.asarray(target.init_particles(jax.random.key(0), 10))[:, 0]
        assert np.all(x[:5] < target.extras["saddle"]) and np.all(x[5:] > target.extras["saddle"])
        x = np.array([-0.5, 1.0, 1.1, 1.3])
        w = np.array([0.1, 0.2, 0.3, 0.4])
        state = SimpleNamespace(particles=x[:, None], log_weights=np.log(w))
        got = climber_observer(target, bandwidth=0.3)(state)
    k = np.exp(-0.5 * (x[:, None] - x) ** 2 / 0.09) / np.sqrt(2 * np.pi * 0.09)
    u = x**4 - 5 * x**2 + 0.2 * x
    for name, rho in (("beta_self", k @ w), ("beta_loo", (k @ w - w * k[0, 0]) / (1 - w))):
        v = np.log(rho) + u
        assert float(got[name]) == pytest.approx(v[0] - w @ v, rel=1e-10)
    assert float(got["x_lead"]) == -0.5 and float(got["mass_left"]) == pytest.approx(0.1)


def test_double_well_growth_and_loo_bookkeeping():
    """Growth = τ_BD - Langevin's median first crossing, its n = 1000 - n = 100 shift, and Fisher's test on the
    never-crossed counts, on synthetic rows with degenerate bootstraps."""
    from experiments.sampling.double_well_mechanism import growth_rows, loo_rows
    from mfbd.problems import double_well

    rows, boots, crosses = [], {}, {}
    for n, tau, t1 in ((100, 8.0, 2.0), (1000, 9.0, 0.5)):
        base = {"n": n, "b": 5.0, "barrier": 5.9, "seeds": 4, "mass_left_exact": 0.65}
        rows += [base | {"arm": "langevin", "tau": 300.0, "first_cross_median": t1, "first_cross_lo": t1}]
        rows[-1] |= {"first_cross_hi": t1}
        rows += [base | {"arm": "bd_langevin", "tau": tau, "tau_lo": tau, "tau_hi": tau, "first_cross_median": t1}]
        boots[n, 5.0, "bd_langevin"], crosses[n, 5.0, "langevin"] = np.full(2000, tau), np.full(4, t1)
    mech, (shift,) = growth_rows(rows, boots, crosses, np.random.default_rng(0))
    assert [m["growth"] for m in mech] == [6.0, 8.5] and mech[1]["growth_lo"] == pytest.approx(8.5)
    assert shift["growth_shift"] == pytest.approx(2.5) == shift["shift_lo"] and shift["log10_prediction"] > 2.3
    target = double_well(b=7.0)
    rows = [{"arm": arm, "never_crossed": k, "seeds": 16} for arm, k in (("bd_langevin", 9), ("bd_langevin_loo", 0))]
    x = np.array([[target.extras["wells"][1], target.extras["saddle"] + 1e-3, target.extras["saddle"] - 0.1]])
    trace = {"x_lead": x, "beta_self": np.array([[1.0, 7.0, 2.0]]), "beta_loo": np.array([[0.5, -3.0, -1.0]])}
    test, bins = loo_rows(rows, {"bd_langevin": trace}, target)
    assert test["fisher_p"] == pytest.approx(0.000816, abs=1e-6)  # scipy: 9/16 against 0/16
    assert test["bd_langevin_max_height"] == pytest.approx(1, abs=1e-3)
    top = next(r for r in bins if r["height_from"] == 0.75)
    assert (top["records"], top["beta_self"], top["beta_loo"]) == (1, 7.0, -3.0)
    assert next(r for r in bins if r["height_to"] == np.inf)["records"] == 1


@pytest.mark.slow
def test_double_well_mechanism_smoke(tmp_path):
    """The growth part end to end at n = 32, t = 0.5 (Langevin and birth–death at b = 3): its tables are written."""
    import jax

    from experiments.common import read_rows
    from experiments.sampling import double_well_mechanism

    with jax.enable_x64(True):
        double_well_mechanism.main(smoke=True, out=tmp_path, part="growth")
    folder = tmp_path / "double_well_mechanism"
    assert [r["arm"] for r in read_rows(folder / "growth.csv")] == ["langevin", "bd_langevin"]
    assert len(read_rows(folder / "growth_mechanism.csv")) == 1 and (folder / "growth.md").stat().st_size > 0


@pytest.mark.slow
def test_double_well_arm_stopped_once_settled_reads_as_the_capped_run(monkeypatch):
    """An arm that stops after the first chunk in which every seed is within tol of m* gives the τ, interval and
    first crossings of the same arm run to its cap (every bootstrap resample had reached m* by then)."""
    import jax

    from experiments.sampling import double_well_mechanism as study

    rows = {}
    with jax.enable_x64(True):
        for chunk in (50, 10**6):
            monkeypatch.setattr(study, "CHUNK", chunk)
            rows[chunk] = study.run_arm("both", 200, 3.0, "bd_langevin", 3.0, 3, np.random.default_rng(0))[0]
    stopped, capped = rows[50], rows[10**6]
    assert stopped["t_end"] < 3.0 == capped["t_end"]
    keys = ("tau", "tau_lo", "tau_hi", "first_cross_median", "first_cross_lo", "first_cross_hi", "never_crossed")
    assert {k: stopped[k] for k in keys} == {k: capped[k] for k in keys}
