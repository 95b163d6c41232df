"""The layout test `<name>_layout_test.c`: one _Static_assert per layout fact of each
combination (sizes, alignments, offsets, signedness, macros, constants, enum values, the
spec's asserts and its regions), so every arch's compiler proves the layout it was given.
"""
from __future__ import annotations

from dataclasses import replace

from .. import escape as esc
from .. import expr as ex
from .. import layout_types as lay
from .. import naming
from ..ir import Padding, Reserved, Spec
from ..primitives import ARCHS, PRIMITIVES
from . import c_lines
from .c_offsets import offset_entries, region_c_path
from .c_spelling import c_constant, c_constants, c_expr, c_int, reserved_name, struct_type
from .common import Context, strip_parens, struct_order


def layout_facts(ctx: Context, layout: lay.Layout) -> list:
    """(C condition, message) pairs: one _Static_assert each."""
    spec, facts, arch = ctx.spec, [], ARCHS[layout.variant.arch]
    for struct_layout in struct_order(layout, tuple(ctx.combinations.values())):
        decl = spec.struct(struct_layout.name)
        if decl.anonymous:  # C cannot name it; its members are asserted through the parent
            continue
        ctype, label = struct_type(spec, decl.names.canonical), decl.names.canonical
        facts.append((f"sizeof({ctype}) == {struct_layout.size}", f"{label}: size: spec says {struct_layout.size}"))
        facts.append((f"_Alignof({ctype}) == {struct_layout.align}",
                      f"{label}: alignment: spec says {struct_layout.align}"))
        size_macro = f"sizeof_{naming.macro_part(decl.names)}"
        facts.append((f"{size_macro} == sizeof({ctype})", f"{size_macro} disagrees with sizeof"))
        for slot in _assert_slots(layout, struct_layout):
            if isinstance(slot, lay.FieldSlot):
                member, where = slot.field.names.c, f"{label}.{slot.field.names.canonical}"
            elif isinstance(slot, lay.PadSlot) and slot.padding.c_name:
                member, where = slot.padding.c_name, f"{label}.{slot.padding.c_name}"
            elif isinstance(slot, lay.ReservedSlot) and (slot.reserved.c_name or not decl.external):
                member = reserved_name(slot)
                where = f"{label}.{member}"
            elif isinstance(slot, lay.FlexSlot):
                # A flexible array has an offset but no size C would let sizeof measure.
                where = f"{label}.{slot.field.names.canonical}"
                facts.append((f"offsetof({ctype}, {slot.field.names.c}) == {slot.offset}",
                              f"{where}: offset: spec says {slot.offset}"))
                facts.extend(_signedness_facts(decl, ctype, where, slot, arch))
                continue
            else:
                continue
            facts.append((f"offsetof({ctype}, {member}) == {slot.offset}", f"{where}: offset: spec says {slot.offset}"))
            facts.append((f"sizeof((({ctype} *)0)->{member}) == {slot.size}", f"{where}: size: spec says {slot.size}"))
            if isinstance(slot, lay.FieldSlot):
                facts.extend(_signedness_facts(decl, ctype, where, slot, arch))
        for macro, offset, c_path, spec_path in offset_entries(spec, layout, struct_layout.name):
            facts.append((f"{macro} == offsetof({ctype}, {'.'.join(c_path)})",
                          f"{macro} ({label}.{'.'.join(spec_path)}): spec says {offset}"))
        facts.extend(c_lines.facts(layout, struct_layout, decl, ctype))
    for const in c_constants(ctx.spec, layout).values():
        value, ctype = layout.constants[const.names.canonical], layout.constant_type(const.names.canonical)
        facts.append((f"{const.names.c} == {c_constant(layout, const.names.canonical)}",
                      f"constant {const.names.canonical}: spec says {value}"))
        if not (const.c_ifndef or const.external):  # a system header's own type (PAGE_SIZE is 1UL << 12)
            facts.append((f"_Generic({const.names.c}, {ctype}: 1, default: 0)",
                          f"constant {const.names.canonical}: spec says its C type is {ctype}"))
    for enum_layout in layout.enums.values():
        for value, number in enum_layout.values:
            where = f"{enum_layout.enum.names.canonical}.{value.names.canonical}"
            facts.append((f"{value.names.c} == {c_int(number)}", f"{where}: spec says {number}"))
            asm = naming.asm_enum_name(value.names.c, enum_layout.enum.asm_prefix)
            if asm != value.names.c:  # the same name is the assembler's only (check/consumers.py probes it)
                facts.append((f"{asm} == {value.names.c}", f"{asm} disagrees with {value.names.c}"))
            ctype = PRIMITIVES[enum_layout.enum.base.name].c
            facts.append((f"({ctype})({value.names.c}) == {value.names.c}",
                          f"{where}: value does not fit the field type {ctype}"))
    for assertion in spec.asserts:
        # The message shows the expression as parsed, never the spec's source text.
        facts.append((c_expr(ctx, layout, assertion.expr), f"assert: {strip_parens(ex.render(assertion.expr))}"))
    facts.extend(_region_facts(ctx, layout))
    return [(condition, esc.c_string(message)) for condition, message in facts]


