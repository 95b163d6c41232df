"""The pipeline in one place: load -> resolve -> layout -> render. Each stage raises SpecError on bad input."""
from __future__ import annotations

import contextlib
import dataclasses
import gc
import importlib
import os

from . import escape, layout, load, project, resolve
from .errors import fail
from .ir import Spec

# (name, module): imported only when rendering, so a spec that fails its checks is
# rejected without loading Jinja and every target.
TARGETS = (("python", "codegen.targets.python"), ("c", "codegen.targets.c"),
           ("go", "codegen.targets.go"), ("docs", "codegen.tools.docs"))


def build(spec_path: str) -> tuple:
    """Load and check a spec; returns (Spec, {arch: Layout}). A project file that lists the
    spec may narrow its targets."""
    text = load.read_text(spec_path)
    root = load.load_text(text, spec_path)
    spec = resolve.resolve(root, spec_path, text.encode("utf-8"))
    spec = _project_targets(spec, spec_path)
    layout.layout_combinations(spec)  # every parameter combination must lay out and pass its checks
    return spec, layout.layout_all(spec)


def context(spec: Spec, layouts: dict, spec_path: str, out: str = ""):
    """The render context: the spec, and what its project file (if one lists it) says about
    names and provenance. Depends on the project, not on how the command was typed."""
    from .targets.common import Context, regenerate_command
    found, entry = project.for_spec(spec_path)
    if entry is None:
        return Context(spec=spec, layouts=layouts, spec_label=_label(spec_path),
                       regenerate=regenerate_command(_label(spec_path), _label(out) if out else ""))
    label = escape.label(entry.label)
    return Context(spec=spec, layouts=layouts, spec_label=label, regenerate=regenerate_command(label, project=True),
                   go_module=entry.go_module, python_package=entry.python_package)


def render(spec: Spec, layouts: dict, spec_path: str, out: str) -> dict:
    """Every output file, path (relative to `out`) -> text. Nothing touches the disk."""
    ctx = context(spec, layouts, spec_path, out)
    files = {}
    for name, module in TARGETS:
        if name in spec.targets or name not in resolve.TARGETS:  # a spec may leave languages out, not docs
            files.update(importlib.import_module(module).render(ctx))
    if "python" in spec.targets:
        from .targets import python_package
        files.update(python_package.render(ctx))
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


def _project_targets(spec: Spec, spec_path: str) -> Spec:
    """The spec with the targets its project entry keeps; the entry may only leave some out."""
    found, entry = project.for_spec(spec_path)
    if entry is None or entry.targets is None:
        return spec
    extra = [t for t in entry.targets if t not in spec.targets]
    if extra:
        raise fail(entry.targets_pos,
                   f"{escape.label(entry.label)}: targets {', '.join(extra)} not in the spec's own targets",
                   "a project entry may only leave targets out")
    return dataclasses.replace(spec, targets=frozenset(entry.targets))


def _label(path: str) -> str:
    """A path as banners print it: relative to where the command runs, so output does not
    depend on the output folder's location; printable characters only (a newline in a file
    name shows as `\\n`), since every banner prints it."""
    relative = os.path.relpath(os.path.abspath(path), os.getcwd())
    return escape.label(relative if not relative.startswith("..") else os.path.basename(path))
