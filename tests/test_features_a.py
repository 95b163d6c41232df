"""Issue 11, part A: unions, flexible array members, byte order, per-arch packing and
alignment, reserved space, each as its users meet it in every target.

The good specs under tests/cases (unions, flexible_arrays, byte_order, epoll_event,
reserved_space) are also compiled on both arches, read back from DWARF, compared with
pahole and parsed at random by the generic tests; here each feature is exercised by
hand: construct's Union parse and build, views over unions, tails and swapped fields,
numpy dtypes, Go accessors compiled and run (amd64 natively, arm64 under qemu), the
dump tool, and the ABI diff's reading of reserved space.
"""
from __future__ import annotations

import importlib
import json
import os
import struct
import subprocess
import sys
import textwrap

import construct
import numpy
import pytest

from codegen import pipeline
from codegen.check import go as go_check
from codegen.check.toolchain import require, run
from codegen.targets import go_members
from conftest import ARCHS, ROOT, compile_c, run_cli

CASES = os.path.join(ROOT, "tests", "cases")
FEATURE_CASES = ("unions", "flexible_arrays", "byte_order", "epoll_event", "reserved_space")


def case_path(name: str) -> str:
    return os.path.join(CASES, name, "spec.yaml")


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """Every feature case generated once; `load(case, arch)` imports its Python module."""
    root = tmp_path_factory.mktemp("features")
    packages = {}
    for name in FEATURE_CASES:
        out = root / name
        result = run_cli("generate", "--spec", case_path(name), "--out", str(out))
        assert result.returncode == 0, result.stderr
        packages[name] = out
        sys.path.insert(0, str(out / "python"))

    def load(name, arch):
        spec, layouts = pipeline.build(case_path(name))
        return importlib.import_module(f"{spec.name}.{arch}"), layouts[arch]
    load.out = packages
    yield load
    for name, out in packages.items():
        sys.path.remove(str(out / "python"))
        package = pipeline.build(case_path(name))[0].name
        for module in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
            del sys.modules[module]


# ---- unions ----------------------------------------------------------------------------------


@pytest.mark.parametrize("arch", ARCHS)
def test_union_parse_gives_every_member_from_the_same_bytes(generated, arch):
    mod, layout = generated("unions", arch)
    data = bytes(range(1, 17))
    value = mod.Geometry.parse(data)
    assert list(value) == ["raw", "point", "corners", "kind", "id", "inner"]
    assert value.raw == data
    assert value.point == {"x": int.from_bytes(data[0:4], "little", signed=True),
                           "y": int.from_bytes(data[4:8], "little", signed=True)}
    assert value.id == int.from_bytes(data[:8], "little")
    assert value.inner.word == int.from_bytes(data[:4], "little") and value.inner.byte == 1
    assert value == mod.Geometry.reference.parse(data)
    assert layout.struct("Geometry").size == mod.Geometry.sizeof() == mod.Geometry.reference.sizeof()


@pytest.mark.parametrize("arch", ARCHS)
def test_union_build_writes_the_first_named_member_then_zeros(generated, arch):
    mod, _ = generated("unions", arch)
    size = mod.Geometry.sizeof()
    for parser in (mod.Geometry, mod.Geometry.reference):
        assert parser.build({"id": 0x1122334455667788}) == struct.pack("<Q", 0x1122334455667788) + bytes(size - 8)
        # Several members named: the first in spec order wins (construct's own Union rule).
        assert parser.build({"kind": 2, "id": 7}) == struct.pack("<H", 2) + bytes(size - 2)
        assert parser.build({"point": {"x": -1, "y": 2}}) == struct.pack("<ii", -1, 2) + bytes(size - 8)
        with pytest.raises(construct.UnionError, match="raw, point, corners, kind, id, inner"):
            parser.build({"nothing": 1})
    parsed = mod.Geometry.parse(bytes(range(16)))
    assert mod.Geometry.build(parsed) == bytes(range(16))  # `raw` comes first and covers every byte


