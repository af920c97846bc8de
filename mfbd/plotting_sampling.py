"""Deprecated alias (one release): this module moved to :mod:`mfbd.plotting.sampling`."""

import sys

from mfbd.plotting import sampling as _moved

sys.modules[__name__] = _moved
