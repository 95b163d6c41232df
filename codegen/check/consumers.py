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

import os
import re
import tempfile

from .. import layout as lay
from .. import naming
from ..targets import c_names
from ..targets.c import c_int
from .toolchain import C_FLAGS, c_compiler, nm, run

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
    names = {entry.name for layout in lay.layout_combinations(spec).values()
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
    folders = [f for f in folders if os.path.isdir(f)]
    problems = []
    include = os.path.join(out, "c")
    generated = generated_names(spec)
    with tempfile.TemporaryDirectory() as scratch:
        for arch in spec.archs:
            for source in sources_for(folders, arch, spec.archs):
                target = os.path.join(scratch, "consumer.o")
                result = run([c_compiler(arch), *C_FLAGS, "-I", include, "-c", source, "-o", target])
                if result.returncode != 0:
                    problems.append(f"{source} does not compile for {arch} against {include}:\n"
                                    + _error_lines(result.stderr))
                    continue
                missing = [s for s in undefined_symbols(arch, target) if looks_generated(s, generated)]
                if missing:
                    problems.append(f"{source} for {arch} leaves undefined symbols that the generated headers were "
                                    f"meant to define (nm -u; misspelt, or not defined on {arch}): " + ", ".join(missing))
        problems += _probe_offsets(spec, include, scratch)
    return problems


def _probe_offsets(spec, include: str, scratch: str) -> list:
    """Assemble, per combination, `.if NAME != VALUE / .error` for every offsets-header macro."""
    if "c" not in spec.targets:
        return []
    problems = []
    for key, layout in lay.layout_combinations(spec).items():
        lines = [f'#include "{spec.name}_offsets.h"']
        for entry in c_names.offsets_names(spec, layout):
            lines += [f".if {entry.name} != {c_int(entry.value)}",
                      f'.error "{entry.name} ({entry.what}): spec says {entry.value}"', ".endif"]
        source = os.path.join(scratch, "offsets_probe.S")
        with open(source, "w") as handle:
            handle.write("\n".join(lines) + "\n")
        defines = [f"-D{spec.param(name).c_macro}={value}" for name, value in layout.variant.params]
        result = run([c_compiler(layout.variant.arch), *defines, "-I", include, "-c", source,
                      "-o", os.path.join(scratch, "offsets_probe.o")])
        if result.returncode != 0:
            problems.append(f"the offsets header as an assembler sees it on {key} disagrees with the spec:\n"
                            + _error_lines(result.stderr))
    return problems


def _error_lines(stderr: str) -> str:
    """The first error lines of gcc or gas (`error:` / `Error:`), indented for the report."""
    errors = [line for line in stderr.splitlines() if "error" in line.lower()][:10]
    return "\n".join("    " + e for e in errors)
