"""Write a complete set of output files so that readers see the old set or the new one, never a mix.

Everything is first written into a fresh sibling folder; then that folder and the
output folder trade places in one atomic `renameat2(RENAME_EXCHANGE)` (Linux), and the
old set is deleted. A `kill -9` at any moment leaves the output folder either wholly old
or wholly new; at worst a hidden sibling folder is left behind, and the next run removes it.
"""
from __future__ import annotations

import ctypes
import errno
import glob
import os
import shutil
import tempfile

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


class OutputError(Exception):
    """The output folder cannot be written (a usage problem, reported with exit 2)."""


def write_tree(files: dict, out: str) -> None:
    out = os.path.abspath(out)
    parent, base = os.path.split(out)
    if os.path.exists(out) and not os.path.isdir(out):
        raise OutputError(f"{out}: exists and is not a folder")
    os.makedirs(parent, exist_ok=True)
    _remove_leftovers(parent, base)
    staging = tempfile.mkdtemp(prefix=f".{base}.new-", dir=parent)
    try:
        for path, content in sorted(files.items()):
            _write_file(os.path.join(staging, path), content)
        os.chmod(staging, 0o755)
        _swap_in(staging, out)
    finally:
        if os.path.exists(staging):
            shutil.rmtree(staging, ignore_errors=True)


def _write_file(path: str, content) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    data = content.encode("utf-8") if isinstance(content, str) else content
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _swap_in(staging: str, out: str) -> None:
    """Put `staging` at `out`; afterwards `staging` holds the previous contents (if any)."""
    if not os.path.exists(out):
        os.rename(staging, out)
        return
    if _exchange(staging, out):
        return
    # No atomic exchange here: fall back to two renames (briefly, `out` is missing).
    old = staging + ".old"
    os.rename(out, old)
    os.rename(staging, out)
    os.rename(old, staging)


def _exchange(a: str, b: str) -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    result = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EXDEV, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), b)


def _remove_leftovers(parent: str, base: str) -> None:
    for leftover in glob.glob(os.path.join(parent, f".{base}.new-*")):
        shutil.rmtree(leftover, ignore_errors=True)
