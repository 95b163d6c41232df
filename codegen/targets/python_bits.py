"""Bitfields in the Python target: the pieces `targets/python.py` adds for each BitsSlot.

Every read and write is a shift and a mask computed here from the layout's bit positions;
the generated module never works a position out. Bytes are read as one integer in the arch's
byte order, so a field's shift in them depends on it (see `shift_in`). The field-by-field reference reads a
run through `_bits.BitValue` and `_bits.BitRun`; the fast struct unpacks the run as the
aligned integers of `BitsSlot.chunks` and takes each field out of the ones it spans;
views read and write the fewest whole bytes around the field (see `_window`).
"""
from __future__ import annotations

from .. import layout_types as lay
from ..layout_walk import nested_runs, visible_runs
from ..errors import fail
from ..primitives import PRIMITIVES
from .. import escape as esc

_CODES = {1: "B", 2: "H", 4: "I", 8: "Q"}
IMPORTS = [
    "from ._bits import BitRun, BitValue",
    "from ._bits import bits_int as _bits_int",
    "from ._bits import bits_property as _bits",
    "from ._bits import lookup as _lookup",
    "from ._bits import signed as _signed",
]


def has_bits(layout: lay.Layout) -> bool:
    return any(struct.bitfields for struct in layout.structs.values())


def imports(layout: lay.Layout) -> list:
    """Import lines of an arch module: none unless that arch has a bitfield."""
    return IMPORTS if has_bits(layout) else []


def scalar_converters(spec, scalar: lay.Scalar) -> tuple:
    """(decode, encode) helper names the arch module defines for an enum or flag, else Nones.
    Shared with the byte-aligned fields of `python.py`."""
    if scalar.enum is not None:
        name = spec.enum(scalar.enum).names.python
        return f"_to_{name}", f"_int_of_{name}"
    if PRIMITIVES[scalar.prim].is_bool:
        return "_flag", "_flag_int"
    return None, None


def _name(field: lay.BitFieldSlot) -> str:
    return field.field.names.python


def shift_in(field: lay.BitFieldSlot, start: int, size: int) -> int:
    """The field's shift (from the least significant bit) in the `size` bytes at `start` of
    the struct read as one integer in the arch's order: a big-endian integer ends where
    little-endian allocation would start, so there the field counts from the far end."""
    if field.big_endian:
        return (start + size) * 8 - field.first_bit - field.bits
    return field.first_bit - start * 8


def _big(slot: lay.BitsSlot) -> str:
    """The extra argument of a run's runtime helpers on a big-endian arch (none otherwise,
    so little-endian modules stay as they were)."""
    return ", big=True" if any(field.big_endian for field in slot.members) else ""


# ---- the field-by-field reference and the stub types


def describe(spec, slot: lay.BitsSlot, items: list, fields: list) -> None:
    """Append the reference Struct's items and the stub's field entries for one run."""
    if not slot.fields:  # only unnamed bitfields: no bytes, nothing to read
        return
    for field in slot.fields:
        doc = esc.python_comment(field.field.doc)
        if doc:
            items.append(f"# {doc}")
        decode, encode = scalar_converters(spec, field.scalar)
        extra = f", {decode}, {encode}" if decode else ""
        shift = shift_in(field, slot.offset, slot.size)
        items.append(f'"{_name(field)}" / BitValue({slot.size}, {shift}, {field.bits}, {field.signed}{extra}'
                     f'{_big(slot)}),  # bits {_span(field)}')
        hint = _hint(spec, field)
        fields.append({"name": _name(field), "hint": hint, "view_get": hint, "view_set": _set_hint(spec, field)})
    shifts = ", ".join(f"({_name(f)!r}, {shift_in(f, slot.offset, slot.size)})" for f in slot.fields)
    items.append(f"BitRun({slot.size}, ({shifts},){_big(slot)}),  # offset {slot.offset}, size {slot.size}")


def _span(field: lay.BitFieldSlot) -> str:
    last = field.first_bit + field.bits - 1
    order = ", bit 0 the byte's most significant" if field.big_endian else ""
    return f"{field.first_bit // 8}:{field.first_bit % 8}..{last // 8}:{last % 8} (byte:bit{order})"


def _hint(spec, field: lay.BitFieldSlot) -> str:
    if field.scalar.enum is not None:
        return f"Union[{spec.enum(field.scalar.enum).names.python}, int]"
    return "Union[bool, int]" if PRIMITIVES[field.scalar.prim].is_bool else "int"


def _set_hint(spec, field: lay.BitFieldSlot) -> str:
    if field.scalar.enum is not None:
        return f"Union[{spec.enum(field.scalar.enum).names.python}, int, str]"
    return _hint(spec, field)


def slot_row(slot: lay.BitsSlot) -> str:
    """The short-buffer row of a run: the reference fails at its first named field."""
    label = _name(slot.fields[0]) if slot.fields else "(bits)"
    return f"({slot.offset}, {slot.size}, {label!r}, None),"


def _holders(layout: lay.Layout, struct_name: str):
    """(dotted Python path, BitsSlot, BitFieldSlot, absolute offset of the struct holding it)."""
    for chain, slot, base in nested_runs(layout, struct_name):
        for field in slot.fields:
            yield ".".join([link.field.names.python for link in chain] + [_name(field)]), slot, field, base


def frozen_offsets(layout: lay.Layout, struct_name: str) -> list:
    """(path, offset) of each bitfield as construct's field-by-field Struct places it: at its run."""
    return [(path, base + slot.offset) for path, slot, _, base in _holders(layout, struct_name)]


