"""Stage 3: the layout engine. A pure function of (Spec, Variant) -> Layout.

C rules, with the arch table's alignments (`primitives.ARCHS`): a primitive aligns to its
size except where the arch says less (i386's 8-byte integers, s390x's 16-byte ones), `long`
and pointers take the arch's word size, a struct aligns to its widest member (or its `align`), members are placed in order at the next multiple of
their alignment, and the size is rounded up to the struct's alignment. `packed`
drops member alignment to 1 (but an explicit `align` still applies, as in GCC).
Every gap is recorded as a Hole and the rounding at the end as tail padding, so no
target ever recomputes an offset. A union places every member at 0 (UnionLayout); a
flexible array is a FlexSlot with no size, whose element alignment still counts; reserved
space is a ReservedSlot.

Constants are evaluated here too: an array length may name a constant, and a
constant may use sizeof/offsetof, so both are computed lazily per variant.
"""
from __future__ import annotations

import bisect

from dataclasses import dataclass, replace
from functools import wraps
from typing import Optional, Union

from . import cint
from . import cachelines
from . import expr as ex
from . import limits
from .errors import Pos, Problem, SpecError, fail
from .ir import (Array, BitField, Enum, Field, FlexArray, Padding, Pointer, Prim, Region, Reserved,
                 Spec, Struct, StructRef, UnionDecl, Variant, applies)
from .primitives import ARCHS, POINTER_PRIM, PRIMITIVES, word_prim

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
    order: Optional[str] = None  # "big" or "little" when the spec fixes the byte order; None: the arch's
    word: Optional[str] = None  # "long" or "ulong" when the spec said so; `prim` is what it is on this arch

    @property
    def c_type(self) -> str:
        """How C declares it: the fixed-width typedef, or `long` where the spec wrote that."""
        return PRIMITIVES[self.word or self.prim].c

    def swapped(self, arch: str) -> bool:
        """Whether the stored bytes are in the other order than the arch's own."""
        if self.order is None:
            return False
        return (self.order == "little") != ARCHS[arch].little_endian


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


@dataclass(frozen=True)
class BitFieldSlot:
    """Where one bitfield lives: its storage unit and the bits of that unit it holds.

    The unit is a `unit_size`-byte integer, in the arch's byte order, at `unit_offset` (from
    the start of the struct); `bit` is the field's shift in it: the position of its least
    significant bit, counted from the unit's least significant bit. Normally the unit is the
    aligned unit of the field's type that C allocates it from; in a packed struct, where a
    field may straddle such units, it is exactly the bytes holding the field. An unnamed
    bitfield (padding bits, or a 0-bit unit break) has `field.names` None.

    C allocates bits in address order: from the least significant bit of each byte on a
    little-endian arch, from the most significant on a big-endian one (so there a field's
    shift counts from the other end of its unit). `first_bit` is that allocation position,
    which is also what DWARF's DW_AT_data_bit_offset says.
    """

    field: BitField
    unit_offset: int
    unit_size: int
    bit: int
    bits: int
    scalar: Scalar
    big_endian: bool = False

    def shift_for(self, position: int) -> int:
        """The shift in the unit of a field allocated at bit `position` of the struct."""
        inside = position - self.unit_offset * 8
        return self.unit_size * 8 - inside - self.bits if self.big_endian else inside

    @property
    def first_bit(self) -> int:
        """Where the field is allocated: its first bit in address order, counted from bit 0 of
        the struct's first byte (the least significant bit of that byte on little-endian arches,
        the most significant on big-endian ones)."""
        return self.unit_offset * 8 + self.shift_for(self.unit_offset * 8 + self.bit)

    @property
    def named(self) -> bool:
        return self.field.names is not None

    @property
    def signed(self) -> bool:
        return PRIMITIVES[self.scalar.prim].signed


