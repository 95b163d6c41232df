"""`layoutgen dump`: decode records of a struct from a file (a memory dump, a core excerpt,
/proc/PID/mem at an offset) with names, offsets, raw bytes and values.

Decoding works from the laid-out IR and Python's `struct` module rather than the
generated parsers, so it works for any spec, including one never generated. Holes and
padding are shown too: in a dump, bytes that should be zero and are not are a clue.
"""
from __future__ import annotations

import json
import os
import stat
import struct as pystruct
from dataclasses import dataclass
from typing import Optional

from .. import layout_types as lay
from ..ir import Spec
from ..primitives import ARCHS, PRIMITIVES
from ..targets.python_bits import shift_in
from .common import (ToolError, bit_type, c_pad_names, choose_archs, choose_variants, describe, find_struct,
                     spec_type)

HEX_SHOWN = 8  # bytes of raw data the text format prints before eliding the rest
ITEMS_SHOWN = 16  # array elements the text format prints before eliding the rest
MAX_OFFSET = 2**63 - 1  # the largest file offset (off_t is 64-bit signed)
CHUNK = 1 << 20  # bytes asked of the file per read, so a huge request allocates nothing up front
FLEX_TAIL_MAX = 1 << 20  # bytes past a flexible struct's fixed part that its array is read from


@dataclass(frozen=True)
class Tail:
    """The variable part of a record of a struct ending in a flexible array: the bytes read
    from where its array starts to the end of the file, and whether FLEX_TAIL_MAX cut them."""

    size: int
    cut: bool

    def text(self) -> str:
        more = f" (the file goes on: only the first {FLEX_TAIL_MAX} bytes past the fixed part are read)" \
            if self.cut else ""
        return f", and a flexible array: {self.size} bytes from its start to the end of the file{more}"


@dataclass(frozen=True)
class Node:
    """One decoded member: a field, an array element of struct type, or padding."""

    name: str
    kind: str  # field | struct | union | element | padding | reserved | hole | tail padding
    offset: int  # from the start of the file
    size: int
    type: str  # spec spelling, e.g. u8[3584] or ThreadState; "" for padding
    raw: bytes
    value: object = None  # int, bool, or nested lists of them, for scalar fields
    enum: Optional[str] = None  # the enum this field holds
    enum_name: Optional[str] = None  # the member name of the value, when it has one
    children: tuple = ()  # nested members (struct) or elements (array of structs)


# ---- reading ---------------------------------------------------------------


def read_records(path: str, offset: int, size: int, count: int) -> bytes:
    """Exactly `size * count` bytes at `offset`; works on files that cannot be sized (/proc/PID/mem)."""
    _check_range(offset, size, count)
    wanted = size * count
    data = _read(path, offset, wanted)
    if len(data) < wanted:
        raise ToolError(f"{path}: file too short: {len(data)} bytes at offset {offset:#x}, "
                        f"{count} record(s) of {size} bytes need {wanted}")
    return data


def read_flexible(path: str, offset: int, size: int) -> tuple:
    """One record of a struct ending in a flexible array: its `size` fixed bytes (which must
    be there) and what follows them to the end of the file, at most FLEX_TAIL_MAX bytes.
    Returns (bytes, whether the file went on past that limit)."""
    _check_range(offset, size, 1)
    data = _read(path, offset, size + FLEX_TAIL_MAX + 1)
    if len(data) < size:
        raise ToolError(f"{path}: file too short: {len(data)} bytes at offset {offset:#x}, "
                        f"the record's fixed part needs {size}")
    return data[:size + FLEX_TAIL_MAX], len(data) > size + FLEX_TAIL_MAX


def _check_range(offset: int, size: int, count: int) -> None:
    if offset < 0:
        raise ToolError(f"offset must not be negative ({offset})")
    if offset > MAX_OFFSET:
        raise ToolError(f"offset {offset:#x} is past the largest file offset ({MAX_OFFSET:#x})")
    if count < 1:
        raise ToolError(f"count must be at least 1 ({count})")
    if offset + size * count - 1 > MAX_OFFSET:
        raise ToolError(f"{count} record(s) of {size} bytes at offset {offset:#x} run past the largest "
                        f"file offset ({MAX_OFFSET:#x})")


