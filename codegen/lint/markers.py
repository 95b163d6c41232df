"""Reading the paired change markers out of arbitrary text files.

A guarded region opens with the ``IfChange`` marker (optionally carrying a
label in parentheses) and closes with the ``ThenChange`` marker, whose
parenthesised list names the files (or labelled regions of files) that must
be edited together with the region.  Both markers carry the ``LINT.``
prefix.  This module only understands the text of a single file; checks
that span several files live in :mod:`codegen.lint.ifchange`.

The marker words are assembled from pieces below so that this source file
does not itself contain markers that the checker would pick up.
"""

from __future__ import annotations

import posixpath
import re
from typing import Dict, List, Optional, Set, Tuple

PREFIX = "LINT."
IF_TOKEN = PREFIX + "IfChange"
THEN_TOKEN = PREFIX + "ThenChange"

# How far into a file we look for NUL bytes when deciding it is binary.
BINARY_SNIFF_BYTES = 8192
# The largest file read whole; a bigger one is only scanned for markers, in chunks.
MAX_FILE_BYTES = 8 << 20
_SCAN_CHUNK = 1 << 20

_MARKER_RE = re.compile(r"(?<![\w.])LINT\.(IfChange|ThenChange)(?!\w)")
# The same markers in raw bytes, for files that cannot be decoded (\w is ASCII here, so a
# marker next to a non-ASCII letter counts: for such files erring towards an error is right).
_MARKER_BYTES_RE = re.compile(rb"(?<![\w.])LINT\.(?:IfChange|ThenChange)(?!\w)")
_LONGEST_MARKER = len(THEN_TOKEN) + 1
# Anything but whitespace and the characters that carry meaning in the
# target syntax.
_LABEL_RE = re.compile(r"[^\s,():]+\Z")
# A comment opener sitting at the end of the text that precedes a marker on
# its line; used to strip the same opener from continuation lines.
_LEADER_RE = re.compile(r"(//+|#+|;+|--+|/\*+|\*+|<!--|%+|!+|')\s*\Z")
_TRAILER_RE = re.compile(r"(?:\*/|-->)\s*\Z")
_SPLIT_RE = re.compile(r"[,\s]+")

ERROR = "error"
WARNING = "warning"
NOTE = "note"


class Problem:
    """One diagnostic tied to a file and a 1-based line number."""

    __slots__ = ("path", "line", "message", "severity")

    def __init__(self, path: str, line: int, message: str, severity: str = ERROR):
        self.path = path
        self.line = line
        self.message = message
        self.severity = severity

    def format(self) -> str:
        if self.severity == ERROR:
            return f"{self.path}:{self.line}: {self.message}"
        return f"{self.path}:{self.line}: {self.severity}: {self.message}"

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"Problem({self.format()!r})"


class Target:
    """One entry of a ThenChange list, already resolved to a repo path."""

    __slots__ = ("raw", "path", "label", "line")

    def __init__(self, raw: str, path: str, label: Optional[str], line: int):
        self.raw = raw
        self.path = path
        self.label = label
        self.line = line

    @property
    def display(self) -> str:
        return f"{self.path}:{self.label}" if self.label is not None else self.path

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"Target({self.display!r} @ {self.line})"


class Block:
    """A closed region: the opening marker line through the closing one.

    ``start`` is the line of the opening marker, ``end`` the line on which
    the closing marker begins and ``end_last`` the line holding the ``)``
    that ends its target list (equal to ``end`` unless the list wraps).
    """

    __slots__ = ("path", "label", "start", "end", "end_last", "targets")

    def __init__(self, path: str, label: Optional[str], start: int, end: int,
                 end_last: int, targets: List[Target]):
        self.path = path
        self.label = label
        self.start = start
        self.end = end
        self.end_last = end_last
        self.targets = targets

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"Block({self.path}:{self.start}-{self.end_last} label={self.label!r})"


class ParsedFile:
    """Everything the checker needs to know about one file's markers."""

    __slots__ = ("path", "binary", "blocks", "problems", "label_lines",
                 "by_label", "named_paths", "_by_start")

    def __init__(self, path: str, binary: bool = False):
        self.path = path
        self.binary = binary
        self.blocks: List[Block] = []
        self.problems: List[Problem] = []
        # Every label that appears on an opening marker, even on a broken
        # (nested or unclosed) one, mapped to its first line.  Used to decide
        # whether a ``file:label`` target exists without piling up errors.
        self.label_lines: Dict[str, int] = {}
        # Labels of properly closed blocks.
        self.by_label: Dict[str, Block] = {}
        # Union of the target paths of all blocks in this file.
        self.named_paths: Set[str] = set()
        self._by_start: Optional[Dict[int, Block]] = None

    def block_starting_at(self, line: int) -> Optional[Block]:
        if self._by_start is None:
            self._by_start = {b.start: b for b in self.blocks}
        return self._by_start.get(line)


