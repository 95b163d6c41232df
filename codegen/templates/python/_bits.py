"""Bitfields: what the arch modules use to read and write fields a few bits wide.

A bitfield lives in a storage unit read as one integer in the arch's byte order (`big`
says big-endian); its value is the `width` bits starting at bit `shift` of that integer,
counted from the least significant end, and sign-extended when its type is signed.
construct's BitStruct counts bits from the most significant end of each byte, which fits
no C ABI's units wider than a byte, so these helpers shift and mask instead.
"""
from __future__ import annotations

import enum
import struct

from construct import Construct, IntegerError, SizeofError, stream_read, stream_seek, stream_tell, stream_write

from ._runtime import _join, _lost, _write_error, flag, members

_CODES = {1: "B", 2: "H", 4: "I", 8: "Q"}


def signed(value: int, width: int) -> int:
    """`value`, an unsigned `width`-bit number, read as two's complement."""
    top = 1 << (width - 1)
    return (value ^ top) - top


def limits(width: int, is_signed: bool) -> tuple:
    if is_signed:
        return -(1 << (width - 1)), (1 << (width - 1)) - 1
    return 0, (1 << width) - 1


def lookup(decode, value):
    """The enum member (or bool, for a flag) of an unpacked value; unknown values stay ints."""
    return decode(value, value)


def bits_int(value, width: int, is_signed: bool, path, label) -> int:
    """The `width` bits to store for a bitfield's value, after checking that it fits."""
    if not isinstance(value, int):
        raise IntegerError(f"expected an integer, got {type(value).__name__}", path=_join(path, label))
    low, high = limits(width, is_signed)
    if not low <= value <= high:
        raise IntegerError(f"{value} does not fit in {width} {'signed ' if is_signed else ''}bits "
                           f"({low}..{high})", path=_join(path, label))
    return value & ((1 << width) - 1)


# ---- the field-by-field reference


class BitValue(Construct):
    """One named bitfield of the `size` bytes at the stream's position.

    Parsing peeks at those bytes and leaves them for the BitRun that follows the run's
    fields; building checks the value and hands its bits to that BitRun (through the
    context, where construct's Struct keeps what each field's build returns).
    """

    def __init__(self, size: int, shift: int, width: int, is_signed: bool, decode=None, encode=None,
                 big: bool = False):
        super().__init__()
        self.size, self.shift, self.width, self.is_signed = size, shift, width, is_signed
        self.decode, self.encode, self.big = decode, encode, big

    def _parse(self, stream, context, path):
        start = stream_tell(stream, path)
        data = stream_read(stream, self.size, path)
        stream_seek(stream, start, 0, path)
        value = int.from_bytes(data, _order(self.big)) >> self.shift & ((1 << self.width) - 1)
        if self.is_signed:
            value = signed(value, self.width)
        return value if self.decode is None else self.decode(value, value)

    def _build(self, obj, stream, context, path):
        if self.encode is not None:
            obj = self.encode(obj, path, None)
        return bits_int(obj, self.width, self.is_signed, path, None)

    def _sizeof(self, context, path):
        return 0


class BitRun(Construct):
    """The bytes of a run of bitfields: skipped when parsing (each BitValue read its bits),
    written when building from the fields' bits, with every other bit zero."""

    def __init__(self, size: int, fields: tuple, big: bool = False):
        super().__init__()
        self.size, self.big = size, big
        self.fields = fields  # (name, shift) of each named bitfield
        self.flagbuildnone = True

    def _parse(self, stream, context, path):
        stream_read(stream, self.size, path)
        return None

    def _build(self, obj, stream, context, path):
        value = 0
        for name, shift in self.fields:
            value |= context[name] << shift
        stream_write(stream, value.to_bytes(self.size, _order(self.big)), self.size, path)
        return None

    def _sizeof(self, context, path):
        return self.size


def _order(big: bool) -> str:
    return "big" if big else "little"


# ---- views


