"""The Python target's fast path: one `struct.Struct` per struct (the flat format, the
functions that unpack it into value objects and pack a mapping into it), the view classes' properties
and the numpy dtype table; and the helpers the field-by-field reference shares with it."""
from __future__ import annotations

import struct as pystruct
from dataclasses import replace

from .. import escape as esc
from .. import layout_types as lay
from ..layout_walk import visible_bitfields, visible_slots
from ..errors import fail
from ..primitives import ARCHS, PRIMITIVES
from . import python_bits
from .common import struct_order


def label(spec, layout: lay.Layout, name: str) -> str:
    """How errors name a struct: its Python name, or for an anonymous member's declaration
    (whose generated name means nothing to the user) what C calls it."""
    if not spec.struct(name).anonymous:
        return spec.struct(name).names.python
    return "(anonymous union)" if isinstance(layout.structs[name], lay.UnionLayout) else "(anonymous struct)"


def visible_names(layout: lay.Layout, name: str) -> tuple:
    """The Python names of every member a name reaches in a struct (its anonymous members'
    included), bitfields too: the keys an anonymous member adds to its parent's mapping."""
    names = [s.field.names.python for s, _ in visible_slots(layout.structs, name)]
    return tuple(names + [f.field.names.python for f in visible_bitfields(layout.structs, name)])


def fixed_slots(layout: lay.Layout, struct: lay.StructLayout) -> list:
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


def reference_name(python_name: str) -> str:
    """The module-private name of a struct's field-by-field construct Struct."""
    return f"_{python_name}_fields"


# ---- the fast path: one struct.Struct per struct, views, numpy dtypes ----

# Attributes of the generated view classes that a field's property must not shadow.
_VIEW_API = frozenset({"unpack", "pack", "at", "SIZE", "PARSER"})


def fast_model(spec, layout: lay.Layout, uses: set) -> dict:
    """Everything the arch module needs beyond the field-by-field structs."""
    order = "<" if ARCHS[layout.variant.arch].little_endian else ">"
    enums = [spec.enum(name).names.python for name in layout.enums]
    swaps: dict = {}  # name -> packer of scalars read as bytes (other byte order, or 128-bit)
    structs = [_fast_entry(spec, layout, s, order, swaps, uses) for s in struct_order(layout)]
    scalars = {slot.scalar for s in layout.structs.values() for slot in s.named if slot.scalar is not None}
    codecs = {_codec_name(scalar, layout): (scalar.prim, _scalar_order(scalar, layout)) for scalar in scalars}
    return {
        "enum_names": enums,
        "fast": structs,
        "codecs": [{"name": name, "make": _codec_maker(PRIMITIVES[prim], byte_order, uses)}
                   for name, (prim, byte_order) in sorted(codecs.items(),
                                                          key=lambda item: (PRIMITIVES[item[1][0]].size, item[0]))],
        "swaps": sorted(swaps.items()),
        "dtypes": [_dtype_entry(spec, layout, s, order) for s in struct_order(layout)],
    }


def _codec_maker(prim, order: str, uses: set) -> str:
    """How the views read and write one primitive type in one byte order."""
    if prim.wide:
        uses.add("_WideScalar")
        return f'_WideScalar("{prim.name}", "{order}", {prim.signed}, {prim.min}, {prim.max})'
    return f'_Scalar("{prim.name}", "{order}", "{prim.struct_code}", {prim.min}, {prim.max})'


