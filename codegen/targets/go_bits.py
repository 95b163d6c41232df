"""Bitfields in the Go target: Go has none, so a struct with bitfields gets its storage as
unexported integer fields and a getter/setter pair per bitfield, used by `targets/go.py`.

Each run of bitfields (a BitsSlot) is stored as the aligned integers of `BitsSlot.chunks`,
named after their offsets (`bits0`, `bits8`): a run that fills one unit of its type is
just that unit, `bits0 uint32`. Go places every chunk and every ordinary field by its own
alignment, so where C's rules leave more room than Go's would (after a zero-width
bitfield or unnamed bits), explicit `_ [n]byte` padding keeps the C offsets, and a
leading `_ [0]uintN` gives the struct C's alignment when no Go field demands it. The
accessors shift and mask with numbers computed here from the layout; the setter keeps
the low bits of its argument, as a C assignment to a bitfield does.
"""
from __future__ import annotations

from .. import escape as esc
from .. import layout_types as lay
from ..layout import natural_structs
from ..layout_walk import visible_runs
from ..errors import fail
from ..ir import Spec
from ..primitives import PRIMITIVES
from . import go_align, go_members
from .go_members import RECEIVER, Accessor

_WORDS = {1: "uint8", 2: "uint16", 4: "uint32", 8: "uint64"}


def has_bits(struct: lay.StructLayout) -> bool:
    return any(isinstance(slot, lay.BitsSlot) for slot in struct.slots)


def chunk_name(offset: int) -> str:
    return f"bits{offset}"


def value_type(spec: Spec, field: lay.BitFieldSlot) -> str:
    """The Go type a bitfield's accessors take and return: its enum's type, else its integer's."""
    enum = field.scalar.enum
    if enum is not None and not spec.enum(enum).go_untyped:
        return spec.enum(enum).names.go
    return PRIMITIVES[field.scalar.prim].go


# ---- the struct ------------------------------------------------------------


def struct_decl(spec: Spec, layout: lay.Layout, struct: lay.StructLayout) -> tuple:
    """(go._Struct, Go's alignment) of a struct with bitfields: rows placed so that Go's
    alignment rules land every field and chunk at the spec's offset, plus the accessors."""
    from . import go as target
    decl = spec.struct(struct.name)
    natural = natural_structs(spec, layout.variant)[struct.name]
    items = [go_align.Item(target._Row(doc, (name, go_type) if name else (go_type,)), offset, size,  # no name: embedded
                           target.go_type_align(spec, layout, go_type))
             for slot in struct.slots for doc, name, go_type, offset, size in _rows_of(spec, layout, slot, natural.align)]
    placed = go_align.place(items, target.pad_row, decl.pos, target.placement_what(layout, struct))
    rows, align = list(placed.rows), placed.align
    word = _WORDS[natural.align]
    if align < target.go_type_align(spec, layout, word):  # no Go field demands C's alignment: a zero-size word does
        rows.insert(0, target._Row((), ("_", f"[0]{word}")))
        align = target.go_type_align(spec, layout, word)
    rows = go_align.tail(go_align.Placed(tuple(rows), placed.end, align), struct.size, target.pad_row,
                         go_members.zero_size_tail(struct) is not None)
    methods = accessors(spec, struct) + go_members.struct_accessors(spec, struct)
    _check_names(struct, [row.cells[0] for row in rows], methods)
    doc = target._lead(f"{decl.names.go} holds", decl.doc, "the fields the spec lists.")
    return target._Struct(decl.names.go, doc, tuple(rows), methods), align


def _rows_of(spec: Spec, layout: lay.Layout, slot, natural_align: int) -> list:
    """(doc, name, Go type, offset, size) of the Go fields storing one slot."""
    from . import go as target
    if isinstance(slot, lay.BitsSlot):
        return [(_chunk_doc(slot, offset, size), chunk_name(offset), _WORDS[size], offset, size)
                for offset, size in slot.chunks]
    if isinstance(slot, lay.FieldSlot):
        go_type = target._field_type(spec, layout, slot)
        name = "" if slot.field.anonymous else go_members.field_name(slot)  # anonymous members are embedded
        return [(target._doc(slot.field.doc), name, go_type, slot.offset, slot.size)]
    if isinstance(slot, lay.FlexSlot):
        return [(target._doc(slot.field.doc), go_members.field_name(slot), go_members.flex_type(spec, slot),
                 slot.offset, 0)]
    if isinstance(slot, (lay.PadSlot, lay.ReservedSlot)):
        member = slot.padding if isinstance(slot, lay.PadSlot) else slot.reserved
        return [(target._doc(member.doc), "_", target._padding_type(slot, natural_align), slot.offset, slot.size)]
    return []  # a hole: Go's alignment, or the padding placement adds, makes it


