"""Python target: a package of construct parsers, one module per arch, with type stubs.

Each struct is generated three ways from the same layout: a field-by-field construct
Struct (the reference), a fast construct object that unpacks the whole struct with one
precompiled `struct.Struct`, and a zero-copy view class; plus a numpy dtype table.
"""
from __future__ import annotations

import json
import os
import re
import struct as pystruct
from dataclasses import dataclass, replace

from .. import escape as esc
from .. import expr as ex
from .. import layout as lay
from ..errors import fail
from ..primitives import ARCHS, PRIMITIVES
from . import python_bits
from .common import Context, render_template, struct_order, then_change

_MACHINES = {"amd64": ("x86_64", "amd64"), "arm64": ("aarch64", "arm64")}


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
    files[f"python/{package}/_runtime.py"] = _runtime_copy("_runtime.py", banner)
    files[f"python/{package}/_runtime.pyi"] = _runtime_copy("_runtime.pyi", banner)
    if any(python_bits.has_bits(layout) for layout in ctx.layouts.values()):
        files[f"python/{package}/_bits.py"] = _runtime_copy("_bits.py", banner)
    files[f"python/{package}/native.py"] = render_template(
        "python/native.py.j2", banner=banner,
        machines=[(machine, arch) for arch in ctx.spec.archs for machine in _MACHINES[arch]])
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
        facts=[(key, _layout_facts(ctx, layout)) for key, layout in ctx.combinations.items()],
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


def _runtime_copy(name: str, banner: list) -> str:
    with open(os.path.join(_RUNTIME_DIR, name), encoding="utf-8") as source:
        return "".join(f"# {line}\n" for line in banner) + source.read()


def _layout_facts(ctx: Context, layout: lay.Layout) -> list:
    """Per struct: its size and the offset of every field, nested fields as dotted paths."""
    facts = []
    for struct in struct_order(layout):
        offsets = [(".".join(slot.field.names.python for slot in chain), offset)
                   for chain, offset in lay.nested_fields(layout, struct.name)]
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
    structs = [_struct_model(spec, layout, s) for s in struct_order(layout)]
    fast = _fast_model(spec, layout)
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
        "exports": exports + _class_names(spec, structs, exports, "View") + _class_names(spec, structs, exports, "Value"),
        **fast,
        "extra_imports": _extra_imports(structs, fast),
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
    "_int_from": "int_from_bytes",
}
_CONSTRUCT_EXTRA = ("BytesInteger", "GreedyBytes", "GreedyRange", "Int16sb", "Int16ub", "Int32sb", "Int32ub", "Int64sb", "Int64ub")


def _extra_imports(structs: list, fast: dict) -> list:
    """Import lines for the optional runtime pieces the generated text uses."""
    text = json.dumps([structs, fast["fast"], fast["swaps"], fast["codecs"]])
    # One pass collects every name the text uses (not an attribute after a dot), so the
    # cost does not grow with the number of optional pieces times the spec's size.
    names = set(re.findall(r"(?<![\w.])[A-Za-z_]\w*", text))

    def used(name: str) -> bool:
        return name in names
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
    for name in names:
        if name in exports:
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


def _label(spec, layout: lay.Layout, name: str) -> str:
    """How errors name a struct: its Python name, or for an anonymous member's declaration
    (whose generated name means nothing to the user) what C calls it."""
    if not spec.struct(name).anonymous:
        return spec.struct(name).names.python
    return "(anonymous union)" if isinstance(layout.structs[name], lay.UnionLayout) else "(anonymous struct)"


