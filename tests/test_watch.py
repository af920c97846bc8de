"""The warning on a sharp energy rise (mfbd.runner.watch): which record, which entry, and when it is silent."""

import numpy as np

from mfbd.runner.watch import RISE, Watch, first_rise


def test_first_rise_finds_the_first_record_above_the_factor():
    energy = np.array([[1.0, 0.5, 0.4, 0.3], [1.0, 0.9, 9.1, 200.0]])  # entry 1: ×10.1 at record 2
    assert first_rise(None, energy) == (1, 2, 9.1 / 0.9)
    assert first_rise(None, energy, factor=11.0) == (1, 3, 200.0 / 9.1)
    assert first_rise(np.array([0.01, 1.0]), energy) == (0, 0, 100.0)  # against the previous chunk's last record
    assert first_rise(None, np.array([[1.0, 9.9, 98.0]])) is None  # ×9.9 each: below the factor
    assert first_rise(None, np.array([[-1.0, 5.0], [0.0, 3.0]])) is None  # only from a positive energy
    assert first_rise(None, np.array([[1.0, 50.0, np.nan]])) is None  # going non-finite: its failure says so


def test_watch_warns_once_per_arm_naming_seed_and_steps_and_is_silent_in_sampling_mode():
    watch = Watch(True)
    step = np.array([[10, 20], [10, 20]])
    watch.last["bd"] = np.array([1.0, 1.0])
    watch.check("bd", {"step": step, "energy": np.array([[0.9, 0.8], [0.9, 12.0]])}, lambda b: f"(seed {b + 5})")
    watch.check("bd", {"step": step + 20, "energy": np.array([[0.9, 80.0], [0.9, 1e3]])}, lambda b: "again")
    assert list(watch.warnings) == ["bd"]
    message = watch.warnings["bd"]
    assert message.startswith("warning: arm 'bd' (seed 6): the energy rose 13.3× from step 10 to step 20")
    assert f"more than {RISE:g}× over one record interval" in message and "try halving dt (or alpha)" in message
    silent = Watch(False)
    silent.check("kl", {"step": step, "energy": np.array([[0.1, 5.0], [0.1, 5.0]])}, str)
    assert silent.warnings == {}
