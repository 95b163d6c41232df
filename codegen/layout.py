"""Stage 3: the layout engine. A pure function of (Spec, Variant) -> Layout.

C rules for LP64 targets: every primitive aligns to its size, a struct aligns to its
widest member (or its `align`), members are placed in order at the next multiple of
their alignment, and the size is rounded up to the struct's alignment. `packed`
drops member alignment to 1 (but an explicit `align` still applies, as in GCC).
Every gap is recorded as a Hole and the rounding at the end as tail padding, so no
target ever recomputes an offset.

Constants are evaluated here too: an array length may name a constant, and a
constant may use sizeof/offsetof, so both are computed lazily per variant.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Optional, Union

from . import expr as ex
from .errors import Pos, SpecError, fail
from .ir import (Array, Enum, EnumRef, Field, Padding, Pointer, Prim, Region, Spec, Struct,
                 StructRef, Variant, applies)
from .primitives import ARCHS, POINTER_PRIM, PRIMITIVES

MAX_OBJECT_SIZE = 1 << 40  # a struct bigger than a terabyte is a spec mistake
MAX_NESTING = 100  # constants and structs defined through each other; bounds the recursion below
MAX_LEAVES = 1 << 16  # flattened scalar fields of one struct (arrays of structs multiply)


@dataclass(frozen=True)
class Scalar:
    """The primitive a leaf is stored as, plus the enum or pointer it stands for."""

    prim: str
    enum: Optional[str] = None
    pointer_to: Optional[str] = None
    is_pointer: bool = False


@dataclass(frozen=True)
class FieldSlot:
    field: Field
    offset: int
    size: int
    align: int
    count: int  # total elements when the field is an array (1 otherwise)
    shape: tuple  # array dimensions, outermost first; () for a scalar
    scalar: Optional[Scalar]  # set when the (element) type is a primitive, enum or pointer
    struct: Optional[str]  # set when the (element) type is a struct


@dataclass(frozen=True)
class PadSlot:
    """Explicit padding written in the spec."""

    padding: Padding
    offset: int
    size: int


@dataclass(frozen=True)
class Hole:
    """Implicit padding the C rules insert; `after` names the preceding field."""

    offset: int
    size: int
    after: Optional[str]
    tail: bool = False


Slot = Union[FieldSlot, PadSlot, Hole]


@dataclass(frozen=True)
class Leaf:
    """One scalar or scalar array at an absolute offset, reached through nested structs."""

    path: tuple  # canonical names from the outer struct down, e.g. ('ptregs', 'rip')
    c_path: tuple  # the same path in C names
    offset: int
    size: int
    count: int
    scalar: Scalar


@dataclass(frozen=True)
class StructLayout:
    name: str
    size: int
    align: int
    slots: tuple  # FieldSlot | PadSlot | Hole, in offset order
    leaves: tuple  # Leaf, flattened through nested structs

    @property
    def fields(self) -> tuple:
        return tuple(s for s in self.slots if isinstance(s, FieldSlot))

    def field(self, name: str) -> FieldSlot:
        return next(s for s in self.fields if s.field.names.canonical == name)

    @property
    def holes(self) -> tuple:
        return tuple(s for s in self.slots if isinstance(s, Hole))


@dataclass(frozen=True)
class RegionLayout:
    path: tuple  # names from the top region down
    offset: int  # absolute, from the start of the top region
    size: int
    holds: Optional[str]
    region: Region


@dataclass(frozen=True)
class EnumLayout:
    enum: Enum
    values: tuple  # (EnumValue, int)


@dataclass(frozen=True)
class Layout:
    spec: Spec
    variant: Variant
    constants: dict  # canonical name -> int, only those present on this variant
    structs: dict  # canonical name -> StructLayout
    enums: dict  # canonical name -> EnumLayout
    regions: tuple  # RegionLayout, depth first

    def struct(self, name: str) -> StructLayout:
        return self.structs[name]


def nested_fields(layout: "Layout", struct_name: str, base: int = 0, outer: tuple = ()):
    """Yield (FieldSlot chain from the outer struct down, absolute offset) for every field,
    descending into nested structs (not into arrays of structs: those are reached by index)."""
    for slot in layout.structs[struct_name].fields:
        chain = outer + (slot,)
        yield chain, base + slot.offset
        if slot.struct is not None and not slot.shape:
            yield from nested_fields(layout, slot.struct, base + slot.offset, chain)


@lru_cache(maxsize=64)
def natural_structs(spec: Spec, variant: Variant) -> dict:
    """Struct layouts by the bare natural rules, ignoring every `packed` and `align` key.

    Languages with no packing or over-alignment (Go) lay structs out this way; a target
    compares these with the real layout to prove it can express a struct as declared.
    """
    engine = _Engine(spec, variant, natural=True)
    return {s.names.canonical: engine.struct(s.names.canonical)
            for s in spec.structs if applies(s.archs, variant)}


def layout_all(spec: Spec) -> dict:
    """Layouts for every variant of the spec, keyed by arch."""
    return {variant.arch: layout(spec, variant) for variant in spec.variants}


@lru_cache(maxsize=64)
def layout(spec: Spec, variant: Variant) -> Layout:
    engine = _Engine(spec, variant)
    constants = {c.names.canonical: engine.constant(c.names.canonical)
                 for c in spec.constants if applies(c.archs, variant)}
    structs = {s.names.canonical: engine.struct(s.names.canonical)
               for s in spec.structs if applies(s.archs, variant)}
    enums = {e.names.canonical: engine.enum(e) for e in spec.enums if applies(e.archs, variant)}
    regions = tuple(r for top in spec.regions for r in engine.region(top, (), 0, None))
    for assertion in spec.asserts:
        if not engine.eval(assertion.expr):
            raise fail(assertion.pos, f"assert failed on {variant.arch}: {assertion.source}",
                       assertion.doc)
    return Layout(spec, variant, constants, structs, enums, regions)


class _Engine:
    def __init__(self, spec: Spec, variant: Variant, natural: bool = False):
        self.spec = spec
        self.variant = variant
        self.natural = natural  # ignore packed and align overrides (see natural_structs)
        self.arch = ARCHS[variant.arch]
        self.constants = {c.names.canonical: c for c in spec.constants}
        self.struct_decls = {s.names.canonical: s for s in spec.structs}
        self.const_cache: dict = {}
        self.struct_cache: dict = {}
        self.active: list = []  # what is being computed, to report cycles rather than recurse

    # -- expressions

    def eval(self, expression: ex.Expr) -> int:
        return ex.evaluate(expression, self.lookup)

    def lookup(self, node) -> int:
        if isinstance(node, ex.Ref):
            const = self.constants[node.name]
            if not applies(const.archs, self.variant) or const.expr_for(self.variant) is None:
                raise fail(node.pos, f"constant {node.name} has no value on {self.variant.arch}")
            return self.constant(node.name)
        struct = self.struct_for(node.struct, node.pos)
        if isinstance(node, ex.SizeOf):
            return struct.align if node.align else struct.size
        offset = 0
        for depth, name in enumerate(node.field):
            slot = next((s for s in struct.fields if s.field.names.canonical == name), None)
            if slot is None:
                raise fail(node.pos, f"struct {struct.name} has no field '{name}' on {self.variant.arch}")
            offset += slot.offset
            if depth + 1 < len(node.field):
                struct = self.struct_for(slot.struct, node.pos)
        return offset

    def struct_for(self, name: str, pos: Pos) -> StructLayout:
        decl = self.struct_decls[name]
        if not applies(decl.archs, self.variant):
            raise fail(pos, f"struct {name} does not exist on {self.variant.arch}")
        return self.struct(name)

    def enter(self, key: str, pos: Pos) -> None:
        if key in self.active:
            cycle = " -> ".join(self.active[self.active.index(key):] + [key])
            raise fail(pos, f"definition depends on itself: {cycle}")
        if len(self.active) >= MAX_NESTING:
            raise fail(pos, f"definitions nest more than {MAX_NESTING} levels deep: "
                       f"{self.active[0]} -> ... -> {key}", "shorten the chain of constants and structs")
        self.active.append(key)

    def constant(self, name: str) -> int:
        if name not in self.const_cache:
            const = self.constants[name]
            self.enter(name, const.pos)
            try:
                value = self.eval(const.expr_for(self.variant))
            finally:
                self.active.pop()
            if const.type is not None:
                info = PRIMITIVES[const.type.name]
                if not info.min <= value <= info.max:
                    raise fail(const.pos, f"constant {name} = {value} does not fit in {const.type.name}")
            self.const_cache[name] = value
        return self.const_cache[name]

    def enum(self, enum: Enum) -> EnumLayout:
        info = PRIMITIVES[enum.base.name]
        values, seen = [], {}
        for value in enum.values:
            number = self.eval(value.value)
            if not info.min <= number <= info.max:
                raise fail(value.pos, f"{enum.names.canonical}.{value.names.canonical} = {number} "
                           f"does not fit in {enum.base.name}")
            if number in seen:
                raise fail(value.pos, f"{enum.names.canonical}.{value.names.canonical} repeats the value "
                           f"{number} of {seen[number]}")
            seen[number] = value.names.canonical
            values.append((value, number))
        return EnumLayout(enum, tuple(values))

    # -- structs

    def struct(self, name: str) -> StructLayout:
        if name not in self.struct_cache:
            decl = self.struct_decls[name]
            self.enter(name, decl.pos)
            try:
                self.struct_cache[name] = self.place(decl)
            finally:
                self.active.pop()
        return self.struct_cache[name]

    def place(self, decl: Struct) -> StructLayout:
        slots, offset, align, after = [], 0, 1, None
        for member in decl.members_for(self.variant):
            if isinstance(member, Padding):
                size = self.eval(member.size)
                if size <= 0:
                    raise fail(ex.start(member.size), f"padding size must be positive, not {size}")
                slots.append(PadSlot(member, offset, size))
                offset += size
                continue
            slot = self.field_slot(member)
            member_align = slot.align
            if decl.packed and not self.natural:
                member_align = member.align or 1
            start = _round_up(offset, member_align)
            if start > offset:
                slots.append(Hole(offset, start - offset, after))
            slots.append(FieldSlot(member, start, slot.size, member_align, slot.count, slot.shape,
                                   slot.scalar, slot.struct))
            offset = start + slot.size
            align = max(align, member_align)
            after = member.names.canonical
            if offset > MAX_OBJECT_SIZE:
                raise fail(member.pos, f"struct {decl.names.canonical} is larger than {MAX_OBJECT_SIZE} bytes")
        if decl.align and not self.natural:
            align = max(align, decl.align)
        size = _round_up(offset, align)
        if size > offset:
            slots.append(Hole(offset, size - offset, after, tail=True))
        if size == 0:
            raise fail(decl.pos, f"struct {decl.names.canonical} has no fields on {self.variant.arch}",
                       "give it a field on every arch, or restrict the struct with `arch:`")
        leaves = tuple(self.leaves(slots))
        return StructLayout(decl.names.canonical, size, align, tuple(slots), leaves)

    def field_slot(self, member: Field) -> FieldSlot:
        ref, shape = member.type, []
        while isinstance(ref, Array):
            length = self.eval(ref.length)
            if length <= 0:
                raise fail(ex.start(ref.length), f"array length must be positive, not {length}")
            if length > MAX_OBJECT_SIZE:
                raise fail(ex.start(ref.length), f"array length {length} is absurdly large",
                           f"the limit is {MAX_OBJECT_SIZE} bytes per struct")
            shape.append(length)
            ref = ref.element
        scalar, struct = None, None
        if isinstance(ref, StructRef):
            inner = self.struct_for(ref.name, member.pos)
            size, align, struct = inner.size, inner.align, ref.name
        else:
            scalar = self.scalar(ref, member.pos)
            size = align = PRIMITIVES[scalar.prim].size
        count = 1
        for length in shape:
            count *= length
        total = size * count
        if total > MAX_OBJECT_SIZE:
            raise fail(member.pos, f"field {member.names.canonical} is {total} bytes, larger than {MAX_OBJECT_SIZE}")
        if member.align and not self.natural:
            align = max(align, member.align)
        return FieldSlot(member, 0, total, align, count, tuple(shape), scalar, struct)

    def scalar(self, ref, pos: Pos) -> Scalar:
        if isinstance(ref, Prim):
            return Scalar(ref.name)
        if isinstance(ref, Pointer):
            if ref.target is not None and not applies(self.struct_decls[ref.target].archs, self.variant):
                raise fail(pos, f"struct {ref.target} does not exist on {self.variant.arch}")
            return Scalar(POINTER_PRIM[self.arch.pointer_size], pointer_to=ref.target, is_pointer=True)
        enum = next(e for e in self.spec.enums if e.names.canonical == ref.name)
        if not applies(enum.archs, self.variant):
            raise fail(pos, f"enum {ref.name} does not exist on {self.variant.arch}")
        return Scalar(enum.base.name, enum=ref.name)

    def leaves(self, slots):
        total = 0
        for slot in slots:
            if not isinstance(slot, FieldSlot):
                continue
            name, c_name = slot.field.names.canonical, slot.field.names.c
            if slot.scalar is not None:
                total += 1
                yield Leaf((name,), (c_name,), slot.offset, slot.size, slot.count, slot.scalar)
                continue
            inner = self.struct(slot.struct)
            # Each element of an array of structs gets its own leaves: refuse an explosion up front.
            total += slot.count * len(inner.leaves)
            if total > MAX_LEAVES:
                raise fail(slot.field.pos, f"field {name} makes more than {MAX_LEAVES} leaf fields "
                           f"({slot.count} copies of {slot.struct})", "use a byte array, e.g. u8[N], for big tables")
            for index in range(slot.count):
                base = slot.offset + index * inner.size
                prefix = (name,) if slot.count == 1 else (name, str(index))
                c_prefix = (c_name,) if slot.count == 1 else (c_name, str(index))
                for leaf in inner.leaves:
                    yield Leaf(prefix + leaf.path, c_prefix + leaf.c_path, base + leaf.offset,
                               leaf.size, leaf.count, leaf.scalar)

    # -- regions

    def region(self, region: Region, parent_path: tuple, base: int, parent) -> list:
        offset, size = self.eval(region.offset), self.eval(region.size)
        path = parent_path + (region.names.canonical,)
        label = ".".join(path)
        if size <= 0:
            raise fail(region.pos, f"region {label} has size {size}; it must be positive")
        if offset < 0:
            raise fail(region.pos, f"region {label} starts at a negative offset ({offset})")
        if parent is not None and offset + size > parent[1]:
            raise fail(region.pos, f"region {label} ends at {offset + size}, past the end of "
                       f"{'.'.join(parent_path)} ({parent[1]} bytes)")
        if region.holds is not None:
            held = self.struct_for(region.holds, region.pos)
            if held.size > size:
                raise fail(region.pos, f"struct {region.holds} ({held.size} bytes on {self.variant.arch}) "
                           f"does not fit in region {label} ({size} bytes)")
        laid = [RegionLayout(path, base + offset, size, region.holds, region)]
        spans = []
        for part in region.parts:
            children = self.region(part, path, base + offset, (offset, size))
            mine = children[0]
            for other_start, other_end, other in spans:
                if mine.offset < other_end and other_start < mine.offset + mine.size:
                    raise fail(part.pos, f"region {'.'.join(mine.path)} overlaps {'.'.join(other)} "
                               f"(bytes {max(mine.offset, other_start) - base - offset} to "
                               f"{min(mine.offset + mine.size, other_end) - base - offset} of {label})")
            spans.append((mine.offset, mine.offset + mine.size, mine.path))
            laid.extend(children)
        return laid


def _round_up(value: int, align: int) -> int:
    return (value + align - 1) // align * align
