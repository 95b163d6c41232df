"""Compile the generated layout asserts with the real compiler of every arch."""
from __future__ import annotations

import os
import re
import tempfile

from . import cache
from .jobs import Ran, Task
from .toolchain import C_FLAGS, c_compiler, run_with_deps

# gcc quotes the name with ' or, in a UTF-8 locale, with curly quotes.
_UNDECLARED = re.compile(r"['\u2018]([A-Za-z_][A-Za-z0-9_]*)['\u2019] undeclared")


def header_owned(spec) -> dict:
    """C name -> system header, for every constant and enum value the spec leaves to a header."""
    owned = {c.names.c: c.external for c in spec.constants if c.external and "c" in c.targets}
    owned.update({v.names.c: e.external for e in spec.enums if e.external for v in e.values})
    return owned


def compile_layout_test(out: str, spec_name: str, arch: str, defines=(), label: str = "", owned=None) -> list:
    """Problems from compiling `<out>/c/<name>_layout_test.c` for `arch` (empty when it holds);
    `defines` select a combination of spec parameters, `label` names it in the message, and
    `owned` (from `header_owned`) says which header should have defined a name gcc finds undeclared."""
    return layout_test_task(out, spec_name, arch, defines, label, owned).run().problems


def layout_test_task(out: str, spec_name: str, arch: str, defines=(), label: str = "", owned=None) -> Task:
    """`compile_layout_test` as a unit of work keyed by the command, the compiler and the source
    (the headers it includes are found by the compile itself)."""
    source = os.path.join(out, "c", f"{spec_name}_layout_test.c")

    def command(scratch: str) -> list:
        return [c_compiler(arch), *C_FLAGS, *defines, "-c", source, "-o", os.path.join(scratch, "probe.o")]

    def inputs() -> cache.Inputs:
        return (cache.Inputs("c-asserts").command(command(cache.SCRATCH)).tool(c_compiler(arch), "--version")
                .file(source).env(*cache.C_ENV))

    def work() -> Ran:
        with tempfile.TemporaryDirectory() as scratch:
            result, found = run_with_deps(command(scratch), scratch)
        if result.returncode == 0:
            return Ran([], tuple(found))
        return Ran([_report(result.stderr, label or arch, owned or {})])

    return Task(f"C layout asserts on {label or arch}", work, inputs)


def _report(stderr: str, label: str, owned: dict) -> str:
    errors = [line for line in stderr.splitlines() if "error" in line]
    missing = sorted({name for line in errors for name in _UNDECLARED.findall(line) if name in owned})
    notes = [f"{name}: the spec leaves it to <{owned[name]}>, but <{owned[name]}> does not define it"
             for name in missing]
    return f"C layout asserts fail on {label}:\n" + "\n".join("    " + e for e in notes + errors[:20])
