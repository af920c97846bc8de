"""config.shrink (the one smoke switch, ``--smoke``) on a sweep: a swept run.steps, run.n or run.seeds is shrunk
by the same rule as an unswept one (its smallest value becomes the smoke size, the others keep their ratio)."""

import pytest
from conftest import SMALL_GD

from mfbd.config import Sweep, load, read, shrink
from mfbd.config.sweep import value_of

BASE = SMALL_GD.replace("steps = 40\nn = 16", "steps = 400\nn = 100\nseeds = 4\nrecord_every = 10")
CASES = {  # key: swept values, their shrunk values (steps 40, n 16, seeds 2)
    "run.steps": ("[400, 800, 1200]", (40, 80, 120)),
    "run.n": ("[100, 200, 50]", (32, 64, 16)),
    "run.seeds": ("[4, 8]", (2, 4)),
}


@pytest.mark.parametrize("key", CASES)
def test_a_swept_size_keeps_its_ratios_and_its_smallest_value_is_the_smoke_size(key, tmp_path):
    swept, expected = CASES[key]
    path = tmp_path / "s.toml"
    path.write_text(f'{BASE}\n[sweep]\n"{key}" = {swept}\n')
    small = shrink(read(str(path)))
    assert isinstance(small, Sweep)
    count = (lambda c: len(c.run.seed_list)) if key == "run.seeds" else (lambda c: value_of(c, key))
    assert tuple(count(c) for c in small.configs) == expected
    assert tuple(p[0] for p in small.points) == expected == small.values[0]  # sweep.csv shows the shrunk values
    for other, size in {"run.steps": 40, "run.n": 16, "run.seeds": 2}.items():  # unswept: the plain smoke size
        if other != key:
            sizes = {len(c.run.seed_list) if other == "run.seeds" else value_of(c, other) for c in small.configs}
            assert sizes == {size}
    assert Sweep.loads(small.dumps(), "s").configs == small.configs  # the written config re-reads to the same


@pytest.mark.parametrize("key", CASES)
def test_a_sweep_of_one_value_shrinks_as_the_plain_config(key, tmp_path):
    """The rule is the unswept rule: a swept key with the base's own value gives the plain config's shrink."""
    value = {"run.steps": 400, "run.n": 100, "run.seeds": 4}[key]
    (tmp_path / "plain").mkdir()
    plain = tmp_path / "plain" / "s.toml"
    plain.write_text(BASE)
    path = tmp_path / "s.toml"
    path.write_text(f'{BASE}\n[sweep]\n"{key}" = [{value}]\n')
    assert shrink(read(str(path))).configs == (shrink(load(str(plain))),)


def test_a_list_of_seeds_keeps_its_first_ones(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(f'{BASE}\n[sweep]\n"run.seeds" = [[5, 6, 7, 8], [9, 10, 11, 12, 13, 14, 15, 16]]\n')
    small = shrink(read(str(path)))
    assert [c.run.seed_list for c in small.configs] == [(5, 6), (9, 10, 11, 12)]