def _ints_maker(prim, order: str, count: str, uses: set) -> tuple:
    """(module-level name, constructor) of the packer for `count` scalars ("" for a lone one)
    read as bytes: a `struct.Struct`, or for 128-bit integers (no `struct` code) a `WideInts`,
    which has the same interface."""
    if prim.wide:
        name = f"_WIDE_{'BE' if order == '>' else 'LE'}_{count}{prim.name.upper()}"
        uses.add("_WideInts")
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

    def __init__(self, spec, layout: lay.Layout, swaps: dict, uses: set, owner: str = ""):
        self.spec, self.layout = spec, layout
        self.owner = owner  # the struct being flattened, for the names of its `fill` specs
        self.uses = uses  # shared by the module: the optional names its text uses, for its imports
        self.swaps = swaps  # shared by the module: name -> packer of scalars read as bytes
        self.pieces: list = []  # struct format items, in offset order
        self.index = 0  # position in the unpacked tuple
        self.binds: list = []  # local assignments of the `values` function
        self.values: list = []  # items of the tuple the `values` function returns
        self.raw: dict = {}  # index in `values` -> the item the fast pack passes unconverted
        self.tail = None  # the pack expression of a flexible array, once walked
        self.nested = 0  # value objects of nested structs made so far (`n1`, `n2`, ...)
        # For the compiled runtime's `fill`: per value object, its (key, expression) items;
        # expressions that are one item of `v` -> (index, converter or None); the fill
        # statements and their module-level specs; whether every line was a plain item.
        self.items: dict = {}
        self.simple: dict = {}
        self.fills: list = []
        self.fill_specs: list = []
        self.plain = True
        self.direct = False  # the struct's value is filled from `v` as it is: one compiled Parser

    def walk(self, name: str, label: str, source: str, base: int = 0, target: str = "r") -> list:
        """Statements `target['field'] = expr` that fill the value object `target` of struct
        `name` from the unpacked tuple `v`. (Item by item into an empty value: that is
        cheaper than keyword arguments, which construct an intermediate dict first.)"""
        lines = []
        items = self.items.setdefault(target, [])
        for slot in fixed_slots(self.layout, self.layout.structs[name]):
            if isinstance(slot, lay.BitsSlot):
                lines += python_bits.flatten(self, slot, label, source, target)
                self.plain = False
                continue
            if not isinstance(slot, (lay.FieldSlot, lay.FlexSlot)):
                self.pieces.append(f"{slot.size}x")
                continue
            field = slot.field.names.python
            where = f"{label} -> {field}"
            get = f"{source}[{field!r}]"
            if isinstance(slot, lay.FieldSlot) and slot.field.anonymous:
                lines += self.anonymous(slot, label, source, base, target)
                continue
            if isinstance(slot, lay.FlexSlot):
                expr, self.tail = self.flex(slot, base + slot.offset, where, get)
            elif slot.struct is not None and not slot.shape and not self.is_union(slot.struct):
                inner = self.spec.struct(slot.struct).names.python
                local = f"o{len(self.binds) + 1}"
                self.binds.append(f"{local} = {get}")
                self.nested += 1
                expr = f"n{self.nested}"
                lines.append(f"{expr} = {inner}Value()")
                lines += self.walk(slot.struct, f"{where} -> {inner}", local, base + slot.offset, expr)
                self.fill_statement(expr, inner)
            else:
                expr, value = self.leaf(slot, where, get)
                if self.struct_takes_raw(slot):
                    self.raw[len(self.values)] = get
                self.values.append(value)
            lines.append(f"{target}[{field!r}] = {expr}")
            items.append((field, expr))
        return lines

    def fill_statement(self, target: str, value_class: str) -> None:
        """The statement that makes value object `target` in one call of the compiled `fill`:
        straight from `v` when its items are consecutive items of `v` (converters applied by
        `fill`), else from a tuple of its expressions."""
        items = self.items[target]
        # `_FILL_Msg` for the struct, `_FILL1_Msg` for its value `n1`: no two can be equal
        spec = f"_FILL{'' if target == 'r' else target[1:]}_{self.owner}"
        keys = "(" + "".join(f"{key!r}, " for key, _ in items).rstrip(" ") + ")"
        sources = [self.simple.get(expr) for _, expr in items]
        first = sources[0][0] if sources and sources[0] else 0
        if items and all(source and source[0] == first + k for k, source in enumerate(sources)):
            converters = [source[1] for source in sources]
            listed = "(" + "".join(f"{c}, " for c in converters).rstrip(" ") + ")" if any(converters) else "None"
            self.fill_specs.append(f"{spec} = ({value_class}Value, {keys}, {listed})")
            self.fills.append(f"{target} = _fill({spec}, v, {first})")
            self.direct = target == "r" and first == 0 and len(self.fills) == 1
            return
        self.fill_specs.append(f"{spec} = ({value_class}Value, {keys}, None)")
        values = "(" + "".join(f"{expr}, " for _, expr in items).rstrip(" ") + ")"
        self.fills.append(f"{target} = _fill({spec}, {values}, 0)")

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

    def anonymous(self, slot: lay.FieldSlot, where: str, source: str, base: int, target: str) -> list:
        # `where` names the parent only: the member has no name, its union labels itself.
        """An anonymous member's lines: a struct's fields inline, read from and built into the
        parent's mapping; a union unpacked by its own parser and merged into the parent's."""
        inner = self.spec.struct(slot.struct).names.python
        if not self.is_union(slot.struct):
            return self.walk(slot.struct, f"{where} -> (anonymous struct)", source, base + slot.offset, target)
        at = self.take(f"{slot.size}s", 1)
        self.values.append(f"{inner}.pack_anonymous({source}, path + {' -> ' + where!r})")  # `where`: the parent
        self.plain = False
        return [f"{target}.update({inner}._unpack(v[{at}]))"]

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
            self.simple[expr] = (at, decode)
            return expr, get if encode is None else f"{encode}({get}, path, {where!r})"
        if _is_bytes(slot):
            at = self.take(f"{slot.count}s", 1)
            self.simple[f"v[{at}]"] = (at, None)
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
        layout, maker = _ints_maker(PRIMITIVES[slot.scalar.prim], order, str(slot.count) if shape else "", self.uses)
        self.swaps[layout] = maker
        at = self.take(f"{slot.size}s", 1)
        prim = PRIMITIVES[slot.scalar.prim]
        if prim.wide and not shape:  # inline: a call through WideInts would cost 3x more
            byteorder = "little" if order == "<" else "big"
            self.uses.update(("_int_from", "_pack_swapped"))
            return (f"_int_from(v[{at}], {byteorder!r}, signed={prim.signed})",
                    f"_pack_swapped({layout}, {get}, path, {where!r}, {encode})")
        if not shape:
            self.uses.update(("_swapped", "_pack_swapped"))
            return (f"_swapped({layout}, v[{at}], {decode})",
                    f"_pack_swapped({layout}, {get}, path, {where!r}, {encode})")
        self.uses.update(("_swapped_items", "_pack_swapped_items"))
        return (f"_swapped_items({layout}, v[{at}], {shape}, {decode})",
                f"_pack_swapped_items({layout}, {get}, {shape}, path, {where!r}, {encode})")

    def flex(self, slot: lay.FlexSlot, at: int, where: str, get: str) -> tuple:
        """(unpack expression, pack expression) of a flexible array `at` bytes into the struct."""
        start = f"offset + {at}"
        if slot.struct is not None:
            inner = self.spec.struct(slot.struct).names.python
            dims = tuple(slot.dims)
            self.uses.update(("_flex_structs", "_flex_pack_structs"))
            return (f"_flex_structs({inner}, buffer, {start}, {dims})",
                    f"_flex_pack_structs({inner}, {get}, path, {where!r}, {dims})")
        scalar = slot.scalar
        if scalar.prim == "u8" and scalar.enum is None and not slot.dims:
            self.uses.update(("_flex_bytes", "_flex_pack_bytes"))
            return f"_flex_bytes(buffer, {start})", f"_flex_pack_bytes({get}, path, {where!r})"
        decode, encode = python_bits.scalar_converters(self.spec, scalar)
        order, code = _scalar_order(scalar, self.layout), PRIMITIVES[scalar.prim].struct_code
        rows = scalar.prim == "u8" and scalar.enum is None and len(slot.dims) == 1
        dims = tuple(slot.dims)
        self.uses.update(("_flex_items", "_flex_pack_items"))
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


