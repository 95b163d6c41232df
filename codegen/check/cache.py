"""Results of check work that passed, kept by the sha256 of everything the work read.

A unit of work (one compile, one `go test`, the Python probe) names its inputs in an
`Inputs`: the exact command line, the identity of each tool (its resolved path and version
output), the bytes of every input file, the environment variables that steer the tool, and
the digest of layoutgen's own source (the code that judges the result). Files found only
while running (the headers a compile included, from its depfile) are stored in the record
and re-hashed on every lookup, as ccache's direct mode does.

Only passes are stored. A record is a small JSON object written atomically (temporary file,
then rename); anything that does not parse and validate is a miss, never trusted.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
from typing import Optional

FORMAT = "layoutgen-check-cache"
VERSION = 1
ENV_VAR = "LAYOUTGEN_CACHE"
SCRATCH = "$SCRATCH"  # stands for a run's temporary folder in a command line, so keys repeat
_MAX_RECORD = 1 << 20
_HEX = re.compile(r"[0-9a-f]{64}")
# Environment variables that change what gcc finds or does.
C_ENV = ("CPATH", "C_INCLUDE_PATH", "GCC_EXEC_PREFIX", "COMPILER_PATH", "SOURCE_DATE_EPOCH")


def root() -> Optional[str]:
    """The cache folder, or None when LAYOUTGEN_CACHE=off."""
    chosen = os.environ.get(ENV_VAR)
    if chosen == "off":
        return None
    if chosen:
        return os.path.abspath(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(os.path.abspath(base), "layoutgen")


# ---- hashing, memoized for one process (a run reads the same headers many times) ----

_lock = threading.Lock()
_file_digests: dict = {}
_tool_ids: dict = {}
_own_digest: list = []


def file_digest(path: str) -> str:
    """sha256 of a file's bytes, or "missing"; re-read when its size, inode or mtime moved."""
    try:
        info = os.stat(path)
    except OSError:
        return "missing"
    stamp = (info.st_size, info.st_ino, info.st_mtime_ns)
    with _lock:
        known = _file_digests.get(path)
    if known and known[0] == stamp:
        return known[1]
    try:
        with open(path, "rb") as handle:
            digest = hashlib.sha256(handle.read()).hexdigest()
    except OSError:
        return "missing"
    with _lock:
        _file_digests[path] = (stamp, digest)
    return digest


def tool_identity(path: str, *version_args: str) -> str:
    """The resolved binary and what it says its version is (`gcc --version`, `go version`);
    without `version_args`, the binary's own sha256."""
    real = os.path.realpath(path)
    with _lock:
        if (real, version_args) in _tool_ids:
            return _tool_ids[real, version_args]
    if version_args:
        result = subprocess.run([path, *version_args], capture_output=True, text=True, timeout=60)
        said = f"{result.returncode}\n{result.stdout}{result.stderr}"
    else:
        said = file_digest(real)
    with _lock:
        _tool_ids[real, version_args] = f"{real}\n{said}"
    return _tool_ids[real, version_args]


def own_digest() -> str:
    """One sha256 over layoutgen's source files and templates, and the Python and packages
    that run them: a new layoutgen judges afresh."""
    with _lock:
        if _own_digest:
            return _own_digest[0]
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    digest = hashlib.sha256(sys.version.encode())
    for folder, dirs, names in os.walk(package):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(n for n in names if not n.endswith(".pyc")):
            path = os.path.join(folder, name)
            digest.update(f"{os.path.relpath(path, package)}\0{file_digest(path)}\n".encode())
    digest.update(_package_versions().encode())
    with _lock:
        _own_digest[:] = [digest.hexdigest()]
    return _own_digest[0]


def _package_versions() -> str:
    from importlib import metadata
    found = []
    for name in ("construct", "Jinja2", "PyYAML", "pyelftools"):
        try:
            found.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name} missing")
    return " ".join(found)


class Inputs:
    """Everything one unit of work reads, folded into a sha256 as it is named."""

    def __init__(self, kind: str):
        self._hash = hashlib.sha256()
        self.add("unit", FORMAT, VERSION, kind, own_digest())

    def add(self, label: str, *values) -> "Inputs":
        self._hash.update(json.dumps([label, values], default=str).encode() + b"\n")
        return self

    def command(self, argv: list, cwd: Optional[str] = None) -> "Inputs":
        return self.add("command", list(argv), os.path.abspath(cwd or os.getcwd()))

    def tool(self, path: str, *version_args: str) -> "Inputs":
        return self.add("tool", tool_identity(path, *version_args))

    def file(self, path: str) -> "Inputs":
        return self.add("file", os.path.abspath(path), file_digest(os.path.abspath(path)))

    def tree(self, folder: str) -> "Inputs":
        """Every file under `folder` (not caches of Python bytecode), by relative path."""
        for base, dirs, names in os.walk(folder):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for name in sorted(names):
                self.file(os.path.join(base, name))
        return self

    def env(self, *names: str) -> "Inputs":
        return self.add("env", [(name, os.environ.get(name)) for name in names])

    def digest(self) -> str:
        return self._hash.hexdigest()


class Store:
    """Pass records under `<folder>/check/<key[:2]>/<key>.json`."""

    def __init__(self, folder: str):
        self.folder = os.path.join(folder, "check")

    def _path(self, key: str) -> str:
        return os.path.join(self.folder, key[:2], key + ".json")

    def hit(self, key: str) -> bool:
        """True only for a valid record of this key whose found files still hash the same."""
        record = self._read(key)
        if record is None:
            return False
        return all(file_digest(path) == digest for path, digest in record["files"].items())

    def _read(self, key: str) -> Optional[dict]:
        try:
            with open(self._path(key), "rb") as handle:
                record = json.loads(handle.read(_MAX_RECORD + 1)[:_MAX_RECORD].decode("utf-8"))
        except (OSError, ValueError):
            return None
        return record if _valid(record, key) else None

    def save(self, key: str, label: str, files=()) -> None:
        """Record a pass; a cache that cannot be written only costs speed."""
        record = {"format": FORMAT, "version": VERSION, "key": key, "label": label, "result": "pass",
                  "files": {os.path.abspath(path): file_digest(os.path.abspath(path)) for path in sorted(set(files))}}
        path = self._path(key)
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            handle, scratch = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-", suffix=".json")
            try:
                with os.fdopen(handle, "w", encoding="utf-8") as stream:
                    json.dump(record, stream, sort_keys=True)
                os.replace(scratch, path)
            except BaseException:
                os.unlink(scratch)
                raise
        except OSError:
            pass


def _valid(record, key: str) -> bool:
    if not isinstance(record, dict) or set(record) != {"format", "version", "key", "label", "result", "files"}:
        return False
    if (record["format"], record["version"], record["key"], record["result"]) != (FORMAT, VERSION, key, "pass"):
        return False
    files = record["files"]
    return isinstance(files, dict) and all(
        isinstance(path, str) and os.path.isabs(path) and isinstance(digest, str)
        and (digest == "missing" or _HEX.fullmatch(digest)) for path, digest in files.items())


def open_store(out: str) -> Optional[Store]:
    """The store to use for a check of `out`, or None: disabled, or a folder inside `out`
    (cache records would show up as extra generated files)."""
    folder = root()
    if folder is None:
        return None
    output = os.path.realpath(out)
    if os.path.realpath(folder) == output or os.path.realpath(folder).startswith(output + os.sep):
        return None
    return Store(folder)