@pytest.mark.parametrize("arch", ARCHS)
def test_union_tail_padding_is_part_of_its_size(generated, arch):
    mod, layout = generated("unions", arch)
    assert layout.struct("Padded").size == 16 and [h.size for h in layout.struct("Padded").holes] == [7]
    assert mod.Padded.build({"bytes": bytes(range(9))}) == bytes(range(9)) + bytes(7)
    for parser in (mod.Padded, mod.Padded.reference):
        with pytest.raises(construct.StreamError) as error:
            parser.parse(bytes(12))
        assert error.value.path.endswith("Padded -> (tail padding)")


@pytest.mark.parametrize("arch", ARCHS)
def test_a_union_inside_a_struct_and_an_array_of_unions(generated, arch):
    mod, layout = generated("unions", arch)
    tagged = layout.struct("Tagged")
    value = {"shape": "LINE", "value": {"corners": [{"x": 1, "y": 2}, {"x": 3, "y": 4}]},
             "extra": [{"half": [5, 6]}, {"byte": 7}], "tail": 9}
    data = mod.Tagged.build(value)
    assert len(data) == tagged.size
    at = tagged.field("value").offset
    assert data[at:at + 16] == struct.pack("<4i", 1, 2, 3, 4)
    extra = tagged.field("extra").offset
    assert data[extra:extra + 8] == struct.pack("<HHB3x", 5, 6, 7)
    back = mod.Tagged.parse(data)
    assert back.shape is mod.Shape.LINE and back.value.corners[1].y == 4 and back.extra[1].byte == 7
    assert mod.Tagged.reference.build(value) == data


@pytest.mark.parametrize("arch", ARCHS)
def test_union_views_share_the_bytes(generated, arch):
    mod, layout = generated("unions", arch)
    buffer = bytearray(layout.struct("Tagged").size)
    view = mod.TaggedView(buffer)
    view.value.id = 0x0102030405060708
    assert view.value.inner.word == 0x05060708 and bytes(view.value.raw[:2]) == b"\x08\x07"
    assert view.value.point.x == 0x05060708
    view.value.kind = mod.Shape.BOX
    assert view.value.id == 0x0102030405060002
    view.value = {"point": {"x": 1, "y": 2}}  # the whole union, from one named member
    assert view.value.id == (2 << 32) | 1 and bytes(view.value.raw[8:]) == bytes(8)
    assert mod.Tagged.parse(buffer).value.point == {"x": 1, "y": 2}


@pytest.mark.parametrize("arch", ARCHS)
def test_union_numpy_dtype_overlaps_its_members(generated, arch):
    mod, layout = generated("unions", arch)
    dtype = mod.dtype("Geometry")
    assert dtype.itemsize == 16 and {offset for _, offset in dtype.fields.values()} == {0}
    records = numpy.frombuffer(bytes(range(32)), dtype)
    assert records["id"].tolist() == [int.from_bytes(bytes(range(8)), "little"),
                                     int.from_bytes(bytes(range(16, 24)), "little")]
    assert records["point"]["y"][1] == int.from_bytes(bytes(range(20, 24)), "little")


# ---- flexible arrays -------------------------------------------------------------------------


@pytest.mark.parametrize("arch", ARCHS)
def test_flexible_array_parse_reads_to_the_end_of_the_data(generated, arch):
    mod, layout = generated("flexible_arrays", arch)
    blob = layout.struct("Blob")
    head = struct.pack("<QH", 5, 1)
    assert blob.flex.offset == len(head) == mod.Blob.size
    value = mod.Blob.parse(head + b"hello")
    assert value.data == b"hello" and value == mod.Blob.reference.parse(head + b"hello")
    assert mod.Blob.build(value) == head + b"hello"  # exactly the elements given: parse and build round-trip
    assert mod.Blob.parse(head).data == b""
    with pytest.raises(construct.SizeofError, match="Blob ends in a flexible array"):
        mod.Blob.sizeof()
    with pytest.raises(construct.StreamError, match="Blob needs at least 10 bytes, found 9"):
        mod.Blob.parse(head[:9])
    numbers = struct.pack("<QB3x", 2, 0) + struct.pack("<3I", 7, 8, 9) + b"\x01\x02"  # and half an element
    assert mod.Numbers.parse(numbers).numbers == [7, 8, 9]
    pairs = mod.Pairs.parse(struct.pack("<QBx", 2, 0) + struct.pack("<4h", -1, 2, -3, 4))
    assert pairs.pairs == [[-1, 2], [-3, 4]]


