"""``python -m mfbd``: the same as the ``mfbd`` command."""

from mfbd.cli import entry

entry()
