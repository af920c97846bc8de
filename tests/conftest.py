"""Test session set-up: float64 available (tests choose their dtype explicitly)."""

import jax

jax.config.update("jax_enable_x64", True)
