"""The Python package against the bytes real C writes on arches whose rules differ from
amd64's: s390x (big-endian: native fields, `endian:` fields swapped the other way, bitfields
allocated from the most significant bit) and i386 (4-byte pointers and `long`, u64 aligned
to 4). A static C program fills each struct through the generated header and writes its
bytes; it runs under qemu-user. The generated parsers (fast, field-by-field reference,
views) must read the values back, and building those values must give the same bytes."""
from __future__ import annotations

import importlib
import json
import subprocess
import sys

import pytest

import programs
from codegen.check.toolchain import C_FLAGS, c_compiler
from conftest import run_cli

SPEC = """\
layoutgen: 1
name: archbytes
archs: [amd64, i386, s390x]
targets: [c, python]
structs:
  Mixed:
    fields:
      - {name: a, type: u8, bits: 3}
      - {name: b, type: i8, bits: 5}
      - {name: c, type: u16, bits: 4}
      - {name: d, type: u32, bits: 30}
      - {name: s, type: i32, bits: 7}
      - {name: e, type: u64, bits: 40}
      - {name: h, type: u16, endian: big}
      - {name: l, type: u32, endian: little}
      - {name: q, type: u64, endian: little}
      - {name: n, type: u32}
  Tight:
    packed: true
    fields:
      - {name: t, type: u8}
      - {name: x, type: u32, bits: 20}
      - {name: y, type: i16, bits: 12}
      - {name: z, type: u64, bits: 33}
      - {name: w, type: u8}
  Words:
    fields:
      - {name: c, type: u8}
      - {name: x, type: u64}
      - {name: n, type: long}
      - {name: u, type: ulong}
      - {name: p, type: ptr(Words)}
      - {name: i, type: i64}
      - {name: tail, type: u16}
      - {name: arr, type: "u32[3]"}
      - {name: grid, type: "i16[2][2]"}
      - {name: les, type: "u16[2]", endian: little}
      - {name: small, type: "i8[2]"}
  Wide:
    arch: [amd64, s390x]
    fields:
      - {name: tag, type: u8}
      - {name: big, type: u128}
      - {name: neg, type: i128}
"""

C_PROGRAM = r"""
#include <endian.h>
#include <stdio.h>
#include <string.h>
#include "archbytes.h"

int main(void) {
  struct mixed m;
  struct tight t;
  struct words w;
  memset(&m, 0, sizeof m);
  memset(&t, 0, sizeof t);
  memset(&w, 0, sizeof w);
  m.a = 5; m.b = -7; m.c = 0xa; m.d = 0x2345678f; m.s = -33; m.e = 0xab12345678ULL;
  m.h = htobe16(0x1234); m.l = htole32(0x89abcdefU); m.q = htole64(0x0102030405060708ULL);
  m.n = 0xcafef00dU;
  t.t = 0x11; t.x = 0xabcde; t.y = -1000; t.z = 0x1fedcba98ULL; t.w = 0x77;
  w.c = 0x42; w.x = 0x1122334455667788ULL; w.n = -5; w.u = 0x7eadbeefUL;
  w.p = (struct words *)(unsigned long)0x12345678UL; w.i = -0x123456789LL; w.tail = 0xbeef;
  w.arr[0] = 1; w.arr[1] = 0x80000000U; w.arr[2] = 0x01020304U;
  w.grid[0][0] = -1; w.grid[0][1] = 2; w.grid[1][0] = -300; w.grid[1][1] = 0x1234;
  w.les[0] = htole16(0xa1b2); w.les[1] = htole16(7); w.small[0] = -2; w.small[1] = 100;
  fwrite(&m, sizeof m, 1, stdout);
  fwrite(&t, sizeof t, 1, stdout);
  fwrite(&w, sizeof w, 1, stdout);
#ifdef __SIZEOF_INT128__
  struct wide x;
  memset(&x, 0, sizeof x);
  x.tag = 9;
  x.big = ((__uint128_t)0x0102030405060708ULL << 64) | 0x090a0b0c0d0e0f10ULL;
  x.neg = -((__int128_t)3 << 70);
  fwrite(&x, sizeof x, 1, stdout);
#endif
  return 0;
}
"""

EXPECTED = {
    "Mixed": {"a": 5, "b": -7, "c": 0xa, "d": 0x2345678f, "s": -33, "e": 0xab12345678, "h": 0x1234,
              "l": 0x89abcdef, "q": 0x0102030405060708, "n": 0xcafef00d},
    "Tight": {"t": 0x11, "x": 0xabcde, "y": -1000, "z": 0x1fedcba98, "w": 0x77},
    "Words": {"c": 0x42, "x": 0x1122334455667788, "n": -5, "u": 0x7eadbeef, "p": 0x12345678,
              "i": -0x123456789, "tail": 0xbeef, "arr": [1, 0x80000000, 0x01020304], "grid": [[-1, 2], [-300, 0x1234]],
              "les": [0xa1b2, 7], "small": [-2, 100]},
    "Wide": {"tag": 9, "big": 0x0102030405060708090a0b0c0d0e0f10, "neg": -(3 << 70)},
}
SIZES = {  # what each arch's gcc lays out, so a wrong layout fails here before any value does
    "amd64": {"Mixed": 40, "Tight": 11, "Words": 80, "Wide": 48},
    "i386": {"Mixed": 32, "Tight": 11, "Words": 64},
    "s390x": {"Mixed": 40, "Tight": 11, "Words": 80, "Wide": 40},
}
ARCHS = tuple(SIZES)


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    folder = tmp_path_factory.mktemp("archbytes")
    (folder / "archbytes.yaml").write_text(SPEC)
    result = run_cli("generate", "--spec", str(folder / "archbytes.yaml"), "--out", str(folder / "out"))
    assert result.returncode == 0, result.stderr
    sys.path.insert(0, str(folder / "out" / "python"))
    yield folder / "out"
    sys.path.remove(str(folder / "out" / "python"))
    for name in [m for m in sys.modules if m == "archbytes" or m.startswith("archbytes.")]:
        del sys.modules[name]


