"""Signedness and base types are proven: a spec that says `u32` where the system header says
`__s32` fails `layoutgen check`, in the C layout asserts and in the DWARF comparison, with the
struct, the field, the spec's type and the compiler's; the example specs as they are pass.
The rules for plain char, booleans, enums, bitfields, pointers and 128-bit integers are shown
on a header of our own, compiled by both arches' real gcc."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from codegen import pipeline
from codegen.check import dwarf, toolchain
from codegen.primitives import ARCHS as ARCH_TABLE
from conftest import ARCHS, ROOT, compile_c, run_cli

EXAMPLES = Path(ROOT) / "examples" / "linux"
DWARF_STEP = "DWARF of the compiled header matches the spec"
C_STEP = "C layout asserts compile on every arch"


def _checked(tmp_path: Path, example: str, edit=None) -> subprocess.CompletedProcess:
    """`layoutgen generate` then `layoutgen check` on a copy of an example spec, laid out like the
    repository (the schema step reads ../../spec/layoutgen.schema.json from the spec)."""
    text = (EXAMPLES / example).read_text()
    if edit is not None:
        changed = edit(text)
        assert changed != text, "the edit must change the spec"
        text = changed
    spec = tmp_path / "examples" / "linux" / example
    spec.parent.mkdir(parents=True)
    spec.write_text(text)
    (tmp_path / "spec").mkdir()
    shutil.copy(Path(ROOT) / "spec" / "layoutgen.schema.json", tmp_path / "spec")
    (tmp_path / "consumers").mkdir()
    out = tmp_path / "out"
    made = run_cli("generate", "--spec", str(spec), "--out", str(out))
    assert made.returncode == 0, made.stderr
    return run_cli("check", "--spec", str(spec), "--out", str(out), "--consumers", str(tmp_path / "consumers"))


def _declared_archs(example: str) -> list:
    """The arches an example spec declares: check proves each of them, so each must report."""
    return yaml.safe_load((EXAMPLES / example).read_text())["archs"]


def _failed_steps(output: str) -> list:
    return re.findall(r"^check: (.+): FAILED \(", output, re.MULTILINE)


def test_u32_for_the_s32_of_input_event_fails_check_in_both_steps(tmp_path):
    # <linux/input.h>: `__s32 value;`. Only InputEvent's value is changed (InputAbsinfo's comes later).
    result = _checked(tmp_path, "input.yaml",
                      lambda text: text.replace("{name: value, type: i32}", "{name: value, type: u32}", 1))
    assert result.returncode == 1, result.stdout + result.stderr
    assert _failed_steps(result.stdout) == [C_STEP, DWARF_STEP]
    archs = _declared_archs("input.yaml")
    for arch in archs:
        assert (f"  struct input_event: field value: the spec says u32, {toolchain.C_COMPILERS[arch]}'s DWARF says "
                f"signed 4-byte (__s32: int) on {arch}") in result.stdout.splitlines()
    asserts = [line for line in result.stdout.splitlines() if "static assertion failed" in line]
    assert len(asserts) == len(archs)
    assert all('"InputEvent.value: signedness: spec says u32, which is unsigned"' in line for line in asserts)
    assert "input_absinfo" not in result.stdout and "InputAbsinfo" not in result.stdout


def test_the_example_spec_as_it_is_passes_check(tmp_path):
    result = _checked(tmp_path, "input.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.rstrip().endswith("check: everything holds")


def test_flipping_st_size_to_unsigned_fails_both_steps(tmp_path):
    # stat.yaml describes struct stat per arch; st_size is `__off_t` (long): i64 on the 64-bit
    # arches, `long` in the 32-bit variant (4 bytes there).
    result = _checked(tmp_path, "stat.yaml",
                      lambda text: text.replace("{name: st_size, type: i64}", "{name: st_size, type: u64}")
                      .replace("{name: st_size, type: long}", "{name: st_size, type: ulong}"))
    assert result.returncode == 1, result.stdout + result.stderr
    assert _failed_steps(result.stdout) == [C_STEP, DWARF_STEP]
    archs = _declared_archs("stat.yaml")
    for arch in archs:
        wide = ARCH_TABLE[arch].pointer_size == 8
        spelled, size = ("u64", 8) if wide else ("ulong", 4)
        assert (f"  struct stat: field st_size: the spec says {spelled}, {toolchain.C_COMPILERS[arch]}'s DWARF says "
                f"signed {size}-byte (__off_t: long int) on {arch}") in result.stdout.splitlines(), result.stdout
    for arch in archs:  # each arch's compile of the layout asserts fails on the flipped field
        section = result.stdout.split(f"  C layout asserts fail on {arch}:\n", 1)[1].split("\n  C layout", 1)[0]
        assert re.search(r'"Stat\.st_size: signedness: spec says u(64|32), which is unsigned"', section), arch


def test_flipping_an_unsigned_field_to_signed_fails_both_steps(tmp_path):
    result = _checked(tmp_path, "input.yaml",
                      lambda text: text.replace("{name: bustype, type: u16}", "{name: bustype, type: i16}"))
    assert result.returncode == 1
    assert _failed_steps(result.stdout) == [C_STEP, DWARF_STEP]
    assert "struct input_id: field bustype: the spec says i16, gcc's DWARF says unsigned 2-byte (__u16: short " \
           "unsigned int) on amd64" in result.stdout
    assert '"InputId.bustype: signedness: spec says i16, which is signed"' in result.stdout


# ---- the rules, on a header of our own ---------------------------------------

HEADER = """\
#include <stdint.h>
enum probe_color { PROBE_RED = 1, PROBE_BLUE = 2 };     /* gcc: unsigned int */
enum probe_delta { PROBE_DOWN = -1, PROBE_UP = 1 };     /* gcc: int */
typedef int16_t probe_short;
struct probe_types {
  char plain;
  signed char schar;
  unsigned char uchar;
  _Bool flag;
  uint8_t byte_flag;
  probe_short shorts[3];
  enum probe_color color;
  enum probe_delta delta;
  int32_t sbits : 3;
  uint32_t ubits : 5;
  void *pointer;
  __int128 wide;
  unsigned __int128 uwide;
  uint32_t word_flag;
  const volatile int64_t cv;
};
"""

# (field of HEADER, the spec type that is right for it, a wrong one, how the DWARF report names the
# header's type; None where the wrong type is reported on its own below)
FIELDS = [
    ("plain", "u8", "u16", None),  # plain char: u8 or i8 both pass; a width mismatch does not
    ("schar", "i8", "u8", "signed 1-byte (signed char)"),
    ("uchar", "u8", "i8", "unsigned 1-byte (unsigned char)"),
    ("flag", "bool8", "i8", "boolean 1-byte (_Bool)"),
    ("byte_flag", "bool8", "i8", "unsigned 1-byte (uint8_t: unsigned char)"),
    ("shorts", "i16[3]", "u16[3]", "signed 2-byte (probe_short: short int)"),
    ("color", "Color", "i32", "unsigned 4-byte (unsigned int) through enum probe_color"),
    ("delta", "Delta", "u32", "signed 4-byte (int) through enum probe_delta"),
    ("sbits", "i32", "u32", "signed 4-byte (int32_t: int)"),
    ("ubits", "u32", "i32", "unsigned 4-byte (uint32_t: unsigned int)"),
    ("pointer", "ptr()", "u64", "a pointer (8-byte)"),
    ("wide", "i128", "u128", "signed 16-byte (__int128)"),
    ("uwide", "u128", "i128", "unsigned 16-byte (__int128 unsigned)"),
    ("word_flag", "bool32", "i32", "unsigned 4-byte (uint32_t: unsigned int)"),
    ("cv", "i64", "u64", "signed 8-byte (int64_t: long int)"),
]
BITS = {"sbits": 3, "ubits": 5}


def _probe_spec(types: dict) -> str:
    fields = []
    for name, _, _, _ in FIELDS:
        bits = f", bits: {BITS[name]}" if name in BITS else ""
        fields.append(f"      - {{name: {name}, type: \"{types[name]}\"{bits}}}")
    return "\n".join([
        "layoutgen: 1", "name: probe_types", "archs: [amd64, arm64]", "targets: [c]",
        "enums:",
        "  Color: {type: u32, values: [{name: RED, value: 1}, {name: BLUE, value: 2}]}",
        "  Delta: {type: i32, values: [{name: DOWN, value: -1}, {name: UP, value: 1}]}",
        "structs:",
        "  ProbeTypes:",
        "    external: {c_type: struct probe_types, include: probe_sys.h}",
        "    fields:",
        *fields, ""])


def _judged(tmp_path: Path, types: dict) -> tuple:
    """(DWARF problems, layout-test compiler output per arch) for the probe header and a spec."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    spec_path = tmp_path / "probe.yaml"
    spec_path.write_text(_probe_spec(types))
    out = tmp_path / "out"
    made = run_cli("generate", "--spec", str(spec_path), "--out", str(out))
    assert made.returncode == 0, made.stderr
    (out / "c" / "probe_sys.h").write_text(HEADER)  # beside the generated header, on its -I path
    spec, layouts = pipeline.build(str(spec_path))
    problems = dwarf.check(spec, layouts, str(out))
    compiled = {arch: compile_c(arch, str(out / "c" / "probe_types_layout_test.c"), "-c", "-o",
                                str(tmp_path / f"{arch}.o"), include=str(out / "c")) for arch in ARCHS}
    return problems, compiled


