"""Walking a Layout through nested structs and anonymous members, as C names reach them.

C11 lets a name reach the members of an anonymous struct or union as the parent's own, so
these walks descend into anonymous members without listing them, and (the `nested_*` ones)
into fields of struct type, giving each field its chain of enclosing fields and its absolute
offset. Arrays of structs are not entered: their elements are reached by index.
"""
from __future__ import annotations

from .layout_types import BitsSlot, FieldSlot, Layout


def visible_slots(structs: dict, struct_name: str, base: int = 0):
    """Yield (slot, offset from `base`) for every slot with a field name that a name reaches
    in the struct, as in C11: its own, and through each anonymous member (which is not
    listed itself) the members of its declaration, at the member's offset plus their own.
    `structs` maps names to StructLayouts (a Layout's, or the engine's cache)."""
    for slot in structs[struct_name].named:
        if isinstance(slot, FieldSlot) and slot.field.anonymous:
            yield from visible_slots(structs, slot.struct, base + slot.offset)
        else:
            yield slot, base + slot.offset


def nested_fields(layout: Layout, struct_name: str, base: int = 0, outer: tuple = ()):
    """Yield (FieldSlot chain from the outer struct down, absolute offset) for every field,
    descending into nested structs (not into arrays of structs: those are reached by index).
    A flexible array member (a FlexSlot) ends its chain: its offset is known, its length not.
    Anonymous members are not links of a chain: their members are the parent's own."""
    for slot, offset in visible_slots(layout.structs, struct_name, base):
        chain = outer + (slot,)
        yield chain, offset
        if isinstance(slot, FieldSlot) and slot.struct is not None and not slot.shape:
            yield from nested_fields(layout, slot.struct, offset, chain)


def visible_runs(structs: dict, struct_name: str, base: int = 0):
    """Yield (BitsSlot, offset from `base` of the struct holding it) for every run of bitfields
    a name reaches in the struct: its own and, as in `visible_slots`, its anonymous members'."""
    for slot in structs[struct_name].slots:
        if isinstance(slot, BitsSlot):
            yield slot, base
        elif isinstance(slot, FieldSlot) and slot.field.anonymous:
            yield from visible_runs(structs, slot.struct, base + slot.offset)


def visible_bitfields(structs: dict, struct_name: str) -> tuple:
    """Every named bitfield a name reaches in the struct (BitFieldSlots, offsets relative to
    the struct that holds each), its anonymous members' included."""
    return tuple(field for run, _ in visible_runs(structs, struct_name) for field in run.fields)


def nested_runs(layout: Layout, struct_name: str):
    """Yield (FieldSlot chain down to the struct holding it, BitsSlot, that struct's absolute
    offset) for every run of bitfields, in nested structs too (as nested_fields)."""
    for run, base in visible_runs(layout.structs, struct_name):
        yield (), run, base
    for chain, offset in nested_fields(layout, struct_name):
        if chain[-1].struct is not None and not chain[-1].shape:
            for run, base in visible_runs(layout.structs, chain[-1].struct, offset):
                yield chain, run, base


def nested_bitfields(layout: Layout, struct_name: str):
    """Yield (chain, BitFieldSlot, absolute offset of the struct holding it) for every named
    bitfield, as `nested_runs` finds them."""
    for chain, run, base in nested_runs(layout, struct_name):
        for field in run.fields:
            yield chain, field, base
