"""Bitfields, padding and reserved space inside anonymous members (tests/cases/anonymous_bits).

The case runs through every generic case test (gcc asserts, DWARF bit positions, parsers,
views, numpy, Go layout tests on both arches). Here the bitfields are used by name as each
language's programmer would: a C program (gcc, and aarch64 gcc under qemu) and a Go program
(promoted and union-forwarded accessors) set them, and the Python parsers must read back the
same bits from both; `layoutgen layout` prints their member lines as pahole does.
"""
from __future__ import annotations

import importlib
import re
import sys

import pytest

import programs
from codegen import pipeline
from codegen.tools import layout_report
from conftest import ARCHS, ROOT, run_cli
from test_tools_layout import compile_probe, pahole_text

CASE = f"{ROOT}/tests/cases/anonymous_bits/spec.yaml"
NAMES = ("MmapPage", "Mixed", "Word")

C_PROGRAM = r"""
#include <stdio.h>
#include <string.h>
#include "anonymous_bits.h"

int main(void) {
    struct mmap_page page; struct mixed mixed; union word word;
    memset(&page, 0, sizeof page); memset(&mixed, 0, sizeof mixed); memset(&word, 0, sizeof word);
    page.version = 1; page.cap_bit0_is_deprecated = 1; page.cap_user_time = 1; page.cap_____res = 0x2aaaaaaaaaaaaaull;
    page.pmc_width = 48;
    mixed.tag = 7; mixed.kind = 5; mixed.urgent = 1; mixed.count = 300; mixed.delta = -3; mixed.level = 99;
    mixed.half_a = 0x1ff; mixed.half_b = 2; mixed.half_c = 0xbeef; mixed.after = 9;
    word.lo = 0xabc; word.hi = -2;
    fwrite(&page, sizeof page, 1, stdout); fwrite(&mixed, sizeof mixed, 1, stdout); fwrite(&word, sizeof word, 1, stdout);
    return 0;
}
"""

GO_PROGRAM = """\
package main

import (
	"os"
	"unsafe"

	"layoutgen.example/generated/anonymous_bits"
)

func bytesOf[T any](v *T) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(v)), unsafe.Sizeof(*v))
}

func main() {
	var page anonymous_bits.MmapPage
	var mixed anonymous_bits.Mixed
	var word anonymous_bits.Word
	page.Version = 1
	page.SetCapBit0IsDeprecated(1)
	page.SetCapUserTime(1)
	page.SetCapRes(0x2aaaaaaaaaaaaa)
	page.PmcWidth = 48
	mixed.Tag = 7
	mixed.SetKind(5)
	mixed.SetUrgent(1)
	mixed.Count = 300
	mixed.SetDelta(-3)
	mixed.SetLevel(99)
	mixed.SetHalfA(0x1ff)
	mixed.SetHalfB(2)
	*mixed.HalfC() = 0xbeef
	mixed.After = 9
	word.SetLo(0xabc)
	word.SetHi(-2)
	os.Stdout.Write(bytesOf(&page))
	os.Stdout.Write(bytesOf(&mixed))
	os.Stdout.Write(bytesOf(&word))
}
"""

# What both programs set, as the parsers give it back.
EXPECTED = {
    "MmapPage": {"version": 1, "cap_bit0": 0, "cap_bit0_is_deprecated": 1, "cap_user_time": 1,
                 "cap_user_rdpmc": 0, "cap_____res": 0x2aaaaaaaaaaaaa, "capabilities": (0x2aaaaaaaaaaaaa << 6) | 0b1010,
                 "pmc_width": 48},
    "Mixed": {"tag": 7, "kind": 5, "urgent": 1, "count": 300, "delta": -3, "level": 99, "half_a": 0x1ff,
              "half_b": 2, "half_c": 0xbeef, "word": 0xbeef0000 | (2 << 9) | 0x1ff, "after": 9},
    "Word": {"lo": 0xabc, "hi": -2, "raw": 0xffffe000 | 0xabc},
}


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    folder = tmp_path_factory.mktemp("anonymous_bits") / "out"
    result = run_cli("generate", "--spec", CASE, "--out", str(folder))
    assert result.returncode == 0, result.stderr
    sys.path.insert(0, str(folder / "python"))
    yield folder
    sys.path.remove(str(folder / "python"))
    for name in [m for m in sys.modules if m == "anonymous_bits" or m.startswith("anonymous_bits.")]:
        del sys.modules[name]


