"""C target: `<name>.h` (types), `<name>_offsets.h` (#define lines for assembly) and
`<name>_layout_test.c` (a _Static_assert for every layout fact, compiled per arch).

Declarations are rendered once per arch; text that is the same on every arch is
emitted plain, and text that differs goes under `#if defined(<arch macro>)`.
"""
from __future__ import annotations

from dataclasses import replace

from .. import escape as esc
from .. import cint
from .. import expr as ex
from .. import layout as lay
from .. import naming
from ..ir import Field, Padding, Reserved, Spec, StructRef, UnionDecl
from ..primitives import ARCHS, PRIMITIVES
from . import c_lines, c_names
from .common import Context, render_template, strip_parens, struct_order, then_change


def render(ctx: Context) -> dict:
    name = ctx.spec.name
    c_names.check(ctx.spec, ctx.combinations)
    common = {
        "banner": ctx.banner(esc.c_comment),
        "guard_macro": c_names.guard_macro(ctx.spec),
        "archs": [(arch, ARCHS[arch].c_negation) for arch in ctx.spec.archs],
        "spec_name": name,
        "params": [(p.c_macro, p.default, p.values) for p in ctx.spec.params],
    }
    header_path, offsets_path = f"c/{name}.h", f"c/{name}_offsets.h"
    return {
        header_path: render_template(
            "c/header.h.j2", **common, includes=_includes(ctx.spec), then_change=then_change(ctx.spec, header_path),
            doc=esc.c_comment_lines(ctx.spec.doc), page_checks=_page_checks(ctx),
            sections=[("Constants", _merge(ctx, _constants)),
                      ("Enums", _merge(ctx, _enums)),
                      ("Structs", _merge(ctx, _structs))]),
        offsets_path: render_template(
            "c/offsets.h.j2", **common, then_change=then_change(ctx.spec, offsets_path),
            sections=[("Constants", _merge(ctx, _asm_constants)),
                      ("Enum values", _merge(ctx, _asm_enums)),
                      ("Sizes and offsets", _merge(ctx, _offset_macros))]
            + [("Region arrays", chunks) for chunks in [_merge(ctx, _region_macros)] if chunks]),
        f"c/{name}_layout_test.c": render_template(
            "c/layout_test.c.j2", **common, header=f"{name}.h", offsets=f"{name}_offsets.h",
            blocks=[(combo_condition(ctx.spec, layout.variant), _facts(ctx, layout))
                    for layout in ctx.combinations.values()],
            shadowed=_system_member_names(ctx.spec)),
    }


# ---- merging per-arch text -------------------------------------------------


def _merge(ctx: Context, produce) -> list:
    """Run `produce(ctx, layout)` per combination -> [(key, lines)]; group into plain or #if chunks.

    Returns a list of (conditions, lines) where conditions is [] for text shared by every
    combination, or a list of (C condition, lines) for an #if/#elif chain. Without spec
    parameters a combination is an arch and the condition `defined(<arch macro>)`.
    """
    combos = ctx.combinations
    per_combo = {key: dict(produce(ctx, layout)) for key, layout in combos.items()}
    keys = dict.fromkeys(key for combo in combos for key in per_combo[combo])  # first-seen order, O(1) lookups
    chunks = []
    for key in keys:
        texts = {combo: per_combo[combo].get(key) for combo in combos}
        present = [combo for combo in combos if texts[combo] is not None]
        if len(present) == len(combos) and all(texts[c] == texts[present[0]] for c in present):
            chunks.append(([], texts[present[0]]))
        else:
            chunks.append((_conditions(ctx, texts), []))
    return chunks


def arch_condition(arch: str) -> str:
    return ARCHS[arch].c_condition


def params_condition(spec: Spec, variant) -> str:
    return " && ".join(f"{spec.param(name).c_macro} == {value}" for name, value in variant.params)


def combo_condition(spec: Spec, variant) -> str:
    """The C condition that selects one combination: its arch, then its parameter values."""
    return " && ".join([arch_condition(variant.arch)] + ([params_condition(spec, variant)] if variant.params else []))