def test_the_right_spec_types_pass_both_steps_and_plain_char_is_either(tmp_path):
    right = {name: good for name, good, _, _ in FIELDS}
    for plain in ("u8", "i8"):  # signed on amd64, unsigned on arm64: both spellings hold on both
        problems, compiled = _judged(tmp_path / plain, dict(right, plain=plain))
        assert problems == []
        assert all(result.returncode == 0 for result in compiled.values()), compiled


@pytest.fixture(scope="module")
def wrong(tmp_path_factory):
    return _judged(tmp_path_factory.mktemp("wrong"), {name: bad for name, _, bad, _ in FIELDS})


NAMED = [row for row in FIELDS if row[3]]


@pytest.mark.parametrize("field,good,bad,compiler_says", NAMED, ids=[row[0] for row in NAMED])
@pytest.mark.parametrize("arch", ARCHS)
def test_each_wrong_spec_type_is_named_by_the_dwarf_step(wrong, arch, field, good, bad, compiler_says):
    problems, _ = wrong
    element = " elements" if "[" in bad else ""
    expected = (f"struct probe_types: field {field}: the spec says {bad.split('[')[0]}{element}, "
                f"{toolchain.C_COMPILERS[arch]}'s DWARF says {compiler_says} on {arch}")
    assert expected in problems


