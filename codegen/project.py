"""The project file, `layoutgen.toml`: the specs of a repository and how each is built.

A file of its own rather than `[tool.layoutgen]` in pyproject.toml: the repositories that
hold an ABI are as often C or Go as Python, and a C or Go repository has no pyproject.toml.

    [[spec]]
    path = "spec/sysmsg.yaml"        # relative to this file, as every path here
    out = "generated"
    python_package = "sysmsg"        # the distribution name out/python/pyproject.toml declares
    go_module = "example.com/abi/sysmsg"
    targets = ["c", "python"]        # optional: a subset of the spec's own targets
    consumers = ["stub"]             # optional: hand-written .c/.S folders `check` compiles

The file is untrusted input like a spec: every value is checked against a grammar, unknown
keys are refused, and an error is one line `file:line:col: message (hint: ...)`. tomllib
keeps no positions, so a key's line is found by scanning the text (`_locate`).

What a spec generates depends on the project file that lists it (the Go module path, the
regenerate command in banners), never on how the command was typed: `generate --spec X`
and `generate` give the same bytes, so `for_spec` finds the project from the spec's folder.
"""
from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from typing import Optional

from .errors import Pos, fail
from .spec_keys import TARGETS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the lock installs tomli for older Pythons
    import tomli as tomllib

FILE = "layoutgen.toml"
MAX_BYTES = 1024 * 1024
MAX_PATH_LEN = 255
# Go's module path grammar (golang.org/x/mod/module.CheckPath): the first element a domain
# (lowercase, a dot, no leading dash), each element ASCII letters, digits and - . _ ~, not
# starting or ending with a dot.
_GO_ELEMENT = r"(?!\.)[A-Za-z0-9._~-]+(?<!\.)"
GO_MODULE = re.compile(rf"(?!-)(?=[a-z0-9.-]*\.)[a-z0-9.-]+(?<!\.)(?:/{_GO_ELEMENT})*", re.ASCII)
MAX_GO_MODULE_LEN = 255
# A distribution name as PEP 508 spells it: what `pip install` and a dependent's requirements name.
PYTHON_PACKAGE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,62}[A-Za-z0-9])?", re.ASCII)
# A relative path below the project: no `..`, no empty part, no option-like or hidden start.
_PART = r"(?!\.\.?(?:/|$))[A-Za-z0-9_.+-]+"
PATH = re.compile(rf"(?![-/]){_PART}(?:/{_PART})*", re.ASCII)

KEYS = ("path", "out", "python_package", "go_module", "targets", "consumers")
REQUIRED = ("path", "out")


@dataclass(frozen=True)
class Entry:
    """One spec of the project; paths absolute, labels as the file writes them."""

    spec: str
    out: str
    label: str  # the spec's path relative to the project folder
    python_package: str = ""  # "" : the spec's name
    go_module: str = ""  # "" : the default module path
    targets: Optional[tuple] = None  # None: every target the spec has
    consumers: tuple = ()
    targets_pos: Optional[Pos] = None  # where `targets` is written, for the check against the spec's


@dataclass(frozen=True)
class Project:
    path: str  # the project file, absolute
    entries: tuple

    @property
    def root(self) -> str:
        return os.path.dirname(self.path)

    def entry(self, spec_path: str) -> Optional[Entry]:
        wanted = os.path.realpath(spec_path)
        return next((e for e in self.entries if os.path.realpath(e.spec) == wanted), None)


def find(start: str) -> Optional[str]:
    """The nearest project file in `start` or a folder above it."""
    folder = os.path.abspath(start)
    while True:
        candidate = os.path.join(folder, FILE)
        if os.path.isfile(candidate):
            return candidate
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


def for_spec(spec_path: str) -> tuple:
    """(Project, Entry) of the nearest project file above the spec that lists it, or (None, None)."""
    folder = os.path.dirname(os.path.abspath(spec_path))
    while True:
        found = find(folder)
        if found is None:
            return None, None
        project = load(found)
        entry = project.entry(spec_path)
        if entry is not None:
            return project, entry
        folder = os.path.dirname(os.path.dirname(found))
        if folder == os.path.dirname(found):
            return None, None