def _conditions(ctx: Context, texts: dict) -> list:
    """The #if/#elif branches for text that differs between combinations, as few as possible:
    by parameter values alone when every arch agrees, by arch alone when every parameter
    value agrees, else one branch per combination."""
    variants = {key: layout.variant for key, layout in ctx.combinations.items()}
    if ctx.spec.params:
        by_point, by_arch = {}, {}
        for key, variant in variants.items():
            by_point.setdefault(variant.params, set()).add(_frozen(texts[key]))
            by_arch.setdefault(variant.arch, set()).add(_frozen(texts[key]))
        if all(len(found) == 1 and None not in found for found in by_point.values()):
            seen, result = set(), []
            for key, variant in variants.items():
                if variant.params not in seen:
                    seen.add(variant.params)
                    result.append((params_condition(ctx.spec, variant), texts[key]))
            return result
        if all(len(found) == 1 for found in by_arch.values()):
            seen, result = set(), []
            for key, variant in variants.items():
                if variant.arch not in seen and texts[key] is not None:
                    seen.add(variant.arch)
                    result.append((arch_condition(variant.arch), texts[key]))
            return result
    return [(combo_condition(ctx.spec, variants[key]), texts[key]) for key in variants if texts[key] is not None]


def _frozen(lines):
    return None if lines is None else tuple(lines)


# ---- spellings -------------------------------------------------------------


def _includes(spec: Spec) -> list:
    extra = sorted({s.external.include for s in spec.structs if s.external}
                   | {c.external for c in spec.constants if c.external and "c" in c.targets}
                   | {e.external for e in spec.enums if e.external})
    return ["stdint.h"] + [inc for inc in extra if inc != "stdint.h"]


def struct_type(spec: Spec, name: str) -> str:
    decl = spec.struct(name)
    if decl.external:
        return decl.external.c_type
    return f"{'union' if isinstance(decl, UnionDecl) else 'struct'} {decl.names.c}"


def reserved_name(slot: lay.ReservedSlot) -> str:
    """C's name for a `reserved:` member: its `c:` name (a system type's own), else
    `__reserved_<n>`, whose implementation-style prefix marks it as not for use."""
    return slot.reserved.c_name or f"__reserved_{slot.index}"


def byte_order_note(scalar) -> str:
    """`, big-endian` after a field's offset comment when the spec fixes its byte order."""
    return f", {scalar.order}-endian" if scalar is not None and scalar.order else ""


def _c_constants(ctx: Context, layout: lay.Layout) -> dict:
    return c_constants(ctx.spec, layout)


@lay.per_variant
def c_constants(spec: Spec, layout: lay.Layout) -> dict:
    """The constants the C headers define for this combination, by canonical name."""
    return {c.names.canonical: c for c in spec.constants
            if "c" in c.targets and c.names.canonical in layout.constants}


def c_int(value: int, suffix: str = "") -> str:
    """A C (and assembler) literal for `value`. C has no literal for INT64_MIN: `-9223372036854775808`
    is the negation of an unsigned constant, so it is spelled as an expression instead."""
    if value == ex.INT64_MIN:
        return f"(-{ex.INT64_MAX}{suffix} - 1)"
    return f"{value}{suffix}"


def c_constant(layout: lay.Layout, name: str) -> str:
    """A constant's value as a C expression of its C type (`4294967295U`, `18446744073709551615UL`)."""
    return cint.spelling(layout.constants[name], layout.constant_type(name))


def c_expr(ctx: Context, layout: lay.Layout, node: ex.Expr) -> str:
    """An expression in C, naming constants the header defines and spelling the rest as values."""
    visible = _c_constants(ctx, layout)

    def spell(n):
        if isinstance(n, ex.Num):
            return cint.spelling(n.value, n.ctype)
        if isinstance(n, ex.Ref) and n.name not in layout.constants and ctx.spec.param(n.name) is not None:
            return ctx.spec.param(n.name).c_macro  # a spec parameter: the header defines its macro
        if isinstance(n, ex.Ref):
            return visible[n.name].names.c if n.name in visible else c_constant(layout, n.name)
        if isinstance(n, ex.SizeOf):
            return f"{'_Alignof' if n.align else 'sizeof'}({struct_type(ctx.spec, n.struct)})"
        if isinstance(n, ex.OffsetOf):
            return f"offsetof({struct_type(ctx.spec, n.struct)}, {'.'.join(_c_field_path(ctx.spec, n))})"
        if isinstance(n, ex.Unary):
            return f"{n.op}({spell(n.operand)})"
        if isinstance(n, ex.Cond):
            return f"({spell(n.cond)} ? {spell(n.then)} : {spell(n.other)})"
        return f"({spell(n.left)} {n.op} {spell(n.right)})"

    return spell(node)


