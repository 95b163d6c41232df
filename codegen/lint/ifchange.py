"""``layoutgen lint-ifchange``: keep paired regions of code edited together.

A region fenced by the ``IfChange`` / ``ThenChange`` markers (both with the
``LINT.`` prefix, see :mod:`codegen.lint.markers`) declares that whoever
edits it must also edit every file, or labelled region, listed by its
closing marker.

Two modes are offered:

* static (the default): every marker in the chosen files is validated --
  pairing, nesting, label uniqueness, existence of target files and labels,
  and whether each pairing is mirrored by the target;
* diff (``--base REV`` or ``--staged``): edits are read from ``git diff``
  and every touched region whose targets were left alone is reported.  The
  static rules are applied to the changed files as well.

Exit status: 0 when clean, 1 when there are errors or unexcused
violations, 2 for usage problems (not a git repository, unknown revision,
...).  Run standalone with ``python -m codegen.lint.ifchange``.
"""

from __future__ import annotations

import argparse
import bisect
import os
import posixpath
import re
import subprocess
import sys
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

from codegen.lint import markers
from codegen.lint.markers import (ERROR, IF_TOKEN, NOTE, THEN_TOKEN, WARNING,
                                  Block, ParsedFile, Problem, Target)

PROG = "lint-ifchange"
OVERRIDE_KEY = "NO_IFTTT"
_OVERRIDE_RE = re.compile(r"^\s*NO_IFTTT=(.*\S)\s*$", re.MULTILINE)
_HUNK_RE = re.compile(rb"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
# Stands in for "until the end of the file" in line ranges.
_EOF_LINE = 1 << 62


class UsageError(Exception):
    """Raised for problems that make checking impossible (exit status 2)."""


# ---------------------------------------------------------------------------
# git plumbing


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def _encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def _split_nul(raw: bytes) -> List[str]:
    return [_decode(x) for x in raw.split(b"\0") if x]


class Git:
    """Thin wrapper that runs git commands against one work tree."""

    def __init__(self, root: str):
        self.root = root
        self._cat: Optional[subprocess.Popen] = None

    def _base(self) -> List[str]:
        return ["git", "-C", self.root, "--literal-pathspecs",
                "-c", "core.quotePath=false"]

    def run(self, args: Sequence[str], check: bool = True) -> bytes:
        try:
            proc = subprocess.run(self._base() + list(args), stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        except OSError as exc:
            raise UsageError(f"cannot run git: {exc}") from exc
        if check and proc.returncode != 0:
            detail = _decode(proc.stderr).strip() or f"exit status {proc.returncode}"
            raise UsageError(f"git {' '.join(args)} failed: {detail}")
        return proc.stdout

    def ok(self, args: Sequence[str]) -> Tuple[bool, bytes]:
        try:
            proc = subprocess.run(self._base() + list(args), stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        except OSError as exc:
            raise UsageError(f"cannot run git: {exc}") from exc
        return proc.returncode == 0, proc.stdout

    def cat(self, spec: str):
        """Contents of blob ``spec`` (``REV:path`` or ``:path``), or None."""
        if "\n" in spec:
            good, data = self.ok(["cat-file", "blob", spec])
            return data if good else None
        if self._cat is None:
            try:
                self._cat = subprocess.Popen(
                    ["git", "-C", self.root, "cat-file", "--batch"],
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL)
            except OSError as exc:
                raise UsageError(f"cannot run git: {exc}") from exc
        proc = self._cat
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(_encode(spec) + b"\n")
        proc.stdin.flush()
        header = proc.stdout.readline()
        if not header:
            raise UsageError("git cat-file stopped unexpectedly")
        if header.endswith(b" missing\n") or header.endswith(b" ambiguous\n"):
            return None
        fields = header.split()
        if len(fields) != 3 or not fields[2].isdigit():
            return None
        size = int(fields[2])
        if size > markers.MAX_FILE_BYTES:  # scanned in chunks, never held whole
            data = markers.scan_oversized(proc.stdout.read, size)
        else:
            data = proc.stdout.read(size)
        proc.stdout.read(1)  # the newline that follows every object
        return data if fields[1] == b"blob" else None

    def close(self) -> None:
        if self._cat is not None:
            try:
                if self._cat.stdin:
                    self._cat.stdin.close()
                self._cat.wait(timeout=10)
            except Exception:  # pragma: no cover - best effort cleanup
                self._cat.kill()
            self._cat = None


def find_toplevel(start: str) -> str:
    try:
        proc = subprocess.run(["git", "-C", start, "rev-parse", "--show-toplevel"],
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    except OSError as exc:
        raise UsageError(f"cannot run git: {exc}") from exc
    top = _decode(proc.stdout).strip()
    if proc.returncode != 0 or not top:
        raise UsageError(f"{start} is not inside a git work tree")
    return os.path.realpath(top)


# ---------------------------------------------------------------------------
# Where file contents come from: the working tree, the index or a commit.


class WorktreeSource:
    """Files of the working tree. A path is followed through symbolic links only while it
    stays inside the repository; one that leaves it is treated as absent (and reported
    when a ThenChange names it)."""

    def __init__(self, root: str):
        self.root = root
        self._real_root = os.path.realpath(root)

    def _full(self, path: str) -> str:
        return os.path.join(self.root, *path.split("/"))

    def outside(self, path: str) -> bool:
        """Whether ``path`` resolves (through a symbolic link) to a place outside the repository."""
        return not _within(os.path.realpath(self._full(path)), self._real_root)

    def exists(self, path: str) -> bool:
        return not self.outside(path) and os.path.isfile(self._full(path))

    def is_dir(self, path: str) -> bool:
        return not self.outside(path) and os.path.isdir(self._full(path))

    def read(self, path: str):
        """The bytes of ``path``, an Oversized summary past the size limit, or None."""
        if not self.exists(path):  # also keeps FIFOs and devices from being opened
            return None
        try:
            with open(self._full(path), "rb") as fh:
                data = fh.read(markers.MAX_FILE_BYTES + 1)
                if len(data) <= markers.MAX_FILE_BYTES:
                    return data
                size = os.fstat(fh.fileno()).st_size
                fh.seek(0)
                return markers.scan_oversized(fh.read, max(size, len(data)))
        except OSError:
            return None


class BlobSource:
    """Files as recorded in the index (``rev`` None) or in commit ``rev``."""

    def __init__(self, git: Git, rev: Optional[str]):
        self.git = git
        self.rev = rev
        self._paths: Optional[Set[str]] = None
        self._dirs: Optional[Set[str]] = None

    def _all(self) -> Set[str]:
        if self._paths is None:
            if self.rev is None:
                raw = self.git.run(["ls-files", "-z"])
            else:
                raw = self.git.run(["ls-tree", "-r", "-z", "--name-only", self.rev])
            self._paths = set(_split_nul(raw))
        return self._paths

    def exists(self, path: str) -> bool:
        return path in self._all()

    def is_dir(self, path: str) -> bool:
        if self._dirs is None:
            dirs: Set[str] = set()
            for p in self._all():
                d = posixpath.dirname(p)
                while d and d not in dirs:
                    dirs.add(d)
                    d = posixpath.dirname(d)
            self._dirs = dirs
        return path in self._dirs

    def read(self, path: str) -> Optional[bytes]:
        prefix = ":" if self.rev is None else self.rev + ":"
        return self.git.cat(prefix + path)


# ---------------------------------------------------------------------------
# Static checks


class Checker:
    """Validates the markers of files read from one source, with caching."""

    def __init__(self, source, strict: bool = False):
        self.source = source
        self.strict = strict
        self._cache: Dict[str, Optional[ParsedFile]] = {}

    def parsed(self, path: str) -> Optional[ParsedFile]:
        try:
            return self._cache[path]
        except KeyError:
            pass
        data = self.source.read(path)
        pf = None if data is None else markers.parse_bytes(path, data)
        self._cache[path] = pf
        return pf

    def check_file(self, path: str) -> List[Problem]:
        pf = self.parsed(path)
        if pf is None:
            return []
        if pf.binary:
            return list(pf.problems)  # a marker where it cannot be checked
        found = list(pf.problems)
        for block in pf.blocks:
            for target in block.targets:
                problem = self._check_target(pf, target)
                if problem is not None:
                    found.append(problem)
        return found

    def _check_target(self, pf: ParsedFile, t: Target) -> Optional[Problem]:
        if t.path == pf.path:
            tpf: Optional[ParsedFile] = pf
        else:
            if getattr(self.source, "outside", None) is not None and self.source.outside(t.path):
                return Problem(pf.path, t.line, f"target {t.path} resolves outside the repository "
                                                "(through a symbolic link), which the checker does not follow")
            if not self.source.exists(t.path):
                if self.source.is_dir(t.path):
                    return Problem(pf.path, t.line, f"target {t.path} is a directory, not a file")
                return Problem(pf.path, t.line, f"target file {t.path} does not exist")
            tpf = self.parsed(t.path)
        if tpf is not None and tpf.binary:
            if t.label is not None:
                return Problem(pf.path, t.line,
                               f"target {t.display}: {t.path} is binary and cannot hold labels")
            return None  # a binary file cannot name anything back
        if t.label is not None:
            if tpf is None or t.label not in tpf.label_lines:
                return Problem(pf.path, t.line,
                               f"label '{t.label}' not found in {t.path} "
                               f"(no {IF_TOKEN}({t.label}) there)")
            back_block = tpf.by_label.get(t.label)
            if back_block is None:
                return None  # that region is malformed; it is reported on its own
            if any(bt.path == pf.path for bt in back_block.targets):
                return None
            msg = (f"one-way pairing: the block labelled '{t.label}' in {t.path} "
                   f"does not list {pf.path} in its {THEN_TOKEN}")
        else:
            if tpf is not None and pf.path in tpf.named_paths:
                return None
            msg = f"one-way pairing: no block in {t.path} lists {pf.path} in its {THEN_TOKEN}"
        return Problem(pf.path, t.line, msg, ERROR if self.strict else WARNING)


# ---------------------------------------------------------------------------
# Reading ``git diff`` output


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
    body = _encode(name[1:-1])
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
    return _decode(bytes(out))


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
            cur.old_path, cur.new_path = _split_diff_git(_decode(raw[11:]))
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
        line = _decode(raw)
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


# ---------------------------------------------------------------------------
# Command-line plumbing


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the options of the checker on ``parser``."""
    parser.add_argument(
        "paths", nargs="*", metavar="PATH",
        help="files or folders to check (default: every file git tracks plus "
             "untracked files that are not ignored); in diff mode they limit "
             "which changed files are examined")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--base", metavar="REV",
        help="diff mode: check the changes between REV and the working tree")
    mode.add_argument(
        "--staged", action="store_true",
        help="diff mode: check the changes between HEAD and the index "
             "(for a pre-commit hook)")
    parser.add_argument(
        "--strict", action="store_true",
        help="treat one-way pairings (a target that does not point back) as errors")
    parser.add_argument(
        "--root", metavar="DIR",
        help="repository to check (default: the git top level of the current folder)")


def _within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _user_paths(root: str, paths: Sequence[str], root_given: bool,
                must_exist: bool) -> List[str]:
    """Turn command-line paths into repo-relative posix paths."""
    cwd = os.path.realpath(os.getcwd())
    base = cwd
    if root_given and not _within(cwd, root):
        base = root  # relative paths make more sense against the repository
    result: List[str] = []
    for p in paths:
        full = os.path.abspath(os.path.join(base, p))
        head, tail = os.path.split(full)
        full = os.path.join(os.path.realpath(head), tail) if tail else os.path.realpath(full)
        if not _within(full, root):
            raise UsageError(f"{p} is outside the repository {root}")
        if must_exist and not os.path.exists(full):
            raise UsageError(f"{p} does not exist")
        rel = os.path.relpath(full, root)
        rel = "" if rel == os.curdir else rel.replace(os.sep, "/")
        result.append(rel)
    return result


def _in_scope(path: str, scope: Sequence[str]) -> bool:
    if not scope:
        return True
    for s in scope:
        if not s or path == s or path.startswith(s + "/"):
            return True
    return False


def _list_files(git: Git, root: str, scope: Sequence[str]) -> List[str]:
    listing = ["ls-files", "-z", "--cached", "--others", "--exclude-standard"]
    names: Set[str] = set()
    explicit: Set[str] = set()
    if not scope or "" in scope:
        names.update(_split_nul(git.run(listing)))
    else:
        folders = []
        for rel in scope:
            full = os.path.join(root, *rel.split("/"))
            if os.path.islink(full):
                continue  # a link is checked as git sees it: not followed
            if os.path.isfile(full):
                explicit.add(rel)
            else:
                folders.append(rel)
        if folders:
            names.update(_split_nul(git.run(listing + ["--"] + folders)))
    result = set(explicit)
    for name in names:
        full = os.path.join(root, *name.split("/"))
        if os.path.isfile(full) and not os.path.islink(full):
            result.add(name)
    return sorted(result)


def _emit(problems: List[Problem], out, err, checked: int) -> int:
    problems.sort(key=lambda p: (p.path, p.line))
    errors = warnings = notes = 0
    for p in problems:
        out.write(p.format() + "\n")
        if p.severity == ERROR:
            errors += 1
        elif p.severity == WARNING:
            warnings += 1
        else:
            notes += 1
    if problems:
        parts = [f"{errors} error(s)", f"{warnings} warning(s)"]
        if notes:
            parts.append(f"{notes} overridden")
        err.write(f"{PROG}: {', '.join(parts)} in {checked} file(s)\n")
    return 1 if errors else 0


def run(args: argparse.Namespace, out=None, err=None) -> int:
    """Carry out the check described by ``args``; returns the exit status.

    ``out`` receives the diagnostics and ``err`` the summary and usage
    errors; both default to the current ``sys.stdout`` / ``sys.stderr``.
    """
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    try:
        return _run(args, out, err)
    except UsageError as exc:
        err.write(f"{PROG}: error: {exc}\n")
        return 2


def _run(args: argparse.Namespace, out, err) -> int:
    base_rev = getattr(args, "base", None)
    staged = bool(getattr(args, "staged", False))
    strict = bool(getattr(args, "strict", False))
    root_arg = getattr(args, "root", None)
    paths = list(getattr(args, "paths", None) or [])
    if base_rev is not None and staged:
        raise UsageError("--base and --staged cannot be used together")
    if root_arg is not None and not os.path.isdir(root_arg):
        raise UsageError(f"--root {root_arg}: no such directory")
    root = find_toplevel(root_arg if root_arg is not None else os.getcwd())
    diff_mode = staged or base_rev is not None
    scope = _user_paths(root, paths, root_arg is not None, must_exist=not diff_mode)
    git = Git(root)
    try:
        if diff_mode:
            return _run_diff(git, root, scope, base_rev, strict, out, err)
        return _run_static(git, root, scope, strict, out, err)
    finally:
        git.close()


def _run_static(git: Git, root: str, scope: List[str], strict: bool, out, err) -> int:
    files = _list_files(git, root, scope)
    checker = Checker(WorktreeSource(root), strict)
    problems: List[Problem] = []
    for name in files:
        problems.extend(checker.check_file(name))
    return _emit(problems, out, err, len(files))


# ---------------------------------------------------------------------------
# Diff mode


class _DiffContext:
    def __init__(self, diffs: List[FileDiff], new: Checker, old: Checker, old_name: str):
        self.diffs = diffs
        self.new = new
        self.old = old
        self.old_name = old_name
        self.by_new: Dict[str, FileDiff] = {d.new_path: d for d in diffs if d.new_path}
        self.by_old: Dict[str, FileDiff] = {d.old_path: d for d in diffs if d.old_path}

    def gone(self, path: str) -> Optional[str]:
        """Why ``path`` no longer exists after the edit, if it doesn't."""
        if path in self.by_new:
            return None
        d = self.by_old.get(path)
        if d is None:
            return None
        if d.status == "D":
            return f"target {path} was deleted"
        if d.status == "R":
            return f"target {path} was renamed to {d.new_path}"
        return None

    def target_changed(self, t: Target) -> bool:
        d = self.by_new.get(t.path)
        if d is None or not d.touched:
            return False
        if t.label is None:
            return True
        tpf = self.new.parsed(t.path)
        nb = tpf.by_label.get(t.label) if tpf is not None else None
        if nb is not None and d.added.hits(nb.start, nb.end_last):
            return True
        if d.removed and d.old_path is not None:
            opf = self.old.parsed(d.old_path)
            ob = opf.by_label.get(t.label) if opf is not None else None
            if ob is not None and d.removed.hits(ob.start, ob.end_last):
                return True
        return False


def _changed_blocks(d: FileDiff, ctx: _DiffContext) -> Tuple[List[Block], List[Block]]:
    """Blocks of ``d`` whose lines were edited.

    Returns ``(live, removed)``: regions that still exist (new-side line
    numbers) and regions that vanished (old-side line numbers).  Regions
    written from scratch in this diff are left out of both.
    """
    new_pf = ctx.new.parsed(d.new_path) if d.new_path is not None else None
    if new_pf is not None and new_pf.binary:
        return [], []
    if d.whole_new:
        return [], []
    new_blocks = new_pf.blocks if new_pf is not None else []
    new_starts = [b.start for b in new_blocks]  # ascending: blocks never nest

    live: Dict[int, Block] = {}
    for nb in new_blocks:
        if not d.added.hits(nb.start, nb.end_last):
            continue
        if d.added.hits(nb.start, nb.start):
            # The opening marker line is itself new: a region introduced by
            # this diff.  If it merely rewrote an existing opening marker
            # (say, to add a label), the pass over the old regions below
            # matches it to its predecessor and puts it back.
            continue
        live[nb.start] = nb

    removed: List[Block] = []
    if d.removed and d.old_path is not None:
        opf = ctx.old.parsed(d.old_path)
        if opf is not None and not opf.binary:
            for ob in opf.blocks:
                if not d.removed.hits(ob.start, ob.end_last):
                    continue
                match: Optional[Block] = None
                if new_pf is not None:
                    mapped = d.map_old_line(ob.start)
                    if mapped is not None:
                        match = new_pf.block_starting_at(mapped)
                    else:
                        hunk = d.hunk_for_old_line(ob.start)
                        if hunk is not None and hunk[3]:
                            # The opening marker line was rewritten: pair the
                            # region with the first one opening in the lines
                            # that replaced it.
                            lo, hi = hunk[2], hunk[2] + hunk[3] - 1
                            i = bisect.bisect_left(new_starts, lo)
                            if i < len(new_starts) and new_starts[i] <= hi:
                                match = new_blocks[i]
                if match is not None:
                    live.setdefault(match.start, match)
                else:
                    removed.append(ob)
    return sorted(live.values(), key=lambda b: b.start), removed


def _block_violations(block: Block, ctx: _DiffContext, vanished: bool) -> List[str]:
    untouched: List[str] = []
    other: List[str] = []
    seen: Set[Tuple[str, Optional[str]]] = set()
    for t in block.targets:
        key = (t.path, t.label)
        if key in seen:
            continue
        seen.add(key)
        why = ctx.gone(t.path)
        if why is not None:
            if not vanished:  # a removed region may take its partner with it
                other.append(f"block changed but {why}")
            continue
        if not ctx.target_changed(t):
            untouched.append(t.display)
    msgs = []
    if untouched:
        msgs.append(f"block changed but {', '.join(untouched)} not changed")
    msgs.extend(other)
    if vanished:
        msgs = [f"{m} (block removed; line number is from {ctx.old_name})" for m in msgs]
    return msgs


def _dangling_references(git: Git, ctx: _DiffContext, staged: bool, scope: Sequence[str],
                         skip: Set[str]) -> List[Problem]:
    """Unchanged files whose blocks still name a file this diff removed."""
    vanished = {p for p in ctx.by_old if ctx.gone(p) is not None}
    if not vanished:
        return []
    args = ["grep", "-l", "-z", "-I", "-F"]
    args.append("--cached" if staged else "--untracked")
    for name in sorted({posixpath.basename(p) for p in vanished}):
        args += ["-e", name]
    good, raw = git.ok(args)
    if not good:
        return []
    found: List[Problem] = []
    for name in _split_nul(raw):
        if name in skip or not _in_scope(name, scope):
            continue
        pf = ctx.new.parsed(name)
        if pf is None:
            continue
        for block in pf.blocks:
            for t in block.targets:
                if t.path in vanished:
                    found.append(Problem(name, t.line, ctx.gone(t.path) or ""))
    return found


def _override_reason(git: Git, staged: bool, rev: Optional[str]) -> Optional[str]:
    if staged:
        reason = os.environ.get(OVERRIDE_KEY, "").strip()
        return reason or None
    good, raw = git.ok(["log", "--format=%B", f"{rev}..HEAD", "--"])
    if not good:
        return None
    m = _OVERRIDE_RE.search(_decode(raw))
    return m.group(1).strip() if m else None


def _run_diff(git: Git, root: str, scope: List[str], base_rev: Optional[str],
              strict: bool, out, err) -> int:
    staged = base_rev is None
    cmd = ["diff", "-M", "--unified=0", "--no-color", "--no-ext-diff", "--no-textconv",
           "--src-prefix=a/", "--dst-prefix=b/", "--ignore-submodules=all"]
    if staged:
        cmd.append("--cached")
        new_source = BlobSource(git, None)
        old_source = BlobSource(git, "HEAD")
        old_name = "HEAD"
        rev = None
    else:
        good, raw = git.ok(["rev-parse", "--verify", "--quiet", "--end-of-options",
                            base_rev + "^{commit}"])
        if not good:
            raise UsageError(f"unknown revision '{base_rev}'")
        rev = _decode(raw).strip()
        cmd.append(rev)
        new_source = WorktreeSource(root)
        old_source = BlobSource(git, rev)
        old_name = base_rev
    cmd.append("--")
    diffs = parse_patch(git.run(cmd))
    if not staged:
        # Files that git does not track yet are part of the working tree too.
        known = {d.new_path for d in diffs if d.new_path}
        for name in _split_nul(git.run(["ls-files", "-z", "--others", "--exclude-standard"])):
            if name in known:
                continue
            full = os.path.join(root, *name.split("/"))
            if not os.path.isfile(full) or os.path.islink(full):
                continue
            d = FileDiff()
            d.status = "A"
            d.new_path = name
            d.finish()
            diffs.append(d)

    new = Checker(new_source, strict)
    old = Checker(old_source, strict)
    ctx = _DiffContext(diffs, new, old, old_name)

    problems: List[Problem] = []
    violations: List[Problem] = []
    changed_files: Set[str] = set()
    for d in diffs:
        if d.new_path is not None and _in_scope(d.new_path, scope):
            changed_files.add(d.new_path)
            problems.extend(new.check_file(d.new_path))
    for d in diffs:
        where = d.new_path if d.new_path is not None else d.old_path
        if where is None or not d.touched:
            continue
        if not (_in_scope(where, scope) or (d.old_path and _in_scope(d.old_path, scope))):
            continue
        live, removed = _changed_blocks(d, ctx)
        for block in live:
            for msg in _block_violations(block, ctx, vanished=False):
                violations.append(Problem(block.path, block.start, msg))
        for block in removed:
            for msg in _block_violations(block, ctx, vanished=True):
                violations.append(Problem(block.path, block.start, msg))
    violations.extend(_dangling_references(git, ctx, staged, scope, changed_files))

    if violations:
        reason = _override_reason(git, staged, rev)
        if reason is not None:
            for v in violations:
                v.severity = NOTE
                v.message += f" (overridden by {OVERRIDE_KEY}={reason})"
    problems.extend(violations)
    checked = len({d.new_path or d.old_path for d in diffs})
    return _emit(problems, out, err, checked)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m codegen.lint.ifchange",
        description=(f"Check {IF_TOKEN} / {THEN_TOKEN} pairing comments: in static "
                     "mode validate them, in diff mode require that edits to a "
                     "guarded block come with edits to its targets."))
    add_arguments(parser)
    args = parser.parse_args(argv)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
