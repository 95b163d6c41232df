"""Parsed values, building and views of the generated Python package, as a caller uses them:
values are construct Containers whose fields also read as attributes; a build that lacks a
field names the struct and the field; `X.zero()` is the all-zero value; a view moves along
records with `at` and keeps its nested views."""
from __future__ import annotations

import importlib
import os

import construct
import pytest

from conftest import ROOT, importable_package

BITS_SPEC = os.path.join(ROOT, "tests", "cases", "bitfields", "spec.yaml")
UNION_SPEC = os.path.join(ROOT, "tests", "cases", "unions", "spec.yaml")


@pytest.fixture(scope="module")
def sysmsg(tmp_path_factory):
    yield from _package(tmp_path_factory, os.path.join(ROOT, "spec", "sysmsg.yaml"), "sysmsg")


def _package(tmp_path_factory, spec, name):
    """The package freshly generated from `spec` (not whatever `sysmsg` is installed)."""
    saved = {key: module for key, module in importlib.sys.modules.items() if key.split(".")[0] == name}
    for key in saved:
        del importlib.sys.modules[key]
    try:
        for _ in importable_package(tmp_path_factory, spec, name):
            yield importlib.import_module(f"{name}.amd64")
    finally:
        importlib.sys.modules.update(saved)


def test_a_parsed_value_is_a_container_with_attribute_reads(sysmsg):
    data = sysmsg.Msg.build(dict(sysmsg.Msg.zero(), thread_id=7, state="ASLEEP"))
    value = sysmsg.Msg.parse(data)
    assert isinstance(value, construct.Container) and isinstance(value, sysmsg.MsgValue)
    assert value.thread_id == value["thread_id"] == 7 and value.state is sysmsg.ThreadState.ASLEEP
    value.thread_id = 9  # attribute assignment stores the item
    assert value["thread_id"] == 9 and value.thread_id == 9
    value["err"] = -1
    assert value.err == -1
    assert value == dict(value) and dict(value)["thread_id"] == 9
    assert "thread_id=9" in repr(value) and list(value)[0] == "self"


def test_nested_values_are_value_classes_too(sysmsg):
    context = sysmsg.ThreadContext.zero()
    assert isinstance(context.ptregs, sysmsg.PtraceRegsValue) and context.ptregs.rip == 0
    context.ptregs.rip = 0x401000
    assert sysmsg.ThreadContext.parse(sysmsg.ThreadContext.build(context)).ptregs.rip == 0x401000


def test_zero_is_every_field_zero(sysmsg):
    for name in ("Msg", "ThreadContext", "ArchState"):
        parser = getattr(sysmsg, name)
        assert parser.build(parser.zero()) == bytes(parser.sizeof())
    assert sysmsg.Msg.zero().state is sysmsg.ThreadState.NONE
    assert sysmsg.ThreadContext.zero().siginfo.fields == bytes(112)


@pytest.mark.parametrize("mapping", [dict, construct.Container])
def test_building_without_a_field_names_the_struct_and_the_field(sysmsg, mapping):
    value = mapping(sysmsg.Msg.zero())
    del value["state"]
    with pytest.raises(construct.ConstructError) as caught:
        sysmsg.Msg.build(value)
    assert "Msg" in str(caught.value) and "'state'" in str(caught.value)
    assert isinstance(caught.value, KeyError)  # what code written against the bare KeyError catches
    with pytest.raises(construct.ConstructError, match="Msg -> state"):
        sysmsg.Msg.pack_into(bytearray(88), 0, value)


def test_a_missing_nested_field_is_named_by_its_path(sysmsg):
    context = sysmsg.ThreadContext.zero()
    del context.ptregs["rip"]
    with pytest.raises(construct.ConstructError, match="ThreadContext -> ptregs -> rip"):
        sysmsg.ThreadContext.build(context)


def test_enum_names_flags_and_bad_values_still_take_the_converting_path(sysmsg):
    value = sysmsg.Msg.zero()
    value.state = "DONE"
    assert sysmsg.Msg.parse(sysmsg.Msg.build(value)).state is sysmsg.ThreadState.DONE
    value.thread_id = -1
    with pytest.raises(construct.ConstructError, match="thread_id"):
        sysmsg.Msg.build(value)


def test_view_at_moves_along_records_with_bounds_checked(sysmsg):
    records = bytearray(3 * 88)
    for index in range(3):
        sysmsg.Msg.pack_into(records, index * 88, dict(sysmsg.Msg.zero(), thread_id=index + 1))
    view = sysmsg.MsgView(records)
    ids = []
    for index in range(3):
        ids.append(view.at(index * 88).thread_id)
    assert ids == [1, 2, 3] and type(view.at(88)) is sysmsg.MsgView
    with pytest.raises(ValueError, match="needs 88 bytes at offset 200"):
        view.at(200)
    with pytest.raises(ValueError, match="negative"):
        view.at(-88)


def test_views_over_every_kind_of_buffer_check_bounds(sysmsg):
    import mmap
    for buffer in (bytes(100), bytearray(100), memoryview(bytearray(100)), mmap.mmap(-1, 100),
                   memoryview(bytearray(400)).cast("I")):
        assert sysmsg.MsgView(buffer, 12).thread_id == 0
        with pytest.raises(ValueError, match="needs 88 bytes"):
            sysmsg.MsgView(buffer, len(bytes(buffer)) - 87)


def test_nested_views_are_made_once_and_still_write_through(sysmsg):
    buffer = bytearray(sysmsg.ThreadContextView.SIZE)
    context = sysmsg.ThreadContextView(buffer)
    assert context.ptregs is context.ptregs
    context.ptregs.rip = 5
    assert context.ptregs.rip == 5 == sysmsg.ThreadContext.parse(bytes(buffer)).ptregs.rip
    context.ptregs = dict(sysmsg.PtraceRegs.zero(), rip=6)  # assignment still packs the struct
    assert context.ptregs.rip == 6
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        context.nope  # noqa: B018


def test_values_of_unions_and_bitfields_read_as_attributes(tmp_path_factory):
    for spec, name in ((UNION_SPEC, "unions"), (BITS_SPEC, "bitfields")):
        for module in _package(tmp_path_factory, spec, _package_name(spec)):
            for parser_name in module.SIZES:
                parser = getattr(module, parser_name)
                value = parser.zero()
                assert isinstance(value, getattr(module, parser_name + "Value")), name
                for key in value:
                    if not key.startswith("_"):
                        assert getattr(value, key) is value[key] or getattr(value, key) == value[key]


def _package_name(spec: str) -> str:
    with open(spec) as source:
        return next(line.split(":", 1)[1].strip() for line in source if line.startswith("name:"))
