"""Smoke versions of the issue-23 studies (experiments/time_order/): time to tolerance on experiment 2."""

import jax
import numpy as np
import pytest

from experiments.time_order import tolerance


@pytest.mark.slow  # about 10 s of CPU, a dozen compilations
def test_time_to_tolerance_on_experiment_2_smoke(capsys):
    with jax.enable_x64(True):
        tables = tolerance.tolerance_exp2(8, 2.0, 1.0, kmax=3, jmax=2, reference_steps=32)
    assert set(tables) == {"GD", "B (α = 1)"}
    for rows in tables.values():
        assert rows and all(np.isfinite(err) and err <= target for (_, target), (_, _, err) in rows.items())
        assert ("adaptive", 1e-2) in rows  # rtol = 1e-2 meets 1e-2 even on this small case
    out = capsys.readouterr().out
    assert out.count("| target | method |") == 2


def test_order_figure_round_trips_its_table_and_draws(tmp_path):
    from experiments.time_order import figures

    rows = [dict(panel=p, series=f"{p} o{o}", order=o, dt=dt, error=3.0 * dt**o) for p in ("a", "b") for o in (1, 2)
            for dt in (0.1, 0.05, 0.025)]  # fmt: skip
    figures.write_table(rows, tmp_path / "t.csv")
    back = figures.read_table(tmp_path / "t.csv")
    assert [(r["panel"], r["series"], int(r["order"]), r["dt"], r["error"]) for r in back] == [
        (r["panel"], r["series"], r["order"], r["dt"], r["error"]) for r in rows
    ]
    figures.main([str(tmp_path / "t.csv"), str(tmp_path / "t.png")])
    assert (tmp_path / "t.png").stat().st_size > 10_000


@pytest.mark.slow  # a few compilations
def test_transfer_cost_and_pde_tolerance_smoke(capsys):
    from experiments.time_order import transfer

    with jax.enable_x64(True):
        rows = transfer.cost(0.25, 2, 8, 5.0, 1.0, 4, 10.0, 1)
        tolerance.pde_tolerance(shape=(8, 10), horizon=0.05, rtols=(1e-2,))
    assert [r[0] for r in rows] == ["t = 0", "t = 10"] and all(r[1] >= 1 and r[2] >= 1 and r[3] > 0 for r in rows)
    out = capsys.readouterr().out
    assert "CPU-time ratio with/without" in out and "adaptive rtol=1e-02: rel err" in out
