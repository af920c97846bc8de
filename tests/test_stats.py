"""mfbd.stats on constructed curves whose time-to-target is known in closed form.

E_ref = e^{-t}, E_arm = e^{-2t} (per seed e^{-a_s t}): log E is linear in t, so the
log-linear interpolation between records is exact, and every time-to-target is known.
"""

import numpy as np
import pytest

from mfbd import stats

T = np.linspace(0.0, 10.0, 21)  # records every 0.5
SEEDS = 6


def curves(rates_arm, rate_ref=1.0):
    arm = np.exp(-np.outer(rates_arm, T))
    ref = np.exp(-rate_ref * np.outer(np.ones(len(rates_arm)), T))
    return arm, ref


def by(rows, c, direction):
    (row,) = [r for r in rows if r.checkpoint == c and r.direction == direction]
    return row


def test_known_time_to_target_in_each_unit_and_direction():
    arm, ref = curves(np.full(SEEDS, 2.0))
    # Units: mean-field time; oracle passes (the arm costs 3 passes per unit time, the reference 1);
    # wall-clock (the arm 1.5 s per unit time, the reference 1 s, plus 0.2 s of compilation each).
    units = {
        "time": (T, T, 2.0),
        "passes": (3 * T, T, 2.0 / 3),
        "wall": (0.2 + 1.5 * T, 0.2 + T, None),
    }
    for name, (x_arm, x_ref, expected) in units.items():
        c = 2.2 if name == "wall" else 3.0  # a checkpoint between records in the wall unit
        rows = stats.compare(x_arm, arm, x_ref, ref, [c], bootstrap=200)
        # arm reaches E_ref(c): the reference's time is t = x_ref⁻¹(c), the arm's t/2.
        t_ref = (c - 0.2) if name == "wall" else c
        want = {"time": c / (c / 2), "passes": c / (3 * c / 2), "wall": (0.2 + t_ref) / (0.2 + 1.5 * t_ref / 2)}
        row = by(rows, c, "arm_reaches_reference")
        np.testing.assert_allclose(row.per_seed, want[name], rtol=1e-12, err_msg=name)
        if expected is not None:
            np.testing.assert_allclose(row.ratio, expected, rtol=1e-12)
        assert row.bound is None and row.censored == 0 and row.failed == 0
        # the reference reaches E_arm(c): the arm at t_a = x_arm⁻¹(c), the reference at 2 t_a.
        t_a = {"time": c, "passes": c / 3, "wall": (c - 0.2) / 1.5}[name]
        want = {"time": 2 * c / c, "passes": 2 * t_a / c, "wall": (0.2 + 2 * t_a) / c}
        np.testing.assert_allclose(by(rows, c, "reference_reaches_arm").per_seed, want[name], rtol=1e-12)


def test_bootstrap_interval_holds_the_geometric_mean_and_is_reproducible():
    rates = np.array([1.5, 2.0, 2.5, 3.0, 1.8, 2.2])
    arm, ref = curves(rates)
    rows = stats.compare(T, arm, T, ref, [2.0], seed=3)
    row = by(rows, 2.0, "arm_reaches_reference")
    np.testing.assert_allclose(row.per_seed, rates, rtol=1e-12)  # T_ref/T_arm = c / (c/a)
    np.testing.assert_allclose(row.ratio, np.exp(np.mean(np.log(rates))), rtol=1e-12)
    assert rates.min() < row.low < row.ratio < row.high < rates.max()
    again = by(stats.compare(T, arm, T, ref, [2.0], seed=3), 2.0, "arm_reaches_reference")
    assert (again.low, again.high) == (row.low, row.high)


def test_censored_reference_gives_a_flagged_lower_bound():
    arm, ref = curves(np.full(SEEDS, 2.0))
    # E_arm(8) = e^{-16}; the reference would need t = 16 but stops at 10: ratio ≥ 10/8.
    row = by(stats.compare(T, arm, T, ref, [8.0]), 8.0, "reference_reaches_arm")
    assert row.bound == "lower" and row.censored == SEEDS
    np.testing.assert_allclose(row.ratio, 10.0 / 8.0, rtol=1e-12)


def test_censored_arm_gives_a_flagged_upper_bound_and_a_failing_seed_is_counted():
    rates = np.full(SEEDS, 2.0)
    arm, ref = curves(rates)
    arm[0] = np.maximum(arm[0], 1e-3)  # seed 0 stalls at 1e-3, above the reference's end e^{-10}
    arm[1, -3:] = np.nan  # seed 1 goes non-finite
    rows = stats.compare(T, arm, T, ref, [9.0, 10.0], chosen_from=16)
    row = by(rows, 9.0, "arm_reaches_reference")
    assert row.failed == 2 and row.chosen_from == 16 and row.seeds == SEEDS
    assert row.bound == "upper" and row.censored == 1  # seed 0 never reaches e^{-9}; seed 1 did before the NaN
    np.testing.assert_allclose(row.per_seed[0], 9.0 / 10.0)
    np.testing.assert_allclose(row.per_seed[1:], 2.0, rtol=1e-12)
    assert np.isnan(by(rows, 10.0, "reference_reaches_arm").ratio)  # seed 1 has no energy at t = 10


def test_a_longer_reference_is_compared_at_the_arm_s_end():
    arm, ref = curves(np.full(SEEDS, 2.0))
    arm[:, 11:] = arm[:, 10:11]  # the arm stalls at e^{-10} from t = 5 on, equal to the reference at t = 10
    long_t = np.linspace(0.0, 40.0, 81)
    long_ref = np.exp(-np.outer(np.ones(SEEDS), long_t))  # GD to t = 40 ends at e^{-40}, far below the arm
    (row, _) = stats.compare(T, arm, long_t, long_ref, [5.0])
    assert row.failed == 0  # at the arm's end (t = 10) the reference is at e^{-10}, not below the arm


def test_paired_seed_counts_must_match():
    arm, ref = curves(np.full(3, 2.0))
    with pytest.raises(ValueError, match="paired seeds"):
        stats.compare(T, arm, T, ref[:2], [1.0])