def _signedness_facts(decl, ctype: str, where: str, slot, arch) -> list:
    """Whether an integer field (an array's element [0]) is signed, as the spec says: a _Generic
    over C's integer types (an enum selects the integer type it is compatible with, a pointer
    or anything else the default, which fails). Plain char passes either way, since its
    signedness is the arch's. Left to the DWARF check: bitfields (_Generic and __typeof__
    take no bitfield's declared type), pointers and structs
    (no sign); in a system struct, an enum field (the header may declare it as a C enum,
    whose underlying type C leaves to the compiler) and a u8 array (raw bytes, which may
    stand for a union the spec does not describe, as siginfo_t's _sifields)."""
    scalar = slot.scalar
    if scalar is None or scalar.is_pointer:
        return []
    if decl.external and (scalar.enum or (slot.shape and scalar.prim == "u8")):
        return []
    info = PRIMITIVES[scalar.prim]
    member = f"(({ctype} *)0)->{slot.field.names.c}" + "[0]" * len(slot.shape)
    signed, unsigned = int(info.signed), int(not info.signed)
    choices = ", ".join([f"{name}: {unsigned}" for name in _known(_UNSIGNED_TYPES, arch)]
                        + [f"{name}: {signed}" for name in _known(_SIGNED_TYPES, arch)])
    return [(f"_Generic({member}, char: 1, {choices}, default: 0)",
             f"{where}: signedness: spec says {info.name}, which is {'signed' if info.signed else 'unsigned'}")]


# C's integer types as _Generic tells them apart (a bool reads as unsigned, as the spec's bool8/bool32).
_UNSIGNED_TYPES = ("_Bool", "unsigned char", "unsigned short", "unsigned int", "unsigned long", "unsigned long long",
                   "unsigned __int128")
_SIGNED_TYPES = ("signed char", "short", "int", "long", "long long", "__int128")


def _known(types: tuple, arch) -> tuple:
    """The types the arch's compiler has: one without __int128 (the 32-bit arches) rejects
    the name even in a _Generic branch that is never taken."""
    return types if arch.int_align(16) else tuple(name for name in types if "__int128" not in name)


def system_member_names(spec: Spec) -> list:
    """The C member names of system types, which the asserts spell but a system header may
    also define as macros (glibc: `#define si_pid _sifields._kill.si_pid`). The layout test
    saves, undefines and restores each around its asserts, so `offsetof(T, _sifields._kill.si_pid)`
    names the member. Names the generated headers define themselves are left alone."""
    own = {c.names.c for c in spec.constants} | {p.c_macro for p in spec.params}
    own |= {v.names.c for e in spec.enums for v in e.values}
    own |= {naming.asm_enum_name(v.names.c, e.asm_prefix) for e in spec.enums for v in e.values}
    names = set()
    for decl in spec.structs:
        if decl.external is None:
            continue
        for member in decl.members:
            if isinstance(member, (Padding, Reserved)):
                names.add(member.c_name)
            elif member.names is not None:  # a field, or a named bitfield
                names.add(member.names.c)
    return sorted(name for name in names if name and name not in own)