@dataclass(frozen=True)
class BitsSlot:
    """The bytes holding a run of consecutive bitfields.

    `members` lists every bitfield of the run in spec order, unnamed ones too (C declares
    them), and `fields` the named ones. The slot spans the bytes that hold named bits,
    widened over what would otherwise be a hole up to the end of their storage units; the
    bits of the slot no named field holds are `padding_bits`, written as zeros.
    """

    offset: int
    size: int
    members: tuple  # of BitFieldSlot

    @property
    def fields(self) -> tuple:
        return tuple(m for m in self.members if m.named)

    @property
    def unit_end(self) -> int:
        return max((m.unit_offset + m.unit_size for m in self.fields), default=self.offset)

    @property
    def chunks(self) -> tuple:
        """(offset, size) of the naturally aligned 1, 2, 4 or 8-byte integers that tile the
        slot, largest first: how languages without bitfields store it (Go fields, Python
        `struct` items). A field may span several chunks. No chunk is wider than the widest
        storage unit of the run's fields, so that (outside packed structs) none is more
        aligned than the struct: a Go uint64 holding two 32-bit units would align it to 8."""
        found, at, end = [], self.offset, self.offset + self.size
        widest = max((m.unit_size for m in self.fields), default=1)
        while at < end:
            size = next(n for n in (8, 4, 2, 1) if n <= widest and at % n == 0 and at + n <= end)
            found.append((at, size))
            at += size
        return tuple(found)

    @property
    def padding_bits(self) -> tuple:
        """(first bit, count) of each run of bits no named field holds, from bit 0 of `offset`."""
        used = sorted((m.first_bit - self.offset * 8, m.bits) for m in self.fields)
        gaps, at = [], 0
        for first, bits in used + [(self.size * 8, 0)]:
            if first > at:
                gaps.append((at, first - at))
            at = max(at, first + bits)
        return tuple(gaps)


@dataclass(frozen=True)
class ReservedSlot:
    """Bytes a `reserved:` member keeps for later fields; `index` numbers the struct's
    reserved members in order, for C's `__reserved_<index>` names."""

    reserved: Reserved
    offset: int
    size: int
    index: int


@dataclass(frozen=True)
class FlexSlot:
    """A flexible array member: elements of `element_size` bytes from `offset` to the end of
    the data. `dims` are the fixed dimensions of each element (`u8[][4]` -> (4,)); `shape`
    spells the flexible one as 0, so code that sizes arrays sees a zero-length array."""

    field: Field
    offset: int
    align: int
    dims: tuple
    element_size: int
    scalar: Optional[Scalar]
    struct: Optional[str]
    size: int = 0
    count: int = 0

    @property
    def shape(self) -> tuple:
        return (0,) + self.dims


Slot = Union[FieldSlot, PadSlot, Hole, BitsSlot, ReservedSlot, FlexSlot]


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
    # Where the variable-length tail starts when the struct ends in a flexible array (its own,
    # or that of a struct that is its last field); None for a fixed-size struct.
    tail_start: Optional[int] = None

    @property
    def fields(self) -> tuple:
        return tuple(s for s in self.slots if isinstance(s, FieldSlot))

    @property
    def flex(self) -> Optional[FlexSlot]:
        """The struct's own flexible array member, if it has one."""
        return next((s for s in self.slots if isinstance(s, FlexSlot)), None)

    @property
    def named(self) -> tuple:
        """The fields and the flexible array member: every slot with a field name, in order."""
        return tuple(s for s in self.slots if isinstance(s, (FieldSlot, FlexSlot)))

    def field(self, name: str) -> FieldSlot:
        return next(s for s in self.fields if s.field.names.canonical == name)

    @property
    def bitfields(self) -> tuple:
        """Every named bitfield, in offset order."""
        return tuple(m for s in self.slots if isinstance(s, BitsSlot) for m in s.fields)

    def bitfield(self, name: str) -> BitFieldSlot:
        return next(m for m in self.bitfields if m.field.names.canonical == name)

    @property
    def holes(self) -> tuple:
        return tuple(s for s in self.slots if isinstance(s, Hole))


@dataclass(frozen=True)
class UnionLayout(StructLayout):
    """A union's layout: every FieldSlot (and ReservedSlot) is at offset 0, in spec order,
    and the only Hole is the tail padding after the largest member. `leaves` overlap."""


@dataclass(frozen=True)
class RegionLayout:
    path: tuple  # names from the top region down
    offset: int  # absolute, from the start of the top region
    size: int
    holds: Optional[str]
    region: Region
    count: Optional[int] = None  # an array part: `count` of `holds`, one every `stride` bytes
    stride: Optional[int] = None

    @property
    def contents(self) -> str:
        """What the region holds, as every output words it: `4095 x ThreadContext every 4096
        bytes` for an array part, the struct's name for a part that holds one."""
        if self.count is not None:
            return f"{self.count} x {self.holds} every {self.stride} bytes"
        return self.holds or ""


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
    constant_types: dict = None  # canonical name -> C type of its value (`cint`: int, unsigned long...)

    def constant_type(self, name: str) -> str:
        return self.constant_types[name]

    def struct(self, name: str) -> StructLayout:
        return self.structs[name]


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


