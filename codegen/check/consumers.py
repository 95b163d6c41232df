"""Hand-written code that includes the generated headers must still compile against them.

This catches the case no generator can fix: the spec changed, everything was
regenerated, but a hand-written file still assumes the old layout (for example a
`_Static_assert` or an offset in assembly). Files named `*_<arch>.c` / `*_<arch>.S`
are compiled for that arch only.

Compiling is not enough for assembly: an assembler takes a name no header defines for an
external symbol, so `movl $XSAVE_MODE_XSAVE, ...` assembles and fails only at link time.
Each object's undefined symbols (`nm -u`) are therefore compared with what the generated
headers define or look like they define; any other undefined symbol is left to the linker.
Last, a probe assembled per combination checks every offsets-header macro's value as an
assembler sees it (names defined for assemblers only have no C assert to prove them).
"""
from __future__ import annotations

import functools
import os
import re
import tempfile

from .. import layout_types as lay
from ..layout import layout_combinations
from .. import naming
from ..targets import c_names
from ..targets.c_spelling import c_int
from . import cache
from .jobs import Ran, Task, problems_of
from .toolchain import C_FLAGS, c_compiler, nm, run, run_with_deps

SOURCE_SUFFIXES = (".c", ".S")
# `kTHREAD_STATE_PREP`: the default assembly spelling of an enum value.
_ASM_ENUM = re.compile(re.escape(naming.ASM_ENUM_PREFIX) + r"[A-Z]")


def sources_for(folders: list, arch: str, all_archs: tuple) -> list:
    found = []
    for folder in folders:
        for base, _, names in os.walk(folder):
            for name in sorted(names):
                if not name.endswith(SOURCE_SUFFIXES):
                    continue
                stem = os.path.splitext(name)[0]
                other = [a for a in all_archs if a != arch and stem.endswith("_" + a)]
                if not other:
                    found.append(os.path.join(base, name))
    return sorted(found)


def generated_names(spec) -> frozenset:
    """Every name the generated headers define for some spec element on some combination or
    arch (a name missing on this arch is still a generated name, not a library's)."""
    names = {entry.name for layout in layout_combinations(spec).values()
             for entry in c_names.defined_names(spec, layout) if entry.kind in (c_names.MACRO, c_names.IDENT)}
    names |= {const.names.c for const in spec.constants}
    for enum in spec.enums:
        names |= {value.names.c for value in enum.values}
        names |= {naming.asm_enum_name(value.names.c, enum.asm_prefix) for value in enum.values}
    return frozenset(names)


def looks_generated(symbol: str, generated: frozenset) -> bool:
    return (symbol in generated or symbol.startswith(c_names.OFFSETS_PREFIXES)
            or _ASM_ENUM.match(symbol) is not None)


def undefined_symbols(arch: str, obj: str) -> list:
    result = run([nm(arch), "-u", "-P", obj])
    if result.returncode != 0:
        raise RuntimeError(f"{nm(arch)} -u {obj} failed: {result.stderr.strip()}")
    return [line.split()[0] for line in result.stdout.splitlines() if line.split()]


def check(spec, out: str, folders: list) -> list:
    """Problems from the hand-written sources in `folders` (the ones that exist) and the
    offsets probe, one after another."""
    return problems_of(tasks(spec, out, [f for f in folders if os.path.isdir(f)]) + probe_tasks(spec, out))


def tasks(spec, out: str, folders: list) -> list:
    """One unit of work per source and arch: compile it against the headers, then compare its
    undefined symbols with the names the headers define."""
    include = os.path.join(out, "c")
    generated = functools.lru_cache(maxsize=None)(lambda: generated_names(spec))
    return [_source_task(spec, arch, source, include, generated)
            for arch in spec.archs for source in sources_for(folders, arch, spec.archs)]


def _source_task(spec, arch: str, source: str, include: str, generated) -> Task:
    def command(scratch: str) -> list:
        return [c_compiler(arch), *C_FLAGS, "-I", include, "-c", source, "-o", os.path.join(scratch, "consumer.o")]

    def inputs() -> cache.Inputs:
        return (cache.Inputs("consumer").add("spec", spec.digest).command(command(cache.SCRATCH))
                .tool(c_compiler(arch), "--version").tool(nm(arch), "--version").file(source).env(*cache.C_ENV))

    def work() -> Ran:
        with tempfile.TemporaryDirectory() as scratch:
            result, found = run_with_deps(command(scratch), scratch)
            if result.returncode != 0:
                return Ran([f"{source} does not compile for {arch} against {include}:\n" + _error_lines(result.stderr)])
            symbols = undefined_symbols(arch, os.path.join(scratch, "consumer.o"))
        missing = [s for s in symbols if looks_generated(s, generated())]
        if missing:
            return Ran([f"{source} for {arch} leaves undefined symbols that the generated headers were "
                        f"meant to define (nm -u; misspelt, or not defined on {arch}): " + ", ".join(missing)])
        return Ran([], tuple(found))

    return Task(f"{source} on {arch}", work, inputs)


def probe_tasks(spec, out: str) -> list:
    """Per combination, assemble `.if NAME != VALUE / .error` for every offsets-header macro."""
    if "c" not in spec.targets:
        return []
    return [_probe_task(spec, os.path.join(out, "c"), key, layout)
            for key, layout in layout_combinations(spec).items()]


def _probe_task(spec, include: str, key: str, layout: lay.Layout) -> Task:
    arch = layout.variant.arch
    defines = [f"-D{spec.param(name).c_macro}={value}" for name, value in layout.variant.params]

    def source() -> str:
        lines = [f'#include "{spec.name}_offsets.h"']
        for entry in c_names.offsets_names(spec, layout):
            lines += [f".if {entry.name} != {c_int(entry.value)}",
                      f'.error "{entry.name} ({entry.what}): spec says {entry.value}"', ".endif"]
        return "\n".join(lines) + "\n"

    def command(scratch: str) -> list:
        return [c_compiler(arch), *defines, "-I", include, "-c", os.path.join(scratch, "offsets_probe.S"),
                "-o", os.path.join(scratch, "offsets_probe.o")]

    def inputs() -> cache.Inputs:
        return (cache.Inputs("offsets probe").command(command(cache.SCRATCH)).tool(c_compiler(arch), "--version")
                .add("probe", source()).env(*cache.C_ENV))

    def work() -> Ran:
        with tempfile.TemporaryDirectory() as scratch:
            with open(os.path.join(scratch, "offsets_probe.S"), "w") as handle:
                handle.write(source())
            result, found = run_with_deps(command(scratch), scratch)
        if result.returncode != 0:
            return Ran([f"the offsets header as an assembler sees it on {key} disagrees with the spec:\n"
                        + _error_lines(result.stderr)])
        return Ran([], tuple(found))

    return Task(f"offsets probe on {key}", work, inputs)


def _error_lines(stderr: str) -> str:
    """The first error lines of gcc or gas (`error:` / `Error:`), indented for the report."""
    errors = [line for line in stderr.splitlines() if "error" in line.lower()][:10]
    return "\n".join("    " + e for e in errors)
