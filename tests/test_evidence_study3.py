"""Study 3 of issue 21 in experiments/evidence: the ICML-regime rows on constructed traces with a known speed-up in
each unit and a failing seed, the energy table, and a smoke run of ``python -m experiments.evidence icml``."""

import dataclasses

import jax
import numpy as np
import pytest

from experiments.evidence import icml


def _traces():
    """GD: E = e^{-0.1 t}; the arm e^{-0.2 t} (2x faster in time and wall), two passes per step (level in passes);
    seed 2 of the arm stalls from t = 8 and ends above GD (a failing seed, whose ratios stay 2 up to t = 8)."""
    t = np.tile(np.arange(21.0), (3, 1))
    arm = np.exp(-0.2 * t)
    arm[2, 8:] = arm[2, 8]
    gd = {"time": t, "passes": t + 1, "wall": t[0], "population_energy": np.exp(-0.1 * t), "killed": 0 * t}
    return {"GD": gd, "X": {"time": t, "passes": 2 * t + 1, "wall": t[0], "population_energy": arm, "killed": t > 0}}


def test_compare_rows_recover_the_known_ratio_in_every_unit_and_count_the_failing_seed():
    rows, per_seed = icml.compare_rows(_traces(), (4, 8), (10, 11, 12), 1)
    assert len(rows) == 3 * 2 * 2 and len(per_seed) == 3 * len(rows)
    expected = {"time": 2.0, "oracle passes": 1.0, "wall-clock s": 2.0}
    for r in rows:
        assert r["ratio"] == pytest.approx(expected[r["unit"]], rel=1e-9), r
        assert (r["failed"], r["seeds"], r["bound"]) == (1, 3, "")
    assert {p["seed"] for p in per_seed} == {10, 11, 12}
    wide = icml.wide_table(rows)
    assert [(w["arm"], w["GD step"]) for w in wide] == [("X", 4), ("X", 8)]
    assert wide[0]["arm→GD time"].startswith("2.00 [2.00, 2.00]") and wide[0]["failed time"] == "1/3"


def test_energy_table_gives_checkpoint_means_and_paired_ends():
    rows = icml.energy_table(_traces(), (10, 20), 1)
    gd, arm = rows
    assert gd["step 10"].startswith(f"{np.exp(-1.0):.3e} ± 0.0")
    assert arm["below GD at end"] == "2/3" and gd["below GD at end"] == "0/3"
    assert arm["non-finite"] == 0 and float(arm["kills per step"]) == pytest.approx(1.0)


@pytest.mark.slow
def test_icml_smoke_run_writes_its_tables(tmp_path):
    sizes = dataclasses.replace(icml.SMOKE, steps=200, chunk=100, checkpoints=(100, 200))
    with jax.enable_x64(True):  # as python -m experiments.evidence: the study itself runs in float32
        labels = {"gd": "GD", "bd_swapped": "GD+BD swapped"}  # two of the three arms: two compilations
        summary = icml.run_study("exp2_icml_gaussian", ["problem.inputs=gaussian"], sizes, tmp_path, labels)
    assert set(summary["passes_end"]) == {"GD", "GD+BD swapped"}
    assert all(p == 201.0 for p in summary["passes_end"].values())  # one oracle pass per step in every arm
    saved = np.load(tmp_path / "traces.npz")
    assert saved["GD/population_energy"].dtype == np.float32 and saved["GD/population_energy"].shape == (2, 3)
    e64 = saved["GD/population_energy_f64"]  # the same states' E in float64, every chunk (here every record)
    assert e64.dtype == np.float64 and e64.shape == (2, 3)
    np.testing.assert_allclose(e64, saved["GD/population_energy"], rtol=1e-5)
    assert len((tmp_path / "wide.md").read_text().splitlines()) == 2 + 2  # header, rule, two checkpoints


@pytest.mark.slow
def test_sgd_round_writes_its_tables_and_counts_one_pass_per_step(tmp_path):
    """``python -m experiments.evidence sgd`` through :func:`exp2_fresh.run_rounds` (shared with exp2-fresh) on a
    tiny round: GD (to 2T) and scheme B make one pass per step plus the initial one; E at T is read at T."""
    from experiments.evidence import exp2_fresh, sgd
    from mfbd.simulate import state_energy

    sizes = dataclasses.replace(sgd.SMOKE, seeds=(100, 101), horizons=(40.0,), record_time=10.0)
    prob, exact = sgd.problems(sizes.batch)

    def schemes_for(horizon):  # GD and B only: two compilations
        schemes, steps = exp2_fresh.arms(prob, sizes, horizon)
        keep = [k for k in schemes if k == "GD" or k.startswith("B ") and "max_transfer" not in k]
        return {k: schemes[k] for k in keep}, {k: steps[k] for k in keep}

    with jax.enable_x64(True):
        summary = exp2_fresh.run_rounds(prob, sizes, tmp_path, sgd.KEYS, schemes_for, state_energy(exact))
    finals = summary["arms"]
    assert {k.split(" ")[0] for k in finals} == {"GD", "B"}
    for arm in finals.values():
        assert arm["passes_end"] == arm["steps"] + 1 and arm["non_finite_seeds"] == 0
    saved = np.load(tmp_path / "traces_T40.npz")
    gd_key = next(k for k in finals if k.startswith("GD"))
    at_t = saved["GD/state_energy"][:, list(saved["GD/time"][0]).index(40.0)]
    assert finals[gd_key]["energy_at_T_geomean"] == pytest.approx(np.exp(np.mean(np.log(at_t))), rel=1e-12)
    assert (tmp_path / "compare.csv").exists() and (tmp_path / "wide.md").exists()
