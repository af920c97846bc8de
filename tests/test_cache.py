"""The persistent compilation cache switch (mfbd._cache): directory rules, the off switch, an entry written."""

import jax
import jax.numpy as jnp
from jax.experimental.compilation_cache import compilation_cache

from mfbd._cache import DIR_ENV, DISABLE_ENV, default_cache_dir, enable_compilation_cache

SETTINGS = (
    "jax_compilation_cache_dir",
    "jax_persistent_cache_min_compile_time_secs",
    "jax_persistent_cache_min_entry_size_bytes",
)


def test_cache_directory_switch_and_entries(tmp_path, monkeypatch):
    before = {name: getattr(jax.config, name) for name in SETTINGS}
    try:
        monkeypatch.setenv(DISABLE_ENV, "1")
        assert enable_compilation_cache(tmp_path / "off") is None and not (tmp_path / "off").exists()
        monkeypatch.delenv(DISABLE_ENV)
        monkeypatch.delenv(DIR_ENV, raising=False)
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
        assert default_cache_dir() == tmp_path / "xdg" / "mfbd" / "jax"
        monkeypatch.setenv(DIR_ENV, str(tmp_path / "env"))
        assert default_cache_dir() == tmp_path / "env"
        folder = enable_compilation_cache(tmp_path / "on")
        assert folder == tmp_path / "on" and folder.is_dir()
        assert jax.config.jax_compilation_cache_dir == str(folder)
        jax.jit(lambda x: jnp.cumsum(x * 3.0 + 1.0))(jnp.arange(7.0)).block_until_ready()
        assert any(folder.iterdir())  # the compiled program was written
    finally:
        for name, value in before.items():
            jax.config.update(name, value)
        compilation_cache.reset_cache()
