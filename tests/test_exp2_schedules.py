"""The experiment-2 schedule study (experiments/exp2_schedules/): its speed-up and schedules, and the smoke run."""

import numpy as np
import pytest

from experiments.common import read_rows
from experiments.exp2_schedules import core, study
from experiments.exp2_schedules.__main__ import main


def test_speedup_interpolates_log_energy_between_records():
    t = np.array([0.0, 10, 20, 30])
    gd = np.exp(-t / 10)[None, :]  # log E linear in t: the interpolation is exact
    arm = np.full(3, np.exp(-1.5))  # GD reaches it at t = 15
    assert core.speedup(t, gd, arm, 5.0) == pytest.approx((3.0, False))
    assert core.speedup(t, gd, np.full(3, 1e-9), 10.0) == (3.0, True)  # never reached: the bound 30/10


def test_schedules_are_the_named_rates():
    rate, quench_after = core.alpha_of(2.0, ("quench", 0.2), 100)
    assert (rate, quench_after) == (2.0, 80)
    cosine, none = core.alpha_of(2.0, ("cosine", 0.0), 100)
    assert none is None and float(cosine(0)) == pytest.approx(2.0) and float(cosine(100)) == pytest.approx(0.0)
    assert float(cosine(50)) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="unknown schedule"):
        core.alpha_of(1.0, ("linear", 0.0), 10)


def test_grid_runs_fresh_only_where_asked():
    arms = study.arms(study.FULL)
    fresh = {(a["alpha"], a["scheme"], study.schedule_name(a["schedule"])) for a in arms if a["gradient"] == "fresh"}
    assert (1.0, "A", "cosine") in fresh and (0.1, "A", "cosine") not in fresh and (10.0, "A", "constant") in fresh
    assert len(arms) == 3 * 4 * 2 + len(fresh)


@pytest.mark.slow
def test_smoke_run_writes_its_tables_and_figure(tmp_path):
    main(["--smoke", "--results", str(tmp_path / "results"), "--runs", str(tmp_path / "runs")])
    out = tmp_path / "results"
    rows, curves = read_rows(out / "arms.csv"), read_rows(out / "curves.csv")
    arms = study.arms(study.SMOKE)
    assert len(rows) == len(arms) and {r["scheme"] for r in rows} == {"A", "B"}
    records = {arm: [c for c in curves if c["arm"] == arm] for arm in {c["arm"] for c in curves}}
    assert len(records["GD"]) == 400 / 50 + 1 and all(len(v) == 200 / 50 + 1 for k, v in records.items() if k != "GD")
    assert all(r["finite"] == "True" and 0 < r["energy_end"] < 1 for r in rows)
    for row in rows:  # lineages: B never copies (all 16 stay), A keeps between 1 and n
        assert row["lineages_end"] == 16 if row["scheme"] == "B" else 1 <= row["lineages_end"] <= 16
    assert (out / "energy.png").stat().st_size > 0 and "speedup_end" in (out / "SUMMARY.md").read_text()
