"""The docs target: `docs/<name>.md` (a table per struct and arch, enums, constants and
regions; for a spec with parameters, one more table of every value that depends on them,
a column per combination) and the SVG diagrams it shows, all computed from the layouts.

It is registered in `pipeline.TARGETS` like a language target, so `layoutgen generate`
writes it and `layoutgen check` catches docs that drifted from the spec.
"""
from __future__ import annotations

from dataclasses import replace

from .. import cachelines
from .. import escape as esc
from .. import expr as ex
from .. import layout_types as lay
from ..targets.common import Context, render_template
from . import diagrams
from .common import bit_place, bit_type, c_pad_names, c_struct_type, spec_type

LANGUAGES = (("c", "C"), ("go", "Go"), ("python", "Python"))


def render(ctx: Context) -> dict:
    svg_banner = ctx.banner(esc.xml)
    name = ctx.spec.name
    files = {}
    for arch, layout in ctx.combinations.items():
        for struct in _named_structs(ctx.spec, layout):
            files[f"docs/{struct_svg_path(arch, struct)}"] = diagrams.struct_svg(layout, struct, svg_banner)
        for top in ctx.spec.regions:
            region = top.names.canonical
            files[f"docs/{region_svg_path(arch, region)}"] = diagrams.region_svg(layout, region, svg_banner)
    files[f"docs/{name}.md"] = render_template(
        "docs/spec.md.j2", banner=ctx.banner(esc.html_comment), spec_name=name,
        doc=esc.markdown_paragraphs(ctx.spec.doc), archs=", ".join(ctx.spec.archs),
        structs=_struct_models(ctx),
        enums=[_enum_model(ctx, enum) for enum in ctx.spec.enums],
        constant_archs=list(ctx.combinations), constants=[_constant_row(ctx, c) for c in ctx.spec.constants],
        regions=[_region_model(ctx, top) for top in ctx.spec.regions],
        params=[_param_row(param) for param in ctx.spec.params], differences=_differences(ctx))
    return files


def struct_svg_path(arch: str, struct: str) -> str:
    return f"svg/{arch}/struct_{struct}.svg"


def region_svg_path(arch: str, region: str) -> str:
    return f"svg/{arch}/region_{region}.svg"


def cell(text) -> str:
    """Generated text (never a spec's doc: see `prose`) safe in a Markdown table cell, code
    spans included: one line, pipes escaped."""
    return esc.one_line(text).replace("|", "\\|")


def prose(doc, fallback: str = "") -> str:
    """A spec's doc (or our `fallback` when it has none) as plain Markdown text on one line."""
    return esc.markdown_cell(doc or fallback)


# ---- structs ---------------------------------------------------------------


def _struct_models(ctx: Context) -> list:
    hidden = frozenset(s.names.canonical for s in ctx.spec.structs if s.anonymous)  # once, not per struct
    return [_struct_model(ctx, decl, hidden) for decl in ctx.spec.structs if not decl.anonymous]


def _struct_model(ctx: Context, decl, hidden: frozenset) -> dict:
    name = decl.names.canonical
    spellings = [f"{label} `{c_struct_type(ctx.spec, name) if lang == 'c' else decl.names.for_target(lang)}`"
                 for lang, label in LANGUAGES if lang in ctx.spec.targets]
    if decl.external:
        spellings.append(f"system type from `<{decl.external.include}>`")
    per_arch = [{"arch": arch, "size": layout.structs[name].size, "align": layout.structs[name].align,
                 "rows": _rows(layout, layout.structs[name], hidden), "svg": struct_svg_path(arch, name)}
                for arch, layout in ctx.combinations.items() if name in layout.structs]
    return {"name": name, "doc": prose(decl.doc), "spellings": " · ".join(spellings), "per_arch": per_arch}


def _named_structs(spec, layout: lay.Layout) -> list:
    """Every struct with a name of its own; an anonymous member's declaration is shown inside
    its parent's table instead."""
    return [name for name in layout.structs if not spec.struct(name).anonymous]