def _struct_model(spec, layout: lay.Layout, struct: lay.StructLayout) -> dict:
    decl = spec.struct(struct.name)
    union = isinstance(struct, lay.UnionLayout)
    items, fields, anonymous = [], [], []
    for slot in _fixed_slots(layout, struct):
        if isinstance(slot, lay.FieldSlot) and slot.field.anonymous:
            inner = spec.struct(slot.struct).names.python
            anonymous.append(inner)
            names = _visible_names(layout, slot.struct)
            items.append(f'"{inner}" / Anonymous({_reference_name(inner)}, {names}),  # offset {slot.offset}, '
                         f'size {slot.size}, anonymous')
            fields += _struct_model(spec, layout, layout.structs[slot.struct])["fields"]
        elif isinstance(slot, (lay.FieldSlot, lay.FlexSlot)):
            names = slot.field.names
            doc = esc.python_comment(slot.field.doc)
            if doc:
                items.append(f"# {doc}")
            size = "flexible array" if isinstance(slot, lay.FlexSlot) else f"size {slot.size}"
            items.append(f'"{names.python}" / {_construct(spec, layout, slot)},  # offset {slot.offset}, {size}')
            getter, setter = _view_hints(spec, slot)
            fields.append({"name": names.python, "hint": _hint(spec, layout, slot),
                           "view_get": getter, "view_set": setter})
        elif isinstance(slot, lay.BitsSlot):
            python_bits.describe(spec, slot, items, fields)
        elif not union:  # a union's reserved space and tail padding are only its size
            items.append(f'Gap({slot.size}, "{_gap_label(slot)}"),  # offset {slot.offset}')
    summary = f"{struct.size} bytes, aligned to {struct.align}."
    if union:
        summary += " A union: every member starts at offset 0."
    return {"name": decl.names.python, "reference": _reference_name(decl.names.python),
            "label": _label(spec, layout, struct.name), "doc": esc.python_comment_lines(decl.doc) + [summary],
            "body": items, "fields": fields, "size": struct.size,
            "opener": (f"Flattened({tuple(anonymous)}, " if anonymous else "")
                      + (f"FixedUnion({struct.size}," if union else "Struct("),
            "closer": ")" * (3 if anonymous else 2)}


def _visible_names(layout: lay.Layout, name: str) -> tuple:
    """The Python names of every member a name reaches in a struct (its anonymous members'
    included), bitfields too: the keys an anonymous member adds to its parent's mapping."""
    names = [s.field.names.python for s, _ in lay.visible_slots(layout.structs, name)]
    return tuple(names + [f.field.names.python for f in lay.visible_bitfields(layout.structs, name)])


def _fixed_slots(layout: lay.Layout, struct: lay.StructLayout) -> list:
    """The slots a parser walks: all of them, except that nothing follows a flexible array
    (its own, or one at the end of the last field's struct): the tail padding C counts
    after it is where the array's elements go."""
    found = []
    for slot in struct.slots:
        found.append(slot)
        if isinstance(slot, lay.FlexSlot) or (
                isinstance(slot, lay.FieldSlot) and slot.struct is not None and not slot.shape
                and layout.structs[slot.struct].tail_start is not None):
            break
    return found


def _element(spec, layout, slot) -> str:
    if slot.struct is not None:
        return _reference_name(spec.struct(slot.struct).names.python)
    prim = PRIMITIVES[slot.scalar.prim]
    integer = _construct_integer(layout, slot.scalar)
    if slot.scalar.enum is not None:
        return f"EnumField({integer}, {spec.enum(slot.scalar.enum).names.python})"
    if prim.is_bool:
        return f"Flag({integer})"
    return integer


def _construct_integer(layout: lay.Layout, scalar: lay.Scalar) -> str:
    """construct's integer class for a scalar: the table's little-endian name (`Int16ul`),
    its big-endian twin (`Int16ub`) when the spec or the arch stores it that way; a 128-bit
    one is a BytesInteger, which construct stores big-endian unless `swapped`."""
    prim = PRIMITIVES[scalar.prim]
    name = prim.construct
    little = ARCHS[layout.variant.arch].little_endian != scalar.swapped(layout.variant.arch)
    if prim.wide:
        return f"{name}({prim.size}, signed={prim.signed}, swapped={little})"
    return name if little or name.startswith("Int8") else name[:-1] + "b"


def _reference_name(python_name: str) -> str:
    """The module-private name of a struct's field-by-field construct Struct."""
    return f"_{python_name}_fields"


