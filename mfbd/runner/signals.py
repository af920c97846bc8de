"""Ctrl-C and SIGTERM during a run: remembered, so the loop checkpoints after the chunk in progress."""

from __future__ import annotations

import signal
import threading

__all__ = ["Sigint"]


class Sigint:
    """Ctrl-C and SIGTERM that are never lost: SIGINT raises KeyboardInterrupt as usual and is also
    remembered, so one whose KeyboardInterrupt is swallowed where it is raised (inside JAX's C++ or
    garbage-collector callbacks, jax-ml/jax#18246) still stops the session after the chunk in progress
    (:meth:`check`). SIGTERM (a scheduler's pre-emption, SLURM's ``--signal``) is handled the same way and
    remembered as ``terminated``. Installed only over the default handlers, in the main thread: a process
    started with SIGINT ignored (``nohup``, a background job) keeps ignoring it, and a caller's own handler
    is left alone."""

    DEFAULTS = {signal.SIGINT: signal.default_int_handler, signal.SIGTERM: signal.SIG_DFL}

    def __init__(self):
        self.pending, self.terminated, self.previous = False, False, {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for signum, default in self.DEFAULTS.items():
                if signal.getsignal(signum) is default:
                    self.previous[signum] = signal.signal(signum, self._handle)
        return self

    def _handle(self, signum, frame):
        self.pending = True
        self.terminated |= signum == signal.SIGTERM
        raise KeyboardInterrupt

    def check(self):
        if self.pending:
            raise KeyboardInterrupt

    def __exit__(self, *exc):
        for signum, previous in self.previous.items():
            signal.signal(signum, previous)
        self.previous = {}