@pytest.mark.parametrize("arch", ARCHS)
def test_flexible_struct_elements_and_a_struct_that_ends_in_one(generated, arch):
    mod, layout = generated("flexible_arrays", arch)
    entries = [{"key": 1, "weight": 2}, {"key": 3, "weight": 4}]
    data = mod.Items.build({"count": 2, "flags": 0, "entries": entries})
    assert len(data) == layout.struct("Items").flex.offset + 2 * 8
    assert mod.Items.parse(data).entries == entries
    envelope = mod.Envelope.build({"id": 9, "body": {"length": 3, "kind": 1, "data": b"abc"}})
    assert layout.struct("Envelope").tail_start == len(envelope) - 3
    assert mod.Envelope.parse(envelope).body.data == b"abc"
    assert mod.Envelope.reference.parse(envelope) == mod.Envelope.parse(envelope)
    stream = construct.Struct("head" / construct.Int8ul, "items" / mod.Items)
    assert stream.parse(b"\x01" + data)["items"].entries == entries  # takes the rest of the stream


@pytest.mark.parametrize("arch", ARCHS)
def test_flexible_array_views_reach_the_tail(generated, arch):
    mod, layout = generated("flexible_arrays", arch)
    buffer = bytearray(layout.struct("Numbers").flex.offset + 4 * 4 + 3)
    view = mod.NumbersView(buffer)
    assert view.SIZE == layout.struct("Numbers").flex.offset
    tail = view.numbers
    assert isinstance(tail, memoryview) and tail.format == "I" and tail.shape == (4,)
    tail[3] = 0xdeadbeef
    del tail
    view.numbers = [1, 2]
    assert mod.Numbers.parse(buffer).numbers == [1, 2, 0, 0xdeadbeef]
    with pytest.raises(ValueError, match="NumbersView.numbers"):
        view.numbers = list(range(5))  # no room for a fifth element
    items = mod.ItemsView(bytearray(layout.struct("Items").flex.offset + 8 * 2))
    items.entries = [{"key": 5, "weight": 6}, {"key": 7, "weight": 8}]
    assert [entry.key for entry in items.entries] == [5, 7]


# ---- byte order ------------------------------------------------------------------------------


@pytest.mark.parametrize("arch", ARCHS)
def test_big_endian_fields_parse_build_and_view(generated, arch):
    mod, layout = generated("byte_order", arch)
    header = layout.struct("Header")
    value = {"source_port": 0x1234, "dest_port": 80, "sequence": 0x01020304, "proto": "UDP", "ttl": 64,
             "urgent": True, "offset": -2, "checks": [[1, 2], [3, 4]], "host_order": 0x0a0b0c0d, "delta": -3,
             "word_count": 2, "words": [0x11223344, 5]}
    data = mod.Header.build(value)
    assert data[0:2] == b"\x12\x34" and data[4:8] == b"\x01\x02\x03\x04"
    at = header.field("proto").offset
    assert data[at:at + 2] == b"\x00\x11"
    at = header.field("offset").offset
    assert data[at:at + 8] == struct.pack(">q", -2)
    at = header.field("checks").offset
    assert data[at:at + 8] == struct.pack(">4H", 1, 2, 3, 4)
    at = header.field("host_order").offset
    assert data[at:at + 4] == struct.pack("<I", 0x0a0b0c0d)
    assert data[header.flex.offset:] == struct.pack(">2I", 0x11223344, 5)
    back = mod.Header.parse(data)
    assert back.proto is mod.Proto.UDP and back.offset == -2 and back.words == [0x11223344, 5]
    assert mod.Header.reference.parse(data) == back
    view = mod.HeaderView(bytearray(data))
    assert view.source_port == 0x1234 and view.delta == -3 and view.proto is mod.Proto.UDP
    view.sequence = 0xa0b0c0d0
    assert bytes(view._buf[4:8]) == b"\xa0\xb0\xc0\xd0"
    assert mod.dtype("Header").fields["sequence"][0].str == ">u4"


