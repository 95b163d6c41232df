"""Reading `git diff` output: which lines of which files an edit touched, renames included."""

from __future__ import annotations

import bisect
import re
from typing import Iterable, List, Optional, Tuple

from codegen.lint.git import decode, encode

_HUNK_RE = re.compile(rb"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
# Stands in for "until the end of the file" in line ranges.
_EOF_LINE = 1 << 62


class Ranges:
    """Sorted, non-overlapping closed intervals of line numbers."""

    __slots__ = ("starts", "ends", "tags")

    def __init__(self, pairs: Iterable[Tuple[int, int, int]]):
        items = sorted(pairs)
        self.starts = [a for a, _, _ in items]
        self.ends = [b for _, b, _ in items]
        self.tags = [t for _, _, t in items]

    def __bool__(self) -> bool:
        return bool(self.starts)

    def find(self, lo: int, hi: int) -> int:
        """Index of an interval meeting ``[lo, hi]``, or -1."""
        i = bisect.bisect_right(self.starts, hi) - 1
        if i >= 0 and self.ends[i] >= lo:
            return i
        return -1

    def hits(self, lo: int, hi: int) -> bool:
        return self.find(lo, hi) >= 0


class FileDiff:
    """Changes to one file: status, paths on both sides and line ranges."""

    def __init__(self) -> None:
        self.status = "M"  # A, D, M, R (C is folded into A)
        self.old_path: Optional[str] = None
        self.new_path: Optional[str] = None
        # (old_start, old_count, new_start, new_count) as in the @@ header.
        self.hunks: List[Tuple[int, int, int, int]] = []
        self.binary = False
        self.whole_new = False
        self.added = Ranges(())
        self.removed = Ranges(())
        self._old_keys: List[int] = []
        self._offsets: List[int] = []

    @property
    def touched(self) -> bool:
        return (self.whole_new or self.binary or bool(self.hunks)
                or self.status in ("A", "D"))

    def finish(self) -> None:
        if self.status == "A":
            self.whole_new = True
        if self.whole_new:
            self.added = Ranges([(1, _EOF_LINE, -1)])
            self.removed = Ranges(())
            return
        self.added = Ranges((ns, ns + nc - 1, i)
                            for i, (_, _, ns, nc) in enumerate(self.hunks) if nc)
        self.removed = Ranges((os_, os_ + oc - 1, i)
                              for i, (os_, oc, _, _) in enumerate(self.hunks) if oc)
        total = 0
        for os_, oc, _, nc in self.hunks:
            # A hunk lies wholly before old line L when this key is < L.
            self._old_keys.append(os_ if oc == 0 else os_ + oc - 1)
            total += nc - oc
            self._offsets.append(total)

    def map_old_line(self, line: int) -> Optional[int]:
        """Where an old line that survived the edit sits in the new file."""
        if self.removed.hits(line, line):
            return None
        i = bisect.bisect_left(self._old_keys, line)
        return line + (self._offsets[i - 1] if i else 0)

    def hunk_for_old_line(self, line: int) -> Optional[Tuple[int, int, int, int]]:
        i = self.removed.find(line, line)
        return self.hunks[self.removed.tags[i]] if i >= 0 else None



_C_ESCAPES = {ord("a"): 7, ord("b"): 8, ord("t"): 9, ord("n"): 10,
              ord("v"): 11, ord("f"): 12, ord("r"): 13}


def _unquote(name: str) -> str:
    """Undo git's C-style quoting of a path, if it is quoted."""
    if len(name) < 2 or name[0] != '"' or name[-1] != '"':
        return name
    body = encode(name[1:-1])
    out = bytearray()
    i = 0
    while i < len(body):
        c = body[i]
        if c != 0x5C or i + 1 >= len(body):
            out.append(c)
            i += 1
            continue
        nxt = body[i + 1]
        if 0x30 <= nxt <= 0x37:
            out.append(int(body[i + 1:i + 4], 8) & 0xFF)
            i += 4
        else:
            out.append(_C_ESCAPES.get(nxt, nxt))
            i += 2
    return decode(bytes(out))


def _take_quoted(text: str) -> Tuple[str, str]:
    """Split a leading C-quoted string off ``text``."""
    i = 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == '"':
            return _unquote(text[:i + 1]), text[i + 1:]
        i += 1
    return text, ""


def _strip_prefix(name: str, prefix: str) -> str:
    return name[len(prefix):] if name.startswith(prefix) else name


def _split_diff_git(rest: str) -> Tuple[Optional[str], Optional[str]]:
    """Best-effort reading of the two names on a ``diff --git`` line."""
    if rest.startswith('"'):
        a, tail = _take_quoted(rest)
        tail = tail.lstrip(" ")
        b = _take_quoted(tail)[0] if tail.startswith('"') else tail
        return _strip_prefix(a, "a/"), _strip_prefix(b, "b/")
    if rest.endswith('"') and ' "' in rest:
        cut = rest.index(' "')
        return _strip_prefix(rest[:cut], "a/"), _strip_prefix(_unquote(rest[cut + 1:]), "b/")
    # Unquoted and unrenamed: "a/P b/P" with both halves equal.
    n = len(rest)
    if n >= 5 and (n - 5) % 2 == 0:
        half = (n - 5) // 2
        a, b = rest[2:2 + half], rest[5 + half:]
        if rest.startswith("a/") and rest[2 + half:5 + half] == " b/" and a == b:
            return a, b
    cut = rest.find(" b/")
    if cut != -1:
        return _strip_prefix(rest[:cut], "a/"), rest[cut + 3:]
    return None, None


def _header_path(text: str, prefix: str) -> Optional[str]:
    if text.endswith("\t"):
        text = text[:-1]  # git adds a tab after names that contain spaces
    if text == "/dev/null":
        return None
    return _strip_prefix(_unquote(text), prefix)


def parse_patch(data: bytes) -> List[FileDiff]:
    """Split ``git diff --unified=0`` output into per-file records."""
    files: List[FileDiff] = []
    cur: Optional[FileDiff] = None
    in_header = False
    for raw in data.split(b"\n"):
        if raw.startswith(b"diff --git "):
            cur = FileDiff()
            files.append(cur)
            cur.old_path, cur.new_path = _split_diff_git(decode(raw[11:]))
            in_header = True
            continue
        if cur is None:
            continue
        if raw.startswith(b"@@"):
            in_header = False
            m = _HUNK_RE.match(raw)
            if m is not None:
                oc = m.group(2)
                nc = m.group(4)
                cur.hunks.append((int(m.group(1)), 1 if oc is None else int(oc),
                                  int(m.group(3)), 1 if nc is None else int(nc)))
            continue
        if not in_header:
            continue  # a removed or added line; only the headers matter
        line = decode(raw)
        if line.startswith("new file mode"):
            cur.status = "A"
        elif line.startswith("deleted file mode"):
            cur.status = "D"
        elif line.startswith("rename from "):
            cur.status = "R"
            cur.old_path = _unquote(line[len("rename from "):])
        elif line.startswith("rename to "):
            cur.new_path = _unquote(line[len("rename to "):])
        elif line.startswith("copy from "):
            cur.status = "C"
            cur.old_path = _unquote(line[len("copy from "):])
        elif line.startswith("copy to "):
            cur.new_path = _unquote(line[len("copy to "):])
        elif line.startswith("--- "):
            cur.old_path = _header_path(line[4:], "a/")
        elif line.startswith("+++ "):
            cur.new_path = _header_path(line[4:], "b/")
        elif line.startswith("Binary files "):
            cur.binary = True
    for f in files:
        if f.status == "A":
            f.old_path = None
        elif f.status == "D":
            f.new_path = None
        elif f.status == "C":
            # A copy leaves its source in place; treat the copy as a new file.
            f.status = "A"
            f.old_path = None
        f.finish()
    return files