def _construct(spec, layout, slot) -> str:
    element = _element(spec, layout, slot)
    if isinstance(slot, lay.FlexSlot):
        if element == "Int8ul" and not slot.dims:
            return "GreedyBytes"
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


# ---- the fast path: one struct.Struct per struct, views, numpy dtypes ----

# Attributes of the generated view classes that a field's property must not shadow.
_VIEW_API = frozenset({"unpack", "pack", "at", "SIZE", "PARSER"})


def _fast_model(spec, layout: lay.Layout) -> dict:
    """Everything the arch module needs beyond the field-by-field structs."""
    order = "<" if ARCHS[layout.variant.arch].little_endian else ">"
    enums = [spec.enum(name).names.python for name in layout.enums]
    swaps: dict = {}  # name -> packer of scalars read as bytes (other byte order, or 128-bit)
    structs = [_fast_entry(spec, layout, s, order, swaps) for s in struct_order(layout)]
    scalars = {slot.scalar for s in layout.structs.values() for slot in s.named if slot.scalar is not None}
    codecs = {_codec_name(scalar, layout): (scalar.prim, _scalar_order(scalar, layout)) for scalar in scalars}
    return {
        "enum_names": enums,
        "fast": structs,
        "codecs": [{"name": name, "make": _codec_maker(PRIMITIVES[prim], byte_order)}
                   for name, (prim, byte_order) in sorted(codecs.items(),
                                                          key=lambda item: (PRIMITIVES[item[1][0]].size, item[0]))],
        "swaps": sorted(swaps.items()),
        "dtypes": [_dtype_entry(spec, layout, s, order) for s in struct_order(layout)],
    }


def _codec_maker(prim, order: str) -> str:
    """How the views read and write one primitive type in one byte order."""
    if prim.wide:
        return f'_WideScalar("{prim.name}", "{order}", {prim.signed}, {prim.min}, {prim.max})'
    return f'_Scalar("{prim.name}", "{order}", "{prim.struct_code}", {prim.min}, {prim.max})'


def _ints_maker(prim, order: str, count: str) -> tuple:
    """(module-level name, constructor) of the packer for `count` scalars ("" for a lone one)
    read as bytes: a `struct.Struct`, or for 128-bit integers (no `struct` code) a `WideInts`,
    which has the same interface."""
    if prim.wide:
        name = f"_WIDE_{'BE' if order == '>' else 'LE'}_{count}{prim.name.upper()}"
        return name, f'_WideInts("{order}", {prim.signed}, {count or 1})'
    name = f"_SWAP_{'BE' if order == '>' else 'LE'}_{count}{prim.struct_code}"
    return name, f'_Struct("{order}{count}{prim.struct_code}")'


def _scalar_order(scalar: lay.Scalar, layout: lay.Layout) -> str:
    """The `struct` byte-order character a scalar is stored with on this arch."""
    little = ARCHS[layout.variant.arch].little_endian != scalar.swapped(layout.variant.arch)
    return "<" if little else ">"


def _codec_name(scalar: lay.Scalar, layout: lay.Layout) -> str:
    """`_u16` for the arch's own byte order; `_u16_be` (or `_le`) for a field the spec
    stores the other way."""
    if not scalar.swapped(layout.variant.arch):
        return f"_{scalar.prim}"
    return f"_{scalar.prim}_{'be' if scalar.order == 'big' else 'le'}"