def _rows(layout: lay.Layout, struct: lay.StructLayout, hidden: frozenset, base: int = 0, depth: int = 0) -> list:
    """Table rows; `hidden` names the anonymous members' declarations (and so the members)."""
    pad_names = c_pad_names(struct)
    rows = []
    for slot in struct.slots:
        if isinstance(slot, lay.BitsSlot):
            rows.extend(_bit_rows(slot, base, depth))
            continue
        if isinstance(slot, lay.FieldSlot) and slot.field.anonymous:
            rows += _anonymous_rows(layout, slot, hidden, base, depth)
            continue
        if isinstance(slot, lay.FieldSlot):
            row = (f"`{spec_type(slot)}`", f"`{slot.field.names.canonical}`",
                   _with_writers(slot.field, prose(slot.field.doc)))
        elif isinstance(slot, lay.FlexSlot):
            row = (f"`{spec_type(slot)}`", f"`{slot.field.names.canonical}`",
                   prose(slot.field.doc, "Flexible array: its elements run to the end of the data."))
        elif isinstance(slot, lay.ReservedSlot):
            row = ("", "*(reserved)*", prose(slot.reserved.doc, "Reserved for later fields, kept zero."))
        elif isinstance(slot, lay.PadSlot):
            row = ("", f"*(padding)* `{pad_names[slot]}`", prose(slot.padding.doc, "Explicit padding, kept zero."))
        elif slot.tail:
            row = ("", "*(tail padding)*", f"Rounds the size up to a multiple of the alignment ({struct.align}).")
        else:
            after = "the anonymous member" if slot.after in hidden else f"`{slot.after}`"
            row = ("", "*(hole)*", f"Inserted by the C alignment rules after {after}.")
        rows.append({"offset": base + slot.offset, "size": slot.size, "type": row[0],
                     "field": "↳ " * depth + row[1], "doc": row[2]})
    return rows


def _anonymous_rows(layout: lay.Layout, slot: lay.FieldSlot, hidden: frozenset, base: int, depth: int) -> list:
    """A row for an anonymous struct or union, then its members (marked one level in) at their
    offsets in the outer struct, since C reaches them as the outer struct's own."""
    inner = layout.structs[slot.struct]
    kind = "union" if isinstance(inner, lay.UnionLayout) else "struct"
    head = {"offset": base + slot.offset, "size": slot.size, "type": f"*anonymous {kind}*",
            "field": "↳ " * depth + f"*(anonymous {kind})*",
            "doc": prose(slot.field.doc, "Its members below are reached as this struct's own.")}
    return [head] + _rows(layout, inner, hidden, base + slot.offset, depth + 1)


def _with_writers(field, doc: str) -> str:
    """A field's doc cell, opened by `*Written by stub, atomic.*` when the spec names who writes
    it (side names are checked identifiers; the cell escape keeps the discipline anyway)."""
    notes = [cachelines.describe(field.writers)] if field.writers else []
    notes += ["atomic"] if getattr(field, "atomic", False) else []
    if not notes:
        return doc
    text = cell(", ".join(notes))
    return " ".join(part for part in (f"*{text[0].upper()}{text[1:]}.*", doc) if part)


# How a byte:bit place counts: from each byte's least significant bit on little-endian
# arches, from its most significant on big-endian ones (where C allocates bits first).
_BIT_ORDER = {False: "byte:bit", True: "byte:bit, bit 0 the byte's most significant"}


def _bit_rows(slot: lay.BitsSlot, base: int, depth: int) -> list:
    """One row per named bitfield (offset as byte:bit, size in bits), then the unused bits;
    places count from the outer struct (`base`: where the run's struct starts in it)."""
    rows = []
    for f in (replace(f, unit_offset=base + f.unit_offset) for f in slot.fields):
        place = f"Bits {bit_place(f)} ({_BIT_ORDER[f.big_endian]})."
        rows.append({"offset": f"{f.first_bit // 8}:{f.first_bit % 8}", "size": f"{f.bits} bits",
                     "type": f"`{bit_type(f)}`", "field": "↳ " * depth + f"`{f.field.names.canonical}`",
                     "doc": _with_writers(f.field, prose(f.field.doc, place))})
    unused, start = sum(bits for _, bits in slot.padding_bits), base + slot.offset
    if unused:
        rows.append({"offset": start, "size": f"{unused} bits", "type": "", "field": "↳ " * depth + "*(padding bits)*",
                     "doc": f"Bits of bytes {start}..{start + slot.size - 1} no field holds, kept zero."})
    return rows


