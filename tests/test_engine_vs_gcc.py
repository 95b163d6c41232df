"""The layout engine against real compilers: every good spec's asserts compile on both arches.

The generated `<name>_layout_test.c` holds a _Static_assert per fact the engine computed,
so compiling it with gcc (x86_64) and aarch64-linux-gnu-gcc proves the engine right.
"""
import glob
import os

import pytest

from codegen import pipeline
from conftest import ARCHS, SPEC, compile_c

CASES = sorted(glob.glob(os.path.join(os.path.dirname(__file__), "cases", "*", "spec.yaml")))


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("spec", [SPEC] + CASES, ids=lambda p: os.path.basename(os.path.dirname(p)) if "cases" in p else "sysmsg")
def test_layout_asserts_compile(generate, spec, arch, tmp_path):
    out = generate(spec)
    name, _ = pipeline.build(spec)[0].name, None
    source = out / "c" / f"{name}_layout_test.c"
    text = source.read_text()
    assert text.count("_Static_assert") > 10, "the probe asserts too little to prove anything"
    result = compile_c(arch, str(source), "-c", "-o", str(tmp_path / f"probe-{arch}.o"))
    assert result.returncode == 0, result.stderr


def test_there_are_good_cases():
    assert len(CASES) >= 5


def test_sysmsg_numbers_from_the_issue():
    """The two sizes upstream's header gives, and Msg's hole after err_line."""
    _, layouts = pipeline.build(SPEC)
    assert layouts["amd64"].struct("ThreadContext").size == 3984
    assert layouts["arm64"].struct("ThreadContext").size == 4040
    for arch in ARCHS:
        msg = layouts[arch].struct("Msg")
        assert msg.size == 88
        holes = [(h.offset, h.size, h.after) for h in msg.holes if not h.tail]
        assert holes == [(68, 4, "err_line")]


def test_a_wrong_spec_fails_to_compile(generate, tmp_path):
    """The probe can fail: describe siginfo_t with a wrong field order and gcc must refuse."""
    with open(SPEC) as handle:
        text = handle.read()
    swapped = text.replace("- {name: signo, type: i32, c: si_signo", "- {name: signo, type: i32, c: si_errno", 1)
    swapped = swapped.replace("- {name: errno, type: i32, c: si_errno", "- {name: errno, type: i32, c: si_signo", 1)
    assert swapped != text
    out = generate(swapped)
    result = compile_c("amd64", str(out / "c" / "sysmsg_layout_test.c"), "-c", "-o", str(tmp_path / "x.o"))
    assert result.returncode != 0
    assert "SignalInfo.signo: offset: spec says 0" in result.stderr