def nested_fields(layout: "Layout", struct_name: str, base: int = 0, outer: tuple = ()):
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


def nested_runs(layout: "Layout", struct_name: str):
    """Yield (FieldSlot chain down to the struct holding it, BitsSlot, that struct's absolute
    offset) for every run of bitfields, in nested structs too (as nested_fields)."""
    for run, base in visible_runs(layout.structs, struct_name):
        yield (), run, base
    for chain, offset in nested_fields(layout, struct_name):
        if chain[-1].struct is not None and not chain[-1].shape:
            for run, base in visible_runs(layout.structs, chain[-1].struct, offset):
                yield chain, run, base


def nested_bitfields(layout: "Layout", struct_name: str):
    """Yield (chain, BitFieldSlot, absolute offset of the struct holding it) for every named
    bitfield, as `nested_runs` finds them."""
    for chain, run, base in nested_runs(layout, struct_name):
        for field in run.fields:
            yield chain, field, base


def per_variant(function):
    """Cache `function(spec, variant_or_layout)` in `spec.memo`: it runs once per spec object and
    variant. For facts a target asks for once per struct or field but that depend only on the
    combination (its constants, its natural layouts), so asking stays O(1). The result is shared:
    callers must not mutate it."""
    @wraps(function)
    def cached(spec: Spec, at):
        key = (function.__module__, function.__qualname__, at if isinstance(at, Variant) else at.variant)
        if key not in spec.memo:
            spec.memo[key] = function(spec, at)
        return spec.memo[key]
    return cached


@per_variant
def natural_structs(spec: Spec, variant: Variant) -> dict:
    """Struct layouts by the bare natural rules, ignoring every `packed` and `align` key.

    Languages with no packing or over-alignment (Go) lay structs out this way; a target
    compares these with the real layout to prove it can express a struct as declared.
    """
    engine = _Engine(spec, variant, natural=True)
    return {s.names.canonical: engine.struct(s.names.canonical)
            for s in spec.structs if applies(s.archs, variant)}


def layout_all(spec: Spec) -> dict:
    """Layouts of the default combination of each arch, keyed by arch."""
    return {variant.arch: layout(spec, variant) for variant in spec.variants}


def with_combinations(spec: Spec, layouts: dict) -> dict:
    """`layouts` (keyed by arch) with each arch's layout replaced by all its parameter
    combinations, keyed by `Variant.key`; unchanged for a spec without parameters."""
    if not spec.params:
        return layouts
    return {v.key: layout(spec, v) for v in spec.combinations if v.arch in layouts}


def layout_combinations(spec: Spec) -> dict:
    """Layouts of every (arch, parameter values) combination, keyed by `Variant.key`
    (`arm64`, `arm64_64k`); the default combination of each arch comes first. Laying each
    out runs its region checks and asserts. Without parameters: the same as `layout_all`."""
    return {variant.key: layout(spec, variant) for variant in spec.combinations}


@per_variant
def layout(spec: Spec, variant: Variant) -> Layout:
    if not variant.params:
        return _layout(spec, variant)
    try:
        return _layout(spec, variant)
    except SpecError as error:
        # Name the combination in every problem that does not already, so a rule that only
        # breaks at 64K pages says so (`... (on arm64_64k: page_size = 65536)`).
        values = ", ".join(f"{name} = {value}" for name, value in variant.params)
        raise SpecError([p if f"on {variant.key}" in p.message
                         else Problem(p.pos, f"{p.message} (on {variant.key}: {values})", p.hint)
                         for p in error.problems]) from None


