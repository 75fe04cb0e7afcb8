"""Read YAML safely while remembering the line of every key and item, for located error messages.

Rubrics and calibration items are hand-edited files; when one is wrong the user needs the
file *and line* to fix. PyYAML's node marks carry the lines; this module keeps them next to
the plain data and turns pydantic validation errors into :class:`InputError` at that line.

Configs, annotator, run and rubric files all come through :func:`load_yaml`, which refuses
aliases (``*name``: a 600-byte "billion laughs" file would otherwise expand to gigabytes, a
self-referencing one recurse forever), nesting deeper than :data:`MAX_DEPTH` and files over
:data:`MAX_BYTES`.
"""
from __future__ import annotations

import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

import pydantic
import yaml

from .errors import InputError
from .files import read_text

#: A position in a loaded document: mapping keys and sequence indices from the root.
Loc = tuple[str | int, ...]
Model = TypeVar("Model", bound=pydantic.BaseModel)
#: Deepest nesting of mappings and sequences accepted in a YAML file.
MAX_DEPTH = 50
#: Largest YAML file read (rubrics, the largest, are a few kB).
MAX_BYTES = 4 * 2 ** 20


#: libyaml's safe loader when PyYAML was built with it (ten times faster on the rubrics), else the pure-Python one.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
#: Flow nesting ([ and {) beyond which the text goes to the guarded pure-Python loader, not to libyaml's recursion.
FLOW_DEPTH_FOR_C = 1000


class _NoAliasLoader(yaml.SafeLoader):
    """SafeLoader that refuses aliases (anchors alone are harmless) and bounds nesting while composing.

    Used for texts whose brackets nest too deeply to hand to libyaml; libyaml's node graph is
    checked after composing instead (:func:`_check_graph`)."""

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.MarkedYAMLError(problem=f"aliases (*{event.anchor}) are not allowed in this file; "
                                       "write the value out", problem_mark=event.start_mark)
        self._depth = getattr(self, "_depth", 0) + 1
        try:
            if self._depth > MAX_DEPTH:
                raise yaml.MarkedYAMLError(problem=f"nested deeper than {MAX_DEPTH} levels",
                                           problem_mark=self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


class LocatedValueError(ValueError):
    """Raised inside a model validator to point at a sub-location (e.g. ``("levels", 3, "level")``)."""

    def __init__(self, loc: Loc, message: str) -> None:
        super().__init__(message)
        self.loc = loc


def located_error(message: str, source: str | Path, line: int | None) -> InputError:
    """An InputError whose text reads ``<file>: line N: <message>`` (line omitted when unknown)."""
    return InputError(f"line {line}: {message}" if line else message, source=source)


def load_yaml(text: str, source: str | Path) -> tuple[Any, dict[Loc, int]]:
    """Parse one YAML document without executing tags; return the data and 1-based line per location."""
    if len(text) > MAX_BYTES:
        raise located_error(f"file larger than {MAX_BYTES // 2 ** 20} MiB", source, None)
    fast = SAFE_LOADER is not yaml.SafeLoader and _flow_depth(text) <= FLOW_DEPTH_FOR_C
    try:
        loader = SAFE_LOADER(text) if fast else _NoAliasLoader(text)  # the reader may refuse control characters here
    except yaml.YAMLError as err:
        raise located_error(f"invalid YAML: {err}", source, None) from err
    try:
        root = loader.get_single_node()
        if root is None:
            raise located_error("the file is empty", source, 1)
        _check_graph(root)
        lines: dict[Loc, int] = {}
        _record_lines(root, (), lines, source)
        data = loader.construct_document(root)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        raise located_error(f"invalid YAML: {err.problem or err.context}", source,
                            mark.line + 1 if mark else None) from err
    except yaml.YAMLError as err:
        raise located_error(f"invalid YAML: {err}", source, None) from err
    except InputError:
        raise
    except (ValueError, OverflowError) as err:  # e.g. a date like 2024-13-45 that YAML reads as a timestamp
        raise located_error(f"invalid YAML value ({err})", source, None) from err
    finally:
        loader.dispose()
    return data, lines


def _flow_depth(text: str) -> int:
    """Deepest nesting of ``[`` and ``{`` outside quotes (an upper bound on YAML flow nesting)."""
    depth = deepest = 0
    quote = ""
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}" and depth:
            depth -= 1
    return deepest


