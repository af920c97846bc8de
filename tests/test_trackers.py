"""The TensorBoard tracker: the event files read back equal the rows written."""

import struct

import numpy as np
import pytest

tensorboardX = pytest.importorskip("tensorboardX")
from tensorboardX.proto import event_pb2  # noqa: E402

from mfbd.trackers import TensorBoard  # noqa: E402


def _records(path):
    """The payloads of a TFRecord file: [u64 length][u32 crc][payload][u32 crc] each."""
    data = path.read_bytes()
    at = 0
    while at < len(data):
        (length,) = struct.unpack("<Q", data[at : at + 8])
        yield data[at + 12 : at + 12 + length]
        at += 12 + length + 4


def read_scalars(folder):
    """{tag: [(step, value), ...]} of every event file under ``folder``."""
    scalars = {}
    for path in sorted(folder.glob("events.out.tfevents.*")):
        for payload in _records(path):
            event = event_pb2.Event.FromString(payload)
            for value in event.summary.value:
                scalars.setdefault(value.tag, []).append((event.step, value.simple_value))
    return scalars


def test_events_read_back_equal_the_rows(tmp_path):
    rng = np.random.default_rng(0)
    rows = [
        {"arm": arm, "seed": seed, "step": step, "time": 0.01 * step, "energy": float(rng.random()), "killed": 3}
        for arm in ("gd", "bd")
        for seed in (0, 1)
        for step in (0, 100, 200)
    ]
    tracker = TensorBoard(tmp_path)
    tracker(rows[:6])  # two chunks, as the runner delivers them
    tracker(rows[6:])
    tracker.close()
    for arm in ("gd", "bd"):
        for seed in (0, 1):
            got = read_scalars(tmp_path / arm / f"seed-{seed}")
            mine = [r for r in rows if r["arm"] == arm and r["seed"] == seed]
            assert set(got) == {"time", "energy", "killed"}
            for column in got:
                expected = [(r["step"], np.float32(r[column])) for r in mine]
                assert [(s, np.float32(v)) for s, v in got[column]] == expected


def test_mfbd_run_tensorboard_events_equal_metrics_csv(tmp_path):
    """`mfbd run exp1_good --smoke --tensorboard DIR` streams every row the runner records: the events read
    back equal metrics.csv, arm by arm and seed by seed (float32, as TensorBoard stores scalars)."""
    import csv

    from mfbd.cli import main

    out, logs = tmp_path / "run", tmp_path / "tb"
    assert main(["run", "exp1_good", "--smoke", "--quiet", "--out", str(out), "--tensorboard", str(logs)]) == 0
    with open(out / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    pairs = {(r["arm"], r["seed"]) for r in rows}
    assert {p.parent.name + "/" + p.name for p in logs.glob("*/seed-*")} == {f"{a}/seed-{s}" for a, s in pairs}
    for arm, seed in pairs:
        mine = [r for r in rows if (r["arm"], r["seed"]) == (arm, seed)]
        got = read_scalars(logs / arm / f"seed-{seed}")
        assert set(got) == set(mine[0]) - {"arm", "seed", "step"}
        for column, events in got.items():
            expected = [(int(r["step"]), np.float32(float(r[column]))) for r in mine]
            assert [(s, np.float32(v)) for s, v in events] == expected, column