def _read(path: str, offset: int, wanted: int) -> bytes:
    """Up to `wanted` bytes at `offset`, fewer at the end of the file; read in chunks, and
    refused early when a regular file's size already says they are not there."""
    try:
        with open(path, "rb", buffering=0) as handle:
            info = os.fstat(handle.fileno())
            if stat.S_ISREG(info.st_mode) and info.st_size:  # /proc files say 0: no size known
                wanted = min(wanted, max(info.st_size - offset, 0))
            handle.seek(offset)
            chunks, got = [], 0
            while got < wanted:
                chunk = handle.read(min(wanted - got, CHUNK))
                if not chunk:
                    break
                chunks.append(chunk)
                got += len(chunk)
    except OSError as error:
        raise ToolError(f"{path}: cannot read at offset {offset:#x}: {error.strerror or error}")
    return b"".join(chunks)


# ---- decoding --------------------------------------------------------------


def decode(spec: Spec, layout: lay.Layout, name: str, data: bytes, base: int) -> tuple:
    """The members of struct `name` laid over `data`, which starts `base` bytes into the file."""
    struct = layout.structs[name]
    pad_names = c_pad_names(struct)
    nodes = []
    last = struct.named[-1] if struct.named else None
    for slot in struct.slots:
        raw = data[slot.offset:slot.offset + slot.size]
        at = base + slot.offset
        if struct.tail_start is not None:
            if isinstance(slot, lay.Hole) and slot.tail:
                continue  # the flexible array's first bytes, shown there
            if slot is last:  # a struct that ends in a flexible array: its tail is in `data` too
                raw = data[slot.offset:]
        if isinstance(slot, lay.Hole):
            nodes.append(Node("(tail padding)" if slot.tail else "(hole)",
                              "tail padding" if slot.tail else "hole", at, slot.size, "", raw))
        elif isinstance(slot, lay.PadSlot):
            nodes.append(Node(pad_names[slot], "padding", at, slot.size, "", raw))
        elif isinstance(slot, lay.BitsSlot):
            if slot.size:
                nodes.append(_bits(layout, slot, raw, at))
        elif isinstance(slot, lay.ReservedSlot):
            nodes.append(Node(f"(reserved {slot.size})", "reserved", at, slot.size, "", raw))
        elif isinstance(slot, lay.FlexSlot):
            nodes.append(_flex(spec, layout, slot, data, base))
        else:
            nodes.append(_field(spec, layout, slot, raw, at))
    return tuple(nodes)


def _flex(spec: Spec, layout: lay.Layout, slot: lay.FlexSlot, data: bytes, base: int) -> Node:
    """A flexible array, shown with the whole elements the record's bytes hold past its offset
    (the file's bytes up to its end); bytes short of a whole element follow as a note."""
    count = max(len(data) - slot.offset, 0) // slot.element_size
    size = count * slot.element_size
    partial = data[slot.offset + size:]
    node = _flex_elements(spec, layout, slot, data, base, count, size)
    if not partial:
        return node
    note = Node("(part of an element)", "partial", base + slot.offset + size, len(partial), "", partial)
    return Node(node.name, node.kind, node.offset, node.size, node.type, node.raw, node.value, node.enum,
                node.enum_name, node.children + (note,))


def _flex_elements(spec: Spec, layout: lay.Layout, slot: lay.FlexSlot, data: bytes, base: int, count: int,
                   size: int) -> Node:
    shaped = lay.FieldSlot(slot.field, slot.offset, size, slot.align, count * max(1, _product(slot.dims)),
                           (count,) + tuple(slot.dims), slot.scalar, slot.struct)
    if count == 0:
        return Node(slot.field.names.canonical, "field", base + slot.offset, 0, spec_type(slot), b"", value=[])
    node = _field(spec, layout, shaped, data[slot.offset:slot.offset + size], base + slot.offset)
    return Node(node.name, node.kind, node.offset, node.size, spec_type(slot), node.raw, node.value, node.enum,
                node.enum_name, node.children)


def _product(dims) -> int:
    total = 1
    for length in dims:
        total *= length
    return total


