"""Deprecated alias (one release): this module moved to :mod:`mfbd.runner.rundir`."""

import sys

from mfbd.runner import rundir as _moved

sys.modules[__name__] = _moved
