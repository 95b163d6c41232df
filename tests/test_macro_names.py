"""Every name the C outputs define belongs to one spec element (issue 16, items 5 and 6).

Names derived from paths can meet although every spec name is unique; `generate` refuses
that with both positions, and `asm:` / `asm_prefix:` choose another macro spelling. The
xsave modes are spelled as upstream's assembly does, for assemblers only, and a C file
that includes both headers still compiles. `check` fails when an object leaves a name the
headers were meant to define undefined (an assembler takes it for an external symbol).
"""
from __future__ import annotations

import os
import subprocess

import pytest

from codegen import pipeline
from codegen.check import consumers
from codegen.check.toolchain import nm
from conftest import ARCHS, GENERATED, ROOT, SPEC, compile_c, compiler, run_cli

CLASH = """layoutgen: 1
name: clash
archs: [amd64, arm64]
structs:
  OuterB:{outer_b}
    fields:
      - {{name: x, type: u32}}
  Outer:
    fields:
      - {{name: a, type: u32}}
      - {{name: b, type: OuterB{field}}}
"""


def _generate(tmp_path, text: str):
    spec = tmp_path / "clash.yaml"
    spec.write_text(text)
    return spec, run_cli("generate", "--spec", str(spec), "--out", str(tmp_path / "out"))


def test_nested_path_clash_is_refused_with_both_positions(tmp_path):
    spec, result = _generate(tmp_path, CLASH.format(outer_b="", field=""))
    assert result.returncode == 2
    assert result.stderr == (
        f"{spec}:11:9: offsets-header macro offsetof_outer_b_x names both Outer.b.x and OuterB.x (first at line "
        "7:9) (hint: rename one, or give one a macro spelling with `asm: NAME`)\n")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("outer_b, field, expected", [
    ("", ", asm: inner", ["sizeof_outer_b 4", "offsetof_outer_b_x 0", "offsetof_outer_inner 4",
                          "offsetof_outer_inner_x 4"]),
    ("\n    asm: ob", "", ["sizeof_ob 4", "offsetof_ob_x 0", "offsetof_outer_b 4", "offsetof_outer_b_x 4"]),
])
def test_asm_spelling_resolves_the_clash(tmp_path, outer_b, field, expected):
    _, result = _generate(tmp_path, CLASH.format(outer_b=outer_b, field=field))
    assert result.returncode == 0, result.stderr
    offsets = (tmp_path / "out" / "c" / "clash_offsets.h").read_text()
    for line in expected:
        assert f"#define {line}\n" in offsets
    header = (tmp_path / "out" / "c" / "clash.h").read_text()
    assert "struct outer_b {" in header and "struct outer_b b;" in header  # C keeps its names
    for arch in ARCHS:  # the layout test asserts the respelt macros against offsetof
        test = compile_c(arch, str(tmp_path / "out" / "c" / "clash_layout_test.c"), "-c", "-o", os.devnull)
        assert test.returncode == 0, test.stderr


def test_xsave_modes_spelt_as_upstreams_assembly():
    offsets = open(os.path.join(GENERATED, "c", "sysmsg_offsets.h")).read()
    block = offsets[offsets.index("#ifdef __ASSEMBLER__"):]
    block = block[:block.index("#endif")]
    assert [line for line in block.splitlines() if line.startswith("#define")] == [
        "#define XSAVE_MODE_FXSAVE 0", "#define XSAVE_MODE_XSAVE 1",
        "#define XSAVE_MODE_XSAVEOPT 2", "#define XSAVE_MODE_XSAVEC 3"]
    assert "kXSAVE_MODE" not in offsets
    assert "#define kTHREAD_STATE_PREP " in offsets and "#define kCONTEXT_STATE_NONE " in offsets


BOTH_HEADERS = """
#include {first}
#include {second}
#if defined(__x86_64__)
_Static_assert(XSAVE_MODE_XSAVE == 1, "the enum constant, not rewritten by a macro");
_Static_assert(sizeof(enum xsave_mode) == sizeof(int), "the enum is declared");
#endif
_Static_assert(kTHREAD_STATE_PREP == THREAD_STATE_PREP, "k names stay");
_Static_assert(offsetof_sysmsg_state == __builtin_offsetof(struct sysmsg, state), "offsets");
int used(void) {{ return offsetof_sysmsg_state; }}
"""


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("order", [("sysmsg.h", "sysmsg_offsets.h"), ("sysmsg_offsets.h", "sysmsg.h")])
def test_a_c_file_includes_both_headers(tmp_path, arch, order):
    source = tmp_path / "both.c"
    source.write_text(BOTH_HEADERS.format(first=f'"{order[0]}"', second=f'"{order[1]}"'))
    result = compile_c(arch, str(source), "-c", "-o", str(tmp_path / "both.o"), include=os.path.join(GENERATED, "c"))
    assert result.returncode == 0, result.stderr


