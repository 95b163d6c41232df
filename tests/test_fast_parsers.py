"""The fast generated parsers, the zero-copy views and the numpy dtypes agree with the
field-by-field construct Struct generated from the same IR (kept as `X.reference`).

Every check runs on the sysmsg spec and on every good spec under tests/cases (nested
structs, arrays of structs, multi-dimensional arrays, enums of every width, flags,
packed and over-aligned structs, unions, flexible arrays, fields in another byte order,
reserved space), on both arches. A struct that ends in a flexible array has no construct
size: its records are C's sizeof, and the array takes the whole elements past its start.
"""
import ast
import importlib
import io
import mmap
import os
import random
import subprocess
import sys

import construct
import numpy
import pytest

from codegen import layout_types as lay
from codegen.layout_walk import nested_fields, visible_bitfields, visible_slots
from codegen import pipeline
from codegen.primitives import PRIMITIVES
from conftest import ARCHS, ROOT, SPEC, generate_in_process, truncations

CASES_DIR = os.path.join(ROOT, "tests", "cases")
SPECS = ["sysmsg"] + sorted(os.listdir(CASES_DIR))
RECORDS = 8  # random records per struct and kind of input


def spec_path(spec_name):
    return SPEC if spec_name == "sysmsg" else os.path.join(CASES_DIR, spec_name, "spec.yaml")


@pytest.fixture(scope="module")
def packages(tmp_path_factory):
    """Generate every case spec once; returns load(spec, arch) -> (module, layout)."""
    root = tmp_path_factory.mktemp("fast")
    built = {}
    for name in SPECS[1:]:
        out = root / name
        generate_in_process(spec_path(name), out)
        sys.path.insert(0, str(out / "python"))
    for name in SPECS:
        spec, layouts = pipeline.build(spec_path(name))
        built[name] = spec, layouts

    def load(spec_name, arch):
        spec, layouts = built[spec_name]
        return importlib.import_module(f"{spec.name}.{arch}"), layouts[arch], spec
    yield load
    for name in SPECS[1:]:
        sys.path.remove(str(root / name / "python"))
        package = built[name][0].name
        for module in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
            del sys.modules[module]


def structs_of(mod, layout, spec):
    """(python name, canonical name, fast parser) of every struct of a module."""
    found = [(spec.struct(name).names.python, name) for name in layout.structs]
    assert found, "no struct to compare"
    for py, canonical in found:
        SIZES_BY_PARSER[getattr(mod, py)] = layout.struct(canonical).size
    return [(py, canonical, getattr(mod, py)) for py, canonical in found]


