"""The version of mfbd, without importing the package's modules (the run directory records it)."""

import importlib.metadata
import pathlib
import tomllib


def _version() -> str:
    """The installed distribution's version, or pyproject.toml's in an uninstalled source tree."""
    try:
        return importlib.metadata.version("mfbd")
    except importlib.metadata.PackageNotFoundError:
        pyproject = pathlib.Path(__file__).resolve().parents[1] / "pyproject.toml"
        if pyproject.is_file():
            return tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["version"]
        return "0+unknown"


__version__ = _version()