def _field(spec: Spec, layout: lay.Layout, slot: lay.FieldSlot, raw: bytes, at: int) -> Node:
    name, typename = slot.field.names.canonical, spec_type(slot)
    if slot.struct is not None:
        if not slot.shape:
            kind = "union" if isinstance(layout.structs[slot.struct], lay.UnionLayout) else "struct"
            if slot.field.anonymous:  # no name of its own: its members are the parent's
                name, typename = f"(anonymous {kind})", ""
            return Node(name, kind, at, slot.size, typename, raw,
                        children=decode(spec, layout, slot.struct, raw, at))
        step = layout.structs[slot.struct].size
        elements = tuple(
            Node(f"[{index}]", "element", at + index * step, step, slot.struct, raw[index * step:(index + 1) * step],
                 children=decode(spec, layout, slot.struct, raw[index * step:(index + 1) * step], at + index * step))
            for index in range(slot.count))
        return Node(name, "struct", at, slot.size, typename, raw, children=elements)
    values = _scalars(layout, slot, raw)
    value = _shape(values, slot.shape) if slot.shape else values[0]
    enum_name = None
    if slot.scalar.enum is not None and not slot.shape:
        enum_name = _enum_member(layout, slot.scalar.enum, value)
    return Node(name, "field", at, slot.size, typename, raw, value=value, enum=slot.scalar.enum,
                enum_name=enum_name)


def _bits(layout: lay.Layout, slot: lay.BitsSlot, raw: bytes, at: int) -> Node:
    """A run of bitfields: its bytes, with one child per named bitfield holding its value."""
    big = not ARCHS[layout.variant.arch].little_endian
    whole, children = int.from_bytes(raw, "big" if big else "little"), []
    for field in slot.fields:
        value = whole >> shift_in(field, slot.offset, slot.size) & ((1 << field.bits) - 1)
        if field.signed and value >> (field.bits - 1):
            value -= 1 << field.bits
        if PRIMITIVES[field.scalar.prim].is_bool and value in (0, 1):
            value = bool(value)
        start = field.first_bit - slot.offset * 8  # address order: the bytes holding the field
        first, last = start // 8, (start + field.bits - 1) // 8
        enum_name = _enum_member(layout, field.scalar.enum, value) if field.scalar.enum else None
        children.append(Node(field.field.names.canonical, "field", at + first, last + 1 - first, bit_type(field),
                             raw[first:last + 1], value=value, enum=field.scalar.enum, enum_name=enum_name))
    return Node("(bitfields)", "bits", at, slot.size, "", raw, children=tuple(children))


def _scalars(layout: lay.Layout, slot: lay.FieldSlot, raw: bytes) -> list:
    info = PRIMITIVES[slot.scalar.prim]
    little = ARCHS[layout.variant.arch].little_endian != slot.scalar.swapped(layout.variant.arch)
    order = "<" if little else ">"
    if info.wide:  # `struct` has no 16-byte code
        values = [int.from_bytes(raw[at:at + info.size], "little" if little else "big", signed=info.signed)
                  for at in range(0, len(raw), info.size)]
    else:
        values = list(pystruct.unpack(f"{order}{slot.count}{info.struct_code}", raw))
    return [bool(v) if info.is_bool and v in (0, 1) else v for v in values]


def _shape(values: list, shape: tuple) -> list:
    """Nest a flat list by array dimensions, outermost first, as C lays them out."""
    if len(shape) == 1:
        return values
    step = len(values) // shape[0] if shape[0] else 0  # a zero-length array (`u8[0][4]`) has no rows
    return [_shape(values[i * step:(i + 1) * step], shape[1:]) for i in range(shape[0])]


def _enum_member(layout: lay.Layout, enum: str, value: int) -> Optional[str]:
    return next((v.names.canonical for v, number in layout.enums[enum].values if number == value), None)


# ---- text ------------------------------------------------------------------


def render_text(spec: Spec, layout: lay.Layout, name: str, records: list, offset: int,
                tail: Optional[Tail] = None) -> str:
    size = layout.structs[name].size
    lines = []
    for index, nodes in enumerate(records):
        start = offset + index * size
        lines.append(f"{name} #{index} on {describe(layout.variant)}: {size} bytes at file offset {start:#x}"
                     + (tail.text() if tail else ""))
        rows = [("offset", "bytes", "  field", "type", "value")]
        rows += [row for node in nodes for row in _rows(node, 1)]
        widths = [max(len(row[col]) for row in rows) for col in range(4)]
        for row in rows:
            cells = [row[col].ljust(widths[col]) for col in range(4)] + [row[4]]
            lines.append("  ".join(cells).rstrip())
        lines.append("")
    return "\n".join(lines)


