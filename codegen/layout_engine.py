"""The layout engine: places the members of every struct and union of one combination.

C rules, with the arch table's alignments (`primitives.ARCHS`): a primitive aligns to its
size except where the arch says less (i386's 8-byte integers, s390x's 16-byte ones), `long`
and pointers take the arch's word size, a struct aligns to its widest member (or its `align`), members are placed in order at the next multiple of
their alignment, and the size is rounded up to the struct's alignment. `packed`
drops member alignment to 1 (but an explicit `align` still applies, as in GCC).
Every gap is recorded as a Hole and the rounding at the end as tail padding, so no
target ever recomputes an offset. A union places every member at 0 (UnionLayout); a
flexible array is a FlexSlot with no size, whose element alignment still counts; reserved
space is a ReservedSlot. Bitfields follow `layout_bits`, `cacheline: separate` padding
`cachelines.Groups`.

Constants are evaluated here too: an array length may name a constant, and a
constant may use sizeof/offsetof, so both are computed lazily per variant.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Optional

from . import cint
from . import cachelines
from . import expr as ex
from . import layout_bits as bits
from . import limits
from .errors import Pos, fail
from .ir import (Array, BitField, Enum, Field, FlexArray, Padding, Pointer, Prim, Reserved, Spec, Struct,
                 StructRef, UnionDecl, Variant, applies)
from .layout_types import (EnumLayout, FieldSlot, FlexSlot, Hole, Leaf, PadSlot, ReservedSlot, Scalar,
                           StructLayout, UnionLayout, round_up)
from .layout_walk import visible_slots
from .primitives import ARCHS, POINTER_PRIM, PRIMITIVES, word_prim

MAX_OBJECT_SIZE = 1 << 40  # a struct bigger than a terabyte is a spec mistake
MAX_NESTING = 100  # constants and structs defined through each other; bounds the recursion below
MAX_LEAVES = 1 << 16  # flattened scalar fields of one struct (arrays of structs multiply)


class Engine:
    """Lays out one combination (a Variant): constants, enums and structs, each computed once
    on first use, since a length may need a constant and a constant a `sizeof`. `natural`
    ignores every `packed` and `align` (see `layout.natural_structs`)."""

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
        group = cachelines.Groups(decl, self.line_size() if decl.cacheline == "separate" else 0)
        for member in bits.bit_runs(decl.members_for(self.variant)):
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
            start = round_up(offset, member_align)
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
        size = round_up(offset, align)
        if size > offset:
            slots.append(Hole(offset, size - offset, after, tail=True))
        slots = bits.widen_bits(slots)
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
        total = round_up(size, align)
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
        start = round_up(offset, member_align)
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

    # -- bitfields (the rule itself is in layout_bits)

    def place_bits(self, decl: Struct, run: tuple, slots: list, offset: int, align: int, after) -> tuple:
        """Lay out consecutive bitfields from byte `offset` by the System V (x86-64) and AAPCS64
        rules, as GCC does (see `layout_bits.allocate`). Appends a BitsSlot and any holes to
        `slots`; returns (byte offset after the run, struct alignment, last field name)."""
        bits.refuse_foreign_order(decl, run, self.arch, self.variant.key)
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
        slots.extend(bits.run_slots(tuple(members), offset, end, before, after))
        return end, align, after

    def bit_slot(self, member: BitField, bit: int, packed: bool) -> tuple:
        """(BitFieldSlot, alignment it gives the struct): the field's type and width on this
        combination, checked, then placed from bit `bit`."""
        scalar = self.scalar(member.type, member.pos)
        align = self.int_align(scalar, member.pos)
        width = self.eval(member.bits)
        bits.check_width(member, scalar, width)
        if scalar.enum is not None and member.names is not None:
            bits.check_enum_width(member, scalar, width, self.enum(self.spec.enum(scalar.enum)).values)
        return bits.allocate(member, scalar, align, width, bit, packed, self.arch)

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

    # -- scalars and leaves

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
