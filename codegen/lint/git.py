"""Git plumbing for the pairing-comment checker: one long-lived `git cat-file`, file listings,
and the two places files are read from (the work tree or a revision)."""

from __future__ import annotations

import os
import posixpath
import subprocess
from typing import List, Optional, Sequence, Set, Tuple

from codegen.lint import markers


class UsageError(Exception):
    """Raised for problems that make checking impossible (exit status 2)."""


# ---------------------------------------------------------------------------
# git plumbing


def within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def decode(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def split_nul(raw: bytes) -> List[str]:
    return [decode(x) for x in raw.split(b"\0") if x]


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
            detail = decode(proc.stderr).strip() or f"exit status {proc.returncode}"
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
        proc.stdin.write(encode(spec) + b"\n")
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
    top = decode(proc.stdout).strip()
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
        return not within(os.path.realpath(self._full(path)), self._real_root)

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
            self._paths = set(split_nul(raw))
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
