"""Write a complete set of output files so that readers see the old set or the new one, never a mix.

Everything is first written into a fresh sibling folder, with a manifest of what was
written; then that folder and the output folder trade places in one atomic
`renameat2(RENAME_EXCHANGE)` (Linux), and the old set is deleted. A `kill -9` at any moment
leaves the output folder either wholly old or wholly new; at worst a hidden sibling folder
is left behind, and the next run removes it.

Before anything is touched the run takes an exclusive `flock` on the output folder's parent
(the folder itself is swapped away, so it cannot carry the lock), and holds it until the
old set is gone: two runs into one folder take turns. `ownership` decides whether the
folder may be replaced at all.
"""
from __future__ import annotations

import ctypes
import errno
import fcntl
import hashlib
import os
import shutil
import sys
import tempfile
import time
from contextlib import contextmanager

from . import ownership
from .ownership import MANIFEST, OutputError

__all__ = ["OutputError", "describe_os_error", "write_tree"]

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100
LOCK_TIMEOUT = 60.0  # seconds a run waits for another run into the same folder
LOCK_TIMEOUT_VARIABLE = "LAYOUTGEN_LOCK_TIMEOUT"
_POLL = 0.05
_HINTS = {
    errno.EROFS: "choose an --out on a writable file system",
    errno.ENOSPC: "free some space, or choose an --out on another disk",
    errno.EDQUOT: "free some space, or choose an --out on another disk",
    errno.EFBIG: "raise the file size limit (ulimit -f), or choose an --out on another disk",
    errno.ENAMETOOLONG: "use shorter names in --out",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EACCES: "choose an --out you may write",
    errno.EPERM: "choose an --out you may write",
    errno.ELOOP: "the path has a symlink loop",
}


def describe_os_error(path: str, error: OSError) -> str:
    """One line for an operating-system failure at `path`: what happened and what to do."""
    reason = error.strerror or str(error)
    hint = _HINTS.get(error.errno, "check that the path names a folder you can write")
    return f"{path}: {reason} (hint: {hint})"


def write_tree(files: dict, out: str, spec_path: str | None = None) -> None:
    """Replace the folder `out` with exactly `files` (relative path -> text or bytes) plus a manifest.
    Raises OutputError, having written nothing, when the folder is not layoutgen's to replace or
    the disk fails."""
    real = os.path.realpath(out)
    try:
        ownership.check_location(real, out, spec_path)
        ownership.check_parents(real, out)
        parent, base = os.path.split(real)
        os.makedirs(parent, exist_ok=True)
        with _locked(parent, out) as parent_fd:
            old = ownership.owned_entries(real, out, files)
            _remove_leftovers(parent, base)
            _replace(files, real, old)
            os.fsync(parent_fd)
    except OSError as error:
        raise OutputError(describe_os_error(out, error)) from None


def _replace(files: dict, real: str, old: list) -> None:
    parent, base = os.path.split(real)
    staging = tempfile.mkdtemp(prefix=_prefix(base, "new"), dir=parent)
    try:
        for path, content in sorted(files.items()):
            _write_file(os.path.join(staging, path), content)
        _write_file(os.path.join(staging, MANIFEST), ownership.render(files))
        os.chmod(staging, 0o755)
        _swap_in(staging, real)
        if os.path.exists(staging):
            _discard(staging, old, real)
    finally:
        if os.path.exists(staging):
            shutil.rmtree(staging, ignore_errors=True)


def _write_file(path: str, content) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(ownership.data_of(content))
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


def _discard(previous: str, old: list, real: str) -> None:
    """Delete the swapped-out set, but only the entries validated as layoutgen's (deepest first).
    Anything that appeared there during the run (not from layoutgen: those wait for the lock)
    is kept in a hidden sibling folder, and the user is told where."""
    for path in old:
        target = os.path.join(previous, path)
        try:
            if os.path.isdir(target) and not os.path.islink(target):
                os.rmdir(target)
            else:
                os.unlink(target)
        except OSError:
            pass  # not empty, or already gone: whatever is left is kept below
    try:
        os.rmdir(previous)
    except OSError:
        parent, base = os.path.split(real)
        kept = tempfile.mkdtemp(prefix=_prefix(base, "kept"), dir=parent)
        os.rename(previous, kept)
        print(f"layoutgen: warning: files appeared in {real} while layoutgen replaced it; "
              f"they are kept in {kept}", file=sys.stderr)


def _prefix(base: str, kind: str) -> str:
    """The hidden sibling's name prefix; a hash stands in for a name too long to extend."""
    if len(os.fsencode(base)) > 200:
        base = "layoutgen-" + hashlib.sha256(os.fsencode(base)).hexdigest()[:16]
    return f".{base}.{kind}-"


def _remove_leftovers(parent: str, base: str) -> None:
    """Staging folders a killed run left behind. Only called under the lock, so never another
    live run's staging folder."""
    prefix = _prefix(base, "new")
    for name in os.listdir(parent):
        if name.startswith(prefix):
            shutil.rmtree(os.path.join(parent, name), ignore_errors=True)


@contextmanager
def _locked(parent: str, out: str):
    """Hold an exclusive flock on the parent folder itself (no lock file is left behind).
    Waits up to LOCK_TIMEOUT seconds (or $LAYOUTGEN_LOCK_TIMEOUT) for another run."""
    timeout = _lock_timeout()
    fd = os.open(parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        deadline = time.monotonic() + timeout
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise OutputError(f"{out}: another layoutgen run holds the folder (waited {timeout:g} s) "
                                      f"(hint: let it finish, then run again)") from None
                if not told:
                    print(f"layoutgen: waiting for another layoutgen run into {out}", file=sys.stderr)
                    told = True
                time.sleep(_POLL)
        yield fd
    finally:
        os.close(fd)


def _lock_timeout() -> float:
    text = os.environ.get(LOCK_TIMEOUT_VARIABLE)
    if text is None:
        return LOCK_TIMEOUT
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 24 * 3600:
        raise OutputError(f"{LOCK_TIMEOUT_VARIABLE}={text!r}: not a number of seconds from 0 to 86400")
    return value
