"""The C header `<name>.h`: includes, constants, enums and the struct and union declarations,
each member with a comment saying where it lands.
"""
from __future__ import annotations

from .. import escape as esc
from .. import cint
from .. import expr as ex
from .. import layout_types as lay
from ..ir import Spec, UnionDecl
from ..primitives import PRIMITIVES
from . import c_lines
from .c_spelling import (byte_order_note, c_constant, c_constants, c_int, params_condition, reserved_name,
                         struct_type)
from .common import Context, struct_order


def includes(spec: Spec) -> list:
    extra = sorted({s.external.include for s in spec.structs if s.external}
                   | {c.external for c in spec.constants if c.external and "c" in c.targets}
                   | {e.external for e in spec.enums if e.external})
    return ["stdint.h"] + [inc for inc in extra if inc != "stdint.h"]


def _length(ctx: Context, layout: lay.Layout, length_expr: ex.Expr, value: int) -> str:
    visible = c_constants(ctx.spec, layout)
    if isinstance(length_expr, ex.Ref) and length_expr.name in visible:
        return visible[length_expr.name].names.c
    return str(value)


def page_checks(ctx: Context) -> list:
    """(condition, C name, value) per `c_ifndef` constant: the condition is "" unless the value
    depends on a spec parameter, then each value is checked under its parameter values."""
    checks = []
    first = [layout for layout in ctx.combinations.values() if layout.variant.arch == ctx.spec.archs[0]]
    for const in ctx.spec.constants:
        if not const.c_ifndef or "c" not in const.targets:
            continue
        values = [(layout.variant, c_constant(layout, const.names.canonical)) for layout in first]
        if len({value for _, value in values}) == 1:
            checks.append(("", const.names.c, values[0][1]))
        else:
            checks += [(params_condition(ctx.spec, variant), const.names.c, value) for variant, value in values]
    return checks


def constants(ctx: Context, layout: lay.Layout, asm: bool = False):
    """The constants' #define lines; for the offsets header (`asm`), a value whose C spelling
    needs a suffix gets a plain number when assembly includes it, as GNU as knows no suffixes."""
    for const in c_constants(ctx.spec, layout).values():
        value = layout.constants[const.names.canonical]
        spelled = c_constant(layout, const.names.canonical)
        source = const.expr_for(layout.variant)
        shown = "" if isinstance(source, ex.Num) and spelled == cint.spelling(source.value, source.ctype) \
            else esc.c_comment(ex.render(source))
        comment = f"  /* {shown} */" if shown else ""
        lines = [f"/* {line} */" if line else "" for line in esc.c_comment_lines(const.doc, 84)]
        define = [f"#define {const.names.c} {spelled}{comment}"]
        if const.external:
            yield const.names.canonical, lines + _external_constant(const, spelled, c_int(value), asm)
            continue
        if asm and spelled != c_int(value):
            define = ["#ifdef __ASSEMBLER__", f"#define {const.names.c} {c_int(value)}", "#else", *define, "#endif"]
        if const.c_ifndef:
            lines += [f"#ifndef {const.names.c}", *define, "#endif"]
        else:
            lines += define
        yield const.names.canonical, [line for line in lines if line]


def _external_constant(const, spelled: str, plain: str, asm: bool) -> list:
    """A header-owned constant: C code has it from the system header (the layout test asserts
    its value); assembly, which does not include that header, gets a plain number."""
    note = f"/* {const.names.c} is <{const.external}>'s; the spec says {spelled}. */"
    if not asm:
        return [note]
    return [note, "#if defined(__ASSEMBLER__) && !defined(" + const.names.c + ")", f"#define {const.names.c} {plain}",
            "#endif"]


_INT_MIN, _INT_MAX = -(1 << 31), (1 << 31) - 1


def enum_fits_int(enum_layout: lay.EnumLayout) -> bool:
    """ISO C enumerators must fit in int; an enum with a wider value is written as macros."""
    return all(_INT_MIN <= number <= _INT_MAX for _, number in enum_layout.values)


