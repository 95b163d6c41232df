"""The Go target on every Linux arch: per-GOARCH files whose layout tests pass under each arch's
qemu-user; explicit padding where Go's alignment (armhf: u64 to 4) is smaller than C's; `long`
and pointers as wide as the arch's word; bitfield accessors that shift within big-endian chunks
on s390x. (A refusal where no padding can make Go's size C's is in test_go_target.py.)"""
from __future__ import annotations

import re
import shutil

import pytest

from codegen import pipeline
from codegen.check import go as go_check
from codegen.check.jobs import Pool, job_count
from codegen.check.toolchain import require
from codegen.primitives import ARCHS
from codegen.targets import go as go_target
from conftest import run_cli

SPEC = """\
layoutgen: 1
name: everyarch
archs: [amd64, arm64, riscv64, i386, armhf, ppc64le, s390x, mips64el]
enums:
  Kind:
    type: u64
    go_accessors: [set, get]
    values: [{name: SMALL}, {name: LARGE}]
structs:
  Inner:
    doc: A u64 after a byte; C long and a pointer; fields in fixed byte orders.
    fields:
      - {name: c, type: u8}
      - {name: x, type: u64}
      - {name: n, type: long}
      - {name: un, type: ulong}
      - {name: p, type: ptr(Inner)}
      - {name: h, type: u16, endian: big}
      - {name: l, type: u32, endian: little}
  Outer:
    doc: Inner after a u32 and in an array, a u64 enum, a union of a u64.
    fields:
      - {name: tag, type: u32}
      - {name: one, type: Inner}
      - {name: small, type: u8}
      - {name: many, type: "Inner[2]"}
      - {name: kind, type: Kind}
      - {name: both, type: Either}
      - {name: last, type: u16}
  Bits:
    fields:
      - {name: a, type: u8, bits: 3}
      - {name: b, type: u8, bits: 5}
      - {name: c, type: u16, bits: 4}
      - {name: d, type: u32, bits: 30}
      - {name: e, type: u64, bits: 40}
      - {name: s, type: i64, bits: 33}
      - {name: t, type: i8, bits: 2}
  Tail:
    doc: Ends in a flexible array; on armhf Go's 4-byte alignment leaves it short of C's size.
    fields:
      - {name: length, type: u64}
      - {name: kind, type: u16}
      - {name: data, type: "u8[]"}
unions:
  Either:
    fields:
      - {name: wide, type: u64}
      - {name: narrow, type: u32}
"""


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """(spec path, output folder, Go package folder) for SPEC, generated once."""
    root = tmp_path_factory.mktemp("everyarch")
    spec = root / "spec.yaml"
    spec.write_text(SPEC)
    result = run_cli("generate", "--spec", str(spec), "--out", str(root / "out"))
    assert result.returncode == 0, result.stderr
    return spec, root / "out", root / "out" / "go" / "everyarch"


def _struct_text(folder, goarch: str, name: str) -> str:
    text = (folder / f"everyarch_{goarch}.go").read_text()
    return re.search(rf"^type {name} struct {{\n.*?^}}", text, re.S | re.M).group(0)


def test_every_arch_passes_vet_and_its_layout_tests_under_its_qemu(generated):
    spec_path, out, _ = generated
    spec, layouts = pipeline.build(str(spec_path))
    tasks = go_check.tasks(spec, layouts, str(out))
    assert len(tasks) == 1 + len(ARCHS)  # gofmt, then one unit per arch: they run in parallel
    with Pool(job_count(), None) as pool:
        done = Pool.results(pool.submit(tasks))
    assert [problem for result in done for problem in result.problems] == []


def test_armhf_struct_without_its_padding_fails_under_qemu_arm(generated, tmp_path):
    _, _, folder = generated
    copy = tmp_path / "everyarch"
    shutil.copytree(folder, copy)
    source = copy / "everyarch_arm.go"
    text = source.read_text()
    inner = _struct_text(copy, "arm", "Inner")
    assert "\t_   [7]byte\n" in inner  # C puts x at 8, Go's rule alone at 4
    source.write_text(text.replace(inner, inner.replace("\t_   [7]byte\n", "", 1)))
    spec, layouts = pipeline.build(str(generated[0]))
    expected = sum(len(facts) for _, _, facts in go_target.layout_facts(spec, layouts["armhf"]))
    go = require("go")
    problems = go_check.vet_and_test(go, str(copy), "armhf", go_check.host_arch(go, str(copy)), expected)
    assert len(problems) == 1 and "go test fails for GOARCH=arm" in problems[0]
    assert "Inner.x: offset: Go has 4, the spec says 8" in problems[0]


