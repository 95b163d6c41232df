"""The offsets header `<name>_offsets.h`: #define lines an assembler can read (constants,
enum values, sizes, offsets, bitfield positions and region arrays), no C declarations.
"""
from __future__ import annotations

from .. import layout_types as lay
from .. import naming
from ..ir import Spec
from ..layout_walk import nested_bitfields, nested_fields
from .c_header import constants
from .c_spelling import c_int
from .common import Context, struct_order


def asm_constants(ctx: Context, layout: lay.Layout):
    """The header's constant lines, spelled for an assembler too (see `c_header.constants`)."""
    return constants(ctx, layout, asm=True)


def asm_enums(ctx: Context, layout: lay.Layout):
    for enum_layout in layout.enums.values():
        enum = enum_layout.enum
        lines = [f"#define {naming.asm_enum_name(value.names.c, enum.asm_prefix)} {c_int(number)}"
                 for value, number in enum_layout.values]
        if enum.asm_prefix == "":
            # The C header's enum constants have these very names; a macro seen before the enum
            # would rewrite its declaration, so C code gets them from the C header only.
            owner = f"<{enum.external}>" if enum.external else f"the enum in {ctx.spec.name}.h"
            lines = ([f"/* {enum.names.canonical}: C code has these from {owner}. */",
                      "#ifdef __ASSEMBLER__"] + lines + ["#endif"])
        yield enum.names.canonical, lines


def offset_entries(spec: Spec, layout: lay.Layout, struct_name: str):
    """(macro name, offset, C member path, spec path) for every field, nested fields included."""
    for macro, offset, c_path, spec_path, _ in offset_rows(spec, layout, struct_name):
        yield macro, offset, c_path, spec_path


def offset_rows(spec: Spec, layout: lay.Layout, struct_name: str):
    """`offset_entries` plus the spec position that names the macro: the outermost field's.
    A macro is spelled from `asm:` names where given (`naming.macro_part`), C names elsewhere."""
    top = naming.macro_part(spec.struct(struct_name).names)
    for chain, offset in nested_fields(layout, struct_name):
        c_path = [slot.field.names.c for slot in chain]
        spec_path = [slot.field.names.canonical for slot in chain]
        macro = naming.offset_macro([top] + [naming.macro_part(slot.field.names) for slot in chain])
        yield macro, offset, c_path, spec_path, chain[0].field.pos


def offset_macros(ctx: Context, layout: lay.Layout):
    for struct_layout in struct_order(layout, tuple(ctx.combinations.values())):
        decl = ctx.spec.struct(struct_layout.name)
        if decl.anonymous:  # no C name; its members are in the parent's macros
            continue
        lines = [f"#define sizeof_{naming.macro_part(decl.names)} {struct_layout.size}"]
        lines += [f"#define {macro} {offset}"
                  for macro, offset, _, _ in offset_entries(ctx.spec, layout, struct_layout.name)]
        lines += _bit_macros(ctx.spec, layout, struct_layout.name)
        yield decl.names.canonical, lines


def bit_entries(spec: Spec, layout: lay.Layout, struct_name: str):
    """(macro names, unit offset from the outer struct, BitFieldSlot, spec path) for every
    named bitfield, nested ones included; the names come from `naming.bit_macros`."""
    for names, offset, slot, spec_path, _ in bit_rows(spec, layout, struct_name):
        yield names, offset, slot, spec_path


def bit_rows(spec: Spec, layout: lay.Layout, struct_name: str):
    """`bit_entries` plus the spec position that names the macros (as `offset_rows`)."""
    top = naming.macro_part(spec.struct(struct_name).names)
    for chain, slot, base in nested_bitfields(layout, struct_name):
        parts = [naming.macro_part(link.field.names) for link in chain] + [naming.macro_part(slot.field.names)]
        spec_path = [link.field.names.canonical for link in chain] + [slot.field.names.canonical]
        pos = chain[0].field.pos if chain else slot.field.pos
        yield naming.bit_macros([top] + parts), base + slot.unit_offset, slot, spec_path, pos


def _bit_macros(spec: Spec, layout: lay.Layout, struct_name: str) -> list:
    """Per bitfield: load `bitunit` bytes at `offsetof` as an integer in the arch's byte order,
    shift right by `bitpos` and keep `bitwidth` bits."""
    lines = []
    for (offset_name, pos_name, width_name, unit_name), offset, slot, _ in bit_entries(spec, layout, struct_name):
        lines += [f"#define {offset_name} {offset}", f"#define {pos_name} {slot.bit}",
                  f"#define {width_name} {slot.bits}", f"#define {unit_name} {slot.unit_size}"]
    return lines


def region_macros(ctx: Context, layout: lay.Layout):
    """Per array region part: its start in the top region, its stride and its count; code
    reaches element i at offset + i * stride."""
    for laid in layout.regions:
        if laid.count is not None:
            offset, stride, count = naming.region_array_macros(region_c_path(ctx.spec, laid.path))
            yield ".".join(laid.path), [f"#define {offset} {laid.offset}", f"#define {stride} {laid.stride}",
                                        f"#define {count} {laid.count}"]


def region_c_path(spec: Spec, path: tuple) -> list:
    """The snake names along a region path (the names the IR keeps for C)."""
    region = next(r for r in spec.regions if r.names.canonical == path[0])
    names = [region.names.c]
    for name in path[1:]:
        region = next(p for p in region.parts if p.names.canonical == name)
        names.append(region.names.c)
    return names