def _chunk_doc(slot: lay.BitsSlot, offset: int, size: int) -> tuple:
    names = [f.field.names.canonical for f in slot.fields if _bits_in(f, offset, size)]
    return (f"{chunk_name(offset)} stores bitfields {', '.join(names)}." if names
            else f"{chunk_name(offset)} holds no bitfield's bits; keep it zero.",)


def _bits_in(field: lay.BitFieldSlot, offset: int, size: int) -> tuple:
    """(first, last) bit of `field` inside the chunk at `offset`, counted from the chunk's bit 0; () if none."""
    first = max(field.first_bit, offset * 8)
    last = min(field.first_bit + field.bits, (offset + size) * 8) - 1
    return (first - offset * 8, last - offset * 8) if first <= last else ()


def _check_names(struct: lay.StructLayout, fields: list, accessors: tuple) -> None:
    """Go refuses a field and a method (or two methods) with one name."""
    taken = {name for name in fields if name != "_"}
    for accessor in accessors:
        if accessor.name in taken:
            owner = next((f for f in struct.bitfields if accessor.name in (f.field.names.go, "Set" + f.field.names.go)),
                         None)
            pos = (owner or struct.bitfields[0]).field.pos
            raise fail(pos, f"the Go target cannot express struct {struct.name}: the bitfield accessor "
                       f"{accessor.name} clashes with another Go name of the struct", "rename one of them for Go with `go:`")
        taken.add(accessor.name)


# ---- accessors ---------------------------------------------------------------


def accessors(spec: Spec, struct: lay.StructLayout) -> tuple:
    """The get/set pair of each named bitfield of a struct (not of its anonymous members)."""
    found = []
    for slot in struct.slots:
        if isinstance(slot, lay.BitsSlot):
            for field in slot.fields:
                found += [_getter(spec, slot, field), _setter(spec, slot, field)]
    return tuple(found)


def _spanned(slot: lay.BitsSlot, field: lay.BitFieldSlot) -> list:
    return [(offset, size) for offset, size in slot.chunks if _bits_in(field, offset, size)]


def _shift(field: lay.BitFieldSlot, offset: int, size: int) -> int:
    """Where the field's least significant bit sits in the integer read from bytes
    [offset, offset + size) in the arch's byte order (negative: below that integer's bit 0)."""
    if field.big_endian:  # address order runs from the integer's most significant bit
        return (offset + size) * 8 - field.first_bit - field.bits
    return field.first_bit - offset * 8


def _where(field: lay.BitFieldSlot) -> str:
    """The field's bits in address order, and as byte and bit numbers (bit n is the value 1<<n)."""
    last = field.first_bit + field.bits - 1
    if field.big_endian:
        first_byte, first_bit, last_byte, last_bit = field.first_bit // 8, 7 - field.first_bit % 8, last // 8, 7 - last % 8
        if field.bits == 1:
            return f"bit {first_bit} of byte {first_byte}"
        return (f"bits {field.first_bit}..{last} in address order, each byte from its most significant bit "
                f"(byte {first_byte} bit {first_bit} down to byte {last_byte} bit {last_bit})")
    if field.bits == 1:
        return f"bit {field.first_bit % 8} of byte {field.first_bit // 8}"
    return f"bits {field.first_bit}..{last} (byte {field.first_bit // 8} bit {field.first_bit % 8} to byte " \
           f"{last // 8} bit {last % 8})"


def _getter(spec: Spec, slot: lay.BitsSlot, field: lay.BitFieldSlot) -> Accessor:
    name, go_type = field.field.names.go, value_type(spec, field)
    spanned = _spanned(slot, field)
    base, end = spanned[0][0], spanned[-1][0] + spanned[-1][1]
    shift, width = _shift(field, base, end - base), field.bits
    body = []
    if len(spanned) == 1:
        source = f"{RECEIVER}.{chunk_name(base)}"
        raw = f"uint64({source})" if field.signed else source
    elif end - base > 8:  # wider than a uint64 (a u64 field over i386's 4-aligned units): move each chunk's part
        parts = [f"uint64({RECEIVER}.{chunk_name(o)})" + _moved(-_shift(field, o, size)) for o, size in spanned]
        body.append(f"x := {' | '.join(parts)}")
        raw, shift = "x", 0
    else:  # the chunks as one integer in the arch's byte order: the first chunk is the low end on LE, the high on BE
        moves = {o: (end - o - size if field.big_endian else o - base) * 8 for o, size in spanned}
        parts = [f"uint64({RECEIVER}.{chunk_name(o)})" + (f"<<{moves[o]}" if moves[o] else "") for o, _ in spanned]
        body.append(f"x := {' | '.join(parts)}")
        raw = "x"
    if field.signed:
        body.append(f"return {go_type}(int64({raw}{_moved(64 - shift - width)}) >> {64 - width})")
    else:
        mask = f" & {hex((1 << width) - 1)}" if width < sum(size for _, size in spanned) * 8 else ""
        shifted = f"{raw} >> {shift}{mask}" if shift else f"{raw}{mask}"
        body.append(f"return {go_type}({shifted})")
    doc = f"{name} reads the bitfield {field.field.names.canonical}: {_where(field)}"
    doc += ", sign-extended." if field.signed else "."
    return Accessor(_wrap(go_members._doc(doc, field.field.doc)), name, "", f" {go_type}", tuple(body), (),
                    field.field.names.canonical)