def _c_field_path(spec: Spec, node: ex.OffsetOf) -> list:
    struct, names = spec.struct(node.struct), []
    for name in node.field:
        field = next(m for m in spec.visible_members(struct) if isinstance(m, Field) and m.names.canonical == name)
        names.append(field.names.c)
        inner = field.type
        while hasattr(inner, "element"):
            inner = inner.element
        if isinstance(inner, StructRef):
            struct = spec.struct(inner.name)
    return names


def _length(ctx: Context, layout: lay.Layout, length_expr: ex.Expr, value: int) -> str:
    visible = _c_constants(ctx, layout)
    if isinstance(length_expr, ex.Ref) and length_expr.name in visible:
        return visible[length_expr.name].names.c
    return str(value)


# ---- sysmsg.h --------------------------------------------------------------


def _page_checks(ctx: Context) -> list:
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


def _constants(ctx: Context, layout: lay.Layout, asm: bool = False):
    """The constants' #define lines; for the offsets header (`asm`), a value whose C spelling
    needs a suffix gets a plain number when assembly includes it, as GNU as knows no suffixes."""
    for const in _c_constants(ctx, layout).values():
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


def _asm_constants(ctx: Context, layout: lay.Layout):
    return _constants(ctx, layout, asm=True)


_INT_MIN, _INT_MAX = -(1 << 31), (1 << 31) - 1


def enum_fits_int(enum_layout: lay.EnumLayout) -> bool:
    """ISO C enumerators must fit in int; an enum with a wider value is written as macros."""
    return all(_INT_MIN <= number <= _INT_MAX for _, number in enum_layout.values)


def _enums(ctx: Context, layout: lay.Layout):
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


def _structs(ctx: Context, layout: lay.Layout):
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


# ---- sysmsg_offsets.h ------------------------------------------------------


def _asm_enums(ctx: Context, layout: lay.Layout):
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
    for chain, offset in lay.nested_fields(layout, struct_name):
        c_path = [slot.field.names.c for slot in chain]
        spec_path = [slot.field.names.canonical for slot in chain]
        macro = naming.offset_macro([top] + [naming.macro_part(slot.field.names) for slot in chain])
        yield macro, offset, c_path, spec_path, chain[0].field.pos


def _offset_macros(ctx: Context, layout: lay.Layout):
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
    for chain, slot, base in lay.nested_bitfields(layout, struct_name):
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


def _region_macros(ctx: Context, layout: lay.Layout):
    """Per array region part: its start in the top region, its stride and its count; code
    reaches element i at offset + i * stride."""
    for laid in layout.regions:
        if laid.count is not None:
            offset, stride, count = naming.region_array_macros(_region_c_path(ctx.spec, laid.path))
            yield ".".join(laid.path), [f"#define {offset} {laid.offset}", f"#define {stride} {laid.stride}",
                                        f"#define {count} {laid.count}"]


def _region_c_path(spec: Spec, path: tuple) -> list:
    """The snake names along a region path (the names the IR keeps for C)."""
    region = next(r for r in spec.regions if r.names.canonical == path[0])
    names = [region.names.c]
    for name in path[1:]:
        region = next(p for p in region.parts if p.names.canonical == name)
        names.append(region.names.c)
    return names


# ---- layout test -----------------------------------------------------------


def _facts(ctx: Context, layout: lay.Layout) -> list:
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
    for const in _c_constants(ctx, layout).values():
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


def _system_member_names(spec: Spec) -> list:
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
    offset_macro, stride_macro, count_macro = naming.region_array_macros(_region_c_path(ctx.spec, path))
    return [
        (f"sizeof({held}) <= ({stride})", f"region {label}: {region.holds} fits its stride"),
        (f"({stride}) % _Alignof({held}) == 0", f"region {label}: the stride keeps {region.holds} aligned"),
        (f"{c_int(start)} % _Alignof({held}) == 0", f"region {label}: the first element is aligned"),
        (f"({count}) >= 1 && (unsigned long long)({count}) * ({stride}) <= ({size})", f"region {label}: every element fits the part"),
        (f"{offset_macro} == {c_int(start)} && {stride_macro} == ({stride}) && {count_macro} == ({count})",
         f"region {label}: the offsets header agrees"),
    ]
