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

from .errors import Pos, fail

MAX_SPEC_BYTES = 4 * 1024 * 1024
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
    """A SafeLoader that refuses aliases and anchors outright."""

    def compose_node(self, parent, index):
        if self.check_event(AliasEvent):
            event = self.peek_event()
            raise _AliasFound(event.start_mark)
        event = self.peek_event()
        if getattr(event, "anchor", None):
            raise _AliasFound(event.start_mark)
        return super().compose_node(parent, index)


class _AliasFound(Exception):
    def __init__(self, mark):
        self.mark = mark


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
        line = data.count(b"\n", 0, error.start) + 1
        col = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        raise fail(Pos(path, line, col), f"spec is not valid UTF-8 (byte 0x{data[error.start]:02x})")
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise fail(Pos(path, line, 1), "spec contains a NUL byte; is this a binary file?")
    return text


def load(path: str) -> Map:
    """Parse the spec at `path` into positioned nodes; the top level must be a mapping."""
    text = read_text(path)
    return load_text(text, path)


def load_text(text: str, path: str) -> Map:
    if not text.strip():
        raise fail(Pos(path, 1, 1), "spec is empty", "start with `layoutgen: 1`")
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
    except _AliasFound as found:
        raise fail(_pos(path, found.mark, ""), "YAML anchors and aliases are not allowed in a spec",
                   "write the value out in full")
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        message = (error.problem or error.context or "invalid YAML").strip()
        hint = _tab_hint(text, mark)
        where = _pos(path, mark, "") if mark else Pos(path, 1, 1)
        raise fail(where, f"YAML syntax error: {message}", hint)
    except yaml.YAMLError as error:
        raise fail(Pos(path, 1, 1), f"YAML error: {error}")
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


def _tab_hint(text: str, mark) -> str:
    lines = text.splitlines()
    line = lines[mark.line] if mark is not None and mark.line < len(lines) else ""
    return "indent with spaces; YAML does not allow tabs" if "\t" in line else ""


def _convert(loader, node, file: str, path: str, depth: int) -> Node:
    pos = _pos(file, node.start_mark, path)
    if depth > MAX_DEPTH:
        raise fail(pos, f"spec is nested more than {MAX_DEPTH} levels deep")
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_object(node, deep=True)
        return Scalar(value, pos, quoted=node.style in ("'", '"'))
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
        key = str(loader.construct_object(key_node))
        if key in seen:
            raise fail(key_pos, f"duplicate key '{key}' (first at line {seen[key].line})",
                       "YAML keeps only the last one; remove or rename one of them")
        seen[key] = key_pos
        child_path = f"{path}.{key}" if path else key
        entries.append((key, key_pos.at(child_path),
                        _convert(loader, value_node, file, child_path, depth + 1)))
    return Map(tuple(entries), pos)