def _setter(spec: Spec, slot: lay.BitsSlot, field: lay.BitFieldSlot) -> Accessor:
    name, go_type = field.field.names.go, value_type(spec, field)
    body = [f"u := uint64(value) & {hex((1 << field.bits) - 1)}"]
    for offset, size in _spanned(slot, field):
        chunk, word = f"{RECEIVER}.{chunk_name(offset)}", _WORDS[size]
        start, full = _shift(field, offset, size), (1 << size * 8) - 1
        moved = f"u<<{start}" if start > 0 else f"u>>{-start}" if start < 0 else "u"
        ones = (1 << field.bits) - 1
        mask = (ones << start if start >= 0 else ones >> -start) & full  # the field's bits in this chunk
        if mask == full:
            body.append(f"{chunk} = {word}({moved.replace('<<', ' << ').replace('>>', ' >> ')})")  # gofmt spaces a lone shift
            continue
        body.append(f"{chunk} = {chunk}&^{hex(mask)} | {word}({moved})")
    doc = (f"Set{name} stores the low {field.bits} bit{'s' if field.bits > 1 else ''} of value in the bitfield "
           f"{field.field.names.canonical}, as a C assignment does; the struct's other bits keep their values.")
    return Accessor(_wrap((doc,)), f"Set{name}", f"value {go_type}", "", tuple(body), (), field.field.names.canonical)


def _wrap(paragraphs: tuple) -> tuple:
    return tuple(esc.go_comment_lines(" ".join(paragraphs), 76))


# ---- layout tests ----------------------------------------------------------


def facts(struct: lay.StructLayout, structs: dict, type_name: str, fact) -> list:
    """Go test facts of a struct's bitfields: each chunk's offset and size, and each accessor
    pair setting exactly the field's bits of a zero struct and reading the value back; the
    bitfields of anonymous members too, through the accessors Go promotes or a union forwards."""
    found, label = [], struct.name
    for slot in struct.slots:
        if not isinstance(slot, lay.BitsSlot):
            continue
        for offset, size in slot.chunks:
            member = f"v.{chunk_name(offset)}"
            found.append(fact("expectLayout", f"{label}.{chunk_name(offset)}: offset", f"unsafe.Offsetof({member})",
                              str(offset)))
            found.append(fact("expectLayout", f"{label}.{chunk_name(offset)}: size", f"unsafe.Sizeof({member})",
                              str(size)))
    for run, base in visible_runs(structs, struct.name):
        found += [_bits_fact(struct, type_name, field, base, fact) for field in run.fields]
    return found


def _bits_fact(struct: lay.StructLayout, type_name: str, field: lay.BitFieldSlot, base: int, fact):
    """Setting one bitfield of a zero `type_name` (held `base` bytes in) sets exactly its bits."""
    name = field.field.names.go
    value = -1 if field.signed else (1 << field.bits) - 1
    want = _field_bytes(struct.size, base * 8 + field.first_bit, field.bits, field.big_endian).hex()
    got = (f"bitsAfter(func(v *{type_name}) {{ v.Set{name}({value}) }}, "
           f"func(v *{type_name}) bool {{ return v.{name}() == {value} }})")
    return fact("expectBits", f"{struct.name}.{field.field.names.canonical}: bits", got, f'"{want}"')


def _field_bytes(size: int, first: int, bits: int, big_endian: bool) -> bytes:
    """`size` zero bytes with the bits at address-order positions [first, first + bits) set:
    position p is bit p % 8 of byte p // 8 counted from the least significant bit on a
    little-endian arch, from the most significant one on a big-endian arch."""
    if not big_endian:
        return (((1 << bits) - 1) << first).to_bytes(size, "little")
    raw = bytearray(size)
    for position in range(first, first + bits):
        raw[position // 8] |= 0x80 >> position % 8
    return bytes(raw)


def _moved(by: int) -> str:
    """A shift of a chunk's value left by `by` bits (right when negative), as gofmt spaces it
    inside a larger expression."""
    return f"<<{by}" if by > 0 else f">>{-by}" if by < 0 else ""
