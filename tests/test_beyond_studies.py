"""Smoke run of the mean-field Langevin torus study (issue 26): one vmapped program, finite records."""

import numpy as np

from experiments.beyond import mfl_torus


def test_mfl_torus_smoke():
    arms, trace = mfl_torus.main(["--smoke"])
    assert arms.shape == (2 * len(mfl_torus.ARMS),)
    assert trace["energy"].shape == (arms.size, 100 // mfl_torus.EVERY + 1)
    noisy = arms < len(mfl_torus.TAUS)
    assert np.isfinite(trace["energy"]).all() and np.isfinite(trace["entropy"][noisy]).all()
    assert trace["energy"].min() >= -1e-6  # ½MMD² ≥ 0
