"""128-bit integers (u128, i128): what the compilers say of them, and round trips of values
that need more than 64 bits through every Python reader, on both arches.

The generic checks (fast parser vs field-by-field struct, views, numpy, C asserts, DWARF
places) run on tests/cases/int128 with every other case; these add the facts only 128-bit
values exercise: values above 2**64, negative i128, out-of-range errors naming the field.
"""
import importlib
import os

import construct
import numpy
import pytest

from codegen import pipeline
from codegen.check import dwarf
from conftest import ARCHS, ROOT, compile_c, importable_package, run_cli

CASE = os.path.join(ROOT, "tests", "cases", "int128", "spec.yaml")
BIG = (1 << 127) + (1 << 64) + 12345  # needs all 128 bits of a u128
NEGATIVE = -(1 << 100) - 7


@pytest.fixture(scope="module")
def wide(tmp_path_factory):
    """The case's generated folder and a loader of its arch modules."""
    for out in importable_package(tmp_path_factory, CASE, "wide"):
        yield out, lambda arch: importlib.import_module(f"wide.{arch}")


@pytest.mark.parametrize("arch", ARCHS)
def test_the_compilers_agree_on_size_alignment_and_bitfields(arch, tmp_path):
    """The facts the primitive table relies on, asked of gcc for x86_64 and aarch64; and that
    gcc does accept a 128-bit bitfield on both (layoutgen refuses it for its own reasons)."""
    probe = tmp_path / "probe.c"
    probe.write_text("#include <stddef.h>\n"
                     "struct s { char c; __uint128_t u; __int128_t i; };\n"
                     "struct b { unsigned __int128 x : 100; };\n"
                     "_Static_assert(sizeof(__uint128_t) == 16 && _Alignof(__uint128_t) == 16, \"u128\");\n"
                     "_Static_assert(sizeof(__int128_t) == 16 && _Alignof(__int128_t) == 16, \"i128\");\n"
                     "_Static_assert(offsetof(struct s, u) == 16 && sizeof(struct s) == 48, \"placement\");\n"
                     "_Static_assert(sizeof(struct b) == 16 && _Alignof(struct b) == 16, \"bitfield\");\n")
    result = compile_c(arch, str(probe), "-c", "-o", str(tmp_path / "probe.o"))
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("arch", ARCHS)
def test_header_is_clean_under_c11_pedantic(wide, arch, tmp_path):
    """`__int128` draws a -pedantic warning; gcc's builtin `__uint128_t` typedefs do not."""
    out, _ = wide
    probe = tmp_path / "include.c"
    probe.write_text('#include "wide.h"\n#include "wide_offsets.h"\nint x;\n')
    result = compile_c(arch, str(probe), "-std=c11", "-pedantic", "-fsyntax-only", include=str(out / "c"))
    assert result.returncode == 0 and not result.stderr, result.stderr


@pytest.mark.parametrize("arch", ARCHS)
def test_dwarf_names_the_compilers_128_bit_base_types(wide, arch):
    out, _ = wide
    spec, layouts = pipeline.build(CASE)
    data, problems = dwarf.compile_probe(spec, list(layouts[arch].structs), str(out), arch)
    assert not problems
    members = {m.name: m for m in dwarf.read_structs(data)["Plain"].members}
    assert members["u"].type == members["be"].type == "__int128 unsigned"
    assert members["i"].type == "__int128" and members["arr"].dims == "[3]"


def sample():
    return dict(tag=1, u=BIG, i=NEGATIVE, be=BIG + 1, arr=[-1, BIG >> 1, -(1 << 127)],
                bearr=[(1 << 128) - 1, 1 << 64], tail=7)


@pytest.mark.parametrize("arch", ARCHS)
def test_parse_build_and_reference_round_trip(wide, arch):
    mod = wide[1](arch)
    raw = mod.Plain.build(sample())
    assert raw == mod.Plain.reference.build(sample())
    assert raw[16:32] == BIG.to_bytes(16, "little")  # the arch's order...
    assert raw[48:64] == (BIG + 1).to_bytes(16, "big")  # ...and the field's own
    assert raw[32:48] == NEGATIVE.to_bytes(16, "little", signed=True)
    for parsed in (mod.Plain.parse(raw), mod.Plain.reference.parse(raw)):
        assert {k: v for k, v in parsed.items() if not k.startswith("_")} == sample()
    packed = dict(tag=2, u=BIG, arr=[3, BIG])
    data = mod.Packed.build(packed)
    assert len(data) == 49 and data[1:17] == BIG.to_bytes(16, "little")
    assert mod.Packed.parse(data).arr == [3, BIG]
    assert mod.Either.parse(BIG.to_bytes(16, "little")).w == BIG


