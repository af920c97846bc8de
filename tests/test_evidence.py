"""The pure pieces of experiments/evidence: the stability rule of the Δt ladder and the late-time fits."""

import numpy as np

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
