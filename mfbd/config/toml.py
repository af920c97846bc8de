"""TOML documents into frozen dataclasses and back: keys, types and value metadata, one-line errors.

Generic over the schema: :func:`from_table` builds any dataclass whose fields
carry ``choices``/``check`` metadata (:func:`field`) from a TOML table,
naming the nearest valid key on a typo; :func:`toml_table` writes one back.
The one owner of dotted keys (``run.n``, ``arms.bd.alpha``): :func:`flatten`,
:func:`assign` and :func:`apply_overrides` (``--set``, ``[sweep]``, the fingerprint's diff).
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import json
import math
import re
import tomllib
import types
import typing
from pathlib import Path

from mfbd._checks import choice, in_unit_interval, nonnegative, positive

__all__ = [
    "ConfigError",
    "NAME",
    "field",
    "from_table",
    "pick",
    "as_table",
    "coerce",
    "nearest",
    "find",
    "read_toml",
    "apply_overrides",
    "flatten",
    "assign",
    "toml_value",
    "toml_table",
]


class ConfigError(ValueError):
    """A bad config or command-line input; the message is one line naming the fix."""


_CHECKS = {"positive": positive, "nonnegative": nonnegative, "unit_interval": in_unit_interval}


def field(default=dataclasses.MISSING, *, choices=None, check=None):
    """A dataclass field with its allowed values (``choices``) or a named range ``check`` (a key of ``_CHECKS``)."""
    return dataclasses.field(default=default, metadata={"choices": choices, "check": check})


NAME = re.compile(r"^[A-Za-z0-9_-]+$")


def nearest(key, valid):
    close = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else f"valid keys: {', '.join(valid)}"


def _toml_type(value) -> str:
    return {bool: "a boolean", int: "an integer", float: "a float", str: "a string", list: "an array"}.get(
        type(value), "a table" if isinstance(value, dict) else type(value).__name__
    )


def _type_name(tp) -> str:
    if isinstance(tp, types.UnionType):
        return " or ".join(_type_name(t) for t in typing.get_args(tp) if t is not type(None))
    if typing.get_origin(tp) is tuple:  # "a list of integers", "a list of lists of numbers"
        inner = _type_name(typing.get_args(tp)[0]).split(" ", 1)[1]
        return "a list of " + (inner.replace("list", "lists", 1) if inner.startswith("list ") else inner + "s")
    if hasattr(tp, "toml_name"):
        return tp.toml_name
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string"}[tp]


def coerce(value, tp, where):
    """Check ``value`` (from TOML) against the annotation ``tp``; ints are accepted as floats.

    ``tuple[T, ...]`` takes a TOML array of T (nested: an array of arrays), e.g. a matrix.
    """
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{where} must be finite, got {value}")
    if isinstance(tp, types.UnionType):
        for option in typing.get_args(tp):
            if option is type(None):
                continue
            if isinstance(value, dict) and hasattr(option, "from_toml"):  # a table type (a rate schedule)
                return option.from_toml(value, where)
            try:
                return coerce(value, option, where)
            except ConfigError:
                pass
    elif typing.get_origin(tp) is tuple:
        if isinstance(value, list):
            return tuple(coerce(v, typing.get_args(tp)[0], f"{where}[{i}]") for i, v in enumerate(value))
    elif tp is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif isinstance(value, tp):
        return value
    hint = ""
    if isinstance(value, str) and _looks_numeric(value):
        hint = " (write it without quotes)"
    raise ConfigError(f"{where} must be {_type_name(tp)}, got {_toml_type(value)} {value!r}{hint}")


def _looks_numeric(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def as_table(value, where):
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must be a table ([{where}]), got {_toml_type(value)} {value!r}")
    return value


def _check_value(f: dataclasses.Field, value, path: str):
    """The field's ``choices``/``check`` metadata, through the shared checks of :mod:`mfbd._checks`."""
    try:
        if f.metadata.get("choices") is not None:
            choice("value", value, f.metadata["choices"])
        if f.metadata.get("check") is not None and value is not None:
            _CHECKS[f.metadata["check"]](path, value)
    except ValueError as e:
        message = str(e)
        raise ConfigError(message if message.startswith(path) else f"{path}: {message}") from None


def from_table(cls, table: dict, where: str, kinds: tuple[str, dict] | None = None):
    """Instantiate the dataclass ``cls`` from a TOML table, checking keys, types and ranges.

    ``kinds`` is ``(key, registry)`` when ``cls`` was chosen by ``table[key]`` from
    ``registry``: a key that only other entries have is reported as such.
    """
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    for key in table:
        if key not in fields:
            kind, registry = kinds or ("", {})
            owners = [name for name, other in registry.items() if key in {f.name for f in dataclasses.fields(other)}]
            if owners:
                only = ", ".join(map(repr, owners))
                raise ConfigError(f"'{where}.{key}' is not an option of {kind} {table[kind]!r} (only of {only})")
            raise ConfigError(f"unknown key '{where}.{key}'; {nearest(key, list(fields))}")
    values = {}
    for name, f in fields.items():
        path = f"{where}.{name}"
        if name not in table:
            if f.default is dataclasses.MISSING:
                raise ConfigError(f"missing required key '{path}': add `{name} = ...` under [{where}]")
            continue
        value = coerce(table[name], hints[name], path)
        _check_value(f, value, path)
        values[name] = value
    return cls(**values)