def _rows(node: Node, depth: int) -> list:
    """(offset, hex, indented name, type, value) cells for a node and everything inside it."""
    label = "  " * depth + node.name
    rows = [(f"{node.offset:#06x}", _hex_text(node.raw), label, node.type, _value_text(node))]
    for child in node.children:
        rows.extend(_rows(child, depth + 1))
    return rows


def _hex_text(raw: bytes) -> str:
    shown = " ".join(f"{b:02x}" for b in raw[:HEX_SHOWN])
    return shown if len(raw) <= HEX_SHOWN else f"{shown} ... ({len(raw)} bytes)"


def _value_text(node: Node) -> str:
    if node.kind == "partial":
        return f"{node.size} byte(s) after the last whole element"
    if node.kind in ("hole", "padding", "reserved", "tail padding"):
        return "zero" if not any(node.raw) else "NOT ZERO"
    if node.kind != "field":
        return ""
    if node.enum is not None and not isinstance(node.value, list):
        return f"{node.enum_name} ({node.value})" if node.enum_name else f"{node.value} (not a {node.enum} value)"
    return _plain(node.value, node.type)


def _plain(value, typename: str) -> str:
    if isinstance(value, list):
        flat = _flatten(value)
        if typename.startswith(("u8[", "i8[")) and flat:  # an empty one (`u8[0]`) prints as []
            return "all zero" if not any(flat) else f"{sum(1 for v in flat if v)} non-zero bytes"
        items = [_plain(v, "") for v in value[:ITEMS_SHOWN]]
        more = ", ..." if len(value) > ITEMS_SHOWN else ""
        return "[" + ", ".join(items) + more + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if typename.startswith("ptr("):
        return f"{value:#018x}"
    return f"{value} ({value:#x})" if value >= 10 else str(value)


def _flatten(value) -> list:
    return [leaf for item in value for leaf in (_flatten(item) if isinstance(item, list) else [item])]


# ---- JSON ------------------------------------------------------------------


def render_json(spec: Spec, layout: lay.Layout, name: str, records: list, offset: int,
                tail: Optional[Tail] = None) -> str:
    size = layout.structs[name].size
    extra = {"flexible_bytes": tail.size, "flexible_cut": tail.cut} if tail else {}
    document = {
        "spec": spec.name, "arch": layout.variant.arch,
        **({"combination": layout.variant.key, "params": dict(layout.variant.params)} if spec.params else {}),
        "struct": name, "size": size, **extra,
        "records": [{"index": index, "offset": offset + index * size, "fields": [_json(n) for n in nodes]}
                    for index, nodes in enumerate(records)],
    }
    return json.dumps(document, indent=2) + "\n"


def _json(node: Node) -> dict:
    item = {"name": node.name, "kind": node.kind, "offset": node.offset, "size": node.size,
            "type": node.type, "hex": node.raw.hex()}
    if node.kind == "field":
        item["value"] = node.value
        if node.enum is not None:
            item["enum"] = node.enum
            item["enum_name"] = node.enum_name
    if node.children:
        key = "elements" if node.children[0].kind == "element" else "fields"
        item[key] = [_json(child) for child in node.children]
    return item


# ---- the command -----------------------------------------------------------


def dump(spec: Spec, layouts: dict, arch: str, struct: str, path: str, offset: int = 0, count: int = 1,
         fmt: str = "text", params: Optional[dict] = None) -> str:
    """Decode `count` records; `layouts` is keyed by `Variant.key` and `params` picks the
    combination (a parameter not in it takes its default)."""
    variant, = choose_variants(spec, choose_archs(spec, arch), params or {})
    layout = layouts[variant.key]
    name = find_struct(spec, layout, struct)
    size, tail_start = layout.structs[name].size, layout.structs[name].tail_start
    render = render_json if fmt == "json" else render_text
    if tail_start is None:
        data = read_records(path, offset, size, count)
        records = [decode(spec, layout, name, data[i * size:(i + 1) * size], offset + i * size) for i in range(count)]
        return render(spec, layout, name, records, offset)
    if count != 1:  # where the next record starts depends on a length the spec does not give
        raise ToolError(f"{name} ends in a flexible array, so a record's size is not known and --count cannot "
                        f"step to the next one; dump one record at a time with --offset")
    data, cut = read_flexible(path, offset, size)
    tail = Tail(len(data) - tail_start, cut)
    return render(spec, layout, name, [decode(spec, layout, name, data, offset)], offset, tail)
