"""Stage 1: read a spec file into a tree of YAML nodes that remember where they came from.

libyaml (through PyYAML) scans and parses; this module composes the nodes and adds what
YAML lacks for a spec language: duplicate keys are errors (PyYAML keeps the last one
silently), anchors and aliases are refused (no size blow-ups, no hidden sharing), so is
nesting past MAX_DEPTH, and so is any string or key holding a character no spec text may
hold (NUL, C0/C1 controls, lone surrogates, bidi controls). Every node keeps its line,
column and YAML path for error messages.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any, Iterator, Union

import yaml
from yaml.events import (AliasEvent, MappingEndEvent, ScalarEvent, SequenceEndEvent, SequenceStartEvent,
                         StreamEndEvent)

from .errors import Pos, SpecError, fail

# The work a spec costs is bounded where it is done (codegen/limits.py); this only bounds the
# parse. Measured: a 1 MB spec of 3,000 ten-field structs loads in 2-4 s and ~100 MB of memory
# with libyaml, so 4 MiB (some 12,000 such structs) keeps a parse to seconds and under 0.5 GB.
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


# libyaml scans and parses (about forty times faster than PyYAML's Python parser, which
# matters for a spec of thousands of structs); the nodes are composed here, from its events.
_Parser = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _compose(loader):
    """The single document's root node (None for an empty stream), built without recursion.

    This replaces PyYAML's composer so that aliases and anchors are refused outright (no size
    blow-ups, no hidden sharing) and nesting is refused past MAX_DEPTH as each node starts,
    before ten thousand nested brackets cost anything.
    """
    loader.get_event()  # the stream's start
    if loader.check_event(StreamEndEvent):
        loader.get_event()
        return None
    loader.get_event()  # the document's start
    root, stack = None, []  # stack: the open collection nodes, innermost last
    while True:
        event = loader.get_event()
        if isinstance(event, (SequenceEndEvent, MappingEndEvent)):
            stack.pop().end_mark = event.end_mark
            if not stack:
                break
            continue
        node = _start_node(loader, event, len(stack))
        if stack:
            _attach(stack[-1], node)
        else:
            root = node
        if isinstance(node, yaml.ScalarNode):
            if not stack:
                break
        else:
            stack.append(node)
    loader.get_event()  # the document's end
    if not loader.check_event(StreamEndEvent):
        raise yaml.composer.ComposerError("expected a single document in the stream", root.start_mark,
                                          "but found another document", loader.get_event().start_mark)
    return root


def _start_node(loader, event, depth: int):
    if isinstance(event, AliasEvent) or getattr(event, "anchor", None):
        raise _Refused(event.start_mark, "YAML anchors and aliases are not allowed in a spec",
                       "write the value out in full")
    if depth > MAX_DEPTH:
        raise _Refused(event.start_mark, f"spec is nested more than {MAX_DEPTH} levels deep")
    if isinstance(event, ScalarEvent):
        tag = event.tag if event.tag not in (None, "!") else loader.resolve(yaml.ScalarNode, event.value,
                                                                            event.implicit)
        return yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, style=event.style)
    kind = yaml.SequenceNode if isinstance(event, SequenceStartEvent) else yaml.MappingNode
    tag = event.tag if event.tag not in (None, "!") else loader.resolve(kind, None, event.implicit)
    return kind(tag, [], event.start_mark, None, flow_style=event.flow_style)


def _attach(parent, node) -> None:
    """Add `node` to a sequence, or to a mapping as a key (a new pair) or as the value of the last key."""
    if isinstance(parent, yaml.SequenceNode):
        parent.value.append(node)
    elif parent.value and parent.value[-1][1] is None:
        parent.value[-1] = (parent.value[-1][0], node)
    else:
        parent.value.append((node, None))


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
        yaml.reader.Reader(text)  # checks every character up front, as YAML defines them
    except yaml.reader.ReaderError as error:
        code = error.character if isinstance(error.character, int) else ord(error.character)
        raise fail(_text_pos(path, text, error.position),
                   f"spec contains the control character U+{code:04X}, which YAML does not allow",
                   "is this a binary file?")
    loader = _Parser(text)
    try:
        root = _compose(loader)
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
    tree = _convert(loader, root, path, "", 0, text)
    if not isinstance(tree, Map):
        raise fail(tree.pos, "the top level of a spec must be a mapping", "start with `layoutgen: 1`")
    return tree


def _syntax_error(path: str, text: str, error: yaml.MarkedYAMLError) -> SpecError:
    """One line for a PyYAML error: where it was noticed, and where the broken construct began."""
    mark = error.problem_mark or error.context_mark
    message = (error.problem or error.context or "invalid YAML").strip()
    if message == "exceeded maximum nesting depth":  # libyaml's own limit, met while scanning ahead
        return fail(_pos(path, mark, ""), f"spec is nested more than {MAX_DEPTH} levels deep")
    if mark is None:
        return fail(Pos(path, 1, 1), f"YAML syntax error: {message}")
    hint = _tab_hint(text, mark)
    opened = error.context_mark if error.problem and error.context else None
    if opened is not None and mark.index >= len(text) > opened.index:
        # The input ended inside a quote or a bracket: point at where that opened.
        mark, message, hint = opened, f"{message} {error.context.strip()}", "it is never closed"
    elif opened is not None and (opened.line, opened.column) != (mark.line, mark.column):
        message += f" ({error.context.strip()} at line {opened.line + 1}, column {opened.column + 1})"
    if not hint and ("<block" in message or "parsing a block" in message):
        hint = "check this line's indentation against the lines above it"
    return fail(_pos(path, mark, ""), f"YAML syntax error: {message}", hint)


def _tab_hint(text: str, mark) -> str:
    lines = text.splitlines()
    line = lines[mark.line] if mark is not None and mark.line < len(lines) else ""
    return "indent with spaces; YAML does not allow tabs" if "\t" in line else ""


def _convert(loader, node, file: str, path: str, depth: int, text: str) -> Node:
    pos = _pos(file, node.start_mark, path)
    if depth > MAX_DEPTH:
        raise fail(pos, f"spec is nested more than {MAX_DEPTH} levels deep")
    if isinstance(node, yaml.ScalarNode):
        value = _scalar_value(loader, node, pos)
        _refuse_characters(value, node, pos, text)
        return Scalar(value, pos, quoted=node.style in ("'", '"'))
    if node.tag not in _COLLECTION_TAGS:
        raise fail(pos, f"YAML tag '{node.tag}' is not allowed in a spec", "remove the tag")
    if isinstance(node, yaml.SequenceNode):
        items = tuple(
            _convert(loader, item, file, f"{path}[{index}]", depth + 1, text)
            for index, item in enumerate(node.value)
        )
        return Seq(items, pos)
    entries = []
    seen = {}
    for key_node, value_node in node.value:
        key_pos = _pos(file, key_node.start_mark, path)
        if not isinstance(key_node, yaml.ScalarNode):
            raise fail(key_pos, "mapping keys must be plain names")
        key = _scalar_value(loader, key_node, key_pos)
        _refuse_characters(key, key_node, key_pos, text)
        key = str(key)
        if key in seen:
            raise fail(key_pos, f"duplicate key '{key}' (first at line {seen[key].line})",
                       "YAML keeps only the last one; remove or rename one of them")
        seen[key] = key_pos
        child_path = f"{path}.{key}" if path else key
        entries.append((key, key_pos.at(child_path),
                        _convert(loader, value_node, file, child_path, depth + 1, text)))
    return Map(tuple(entries), pos)


# Refused in every string of a spec, keys included: NUL and the other C0 and C1 controls
# (tab and newline aside, which prose may hold), lone surrogates (YAML's "\\ud800" escape),
# and the bidi controls that make text read differently from what a compiler sees.
_REFUSED = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _refuse_characters(value, node, pos: Pos, text: str) -> None:
    """Refuse a string holding one of `_REFUSED`, at the character itself when the file holds
    it as written (else at the scalar: it came from an escape such as "\\0")."""
    if not isinstance(value, str):
        return
    found = _REFUSED.search(value)
    if found is None:
        return
    char = found.group()
    raw = text.find(char, node.start_mark.index, node.end_mark.index)
    where = (_text_pos(pos.file, text, raw) if raw >= 0
             else pos.shifted(1) if node.style in ("'", '"') else pos)
    raise fail(where, f"spec text holds {_describe(char)}, which a spec may not contain",
               "remove it; a spec holds printable text, tabs and newlines only")


def _describe(char: str) -> str:
    code = f"U+{ord(char):04X}"
    if char == "\x00":
        return f"a NUL character ({code})"
    if "\ud800" <= char <= "\udfff":
        return f"a lone surrogate ({code})"
    if char in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069":
        return f"the bidirectional control {code}"
    return f"the control character {code}"


_STR_TAG = "tag:yaml.org,2002:str"
_COLLECTION_TAGS = ("tag:yaml.org,2002:seq", "tag:yaml.org,2002:map")


def _scalar_value(loader, node, pos: Pos):
    """The Python value of a scalar; tags and values PyYAML cannot build become spec errors."""
    if node.tag == "tag:yaml.org,2002:merge":
        raise fail(pos, "YAML merge keys (<<) are not allowed in a spec", "write the keys out in full")
    if node.tag == _STR_TAG:
        return node.value  # most scalars: skip the constructor's bookkeeping
    if node.tag not in loader.yaml_constructors:
        raise fail(pos, f"YAML tag '{node.tag}' is not allowed in a spec", "remove the tag")
    try:
        return loader.construct_object(node, deep=True)
    except (yaml.YAMLError, ValueError, OverflowError) as error:
        reason = getattr(error, "problem", None) or str(error)
        raise fail(pos, f"cannot read the YAML value {node.value!r}: {reason}",
                   "quote it if it is meant as a string")
