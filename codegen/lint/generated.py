"""Which files layoutgen wrote: a pair of IfChange blocks that both live in one generated output
folder is kept in step by regeneration, and the drift gate (`layoutgen check`) proves every such
file byte for byte, so the diff lint need not ask a person to touch both.

A file counts as generated when the `.layoutgen-manifest` of a folder above it lists it with the
sha256 of its current bytes: a hand edit of a generated file is linted like any other file."""
from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from typing import Optional

MANIFEST = ".layoutgen-manifest"


@lru_cache(maxsize=None)
def _manifest(folder: str) -> dict:
    """{path relative to the folder: sha256} of the manifest in `folder` ({} when there is none)."""
    try:
        with open(os.path.join(folder, MANIFEST), encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return {}
    entries = {}
    for line in lines[1:]:
        digest, _, name = line.partition(" ")
        if name:
            entries[name] = digest
    return entries


def _owner(root: str, path: str) -> Optional[str]:
    """The output folder whose manifest lists `path` (relative to `root`) with its current bytes."""
    full = os.path.normpath(os.path.join(root, path))
    folder = os.path.dirname(full)
    top = os.path.normpath(root)
    while folder.startswith(top):
        entries = _manifest(folder)
        name = os.path.relpath(full, folder).replace(os.sep, "/")
        if name in entries:
            try:
                with open(full, "rb") as handle:
                    fresh = hashlib.sha256(handle.read()).hexdigest() == entries[name]
            except OSError:
                return None
            return folder if fresh else None
        if folder == top:
            break
        folder = os.path.dirname(folder)
    return None


def generated_together(root: str, path: str, other: str) -> bool:
    owner = _owner(root, path)
    return owner is not None and owner == _owner(root, other)