class _Flattener:
    """Walks one struct's layout, nested structs inline, collecting the flat `struct`
    format, the Container expression that rebuilds the value from the unpacked tuple `v`,
    and the expressions that flatten a mapping back into that tuple.

    A union field is read whole (`Ns`) and decoded by the union's own parser; a scalar
    stored in the other byte order is read as bytes and converted; a flexible array ends
    the format, and its expressions read the rest of the buffer (`tail`)."""

    def __init__(self, spec, layout: lay.Layout, swaps: dict):
        self.spec, self.layout = spec, layout
        self.swaps = swaps  # shared by the module: name -> packer of scalars read as bytes
        self.pieces: list = []  # struct format items, in offset order
        self.index = 0  # position in the unpacked tuple
        self.binds: list = []  # local assignments of the `values` function
        self.values: list = []  # items of the tuple the `values` function returns
        self.raw: dict = {}  # index in `values` -> the item the fast pack passes unconverted
        self.tail = None  # the pack expression of a flexible array, once walked

    def walk(self, name: str, label: str, source: str, base: int = 0) -> list:
        """Lines `field=expr,` of the Container for struct `name`, read from tuple `v`."""
        lines = []
        for slot in _fixed_slots(self.layout, self.layout.structs[name]):
            if isinstance(slot, lay.BitsSlot):
                lines += python_bits.flatten(self, slot, label, source)
                continue
            if not isinstance(slot, (lay.FieldSlot, lay.FlexSlot)):
                self.pieces.append(f"{slot.size}x")
                continue
            field = slot.field.names.python
            where = f"{label} -> {field}"
            get = f"{source}[{field!r}]"
            if isinstance(slot, lay.FieldSlot) and slot.field.anonymous:
                lines += self.anonymous(slot, label, source, base)
            elif isinstance(slot, lay.FlexSlot):
                expr, self.tail = self.flex(slot, base + slot.offset, where, get)
                lines.append(f"{field}={expr},")
            elif slot.struct is not None and not slot.shape and not self.is_union(slot.struct):
                inner = self.spec.struct(slot.struct).names.python
                local = f"o{len(self.binds) + 1}"
                self.binds.append(f"{local} = {get}")
                lines.append(f"{field}={inner}Value(")
                lines += ["    " + line for line in self.walk(slot.struct, f"{where} -> {inner}", local,
                                                               base + slot.offset)]
                lines.append("),")
            else:
                expr, value = self.leaf(slot, where, get)
                lines.append(f"{field}={expr},")
                if self.struct_takes_raw(slot):
                    self.raw[len(self.values)] = get
                self.values.append(value)
        return lines

    def struct_takes_raw(self, slot: lay.FieldSlot) -> bool:
        """Whether `struct` itself takes what a mapping holds for a scalar whose `values`
        item converts it (an enum member or int, a bool): the fast pack passes it as is and
        leaves names and other values to the converting path, which it falls back to."""
        return (slot.struct is None and not slot.shape and not PRIMITIVES[slot.scalar.prim].wide
                and not slot.scalar.swapped(self.layout.variant.arch)
                and python_bits.scalar_converters(self.spec, slot.scalar)[0] is not None)

    def fast_values(self) -> list:
        """The items the fast pack passes to `struct`: `values`, less the conversions."""
        return [self.raw.get(index, value) for index, value in enumerate(self.values)]

    def anonymous(self, slot: lay.FieldSlot, where: str, source: str, base: int) -> list:
        # `where` names the parent only: the member has no name, its union labels itself.
        """An anonymous member's lines: a struct's fields inline, read from and built into the
        parent's mapping; a union unpacked by its own parser and merged into the parent's."""
        inner = self.spec.struct(slot.struct).names.python
        if not self.is_union(slot.struct):
            return self.walk(slot.struct, f"{where} -> (anonymous struct)", source, base + slot.offset)
        at = self.take(f"{slot.size}s", 1)
        self.values.append(f"{inner}.pack_anonymous({source}, path + {' -> ' + where!r})")  # `where`: the parent
        return [f"**{inner}._unpack(v[{at}]),"]

    def is_union(self, name: str) -> bool:
        return isinstance(self.layout.structs[name], lay.UnionLayout)

    def take(self, piece: str, count: int) -> int:
        """Append a format item that unpacks to `count` values; returns the first one's index."""
        start = self.index
        self.pieces.append(piece)
        self.index += count
        return start

    def leaf(self, slot: lay.FieldSlot, where: str, get: str) -> tuple:
        """(unpack expression, pack expression) of a scalar, scalar array, union or struct array."""
        shape = tuple(slot.shape)
        if slot.struct is not None:
            inner = self.spec.struct(slot.struct).names.python
            at = self.take(f"{slot.size}s", 1)
            if not shape:  # a union, decoded by its own parser
                return f"{inner}._unpack(v[{at}])", f"{inner}.pack({get}, path + {' -> ' + where!r})"
            return (f"_struct_array({inner}, v[{at}], {shape})",
                    f"_pack_structs({inner}, {get}, {shape}, path, {where!r})")
        prim = PRIMITIVES[slot.scalar.prim]
        decode, encode = python_bits.scalar_converters(self.spec, slot.scalar)
        if slot.scalar.swapped(self.layout.variant.arch) or prim.wide:
            return self.swapped(slot, where, get, decode, encode)
        if not shape:
            at = self.take(prim.struct_code, 1)
            expr = f"v[{at}]" if decode is None else f"{decode}(v[{at}], v[{at}])"
            return expr, get if encode is None else f"{encode}({get}, path, {where!r})"
        if _is_bytes(slot):
            at = self.take(f"{slot.count}s", 1)
            return f"v[{at}]", f"_exact_bytes({get}, {slot.count}, path, {where!r})"
        at = self.take(f"{slot.count}{prim.struct_code}", slot.count)
        values = f"v[{at}:{at + slot.count}]"
        if len(shape) == 1 and decode is None:
            return f"ListContainer({values})", f"*_items({get}, {slot.count}, path, {where!r})"
        return (f"_shaped({values}, {shape}, {decode})",
                f"*_flat_items({get}, {shape}, path, {where!r}, {encode})")

    def swapped(self, slot: lay.FieldSlot, where: str, get: str, decode, encode) -> tuple:
        """A scalar (array) in the other byte order, or 128 bits wide: read as bytes, converted
        by a packer of its own."""
        shape = tuple(slot.shape)
        order = _scalar_order(slot.scalar, self.layout)
        layout, maker = _ints_maker(PRIMITIVES[slot.scalar.prim], order, str(slot.count) if shape else "")
        self.swaps[layout] = maker
        at = self.take(f"{slot.size}s", 1)
        prim = PRIMITIVES[slot.scalar.prim]
        if prim.wide and not shape:  # inline: a call through WideInts would cost 3x more
            byteorder = "little" if order == "<" else "big"
            return (f"_int_from(v[{at}], {byteorder!r}, signed={prim.signed})",
                    f"_pack_swapped({layout}, {get}, path, {where!r}, {encode})")
        if not shape:
            return (f"_swapped({layout}, v[{at}], {decode})",
                    f"_pack_swapped({layout}, {get}, path, {where!r}, {encode})")
        return (f"_swapped_items({layout}, v[{at}], {shape}, {decode})",
                f"_pack_swapped_items({layout}, {get}, {shape}, path, {where!r}, {encode})")

    def flex(self, slot: lay.FlexSlot, at: int, where: str, get: str) -> tuple:
        """(unpack expression, pack expression) of a flexible array `at` bytes into the struct."""
        start = f"offset + {at}"
        if slot.struct is not None:
            inner = self.spec.struct(slot.struct).names.python
            dims = tuple(slot.dims)
            return (f"_flex_structs({inner}, buffer, {start}, {dims})",
                    f"_flex_pack_structs({inner}, {get}, path, {where!r}, {dims})")
        scalar = slot.scalar
        if scalar.prim == "u8" and scalar.enum is None and not slot.dims:
            return f"_flex_bytes(buffer, {start})", f"_flex_pack_bytes({get}, path, {where!r})"
        decode, encode = python_bits.scalar_converters(self.spec, scalar)
        order, code = _scalar_order(scalar, self.layout), PRIMITIVES[scalar.prim].struct_code
        rows = scalar.prim == "u8" and scalar.enum is None and len(slot.dims) == 1
        dims = tuple(slot.dims)
        return (f"_flex_items(buffer, {start}, {order!r}, {code!r}, {dims}, {decode}, {rows})",
                f"_flex_pack_items({get}, {order!r}, {code!r}, {dims}, path, {where!r}, {encode}, {rows})")

    def format(self, order: str) -> str:
        return order + "".join(_run_length(self.pieces))


