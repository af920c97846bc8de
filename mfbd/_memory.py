"""Deprecated alias (one release): this module moved to :mod:`mfbd.runner.plan`."""

import sys

from mfbd.runner import plan as _moved

sys.modules[__name__] = _moved
