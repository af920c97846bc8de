"""Deprecated alias (one release): moved to :mod:`mfbd.runner.checkpoint` and :mod:`mfbd.runner.rundir`."""

from mfbd.runner.checkpoint import FORMAT, check, fingerprint
from mfbd.runner.rundir import config_text

__all__ = ["FORMAT", "fingerprint", "check", "config_text"]