def pick(kind: str, table: dict, registry: dict, where: str):
    if kind not in table:
        raise ConfigError(f"missing required key '{where}.{kind}': choose one of {', '.join(map(repr, registry))}")
    choice = table[kind]
    if choice not in registry:
        listed = ", ".join(repr(c) for c in registry)
        raise ConfigError(f"{where}.{kind}: unknown value {choice!r}; choose one of {listed}")
    return registry[choice]


def read_toml(path: Path) -> dict:
    """Parse a TOML file; a syntax error becomes a one-line :class:`ConfigError` with the line number."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"cannot read config {path}: {e.strerror}") from None
    except UnicodeDecodeError as e:
        raise ConfigError(f"cannot read config {path}: not UTF-8 text (byte {e.start}); save it as UTF-8") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path} is not valid TOML: {e}") from None


def find(source: str, configs: dict[str, Path]) -> Path:
    """``source`` as a path to a TOML file, or a name in ``configs`` (the bundled ones)."""
    path = Path(source)
    if path.is_file():
        return path
    if path.exists():
        raise ConfigError(f"{source} is a directory, not a config file (to continue a run use --resume {source})")
    if source in configs:
        return configs[source]
    close = difflib.get_close_matches(source, list(configs), n=1)
    hint = f"did you mean {close[0]!r}?" if close else "see `mfbd list` for the bundled configs"
    raise ConfigError(f"config {source!r} not found: no such file and no bundled config of that name; {hint}")


def flatten(table: dict, prefix: str = "", *, leaf=lambda key: False) -> dict:
    """A TOML document as ``{dotted key: value}``; a table under a key with ``leaf(key)`` stays one value.

    Raises:
      ConfigError: a key given twice, once quoted (``"a.b" = ...``) and once nested (``a.b = ...``).
    """
    out = {}
    for key, value in table.items():
        inner = flatten(value, f"{prefix}{key}.", leaf=leaf) if isinstance(value, dict) and not leaf(key) else None
        for dotted, item in (inner or {f"{prefix}{key}": value}).items():
            if dotted in out:
                raise ConfigError(f"key '{dotted}' is given twice (quoted and as a nested table); keep one of them")
            out[dotted] = item
    return out


def assign(raw: dict, assignments: dict, what: str | None = None) -> dict:
    """A copy of the TOML document ``raw`` with the dotted keys of ``assignments`` set (``what`` starts an error)."""
    raw = copy.deepcopy(raw)
    for key, value in assignments.items():
        parts = key.split(".")
        table = raw
        for i, part in enumerate(parts[:-1]):
            table.pop(".".join(parts[i:]), None)  # the same key written quoted ("a.b" = ...) is replaced
            table = table.setdefault(part, {})
            if not isinstance(table, dict):
                raise ConfigError(f"{what or f'key {key!r}'}: {'.'.join(parts[: i + 1])} is not a table")
        table[parts[-1]] = value
    return raw


def apply_overrides(raw: dict, sets: list[str] | tuple[str, ...]) -> dict:
    """Apply ``--set a.b.c=value`` overrides to a parsed TOML document (a new dict).

    The value is read as a TOML value (``10``, ``1e-3``, ``true``, ``[1, 2]``,
    ``"text"``); a bare word that is not TOML is taken as a string.
    """
    for item in sets:
        key, sep, text = item.partition("=")
        parts = key.strip().split(".")
        if not sep or not all(NAME.match(p) for p in parts):
            raise ConfigError(f"malformed --set {item!r}: write --set section.key=value, e.g. --set run.seeds=20")
        text = text.strip()
        if not text:
            raise ConfigError(f"malformed --set {item!r}: no value after '='")
        try:
            value = tomllib.loads(f"v = {text}")["v"]
        except tomllib.TOMLDecodeError:
            if not NAME.match(text):
                raise ConfigError(f"malformed --set {item!r}: {text!r} is not a TOML value") from None
            value = text
        raw = assign(raw, {".".join(parts): value}, f"malformed --set {item!r}")
    return copy.deepcopy(raw)


def toml_value(value) -> str:
    if hasattr(value, "to_toml"):
        return value.to_toml()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):  # a TOML basic string: JSON's escapes, and DEL escaped too
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} as TOML")


def toml_table(header: str, obj) -> list[str]:
    lines = [f"[{header}]"]
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if value is not None:
            lines.append(f"{f.name} = {toml_value(value)}")
    return lines + [""]
