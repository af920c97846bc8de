"""Deprecated alias (one release): this module moved to :mod:`mfbd.plotting.sweep`."""

import sys

from mfbd.plotting import sweep as _moved

sys.modules[__name__] = _moved