def _fast_entry(spec, layout: lay.Layout, struct: lay.StructLayout, order: str, swaps: dict, uses: set) -> dict:
    if isinstance(struct, lay.UnionLayout):
        return _fast_union(spec, layout, struct, order, swaps, uses)
    return _fast_struct(spec, layout, struct, order, swaps, uses)


def _fast_struct(spec, layout: lay.Layout, struct: lay.StructLayout, order: str, swaps: dict, uses: set) -> dict:
    name = spec.struct(struct.name).names.python
    flat = _Flattener(spec, layout, swaps, uses, name)
    body = flat.walk(struct.name, label(spec, layout, struct.name), "obj")
    flat.fill_statement("r", name)
    if flat.plain:
        uses.add("_fill")
        if flat.direct:
            uses.add("_Parser")
    fmt = flat.format(order)
    fixed = struct.size if struct.tail_start is None else struct.tail_start
    if pystruct.calcsize(fmt) != fixed:
        raise AssertionError(f"{name}: flat format {fmt} is not {fixed} bytes")  # a generator bug
    return {
        "kind": "struct" if struct.tail_start is None else "flexible",
        "name": name,
        "label": label(spec, layout, struct.name),
        "reference": reference_name(name),
        "format": fmt,
        "unpack": body,
        "fill": flat.fills[:-1] if flat.plain else [],  # the nested values; the struct's own is returned
        "fill_value": flat.fills[-1].split(" = ", 1)[1] if flat.plain else "",
        "fill_direct": flat.plain and flat.direct,
        "fill_specs": flat.fill_specs if flat.plain else [],
        "binds": flat.binds,
        "pack_items": flat.values + ([flat.tail] if flat.tail else []),
        "fast_items": flat.fast_values(),
        "value_lines": _value_lines(layout, struct.name),
        "view_slots": _view_slots(spec, layout, struct.name),
        "slots": [_slot_entry(spec, layout, slot) for slot in fixed_slots(layout, struct)
                  if not isinstance(slot, lay.FlexSlot)],
        "view": _view_lines(spec, layout, struct, uses),
        "size": struct.size,
        "view_size": fixed,
    }


