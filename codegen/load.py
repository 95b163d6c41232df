"""Stage 1: read a spec file into a tree of YAML nodes that remember where they came from.

PyYAML is used only for tokenising and composing; this module adds what it lacks for a
spec language: duplicate keys are errors (PyYAML keeps the last one silently), anchors
and aliases are refused (no size blow-ups, no hidden sharing), and every node keeps its
line, column and YAML path for error messages.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Iterator, Union

import yaml
from yaml.events import AliasEvent

from .errors import Pos, SpecError, fail

MAX_SPEC_BYTES = 256 * 1024  # sysmsg is 14 KB; this bounds the YAML parse to about a second
MAX_DEPTH = 64


@dataclass(frozen=True)
class Scalar:
    value: Any
    pos: Pos
    quoted: bool = False

    @property
    def text_pos(self) -> Pos:
        """Where the scalar's text starts (after an opening quote)."""
        return self.pos.shifted(1) if self.quoted else self.pos


@dataclass(frozen=True)
class Seq:
    items: tuple
    pos: Pos


@dataclass(frozen=True)
class Map:
    entries: tuple  # ((key: str, key_pos: Pos, value: Node), ...)
    pos: Pos

    def keys(self) -> list:
        return [key for key, _, _ in self.entries]

    def get(self, key: str):
        for name, _, value in self.entries:
            if name == key:
                return value
        return None

    def items(self) -> Iterator:
        for key, key_pos, value in self.entries:
            yield key, key_pos, value


Node = Union[Scalar, Seq, Map]


class _Loader(yaml.SafeLoader):
    """A SafeLoader that refuses aliases and anchors outright, and deep nesting.

    PyYAML composes nodes recursively, so the depth limit is enforced here, before
    Python's own stack runs out on input such as ten thousand nested brackets.
    """

    depth = 0

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, AliasEvent) or getattr(event, "anchor", None):
            raise _Refused(event.start_mark, "YAML anchors and aliases are not allowed in a spec",
                           "write the value out in full")
        if self.depth > MAX_DEPTH:
            raise _Refused(event.start_mark, f"spec is nested more than {MAX_DEPTH} levels deep")
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


class _Refused(Exception):
    """Something the spec language rejects, found while composing, with its YAML mark."""

    def __init__(self, mark, message: str, hint: str = ""):
        self.mark, self.message, self.hint = mark, message, hint


def _pos(file: str, mark, path: str) -> Pos:
    return Pos(file, mark.line + 1, mark.column + 1, path)


