"""Hand-written code that includes the generated headers must still compile against them.

This catches the case no generator can fix: the spec changed, everything was
regenerated, but a hand-written file still assumes the old layout (for example a
`_Static_assert` or an offset in assembly). Files named `*_<arch>.c` / `*_<arch>.S`
are compiled for that arch only.
"""
from __future__ import annotations

import os
import tempfile

from .toolchain import C_FLAGS, c_compiler, run

SOURCE_SUFFIXES = (".c", ".S")


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


def check(spec, out: str, folders: list) -> list:
    folders = [f for f in folders if os.path.isdir(f)]
    problems = []
    include = os.path.join(out, "c")
    with tempfile.TemporaryDirectory() as scratch:
        for arch in spec.archs:
            for source in sources_for(folders, arch, spec.archs):
                target = os.path.join(scratch, "consumer.o")
                result = run([c_compiler(arch), *C_FLAGS, "-I", include, "-c", source, "-o", target])
                if result.returncode != 0:
                    errors = [line for line in result.stderr.splitlines() if "error" in line][:10]
                    problems.append(f"{source} does not compile for {arch} against {include}:\n"
                                    + "\n".join("    " + e for e in errors))
    return problems