@pytest.mark.parametrize("arch", ARCHS)
def test_a_big_endian_union_member(generated, arch):
    mod, _ = generated("byte_order", arch)
    assert mod.Either.build({"port": 443}) == b"\x01\xbb" + bytes(6)
    value = mod.Either.parse(struct.pack(">II", 1, 2))
    assert value.pair == [1, 2] and value.port == 0
    view = mod.MixedView(bytearray(mod.Mixed.sizeof()))
    view.either.port = 8080
    assert view.either.raw == int.from_bytes(b"\x1f\x90" + bytes(6), "little")


# ---- per-arch packing and alignment: glibc's epoll_event --------------------------------------


def test_epoll_event_is_packed_on_x86_64_only_as_glibc_declares_it(generated, tmp_path):
    _, layouts = pipeline.build(case_path("epoll_event"))
    sizes = {arch: layouts[arch].struct("EpollEvent").size for arch in ARCHS}
    offsets = {arch: layouts[arch].struct("EpollEvent").field("data").offset for arch in ARCHS}
    # The same numbers from the compilers and the system header, printed by a probe...
    probe = tmp_path / "probe.c"
    probe.write_text("#include <stddef.h>\n#include <sys/epoll.h>\n"
                     "char size[sizeof(struct epoll_event)];\n"
                     "char offset[offsetof(struct epoll_event, data) + 1];\n")
    for arch in ARCHS:
        obj = tmp_path / f"probe-{arch}.o"
        assert compile_c(arch, str(probe), "-c", "-o", str(obj)).returncode == 0
        symbols = _symbol_sizes(arch, obj)
        assert symbols == {"size": sizes[arch], "offset": offsets[arch] + 1}
    # ... and the generated asserts say so against <sys/epoll.h> on each arch.
    test_c = (generated.out["epoll_event"] / "c" / "epoll_layout_test.c").read_text()
    assert "sizeof(struct epoll_event) == 12" in test_c and "sizeof(struct epoll_event) == 16" in test_c
    for arch in ARCHS:
        result = compile_c(arch, str(generated.out["epoll_event"] / "c" / "epoll_layout_test.c"), "-c", "-o",
                           str(tmp_path / f"asserts-{arch}.o"))
        assert result.returncode == 0, result.stderr
    assert sizes == {"amd64": 12, "arm64": 16}  # the numbers the issue gives, now proven above


def _symbol_sizes(arch: str, obj) -> dict:
    from elftools.elf.elffile import ELFFile
    with open(obj, "rb") as handle:
        symbols = ELFFile(handle).get_section_by_name(".symtab")
        return {s.name: s["st_size"] for s in symbols.iter_symbols() if s.name in ("size", "offset")}


@pytest.mark.parametrize("arch", ARCHS)
def test_per_arch_packing_and_alignment_in_python_and_c(generated, arch):
    mod, layout = generated("epoll_event", arch)
    queue = layout.struct("Queue")
    if arch == "amd64":
        assert queue.align == 1 and queue.field("event").offset == 2
    else:
        assert queue.align == 64 and queue.field("event").offset == 8
    assert mod.Queue.sizeof() == queue.size
    assert layout.struct("Wide").align == {"amd64": 16, "arm64": 32}[arch]
    value = mod.EpollEvent.parse(struct.pack("<I", 1) + bytes(mod.EpollEvent.sizeof() - 4))
    assert value.events == 1 and value.data.fd == 0
    header = (generated.out["epoll_event"] / "c" / "epoll.h").read_text()
    assert "} __attribute__((packed));" in header and "} __attribute__((aligned(64)));" in header


# ---- reserved space --------------------------------------------------------------------------


@pytest.mark.parametrize("arch", ARCHS)
def test_reserved_space_is_invisible_and_built_as_zeros(generated, arch):
    mod, layout = generated("reserved_space", arch)
    config = layout.struct("Config")
    value = mod.Config.parse(bytes(range(config.size)))
    assert list(value) == ["version", "limit"]
    data = mod.Config.build(value)
    assert data[4:8] == bytes(4) and data[16:] == bytes(16) and data[8:16] == bytes(range(8, 16))
    assert layout.struct("Slot").size == 32 and mod.Slot.build({"config": value}) == data + bytes(32 - len(data))
    header = (generated.out["reserved_space"] / "c" / "reserved.h").read_text()
    assert "uint8_t __reserved_0[4];" in header and "uint8_t __reserved_1[16];" in header
    assert layout.struct("PerArch").field("tail").offset == {"amd64": 16, "arm64": 32}[arch]