def read_text(path: str) -> str:
    """Read a spec file as UTF-8, turning every I/O or encoding problem into a SpecError."""
    here = Pos(path, 1, 1)
    if not os.path.exists(path):
        raise fail(here, "spec file not found")
    if os.path.isdir(path):
        raise fail(here, "spec path is a directory, not a file", "pass the .yaml file itself")
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_SPEC_BYTES + 1)
    except OSError as error:
        raise fail(here, f"cannot read spec: {error.strerror}")
    if len(data) > MAX_SPEC_BYTES:
        raise fail(here, f"spec is larger than {MAX_SPEC_BYTES} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        # Columns count characters, as YAML's do; everything before the bad byte is valid UTF-8.
        before = data[:error.start].decode("utf-8")
        where = _text_pos(path, before, len(before))
        raise fail(where, f"spec is not valid UTF-8 (byte 0x{data[error.start]:02x})",
                   "save the file as UTF-8")
    if "\x00" in text:
        raise fail(_text_pos(path, text, text.index("\x00")),
                   "spec contains a NUL byte; is this a binary file?")
    return text


def _text_pos(path: str, text: str, index: int) -> Pos:
    """The line and column (both from 1, in characters) of `text[index]`."""
    line_start = text.rfind("\n", 0, index) + 1
    return Pos(path, text.count("\n", 0, index) + 1, index - line_start + 1)


def load(path: str) -> Map:
    """Parse the spec at `path` into positioned nodes; the top level must be a mapping."""
    text = read_text(path)
    return load_text(text, path)


def load_text(text: str, path: str) -> Map:
    if not text.strip():
        raise fail(Pos(path, 1, 1), "spec is empty", "start with `layoutgen: 1`")
    try:
        loader = _Loader(text)  # checks every character up front
    except yaml.reader.ReaderError as error:
        code = error.character if isinstance(error.character, int) else ord(error.character)
        raise fail(_text_pos(path, text, error.position),
                   f"spec contains the control character U+{code:04X}, which YAML does not allow",
                   "is this a binary file?")
    try:
        root = loader.get_single_node()
    except _Refused as refused:
        raise fail(_pos(path, refused.mark, ""), refused.message, refused.hint)
    except yaml.MarkedYAMLError as error:
        raise _syntax_error(path, text, error)
    except yaml.YAMLError as error:
        raise fail(Pos(path, 1, 1), "YAML error: " + " ".join(str(error).split()))
    except RecursionError:
        raise fail(Pos(path, 1, 1), "spec is nested too deeply")
    finally:
        loader.dispose()
    if root is None:
        raise fail(Pos(path, 1, 1), "spec is empty", "start with `layoutgen: 1`")
    tree = _convert(loader, root, path, "", 0)
    if not isinstance(tree, Map):
        raise fail(tree.pos, "the top level of a spec must be a mapping", "start with `layoutgen: 1`")
    return tree


def _syntax_error(path: str, text: str, error: yaml.MarkedYAMLError) -> SpecError:
    """One line for a PyYAML error: where it was noticed, and where the broken construct began."""
    mark = error.problem_mark or error.context_mark
    message = (error.problem or error.context or "invalid YAML").strip()
    if mark is None:
        return fail(Pos(path, 1, 1), f"YAML syntax error: {message}")
    hint = _tab_hint(text, mark)
    opened = error.context_mark if error.problem and error.context else None
    if opened is not None and mark.index >= len(text) > opened.index:
        # The input ended inside a quote or a bracket: point at where that opened.
        mark, message, hint = opened, f"{message} {error.context.strip()}", "it is never closed"
    elif opened is not None and (opened.line, opened.column) != (mark.line, mark.column):
        message += f" ({error.context.strip()} at line {opened.line + 1}, column {opened.column + 1})"
    if not hint and "<block" in message:
        hint = "check this line's indentation against the lines above it"
    return fail(_pos(path, mark, ""), f"YAML syntax error: {message}", hint)


def _tab_hint(text: str, mark) -> str:
    lines = text.splitlines()
    line = lines[mark.line] if mark is not None and mark.line < len(lines) else ""
    return "indent with spaces; YAML does not allow tabs" if "\t" in line else ""


def _convert(loader, node, file: str, path: str, depth: int) -> Node:
    pos = _pos(file, node.start_mark, path)
    if depth > MAX_DEPTH:
        raise fail(pos, f"spec is nested more than {MAX_DEPTH} levels deep")
    if isinstance(node, yaml.ScalarNode):
        return Scalar(_scalar_value(loader, node, pos), pos, quoted=node.style in ("'", '"'))
    if node.tag not in _COLLECTION_TAGS:
        raise fail(pos, f"YAML tag '{node.tag}' is not allowed in a spec", "remove the tag")
    if isinstance(node, yaml.SequenceNode):
        items = tuple(
            _convert(loader, item, file, f"{path}[{index}]", depth + 1)
            for index, item in enumerate(node.value)
        )
        return Seq(items, pos)
    entries = []
    seen = {}
    for key_node, value_node in node.value:
        key_pos = _pos(file, key_node.start_mark, path)
        if not isinstance(key_node, yaml.ScalarNode):
            raise fail(key_pos, "mapping keys must be plain names")
        key = str(_scalar_value(loader, key_node, key_pos))
        if key in seen:
            raise fail(key_pos, f"duplicate key '{key}' (first at line {seen[key].line})",
                       "YAML keeps only the last one; remove or rename one of them")
        seen[key] = key_pos
        child_path = f"{path}.{key}" if path else key
        entries.append((key, key_pos.at(child_path),
                        _convert(loader, value_node, file, child_path, depth + 1)))
    return Map(tuple(entries), pos)


_COLLECTION_TAGS = ("tag:yaml.org,2002:seq", "tag:yaml.org,2002:map")


def _scalar_value(loader, node, pos: Pos):
    """The Python value of a scalar; tags and values PyYAML cannot build become spec errors."""
    if node.tag == "tag:yaml.org,2002:merge":
        raise fail(pos, "YAML merge keys (<<) are not allowed in a spec", "write the keys out in full")
    if node.tag not in loader.yaml_constructors:
        raise fail(pos, f"YAML tag '{node.tag}' is not allowed in a spec", "remove the tag")
    try:
        return loader.construct_object(node, deep=True)
    except (yaml.YAMLError, ValueError, OverflowError) as error:
        reason = getattr(error, "problem", None) or str(error)
        raise fail(pos, f"cannot read the YAML value {node.value!r}: {reason}",
                   "quote it if it is meant as a string")