def _check_graph(root: yaml.Node) -> None:
    """Refuse a composed document whose nodes are shared (an alias) or nest beyond :data:`MAX_DEPTH`."""
    seen: set[int] = set()
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if id(node) in seen:
            raise yaml.MarkedYAMLError(problem="aliases (*name) are not allowed in this file; write the value out",
                                       problem_mark=node.start_mark)
        if depth > MAX_DEPTH:
            raise yaml.MarkedYAMLError(problem=f"nested deeper than {MAX_DEPTH} levels", problem_mark=node.start_mark)
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            stack.extend((child, depth + 1) for pair in node.value for child in pair)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((child, depth + 1) for child in node.value)


def _record_lines(node: yaml.Node, loc: Loc, lines: dict[Loc, int], source: str | Path) -> None:
    lines[loc] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                raise located_error(f"duplicate key {key!r}", source, key_node.start_mark.line + 1)
            seen.add(key)
            _record_lines(value_node, loc + (key,), lines, source)
            lines[loc + (key,)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _record_lines(item, loc + (index,), lines, source)


def line_of(loc: Sequence[str | int], lines: dict[Loc, int]) -> int | None:
    """Line of the deepest recorded location that prefixes ``loc`` (a missing key points at its parent)."""
    loc = tuple(loc)
    while loc not in lines and loc:
        loc = loc[:-1]
    return lines.get(loc)


def validate_located(model: type[Model], data: Any, lines: dict[Loc, int], source: str | Path,
                     *, prefix: Loc = (), context: dict[str, Any] | None = None) -> Model:
    """Validate ``data`` against ``model`` (with a validation ``context``); report the first problem at its line."""
    try:
        return model.model_validate(data, context=context)
    except pydantic.ValidationError as err:
        errors = err.errors()
        # A misspelt key shows up as both "extra" and "missing"; the extra one says what to fix.
        first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
        cause = first.get("ctx", {}).get("error")
        loc = prefix + tuple(first["loc"]) + (cause.loc if isinstance(cause, LocatedValueError) else ())
        message = str(cause) if isinstance(cause, ValueError) else first["msg"]
        if first["type"] == "extra_forbidden":
            message = _unknown_key_message(model, loc[len(prefix):-1])
        where = ".".join(str(part) for part in loc) or "document"
        raise located_error(f"{where}: {message}", source, line_of(loc, lines)) from err


def _unknown_key_message(model: type[pydantic.BaseModel], parent: Loc) -> str:
    """'unknown key', with the keys allowed at that place when the model tree tells them."""
    node: Any = model
    for part in parent:
        if isinstance(part, int):  # an item of a list[Model] field
            args = typing.get_args(node)
            node = args[0] if args else None
        elif isinstance(node, type) and issubclass(node, pydantic.BaseModel) and part in node.model_fields:
            node = node.model_fields[part].annotation
        else:
            node = None
    if isinstance(node, type) and issubclass(node, pydantic.BaseModel):
        return f"unknown key (allowed: {', '.join(node.model_fields)})"
    return "unknown key"


def load_config(model: type[Model], path: str | Path, context: dict[str, Any] | None = None) -> Model:
    """Read a YAML config file that holds one mapping into ``model``; every error names file, line and key.

    ``context`` goes to the model's validators (e.g. the file's folder, to resolve relative paths).
    """
    path = Path(path)
    data, lines = load_yaml(read_text(path, MAX_BYTES), path)
    if not isinstance(data, dict):
        raise located_error(f"expected a mapping of keys ({', '.join(model.model_fields)}) at the top level", path, 1)
    return validate_located(model, data, lines, path, context=context)