RESERVED_V1 = """\
layoutgen: 1
name: cfg
archs: [amd64, arm64]
structs:
  Config:
    fields:
      - {name: version, type: u32}
      - {reserved: 12}
      - {name: limit, type: u64}
  Holder:
    fields:
      - {name: config, type: Config}
"""


@pytest.mark.parametrize("new, breaking, detail", [
    # A field takes reserved bytes: same size, nothing after it moves.
    (RESERVED_V1.replace("{reserved: 12}", "{name: flags, type: u32}\n      - {reserved: 8}"), False,
     "in bytes that were reserved for it"),
    # The same field without shrinking the reserved space moves `limit` and grows the struct.
    (RESERVED_V1.replace("{reserved: 12}", "{name: flags, type: u32}\n      - {reserved: 12}"), True, "moved"),
])
def test_abi_diff_calls_a_field_in_reserved_space_compatible(tmp_path, new, breaking, detail):
    old_path, new_path = tmp_path / "old.yaml", tmp_path / "new.yaml"
    old_path.write_text(RESERVED_V1)
    new_path.write_text(new)
    result = run_cli("abi-diff", "--format", "json", str(old_path), str(new_path))
    report = json.loads(result.stdout)
    assert report["breaking"] is breaking and result.returncode == (1 if breaking else 0), result.stdout
    added = [c for c in report["changes"] if c["kind"] == "field-added-reserved"]
    assert {c["arch"] for c in added} == set(ARCHS) and all(c["subject"] == "Config.flags" for c in added)
    if not breaking:
        assert all(detail in c["detail"] and not c["breaking"] for c in added)
        assert [c["kind"] for c in report["changes"]] == ["field-added-reserved"] * 2
    else:
        assert any(c["kind"] == "field-moved" and c["subject"] == "Config.limit" for c in report["changes"])


def test_abi_diff_sees_a_byte_order_change_and_a_new_union_member(tmp_path):
    old = "layoutgen: 1\nname: o\narchs: [amd64]\nunions:\n  U:\n    fields:\n      - {name: a, type: u64}\n" \
          "structs:\n  S:\n    fields:\n      - {name: port, type: u16}\n"
    new = old.replace("{name: port, type: u16}", "{name: port, type: u16, endian: big}") \
        .replace("{name: a, type: u64}", "{name: a, type: u64}\n      - {name: b, type: u32}")
    (tmp_path / "old.yaml").write_text(old)
    (tmp_path / "new.yaml").write_text(new)
    result = run_cli("abi-diff", "--format", "json", str(tmp_path / "old.yaml"), str(tmp_path / "new.yaml"))
    changes = {c["subject"]: c for c in json.loads(result.stdout)["changes"]}
    assert changes["S.port"]["kind"] == "field-retyped" and changes["S.port"]["breaking"]
    assert changes["U.b"]["kind"] == "union-member-added" and not changes["U.b"]["breaking"]
    assert "within the union's old size" in changes["U.b"]["detail"]


# ---- the dump tool and the docs ---------------------------------------------------------------


def test_dump_decodes_unions_tails_and_big_endian_fields(generated, tmp_path):
    mod, layout = generated("byte_order", "amd64")
    data = mod.Header.build({"source_port": 0x1234, "dest_port": 1, "sequence": 2, "proto": 6, "ttl": 3,
                             "urgent": False, "offset": 4, "checks": [[5, 6], [7, 8]], "host_order": 9, "delta": -1,
                             "word_count": 1, "words": [0xabcdef]})
    record = data + bytes(layout.struct("Header").size - len(data))
    path = tmp_path / "header.bin"
    path.write_bytes(record)
    result = run_cli("dump", "--spec", case_path("byte_order"), "--arch", "amd64", "--struct", "Header",
                     "--format", "json", str(path))
    assert result.returncode == 0, result.stderr
    fields = {f["name"]: f for f in json.loads(result.stdout)["records"][0]["fields"]}
    assert fields["source_port"]["value"] == 0x1234 and fields["source_port"]["type"] == "u16 (big-endian)"
    assert fields["checks"]["value"] == [[5, 6], [7, 8]] and fields["delta"]["value"] == -1
    assert fields["words"]["value"] == [0xabcdef] and fields["words"]["type"] == "u32[] (big-endian)"
    mixed = mod.Mixed.build({"native": 1, "network": 2, "either": {"port": 80}})
    path.write_bytes(mixed)
    result = run_cli("dump", "--spec", case_path("byte_order"), "--arch", "amd64", "--struct", "Mixed",
                     "--format", "json", str(path))
    either = {f["name"]: f for f in json.loads(result.stdout)["records"][0]["fields"]}["either"]
    assert either["kind"] == "union" and {f["name"]: f["value"] for f in either["fields"]}["port"] == 80


