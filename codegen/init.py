"""`layoutgen init [DIR]`: start a project in an empty or new folder.

Writes a starter spec (struct timespec, a small real struct `check` proves against
<time.h>), the JSON Schema its modeline names, the project file and a pre-commit
configuration. Nothing is ever overwritten: when any of those files exists, nothing is
written and the error names it (exit 2). Each file is created exclusively, so a file
that appears meanwhile is not replaced either.
"""
from __future__ import annotations

import os
import sys
from importlib import resources

from .tools import schema

EXIT_OK, EXIT_BAD_INPUT = 0, 2
SPEC = os.path.join("spec", "myabi.yaml")

# path written (relative to DIR) -> the starter file it copies, or None for the schema.
FILES = {
    SPEC: "spec.yaml",
    os.path.join("spec", schema.SCHEMA_FILE): None,
    "layoutgen.toml": "layoutgen.toml",
    ".pre-commit-config.yaml": "pre-commit-config.yaml",
}


def _content(starter) -> str:
    if starter is None:
        return schema.render()
    return resources.files("codegen").joinpath("starter", starter).read_text(encoding="utf-8")


def run(folder: str, say=print) -> int:
    existing = [path for path in FILES if os.path.lexists(os.path.join(folder, path))]
    if existing:
        print(f"layoutgen: {os.path.join(folder, existing[0])}: already exists; init writes nothing "
              f"(hint: run init in an empty or new folder)", file=sys.stderr)
        return EXIT_BAD_INPUT
    contents = {path: _content(starter) for path, starter in FILES.items()}
    for path, text in contents.items():
        target = os.path.join(folder, path)
        os.makedirs(os.path.dirname(target) or ".", exist_ok=True)
        with open(target, "x", encoding="utf-8") as handle:  # "x": never replace a file
            handle.write(text)
        say(f"wrote {target}")
    say(f"next: cd {folder} && layoutgen generate && layoutgen check")
    return EXIT_OK
