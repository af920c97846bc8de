"""The sampling studies of issue 25 (equal cost, covariance bias): their bookkeeping and quick smoke runs."""

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
@pytest.mark.parametrize("study", ["covariance_bias"])  # equal_cost --quick compiles 16 programs: 468 s at load 10
def test_sampling_study_smoke(tmp_path, study):
    import importlib

    import jax

    from experiments.common import read_rows

    with jax.enable_x64(True):
        importlib.import_module(f"experiments.sampling.{study}").main(quick=True, out=tmp_path)
    name = {"equal_cost": "equal_cost.csv", "covariance_bias": "table.csv"}[study]
    rows = read_rows(tmp_path / study / name)
    assert rows and (tmp_path / study / "table.md").stat().st_size > 0