def test_padding_appears_only_where_go_and_c_disagree(generated):
    _, _, folder = generated
    assert "_ " not in _struct_text(folder, "386", "Inner")  # Go and i386's C both align u64 to 4
    assert "_ " not in _struct_text(folder, "amd64", "Outer")
    outer = _struct_text(folder, "arm", "Outer")
    # After tag (a nested struct of C alignment 8), after small (an array of it), and at the
    # tail (C rounds the size to 8).
    assert outer.count("\t_     [") == 3
    tail = _struct_text(folder, "arm", "Tail")
    assert tail.index("Data") < tail.index("_      [6]byte")  # after the array, which keeps its offset


def test_alignment_is_asserted_only_where_go_promises_cs(generated):
    spec_path = str(generated[0])
    spec, layouts = pipeline.build(spec_path)

    def whats(arch):
        return {f.what for _, _, facts in go_target.layout_facts(spec, layouts[arch]) for f in facts}
    for arch in ("amd64", "i386", "s390x"):
        assert {"Inner: alignment", "Inner.x: alignment", "Outer.one: alignment"} <= whats(arch)
    armhf = whats("armhf")
    assert not {"Inner: alignment", "Inner.x: alignment", "Outer.one: alignment", "Outer.kind: alignment"} & armhf
    assert {"Inner: size", "Inner.x: offset", "Outer.many: offset", "Inner.c: alignment"} <= armhf


def test_64_bit_atomic_accessors_warn_where_go_aligns_them_to_4(generated):
    _, _, folder = generated
    shared = (folder / "everyarch.go").read_text()
    assert "func (v *Kind) Set(value Kind)" in shared
    assert re.search(r"// Set stores value with an atomic write\. On 386 and arm the value must be at\n// an 8-byte", shared)


def test_long_and_pointers_take_the_arch_word(generated):
    _, _, folder = generated
    for arch in ARCHS.values():
        inner = _struct_text(folder, arch.goarch, "Inner")
        bits = arch.pointer_size * 8
        assert re.search(rf"\bN +int{bits}\n", inner) and re.search(rf"\bUn +uint{bits}\n", inner)
        assert re.search(rf"\bP +uint{bits}\n", inner)


def test_fixed_byte_order_fields_keep_accessors_on_every_arch(generated):
    _, _, folder = generated
    for goarch in ("amd64", "s390x"):  # the same API whether or not the order is the arch's own
        text = (folder / f"everyarch_{goarch}.go").read_text()
        assert "binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&s.HBE))[:])" in text
        assert "binary.LittleEndian.Uint32((*[4]byte)(unsafe.Pointer(&s.LLE))[:])" in text


def test_s390x_bitfields_shift_within_big_endian_chunks(generated):
    _, _, folder = generated
    s390x = (folder / "everyarch_s390x.go").read_text()
    amd64 = (folder / "everyarch_amd64.go").read_text()
    # `a` takes the first 3 bits in address order: the top of a big-endian chunk, the bottom of a little-endian one.
    assert "return uint8(s.bits0 >> 61 & 0x7)" in s390x and "return uint8(s.bits0 & 0x7)" in amd64
    assert "s.bits16 = s.bits16&^0xffffffff80000000 | uint64(u<<31)" in s390x
    # The layout test expects the bytes C would hold: a's bits in the top of byte 0 on s390x.
    assert '"Bits.a: bits", bitsAfter' in (folder / "layout_s390x_test.go").read_text()
    assert re.search(r'"Bits\.a: bits", .*"e0(00)+"\)', (folder / "layout_s390x_test.go").read_text())
    assert re.search(r'"Bits\.a: bits", .*"07(00)+"\)', (folder / "layout_amd64_test.go").read_text())