_CACHE: dict = {}


def load(path: str) -> Project:
    """The project file at `path`, checked; cached while the file is unchanged."""
    path = os.path.abspath(path)
    info = os.stat(path)
    key = (path, info.st_mtime_ns, info.st_size)
    if key not in _CACHE:
        _CACHE[key] = _parse(path, _read(path, info.st_size))
    return _CACHE[key]


def _read(path: str, size: int) -> str:
    shown = os.path.relpath(path)
    if size > MAX_BYTES:
        raise fail(Pos(shown, 1, 1), f"the project file is {size} bytes; the limit is {MAX_BYTES}")
    with open(path, "rb") as handle:
        data = handle.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise fail(Pos(shown, 1, 1), f"not UTF-8 ({error.reason} at byte {error.start})") from None


def _parse(path: str, text: str) -> Project:
    shown = os.path.relpath(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        where = re.search(r"\(at line (\d+), column (\d+)\)", str(error))
        line, col = (int(where.group(1)), int(where.group(2))) if where else (1, 1)
        message = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", str(error))
        raise fail(Pos(shown, line, col), f"not valid TOML: {message}") from None
    at = _Locator(shown, text)
    for key in data:
        if key != "spec":
            raise fail(at.key(None, key), f"unknown key {key!r}", "a project file holds [[spec]] tables only")
    specs = data.get("spec")
    if not isinstance(specs, list) or not specs or not all(isinstance(item, dict) for item in specs):
        raise fail(at.key(None, "spec"), "the project file lists no spec",
                   'add a [[spec]] table with path = "spec.yaml" and out = "out"')
    root = os.path.dirname(path)
    entries = tuple(_entry(item, index, root, at) for index, item in enumerate(specs))
    _refuse_overlaps(entries, at)
    return Project(path=path, entries=entries)


def _entry(item: dict, index: int, root: str, at: "_Locator") -> Entry:
    for key in item:
        if key not in KEYS:
            raise fail(at.key(index, key), f"[[spec]] {key!r} is not a project key",
                       "allowed keys: " + ", ".join(KEYS))
    for key in REQUIRED:
        if key not in item:
            raise fail(at.table(index), f"[[spec]] number {index + 1} has no {key!r}", "allowed keys: " + ", ".join(KEYS))
    spec, out = (_path(item[key], at.key(index, key), key) for key in ("path", "out"))
    return Entry(
        spec=os.path.join(root, spec), out=os.path.join(root, out), label=spec,
        python_package=_match(item, "python_package", PYTHON_PACKAGE, index, at,
                              "letters, digits and . _ - (PEP 508), starting and ending with a letter or digit"),
        go_module=_go_module(item, index, at),
        targets=_targets(item, index, at),
        targets_pos=at.key(index, "targets") if "targets" in item else None,
        consumers=tuple(os.path.join(root, _path(p, at.key(index, "consumers"), "consumers"))
                        for p in _list(item, "consumers", index, at)),
    )


def _string(value, pos: Pos, key: str) -> str:
    if not isinstance(value, str):
        raise fail(pos, f"{key} must be a string, not {type(value).__name__}")
    return value


def _path(value, pos: Pos, key: str) -> str:
    value = _string(value, pos, key)
    if len(value) > MAX_PATH_LEN or not PATH.fullmatch(value):
        raise fail(pos, f"{key} {value!r} is not a path below the project folder",
                   "write a relative path such as spec/abi.yaml: letters, digits and _ . + - parts joined by /, "
                   "no '.' or '..' part, not starting with '/' or '-'")
    return value


def _match(item: dict, key: str, pattern, index: int, at: "_Locator", hint: str) -> str:
    if key not in item:
        return ""
    value = _string(item[key], at.key(index, key), key)
    if not pattern.fullmatch(value):
        raise fail(at.key(index, key), f"{key} {value!r} is not valid", hint)
    return value


def _go_module(item: dict, index: int, at: "_Locator") -> str:
    value = _match(item, "go_module", GO_MODULE, index, at,
                   "Go's module path grammar: a lowercase domain with a dot (example.com), then /-separated "
                   "elements of letters, digits and - . _ ~")
    if len(value) > MAX_GO_MODULE_LEN:
        raise fail(at.key(index, "go_module"), f"go_module is {len(value)} characters; the limit is {MAX_GO_MODULE_LEN}")
    return value


def _list(item: dict, key: str, index: int, at: "_Locator") -> list:
    value = item.get(key, [])
    if not isinstance(value, list) or not all(isinstance(each, str) for each in value):
        raise fail(at.key(index, key), f"{key} must be a list of strings")
    return value


def _targets(item: dict, index: int, at: "_Locator") -> Optional[tuple]:
    if "targets" not in item:
        return None
    targets = _list(item, "targets", index, at)
    unknown = [t for t in targets if t not in TARGETS]
    if unknown or not targets or len(set(targets)) != len(targets):
        raise fail(at.key(index, "targets"), f"targets {targets!r} is not a list of distinct targets",
                   "use some of: " + ", ".join(TARGETS))
    return tuple(t for t in TARGETS if t in targets)


def _refuse_overlaps(entries: tuple, at: "_Locator") -> None:
    """One entry per spec, and output folders apart: generate replaces each folder whole."""
    for later, entry in enumerate(entries):
        for earlier in entries[:later]:
            if os.path.realpath(entry.spec) == os.path.realpath(earlier.spec):
                raise fail(at.key(later, "path"), f"{entry.label} is listed twice", "list each spec once")
            if _nested(entry.out, earlier.out):
                raise fail(at.key(later, "out"), "this output folder overlaps another spec's",
                           "give each spec a folder of its own, neither inside the other")


def _nested(a: str, b: str) -> bool:
    a, b = os.path.normpath(a), os.path.normpath(b)
    return a == b or a.startswith(b + os.sep) or b.startswith(a + os.sep)


class _Locator:
    """Positions of keys in the file's text (tomllib reports none): the line of `key = ...`
    inside the index-th [[spec]] table, or at the top level when `index` is None."""

    _HEADER = re.compile(r"\s*\[")
    _SPEC_HEADER = re.compile(r"\s*\[\[\s*spec\s*\]\]")

    def __init__(self, file: str, text: str):
        self.file = file
        self.lines = text.splitlines()

    def table(self, index: Optional[int]) -> Pos:
        return Pos(self.file, self._span(index)[0] + 1, 1)

    def key(self, index: Optional[int], key: str) -> Pos:
        if index is None:  # a top-level key may be written as a table header: [tool]
            header = re.compile(rf"\s*\[\[?\s*{re.escape(key)}\s*[\].]")
            number = next((n for n, line in enumerate(self.lines) if header.match(line)), None)
            if number is not None:
                return Pos(self.file, number + 1, 1)
        start, end = self._span(index)
        found = re.compile(rf"\s*(?:{re.escape(key)}|\"{re.escape(key)}\"|'{re.escape(key)}')\s*[=.]")
        for number in range(start, end):
            match = found.match(self.lines[number])
            if match:
                return Pos(self.file, number + 1, len(self.lines[number]) - len(self.lines[number].lstrip()) + 1)
        return self.table(index)

    def _span(self, index: Optional[int]) -> tuple:
        """Line numbers (0-based, end exclusive) of the top level or of one [[spec]] table."""
        headers = [n for n, line in enumerate(self.lines) if self._HEADER.match(line)]
        if index is None:
            return 0, headers[0] if headers else len(self.lines)
        specs = [n for n in headers if self._SPEC_HEADER.match(self.lines[n])]
        if index >= len(specs):
            return 0, 0
        start = specs[index]
        end = next((n for n in headers if n > start), len(self.lines))
        return start, end