def test_docs_show_unions_flexible_arrays_and_reserved_space(generated):
    docs = {name: (generated.out[name] / "docs").iterdir() for name in ("unions", "flexible_arrays",
                                                                       "reserved_space")}
    text = {name: next(p for p in files if p.suffix == ".md").read_text() for name, files in docs.items()}
    assert "C `union geometry`" in text["unions"]
    assert "| `u8[]` | `data` |" in text["flexible_arrays"]
    assert "*(reserved)*" in text["reserved_space"]
    svg = (generated.out["unions"] / "docs" / "svg" / "amd64" / "struct_Geometry.svg").read_text()
    assert "union of raw (16 bytes); point (8 bytes); corners (16 bytes)" in svg


# ---- Go -------------------------------------------------------------------------------------


GO_CASES = [name for name in FEATURE_CASES if "go" in pipeline.build(case_path(name))[0].targets]


@pytest.mark.parametrize("name", GO_CASES)
def test_go_package_of_each_feature_case_is_clean_and_its_layout_tests_pass(generated, name):
    spec, layouts = pipeline.build(case_path(name))
    assert go_check.check(spec, layouts, str(generated.out[name])) == []


ACCESSOR_TEST = """\
package order

import (
	"bytes"
	"testing"
	"unsafe"
)

// The accessors convert what the raw fields hold, and the union methods alias its bytes.
func TestAccessors(t *testing.T) {
	var h Header
	h.SetSourcePort(0x1234)
	h.SetProto(ProtoUDP)
	h.SetOffset(-2)
	h.SetChecks(1, 0, 0xbeef)
	h.SetHostOrder(0x0a0b0c0d)
	raw := (*[unsafe.Sizeof(h)]byte)(unsafe.Pointer(&h))
	if !bytes.Equal(raw[0:2], []byte{0x12, 0x34}) || h.SourcePortBE == 0x1234 {
		t.Errorf("source port stored as % x", raw[0:2])
	}
	if h.SourcePort() != 0x1234 || h.Proto() != ProtoUDP || h.Offset() != -2 || h.Checks(1, 0) != 0xbeef {
		t.Errorf("read back %x %v %d %x", h.SourcePort(), h.Proto(), h.Offset(), h.Checks(1, 0))
	}
	if h.HostOrderLE != 0x0a0b0c0d || h.HostOrder() != 0x0a0b0c0d {
		t.Errorf("little-endian field %x", h.HostOrderLE)
	}
	var buffer [64]byte
	frame := (*Header)(unsafe.Pointer(&buffer[0]))
	frame.SetWords(1, 0x01020304)
	at := unsafe.Offsetof(frame.WordsBE) + 4
	if !bytes.Equal(buffer[at:at+4], []byte{1, 2, 3, 4}) || frame.Words(1) != 0x01020304 {
		t.Errorf("flexible array element stored as % x", buffer[at:at+4])
	}
	var e Either
	*e.Raw() = 0
	e.SetPort(443)
	if *e.Raw() != 0xbb01 || e.Port() != 443 {
		t.Errorf("union member port: raw %x", *e.Raw())
	}
	e.SetPair(1, 7)
	if e.Pair(1) != 7 || (*[8]byte)(unsafe.Pointer(&e))[7] != 7 {
		t.Errorf("union member pair: %x", *e.Raw())
	}
}
"""