def _assert_slots(layout: lay.Layout, struct_layout: lay.StructLayout, base: int = 0):
    """The slots of a struct, with each anonymous member replaced by its own slots at the
    member's offset plus theirs (C names them as the parent's members)."""
    for slot in struct_layout.slots:
        if isinstance(slot, lay.FieldSlot) and slot.field.anonymous:
            yield from _assert_slots(layout, layout.structs[slot.struct], base + slot.offset)
        else:
            yield replace(slot, offset=base + slot.offset) if base else slot


def _region_facts(ctx: Context, layout: lay.Layout) -> list:
    """Each region inside its parent and holding its struct; sibling parts apart. The parts are
    sorted by where this layout places them, and each is asserted to end before the next starts,
    with every size positive: n - 1 asserts that imply all n² pairs are disjoint (the generator
    itself checks every pair)."""
    facts = []
    placed = {laid.path: laid.offset for laid in layout.regions}

    def visit(region, path, parent_size):
        label = ".".join(path)
        size = c_expr(ctx, layout, region.size)
        offset = c_expr(ctx, layout, region.offset)
        if parent_size is not None:
            facts.append((f"{offset} >= 0 && ({offset}) + ({size}) <= ({parent_size})",
                          f"region {label} lies inside its parent"))
        if region.holds:
            facts.append((f"sizeof({struct_type(ctx.spec, region.holds)}) <= ({size})",
                          f"region {label} holds {region.holds}"))
        if region.count is not None:
            facts.extend(_array_facts(ctx, layout, region, path, size))
        parts = sorted(region.parts, key=lambda part: placed[path + (part.names.canonical,)])
        for part, following in zip(parts, parts[1:]):
            a0, a1 = c_expr(ctx, layout, part.offset), c_expr(ctx, layout, part.size)
            b0, b1 = c_expr(ctx, layout, following.offset), c_expr(ctx, layout, following.size)
            facts.append((f"({a1}) > 0 && ({b1}) > 0 && ({a0}) + ({a1}) <= ({b0})",
                          f"region {label}.{part.names.canonical} ends before {label}.{following.names.canonical}"))
        for part in region.parts:
            visit(part, path + (part.names.canonical,), size)

    for region in ctx.spec.regions:
        visit(region, (region.names.canonical,), None)
    return facts


def _array_facts(ctx: Context, layout: lay.Layout, region, path: tuple, size: str) -> list:
    """The generator's checks of an array part, again in C: each element fits its stride, the
    stride and the start keep the element's alignment, all elements fit; and the offsets
    header's macros say the same numbers."""
    label, held = ".".join(path), struct_type(ctx.spec, region.holds)
    count, stride = c_expr(ctx, layout, region.count), c_expr(ctx, layout, region.stride)
    start = next(laid.offset for laid in layout.regions if laid.path == path)
    offset_macro, stride_macro, count_macro = naming.region_array_macros(region_c_path(ctx.spec, path))
    return [
        (f"sizeof({held}) <= ({stride})", f"region {label}: {region.holds} fits its stride"),
        (f"({stride}) % _Alignof({held}) == 0", f"region {label}: the stride keeps {region.holds} aligned"),
        (f"{c_int(start)} % _Alignof({held}) == 0", f"region {label}: the first element is aligned"),
        (f"({count}) >= 1 && (unsigned long long)({count}) * ({stride}) <= ({size})", f"region {label}: every element fits the part"),
        (f"{offset_macro} == {c_int(start)} && {stride_macro} == ({stride}) && {count_macro} == ({count})",
         f"region {label}: the offsets header agrees"),
    ]