def enums(ctx: Context, layout: lay.Layout):
    for enum_layout in layout.enums.values():
        enum = enum_layout.enum
        if enum.external:
            yield enum.names.canonical, [f"/* {esc.c_comment(enum.names.canonical)}: <{enum.external}> defines its "
                                         "values; the layout test asserts each is the spec's. */"]
            continue
        if not enum_fits_int(enum_layout):
            # ISO C enumerators must fit in int; wider values become typed macros.
            suffix = "LL" if PRIMITIVES[enum.base.name].signed else "ULL"
            lines = _doc_block(enum.doc) + [f"#define {value.names.c} {c_int(number, suffix)}"
                                            for value, number in enum_layout.values]
            yield enum.names.canonical, lines
            continue
        lines = _doc_block(enum.doc) + [f"enum {enum.names.c} {{"]
        for value, number in enum_layout.values:
            doc = esc.c_comment(value.doc)
            lines.append(f"  {value.names.c} = {c_int(number)},{f'  /* {doc} */' if doc else ''}")
        lines.append("};")
        yield enum.names.canonical, lines


def _doc_block(doc: str) -> list:
    text = esc.c_comment_lines(doc, 84)
    if not text:
        return []
    return ["/*"] + [f" * {line}".rstrip() for line in text] + [" */"]


def structs(ctx: Context, layout: lay.Layout):
    spec = ctx.spec
    for struct in spec.structs:
        if struct.names.canonical not in layout.structs:
            continue
        if struct.external:
            yield "fwd:" + struct.names.canonical, [
                "/* " + esc.c_comment(f"{struct.names.canonical} is the system's {struct.external.c_type} from "
                                      f"<{struct.external.include}>; the spec only describes its layout.") + " */"]
    for struct_layout in struct_order(layout, tuple(ctx.combinations.values())):
        decl = spec.struct(struct_layout.name)
        if decl.external or decl.anonymous:
            continue
        yield decl.names.canonical, _struct_lines(ctx, layout, decl, struct_layout)


def _struct_lines(ctx, layout, decl, struct_layout) -> list:
    summary = f"{struct_layout.size} bytes, aligned to {struct_layout.align}."
    if isinstance(decl, UnionDecl):
        summary += " Every member starts at offset 0."
    lines = _doc_block(decl.doc + f"\n\n{summary}")
    lines.append(f"{struct_type(ctx.spec, decl.names.canonical)} {{")
    lines += _member_lines(ctx, layout, struct_layout, 0)
    lines.append(f"}}{_type_attributes(decl, layout.variant, struct_layout.align)};")
    return lines


def _type_attributes(decl, variant, laid_out_align: int = 0) -> str:
    """` __attribute__((packed, aligned(N)))` for a struct or union type, or nothing. A struct
    with `cacheline: separate` is aligned to the line, the one alignment the engine adds itself
    (its padding is explicit members, which every language reproduces)."""
    attributes = []
    if decl.packed_on(variant):
        attributes.append("packed")
    if decl.cacheline == "separate":
        attributes.append(f"aligned({laid_out_align})")
    elif decl.align_on(variant):
        attributes.append(f"aligned({decl.align_on(variant)})")
    return f" __attribute__(({', '.join(attributes)}))" if attributes else ""


def _anonymous_lines(ctx, layout, slot, base: int) -> list:
    """An anonymous member, declared inline as C11 does (offsets in comments are the parent's)."""
    inner = layout.structs[slot.struct]
    word = "union" if isinstance(inner, lay.UnionLayout) else "struct"
    lines = _member_doc(slot.field.doc)
    lines.append(f"  {word} {{  /* anonymous: offset {base + slot.offset}, size {slot.size} */")
    lines += ["  " + line for line in _member_lines(ctx, layout, inner, base + slot.offset)]
    return lines + [f"  }}{_type_attributes(ctx.spec.struct(slot.struct), layout.variant)};"]


