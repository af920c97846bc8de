"""Deprecated alias (one release): this module moved to :mod:`mfbd.config.user`."""

import sys

from mfbd.config import user as _moved

sys.modules[__name__] = _moved