class Oversized:
    """A file past MAX_FILE_BYTES: its size, and the line of its first marker (None if none)."""

    __slots__ = ("size", "line")

    def __init__(self, size: int, line: Optional[int]):
        self.size = size
        self.line = line


def scan_oversized(read, size: int) -> Oversized:
    """Read a `size`-byte file through `read(n)` in chunks, looking only for a marker, so a
    huge file costs bounded memory and no marker hides past any prefix. Chunks overlap by
    the length of a marker so one cut in two is still found."""
    done, lines, carry = 0, 0, b""
    while done < size:
        chunk = read(min(_SCAN_CHUNK, size - done))
        if not chunk:
            break
        done += len(chunk)
        window = carry + chunk
        found = _MARKER_BYTES_RE.search(window)
        if found is not None:
            return Oversized(size, lines + window.count(b"\n", 0, found.start()) + 1)
        keep = min(len(window), _LONGEST_MARKER)
        lines += window.count(b"\n", 0, len(window) - keep)
        carry = window[len(window) - keep:]
    return Oversized(size, None)


def is_binary(data: bytes) -> bool:
    return b"\0" in data[:BINARY_SNIFF_BYTES]


def parse_bytes(path: str, data) -> ParsedFile:
    """Parse raw file contents (bytes, or an Oversized summary). A file that cannot be read
    as text (NUL bytes, invalid UTF-8, past MAX_FILE_BYTES) yields no blocks: skipped when
    it holds no marker, an error naming it when it does, so markers cannot hide there."""
    if isinstance(data, Oversized):
        return _unreadable(path, data.line, f"is {data.size} bytes, over the {MAX_FILE_BYTES >> 20} MiB "
                                            "limit of the checker")
    if PREFIX.encode("ascii") not in data:
        # Cheap exit for the overwhelmingly common case of a file that has
        # no markers at all; avoids decoding every file in the repository.
        return ParsedFile(path, binary=is_binary(data))
    if b"\0" in data:
        return _unreadable(path, _first_marker_line(data), "holds NUL bytes, so it is not text")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        return _unreadable(path, _first_marker_line(data), f"is not valid UTF-8 (byte {error.start})")
    return parse_text(path, text)


def _first_marker_line(data: bytes) -> Optional[int]:
    found = _MARKER_BYTES_RE.search(data)
    return None if found is None else data.count(b"\n", 0, found.start()) + 1


def _unreadable(path: str, line: Optional[int], why: str) -> ParsedFile:
    pf = ParsedFile(path, binary=True)
    if line is not None:
        pf.problems.append(Problem(path, line, f"{path} {why}, but holds a {PREFIX} marker (first on this line) "
                                   "that cannot be checked; make it UTF-8 text under the limit, or remove the marker"))
    return pf


def resolve_target(from_path: str, raw: str) -> Tuple[Optional[str], Optional[str], Optional[str]]:
    """Turn a target as written into ``(repo_path, label, error)``.

    Paths starting with ``//`` are taken from the repository root, all
    others from the folder of ``from_path``.  A bare ``:label`` refers to a
    labelled region of the same file.
    """
    label: Optional[str] = None
    path_part = raw
    if ":" in raw:
        path_part, _, label = raw.rpartition(":")
        if not label:
            return None, None, f"target '{raw}' has an empty label after ':'"
        if not _LABEL_RE.match(label):
            return None, None, f"target '{raw}' has an invalid label"
    if path_part == "":
        if label is None:
            return None, None, f"empty target '{raw}'"
        return from_path, label, None
    if path_part.startswith("//"):
        rel = path_part[2:]
        if not rel.strip("/"):
            return None, None, f"target '{raw}' names no file"
    elif path_part.startswith("/"):
        return None, None, (f"target '{raw}' is an absolute path; use '//path' "
                            "for paths from the repository root")
    else:
        rel = posixpath.join(posixpath.dirname(from_path), path_part)
    norm = posixpath.normpath(rel)
    if norm in (".", "..") or norm.startswith("../") or norm.startswith("/"):
        return None, None, f"target '{raw}' points outside the repository"
    return norm, label, None


def _strip_quotes(item: str) -> str:
    return item.strip("'\"`")