def _member_doc(doc: str) -> list:
    """A member's doc as one-line comments above it, indented one level."""
    return [f"  /* {line} */" for line in esc.c_comment_lines(esc.one_line(doc), 80) if line]


def _member_lines(ctx, layout, struct_layout, base: int) -> list:
    """The member declarations of a struct or union body, indented one level; `base` is
    where the body starts in the outermost struct, for the offsets the comments give."""
    lines, pad_index = [], 0
    for slot in struct_layout.slots:
        if isinstance(slot, lay.FieldSlot) and slot.field.anonymous:
            lines += _anonymous_lines(ctx, layout, slot, base)
        elif isinstance(slot, (lay.FieldSlot, lay.FlexSlot)):
            lines += _member_doc(slot.field.doc)
            size = "flexible array" if isinstance(slot, lay.FlexSlot) else f"size {slot.size}"
            lines.append(f"  {_declaration(ctx, layout, slot)};  /* offset {base + slot.offset}, {size}"
                         f"{byte_order_note(slot.scalar)}{c_lines.member_note(slot.field)} */")
        elif isinstance(slot, lay.ReservedSlot):
            lines.append(f"  uint8_t {reserved_name(slot)}[{slot.size}];  /* offset {base + slot.offset}: reserved for "
                         "later fields, keep zero */")
        elif isinstance(slot, lay.BitsSlot):
            lines.extend(_bitfield_lines(ctx.spec, slot, base))
        elif isinstance(slot, lay.PadSlot):
            name = slot.padding.c_name or f"_pad{pad_index}"
            pad_index += 1
            lines.append(f"  uint8_t {name}[{slot.size}];  /* offset {base + slot.offset}: explicit padding */")
        else:
            lines.append(f"  /* {slot.size} bytes of {'tail ' if slot.tail else ''}padding at offset "
                         f"{base + slot.offset} */")
    return lines


def _bitfield_lines(spec: Spec, slot: lay.BitsSlot, base: int) -> list:
    """A run of bitfields as declared, unnamed ones included, each saying where it lands
    (units at `base` plus their offset, as `_member_lines`)."""
    lines = []
    for member in slot.members:
        ctype = member.scalar.c_type
        if member.scalar.enum:
            ctype += f" /* enum {spec.enum(member.scalar.enum).names.c} */"
        unit = f"the {member.unit_size}-byte unit at offset {base + member.unit_offset}"
        if not member.named:
            what = f"{member.bits} bits of padding" if member.bits else f"the next bitfield starts at {unit}"
            lines.append(f"  {ctype} : {member.bits};  /* {what} */")
            continue
        lines += _member_doc(member.field.doc)
        lines.append(f"  {ctype} {member.field.names.c} : {member.bits};  "
                     f"/* bits {member.bit}..{member.bit + member.bits - 1} of {unit}{c_lines.bits_note(member)} */")
    return lines


def _declaration(ctx: Context, layout: lay.Layout, slot) -> str:
    """A FieldSlot's or FlexSlot's C declaration (a flexible array opens with `[]`)."""
    spec = ctx.spec
    name = slot.field.names.c
    if slot.struct is not None:
        base = struct_type(spec, slot.struct)
        comment = ""
    elif slot.scalar.is_pointer:
        base = (struct_type(spec, slot.scalar.pointer_to) if slot.scalar.pointer_to else "void") + " *"
        comment = ""
    else:
        base = slot.scalar.c_type
        comment = f" /* enum {spec.enum(slot.scalar.enum).names.c} */" if slot.scalar.enum else ""
    dims, ref = "", slot.field.type
    if isinstance(slot, lay.FlexSlot):
        dims, ref = "[]", ref.element
    for length in slot.shape[1:] if isinstance(slot, lay.FlexSlot) else slot.shape:
        dims += f"[{_length(ctx, layout, ref.length, length)}]"
        ref = ref.element
    attribute = f" __attribute__((aligned({slot.field.align})))" if slot.field.align else ""
    spacer = "" if base.endswith("*") else " "
    return f"{base}{comment}{spacer}{name}{dims}{attribute}"
