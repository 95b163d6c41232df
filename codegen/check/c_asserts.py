"""Compile the generated layout asserts with the real compiler of every arch."""
from __future__ import annotations

import os
import tempfile

from .toolchain import C_FLAGS, c_compiler, run


def compile_layout_test(out: str, spec_name: str, arch: str, defines=(), label: str = "") -> list:
    """Problems from compiling `<out>/c/<name>_layout_test.c` for `arch` (empty when it holds);
    `defines` select a combination of spec parameters, `label` names it in the message."""
    source = os.path.join(out, "c", f"{spec_name}_layout_test.c")
    with tempfile.TemporaryDirectory() as scratch:
        result = run([c_compiler(arch), *C_FLAGS, *defines, "-c", source, "-o", os.path.join(scratch, "probe.o")])
    if result.returncode == 0:
        return []
    errors = [line for line in result.stderr.splitlines() if "error" in line]
    return [f"C layout asserts fail on {label or arch}:\n" + "\n".join("    " + e for e in errors[:20])]