def _layout(spec: Spec, variant: Variant) -> Layout:
    engine = _Engine(spec, variant)
    typed = {c.names.canonical: engine.typed_constant(c.names.canonical)
             for c in spec.constants if applies(c.archs, variant)}
    constants = {name: value for name, (value, _) in typed.items()}
    structs = {s.names.canonical: engine.struct(s.names.canonical)
               for s in spec.structs if applies(s.archs, variant)}
    enums = {e.names.canonical: engine.enum(e) for e in spec.enums if applies(e.archs, variant)}
    regions = tuple(r for top in spec.regions for r in engine.region(top, (), 0, None))
    for assertion in spec.asserts:
        if not engine.eval(assertion.expr):
            raise fail(assertion.pos, f"assert failed on {variant.key}: {assertion.source}",
                       assertion.doc)
    return Layout(spec, variant, constants, structs, enums, regions,
                  {name: ctype for name, (_, ctype) in typed.items()})


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
        self.combination_count = len(spec.combinations)
        self.leaf_budget = limits.leaf_budget(self.combination_count)
        self.leaf_total = 0  # leaves of the structs laid out so far

    # -- expressions

    def eval(self, expression: ex.Expr) -> int:
        with cint.data_model(self.arch.pointer_size):  # `long` and size_t are the arch's
            return ex.evaluate(expression, self.lookup)

    def lookup(self, node):
        """A name's (value, C type), or a sizeof / alignof / offsetof value (a size_t)."""
        if isinstance(node, ex.Ref) and node.name not in self.constants:
            value = self.variant.param(node.name)  # a spec parameter; resolve checked the name
            return value, cint.type_of_value(value)  # its C macro is a plain decimal number
        if isinstance(node, ex.Ref):
            const = self.constants[node.name]
            if not applies(const.archs, self.variant) or const.expr_for(self.variant) is None:
                raise fail(node.pos, f"constant {node.name} has no value on {self.variant.key}")
            return self.typed_constant(node.name)
        struct = self.struct_for(node.struct, node.pos)
        if isinstance(node, ex.SizeOf):
            return struct.align if node.align else struct.size
        offset = 0
        for depth, name in enumerate(node.field):
            slot, at = next(((s, at) for s, at in visible_slots(self.struct_cache, struct.name)
                             if isinstance(s, FieldSlot) and s.field.names.canonical == name), (None, 0))
            if slot is None:
                raise fail(node.pos, f"struct {struct.name} has no field '{name}' on {self.variant.key}")
            offset += at
            if depth + 1 < len(node.field):
                struct = self.struct_for(slot.struct, node.pos)
        return offset

    def struct_for(self, name: str, pos: Pos) -> StructLayout:
        decl = self.struct_decls[name]
        if not applies(decl.archs, self.variant):
            raise fail(pos, f"struct {name} does not exist on {self.variant.key}")
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
        return self.typed_constant(name)[0]

    def typed_constant(self, name: str) -> tuple:
        """(value, C type): a constant keeps the type of its expression, which the C header
        spells with a suffix (`4294967295U`) so that C computes with it as the spec did."""
        if name not in self.const_cache:
            const = self.constants[name]
            self.enter(name, const.pos)
            try:
                with cint.data_model(self.arch.pointer_size):
                    value, ctype = ex.evaluate_typed(const.expr_for(self.variant), self.lookup)
            finally:
                self.active.pop()
            if const.type is not None:
                info = PRIMITIVES[const.type.name]
                if not info.min <= value <= info.max:
                    raise fail(const.pos, f"constant {name} = {value} does not fit in {const.type.name}")
            self.const_cache[name] = (value, ctype)
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
                place = self.place_union if isinstance(decl, UnionDecl) else self.place
                self.struct_cache[name] = place(decl)
                self.leaf_total += len(self.struct_cache[name].leaves)
                limits.spec_leaves(self.leaf_total, self.leaf_budget, decl.pos, name, self.variant.key,
                                   self.combination_count)
            finally:
                self.active.pop()
        return self.struct_cache[name]

    def place(self, decl: Struct) -> StructLayout:
        slots, offset, align, after = [], 0, 1, None
        group = _Groups(decl, self.line_size() if decl.cacheline == "separate" else 0)
        for member in _bit_runs(decl.members_for(self.variant)):
            offset = group.enter(member, slots, offset)
            if isinstance(member, tuple):  # consecutive bitfields
                offset, align, after = self.place_bits(decl, member, slots, offset, align, after)
                continue
            if isinstance(member, Reserved):
                slots.append(self.reserved_slot(member, offset, slots))
                offset += slots[-1].size
                continue
            if isinstance(member, Padding):
                size = self.eval(member.size)
                if size <= 0:
                    raise fail(ex.start(member.size), f"padding size must be positive, not {size}")
                slots.append(PadSlot(member, offset, size))
                offset += size
                continue
            if isinstance(member.type, FlexArray):
                offset, align = self.place_flex(decl, member, slots, offset, align, after)
                after = member.names.canonical
                continue
            slot = self.field_slot(member)
            member_align = slot.align
            if decl.packed_on(self.variant) and not self.natural:
                self.refuse_overaligned_in_packed(decl, member, slot)
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
        if decl.align_on(self.variant) and not self.natural:
            align = max(align, decl.align_on(self.variant))
        offset = group.close(slots, offset)
        if group.line and not self.natural:  # Go cannot align a type to a line; its pads still match C's
            align = max(align, group.line)
        size = _round_up(offset, align)
        if size > offset:
            slots.append(Hole(offset, size - offset, after, tail=True))
        slots = _widen_bits(slots)
        self.check_writers(decl, slots, align)
        if size == 0:
            raise fail(decl.pos, f"struct {decl.names.canonical} has no fields on {self.variant.key}",
                       "give it a field on every arch, or restrict the struct with `arch:`")
        leaves = tuple(self.leaves(slots))
        return StructLayout(decl.names.canonical, size, align, tuple(slots), leaves, self.tail_start(slots))

    def line_size(self) -> int:
        return cachelines.line_size(self.spec, self.eval)

    def check_writers(self, decl: Struct, slots: list, align: int) -> None:
        """Atomic fields whole and aligned, and under `cacheline: check` no line shared by writers."""
        atomics = [s for s in slots if isinstance(s, FieldSlot) and s.field.atomic]
        if self.natural or (not atomics and decl.cacheline != "check"):
            return  # the natural layout only tells a target what its language would do unaided
        line = self.line_size()
        for slot in atomics:
            cachelines.check_atomic(decl, slot, align, line, self.variant.key)
        if decl.cacheline == "check":
            cachelines.check_lines(decl, slots, line, self.variant.key)

    # -- unions, flexible arrays, reserved space

    def place_union(self, decl: UnionDecl) -> UnionLayout:
        """Every member at offset 0; the size is the largest member rounded up to the union's
        alignment, the largest member alignment (1 when packed, raised by `align`)."""
        slots, size, align = [], 0, 1
        packed = decl.packed_on(self.variant) and not self.natural
        for member in decl.members_for(self.variant):
            if isinstance(member, Reserved):
                slots.append(self.reserved_slot(member, 0, slots))
            elif isinstance(member, Field):
                slot = self.field_slot(member)
                member_align = (member.align or 1) if packed else slot.align
                slots.append(replace(slot, align=member_align))
                align = max(align, member_align)
            else:
                what = "an anonymous union" if decl.anonymous else f"union {decl.names.canonical}"
                raise fail(member.pos, f"{what} can only hold fields and reserved space",
                           "padding, bitfields and other members belong in a struct")
            size = max(size, slots[-1].size)
        forced = decl.align_on(self.variant)
        if forced and not self.natural:
            align = max(align, forced)
        total = _round_up(size, align)
        if total > size:
            slots.append(Hole(size, total - size, None, tail=True))
        if total == 0:
            raise fail(decl.pos, f"union {decl.names.canonical} has no members on {self.variant.key}",
                       "give it a field on every arch, or restrict the union with `arch:`")
        return UnionLayout(decl.names.canonical, total, align, tuple(slots), tuple(self.leaves(slots)))

    def reserved_slot(self, member: Reserved, offset: int, slots: list) -> ReservedSlot:
        size = self.eval(member.size)
        if size <= 0:
            raise fail(ex.start(member.size), f"reserved space must be at least one byte, not {size}",
                       "drop the member, or reserve a positive number of bytes")
        if offset + size > MAX_OBJECT_SIZE:
            raise fail(member.pos, f"reserved space of {size} bytes makes the struct larger than {MAX_OBJECT_SIZE}")
        index = sum(1 for slot in slots if isinstance(slot, ReservedSlot))
        return ReservedSlot(member, offset, size, index)

    def place_flex(self, decl: Struct, member: Field, slots: list, offset: int, align: int, after) -> tuple:
        """Append the FlexSlot (and the hole before it); returns (offset, struct alignment).
        The array adds no bytes, but its element's alignment places it and counts toward
        the struct's, as in C."""
        element = self.field_slot(replace(member, type=member.type.element))
        member_align = (member.align or 1) if decl.packed_on(self.variant) and not self.natural else element.align
        start = _round_up(offset, member_align)
        if start > offset:
            slots.append(Hole(offset, start - offset, after))
        slots.append(FlexSlot(member, start, member_align, element.shape, element.size, element.scalar,
                              element.struct))
        return start, max(align, member_align)

    def tail_start(self, slots) -> Optional[int]:
        """Where the variable-length tail begins: at the struct's own flexible array, or inside
        a last field whose struct ends in one."""
        named = [slot for slot in slots if isinstance(slot, (FieldSlot, FlexSlot))]
        if not named:
            return None
        last = named[-1]
        if isinstance(last, FlexSlot):
            return last.offset
        if last.struct is not None and not last.shape:
            inner = self.struct(last.struct).tail_start
            return None if inner is None else last.offset + inner
        return None

    def refuse_overaligned_in_packed(self, decl: Struct, member: Field, slot: FieldSlot) -> None:
        """GCC cannot honour a struct type's own `align` inside a packed struct and says so
        (-Wpacked-not-aligned, fatal under -Werror); refuse the spec instead of emitting that C."""
        if slot.struct is None:
            return
        inner = self.struct_decls[slot.struct].align_on(self.variant)
        if inner and inner > 1:
            raise fail(member.pos, f"packed struct {decl.names.canonical} holds {slot.struct}, which is aligned "
                       f"to {inner} by its `align`; C compilers cannot place it there",
                       f"drop `packed`, drop the `align` of {slot.struct}, or align the field itself")

    def field_slot(self, member: Field) -> FieldSlot:
        ref, shape = member.type, []
        while isinstance(ref, Array):
            length = self.eval(ref.length)
            if length < 0:  # 0 is GNU C's zero-length array: no bytes, its element's alignment
                raise fail(ex.start(ref.length), f"array length must be 0 or more, not {length}",
                           "a length of 0 declares a zero-length array (GNU C `T name[0]`)")
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
            size = PRIMITIVES[scalar.prim].size
            align = self.int_align(scalar, member.pos)
            if member.endian is not None and size > 1:  # a single byte has no byte order
                scalar = replace(scalar, order=member.endian)
        count = 1
        for length in shape:
            count *= length
        total = size * count
        if total > MAX_OBJECT_SIZE:
            raise fail(member.pos, f"field {member.names.canonical} is {total} bytes, larger than {MAX_OBJECT_SIZE}")
        if member.align and not self.natural:
            align = max(align, member.align)
        return FieldSlot(member, 0, total, align, count, tuple(shape), scalar, struct)

    # -- bitfields

    def place_bits(self, decl: Struct, run: tuple, slots: list, offset: int, align: int, after) -> tuple:
        """Lay out consecutive bitfields from byte `offset` by the System V (x86-64) and AAPCS64
        rules, as GCC does (see `bit_slot`). Appends a BitsSlot and any holes to `slots`;
        returns (byte offset after the run, struct alignment, last field name)."""
        if decl.endian is not None and (decl.endian == "little") != self.arch.little_endian:
            raise fail(run[0].pos, f"struct {decl.names.canonical} stores its integers {decl.endian}-endian, but "
                       f"bitfields follow the arch's own order on {self.variant.key}",
                       "keep the bitfields in a struct without `endian:` (a field of this one)")
        packed = decl.packed_on(self.variant) and not self.natural
        bit, members, before = offset * 8, [], after
        for member in run:
            slot, member_align = self.bit_slot(member, bit, packed)
            members.append(slot)
            align = max(align, member_align)
            bit = slot.first_bit + slot.bits
            after = member.names.canonical if member.names is not None else after
        end = (bit + 7) // 8
        if end > MAX_OBJECT_SIZE:
            raise fail(run[-1].pos, f"struct {decl.names.canonical} is larger than {MAX_OBJECT_SIZE} bytes")
        slots.extend(_run_slots(tuple(members), offset, end, before, after))
        return end, align, after

    def bit_slot(self, member: BitField, bit: int, packed: bool) -> tuple:
        """(BitFieldSlot, alignment it gives the struct) for a bitfield placed from bit `bit`.

        Bits are allocated in order from the start of the struct. Unless the struct is packed, a
        field may not span more aligned units of its type's alignment than its type has (GCC's
        rule: one unit where the alignment is the size; two 4-byte units for i386's u64) and
        otherwise starts at the next aligned unit; a 0-bit field moves to the next one, packed or
        not. A named field aligns the struct to its type unless packed; an unnamed one only where
        the arch says so, and then a 0-bit one even when packed (AAPCS)."""
        scalar = self.scalar(member.type, member.pos)
        size = PRIMITIVES[scalar.prim].size
        align = self.int_align(scalar, member.pos)
        width, step = self.bit_width(member, scalar, size), align * 8
        if width == 0 or (not packed and (bit + width - 1) // step - bit // step >= size // align):
            bit = _round_up(bit, step)
        aligns = (member.names is not None or self.arch.unnamed_bitfields_align) and (width == 0 or not packed)
        if packed and width:
            unit_offset, unit_size = bit // 8, (bit % 8 + width + 7) // 8
        else:
            unit_offset = bit // step * align
            unit_size = max(_round_up(bit + width, step) // 8 - unit_offset, align)
        slot = BitFieldSlot(member, unit_offset, unit_size, 0, width, scalar, big_endian=not self.arch.little_endian)
        return replace(slot, bit=slot.shift_for(bit)), align if aligns else 1

    def int_align(self, scalar: Scalar, pos: Pos) -> int:
        """The arch's alignment of a primitive inside a struct (i386 aligns 8-byte integers to 4);
        a 16-byte integer on an arch whose compiler has none is an error."""
        size = PRIMITIVES[scalar.prim].size
        align = self.arch.int_align(size)
        if not align:
            raise fail(pos, f"{scalar.enum or scalar.prim} does not exist on {self.variant.key}: "
                       f"{self.arch.gcc} has no {size * 8}-bit integer there",
                       "keep the field to the archs that have it (`arch:` on the field or the struct)")
        return align

    def bit_width(self, member: BitField, scalar: Scalar, size: int) -> int:
        width = self.eval(member.bits)
        at, type_name = ex.start(member.bits), scalar.enum or scalar.prim
        label = f"bitfield {member.names.canonical}" if member.names else "an unnamed bitfield"
        if width < 0:
            raise fail(at, f"{label} has {width} bits; a width must be 0 or more")
        if width > size * 8:
            raise fail(at, f"{label} is {width} bits wide, but its type {type_name} has {size * 8} bits",
                       "a bitfield never spans more than one unit of its type: use a wider type such as u64")
        if width == 0 and member.names is not None:
            raise fail(at, f"{label} has 0 bits; a zero-width bitfield cannot have a name",
                       "drop the name: `{type: u32, bits: 0}` only moves the next bitfield to a new unit")
        if scalar.enum is not None and member.names is not None:
            self.check_enum_width(member, scalar, width)
        return width

    def check_enum_width(self, member: BitField, scalar: Scalar, width: int) -> None:
        signed = PRIMITIVES[scalar.prim].signed
        low, high = (-(1 << (width - 1)), (1 << (width - 1)) - 1) if signed else (0, (1 << width) - 1)
        for value, number in self.enum(self.spec.enum(scalar.enum)).values:
            if not low <= number <= high:
                raise fail(ex.start(member.bits), f"bitfield {member.names.canonical} has {width} bits, too few "
                           f"for {scalar.enum}.{value.names.canonical} = {number}", f"give it at least "
                           f"{_bits_for(number, signed)} bits")

    def scalar(self, ref, pos: Pos) -> Scalar:
        if isinstance(ref, Prim):
            if PRIMITIVES[ref.name].word:
                return Scalar(word_prim(ref.name, self.arch.pointer_size), word=ref.name)
            return Scalar(ref.name)
        if isinstance(ref, Pointer):
            if ref.target is not None and not applies(self.struct_decls[ref.target].archs, self.variant):
                raise fail(pos, f"struct {ref.target} does not exist on {self.variant.key}")
            return Scalar(POINTER_PRIM[self.arch.pointer_size], pointer_to=ref.target, is_pointer=True)
        enum = self.spec.enum(ref.name)
        if not applies(enum.archs, self.variant):
            raise fail(pos, f"enum {ref.name} does not exist on {self.variant.key}")
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
                if slot.field.anonymous:  # its members are the parent's own
                    prefix = c_prefix = ()
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
                raise fail(region.pos, f"struct {region.holds} ({held.size} bytes on {self.variant.key}) "
                           f"does not fit in region {label} ({size} bytes)")
        count, stride = self.region_array(region, label, base + offset, size)
        laid = [RegionLayout(path, base + offset, size, region.holds, region, count, stride)]
        spans = []  # (start, end, path) of the parts so far: disjoint, so sorted by start and end alike
        for part in region.parts:
            children = self.region(part, path, base + offset, (offset, size))
            mine = children[0]
            start, end = mine.offset, mine.offset + mine.size
            # Only the last span starting before `end` can reach past `start`: a full check in log n.
            at = bisect.bisect_left(spans, (end,))
            if at and spans[at - 1][1] > start:
                other_start, other_end, other = spans[at - 1]
                raise fail(part.pos, f"region {'.'.join(mine.path)} overlaps {'.'.join(other)} "
                           f"(bytes {max(start, other_start) - base - offset} to "
                           f"{min(end, other_end) - base - offset} of {label})")
            bisect.insort(spans, (start, end, mine.path))
            laid.extend(children)
        return laid


    def region_array(self, region: Region, label: str, start: int, size: int) -> tuple:
        """(count, stride) of an array part after its checks, O(1) whatever the count: each
        element fits its stride, the stride and the array's start (from the top region) keep
        the element's alignment, and all of them fit the part."""
        if region.count is None:
            return None, None
        count, stride = self.eval(region.count), self.eval(region.stride)
        on = self.variant.key
        if count < 1:
            raise fail(region.count.pos, f"region {label} has count {count} on {on}; it must be at least 1")
        limits.region_count(count, region.count.pos, label)
        held = self.struct_for(region.holds, region.pos)
        if stride < held.size:
            raise fail(region.stride.pos, f"region {label}: stride {stride} is less than the size of "
                       f"{region.holds} ({held.size} bytes on {on})", "each element must fit its stride")
        if stride % held.align:
            raise fail(region.stride.pos, f"region {label}: stride {stride} is not a multiple of the alignment of "
                       f"{region.holds} ({held.align} on {on})", "every element after the first would be misaligned")
        if start % held.align:
            raise fail(region.offset.pos, f"region {label} starts at {start} in its top region, not a multiple of the "
                       f"alignment of {region.holds} ({held.align} on {on})")
        if count * stride > size:
            raise fail(region.count.pos, f"region {label}: {count} elements every {stride} bytes take "
                       f"{count * stride} bytes; the part has {size} on {on}")
        return count, stride


def _bit_runs(members):
    """The members, with each run of consecutive bitfields gathered into one tuple."""
    run = []
    for member in members:
        if isinstance(member, BitField):
            run.append(member)
            continue
        if run:
            yield tuple(run)
            run = []
        yield member
    if run:
        yield tuple(run)


def _run_slots(members: tuple, offset: int, end: int, before, after) -> list:
    """A run's BitsSlot, from its first unit (but not over the member before it at `offset`)
    to the last byte holding a named bit, with the holes around it up to byte `end`."""
    named = [m for m in members if m.named]
    start = max(offset, min(m.unit_offset for m in named)) if named else offset
    stop = max((m.first_bit + m.bits + 7) // 8 for m in named) if named else start
    found = [Hole(offset, start - offset, before)] if start > offset else []
    found.append(BitsSlot(start, stop - start, members))
    if end > stop:
        found.append(Hole(stop, end - stop, after))
    return found


def _widen_bits(slots: list) -> list:
    """Merge neighbouring holes, then let each BitsSlot take in the hole after it up to the
    end of its storage units: the unit's unused bytes become padding bits of the slot."""
    merged = []
    for slot in slots:
        if isinstance(slot, Hole) and merged and isinstance(merged[-1], Hole):
            slot = Hole(merged[-1].offset, merged[-1].size + slot.size, merged[-1].after, slot.tail)
            merged.pop()
        merged.append(slot)
    for index, slot in enumerate(merged[:-1]):
        following = merged[index + 1]
        if isinstance(slot, BitsSlot) and isinstance(following, Hole):
            taken = min(following.size, slot.unit_end - slot.offset - slot.size)
            if taken > 0:
                merged[index] = replace(slot, size=slot.size + taken)
                merged[index + 1] = replace(following, offset=following.offset + taken, size=following.size - taken)
    return [slot for slot in merged if not (isinstance(slot, Hole) and slot.size == 0)]


def _bits_for(number: int, signed: bool) -> int:
    return number.bit_length() + (1 if signed else 0) if number >= 0 else (~number).bit_length() + 1


def _round_up(value: int, align: int) -> int:
    return (value + align - 1) // align * align


class _Groups:
    """`cacheline: separate` while a struct is placed: before a member whose writers differ
    from the group before it, pad to the next line; at the end, pad to a whole line. `line`
    is 0 for any other struct, which then gets no padding."""

    def __init__(self, decl: Struct, line: int):
        self.decl, self.line, self.writers, self.pads = decl, line, None, 0

    def enter(self, member, slots: list, offset: int) -> int:
        if not self.line:
            return offset
        writers = cachelines.writers_of(member)
        if writers is None or writers == self.writers:
            return offset  # padding and reserved space stay with the group before them
        changed, self.writers = self.writers is not None, writers
        return self.pad(slots, offset) if changed else offset

    def close(self, slots: list, offset: int) -> int:
        return self.pad(slots, offset) if self.line else offset

    def pad(self, slots: list, offset: int) -> int:
        size = _round_up(offset, self.line) - offset
        if size:
            slots.append(PadSlot(cachelines.line_pad(self.decl, offset, size, self.pads), offset, size))
            self.pads += 1
        return offset + size