def _is_bytes(slot: lay.FieldSlot) -> bool:
    """A one-dimensional plain u8 array is `bytes` in parsed values, as construct's Bytes."""
    scalar = slot.scalar
    return (scalar is not None and len(slot.shape) == 1 and scalar.prim == "u8"
            and scalar.enum is None)


def _run_length(pieces: list) -> list:
    """`QQQ` -> `3Q` for single-letter codes; sized items (`112s`, `4x`) stay as they are."""
    merged = []
    for piece in pieces:
        if len(piece) == 1 and merged and merged[-1][1] == piece:
            merged[-1][0] += 1
        else:
            merged.append([1, piece])
    return [code if count == 1 else f"{count}{code}" for count, code in merged]


def _fast_entry(spec, layout: lay.Layout, struct: lay.StructLayout, order: str, swaps: dict) -> dict:
    if isinstance(struct, lay.UnionLayout):
        return _fast_union(spec, layout, struct, order, swaps)
    return _fast_struct(spec, layout, struct, order, swaps)


def _fast_struct(spec, layout: lay.Layout, struct: lay.StructLayout, order: str, swaps: dict) -> dict:
    name = spec.struct(struct.name).names.python
    flat = _Flattener(spec, layout, swaps)
    body = flat.walk(struct.name, _label(spec, layout, struct.name), "obj")
    fmt = flat.format(order)
    fixed = struct.size if struct.tail_start is None else struct.tail_start
    if pystruct.calcsize(fmt) != fixed:
        raise AssertionError(f"{name}: flat format {fmt} is not {fixed} bytes")  # a generator bug
    return {
        "kind": "struct" if struct.tail_start is None else "flexible",
        "name": name,
        "label": _label(spec, layout, struct.name),
        "reference": _reference_name(name),
        "format": fmt,
        "unpack": body,
        "binds": flat.binds,
        "pack_items": flat.values + ([flat.tail] if flat.tail else []),
        "fast_items": flat.fast_values(),
        "value_lines": _value_lines(layout, struct.name),
        "view_slots": _view_slots(layout, struct.name),
        "slots": [_slot_entry(spec, layout, slot) for slot in _fixed_slots(layout, struct)
                  if not isinstance(slot, lay.FlexSlot)],
        "view": _view_lines(spec, layout, struct),
        "size": struct.size,
        "view_size": fixed,
    }