FLEX_TEST = """\
package flex

import (
	"testing"
	"unsafe"
)

func TestSlices(t *testing.T) {
	var buffer [64]uint64 // aligned storage for a Blob and its payload
	blob := (*Blob)(unsafe.Pointer(&buffer[0]))
	copy(blob.DataSlice(5), "hello")
	at := unsafe.Offsetof(blob.Data)
	payload := (*[64 * 8]byte)(unsafe.Pointer(&buffer[0]))[at : at+5]
	if string(payload) != "hello" {
		t.Errorf("payload %q", payload)
	}
	items := (*Items)(unsafe.Pointer(&buffer[0]))
	items.EntriesSlice(2)[1] = Item{Key: 7, Weight: 8}
	if items.EntriesSlice(2)[1].Key != 7 {
		t.Errorf("entries %v", items.EntriesSlice(2))
	}
}
"""

UNION_TEST = """\
package unions

import "testing"

func TestMembersAlias(t *testing.T) {
	var g Geometry
	*g.ID() = 0x0000000200000001
	if g.Point().X != 1 || g.Point().Y != 2 || g.Raw()[4] != 2 || g.Inner().Word() == nil {
		t.Errorf("point %+v", *g.Point())
	}
	*g.Kind() = ShapeBox
	if *g.ID() != 0x0000000200000002 {
		t.Errorf("id %x", *g.ID())
	}
	g.Corners()[1].Y = 9
	if g.Raw()[12] != 9 {
		t.Errorf("raw %v", g.Raw())
	}
}
"""


@pytest.mark.parametrize("name, source", [("byte_order", ACCESSOR_TEST), ("flexible_arrays", FLEX_TEST),
                                          ("unions", UNION_TEST)])
@pytest.mark.parametrize("arch", ARCHS)
def test_go_accessors_compile_and_run(generated, tmp_path, name, source, arch):
    spec, _ = pipeline.build(case_path(name))
    folder = generated.out[name] / "go" / spec.name
    (folder / "accessors_test.go").write_text(source)
    try:
        go = require("go")
        env = go_check.go_env(GOARCH=arch)
        flags = go_check.exec_flags(arch, arch, go_check.host_arch(go, str(folder)))
        vet = run([go, "vet", "./..."], cwd=str(folder), env=env)
        assert vet.returncode == 0, vet.stdout + vet.stderr
        result = run([go, "test", "-count=1", "-run", "TestAccessors|TestSlices|TestMembersAlias", *flags, "./..."],
                     cwd=str(folder), env=env)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "ok" in result.stdout
    finally:
        (folder / "accessors_test.go").unlink()


def test_go_pads_a_trailing_zero_length_array_as_the_target_assumes(tmp_path):
    """The rule behind the Go refusal, proven by the Go compiler: a struct that ends in a
    zero-length array gets a byte after it, so {u32; [0]byte} is 8 bytes in Go, 4 in C."""
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(textwrap.dedent("""\
        layoutgen: 1
        name: m
        archs: [amd64]
        targets: [c, python]
        structs:
          Message:
            fields:
              - {name: length, type: u32}
              - {name: data, type: "u8[]"}
          Padded:
            fields:
              - {name: length, type: u64}
              - {name: tag, type: u8}
              - {name: data, type: "u8[]"}
        """))
    _, layouts = pipeline.build(str(spec_path))
    module = tmp_path / "probe"
    module.mkdir()
    (module / "go.mod").write_text("module probe\n\ngo 1.19\n")
    (module / "main.go").write_text(textwrap.dedent("""\
        package main

        import (
        	"fmt"
        	"unsafe"
        )

        type Message struct {
        	Length uint32
        	Data   [0]byte
        }

        type Padded struct {
        	Length uint64
        	Tag    uint8
        	Data   [0]byte
        }

        func main() {
        	fmt.Println(unsafe.Sizeof(Message{}), unsafe.Sizeof(Padded{}))
        }
        """))
    result = run([require("go"), "run", "."], cwd=str(module), env=go_check.go_env())
    assert result.returncode == 0, result.stderr
    message, padded = (layouts["amd64"].struct(n) for n in ("Message", "Padded"))
    assert result.stdout.split() == [str(go_members.flex_go_size(message)), str(go_members.flex_go_size(padded))]
    assert go_members.flex_go_size(message) != message.size  # refused: Go would disagree with C
    assert go_members.flex_go_size(padded) == padded.size  # accepted: the tail padding absorbs Go's byte