def test_assembly_sees_the_xsave_modes(tmp_path):
    source = tmp_path / "xsave_amd64.S"
    source.write_text('#include "sysmsg_offsets.h"\n\t.text\n\tmovl $XSAVE_MODE_XSAVE, %eax\n'
                      "\tmovl $XSAVE_MODE_XSAVEOPT, %ecx\n\t.if XSAVE_MODE_XSAVEOPT != 2\n\t.error \"wrong\"\n\t.endif\n")
    obj = tmp_path / "xsave.o"
    result = subprocess.run([compiler("amd64"), "-I", os.path.join(GENERATED, "c"), "-c", str(source), "-o", str(obj)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert consumers.undefined_symbols("amd64", str(obj)) == []


def _spec():
    return pipeline.build(SPEC)[0]


BAD_ASM = """#include "sysmsg_offsets.h"
\t.text
\t.globl bad
bad:
\tmovl $XSAVE_MODE_XSAVE, %eax
\tmovl $kXSAVE_MODE_XSAVE, %eax
\tmovq offsetof_msg_bogus(%rdi), %rax
\tcall memcpy
\tret
"""


def test_undefined_generated_looking_symbol_fails_the_consumer_check(tmp_path):
    folder = tmp_path / "consumers"
    folder.mkdir()
    (folder / "bad_amd64.S").write_text(BAD_ASM)
    # The assembler alone accepts it: the names become external symbols.
    obj = tmp_path / "bad.o"
    assembled = subprocess.run([compiler("amd64"), "-I", os.path.join(GENERATED, "c"), "-c",
                                str(folder / "bad_amd64.S"), "-o", str(obj)], capture_output=True, text=True)
    assert assembled.returncode == 0, assembled.stderr
    assert sorted(consumers.undefined_symbols("amd64", str(obj))) == ["kXSAVE_MODE_XSAVE", "memcpy",
                                                                      "offsetof_msg_bogus"]
    problems = consumers.check(_spec(), GENERATED, [str(folder)])
    assert problems == [f"{folder / 'bad_amd64.S'} for amd64 leaves undefined symbols that the generated headers "
                        "were meant to define (nm -u; misspelt, or not defined on amd64): kXSAVE_MODE_XSAVE, "
                        "offsetof_msg_bogus"]


def test_an_amd64_only_name_used_on_arm64_is_reported(tmp_path):
    folder = tmp_path / "consumers"
    folder.mkdir()
    (folder / "mode_arm64.S").write_text('#include "sysmsg_offsets.h"\n\t.data\n\t.quad XSAVE_MODE_XSAVE\n')
    problems = consumers.check(_spec(), GENERATED, [str(folder)])
    assert len(problems) == 1 and "mode_arm64.S for arm64" in problems[0] and problems[0].endswith("XSAVE_MODE_XSAVE")


def test_the_stub_passes_the_consumer_check():
    assert nm("arm64") and nm("amd64")
    assert consumers.check(_spec(), GENERATED, [os.path.join(ROOT, "stub")]) == []


def test_the_offsets_probe_catches_a_wrong_assembler_only_value(tmp_path):
    out = tmp_path / "out"
    subprocess.run(["cp", "-r", GENERATED, str(out)], check=True)
    offsets = out / "c" / "sysmsg_offsets.h"
    offsets.write_text(offsets.read_text().replace("#define XSAVE_MODE_XSAVEOPT 2", "#define XSAVE_MODE_XSAVEOPT 3"))
    problems = consumers.check(_spec(), str(out), [])
    assert len(problems) == 1 and "as an assembler sees it on amd64" in problems[0]
    assert "XSAVE_MODE_XSAVEOPT (XsaveMode.XSAVEOPT): spec says 2" in problems[0]
