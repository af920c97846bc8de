"""Deprecated alias (one release): this module moved to :mod:`mfbd.plotting._common`."""

import sys

from mfbd.plotting import _common as _moved

sys.modules[__name__] = _moved