def _fast_union(spec, layout: lay.Layout, struct: lay.UnionLayout, order: str, swaps: dict) -> dict:
    """A union: one format per member, each read from the union's start and padded to its size."""
    name = spec.struct(struct.name).names.python
    members = []
    for index, slot in enumerate(struct.fields):
        field = slot.field.names.python
        where = f"{_label(spec, layout, struct.name)} -> {field}"
        if slot.field.anonymous:  # its members are the union's own: built from and merged into its mapping
            inner = spec.struct(slot.struct).names.python
            build = "pack_anonymous" if isinstance(layout.structs[slot.struct], lay.UnionLayout) else "pack"
            pack = f"{inner}.{build}(value, path + {' -> ' + _label(spec, layout, struct.name)!r}) + bytes({struct.size - slot.size})"
            names = _visible_names(layout, slot.struct)
            members.append({"name": field, "format": None, "read": [], "value": f"_unpack_{inner}(buffer, offset)",
                            "pack": pack, "anonymous": True, "key": repr(names)})
            continue
        if slot.struct is not None and not slot.shape and not isinstance(layout.structs[slot.struct],
                                                                           lay.UnionLayout):
            inner = spec.struct(slot.struct).names.python
            pack = f"{inner}.pack(value, path + {' -> ' + where!r}) + bytes({struct.size - slot.size})"
            members.append({"name": field, "format": None, "read": [], "value": f"_unpack_{inner}(buffer, offset)",
                            "pack": pack})
            continue
        flat = _Flattener(spec, layout, swaps)
        expr, value = flat.leaf(slot, where, "value")
        flat.pieces.append(f"{struct.size - slot.size}x" if struct.size > slot.size else "")
        members.append({"name": field, "format": flat.format(order), "read": [f"_FORMAT_{name}_{index}"],
                        "value": expr, "pack": f"_FORMAT_{name}_{index}.pack({value})", "index": index})
    return {
        "kind": "union",
        "name": name,
        "label": _label(spec, layout, struct.name),
        "reference": _reference_name(name),
        "format": f"{order}{struct.size}x",
        "members": members,
        "value_lines": _value_lines(layout, struct.name),
        "view_slots": _view_slots(layout, struct.name),
        "slots": [_slot_entry(spec, layout, slot) for slot in struct.fields]
                 + [f"(0, {struct.size}, '(tail padding)', None),"],
        "view": _view_lines(spec, layout, struct),
        "size": struct.size,
        "view_size": struct.size,
    }


