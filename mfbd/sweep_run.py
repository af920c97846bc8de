"""Deprecated alias (one release): a sweep runs through :func:`mfbd.runner.run` and :func:`mfbd.runner.resume`
(the one loop, :mod:`mfbd.runner.loop`); the command's report is :func:`mfbd.cli.run_config`."""

import sys

from mfbd import runner as _moved

sys.modules[__name__] = _moved
