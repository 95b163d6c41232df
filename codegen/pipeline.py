"""The pipeline in one place: load -> resolve -> layout -> render. Each stage raises SpecError on bad input."""
from __future__ import annotations

import contextlib
import gc
import importlib
import os

from . import escape, layout, load, resolve
from .ir import Spec

# (name, module): imported only when rendering, so a spec that fails its checks is
# rejected without loading Jinja and every target.
TARGETS = (("python", "codegen.targets.python"), ("c", "codegen.targets.c"),
           ("go", "codegen.targets.go"), ("docs", "codegen.tools.docs"))


def build(spec_path: str) -> tuple:
    """Load and check a spec; returns (Spec, {arch: Layout})."""
    text = load.read_text(spec_path)
    root = load.load_text(text, spec_path)
    spec = resolve.resolve(root, spec_path, text.encode("utf-8"))
    layout.layout_combinations(spec)  # every parameter combination must lay out and pass its checks
    return spec, layout.layout_all(spec)


def render(spec: Spec, layouts: dict, spec_path: str, out: str) -> dict:
    """Every output file, path (relative to `out`) -> text. Nothing touches the disk."""
    from .targets.common import Context
    ctx = Context(spec=spec, layouts=layouts, spec_label=_label(spec_path))
    files = {}
    for name, module in TARGETS:
        if name in spec.targets or name not in resolve.TARGETS:  # a spec may leave languages out, not docs
            files.update(importlib.import_module(module).render(ctx))
    return files


def generate(spec_path: str, out: str) -> dict:
    with _no_cycle_collection():
        spec, layouts = build(spec_path)
        return render(spec, layouts, spec_path, out)


@contextlib.contextmanager
def _no_cycle_collection():
    """Generation makes next to no reference cycles (reference counts free its garbage), but its
    heap grows with the spec, and every full pass of Python's cycle collector walks all of it:
    a third of the time of a 2000-struct spec, for the same peak memory. Paused while it runs."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _label(path: str) -> str:
    """The spec path as banners print it: relative to where the command runs (the repo root
    under `make`), so output does not depend on the output folder's location; printable
    characters only (a newline in a file name shows as `\\n`), since every banner prints it."""
    relative = os.path.relpath(os.path.abspath(path), os.getcwd())
    return escape.label(relative if not relative.startswith("..") else os.path.basename(path))
