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
