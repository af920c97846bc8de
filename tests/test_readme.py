"""The README's quickstart runs as written, and its test command is the one CI runs."""

import pathlib
import re

import pytest

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


def _commands():
    """Every `mfbd ...` command of the README's command-line quickstart and of `mfbd --help` and
    `mfbd run --help`, comments stripped, as argument lists (without the leading `mfbd`)."""
    import shlex

    from mfbd.cli import EXAMPLES, RUN_EXAMPLES

    text = re.search(r"## Command-line quickstart\n+```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.S)[1]
    lines = [*text.splitlines(), *EXAMPLES.splitlines(), *RUN_EXAMPLES.splitlines()]
    commands = []
    for line in lines:
        if line.strip().startswith("mfbd "):  # the command ends where two spaces start its comment
            commands.append(shlex.split(re.split(r"\s{2,}", line.strip())[0])[1:])
    return commands


@pytest.mark.slow
def test_every_readme_and_help_command_exits_0_with_smoke(tmp_path, monkeypatch):
    """Each command with --smoke appended to `mfbd run CONFIG` (a run that a later --resume continues is
    interrupted after its first chunk first); `my_experiment.toml` is a copy of exp1_good."""
    from mfbd import cli
    from mfbd.config import bundled

    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(ROOT))  # examples/ as a package, as from a clone
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    (tmp_path / "my_experiment.toml").write_text(pathlib.Path(bundled()["exp1_good"]).read_text())
    commands = _commands()
    resumed = {c[c.index("--resume") + 1] for c in commands if "--resume" in c}
    assert len(commands) >= 20 and {"runs/bad", "runs/try", "runs/bad32"} <= resumed
    done = set()
    for command in commands:
        argv = list(command)
        if argv[0] == "run" and "--resume" not in argv:
            argv.append("--smoke")
        out = argv[argv.index("--out") + 1] if "--out" in argv else None
        same = tuple(w for i, w in enumerate(argv) if "--out" not in argv[max(i - 1, 0) : i + 1])
        if same in done and out not in resumed:
            continue  # the same command in the README and in --help (but for its --out): run once
        stop = out in resumed

        def interrupt(arm, step, steps):
            raise KeyboardInterrupt

        with monkeypatch.context() as m:
            if stop:
                m.setattr(cli, "_bar", lambda reporter, quiet, tensorboard=None: interrupt)
            code = cli.main(argv)
        assert code == (130 if stop else 0), argv
        done.add(same)