def parse_text(path: str, text: str) -> ParsedFile:
    """Scan ``text`` (the contents of repo file ``path``) for markers."""
    pf = ParsedFile(path)
    problems = pf.problems
    blocks = pf.blocks
    label_lines = pf.label_lines

    n = len(text)
    cur_off = 0       # offset up to which newlines have been counted
    cur_line = 1      # line number at cur_off
    # The currently open region, if any: (line, label).
    open_line: Optional[int] = None
    open_label: Optional[str] = None

    search = _MARKER_RE.search
    pos = 0
    # A match found ahead of time while bounding a target list; reused so
    # that no stretch of text is searched twice.
    ahead = None
    while True:
        if ahead is not None and ahead.start() >= pos:
            m = ahead
        else:
            m = search(text, pos)
        ahead = None
        if m is None:
            break
        start = m.start()
        cur_line += text.count("\n", cur_off, start)
        cur_off = start
        line = cur_line
        after = m.end()

        if m.group(1) == "IfChange":
            pos = after
            label: Optional[str] = None
            if after < n and text[after] == "(":
                eol = text.find("\n", after)
                if eol == -1:
                    eol = n
                close = text.find(")", after, eol)
                if close == -1:
                    problems.append(Problem(path, line, f"unterminated label in {IF_TOKEN}("))
                else:
                    label = text[after + 1:close].strip()
                    pos = close + 1
                    if not label:
                        problems.append(Problem(path, line, f"empty label in {IF_TOKEN}()"))
                        label = None
                    elif not _LABEL_RE.match(label):
                        problems.append(Problem(path, line, f"invalid label '{label}' in {IF_TOKEN}"))
                        label = None
            if label is not None:
                first = label_lines.get(label)
                if first is not None:
                    problems.append(Problem(
                        path, line, f"duplicate label '{label}' (first used on line {first})"))
                else:
                    label_lines[label] = line
            if open_line is not None:
                problems.append(Problem(
                    path, line,
                    f"nested {IF_TOKEN}: the block opened on line {open_line} is still open"))
                continue
            open_line = line
            open_label = label
            continue

        # Closing marker.  Its target list is mandatory and may wrap.
        j = after
        while j < n and text[j] in " \t":
            j += 1
        targets: List[Target] = []
        n_items = 0
        end_last = line
        if j >= n or text[j] != "(":
            problems.append(Problem(
                path, line, f"{THEN_TOKEN} must be followed by a '(target, ...)' list"))
            pos = after
            well_formed = False
        else:
            # The list may not run into the next marker; bounding the search
            # also keeps a file full of unterminated lists linear to scan.
            ahead = search(text, j + 1)
            limit = ahead.start() if ahead is not None else n
            close = text.find(")", j + 1, limit)
            if close == -1:
                problems.append(Problem(path, line, f"unterminated {THEN_TOKEN}( list: missing ')'"))
                pos = j + 1
                well_formed = False
            else:
                pos = close + 1
                well_formed = True
                body = text[j + 1:close]
                end_last = line + body.count("\n")
                targets, n_items = _parse_targets(path, text, start, line, body, problems)

        if open_line is None:
            problems.append(Problem(
                path, line, f"{THEN_TOKEN} without a preceding {IF_TOKEN}"))
            continue
        if well_formed and n_items == 0:
            problems.append(Problem(path, line, f"{THEN_TOKEN}() lists no targets"))
        block = Block(path, open_label, open_line, line, end_last, targets)
        blocks.append(block)
        if open_label is not None and open_label not in pf.by_label:
            pf.by_label[open_label] = block
        for t in targets:
            pf.named_paths.add(t.path)
        open_line = None
        open_label = None

    if open_line is not None:
        problems.append(Problem(
            path, open_line, f"{IF_TOKEN} is never closed by a {THEN_TOKEN}"))
    return pf


def _parse_targets(path: str, text: str, marker_off: int, line: int, body: str,
                   problems: List[Problem]) -> Tuple[List[Target], int]:
    """Split a target list into resolved targets.

    Returns the targets that resolved cleanly together with the number of
    entries that were written (bad ones included), so the caller can tell an
    empty list from a list whose entries were all rejected.

    Continuation lines of a wrapped list lose the comment opener that the
    marker line itself uses (``//``, ``#``, ``--`` ...), or a leading ``*``
    inside a ``/* */`` comment, plus any trailing comment closer.
    """
    parts = body.split("\n")
    cont_re: Optional[re.Pattern] = None
    if len(parts) > 1:
        bol = text.rfind("\n", 0, marker_off) + 1
        lm = _LEADER_RE.search(text, bol, marker_off)
        if lm is not None:
            leader = lm.group(1)
            if leader.startswith("/*") or leader.startswith("*"):
                cont_re = re.compile(r"\s*\*(?!/)")
            elif leader != "<!--":
                cont_re = re.compile(r"\s*" + re.escape(leader))
    targets: List[Target] = []
    n_items = 0
    for idx, part in enumerate(parts):
        if idx and cont_re is not None:
            cm = cont_re.match(part)
            if cm is not None:
                part = part[cm.end():]
        part = _TRAILER_RE.sub("", part)
        for item in _SPLIT_RE.split(part):
            item = _strip_quotes(item)
            if not item:
                continue
            n_items += 1
            tline = line + idx
            tpath, tlabel, err = resolve_target(path, item)
            if err is not None:
                problems.append(Problem(path, tline, err))
                continue
            targets.append(Target(item, tpath, tlabel, tline))
    return targets, n_items
