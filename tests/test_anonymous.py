"""Anonymous (unnamed) struct and union members, used by name from every language.

tests/cases/anonymous runs through every generic case test (gcc asserts, DWARF, parsers, Go
layout tests). Here the members are used the way each language's programmer would: a C
program (gcc, and aarch64 gcc under qemu) fills the structs by the C11 member names and
writes their bytes; a Go program fills the same structs through the promoted fields and
accessors; both must write exactly the bytes the Python parsers build, and the parsers must
read the members back. Also: how a union given as several members builds, byte order
inherited from the outer struct, and error paths that never show the generated names.
"""
from __future__ import annotations

import importlib
import os
import sys

import construct
import pytest

import programs
from conftest import ARCHS, ROOT, run_cli

CASE = os.path.join(ROOT, "tests", "cases", "anonymous", "spec.yaml")

C_PROGRAM = r"""
#include <stdio.h>
#include <string.h>
#include "anonymous.h"

int main(void) {
    struct attr attr; struct framed framed; struct net net;
    memset(&attr, 0, sizeof attr); memset(&framed, 0, sizeof framed); memset(&net, 0, sizeof net);
    attr.type = 7; attr.size = sizeof attr; attr.sample_freq = 4000; attr.flags = 3;
    attr.wakeup_watermark = 99; attr.tail = 0xbeef;
    framed.tag = 1; framed.wide = 0x1122334455667788ull; framed.narrow = 9; framed.after = 2;
    framed.low = 0x1234; framed.high = 0x5678; framed.point.x = -5; framed.point.y = 6;
    net.port = __builtin_bswap16(8080); net.addr_hi = __builtin_bswap16(0x0a00); net.addr_lo = 0x0201;
    net.net_tail = __builtin_bswap32(77);
    fwrite(&attr, sizeof attr, 1, stdout); fwrite(&framed, sizeof framed, 1, stdout);
    fwrite(&net, sizeof net, 1, stdout);
    return 0;
}
"""

GO_PROGRAM = """\
package main

import (
	"os"
	"unsafe"

	"layoutgen.example/generated/anonymous"
)

func bytesOf[T any](v *T) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(v)), unsafe.Sizeof(*v))
}

func main() {
	var attr anonymous.Attr
	var framed anonymous.Framed
	var net anonymous.Net
	attr.Type = 7
	attr.Size = uint32(unsafe.Sizeof(attr))
	*attr.SampleFreq() = 4000
	attr.Flags = 3
	*attr.WakeupWatermark() = 99
	attr.Tail = 0xbeef
	framed.Tag = 1
	framed.Wide = 0x1122334455667788
	framed.Narrow = 9
	framed.After = 2
	framed.Pair()[0] = 0x1234
	framed.Pair()[1] = 0x5678
	framed.Point.X = -5
	framed.Point.Y = 6
	net.SetPort(8080)
	net.SetAddrHi(0x0a00)
	net.SetAddrLo(0x0201)
	net.SetNetTail(77)
	os.Stdout.Write(bytesOf(&attr))
	os.Stdout.Write(bytesOf(&framed))
	os.Stdout.Write(bytesOf(&net))
}
"""

# What the programs set, as the parsers give it back.
EXPECTED = {
    "Attr": {"type": 7, "sample_period": 4000, "sample_freq": 4000, "flags": 3, "wakeup_events": 99,
             "wakeup_watermark": 99, "tail": 0xbeef},
    "Framed": {"tag": 1, "wide": 0x1122334455667788, "narrow": 9, "after": 2, "pair": [0x1234, 0x5678],
               "low": 0x1234, "high": 0x5678},
    "Net": {"port": 8080, "addr4": 0x0a000102, "addr_hi": 0x0a00, "addr_lo": 0x0201, "net_tail": 77},
}


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    folder = tmp_path_factory.mktemp("anonymous") / "out"
    result = run_cli("generate", "--spec", CASE, "--out", str(folder))
    assert result.returncode == 0, result.stderr
    sys.path.insert(0, str(folder / "python"))
    yield folder
    sys.path.remove(str(folder / "python"))
    for name in [m for m in sys.modules if m == "anonymous" or m.startswith("anonymous.")]:
        del sys.modules[name]


