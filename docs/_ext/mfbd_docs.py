"""Pages generated from the code at build time, so that they cannot drift from it.

* ``.. mfbd-config-schema::`` walks the frozen dataclasses of :mod:`mfbd.config`
  from :class:`mfbd.config.Config` down: one table per TOML table, one row per
  key with its type, default, allowed values and meaning. The meaning is the
  field's ``doc`` metadata, else the entry of the same name in the ``Args:`` of
  the library function that the dataclass's docstring names (``:func:`...```).
* ``.. mfbd-cli::`` prints ``mfbd --help`` and every subcommand's ``--help``
  from the argparse parser of :mod:`mfbd.cli`.
* An ``autodoc-skip-member`` hook drops NamedTuple field aliases and other
  undocumented class members: their classes describe them under "Attributes".
* In the schema's table cells, text taken from docstrings keeps mfbd's
  plain-text notation as written: ``|x|`` is an absolute value (never a reST
  substitution), and an inline literal may be followed by a letter. (The API
  reference reads the docstrings as they are: write them as valid reST.)
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import os
import re
import textwrap
import types
import typing

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles

logger = logging.getLogger(__name__)
_SIMPLE = {bool: "boolean", int: "integer", float: "number", str: "string", type(None): "none"}


def _type_label(tp) -> str:
    """A TOML-reader's name for an annotation: ``int | None`` -> ``integer (optional)``."""
    args = typing.get_args(tp)
    if isinstance(tp, types.UnionType) or typing.get_origin(tp) is typing.Union:
        named = [_type_label(t) for t in args if t is not type(None)]
        return " or ".join(named) + (" (optional)" if type(None) in args else "")
    if typing.get_origin(tp) is tuple:
        return "list of " + _type_label(args[0]) + "s"
    if dataclasses.is_dataclass(tp):
        return "table"
    return _SIMPLE.get(tp, getattr(tp, "__name__", str(tp)))


def _dataclasses_in(tp) -> list[type]:
    """The dataclasses an annotation names, in order (through unions and tuples)."""
    if dataclasses.is_dataclass(tp):
        return [tp]
    found = []
    for arg in typing.get_args(tp):
        found += [c for c in _dataclasses_in(arg) if c not in found]
    return found


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, tuple):
        return "[" + ", ".join(map(_toml, value)) + "]"
    return repr(value)


def _section_docs(obj, section: str) -> dict[str, str]:
    """The entries of a Google-style docstring section (``Args:``, ``Attributes:``) by name."""
    docs, indent, names = {}, None, []
    lines = (inspect.getdoc(obj) or "").splitlines()
    start = next((i + 1 for i, line in enumerate(lines) if line.strip() == f"{section}:"), len(lines))
    for line in lines[start:]:
        if line.strip() and not line.startswith(" "):
            break  # the next section
        depth = len(line) - len(line.lstrip())
        entry = re.match(r"\s*([A-Za-z_][\w, ]*):\s+(.*)", line)
        if entry and (indent is None or depth == indent):
            indent = depth
            names = [n.strip() for n in entry.group(1).split(",")]
            for name in names:
                docs[name] = entry.group(2)
        elif line.strip() and names:
            for name in names:
                docs[name] += " " + line.strip()
    return docs


def _field_docs(cls) -> dict[str, str]:
    """What each key means: the ``Attributes:`` of ``cls`` (and its bases), else the
    ``Args:`` of the library functions that their docstrings name with ``:func:``."""
    docs = {}
    for klass in reversed(cls.__mro__):
        for target in re.findall(r":func:`~?([\w.]+)`", klass.__doc__ or ""):
            docs.update(_section_docs(_resolve(target), "Args"))
    for klass in reversed(cls.__mro__):
        docs.update(_section_docs(klass, "Attributes"))
    for name, text in docs.items():  # "noise, optimizer: as for :func:`mfbd.gradient_flow`."
        same = re.fullmatch(r"as for :func:`~?([\w.]+)`\.?", text.strip())
        if same:
            docs[name] = _section_docs(_resolve(same.group(1)), "Args").get(name, text)
    return docs


def _resolve(dotted: str):
    """The object at a dotted path such as ``mfbd.problems.from_data`` (None if there is none)."""
    module, _, name = dotted.rpartition(".")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError):
        return None


def _cell(text: str) -> str:
    return " ".join(text.split()) or "—"


def _allowed(field, config) -> str:
    choices = field.metadata.get("choices")
    if choices:
        return ", ".join(f"``{_toml(c)}``" for c in choices)
    check = field.metadata.get("check")
    if check:
        rules = getattr(config, "_CHECKS", {})
        return rules[check][1] if check in rules else check
    return ""


def _table_rst(cls, header: str, config, key: str | None = None) -> list[str]:
    """A heading, the class docstring and a list-table of the keys of one TOML table (``key`` picks its kind)."""
    hints = typing.get_type_hints(cls)
    meanings = _field_docs(cls)
    if key is not None:
        meanings.setdefault(key, f"selects this kind of table: ``{key} = {_toml(getattr(cls, key))}``")
    lines = [header, "~" * len(header), "", *inspect.cleandoc(cls.__doc__ or "").splitlines(), ""]
    lines += [".. list-table::", "   :header-rows: 1", "   :widths: 16 16 14 20 34", ""]
    lines += ["   * - key", "     - type", "     - default", "     - allowed", "     - meaning"]
    for field in dataclasses.fields(cls):
        if field.default is not dataclasses.MISSING:
            default = "unset" if field.default is None else f"``{_toml(field.default)}``"
        elif field.default_factory is not dataclasses.MISSING:
            default = f"``{_toml(field.default_factory())}``"
        else:
            default = "**required**"
        meaning = field.metadata.get("doc") or meanings.get(field.name, "")
        row = [f"``{field.name}``", _type_label(hints[field.name]), default, _allowed(field, config), meaning]
        lines += ["   * - " + _cell(row[0])] + ["     - " + _plain_text_line(_cell(c)) for c in row[1:]]
    return lines + [""]


