"""Deprecated alias (one release): this module moved to :mod:`mfbd.config.schedules`."""

import sys

from mfbd.config import schedules as _moved

sys.modules[__name__] = _moved