def zero_padding(data: bytearray, layout, name: str, base: int = 0) -> bytearray:
    """Clear every hole and padding byte, inside nested structs and arrays of structs too."""
    for slot in layout.struct(name).slots:
        if isinstance(slot, lay.BitsSlot):  # only the bits no bitfield holds
            for first, bits in slot.padding_bits:
                for bit in range(first, first + bits):
                    data[base + slot.offset + bit // 8] &= ~(1 << bit % 8) & 0xff
        elif not isinstance(slot, lay.FieldSlot):
            data[base + slot.offset:base + slot.offset + slot.size] = bytes(slot.size)
        elif slot.struct is not None:
            step = layout.struct(slot.struct).size
            for index in range(slot.count):
                zero_padding(data, layout, slot.struct, base + slot.offset + index * step)
    return data


def plain(value):
    """Parsed values as plain Python: dicts without construct's private keys, lists, ints."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items() if not k.startswith("_")}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    return int(value)


def record_size(fast) -> int:
    """The bytes of one record: construct's size, or for a struct that ends in a flexible
    array (no construct size) C's sizeof, whose tail padding then holds array elements."""
    try:
        return fast.sizeof()
    except construct.SizeofError:
        return SIZES_BY_PARSER[fast]


SIZES_BY_PARSER = {}  # FlexStruct -> C sizeof, filled by structs_of


def flexible(layout, name) -> bool:
    return layout.struct(name).tail_start is not None


def whole_elements(data: bytes, layout, name) -> bytes:
    """`data` without the bytes past the last whole element of a flexible array, which a
    parser drops (and so a build does not give back)."""
    struct = layout.struct(name)
    if struct.tail_start is None:
        return data
    inner = struct
    while inner.flex is None:  # the array is in the struct that the last field holds
        inner = layout.struct(inner.named[-1].struct)
    step = inner.flex.element_size
    return data[:struct.tail_start + (len(data) - struct.tail_start) // step * step]


def random_records(fast, seed, zeroed, layout=None, name=None):
    rng = random.Random(seed)
    for _ in range(RECORDS):
        data = bytearray(rng.randbytes(record_size(fast)))
        yield bytes(zero_padding(data, layout, name) if zeroed else data)


CASES = [(spec, arch) for spec in SPECS for arch in ARCHS]


# ---- the parser


@pytest.mark.parametrize("spec_name,arch", CASES)
@pytest.mark.parametrize("zeroed", [True, False], ids=["zero-padding", "random-padding"])
def test_parse_and_build_equal_the_field_by_field_struct(packages, spec_name, arch, zeroed):
    mod, layout, spec = packages(spec_name, arch)
    compared = 0
    for py, name, fast in structs_of(mod, layout, spec):
        assert isinstance(fast, mod.FastStruct) and fast.reference is not fast
        if flexible(layout, name):  # no construct size; the fixed part ends where the array starts
            assert fast.size == layout.struct(name).tail_start
        else:
            assert fast.sizeof() == fast.reference.sizeof() == layout.struct(name).size
        for data in random_records(fast, f"{spec_name}-{arch}-{py}", zeroed, layout, name):
            parsed, expected = fast.parse(data), fast.reference.parse(data)
            assert parsed == expected, f"{arch} {py}"
            assert list(parsed) == [k for k in expected if not k.startswith("_")], "field order"
            longer = fast.reference.parse(data + b"tail") if flexible(layout, name) else expected
            assert fast.unpack_from(data + b"tail") == longer
            built = fast.build(parsed)
            assert built == fast.reference.build(expected), f"{arch} {py}: build"
            if zeroed:
                expected_bytes = whole_elements(data, layout, name)
                assert built == expected_bytes, f"{arch} {py}: build of a parsed value returns the bytes"
            compared += 1
    assert compared


@pytest.mark.parametrize("spec_name,arch", CASES)
def test_short_buffers_name_the_same_field_as_the_field_by_field_struct(packages, spec_name, arch):
    mod, layout, spec = packages(spec_name, arch)
    for py, name, fast in structs_of(mod, layout, spec):
        data = bytes(range(256)) * (record_size(fast) // 256 + 1)
        for length in truncations(fast.size):
            paths = []
            for parser in (fast, fast.reference):
                with pytest.raises(construct.StreamError) as error:
                    parser.parse(data[:length])
                paths.append(error.value.path)
            assert paths[0] == paths[1], f"{arch} {py} cut at {length}"
        with pytest.raises(construct.StreamError) as error:
            fast.parse_stream(io.BytesIO(data[:fast.size - 1]))
        hidden = spec.struct(name).anonymous  # an anonymous member's type is named as C would
        label = ("(anonymous union)" if isinstance(layout.struct(name), lay.UnionLayout) else "(anonymous struct)") \
            if hidden else py
        assert error.value.path.startswith(f"(parsing) -> {label} -> ")


def test_short_buffer_message_names_struct_and_field():
    amd64 = importlib.import_module("sysmsg.amd64")
    with pytest.raises(construct.StreamError) as error:
        amd64.ThreadContext.parse(bytes(3600))
    assert "ThreadContext -> ptregs -> PtraceRegs -> r14" in str(error.value)
    assert "ThreadContext needs 3984 bytes, found 3600" in str(error.value)
    with pytest.raises(construct.StreamError, match="Msg -> thread_id"):
        amd64.Msg.unpack_from(bytearray(100), 20)


@pytest.mark.parametrize("arch", ARCHS)
def test_parse_stream_reads_consecutive_records(arch):
    mod = importlib.import_module(f"sysmsg.{arch}")
    one = bytes(zero_padding(bytearray(random.Random(1).randbytes(88)), pipeline.build(SPEC)[1][arch], "Msg"))
    two = mod.Msg.build(dict(mod.Msg.parse(one), thread_id=2))
    stream = io.BytesIO(one + two)
    assert mod.Msg.parse_stream(stream) == mod.Msg.parse(one)
    assert mod.Msg.parse_stream(stream).thread_id == 2
    assert stream.tell() == 176
    out = io.BytesIO()
    mod.Msg.build_stream(mod.Msg.parse(two), out)
    assert out.getvalue() == two


@pytest.mark.parametrize("spec_name,arch", CASES)
def test_inside_array_struct_and_pointer(packages, spec_name, arch):
    mod, layout, spec = packages(spec_name, arch)
    for py, name, fast in structs_of(mod, layout, spec):
        if flexible(layout, name):
            continue  # it would take the rest of the data: C allows no array of these either
        records = list(random_records(fast, py, True, layout, name))[:3]
        table = construct.Struct("count" / construct.Int8ul, construct.Padding(7),
                                 "items" / construct.Array(construct.this.count, fast))
        reference = construct.Struct("count" / construct.Int8ul, construct.Padding(7),
                                     "items" / construct.Array(construct.this.count, fast.reference))
        data = bytes([3]) + bytes(7) + b"".join(records)
        parsed = table.parse(data)
        assert parsed == reference.parse(data)
        assert table.build(parsed) == data
        assert construct.Pointer(8 + fast.sizeof(), fast).parse(data) == fast.parse(records[1])
        assert table.compile().parse(data) == parsed


def test_field_by_field_struct_compiles():
    amd64 = importlib.import_module("sysmsg.amd64")
    data = bytes(zero_padding(bytearray(random.Random(3).randbytes(3984)), pipeline.build(SPEC)[1]["amd64"],
                              "ThreadContext"))
    compiled = amd64.ThreadContext.reference.compile()
    assert compiled.parse(data) == amd64.ThreadContext.parse(data)
    assert compiled.build(compiled.parse(data)) == data


@pytest.mark.parametrize("arch", ARCHS)
def test_bad_values_raise_construct_errors_naming_the_field(arch):
    mod = importlib.import_module(f"sysmsg.{arch}")
    value = mod.ThreadContext.parse(bytes(mod.ThreadContext.sizeof()))
    value.ptregs = dict(value.ptregs)
    last = list(value.ptregs)[-1]  # a scalar register on both arches
    value.ptregs[last] = -1
    with pytest.raises(construct.FormatFieldError) as error:
        mod.ThreadContext.build(value)
    assert f"ThreadContext -> ptregs -> PtraceRegs -> {last}" in str(error.value)
    value.ptregs[last] = 0
    value.siginfo.fields = b"short"
    with pytest.raises(construct.StreamError, match="SignalInfo -> fields"):
        mod.ThreadContext.build(value)
    value.siginfo.fields = bytes(112)
    value.state = "NO_SUCH_STATE"
    with pytest.raises(construct.ConstructError, match="NO_SUCH_STATE"):
        mod.ThreadContext.build(value)
    msg = mod.Msg.parse(bytes(88))
    msg.err = 1 << 31
    with pytest.raises(construct.FormatFieldError, match="Msg -> err"):
        mod.Msg.pack_into(bytearray(88), 0, msg)


def test_wrong_array_lengths_are_refused():
    arm64 = importlib.import_module("sysmsg.arm64")
    regs = arm64.PtraceRegs.parse(bytes(272))
    regs.regs = [0] * 30
    with pytest.raises(construct.RangeError, match="PtraceRegs -> regs"):
        arm64.PtraceRegs.build(regs)


def test_the_fast_path_is_the_default():
    amd64 = importlib.import_module("sysmsg.amd64")
    assert type(amd64.Msg).__name__ == "FastStruct"
    assert amd64.Msg.format.size == 88
    assert amd64.ThreadContext.format.format.count("x") >= 1  # padding skipped, not read into values


# ---- the views


def visible_fields(layout, name) -> list:
    """The fields a name reaches in the struct: anonymous members' own instead of themselves."""
    return [slot for slot, _ in visible_slots(layout.structs, name) if isinstance(slot, lay.FieldSlot)]


def view_values(view, layout, name):
    """Every field read through a view, as plain Python."""
    out = {}
    for slot, _ in visible_slots(layout.structs, name):  # anonymous members' own, inline
        field = slot.field.names.python
        value = getattr(view, field)
        if isinstance(slot, lay.FlexSlot):
            value = flex_values(value, slot, layout)
        elif slot.struct is not None and not slot.shape:
            value = view_values(value, layout, slot.struct)
        elif slot.struct is not None:
            value = nested_map(value, lambda inner: view_values(inner, layout, slot.struct))
        elif isinstance(value, memoryview):
            assert value.nbytes == slot.size
            if value.format == "B" and slot.scalar.prim != "u8":  # 128-bit elements: raw bytes
                value = swapped_values(value, slot.scalar, slot.shape)
            else:
                value = bytes(value) if (len(slot.shape) == 1 and slot.scalar.prim == "u8"
                                         and slot.scalar.enum is None) else value.tolist()
        out[field] = plain(value)
    for bits in visible_bitfields(layout.structs, name):  # read through their own properties
        out[bits.field.names.python] = plain(getattr(view, bits.field.names.python))
    return out


def flex_values(value, slot, layout):
    """A view's flexible array (a memoryview, or a tuple of views) as the parser gives it."""
    if slot.struct is not None:
        return [view_values(item, layout, slot.struct) for item in value]
    if slot.scalar.prim == "u8" and slot.scalar.enum is None and len(slot.dims) <= 1:
        raw = bytes(value)
        return raw if not slot.dims else [raw[i:i + slot.dims[0]] for i in range(0, len(raw), slot.dims[0])]
    if isinstance(value, tuple):  # elements in the other byte order than the host's: read as values
        return plain(value)
    if value.format == "B" and slot.scalar.prim != "u8":  # 128-bit elements: decode as the parser does
        flat = swapped_values(value, slot.scalar, ())
        step = 1
        for length in slot.dims:
            step *= length
        return [nest(flat[i:i + step], slot.dims) if slot.dims else flat[i] for i in range(0, len(flat), step)]
    return value.tolist()


def swapped_values(value: memoryview, scalar, shape):
    """Decode the raw bytes a view gives for an array of 128-bit integers (which have no
    memoryview format); the suite's arches are little-endian."""
    info, raw = PRIMITIVES[scalar.prim], bytes(value)
    assert info.wide, f"a {scalar.prim} array should read as values"
    flat = [int.from_bytes(raw[at:at + 16], scalar.order or "little", signed=info.signed)
            for at in range(0, len(raw), 16)]
    return nest(flat, shape) if shape else flat


def nested_map(value, function):
    if isinstance(value, tuple):
        return [nested_map(item, function) for item in value]
    return function(value)


def write_fields(view, value, layout, name):
    """Set every field of `view` from a parsed value, one property at a time."""
    for slot, _ in visible_slots(layout.structs, name):  # anonymous members' own, inline
        field = slot.field.names.python
        if slot.struct is not None and not slot.shape:
            write_fields(getattr(view, field), value[field], layout, slot.struct)
        else:
            setattr(view, field, value[field])
    for bits in visible_bitfields(layout.structs, name):
        setattr(view, bits.field.names.python, value[bits.field.names.python])


def buffers(size):
    """Writable buffers of each kind, with 16 bytes of sentinel before and after the record."""
    anonymous = mmap.mmap(-1, size + 32)
    anonymous.write(b"\xa5" * (size + 32))
    return {"bytearray": bytearray(b"\xa5" * (size + 32)), "mmap": anonymous,
            "memoryview": memoryview(bytearray(b"\xa5" * (size + 32)))}


@pytest.mark.parametrize("spec_name,arch", CASES)
def test_views_read_what_parse_reads(packages, spec_name, arch):
    mod, layout, spec = packages(spec_name, arch)
    for py, name, fast in structs_of(mod, layout, spec):
        view_type = getattr(mod, py + "View")
        assert view_type.SIZE == fast.size
        for data in random_records(fast, py, False, layout, name):
            expected = plain(fast.parse(data))
            for buffer in (data, bytearray(b"?" * 5 + data), memoryview(data)):
                offset = 5 if isinstance(buffer, bytearray) else 0
                view = view_type(buffer, offset)
                assert view_values(view, layout, name) == expected, f"{arch} {py} over {type(buffer).__name__}"
                assert view.unpack() == fast.parse(data)


@pytest.mark.parametrize("spec_name,arch", CASES)
def test_view_writes_touch_only_their_bytes_and_round_trip(packages, spec_name, arch):
    mod, layout, spec = packages(spec_name, arch)
    for py, name, fast in structs_of(mod, layout, spec):
        view_type = getattr(mod, py + "View")
        size = record_size(fast)
        for data in random_records(fast, py, True, layout, name):
            value = fast.parse(data)
            for kind, buffer in buffers(size).items():
                view = view_type(buffer, 16)
                if flexible(layout, name):  # its array would run on into the sentinel: clear the record
                    buffer[16:16 + size] = bytes(size)
                else:
                    view.pack(fast.parse(bytes(size)))  # start from zeros
                write_fields(view, value, layout, name)
                whole = bytes(buffer)
                assert whole[16:16 + size] == data, f"{arch} {py} over {kind}"
                assert whole[:16] == whole[-16:] == b"\xa5" * 16, f"{arch} {py}: wrote outside the record"
                assert fast.unpack_from(whole[:16 + size], 16) == value
                if isinstance(buffer, mmap.mmap):
                    buffer.close()


def test_view_of_a_mapped_thread_context(tmp_path):
    amd64 = importlib.import_module("sysmsg.amd64")
    path = tmp_path / "region"
    path.write_bytes(bytes(2 * 4096))
    with open(path, "r+b") as handle, mmap.mmap(handle.fileno(), 0) as region:
        view = amd64.ThreadContextView(region, 4096)
        view.ptregs.rip = 0x401000
        view.state = amd64.ContextState.FAULT
        view.siginfo.signo = 11
        regs = view.ptregs
        assert isinstance(regs, amd64.PtraceRegsView) and regs.rip == 0x401000
        parsed = amd64.ThreadContext.unpack_from(region, 4096)
        assert parsed.ptregs.rip == 0x401000 and parsed.state is amd64.ContextState.FAULT
        fp = view.fpstate
        fp[0:4] = b"\x01\x02\x03\x04"
        assert region[4096:4100] == b"\x01\x02\x03\x04"
        fp.release()
    assert amd64.ThreadContext.parse(path.read_bytes()[4096:]).siginfo.signo == 11


def test_array_fields_are_memoryviews_cast_to_their_element_type():
    arm64 = importlib.import_module("sysmsg.arm64")
    buffer = bytearray(272)
    view = arm64.PtraceRegsView(buffer)
    regs = view.regs
    assert isinstance(regs, memoryview) and regs.format == "Q" and regs.shape == (31,)
    regs[30] = 0x1122334455667788
    assert arm64.PtraceRegs.parse(buffer).regs[30] == 0x1122334455667788
    view.regs = list(range(31))
    assert arm64.PtraceRegs.parse(buffer).regs == list(range(31))
    with pytest.raises(ValueError, match="PtraceRegsView.regs"):
        view.regs = [0] * 30
    with pytest.raises(ValueError, match="PtraceRegsView.regs"):
        view.regs = [-1] * 31


@pytest.mark.parametrize("arch", ARCHS)
def test_view_enums(arch):
    mod = importlib.import_module(f"sysmsg.{arch}")
    buffer = bytearray(88)
    view = mod.MsgView(buffer)
    assert view.state is mod.ThreadState.NONE
    view.state = mod.ThreadState.ASLEEP
    assert view.state is mod.ThreadState.ASLEEP and mod.Msg.parse(buffer).state is mod.ThreadState.ASLEEP
    view.state = "DONE"
    assert view.state is mod.ThreadState.DONE
    view.state = 77
    assert view.state == 77 and not isinstance(view.state, mod.ThreadState)
    with pytest.raises(ValueError, match="MsgView.state: ThreadState has no member 'BOGUS'"):
        view.state = "BOGUS"


@pytest.mark.parametrize("arch", ARCHS)
def test_view_write_errors(arch, tmp_path):
    mod = importlib.import_module(f"sysmsg.{arch}")
    view = mod.MsgView(bytearray(88))
    with pytest.raises(ValueError, match=r"MsgView.thread_id: 4294967296 is out of range for u32"):
        view.thread_id = 1 << 32
    with pytest.raises(ValueError, match="MsgView.err: -2147483649 is out of range for i32"):
        view.err = -(1 << 31) - 1
    with pytest.raises(TypeError, match="MsgView.debug: expected an int, got str"):
        view.debug = "7"
    path = tmp_path / "ro"
    path.write_bytes(bytes(88))
    with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as region:
        read_only = [bytes(88), memoryview(bytearray(88)).toreadonly(), region]
        for buffer in read_only:
            view = mod.MsgView(buffer)
            assert view.thread_id == 0
            with pytest.raises(TypeError, match="MsgView.thread_id: the buffer .* is read-only"):
                view.thread_id = 1
            with pytest.raises(TypeError, match="read-only"):
                view.pack(mod.Msg.parse(bytes(88)))
        with pytest.raises(TypeError, match="ThreadContextView.ptregs: the buffer"):
            mod.ThreadContextView(bytes(4096)).ptregs = mod.PtraceRegs.parse(bytes(mod.PtraceRegs.sizeof()))


def test_view_bounds_are_checked_once():
    amd64 = importlib.import_module("sysmsg.amd64")
    with pytest.raises(ValueError, match="MsgView needs 88 bytes at offset 8; the buffer has 90"):
        amd64.MsgView(bytearray(90), 8)
    with pytest.raises(ValueError):
        amd64.MsgView(bytearray(90), -1)
    assert amd64.MsgView(bytearray(90), 2).thread_id == 0


# ---- numpy


def numpy_values(record, layout, name):
    out = {}
    for slot in visible_fields(layout, name):
        field = slot.field.names.python
        value = record[field]
        if slot.struct is not None and not slot.shape:
            value = numpy_values(value, layout, slot.struct)
        elif slot.struct is not None:
            flat = [numpy_values(item, layout, slot.struct) for item in value.reshape(-1)]
            value = nest(flat, slot.shape)
        elif len(slot.shape) == 1 and slot.scalar.prim == "u8" and slot.scalar.enum is None:
            value = value.tobytes()
        elif PRIMITIVES[slot.scalar.prim].wide:  # a record of two 64-bit halves
            flat = [low + (high << 64) for low, high in zip(numpy.ravel(value["lo"]).tolist(),
                                                            numpy.ravel(value["hi"]).tolist())]
            value = nest(flat, slot.shape) if slot.shape else flat[0]
        elif slot.shape:
            value = value.tolist()
        out[field] = plain(value)
    return out


def nest(flat, shape):
    if len(shape) == 1:
        return flat
    step = len(flat) // shape[0]
    return [nest(flat[i * step:(i + 1) * step], shape[1:]) for i in range(shape[0])]


def dtype_offsets(dtype, base=0, prefix=""):
    found = {}
    for field, (sub, offset) in dtype.fields.items():
        found[prefix + field] = base + offset
        if sub.names and set(sub.names) != {"lo", "hi"}:  # not into the halves of a 128-bit integer
            found.update(dtype_offsets(sub, base + offset, f"{prefix}{field}."))
    return found


@pytest.mark.parametrize("spec_name,arch", CASES)
def test_numpy_dtypes_match_the_layout(packages, spec_name, arch):
    mod, layout, spec = packages(spec_name, arch)
    for py, name, fast in structs_of(mod, layout, spec):
        dtype = mod.dtype(py)
        assert dtype.itemsize == layout.struct(name).size
        expected = {".".join(s.field.names.python for s in chain): offset
                    for chain, offset in nested_fields(layout, name)
                    if not isinstance(chain[-1], lay.FlexSlot)}  # no fixed size, so not in the dtype
        # numpy has no bit fields: a struct's bitfields are not in its dtype.
        assert (expected or layout.struct(name).bitfields) and dtype_offsets(dtype) == expected, f"{arch} {py}"
        for slot in visible_fields(layout, name):
            sub = dtype.fields[slot.field.names.python][0]
            assert sub.itemsize == slot.size
            if slot.scalar is not None:
                info = PRIMITIVES[slot.scalar.prim]
                kind = sub.base.fields["hi"][0].kind if info.wide else sub.base.kind
                assert sub.base.itemsize == info.size and (kind == "i") == info.signed
        assert mod.dtype(py) is dtype


@pytest.mark.parametrize("spec_name,arch", CASES)
def test_numpy_decodes_what_the_parsers_decode(packages, spec_name, arch):
    mod, layout, spec = packages(spec_name, arch)
    for py, name, fast in structs_of(mod, layout, spec):
        records = list(random_records(fast, f"np-{py}", False))
        region = b"".join(records)
        decoded = numpy.frombuffer(region, mod.dtype(py))
        assert len(decoded) == len(records)
        for record, data in zip(decoded, records):
            parsed, inner = plain(fast.parse(data)), layout.struct(name)
            if inner.tail_start is not None:  # a flexible array has no place in a dtype
                holder = parsed
                while inner.flex is None:
                    holder = holder[inner.named[-1].field.names.python]
                    inner = layout.struct(inner.named[-1].struct)
                holder.pop(inner.flex.field.names.python)
            assert numpy_values(record, layout, name) == without_bitfields(parsed, layout, name), f"{arch} {py}"


def without_bitfields(value, layout, name):
    """A parsed value less its bitfields and those of the structs in it: numpy has no bit fields."""
    for bits in visible_bitfields(layout.structs, name):  # anonymous members' too
        value.pop(bits.field.names.python)
    for slot in visible_fields(layout, name):
        if slot.struct is not None:
            inner = value[slot.field.names.python]
            for item in (nested_items(inner) if slot.shape else [inner]):
                without_bitfields(item, layout, slot.struct)
    return value


def nested_items(value) -> list:
    return [leaf for item in value for leaf in (nested_items(item) if isinstance(item, list) else [item])]


def test_numpy_sums_a_field_over_a_region():
    amd64 = importlib.import_module("sysmsg.amd64")
    region = bytearray(88 * 1000)
    for index in range(1000):
        amd64.MsgView(region, index * 88).thread_id = index
    decoded = numpy.frombuffer(region, amd64.dtype("Msg"))
    assert int(decoded["thread_id"].sum()) == sum(range(1000))


def test_importing_the_package_does_not_import_numpy():
    code = ("import sys, sysmsg, sysmsg.amd64, sysmsg.arm64, sysmsg.native; "
            "assert 'numpy' not in sys.modules, 'numpy was imported'; "
            "sysmsg.amd64.dtype('Msg'); assert 'numpy' in sys.modules")
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "generated", "python"))  # the wheel has no sysmsg
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr


# ---- stubs


def test_view_stubs_are_valid_python_and_list_every_field():
    import sysmsg
    folder = os.path.dirname(sysmsg.__file__)
    for arch in ARCHS:
        text = open(os.path.join(folder, f"{arch}.pyi")).read()
        ast.parse(text)
        assert "class ThreadContextView(View):" in text
        assert "    def ptregs(self) -> PtraceRegsView: ..." in text
        assert "    def state(self, value: Union[ContextState, int, str]) -> None: ..." in text
        assert "    def fpstate(self) -> memoryview: ..." in text
        assert "def unpack_from(self, buffer: _Buffer, offset: int = ...) -> MsgValue: ..." in text
        assert "def dtype(name: str) -> Any: ..." in text


@pytest.mark.parametrize("arch", ARCHS)
def test_a_flexible_array_of_struct_rows_reads_whole_rows(packages, arch):
    """`Item[][2]`: every reader gives rows of two structs and drops a half row at the end
    (the differential fuzzer found the fast parser returning one flat list)."""
    mod, layout, _ = packages("flexible_struct_rows", arch)
    item = layout.struct("Item").size
    data = bytes(range(4 + 2 * 2 * item + item))  # two whole rows and half of a third
    parsed, expected = mod.Rows.parse(data), mod.Rows.reference.parse(data)
    assert parsed == expected
    assert [len(row) for row in parsed.rows] == [2, 2]
    assert parsed.rows[1][1].key == int.from_bytes(data[4 + 3 * item:8 + 3 * item], "little")
    assert mod.Rows.build(parsed) == mod.Rows.reference.build(expected)
    assert len(mod.Rows.build(parsed)) == 4 + 4 * item
    view = mod.RowsView(bytearray(data))
    assert [[element.key for element in row] for row in view.rows] == [[e.key for e in row] for row in parsed.rows]
    buffer = bytearray(len(data))
    written = mod.RowsView(buffer)
    written.rows = [[{"key": 1, "weight": 2}, {"key": 3, "weight": 4}]]
    assert mod.Rows.parse(bytes(buffer)).rows[0][1].key == 3
    with pytest.raises(construct.ConstructError):
        mod.Rows.build({"count": 1, "rows": [[{"key": 1, "weight": 2}]]})  # a row of one