def _discriminator(classes) -> str | None:
    """The key whose string default tells the dataclasses of one table apart (``name``, ``scheme``)."""
    if len(classes) < 2:
        return None
    for field in dataclasses.fields(classes[0]):
        defaults = [getattr(c, field.name, None) for c in classes]
        if all(isinstance(d, str) for d in defaults) and len(set(defaults)) == len(classes):
            return field.name
    return None


def schema_rst() -> str:
    """The whole config schema as reStructuredText."""
    config = importlib.import_module("mfbd.config")
    return "\n".join(_tables(config.Config, "", config))


def _tables(cls, prefix: str, config) -> list[str]:
    """The top-level keys of ``cls``, then, depth first, one section per TOML table below it."""
    hints = typing.get_type_hints(cls)
    lines = []
    if not prefix:
        scalars = [f for f in dataclasses.fields(cls) if not _dataclasses_in(hints[f.name])]
        lines += ["Top-level keys", "~~~~~~~~~~~~~~", ""]
        for f in scalars:
            default = "" if f.default is dataclasses.MISSING else f", default ``{_toml(f.default)}``"
            lines.append(f"* ``{f.name}``: {_type_label(hints[f.name])}{default}")
        lines.append("")
    for field in dataclasses.fields(cls):
        classes = _dataclasses_in(hints[field.name])
        if not classes:
            continue
        keyed = typing.get_origin(hints[field.name]) is tuple  # tuple[tuple[str, X], ...]: one table per name
        where = (f"{prefix}." if prefix else "") + field.name + (".NAME" if keyed else "")
        key = _discriminator(classes)
        for klass in classes:
            chosen = f" with {key} = {_toml(getattr(klass, key))}" if key else ""
            lines += _table_rst(klass, f"[{where}]{chosen}", config, key)
            lines += _tables(klass, where, config)
    return lines


def cli_rst() -> str:
    """``mfbd --help`` and each subcommand's help as reStructuredText (88 columns)."""
    import argparse

    cli = importlib.import_module("mfbd.cli")
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "88"
    try:
        parser = cli._parser()
        pages = [("mfbd", parser)]
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                pages += [(f"mfbd {name}", sub) for name, sub in action.choices.items()]
        lines = [*inspect.cleandoc(cli.__doc__ or "").splitlines(), ""]
        for title, page in pages:
            lines += [title, "~" * len(title), "", ".. code-block:: text", ""]
            lines += ["   " + line if line else "" for line in page.format_help().splitlines()] + [""]
    finally:
        if old is None:
            os.environ.pop("COLUMNS")
        else:
            os.environ["COLUMNS"] = old
    return "\n".join(lines)


class _Generated(SphinxDirective):
    """Parse the reStructuredText that ``render`` returns into the page."""

    render = staticmethod(lambda: "")

    def run(self):
        node = nodes.section()
        node.document = self.state.document
        text = textwrap.dedent(self.render())
        nested_parse_with_titles(self.state, StringList(text.splitlines(), source=self.get_source_info()[0]), node)
        return node.children


class ConfigSchema(_Generated):
    render = staticmethod(schema_rst)


class CommandLine(_Generated):
    render = staticmethod(cli_rst)


#: Inline literals, roles and interpreted text: left as they are.
_MARKUP = re.compile(r"(``.+?``|:[\w:.-]+:`[^`]*`|`[^`]*`_{0,2})")


def _plain_text_line(line: str) -> str:
    """Escape ``|`` in plain text and join a literal to a following letter (``Array``\\ s)."""
    parts = _MARKUP.split(line)
    for i in range(0, len(parts), 2):  # even parts are plain text
        text = parts[i].replace("|", "\\|")
        if i > 0 and text[:1].isalnum():
            text = "\\ " + text
        parts[i] = text
    return "".join(parts)


def _skip_member(app, what, name, obj, skip, options):
    """Hide class members the class's "Attributes" already describe (NamedTuple and dataclass fields)."""
    if what != "class":
        return None
    documented = (inspect.isroutine(obj) or isinstance(obj, property)) and bool(getattr(obj, "__doc__", None))
    if not documented or obj.__doc__.startswith("Alias for field number"):
        return True
    return None


#: The modules of the API reference; names of the last one are indexed under ``mfbd`` (re-exports).
API_MODULES = ("mfbd", "mfbd.problems", "mfbd.pde", "mfbd.sharding", "mfbd.schemes")


def _check_api(app, env):
    """Warn (an error under ``-W``) for a public name of an API module that no page documents."""
    objects = env.get_domain("py").objects
    for module_name in API_MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            if inspect.ismodule(getattr(module, name)):
                continue
            if f"{module_name}.{name}" in objects or f"mfbd.{name}" in objects:
                continue
            value = getattr(module, name)
            if inspect.isclass(value) or callable(value):
                logger.warning(f"{module_name}.{name} is in __all__ but not in the API reference")
            else:  # autodoc leaves out module constants that have no ``#:`` doc comment
                logger.info(f"{module_name}.{name}: a constant without a ``#:`` doc comment, not in the API reference")


def setup(app):
    app.add_directive("mfbd-config-schema", ConfigSchema)
    app.add_directive("mfbd-cli", CommandLine)
    app.connect("autodoc-skip-member", _skip_member)
    app.connect("env-check-consistency", _check_api)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