def bits_property(at: int, size: int, shift: int, width: int, is_signed: bool, label: str, doc: str,
                  enum_type=None, is_flag=False, big: bool = False):
    """A bitfield of a view: reads the `size` bytes at `at` and keeps its bits; a write reads
    those bytes, replaces only the field's bits and writes them back."""
    load, store = _window(at, size, big)
    mask = (1 << width) - 1
    decode = members(enum_type) if enum_type is not None else flag if is_flag else None
    low, high = limits(width, is_signed)

    def get(view):
        try:
            value = load(view) >> shift & mask
        except (struct.error, ValueError):  # the buffer shrank or was closed under the view
            raise _lost(view, label, at, size) from None
        if is_signed:
            value = signed(value, width)
        return value if decode is None else decode(value, value)

    def set_(view, value):
        if enum_type is not None and isinstance(value, str):
            value = _member(enum_type, value, label)
        if not isinstance(value, int):
            raise TypeError(f"{label}: expected an int, got {type(value).__name__}")
        if not low <= value <= high:
            raise ValueError(f"{label}: {value} does not fit in {width} {'signed ' if is_signed else ''}bits "
                             f"({low}..{high})")
        try:
            store(view, load(view) & ~(mask << shift) | (value & mask) << shift)
        except (struct.error, ValueError):
            raise _lost(view, label, at, size) from None
        except TypeError as error:
            raise _write_error(view, label, error) from None
    return property(get, set_, doc=doc)


def _window(at: int, size: int, big: bool) -> tuple:
    """(load, store) of the integer in `size` bytes at `at` of a view, in the arch's order."""
    order = _order(big)
    if size in _CODES:
        codec = struct.Struct((">" if big else "<") + _CODES[size])
        unpack, pack = codec.unpack_from, codec.pack_into

        def load(view):
            return unpack(view._buf, view._off + at)[0]

        def store(view, raw):
            pack(view._buf, view._off + at, raw)
        return load, store

    def load_bytes(view):
        start = view._off + at
        with memoryview(view._buf) as whole:
            raw = whole.cast("B")[start:start + size]
        if raw.nbytes != size:  # a slice past the end is only shorter: refuse as struct does
            raise struct.error(f"{size} bytes needed at offset {start}")
        return int.from_bytes(raw, order)

    def store_bytes(view, raw):
        start = view._off + at
        with memoryview(view._buf) as whole:
            whole.cast("B")[start:start + size] = raw.to_bytes(size, order)
    return load_bytes, store_bytes


def _member(enum_type: "type[enum.Enum]", name: str, label: str):
    try:
        return enum_type[name]
    except KeyError:
        raise ValueError(f"{label}: {enum_type.__name__} has no member {name!r}") from None


# ---- introspection


def bit_positions(con: Construct, base: int = 0, prefix: str = "") -> dict:
    """(first bit, width) of every bitfield the field-by-field constructs declare, nested
    ones as dotted paths, from the constructs' own sizes; the layout test compares it with
    the spec. The first bit is the allocation position in address order (DWARF's
    DW_AT_data_bit_offset): on a big-endian arch it counts from each byte's top bit."""
    from ._runtime import Anonymous, FastStruct, FixedUnion, Named, _unwrap, _unwrap_renamed
    found, offset = {}, base
    outer = _unwrap(con)
    for sub in outer.subcons:
        inner = _unwrap_renamed(sub)
        if isinstance(inner, Anonymous):  # its members (and their bitfields) are the parent's
            found.update(bit_positions(inner.subcon, offset, prefix))
        elif sub.name and isinstance(inner, BitValue):
            found[prefix + sub.name] = (offset * 8 + _allocated(inner), inner.width)
        elif sub.name and isinstance(inner, (Named, FastStruct)):
            found.update(bit_positions(inner, offset, f"{prefix}{sub.name}."))
        if isinstance(outer, FixedUnion):
            continue  # every member of a union starts where the union does
        try:
            offset += sub.sizeof()
        except SizeofError:
            break  # a flexible array runs to the end, and no bitfield follows one
    return found


def _allocated(field: BitValue) -> int:
    """Where a field's bits start in address order inside its run's bytes."""
    return field.size * 8 - field.shift - field.width if field.big else field.shift
