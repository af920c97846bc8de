"""Packaging: one version, the licence and type marker ship, and the sdist carries a test suite that runs."""

import os
import pathlib
import site
import subprocess
import sys
import tarfile
import tomllib

import pytest

import mfbd

ROOT = pathlib.Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
#: Folders whose tracked files must all be in the sdist (the suite imports or reads them).
SHIPPED = ("mfbd", "tests", "experiments", "docs")


def test_version_comes_from_pyproject():
    assert mfbd.__version__ == PYPROJECT["project"]["version"]


def test_licence_and_type_marker_ship():
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    assert (ROOT / "mfbd" / "py.typed").is_file()
    assert "py.typed" in PYPROJECT["tool"]["setuptools"]["package-data"]["mfbd"]


def _tracked_files() -> list[str]:
    out = subprocess.run(["git", "ls-files", "--", *SHIPPED], cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        pytest.skip("not a git checkout: cannot list the tracked files")
    return [p for p in out.stdout.splitlines() if (ROOT / p).is_file() and not (ROOT / p).is_symlink()]


def _run(args, cwd, **kw):
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=600, **kw)
    command = " ".join(map(str, args))
    assert result.returncode == 0, f"{command} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


@pytest.mark.slow
def test_sdist_is_complete_and_its_tests_run_against_the_installed_package(tmp_path):
    """Build the sdist, unpack it, install it into a fresh venv and run tests from the unpacked tree.

    The venv sees this interpreter's site-packages (jax, pytest, ...) and the
    unpacked tree (for ``experiments``) through a ``.pth`` file, *after* its own
    site-packages, and Python runs with ``-P``, so ``import mfbd`` is the
    installed copy, not the tree's.
    """
    tracked = _tracked_files()
    _run([sys.executable, "-m", "build", "--sdist", "--outdir", tmp_path / "dist", ROOT], cwd=ROOT)
    (sdist,) = (tmp_path / "dist").glob("mfbd-*.tar.gz")
    with tarfile.open(sdist) as tar:
        tar.extractall(tmp_path, filter="data")
    tree = tmp_path / sdist.name.removesuffix(".tar.gz")
    shipped = {str(p.relative_to(tree)) for p in tree.rglob("*") if p.is_file()}
    missing = sorted(set(tracked) - shipped)
    assert not missing, f"the sdist lacks {missing[:10]}"
    assert {"LICENSE", "CHANGELOG.md", "README.md", ".ci/run"} <= shipped

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", venv], cwd=tmp_path)
    python = venv / "bin" / "python"
    purelib = _run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], cwd=tmp_path).strip()
    paths = [*site.getsitepackages(), str(tree)]
    (pathlib.Path(purelib) / "_parent_env.pth").write_text("\n".join(paths) + "\n")
    _run([python, "-m", "pip", "install", "--quiet", "--no-deps", sdist], cwd=tmp_path)

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONSAFEPATH", "PYTEST_ADDOPTS")}
    where = _run([python, "-P", "-c", "import mfbd; print(mfbd.__file__); print(mfbd.__version__)"], cwd=tree, env=env)
    location, version = where.split()
    assert pathlib.Path(location).is_relative_to(venv) and version == PYPROJECT["project"]["version"]
    assert pathlib.Path(location).with_name("py.typed").is_file()

    pytest_args = [python, "-P", "-m", "pytest", "-p", "no:cacheprovider", "-o", "pythonpath=", "-q", "-m", "not slow"]
    _run([*pytest_args, "--collect-only"], cwd=tree, env=env)  # every test module imports from the sdist
    ran = _run([*pytest_args, "-x", "tests/problems/test_gaussian_mixture.py"], cwd=tree, env=env)
    assert " passed" in ran and "failed" not in ran


def test_chex_is_a_test_dependency_only():
    """chex serves the tests: it is in the dev extra, not a runtime dependency, and mfbd never imports it."""
    runtime = " ".join(PYPROJECT["project"]["dependencies"])
    assert "chex" not in runtime
    assert any(req.startswith("chex") for req in PYPROJECT["project"]["optional-dependencies"]["dev"])
    importers = [p for p in (ROOT / "mfbd").rglob("*.py") if "import chex" in p.read_text(encoding="utf-8")]
    assert importers == []