def _module(arch):
    return importlib.import_module(f"anonymous.{arch}")


def _records(module, data: bytes) -> dict:
    found, at = {}, 0
    for name in ("Attr", "Framed", "Net"):
        parser = getattr(module, name)
        found[name] = parser.parse(data[at:at + parser.sizeof()])
        at += parser.sizeof()
    assert at == len(data)
    return found


def _check(records: dict) -> None:
    for name, wanted in EXPECTED.items():
        got = {key: records[name][key] for key in wanted}
        assert got == wanted, name
    assert records["Attr"]["size"] == 32


@pytest.mark.parametrize("arch", ARCHS)
def test_a_c_program_using_the_member_names_writes_what_the_parsers_read(out, tmp_path, arch):
    data = programs.run(programs.build_c(arch, C_PROGRAM, out / "c", tmp_path), arch)
    module = _module(arch)
    records = _records(module, data)
    _check(records)
    # Building the parsed values gives the program's bytes back (padding was zero there).
    assert b"".join(getattr(module, name).build(records[name]) for name in EXPECTED) == data


@pytest.mark.parametrize("arch", ARCHS)
def test_a_go_program_using_the_promoted_members_writes_the_same_bytes_as_c(out, tmp_path, arch):
    client = programs.go_client(tmp_path / "client", out / "go" / "anonymous", "anonymous", GO_PROGRAM)
    build = programs.build_go(client, arch)
    assert build.returncode == 0, build.stderr
    _check(_records(_module(arch), programs.run(client / f"program_{arch}", arch)))


def test_a_union_given_several_members_builds_the_first_in_spec_order(out):
    module = _module("amd64")
    first = module.Attr.build({"type": 1, "size": 32, "sample_period": 5, "sample_freq": 6, "flags": 0,
                               "wakeup_events": 1, "tail": 0})
    assert module.Attr.parse(first).sample_freq == 5
    assert module.Attr.reference.build(module.Attr.reference.parse(first)) == first
    with pytest.raises(construct.UnionError) as error:
        module.Attr.build({"type": 1, "size": 32, "flags": 0, "wakeup_events": 1, "tail": 0})
    assert error.value.path == "(building) -> Attr -> (anonymous union)"
    assert "sample_period, sample_freq" in str(error.value)


def test_members_of_different_sizes_survive_a_round_trip(generate):
    folder = generate("""\
layoutgen: 1
name: anonsizes
archs: [amd64, arm64]
structs:
  Rec:
    fields:
      - {name: tag, type: u32}
      - union:
          - {name: wide, type: u64}
          - {name: narrow, type: u32}
          - {name: raw, type: "u8[8]"}
""")
    sys.path.insert(0, str(folder / "python"))
    try:
        module = importlib.import_module("anonsizes.amd64")
        data = bytes(4) + bytes(4) + bytes(range(1, 9))
        value = module.Rec.parse(data)
        assert value.narrow == 0x04030201 and value.raw == bytes(range(1, 9))
        assert module.Rec.build(value) == module.Rec.reference.build(value) == data
        view = module.RecView(bytearray(data))
        assert view.wide == value.wide and view.narrow == value.narrow
    finally:
        sys.path.remove(str(folder / "python"))
        for name in [m for m in sys.modules if m == "anonsizes" or m.startswith("anonsizes.")]:
            del sys.modules[name]


def test_the_outer_struct_byte_order_reaches_anonymous_members(out):
    module = _module("arm64")
    data = bytes([0x1f, 0x90, 0, 0, 0x0a, 0x00, 0x01, 0x02, 0, 0, 0, 77])
    value = module.Net.parse(data)
    assert (value.port, value.addr4, value.addr_hi, value.addr_lo) == (8080, 0x0a000102, 0x0a00, 0x0201)
    header = (out / "c" / "anonymous.h").read_text()
    assert "uint32_t addr4;  /* offset 4, size 4, big-endian */" in header
    assert "uint16_t addr_lo;  /* offset 6, size 2, little-endian */" in header
