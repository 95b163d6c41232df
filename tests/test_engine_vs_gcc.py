"""The layout engine against real compilers: every good spec's asserts compile on every arch it declares.

The generated `<name>_layout_test.c` holds a _Static_assert per fact the engine computed, in a
block per arch, so compiling it with that arch's gcc (the host's, or Debian's cross gcc) proves
the engine right there. Each spec is generated once and compiled once per arch.
"""
import glob
import os
import shutil
import subprocess

import pytest
import yaml

from codegen import pipeline
from codegen.check.toolchain import C_COMPILERS
from conftest import ARCHS, C_FLAGS, SPEC, compile_c, run_cli

CASES = sorted(glob.glob(os.path.join(os.path.dirname(__file__), "cases", "*", "spec.yaml")))


def _declared(spec: str) -> list:
    with open(spec) as handle:
        return yaml.safe_load(handle)["archs"]


def _label(spec: str) -> str:
    return os.path.basename(os.path.dirname(spec)) if "cases" in spec else "sysmsg"


PAIRS = [pytest.param(spec, arch, id=f"{_label(spec)}-{arch}") for spec in [SPEC] + CASES for arch in _declared(spec)]


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """spec path -> its generated folder, generated on first use (once for all its arches)."""
    folders = {}

    def get(spec: str):
        if spec not in folders:
            out = tmp_path_factory.mktemp(_label(spec)) / "out"
            result = run_cli("generate", "--spec", spec, "--out", str(out))
            assert result.returncode == 0, result.stderr
            folders[spec] = out
        return folders[spec]
    return get


@pytest.mark.parametrize("spec, arch", PAIRS)
def test_layout_asserts_compile(generated, spec, arch, tmp_path):
    out = generated(spec)
    name = pipeline.build(spec)[0].name
    source = out / "c" / f"{name}_layout_test.c"
    text = source.read_text()
    assert text.count("_Static_assert") > 10, "the probe asserts too little to prove anything"
    gcc = shutil.which(C_COMPILERS[arch])
    assert gcc, f"{C_COMPILERS[arch]} is missing: run `make toolchains`"
    result = subprocess.run([gcc, *C_FLAGS, "-c", "-o", str(tmp_path / f"probe-{arch}.o"), str(source)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_there_are_good_cases():
    assert len(CASES) >= 5


def test_every_arch_has_cases():
    """Each arch of the table is declared by several cases, so each gcc checks the engine."""
    declared = [arch for spec in CASES for arch in _declared(spec)]
    assert {arch: declared.count(arch) >= 5 for arch in C_COMPILERS} == dict.fromkeys(C_COMPILERS, True)


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
