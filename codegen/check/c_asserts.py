"""Compile the generated layout asserts with the real compiler of every arch."""
from __future__ import annotations

import os
import re
import tempfile

from .toolchain import C_FLAGS, c_compiler, run

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
    source = os.path.join(out, "c", f"{spec_name}_layout_test.c")
    with tempfile.TemporaryDirectory() as scratch:
        result = run([c_compiler(arch), *C_FLAGS, *defines, "-c", source, "-o", os.path.join(scratch, "probe.o")])
    if result.returncode == 0:
        return []
    errors = [line for line in result.stderr.splitlines() if "error" in line]
    missing = sorted({name for line in errors for name in _UNDECLARED.findall(line) if name in (owned or {})})
    notes = [f"{name}: the spec leaves it to <{owned[name]}>, but <{owned[name]}> does not define it"
             for name in missing]
    return [f"C layout asserts fail on {label or arch}:\n" + "\n".join("    " + e for e in notes + errors[:20])]