def _fast_union(spec, layout: lay.Layout, struct: lay.UnionLayout, order: str, swaps: dict, uses: set) -> dict:
    """A union: one format per member, each read from the union's start and padded to its size."""
    name = spec.struct(struct.name).names.python
    members = []
    for index, slot in enumerate(struct.fields):
        field = slot.field.names.python
        where = f"{label(spec, layout, struct.name)} -> {field}"
        if slot.field.anonymous:  # its members are the union's own: built from and merged into its mapping
            inner = spec.struct(slot.struct).names.python
            build = "pack_anonymous" if isinstance(layout.structs[slot.struct], lay.UnionLayout) else "pack"
            pack = f"{inner}.{build}(value, path + {' -> ' + label(spec, layout, struct.name)!r}) + bytes({struct.size - slot.size})"
            names = visible_names(layout, slot.struct)
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
        flat = _Flattener(spec, layout, swaps, uses)
        expr, value = flat.leaf(slot, where, "value")
        flat.pieces.append(f"{struct.size - slot.size}x" if struct.size > slot.size else "")
        members.append({"name": field, "format": flat.format(order), "read": [f"_FORMAT_{name}_{index}"],
                        "value": expr, "pack": f"_FORMAT_{name}_{index}.pack({value})", "index": index})
    return {
        "kind": "union",
        "name": name,
        "label": label(spec, layout, struct.name),
        "reference": reference_name(name),
        "format": f"{order}{struct.size}x",
        "members": members,
        "value_lines": _value_lines(layout, struct.name),
        "view_slots": _view_slots(spec, layout, struct.name),
        "slots": [_slot_entry(spec, layout, slot) for slot in struct.fields]
                 + [f"(0, {struct.size}, '(tail padding)', None),"],
        "view": _view_lines(spec, layout, struct, uses),
        "size": struct.size,
        "view_size": struct.size,
    }


# Container's own methods: a field of that name still reads as the method, as before.
_CONTAINER_API = frozenset({"clear", "copy", "fromkeys", "get", "items", "keys", "move_to_end", "pop", "popitem",
                            "search", "search_all", "setdefault", "update", "values"})


