"""The README's quickstart runs as written, and its test command is the one CI runs."""

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _blocks(lang):
    return re.findall(rf"```{lang}\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)


def test_functional_quickstart_runs(capsys):
    (code,) = _blocks("python")
    assert 10 <= len(code.strip().splitlines()) <= 16
    exec(compile(code, "README.md", "exec"), {})
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == ["GD", "GD+BD", "GD+RW"]


def test_ci_runs_the_readme_test_command():
    setup = _blocks("bash")[:2]
    test_command = setup[1].strip().split("&&")[-1].strip().replace(".venv/bin/", "")
    assert test_command == "python -m pytest -n 2"  # the whole suite on 2 worker processes (pytest-xdist)
    assert test_command in (ROOT / ".ci" / "run").read_text().splitlines()