# Container's own methods: a field of that name still reads as the method, as before.
_CONTAINER_API = frozenset({"clear", "copy", "fromkeys", "get", "items", "keys", "move_to_end", "pop", "popitem",
                            "search", "search_all", "setdefault", "update", "values"})


def _value_lines(layout: lay.Layout, name: str) -> list:
    """A struct's value class: an attribute per key of its mapping."""
    return [f"{field} = _field({field!r})" for field in _visible_names(layout, name) if field not in _CONTAINER_API]


def _nested_slot(field: str) -> str:
    """The slot of a view that keeps the view of its nested struct `field` once made."""
    return f"_n_{field}"


def _view_slots(layout: lay.Layout, name: str) -> str:
    """A view class's `__slots__`: one per nested struct field (not arrays of them)."""
    slots = tuple(_nested_slot(slot.field.names.python) for slot, _ in lay.visible_slots(layout.structs, name)
                  if isinstance(slot, lay.FieldSlot) and slot.struct is not None and not slot.shape)
    return repr(slots)


def _gap_label(slot) -> str:
    """The label the field-by-field parser's Gap uses for padding, reserved space and holes."""
    if isinstance(slot, lay.PadSlot):
        return f"padding at {slot.offset}"
    if isinstance(slot, lay.ReservedSlot):
        return f"reserved at {slot.offset}"
    return "tail padding" if slot.tail else f"hole after {slot.after}" if slot.after else "hole"


def _slot_entry(spec, layout: lay.Layout, slot) -> str:
    """One (start, size, label, nested struct) row for naming the field a short buffer cuts."""
    if isinstance(slot, lay.BitsSlot):
        return python_bits.slot_row(slot)
    if not isinstance(slot, lay.FieldSlot):
        return f"({slot.offset}, {slot.size}, {'(' + _gap_label(slot) + ')'!r}, None),"
    inner = spec.struct(slot.struct).names.python if slot.struct is not None else None
    size = slot.size
    if inner is not None and not slot.shape and layout.structs[slot.struct].tail_start is not None:
        size = layout.structs[slot.struct].tail_start  # the fixed part of a struct ending in a flexible array
    return f"({slot.offset}, {size}, {slot.field.names.python!r}, {inner}),"


def _view_lines(spec, layout: lay.Layout, struct: lay.StructLayout) -> list:
    """One property declaration per field of a struct's view class."""
    view = spec.struct(struct.name).names.python + "View"
    lines = []
    for slot, offset in lay.visible_slots(layout.structs, struct.name):  # anonymous members' own, inline
        slot = replace(slot, offset=offset)
        field = slot.field.names.python
        if field in _VIEW_API or field.startswith("_"):
            raise fail(slot.field.pos, f"the Python field name {field!r} clashes with the view API of {view} "
                       "(and construct hides keys that start with '_')", "rename it for Python with `python:`")
        label, doc = f"{view}.{field}", esc.one_line(slot.field.doc)  # printed by repr
        shape = tuple(slot.shape)
        if isinstance(slot, lay.FlexSlot):
            call = (f"_flex_structs_view({spec.struct(slot.struct).names.python}View, {slot.offset}, {label!r}, "
                    f"{doc!r}, {tuple(slot.dims)})" if slot.struct is not None else
                    f"_flex_view({_codec_name(slot.scalar, layout)}, {slot.offset}, {tuple(slot.dims)}, {label!r}, "
                    f"{doc!r})")
        elif slot.struct is not None:
            inner = spec.struct(slot.struct).names.python + "View"
            call = (f"_nested({inner}, {slot.offset}, {label!r}, {doc!r}, {_nested_slot(field)!r})" if not shape else
                    f"_structs({inner}, {slot.offset}, {shape}, {label!r}, {doc!r})")
        elif shape:
            call = f"_array({_codec_name(slot.scalar, layout)}, {slot.offset}, {shape}, {label!r}, {doc!r})"
        else:
            call = (f"_scalar({_codec_name(slot.scalar, layout)}, {slot.offset}, {label!r}, {doc!r}"
                    f"{_scalar_kind(spec, slot.scalar)})")
        lines.append(f"{field} = {call}")
    return lines + python_bits.view_lines(spec, layout, struct, view, _VIEW_API)