def test_plain_char_of_the_wrong_width_says_what_char_is_on_each_arch(wrong):
    problems, _ = wrong
    assert ("struct probe_types: field plain: the spec says u16, gcc's DWARF says plain char (signed on amd64; "
            "the spec may say u8 or i8 for it) on amd64") in problems
    assert ("struct probe_types: field plain: the spec says u16, aarch64-linux-gnu-gcc's DWARF says plain char "
            "(unsigned on arm64; the spec may say u8 or i8 for it) on arm64") in problems


def test_the_layout_test_asserts_signedness_where_c_can_say_it(wrong):
    """Plain fields, array elements and fields of a C enum type (as the integer type gcc gives
    the enum) are asserted, and an integer where the header has a pointer fails; bitfields are
    left to DWARF (C takes no type of one); a bool is unsigned to C; plain char passes as any
    1-byte spec type, the u16 here failing on its size instead."""
    _, compiled = wrong
    for arch, result in compiled.items():
        signedness = sorted(line.split('"')[1] for line in result.stderr.splitlines()
                            if "signedness" in line and "static assertion failed" in line)
        assert signedness == sorted([
            "ProbeTypes.byte_flag: signedness: spec says i8, which is signed",
            "ProbeTypes.color: signedness: spec says i32, which is signed",
            "ProbeTypes.delta: signedness: spec says u32, which is unsigned",
            "ProbeTypes.pointer: signedness: spec says u64, which is unsigned",
            "ProbeTypes.cv: signedness: spec says u64, which is unsigned",
            "ProbeTypes.flag: signedness: spec says i8, which is signed",
            "ProbeTypes.schar: signedness: spec says u8, which is unsigned",
            "ProbeTypes.shorts: signedness: spec says u16, which is unsigned",
            "ProbeTypes.uchar: signedness: spec says i8, which is signed",
            "ProbeTypes.uwide: signedness: spec says i128, which is signed",
            "ProbeTypes.wide: signedness: spec says u128, which is unsigned",
            "ProbeTypes.word_flag: signedness: spec says i32, which is signed",
        ]), arch
        assert '"ProbeTypes.plain: size: spec says 2"' in result.stderr