def _check(module, data: bytes) -> None:
    """Every parser reads the programs' bits by the members' names; building gives the bytes back."""
    at = 0
    for name in NAMES:
        parser = getattr(module, name)
        record = data[at:at + parser.sizeof()]
        at += parser.sizeof()
        for value in (parser.parse(record), parser.reference.parse(record)):
            assert {key: value[key] for key in EXPECTED[name]} == EXPECTED[name], name
        view = getattr(module, name + "View")(bytearray(record))
        assert {key: getattr(view, key) for key in EXPECTED[name]} == EXPECTED[name], name
        assert parser.build(parser.parse(record)) == record, name
    assert at == len(data)


@pytest.mark.parametrize("arch", ARCHS)
def test_a_c_program_setting_the_bits_by_name_writes_what_the_parsers_read(out, tmp_path, arch):
    data = programs.run(programs.build_c(arch, C_PROGRAM, out / "c", tmp_path), arch)
    _check(importlib.import_module(f"anonymous_bits.{arch}"), data)


@pytest.mark.parametrize("arch", ARCHS)
def test_a_go_program_using_promoted_and_forwarded_accessors_writes_the_same_bits(out, tmp_path, arch):
    client = programs.go_client(tmp_path / "client", out / "go" / "anonymous_bits", "anonymous_bits", GO_PROGRAM)
    build = programs.build_go(client, arch)
    assert build.returncode == 0, build.stderr
    _check(importlib.import_module(f"anonymous_bits.{arch}"), programs.run(client / f"program_{arch}", arch))


MEMBER_LINE = re.compile(r"^\t+\S.*;\s+/\*.*\*/$")


@pytest.mark.parametrize("arch", ARCHS)
def test_layout_report_member_lines_equal_paholes(out, tmp_path, arch):
    """Members of inline anonymous structs (bitfields, padding, reserved space) print as pahole
    prints them; pahole's guessed `:0` lines and bit-hole notes are not reproduced."""
    spec, layouts = pipeline.build(CASE)
    obj = compile_probe(spec, arch, str(out / "c"), str(tmp_path))
    for name in NAMES:
        ours = [line for line in layout_report.struct_lines(spec, layouts[arch], name) if MEMBER_LINE.match(line)]
        theirs = [line for line in pahole_text(obj, spec, name).splitlines() if MEMBER_LINE.match(line)]
        assert ours == theirs and any(":" in line.split("/*")[1] for line in ours), name


def test_abi_diff_reports_a_changed_bit_of_an_anonymous_member_under_the_parent(tmp_path):
    text = open(CASE).read()
    changed = (text.replace("{name: cap_user_time, type: u64, bits: 1}", "{name: cap_user_time, type: u64, bits: 2}")
               .replace("cap_____res, type: u64, bits: 58", "cap_____res, type: u64, bits: 57")
               .replace("- {name: level, type: u32, bits: 7}",
                        "- {name: level, type: u32, bits: 7}\n          - {name: extra, type: u32, bits: 3}"))
    new = tmp_path / "new.yaml"
    new.write_text(changed)
    result = run_cli("abi-diff", CASE, str(new))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "bitfield-moved        MmapPage.cap_user_time: bits 131..131 -> 131..132" in result.stdout
    assert "compatible  bitfield-added        Mixed.extra: new bitfield at bits 135..137" in result.stdout
    assert "Anon" not in result.stdout


def test_docs_place_the_bits_of_anonymous_members_in_the_parent(out):
    text = (out / "docs" / "anonymous_bits.md").read_text()
    assert "| 16:3 | 1 bits | `u64:1` | ↳ ↳ `cap_user_time` | Bits 16:3..16:3 (byte:bit). |" in text
    assert "| 4 | 4 bits |  | ↳ *(padding bits)* | Bits of bytes 4..4 no field holds, kept zero. |" in text
    assert "Anon" not in text
