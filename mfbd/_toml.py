"""Deprecated alias (one release): this module moved to :mod:`mfbd.config.toml`."""

import sys

from mfbd.config import toml as _moved

sys.modules[__name__] = _moved
