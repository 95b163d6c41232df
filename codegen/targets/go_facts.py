"""The facts the Go target's layout tests check, one combination at a time: every size and offset,
each alignment Go's rule shares with C's, bitfield bytes, constant and enum values. The check
step counts them to know how many subtests must pass."""
from __future__ import annotations

from dataclasses import dataclass

from .. import layout_types as lay
from ..layout_walk import visible_slots
from ..ir import Spec
from ..primitives import PRIMITIVES
from . import go as target
from . import go_atomics, go_bits, go_members


@dataclass(frozen=True)
class Fact:
    """One check in a layout test: `helper(t, what, got, want)`."""

    helper: str
    what: str  # names the spec field or constant, for the failure message
    got: str  # a Go expression
    want: str


def layout_facts(spec: Spec, layout: lay.Layout) -> list:
    """[(test function name, setup line, [Fact])] for one arch: every size, offset, alignment
    Go promises, and value. The check step counts these to know how many must pass."""
    groups = []
    for decl in spec.structs:
        if decl.names.canonical in layout.structs:
            real = layout.structs[decl.names.canonical]
            groups.append(_struct_facts(spec, layout, decl, real))
            if not isinstance(real, lay.UnionLayout):
                atomics = go_atomics.test_group(spec, real, decl.names.go, _exported(decl.names.go), Fact)
                groups += [atomics] if atomics else []
    constants = [_value_fact(f"constant {c.names.canonical}", c.names.go, layout.constants[c.names.canonical])
                 for c in target._go_constants(spec, layout)]
    if constants:
        groups.append(("TestConstants", "", constants))
    for enum_layout in layout.enums.values():
        groups.append(_enum_facts(enum_layout))
    return groups


def _promoted_facts(label: str, structs: dict, slot: lay.FieldSlot, base: int, through_union: bool = False) -> list:
    """The members of an embedded anonymous member, reached from the parent as Go promotes
    them: a struct's fields by Offsetof, members inside a union through its accessors (those
    with a byte order have only get/set methods, so no address to check)."""
    inner, facts = structs[slot.struct], []
    union = through_union or isinstance(inner, lay.UnionLayout)
    for member in inner.fields:
        offset = base + slot.offset + member.offset
        where = f"{label}.{member.field.names.canonical}"
        if member.field.anonymous:
            facts += _promoted_facts(label, structs, member, base + slot.offset, union)
        elif not union:
            facts.append(Fact("expectLayout", f"{where}: offset",
                               f"unsafe.Offsetof(v.{go_members.field_name(member)})", str(offset)))
        elif not (member.scalar is not None and member.scalar.order):
            pointer = f"v.{member.field.names.go}()"
            facts.append(Fact("expectLayout", f"{where}: offset",
                               f"uintptr(unsafe.Pointer({pointer}))-uintptr(unsafe.Pointer(&v))", str(offset)))
    return facts


def _struct_facts(spec: Spec, layout: lay.Layout, decl, real: lay.StructLayout) -> tuple:
    """Sizes and offsets always; an alignment only where Go's rule gives C's (not for a u64 on
    armhf, nor where a packed C struct aligns less than Go can)."""
    structs = layout.structs
    label, facts = real.name, [Fact("expectLayout", f"{real.name}: size", "unsafe.Sizeof(v)", str(real.size))]
    if target.go_struct(spec, layout, real.name)[1] == real.align:
        facts.append(Fact("expectLayout", f"{label}: alignment", "unsafe.Alignof(v)", str(real.align)))
    bits = go_bits.facts(real, structs, decl.names.go, Fact)
    if isinstance(real, lay.UnionLayout):
        return (f"TestUnion{_exported(decl.names.go)}", f"var v {decl.names.go}",
                facts + _member_facts(real, structs) + bits)
    for slot in real.fields:
        where, member = f"{label}.{slot.field.names.canonical}", f"v.{go_members.field_name(slot)}"
        facts.append(Fact("expectLayout", f"{where}: offset", f"unsafe.Offsetof({member})", str(slot.offset)))
        facts.append(Fact("expectLayout", f"{where}: size", f"unsafe.Sizeof({member})", str(slot.size)))
        if target.go_type_align(spec, layout, target._field_type(spec, layout, slot)) == slot.align:
            facts.append(Fact("expectLayout", f"{where}: alignment", f"unsafe.Alignof({member})", str(slot.align)))
        if slot.field.anonymous:
            facts += _promoted_facts(label, structs, slot, 0)
    facts += bits
    if real.flex is not None:
        slot = real.flex
        where, member = f"{label}.{slot.field.names.canonical}", f"v.{go_members.field_name(slot)}"
        facts.append(Fact("expectLayout", f"{where}: offset", f"unsafe.Offsetof({member})", str(slot.offset)))
        facts.append(Fact("expectLayout", f"{where}: size", f"unsafe.Sizeof({member})", "0"))
    return (f"TestStruct{_exported(decl.names.go)}", f"var v {decl.names.go}", facts)


def _member_facts(union: lay.UnionLayout, structs: dict) -> list:
    """Each union member reached through its accessor starts at the union's first byte and has
    the member's size (a member with a byte order has get/set methods, so only its place is
    known); an anonymous member's members are reached through the union's own accessors, at
    their offsets in it."""
    facts = []
    for slot, offset in visible_slots(structs, union.name):
        if slot.scalar is not None and slot.scalar.order:
            continue
        where, pointer = f"{union.name}.{slot.field.names.canonical}", f"v.{slot.field.names.go}()"
        facts.append(Fact("expectLayout", f"{where}: offset",
                           f"uintptr(unsafe.Pointer({pointer}))-uintptr(unsafe.Pointer(&v))", str(offset)))
        facts.append(Fact("expectLayout", f"{where}: size", f"unsafe.Sizeof(*{pointer})", str(slot.size)))
    return facts


def _enum_facts(enum_layout: lay.EnumLayout) -> tuple:
    enum, facts = enum_layout.enum, []
    if not enum.go_untyped:
        size = PRIMITIVES[enum.base.name].size
        facts.append(Fact("expectLayout", f"{enum.names.canonical}: size",
                           f"unsafe.Sizeof({enum.names.go}(0))", str(size)))
    facts += [_value_fact(f"{enum.names.canonical}.{value.names.canonical}", value.names.go, number)
              for value, number in enum_layout.values]
    return (f"TestEnum{_exported(enum.names.go)}", "", facts)


def _value_fact(what: str, go_name: str, value: int) -> _Fact:
    if value < 0:
        return Fact("expectSigned", what, f"int64({go_name})", str(value))
    return Fact("expectValue", what, f"uint64({go_name})", str(value))


def _exported(name: str) -> str:
    """A test function must be TestXxx with Xxx not starting in lower case."""
    return name[:1].upper() + name[1:]
