"""The generated construct parsers: sizes and offsets from the engine, round trips, bad input."""
import importlib
import platform
import random

import construct
import pytest

from codegen import layout_types as lay
from codegen.layout_walk import nested_fields
from codegen import pipeline
from conftest import ARCHS, SPEC

SPEC_IR, LAYOUTS = pipeline.build(SPEC)


def module(arch):
    return importlib.import_module(f"sysmsg.{arch}")


def cases():
    return [(arch, name) for arch in ARCHS for name in LAYOUTS[arch].structs]


@pytest.mark.parametrize("arch,name", cases())
def test_sizes_and_offsets_equal_the_engine(arch, name):
    from sysmsg._runtime import field_offsets
    struct = LAYOUTS[arch].struct(name)
    con = getattr(module(arch), name)
    assert con.sizeof() == struct.size
    expected = {".".join(s.field.names.python for s in chain): offset
                for chain, offset in nested_fields(LAYOUTS[arch], name)}
    assert expected and field_offsets(con) == expected


def _zero_padding(data: bytearray, arch: str, name: str) -> bytearray:
    """Clear every hole and explicit padding byte, nested structs included."""
    def clear(struct_name, base):
        for slot in LAYOUTS[arch].struct(struct_name).slots:
            if isinstance(slot, (lay.Hole, lay.PadSlot)):
                data[base + slot.offset: base + slot.offset + slot.size] = bytes(slot.size)
            elif slot.struct is not None:
                inner = LAYOUTS[arch].struct(slot.struct).size
                for index in range(slot.count):
                    clear(slot.struct, base + slot.offset + index * inner)
    clear(name, 0)
    return data


@pytest.mark.parametrize("arch,name", cases())
def test_build_parse_round_trip(arch, name):
    con = getattr(module(arch), name)
    rng = random.Random(f"{arch}-{name}")
    for _ in range(20):
        data = bytes(_zero_padding(bytearray(rng.randbytes(con.sizeof())), arch, name))
        assert con.build(con.parse(data)) == data


def test_padding_is_invisible_and_built_as_zeros():
    msg = module("amd64").Msg
    data = bytearray(range(88))
    parsed = msg.parse(bytes(data))
    assert {k for k in parsed.keys() if not k.startswith("_")} == {"self", "ret_addr", "syshandler", "syshandler_stack", "app_stack", "interrupt",
                                  "state", "context", "fault_jump", "err", "err_line", "debug", "thread_id"}
    rebuilt = msg.build(parsed)
    assert rebuilt[68:72] == bytes(4) and rebuilt[84:88] == bytes(4)
    assert rebuilt[:68] == data[:68] and rebuilt[72:84] == data[72:84]


@pytest.mark.parametrize("arch", ARCHS)
def test_enums_parse_to_members_and_unknown_values_to_ints(arch):
    mod = module(arch)
    ctx = mod.ThreadContext
    raw = bytearray(ctx.sizeof())
    state_at = LAYOUTS[arch].struct("ThreadContext").field("state").offset
    raw[state_at:state_at + 4] = (4).to_bytes(4, "little")
    parsed = ctx.parse(bytes(raw))
    assert parsed.state is mod.ContextState.SYSCALL_NEED_TRAP
    raw[state_at:state_at + 4] = (999).to_bytes(4, "little")
    parsed = ctx.parse(bytes(raw))
    assert parsed.state == 999 and not isinstance(parsed.state, mod.ContextState)
    assert ctx.build(parsed) == bytes(raw)


def test_enum_fields_build_from_names_members_and_ints():
    mod = module("amd64")
    base = mod.Msg.parse(bytes(88))
    for value in ("ASLEEP", mod.ThreadState.ASLEEP, 3):
        base.state = value
        assert mod.Msg.parse(mod.Msg.build(base)).state is mod.ThreadState.ASLEEP
    base.state = "NOT_A_STATE"
    with pytest.raises(construct.ConstructError, match="NOT_A_STATE"):
        mod.Msg.build(base)


@pytest.mark.parametrize("arch", ARCHS)
def test_short_buffer_names_struct_and_field(arch):
    mod = module(arch)
    with pytest.raises(construct.StreamError) as error:
        mod.Msg.parse(bytes(50))
    assert "Msg -> context" in str(error.value)
    size = mod.ThreadContext.sizeof()
    regs_at = LAYOUTS[arch].struct("ThreadContext").field("ptregs").offset
    with pytest.raises(construct.StreamError) as error:
        mod.ThreadContext.parse(bytes(regs_at + 20))
    assert "ThreadContext -> ptregs -> PtraceRegs ->" in str(error.value)
    assert size > regs_at + 20


def test_out_of_range_values_are_refused_with_the_field_named():
    mod = module("amd64")
    value = mod.Msg.parse(bytes(88))
    value.thread_id = 1 << 40
    with pytest.raises(construct.ConstructError) as error:
        mod.Msg.build(value)
    assert "thread_id" in str(error.value)


def test_composable_inside_other_constructs():
    mod = module("arm64")
    table = construct.Struct("count" / construct.Int32ul, construct.Padding(4),
                             "msgs" / construct.Array(construct.this.count, mod.Msg))
    one = mod.Msg.build(dict(mod.Msg.parse(bytes(88)), thread_id=7, state=mod.ThreadState.DONE))
    data = (2).to_bytes(4, "little") + bytes(4) + one + one
    parsed = table.parse(data)
    assert [m.thread_id for m in parsed.msgs] == [7, 7]
    assert parsed.msgs[1].state is mod.ThreadState.DONE
    assert table.build(parsed) == data
    pointed = construct.Pointer(8, mod.Msg).parse(bytes(8) + one)
    assert pointed.thread_id == 7


def test_arch_modules_differ_where_the_abi_does():
    amd64, arm64 = module("amd64"), module("arm64")
    assert amd64.ThreadContext.sizeof() == 3984 and arm64.ThreadContext.sizeof() == 4040
    assert amd64.PtraceRegs.parse(bytes(216)).rip == 0
    assert arm64.PtraceRegs.parse(bytes(272)).regs == [0] * 31
    assert amd64.FAULT_OPCODE == 6 and not hasattr(arm64, "FAULT_OPCODE")
    assert not hasattr(arm64, "XsaveMode") and amd64.XsaveMode.XSAVEC == 3


def test_native_module_matches_the_host():
    native = importlib.import_module("sysmsg.native")
    expected = {"x86_64": "amd64", "aarch64": "arm64"}[platform.machine()]
    assert native.ARCH == expected
    assert native.ThreadContext.sizeof() == module(expected).ThreadContext.sizeof()


def test_constants_and_enums_are_exported():
    mod = module("amd64")
    assert mod.PER_THREAD_MEM_SIZE == 8 * mod.PAGE_SIZE
    assert mod.MSG_OFFSET_FROM_START == 7 * 4096
    assert [m.name for m in mod.ContextState] == ["NONE", "SYSCALL", "FAULT", "SYSCALL_TRAP", "SYSCALL_NEED_TRAP",
                                                  "INVALID"]
    assert "Msg" in mod.__all__ and "ThreadState" in mod.__all__


def test_type_stubs_list_every_field():
    import os
    import sysmsg
    stub = open(os.path.join(os.path.dirname(sysmsg.__file__), "amd64.pyi")).read()
    assert "class MsgValue(_Value):" in stub
    assert "    state: Union[ThreadState, int]" in stub
    assert "    ptregs: PtraceRegsValue" in stub
    assert "def parse(self, data: bytes, **contextkw: Any) -> ThreadContextValue: ..." in stub
