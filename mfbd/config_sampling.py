"""Deprecated alias (one release): this module moved to :mod:`mfbd.config.sampling`."""

import sys

from mfbd.config import sampling as _moved

sys.modules[__name__] = _moved
