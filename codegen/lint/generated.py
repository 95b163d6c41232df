"""Which files layoutgen wrote: a pair of IfChange blocks that both live in one generated output
folder is kept in step by regeneration, and the drift gate (`layoutgen check`) proves every such
file byte for byte, so the diff lint need not ask a person to touch both.

A file counts as generated when the `.layoutgen-manifest` of a folder above it lists it with the
sha256 of its current bytes: a hand edit of a generated file is linted like any other file."""
from __future__ import annotations

import hashlib
import os
from typing import Optional

MANIFEST = ".layoutgen-manifest"


class GeneratedFiles:
    """The generated files under one checkout, each manifest read once per lint run (a later
    run, after a regeneration, reads them afresh)."""

    def __init__(self, root: str):
        self.root = os.path.normpath(root)
        self.manifests: dict = {}

    def manifest(self, folder: str) -> dict:
        """{path relative to the folder: sha256} of the manifest in `folder` ({} when none)."""
        if folder not in self.manifests:
            self.manifests[folder] = _read_manifest(folder)
        return self.manifests[folder]

    def owner(self, path: str) -> Optional[str]:
        """The output folder whose manifest lists `path` (relative to the root) with its current bytes."""
        full = os.path.normpath(os.path.join(self.root, path))
        folder = os.path.dirname(full)
        while folder == self.root or folder.startswith(self.root + os.sep):
            entries = self.manifest(folder)
            name = os.path.relpath(full, folder).replace(os.sep, "/")
            if name in entries:
                return folder if _digest(full) == entries[name] else None
            if folder == self.root:
                break
            folder = os.path.dirname(folder)
        return None

    def together(self, path: str, other: str) -> bool:
        owner = self.owner(path)
        return owner is not None and owner == self.owner(other)


def _read_manifest(folder: str) -> dict:
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


def _digest(path: str) -> Optional[str]:
    try:
        with open(path, "rb") as handle:
            return hashlib.sha256(handle.read()).hexdigest()
    except OSError:
        return None