# ---- enums and constants ---------------------------------------------------


def _enum_model(ctx: Context, enum) -> dict:
    name = enum.names.canonical
    numbers = {arch: dict((v.names.canonical, n) for v, n in layout.enums[name].values)
               for arch, layout in ctx.combinations.items() if name in layout.enums}
    values = []
    for value in enum.values:
        per_arch = {arch: found[value.names.canonical] for arch, found in numbers.items()}
        distinct = sorted(set(per_arch.values()))
        shown = str(distinct[0]) if len(distinct) == 1 else ", ".join(f"{a}: {n}" for a, n in per_arch.items())
        values.append({"name": value.names.canonical, "c": value.names.c, "value": shown, "doc": prose(value.doc)})
    return {"name": name, "doc": prose(enum.doc), "base": enum.base.name, "archs": ", ".join(numbers),
            "members": values}


def _constant_row(ctx: Context, const) -> dict:
    name = const.names.canonical
    values = [str(layout.constants[name]) if name in layout.constants else "—"
              for layout in ctx.combinations.values()]
    if isinstance(const.value, tuple):
        source = "; ".join(f"{', '.join(sorted(archs))}: {ex.render(expr)}" for archs, expr in const.value)
    else:
        source = ex.render(const.value)
    plain = all(v == source for v in values if v != "—")
    return {"name": name, "per_arch": values, "source": "" if plain else f"`{cell(source)}`", "doc": prose(const.doc)}


# ---- regions ---------------------------------------------------------------


def _region_model(ctx: Context, top) -> dict:
    name = top.names.canonical
    per_arch = []
    for arch, layout in ctx.combinations.items():
        rows = [{"path": ".".join(r.path), "depth": len(r.path) - 1, "offset": r.offset, "end": r.offset + r.size,
                 "size": r.size, "holds": f"`{r.contents}`" if r.holds else "", "doc": prose(r.region.doc)}
                for r in layout.regions if r.path[0] == name]
        per_arch.append({"arch": arch, "rows": rows, "svg": region_svg_path(arch, name)})
    return {"name": name, "doc": prose(top.doc), "per_arch": per_arch}


# ---- parameters ------------------------------------------------------------


def _param_row(param) -> dict:
    return {"name": param.name, "choices": ", ".join(str(v) for v in param.values), "default": param.default,
            "c": param.c_macro, "doc": prose(param.doc)}


def _differences(ctx: Context) -> dict:
    """Every value of `_facts` that differs between combinations of the same arch: a row with
    one cell per combination ("—" where the thing does not exist)."""
    if not ctx.spec.params:
        return {}
    facts = {key: _facts(layout) for key, layout in ctx.combinations.items()}
    rows = []
    for label in dict.fromkeys(label for found in facts.values() for label in found):
        per_arch: dict = {}
        for key, layout in ctx.combinations.items():
            per_arch.setdefault(layout.variant.arch, set()).add(facts[key].get(label))
        if any(len(values) > 1 for values in per_arch.values()):
            rows.append({"label": label, "cells": [found.get(label, "—") for found in facts.values()]})
    return {"combinations": list(facts), "rows": rows}


def _facts(layout: lay.Layout) -> dict:
    """Label -> value of what a layout fixes: constants, struct sizes and alignments, member
    offsets and sizes, region offsets and sizes."""
    facts = {f"`{name}`": value for name, value in layout.constants.items()}
    for name, struct in layout.structs.items():
        facts[f"`{name}` size"], facts[f"`{name}` alignment"] = struct.size, struct.align
        for slot in struct.named:
            member = f"`{name}.{slot.field.names.canonical}`"
            facts[f"{member} offset"], facts[f"{member} size"] = slot.offset, slot.size
    for region in layout.regions:
        path = ".".join(region.path)
        facts[f"`{path}` offset"], facts[f"`{path}` size"] = region.offset, region.size
    return facts