@pytest.fixture(scope="module")
def written(out, tmp_path_factory):
    """Per arch: {struct: the bytes that arch's C program wrote for it}."""
    found = {}
    for arch in ARCHS:
        data = programs.run(_build_c(arch, out / "c", tmp_path_factory.mktemp(arch)), arch)
        module, at, found[arch] = importlib.import_module(f"archbytes.{arch}"), 0, {}
        for name in SIZES[arch]:
            size = getattr(module, name).sizeof()
            found[arch][name] = data[at:at + size]
            at += size
        assert at == len(data), f"{arch}: the C structs have other sizes than the Python ones"
    return found


def _build_c(arch: str, include, folder) -> str:
    """The C program compiled statically with `arch`'s gcc (every arch's, not only the two
    the shared test helpers know)."""
    source, binary = folder / "program.c", folder / "program"
    source.write_text(C_PROGRAM)
    result = subprocess.run([c_compiler(arch), *C_FLAGS, "-static", "-I", str(include), "-o", str(binary), str(source)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return str(binary)


def _fields(record, name: str) -> dict:
    """The expected fields of a parsed record or a view, arrays as (nested) lists."""
    return {key: _plain(record[key] if hasattr(record, "__getitem__") else getattr(record, key))
            for key in EXPECTED[name]}


def _plain(value):
    if isinstance(value, memoryview):  # a view's array in the host's byte order
        return value.tolist()
    return [_plain(item) for item in value] if isinstance(value, (list, tuple)) else value


CASES = [(arch, name) for arch, names in SIZES.items() for name in names]


@pytest.mark.parametrize("arch,name", CASES)
def test_the_parsers_read_what_c_wrote(written, arch, name):
    parser = getattr(importlib.import_module(f"archbytes.{arch}"), name)
    assert parser.sizeof() == SIZES[arch][name]
    data = written[arch][name]
    assert _fields(parser.parse(data), name) == EXPECTED[name]
    assert _fields(parser.reference.parse(data), name) == EXPECTED[name]


@pytest.mark.parametrize("arch,name", CASES)
def test_building_the_values_gives_the_bytes_c_wrote(written, arch, name):
    parser = getattr(importlib.import_module(f"archbytes.{arch}"), name)
    assert parser.build(EXPECTED[name]) == written[arch][name]
    assert parser.reference.build(EXPECTED[name]) == written[arch][name]


@pytest.mark.parametrize("arch,name", CASES)
def test_views_read_and_write_the_bytes_c_wrote(written, arch, name):
    module = importlib.import_module(f"archbytes.{arch}")
    view_type = getattr(module, f"{name}View")
    view = view_type(bytearray(written[arch][name]))
    assert {key: _plain(getattr(view, key)) for key in EXPECTED[name]} == EXPECTED[name]
    blank = bytearray(len(written[arch][name]))
    writer = view_type(blank)
    for key, value in EXPECTED[name].items():
        setattr(writer, key, value)
    assert bytes(blank) == written[arch][name]


@pytest.mark.parametrize("arch", ARCHS)
def test_the_dump_tool_reads_the_values_c_wrote(out, written, tmp_path, arch):
    """`layoutgen dump` of each arch's bytes prints the numbers C stored (bitfields too)."""
    for name, wanted in EXPECTED.items():
        if name not in SIZES[arch]:
            continue
        (tmp_path / "record.bin").write_bytes(written[arch][name])
        result = run_cli("dump", "--spec", str(out.parent / "archbytes.yaml"), "--arch", arch, "--struct", name,
                         "--format", "json", str(tmp_path / "record.bin"))
        assert result.returncode == 0, result.stderr
        [record] = json.loads(result.stdout)["records"]
        assert {key: value for key, value in _values(record["fields"]) if key in wanted} == wanted, name


def _values(fields: list):
    """(name, value) of every field of a dumped record, bitfields inside their run too."""
    for field in fields:
        yield from _values(field["fields"]) if field["kind"] == "bits" else [(field["name"], field.get("value"))]


@pytest.mark.parametrize("arch", ARCHS)
def test_numpy_reads_the_values_c_wrote(written, arch):
    """The structured dtype of Words (no bitfields) reads C's bytes in the arch's order."""
    import numpy
    module = importlib.import_module(f"archbytes.{arch}")
    record = numpy.frombuffer(written[arch]["Words"], dtype=module.dtype("Words"))[0]
    found = {key: record[key].tolist() for key in EXPECTED["Words"]}
    assert found == EXPECTED["Words"]
    if "Wide" in SIZES[arch]:  # 128-bit fields are (lo, hi) records of 64-bit halves
        wide = numpy.frombuffer(written[arch]["Wide"], dtype=module.dtype("Wide"))[0]
        assert [int(wide[key]["lo"]) + (int(wide[key]["hi"]) << 64) for key in ("big", "neg")] == \
            [EXPECTED["Wide"]["big"], EXPECTED["Wide"]["neg"]]