@pytest.mark.parametrize("arch", ARCHS)
def test_views_read_and_write_wide_values(wide, arch):
    mod = wide[1](arch)
    buffer = bytearray(4 + mod.Plain.sizeof())
    view = mod.PlainView(buffer, 4)
    view.u, view.i, view.be = BIG, NEGATIVE, BIG
    view.arr = [NEGATIVE, 0, BIG >> 1]
    assert (view.u, view.i, view.be) == (BIG, NEGATIVE, BIG)
    assert len(view.arr) == 48  # raw bytes: memoryview has no 128-bit format
    parsed = mod.Plain.unpack_from(buffer, 4)
    assert (parsed.u, parsed.i, parsed.be, parsed.arr) == (BIG, NEGATIVE, BIG, [NEGATIVE, 0, BIG >> 1])
    wrap = mod.WrapView(bytearray(mod.Wrap.sizeof()))
    wrap.p.u = BIG
    wrap.plains[1].i = NEGATIVE
    assert (wrap.p.u, wrap.plains[1].i) == (BIG, NEGATIVE)


@pytest.mark.parametrize("arch", ARCHS)
def test_out_of_range_values_name_the_field(wide, arch):
    mod = wide[1](arch)
    for field, value in (("u", 1 << 128), ("u", -1), ("i", 1 << 127), ("be", -1)):
        with pytest.raises(construct.FormatFieldError, match=f"Plain -> {field}"):
            mod.Plain.build(dict(sample(), **{field: value}))
    with pytest.raises(construct.FormatFieldError, match="Plain -> arr"):
        mod.Plain.build(dict(sample(), arr=[0, 0, -(1 << 127) - 1]))
    with pytest.raises(construct.IntegerError):
        mod.Plain.reference.build(dict(sample(), u=1 << 128))
    view = mod.PlainView(bytearray(mod.Plain.sizeof()))
    with pytest.raises(ValueError, match=r"PlainView\.u: .* out of range for u128"):
        view.u = 1 << 128
    with pytest.raises(ValueError, match=r"PlainView\.arr: element .* out of range for i128"):
        view.arr = [0, 1 << 127, 0]
    with pytest.raises(TypeError, match=r"PlainView\.i: expected an int"):
        view.i = 1.5
    with pytest.raises(TypeError, match="read-only"):
        mod.PlainView(bytes(mod.Plain.sizeof())).u = 1


@pytest.mark.parametrize("arch", ARCHS)
def test_numpy_gives_the_halves(wide, arch):
    mod = wide[1](arch)
    records = numpy.frombuffer(mod.Plain.build(sample()) * 3, mod.dtype("Plain"))
    u, i = records["u"][2], records["i"][0]
    assert int(u["lo"]) + (int(u["hi"]) << 64) == BIG
    assert int(i["lo"]) + (int(i["hi"]) << 64) == NEGATIVE and i["hi"] < 0
    be = records["be"][1]
    assert mod.dtype("Plain")["be"].names == ("hi", "lo")  # memory order of a big-endian field
    assert int(be["lo"]) + (int(be["hi"]) << 64) == BIG + 1
    assert records["arr"].shape == (3, 3)


def test_go_is_refused_with_the_reason(tmp_path):
    with open(CASE) as handle:
        text = handle.read().replace("targets: [c, python]\n", "")
    spec = tmp_path / "spec.yaml"
    spec.write_text(text)
    result = run_cli("generate", "--spec", str(spec), "--out", str(tmp_path / "out"))
    assert result.returncode == 2 and not (tmp_path / "out").exists()
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"{spec}:15:9: the Go target cannot express struct Plain: field u is u128"), first
    assert "targets: [c, python]" in first
    assert "struct Wrap: field p.u is u128" in result.stderr


def test_dump_decodes_wide_fields(tmp_path):
    record = tmp_path / "record.bin"
    record.write_bytes(bytes(16) + BIG.to_bytes(16, "little") + NEGATIVE.to_bytes(16, "little", signed=True)
                       + bytes(112))
    result = run_cli("dump", "--spec", CASE, "--arch", "arm64", "--struct", "Plain", "--format", "json", str(record))
    assert result.returncode == 0, result.stderr
    assert str(BIG) in result.stdout and str(NEGATIVE) in result.stdout