def _scalar_kind(spec, scalar: lay.Scalar) -> str:
    """Extra arguments of a scalar view property: the enum it reads as, or that it is a flag."""
    if scalar.enum is not None:
        return f", enum_type={spec.enum(scalar.enum).names.python}"
    return ", is_flag=True" if PRIMITIVES[scalar.prim].is_bool else ""


def _view_hints(spec, slot) -> tuple:
    """The stub types (read, write) of a field's view property."""
    if isinstance(slot, lay.FlexSlot):
        if slot.struct is not None:
            return "Tuple[Any, ...]", "Sequence[Any]"
        return "memoryview", "Union[bytes, Sequence[Any]]"
    if slot.struct is not None:
        inner = spec.struct(slot.struct).names.python + "View"
        if slot.shape:
            return "Tuple[Any, ...]", "Sequence[Any]"
        return inner, f"Union[Mapping[str, Any], {inner}]"
    if slot.shape:
        return "memoryview", "Union[bytes, Sequence[int]]" if _is_bytes(slot) else "Sequence[Any]"
    if slot.scalar.enum is not None:
        enum = spec.enum(slot.scalar.enum).names.python
        return f"Union[{enum}, int]", f"Union[{enum}, int, str]"
    if PRIMITIVES[slot.scalar.prim].is_bool:
        return "Union[bool, int]", "Union[bool, int]"
    return "int", "int"


def _numpy_halves(prim, order: str) -> list:
    """numpy has no 128-bit integer: such a field is a record of its two 64-bit halves, `lo`
    (unsigned) and `hi` (signed for i128), in memory order; the value is lo + (hi << 64)."""
    halves = [("lo", order + "u8"), ("hi", order + ("i8" if prim.signed else "u8"))]
    return halves if order == "<" else halves[::-1]


def _dtype_entry(spec, layout: lay.Layout, struct: lay.StructLayout, order: str) -> dict:
    """A struct's row of the numpy table: (size, fields), each field (name, offset, numpy
    type or None, nested struct or None, shape). A union's fields all sit at offset 0 (numpy
    allows overlapping fields); a flexible array has no fixed size, so it is left out."""
    fields = []
    for slot, offset in lay.visible_slots(layout.structs, struct.name):  # anonymous members' own, inline
        if not isinstance(slot, lay.FieldSlot):
            continue
        slot = replace(slot, offset=offset)
        name = slot.field.names.python
        shape = tuple(slot.shape)
        if slot.struct is not None:
            fields.append(f"({name!r}, {slot.offset}, None, {spec.struct(slot.struct).names.python!r}, {shape}),")
        else:
            prim = PRIMITIVES[slot.scalar.prim]
            kind = ("i" if prim.signed else "u") + str(prim.size)
            numpy_type = kind if prim.size == 1 else _scalar_order(slot.scalar, layout) + kind
            if prim.wide:
                numpy_type = _numpy_halves(prim, _scalar_order(slot.scalar, layout))
            fields.append(f"({name!r}, {slot.offset}, {numpy_type!r}, None, {shape}),")
    return {"name": spec.struct(struct.name).names.python, "size": struct.size, "fields": fields}
