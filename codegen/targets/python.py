"""Python target: a package of construct parsers, one module per arch, with type stubs.

Each struct is generated three ways from the same layout: a field-by-field construct
Struct (the reference, made here), a fast construct object that unpacks the whole struct
with one precompiled `struct.Struct` into a value class of its own, and a zero-copy view
class (both in `python_fast`); plus a numpy dtype table. The runtime the modules import
is a real module, `templates/python/_runtime.py`, copied into each package as it is.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from .. import escape as esc
from .. import expr as ex
from .. import layout_types as lay
from ..layout_walk import nested_fields
from ..errors import fail
from ..primitives import ARCHS, PRIMITIVES
from . import python_bits
from .python_fast import fast_model, fixed_slots, gap_label, label, reference_name, view_hints, visible_names
from .common import Context, render_template, struct_order, then_change




@dataclass(frozen=True)
class _Constant:
    name: str
    value: str
    comment: str
    doc: tuple


def render(ctx: Context) -> dict:
    package = ctx.spec.name
    banner = ctx.banner(esc.python_comment)
    files = {}
    for key, layout in ctx.combinations.items():  # one module per arch and parameter values
        model = _arch_model(ctx, layout)
        files[f"python/{package}/{key}.py"] = render_template("python/arch.py.j2", banner=banner, **model)
        files[f"python/{package}/{key}.pyi"] = render_template("python/arch.pyi.j2", banner=banner, **model)
    hashed = "".join(f"# {line}\n" for line in banner)
    files[f"python/{package}/_runtime.py"] = _runtime_copy("_runtime.py", hashed)
    files[f"python/{package}/_runtime.pyi"] = _runtime_copy("_runtime.pyi", hashed)
    # The runtime's optional compiled half (`pip install` builds it where a compiler is; see python_package.py).
    starred = "/*\n" + "".join(f" * {line}\n" for line in ctx.banner(esc.c_comment)) + " */\n"
    files[f"python/{package}/_speedups.c"] = _runtime_copy("_speedups.c", starred)
    if any(python_bits.has_bits(layout) for layout in ctx.layouts.values()):
        files[f"python/{package}/_bits.py"] = _runtime_copy("_bits.py", hashed)
    files[f"python/{package}/native.py"] = render_template(
        "python/native.py.j2", banner=banner,
        machines=[(machine, arch) for arch in ctx.spec.archs for machine in ARCHS[arch].machines])
    files[f"python/{package}/native.pyi"] = "\n".join(
        ["# " + line for line in banner] + [f"from .{ctx.spec.archs[0]} import *", ""])
    files[f"python/{package}/__init__.py"] = render_template(
        "python/__init__.py.j2", banner=banner, doc=esc.python_docstring(ctx.spec.doc) or f"Parsers for {package}.",
        package=package, arch_list=", ".join(ctx.combinations),
        arch_modules=", ".join(f"`{package}.{a}`" for a in ctx.combinations),
        arch_tuple="".join(f'"{a}", ' for a in ctx.spec.archs).rstrip(" "), digest=ctx.spec.digest)
    files[f"python/{package}/py.typed"] = ""
    files[f"python/tests/test_{package}_layout.py"] = render_template(
        "python/test_layout.py.j2", banner=banner, package=package,
        facts=[(key, layout_facts(ctx, layout)) for key, layout in ctx.combinations.items()],
        flexible=any(s.tail_start is not None for layout in ctx.layouts.values() for s in layout.structs.values()),
        bits=any(python_bits.has_bits(layout) for layout in ctx.layouts.values()),
        constants=[(arch, [(c.names.python, layout.constants[c.names.canonical])
                           for c in ctx.spec.constants
                           if "python" in c.targets and c.names.canonical in layout.constants])
                   for arch, layout in ctx.combinations.items()])
    return files


# The runtime modules every generated package gets a copy of: real, importable Python files
# (shipped as package data with the templates), copied verbatim under the banner.
_RUNTIME_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "templates", "python")


def _runtime_copy(name: str, banner: str) -> str:
    """The runtime file `name` as it is, under `banner` (already in the file's comment syntax)."""
    with open(os.path.join(_RUNTIME_DIR, name), encoding="utf-8") as source:
        return banner + source.read()


def layout_facts(ctx: Context, layout: lay.Layout) -> list:
    """Per struct: its size and the offset of every field, nested fields as dotted paths."""
    facts = []
    for struct in struct_order(layout):
        offsets = [(".".join(slot.field.names.python for slot in chain), offset)
                   for chain, offset in nested_fields(layout, struct.name)]
        offsets += python_bits.frozen_offsets(layout, struct.name)
        facts.append({"name": ctx.spec.struct(struct.name).names.python, "size": struct.size, "offsets": offsets,
                      "fixed": struct.tail_start, "bits": python_bits.frozen_bits(layout, struct.name)})
    return facts


def _arch_model(ctx: Context, layout: lay.Layout) -> dict:
    spec = ctx.spec
    constants = [
        _Constant(c.names.python, str(layout.constants[c.names.canonical]),
              _expr_comment(c, layout), tuple(esc.python_comment_lines(c.doc)))
        for c in spec.constants if "python" in c.targets and c.names.canonical in layout.constants
    ]
    enums = [_enum_model(enum_layout) for enum_layout in layout.enums.values()]
    uses: set = set()  # optional names the module's text uses, noted as it is made
    structs = [_struct_model(spec, layout, s, uses) for s in struct_order(layout)]
    fast = fast_model(spec, layout, uses)
    exports = [c.name for c in constants] + [e["name"] for e in enums] + [s["name"] for s in structs]
    exports += ["SIZES", "ARCH", "dtype"]
    where = layout.variant.arch
    if spec.params:
        where += " with " + ", ".join(f"{name} = {value}" for name, value in layout.variant.params)
    return {
        "arch": layout.variant.arch,
        "params": list(layout.variant.params),
        "module_doc": f"Layouts of {spec.name} on {where}: constants, enums and construct structs.",
        "constants": constants,
        "enums": enums,
        "structs": structs,
        "exports": exports + _class_names(spec, structs, exports, "View")
                   + _class_names(spec, structs, exports, "Value"),
        **fast,
        "extra_imports": _extra_imports(uses, fast),
        "then_change": then_change(spec, f"python/{spec.name}/{layout.variant.key}.py"),
        "bit_imports": python_bits.imports(layout),
    }


# Names the arch modules import only when some struct needs them (so a spec without
# unions, flexible arrays or byte orders imports exactly what it always did).
_RUNTIME_CLASSES = ("FastUnion", "FixedUnion", "FlexStruct")
_RUNTIME_HELPERS = {
    "_swapped": "swapped", "_swapped_items": "swapped_items", "_pack_swapped": "pack_swapped",
    "_pack_swapped_items": "pack_swapped_items", "_flex_bytes": "flex_bytes", "_flex_items": "flex_items",
    "_flex_structs": "flex_structs", "_flex_pack_bytes": "flex_pack_bytes", "_flex_pack_items": "flex_pack_items",
    "_flex_pack_structs": "flex_pack_structs", "_flex_view": "flex_property",
    "_flex_structs_view": "flex_structs_property", "_WideInts": "WideInts", "_WideScalar": "WideScalar",
    "_int_from": "int_from_bytes", "_fill": "fill", "_Parser": "Parser",
}
_CONSTRUCT_EXTRA = ("BytesInteger", "GreedyBytes", "GreedyRange", "Int16sb", "Int16ub", "Int32sb", "Int32ub", "Int64sb", "Int64ub")


def _extra_imports(uses: set, fast: dict) -> list:
    """Import lines for the optional runtime pieces the generated text uses: `uses`, noted
    by the code that wrote each use, and the kinds of struct the module has."""
    def used(name: str) -> bool:
        return name in uses
    lines = []
    construct_names = [name for name in _CONSTRUCT_EXTRA if used(name)]
    if construct_names:
        lines.append(f"from construct import {', '.join(construct_names)}")
    anonymous = [name for name in ("Anonymous", "Flattened") if used(name)]
    if anonymous:
        lines.append(f"from ._runtime import {', '.join(anonymous)}")
    kinds = {entry["kind"] for entry in fast["fast"]}
    classes = [name for name, kind in zip(_RUNTIME_CLASSES, ("union", "union", "flexible")) if kind in kinds]
    if classes:
        lines.append(f"from ._runtime import {', '.join(classes)}")
    lines += [f"from ._runtime import {name} as {alias}" for alias, name in sorted(_RUNTIME_HELPERS.items())
              if used(alias)]
    return lines


def _enum_model(enum_layout: lay.EnumLayout) -> dict:
    enum = enum_layout.enum
    members = [{"name": value.names.python, "value": number, "doc": esc.python_comment(value.doc)}
               for value, number in enum_layout.values]
    return {"name": enum.names.python, "doc": esc.python_docstring(enum.doc) or enum.names.python, "members": members}


def _class_names(spec, structs: list, exports: list, suffix: str) -> list:
    """`MsgView` (or `MsgValue`) for `Msg`; refused when that name is already taken by
    another export."""
    names = [s["name"] + suffix for s in structs]
    taken = set(exports)  # a set: a list here made this quadratic in the number of structs
    for name in names:
        if name in taken:
            decl = next(d for d in spec.structs if d.names.python + suffix == name)
            kind = "view" if suffix == "View" else "value"
            raise fail(decl.pos, f"the Python {kind} class {name} clashes with another generated name",
                       "rename one of them for Python with `python:`")
    return names


def _expr_comment(const, layout) -> str:
    source = const.expr_for(layout.variant)
    if isinstance(source, ex.Num):
        return ""
    return "  # " + esc.python_comment(ex.render(source))


def _struct_model(spec, layout: lay.Layout, struct: lay.StructLayout, uses: set) -> dict:
    decl = spec.struct(struct.name)
    union = isinstance(struct, lay.UnionLayout)
    items, fields, anonymous = [], [], []
    for slot in fixed_slots(layout, struct):
        if isinstance(slot, lay.FieldSlot) and slot.field.anonymous:
            inner = spec.struct(slot.struct).names.python
            anonymous.append(inner)
            names = visible_names(layout, slot.struct)
            uses.add("Anonymous")
            items.append(f'"{inner}" / Anonymous({reference_name(inner)}, {names}),  # offset {slot.offset}, '
                         f'size {slot.size}, anonymous')
            fields += _struct_model(spec, layout, layout.structs[slot.struct], uses)["fields"]
        elif isinstance(slot, (lay.FieldSlot, lay.FlexSlot)):
            names = slot.field.names
            doc = esc.python_comment(slot.field.doc)
            if doc:
                items.append(f"# {doc}")
            size = "flexible array" if isinstance(slot, lay.FlexSlot) else f"size {slot.size}"
            items.append(f'"{names.python}" / {_construct(spec, layout, slot, uses)},  # offset {slot.offset}, {size}')
            getter, setter = view_hints(spec, slot, layout)
            fields.append({"name": names.python, "hint": _hint(spec, layout, slot),
                           "view_get": getter, "view_set": setter})
        elif isinstance(slot, lay.BitsSlot):
            python_bits.describe(spec, slot, items, fields)
        elif not union:  # a union's reserved space and tail padding are only its size
            items.append(f'Gap({slot.size}, "{gap_label(slot)}"),  # offset {slot.offset}')
    if anonymous:
        uses.add("Flattened")
    summary = f"{struct.size} bytes, aligned to {struct.align}."
    if union:
        summary += " A union: every member starts at offset 0."
    return {"name": decl.names.python, "reference": reference_name(decl.names.python),
            "label": label(spec, layout, struct.name), "doc": esc.python_comment_lines(decl.doc) + [summary],
            "body": items, "fields": fields, "size": struct.size,
            "opener": (f"Flattened({tuple(anonymous)}, " if anonymous else "")
                      + (f"FixedUnion({struct.size}," if union else "Struct("),
            "closer": ")" * (3 if anonymous else 2)}


def _element(spec, layout, slot, uses: set) -> str:
    if slot.struct is not None:
        return reference_name(spec.struct(slot.struct).names.python)
    prim = PRIMITIVES[slot.scalar.prim]
    integer = _construct_integer(layout, slot.scalar, uses)
    if slot.scalar.enum is not None:
        return f"EnumField({integer}, {spec.enum(slot.scalar.enum).names.python})"
    if prim.is_bool:
        return f"Flag({integer})"
    return integer


def _construct_integer(layout: lay.Layout, scalar: lay.Scalar, uses: set) -> str:
    """construct's integer class for a scalar: the table's little-endian name (`Int16ul`),
    its big-endian twin (`Int16ub`) when the spec or the arch stores it that way; a 128-bit
    one is a BytesInteger, which construct stores big-endian unless `swapped`."""
    prim = PRIMITIVES[scalar.prim]
    name = prim.construct
    little = ARCHS[layout.variant.arch].little_endian != scalar.swapped(layout.variant.arch)
    if prim.wide:
        uses.add(name)
        return f"{name}({prim.size}, signed={prim.signed}, swapped={little})"
    if little or name.startswith("Int8"):
        return name
    uses.add(name[:-1] + "b")
    return name[:-1] + "b"


def _construct(spec, layout, slot, uses: set) -> str:
    element = _element(spec, layout, slot, uses)
    if isinstance(slot, lay.FlexSlot):
        if element == "Int8ul" and not slot.dims:
            uses.add("GreedyBytes")
            return "GreedyBytes"
        uses.add("GreedyRange")
        if element == "Int8ul" and len(slot.dims) == 1:
            return f"GreedyRange(Bytes({slot.dims[0]}))"
        for length in reversed(slot.dims):
            element = f"Array({length}, {element})"
        return f"GreedyRange({element})"
    if not slot.shape:
        return element
    if element == "Int8ul" and len(slot.shape) == 1:
        return f"Bytes({slot.shape[0]})"
    for length in reversed(slot.shape):
        element = f"Array({length}, {element})"
    return element


def _hint(spec, layout, slot) -> str:
    if isinstance(slot, lay.FlexSlot):
        if slot.struct is None and slot.scalar.prim == "u8" and slot.scalar.enum is None and len(slot.dims) <= 1:
            return "bytes" if not slot.dims else "List[bytes]"
        element = _hint(spec, layout, lay.FieldSlot(slot.field, 0, 0, 0, 1, slot.dims, slot.scalar, slot.struct))
        return f"List[{element}]"
    if slot.struct is not None:
        hint = spec.struct(slot.struct).names.python + "Value"
    elif slot.scalar.enum is not None:
        hint = f"Union[{spec.enum(slot.scalar.enum).names.python}, int]"
    elif PRIMITIVES[slot.scalar.prim].is_bool:
        hint = "Union[bool, int]"
    else:
        hint = "int"
    if slot.shape and hint == "int" and slot.scalar.prim == "u8" and len(slot.shape) == 1:
        return "bytes"
    for _ in slot.shape:
        hint = f"List[{hint}]"
    return hint