def _value_lines(layout: lay.Layout, name: str) -> list:
    """A struct's value class: an attribute per key of its mapping."""
    return [f"{field} = _field({field!r})" for field in visible_names(layout, name) if field not in _CONTAINER_API]


def _nested_slot(field: str) -> str:
    """The slot of a view that keeps the view of its nested struct `field` once made."""
    return f"_n_{field}"


def _nested_views(spec, layout: lay.Layout, name: str) -> list:
    """(slot, view class, offset) of each nested struct field (not arrays of them) of a view."""
    return [(_nested_slot(slot.field.names.python), spec.struct(slot.struct).names.python + "View", offset)
            for slot, offset in visible_slots(layout.structs, name)
            if isinstance(slot, lay.FieldSlot) and slot.struct is not None and not slot.shape]


def _view_slots(spec, layout: lay.Layout, name: str) -> dict:
    """A view class's `__slots__` (one per nested struct) and its `_NESTED` table, or None."""
    nested = _nested_views(spec, layout, name)
    table = "(" + "".join(f"({slot!r}, {view}, {offset}), " for slot, view, offset in nested).rstrip(" ") + ")"
    return {"slots": repr(tuple(slot for slot, _, _ in nested)), "nested": table if nested else None}


def gap_label(slot) -> str:
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
        return f"({slot.offset}, {slot.size}, {'(' + gap_label(slot) + ')'!r}, None),"
    inner = spec.struct(slot.struct).names.python if slot.struct is not None else None
    size = slot.size
    if inner is not None and not slot.shape and layout.structs[slot.struct].tail_start is not None:
        size = layout.structs[slot.struct].tail_start  # the fixed part of a struct ending in a flexible array
    return f"({slot.offset}, {size}, {slot.field.names.python!r}, {inner}),"


def _view_lines(spec, layout: lay.Layout, struct: lay.StructLayout, uses: set) -> list:
    """One property declaration per field of a struct's view class."""
    view = spec.struct(struct.name).names.python + "View"
    lines = []
    for slot, offset in visible_slots(layout.structs, struct.name):  # anonymous members' own, inline
        slot = replace(slot, offset=offset)
        field = slot.field.names.python
        if field in _VIEW_API or field.startswith("_"):
            raise fail(slot.field.pos, f"the Python field name {field!r} clashes with the view API of {view} "
                       "(and construct hides keys that start with '_')", "rename it for Python with `python:`")
        label, doc = f"{view}.{field}", esc.one_line(slot.field.doc)  # printed by repr
        shape = tuple(slot.shape)
        if isinstance(slot, lay.FlexSlot):
            uses.add("_flex_structs_view" if slot.struct is not None else "_flex_view")
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


def _array_hint(slot, layout: lay.Layout) -> str:
    """What a view reads for an array of integers: a memoryview cast in the host's byte order;
    an array of big-endian multi-byte elements reads as tuples of values on the (usual)
    little-endian host, and 128-bit ones as raw bytes (a memoryview) anywhere."""
    prim = PRIMITIVES[slot.scalar.prim]
    if prim.size == 1 or prim.wide or _scalar_order(slot.scalar, layout) == "<":
        return "memoryview"
    return "Union[Tuple[Any, ...], memoryview]"


def view_hints(spec, slot, layout: lay.Layout) -> tuple:
    """The stub types (read, write) of a field's view property."""
    if isinstance(slot, lay.FlexSlot):
        if slot.struct is not None:
            return "Tuple[Any, ...]", "Sequence[Any]"
        return _array_hint(slot, layout), "Union[bytes, Sequence[Any]]"
    if slot.struct is not None:
        inner = spec.struct(slot.struct).names.python + "View"
        if slot.shape:
            return "Tuple[Any, ...]", "Sequence[Any]"
        return inner, f"Union[Mapping[str, Any], {inner}]"
    if slot.shape:
        return _array_hint(slot, layout), "Union[bytes, Sequence[int]]" if _is_bytes(slot) else "Sequence[Any]"
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
    for slot, offset in visible_slots(layout.structs, struct.name):  # anonymous members' own, inline
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