def frozen_bits(layout: lay.Layout, struct_name: str) -> list:
    """(path, first bit from the outer struct's start, width) of each bitfield, for the layout test."""
    return [(path, base * 8 + field.first_bit, field.bits) for path, _, field, base in _holders(layout, struct_name)]


# ---- the fast struct


def flatten(flat, slot: lay.BitsSlot, label: str, source: str, target: str) -> list:
    """The statements of a run for `_Flattener.walk` (each field into the value object
    `target`), adding its chunks to the format and its pack expressions to the `values`
    function."""
    chunks = []
    for offset, size in slot.chunks:
        chunks.append((offset, size, flat.take(_CODES[size], 1)))
    lines, bound = [], {}
    for field in slot.fields:
        name = _name(field)
        lines.append(f"{target}[{name!r}] = {_unpack(flat.spec, field, chunks)}")
        where = f"{label} -> {name}"
        local = f"b{len(flat.binds) + 1}"
        flat.binds.append(f"{local} = {_pack(flat.spec, field, f'{source}[{name!r}]', where)}")
        bound[field] = local
    for offset, size, _ in chunks:
        flat.values.append(_chunk_value(slot, offset, size, bound))
    return lines


def _spanned(field: lay.BitFieldSlot, chunks: list) -> list:
    end = field.first_bit + field.bits
    return [c for c in chunks if c[0] * 8 < end and field.first_bit < (c[0] + c[1]) * 8]


def _unpack(spec, field: lay.BitFieldSlot, chunks: list) -> str:
    """The expression reading one field out of the unpacked tuple `v`."""
    spanned = _spanned(field, chunks)
    base, end = spanned[0][0], spanned[-1][0] + spanned[-1][1]
    parts = []
    for offset, size, index in spanned:  # the spanned bytes as one integer in the arch's order
        place = (end - offset - size if field.big_endian else offset - base) * 8
        parts.append(f"v[{index}] << {place}" if place else f"v[{index}]")
    value = " | ".join(parts)
    width = (end - base) * 8
    shift = shift_in(field, base, end - base)
    if shift or field.bits != width:
        value = f"({value})" if len(parts) > 1 else value
        value = f"{value} >> {shift} & {hex((1 << field.bits) - 1)}" if shift else f"{value} & {hex((1 << field.bits) - 1)}"
    if field.signed:
        value = f"_signed({value}, {field.bits})"
    decode, _ = scalar_converters(spec, field.scalar)
    return value if decode is None else f"_lookup({decode}, {value})"


def _pack(spec, field: lay.BitFieldSlot, get: str, where: str) -> str:
    """The expression turning a field's value into its bits, refusing one that does not fit."""
    _, encode = scalar_converters(spec, field.scalar)
    value = get if encode is None else f"{encode}({get}, path, {where!r})"
    return f"_bits_int({value}, {field.bits}, {field.signed}, path, {where!r})"


def _chunk_value(slot: lay.BitsSlot, offset: int, size: int, bound: dict) -> str:
    """The integer to pack for one chunk: the bits of every field that reaches into it."""
    parts, spills = [], False
    for field in slot.fields:
        start = shift_in(field, offset, size)
        if start >= size * 8 or start + field.bits <= 0:
            continue
        local = bound[field]
        parts.append(local if start == 0 else f"{local} << {start}" if start > 0 else f"{local} >> {-start}")
        spills = spills or start + field.bits > size * 8
    if not parts:
        return "0"
    value = " | ".join(parts)
    return f"({value}) & {hex((1 << size * 8) - 1)}" if spills else value


# ---- views


def view_lines(spec, layout: lay.Layout, struct: lay.StructLayout, view: str, reserved: frozenset) -> list:
    """One property declaration per named bitfield of a struct's view class (its anonymous
    members' too, at the member's offset)."""
    lines = []
    for slot, base in visible_runs(layout.structs, struct.name):
        for field in slot.fields:
            name = _name(field)
            if name in reserved or name.startswith("_"):
                raise fail(field.field.pos, f"the Python field name {name!r} clashes with the view API of {view} "
                           "(and construct hides keys that start with '_')", "rename it for Python with `python:`")
            at, size, shift = _window(slot, field)
            at += base
            label, doc = f"{view}.{name}", esc.one_line(field.field.doc)  # printed by repr
            lines.append(f"{name} = _bits({at}, {size}, {shift}, {field.bits}, {field.signed}, {label!r}, "
                         f"{doc!r}{_kind(spec, field)}{_big(slot)})")
    return lines


def _kind(spec, field: lay.BitFieldSlot) -> str:
    if field.scalar.enum is not None:
        return f", enum_type={spec.enum(field.scalar.enum).names.python}"
    return ", is_flag=True" if PRIMITIVES[field.scalar.prim].is_bool else ""


def _window(slot: lay.BitsSlot, field: lay.BitFieldSlot) -> tuple:
    """(offset, size, shift) of the bytes a view reads for a field: the smallest 1, 2, 4 or
    8-byte window inside the run that holds the field (one `struct` call), else exactly
    the bytes it spans (a packed field over 3, 5, 6, 7 or 9 bytes)."""
    first, last = field.first_bit // 8, (field.first_bit + field.bits - 1) // 8
    end = slot.offset + slot.size
    for size in (1, 2, 4, 8):
        for start in range(first, last - size, -1):  # every window of `size` bytes holding the field
            if slot.offset <= start and start + size <= end:
                return start, size, shift_in(field, start, size)
    return first, last + 1 - first, shift_in(field, first, last + 1 - first)
