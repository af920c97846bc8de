"""Examples of a researcher's own problem run by ``mfbd run`` (see :mod:`mfbd.config.user`)."""
