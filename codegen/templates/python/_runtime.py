"""Building blocks shared by the per-arch modules of this package.

Three ways to read a struct, all generated from the same layout:

* `FastStruct`: a construct object that parses and builds through one precompiled
  `struct.Struct`; the arch modules' `Msg`, `ThreadContext`, ... are these. Parsing gives
  a `Value`: a construct Container whose fields also read as attributes at dict speed.
* `View`: a zero-copy window on live memory whose properties read or write one field.
* `numpy_dtype`: a numpy structured dtype for decoding many records at once (numpy is
  imported only when a dtype is asked for).
"""
from __future__ import annotations

import enum
import io
import mmap
import operator
import os
import struct
import sys
from typing import Any, Literal

from construct import (Adapter, Construct, ConstructError, Container, FormatFieldError, ListContainer, Padding,
                       RangeError, Renamed, SizeofError, StreamError, Subconstruct, Union, UnionError, stream_read,
                       stream_write)
from construct.lib import integer2bytes

# ---- the field-by-field construct pieces (the reference the fast path is tested against)


class Named(Subconstruct):
    """Adds a struct's name to construct's error path without making it a container key.

    construct's own `"name" / X` would also make an enclosing Struct store the value under
    that name; this wrapper only labels errors, so `Msg.parse(b"")` reports
    "(parsing) -> Msg -> self" and the struct can still be nested under any field name.
    """

    def __init__(self, label: str, subcon: Construct):
        super().__init__(subcon)
        self.label = label

    def _parse(self, stream, context, path):
        return self.subcon._parsereport(stream, context, f"{path} -> {self.label}")

    def _build(self, obj, stream, context, path):
        return self.subcon._build(obj, stream, context, f"{path} -> {self.label}")

    def _sizeof(self, context, path):
        return self.subcon._sizeof(context, f"{path} -> {self.label}")

    # construct's compiler would otherwise treat this wrapper as opaque and fall back to
    # the interpreted parser for the whole struct.
    def _emitparse(self, code):
        return self.subcon._compileparse(code)

    def _emitbuild(self, code):
        return self.subcon._compilebuild(code)


class Gap(Subconstruct):
    """Padding (explicit, or a hole the C rules insert): skipped when parsing, zeros when building."""

    def __init__(self, size: int, label: str):
        super().__init__(Padding(size))
        self.label = label

    def _parse(self, stream, context, path):
        return self.subcon._parsereport(stream, context, f"{path} -> ({self.label})")

    def _build(self, obj, stream, context, path):
        return self.subcon._build(obj, stream, context, f"{path} -> ({self.label})")

    def _emitparse(self, code):
        return self.subcon._compileparse(code)

    def _emitbuild(self, code):
        return self.subcon._compilebuild(code)


class EnumField(Adapter):
    """An integer that parses to an IntEnum member when the value is known, else to the plain int."""

    def __init__(self, subcon: Construct, enum_type: type):
        super().__init__(subcon)
        self.enum_type = enum_type

    def _decode(self, obj, context, path):
        try:
            return self.enum_type(obj)
        except ValueError:
            return obj

    def _encode(self, obj, context, path):
        return enum_int(self.enum_type, obj, path, None)


class Flag(Adapter):
    """A boolean stored in an integer; values other than 0 and 1 stay ints so they round-trip."""

    def _decode(self, obj, context, path):
        return bool(obj) if obj in (0, 1) else obj

    def _encode(self, obj, context, path):
        return int(obj)


class IntEnum(enum.IntEnum):
    """Base of the generated enums: printing shows the name and the number."""

    def __str__(self) -> str:
        return f"{type(self).__name__}.{self.name}({int(self)})"


class FixedUnion(Union):
    """A C union of `size` bytes: construct's Union with a fixed size.

    Parsing reads every member from the same start (a Container holding them all) and
    leaves the stream after the whole union. Building writes one member: the first, in
    spec order, whose name the given mapping has (as construct's Union chooses), then
    zeros up to `size`. Members that are reserved space are never chosen.
    """

    def __init__(self, size: int, *subcons):
        super().__init__(None, *subcons)
        self.size = size

    def _parse(self, stream, context, path):
        obj = super()._parse(stream, context, path)  # leaves the stream at the union's start
        stream_read(stream, self.size, f"{path} -> (tail padding)")  # every member fitted: only that is left
        return obj

    def _build(self, obj, stream, context, path):
        for sub in self.subcons:
            anonymous = _unwrap_renamed(sub)
            if isinstance(anonymous, Anonymous) and any(name in obj for name in anonymous.names):
                member = io.BytesIO()
                anonymous.subcon._build(obj, member, context, path)  # its members are this union's
                data = member.getvalue()
                stream_write(stream, data + bytes(self.size - len(data)), self.size, path)
                return obj
            if sub.name and sub.name in obj:
                member = io.BytesIO()
                sub._build(obj[sub.name], member, context, path)
                data = member.getvalue()
                stream_write(stream, data + bytes(self.size - len(data)), self.size, path)
                return obj
        raise UnionError(f"cannot build: name one of the members {_member_names(self.subcons)}", path=path)

    def _sizeof(self, context, path):
        return self.size


class Anonymous(Subconstruct):
    """An anonymous struct or union member (C11) of a field-by-field struct. It parses to a
    Container of its own, which `Flattened` around the parent merges into the parent's; it
    builds from the parent's mapping itself (construct's Struct passes that in the context),
    so its members are given as the parent's own. `names` are the members it holds."""

    def __init__(self, subcon: Construct, names: tuple):
        super().__init__(subcon)
        self.names = names
        self.flagbuildnone = True  # the parent hands over no value of its own for it

    def _parse(self, stream, context, path):
        return self.subcon._parsereport(stream, context, path)

    def _build(self, obj, stream, context, path):
        return self.subcon._build(context if obj is None else obj, stream, context, path)


class Flattened(Adapter):
    """A field-by-field struct or union with anonymous members (stored under `keys`): their
    parsed Containers are merged into the parent's in place, as C reaches their members."""

    def __init__(self, keys: tuple, subcon: Construct):
        super().__init__(subcon)
        self.keys = keys

    def _decode(self, obj, context, path):
        flat = Container()
        for key, value in obj.items():
            if key in self.keys:
                flat.update(value)
            else:
                flat[key] = value
        return flat

    def _encode(self, obj, context, path):
        return obj


def _member_names(subcons) -> str:
    return ", ".join(sub.name for sub in subcons if sub.name)


# ---- parsed values


class Value(Container):
    """Base of the generated value classes (`MsgValue`, ...): a construct Container, so
    equality, item access and assignment, `dict(value)` and printing work as before.

    construct reads `value.field` through a Python `__getattr__`; each generated subclass
    declares a property per field that reads the item in C instead (`field_property`),
    about as fast as `value["field"]`. Setting an attribute still stores the item, through
    Container's own `__setattr__`.
    """

    __slots__ = ()


def field_property(name: str) -> property:
    """A value class's read of item `name` as an attribute."""
    return property(operator.itemgetter(name))


class MissingFieldError(ConstructError, KeyError):
    """A mapping given to `build` lacks a field: a construct error naming the struct and
    the field, and still a KeyError for code written against the old bare one."""

    def __init__(self, message: str, path: str):
        ConstructError.__init__(self, message, path=path)

    def __str__(self) -> str:
        return Exception.__str__(self)


# ---- the fast parsers


class FastStruct(Construct):
    """A fixed-size struct parsed and built by one precompiled `struct.Struct`.

    The generator flattens nested structs and arrays into one format string (padding as
    `x`), and writes per struct: `unpack(buffer, offset=0)`, which unpacks the tuple and
    builds the nested value objects from it (raising the short-buffer error itself);
    `values(obj, path)`, which flattens a mapping into the tuple to pack, converting enum
    names and checking lengths; and, for a fixed-size struct, `pack(obj, path)`, which
    packs the mapping's items straight into the format and falls back to `pack_slow` (the
    `values` path, whose errors name the field) only when that fails.

    The calls users make are those generated functions themselves, set on the instance
    (`Msg.parse(data)` is one call of a generated function, with no method in between).
    Everything construct needs (`_parse`, `_build`, `_sizeof`) is implemented on top, so
    the object still composes with `Array`, `Struct`, `Pointer` and the rest. `reference`
    is the equivalent field-by-field construct Struct, kept for introspection and as the
    oracle of the tests.
    """

    def __init__(self, label, layout, unpack, values, reference, slots, pack=None):
        super().__init__()
        self.label = label  # not `name`: construct reserves that for `"field" / X`
        self.format = layout
        self.size = layout.size
        self._unpack = unpack
        self._values = values
        self.reference = reference
        self._slots = slots  # (start, size, path label, nested FastStruct or None)
        # Instance attributes win over the methods below: one call on the hot path.
        self.parse = self.unpack_from = unpack
        if pack is not None:
            self.build = self.pack = pack

    # -- the calls users make (the generated functions above replace the first ones)

    def parse(self, data, **contextkw):
        return self._unpack(data)

    def unpack_from(self, buffer, offset=0):
        """The value at `offset` in any buffer (an mmap, say), without copying the buffer."""
        return self._unpack(buffer, offset)

    def build(self, obj, **contextkw):
        return self.pack(obj, "(building)")

    def sizeof(self, **contextkw):
        return self.size

    def pack(self, obj, path="(building)") -> bytes:
        """The bytes of `obj` (a mapping shaped like the parsed Container)."""
        return self.pack_slow(obj, path)

    def pack_slow(self, obj, path="(building)") -> bytes:
        """`pack` through the generated `values` function: enum names converted, lengths
        checked, and a value `struct` refuses reported with the field's name."""
        values = self.values(obj, path)
        try:
            return self.format.pack(*values)
        except struct.error as error:
            raise self._bad_value(obj, path, error) from None

    def values(self, obj, path):
        """The flat tuple to pack for `obj`; a missing field is a MissingFieldError."""
        try:
            return self._values(obj, path)
        except MissingFieldError:
            raise
        except KeyError as error:
            raise self.missing_error(obj, path, error) from None

    def pack_into(self, buffer, offset, obj) -> None:
        """Write `obj` into a writable buffer at `offset`, padding as zeros."""
        values = self.values(obj, "(building)")
        try:
            self.format.pack_into(buffer, offset, *values)
        except struct.error as error:
            raise self._bad_value(obj, "(building)", error) from None

    def zero(self):
        """A value with every field zero (enums as their zero member, arrays of zeros,
        nested structs zero too, a flexible array empty): a start for `build` that sets
        only the fields that matter, e.g. `Msg.build(dict(Msg.zero(), thread_id=7))`."""
        return self._unpack(bytes(self.size))

    # -- construct's protocol, for use inside other constructs

    def _parse(self, stream, context, path):
        try:
            data = stream.read(self.size)
        except Exception:
            raise StreamError(f"stream.read() failed, requested {self.size} bytes", path=path) from None
        if len(data) != self.size:
            raise self.short_error(len(data), path)
        return self._unpack(data)

    def _build(self, obj, stream, context, path):
        stream_write(stream, self.pack(obj, path), self.size, path)
        return obj

    def _sizeof(self, context, path):
        return self.size

    # -- errors that name the field, as the field-by-field parser would

    def missing_error(self, obj, path: str, error: KeyError) -> MissingFieldError:
        """The error for a mapping without a field this struct needs: the field's path below
        the struct when the nested mappings show where it is missing, else the key."""
        where = self.missing_key(obj) or str(error.args[0] if error.args else "")
        return MissingFieldError(f"{self.label} needs a value for every field; {where!r} is missing",
                                 path=f"{path} -> {self.label} -> {where}")

    def missing_key(self, obj) -> str:
        """The path of the first named field (nested structs searched) `obj` lacks, or ''."""
        try:
            for _, _, label, inner in self._slots:
                if label.startswith("("):
                    continue
                if label not in obj:
                    return label
                if isinstance(inner, FastStruct) and not isinstance(inner, FastUnion):
                    below = inner.missing_key(obj[label])
                    if below:
                        return f"{label} -> {below}"
        except TypeError:  # not a mapping
            return ""
        return ""

    def short_error(self, available: int, path: str) -> StreamError:
        return StreamError(f"{self.label} needs {self.size} bytes, found {available}",
                           path=f"{path} -> {self.label} -> {self.missing_field(available)}")

    def missing_field(self, available: int) -> str:
        """The path (below this struct) of the first field that `available` bytes do not hold."""
        for start, size, label, inner in self._slots:
            if start + size <= available:
                continue
            if inner is None:
                return label
            within = max(available - start, 0) % inner.size
            return f"{label} -> {inner.label} -> {inner.missing_field(within)}"
        return "(end)"

    def _bad_value(self, obj, path, error) -> Exception:
        """The error for a value struct refused: the field-by-field builder finds and names
        the field (this runs only after a failure, so its speed does not matter)."""
        context = Container(_parsing=False, _building=True, _sizing=False)
        context._params = context
        try:
            self.reference._build(obj, io.BytesIO(), context, path)
        except ConstructError as found:
            return found
        return StreamError(str(error), path=f"{path} -> {self.label}")

    def __repr__(self) -> str:
        return f"<FastStruct {self.label} ({self.size} bytes)>"


class FastUnion(FastStruct):
    """A C union parsed with one precompiled `struct.Struct` per member.

    Parsing gives a Container with every member read from the same bytes. Building writes
    one member, the first in spec order that the mapping names (as `FixedUnion`, its
    field-by-field reference, does), and zeros up to the union's size; `members` holds
    (name, pack function) in that order.
    """

    def __init__(self, label, layout, unpack, members, reference, slots):
        super().__init__(label, layout, unpack, None, reference, slots)
        self._members = members

    def pack(self, obj, path="(building)") -> bytes:
        for name, pack in self._members:
            if _names_member(obj, name):
                return self._pack_member(obj, name, pack, path)
        raise UnionError(f"cannot build: name one of the members {self._member_list()}", path=f"{path} -> {self.label}")

    def pack_anonymous(self, obj, path="(building)") -> bytes:
        """This union as an anonymous member, built from its parent's mapping `obj`: the first
        member in spec order that the mapping gives, as for a named union."""
        for name, pack in self._members:
            if _names_member(obj, name):
                return self._pack_member(obj, name, pack, path)
        raise UnionError(f"cannot build: give one of the anonymous union's members {self._member_list()}",
                         path=f"{path} -> {self.label}")

    def _pack_member(self, obj, name, pack, path) -> bytes:
        try:
            return pack(obj if isinstance(name, tuple) else obj[name], path)
        except struct.error as error:
            raise self._bad_value(obj, path, error) from None

    def _member_list(self) -> str:
        return ", ".join(n for name, _ in self._members for n in (name if isinstance(name, tuple) else (name,)))

    def pack_into(self, buffer, offset, obj) -> None:
        struct.pack_into(f"{self.size}s", buffer, offset, self.pack(obj))

    def __repr__(self) -> str:
        return f"<FastUnion {self.label} ({self.size} bytes)>"


def _names_member(obj, name) -> bool:
    """Whether a mapping gives a union member: `name`, or for an anonymous struct member
    (a tuple of its members' names), any of those."""
    return any(n in obj for n in name) if isinstance(name, tuple) else name in obj


class FlexStruct(FastStruct):
    """A struct that ends in a flexible array: a fixed part (`format`, `size` bytes) and a
    tail that runs to the end of the data.

    Parsing reads the array from every whole element the buffer (or the rest of the
    stream) holds past the fixed part; building writes the fixed part and then exactly the
    elements given, so parse and build round-trip. There is no fixed size: `sizeof()`
    raises SizeofError, and inside another construct it takes the rest of the stream.
    The generated `values` function returns the fixed part's values plus the tail's bytes.
    """

    def pack(self, obj, path="(building)") -> bytes:
        values = self.values(obj, path)
        try:
            return self.format.pack(*values[:-1]) + values[-1]
        except struct.error as error:
            raise self._bad_value(obj, path, error) from None

    def pack_into(self, buffer, offset, obj) -> None:
        data = self.pack(obj)
        struct.pack_into(f"{len(data)}s", buffer, offset, data)

    def sizeof(self, **contextkw):
        raise SizeofError(f"{self.label} ends in a flexible array: its size depends on the data")

    def _sizeof(self, context, path):
        raise SizeofError(f"{self.label} ends in a flexible array: its size depends on the data", path=path)

    def _parse(self, stream, context, path):
        data = stream.read()
        if len(data) < self.size:
            raise self.short_error(len(data), path)
        return self._unpack(data)

    def _build(self, obj, stream, context, path):
        data = self.pack(obj, path)
        stream_write(stream, data, len(data), path)
        return obj

    def short_error(self, available: int, path: str) -> StreamError:
        return StreamError(f"{self.label} needs at least {self.size} bytes, found {available}",
                           path=f"{path} -> {self.label} -> {self.missing_field(available)}")

    def __repr__(self) -> str:
        return f"<FlexStruct {self.label} ({self.size} bytes and a flexible array)>"


def available(buffer, offset: int) -> int:
    """Bytes of `buffer` from `offset` on, for the short-buffer error of a generated unpack."""
    return _nbytes(buffer) - offset


def _nbytes(data) -> int:
    try:
        with memoryview(data) as view:
            return view.nbytes
    except TypeError:
        return len(data)


# Helpers the generated unpack functions call.

def members(enum_type: "type[enum.Enum]"):
    """`lookup(value, default)` that finds the member of `enum_type` with that value."""
    return {member.value: member for member in enum_type}.get


flag = {0: False, 1: True}.get


def shaped(values, shape, convert=None):
    """Nested ListContainers of `shape` from a flat sequence, converting each element."""
    if convert is not None:
        values = [convert(value, value) for value in values]
    if len(shape) == 1:
        return ListContainer(values)
    step = len(values) // shape[0] if shape[0] else 0  # a zero-length array (`u8[0][4]`) has no rows
    return ListContainer(shaped(values[index * step:(index + 1) * step], shape[1:])
                         for index in range(shape[0]))


def struct_array(inner: FastStruct, data: bytes, shape):
    """An array of structs, unpacked from the bytes of its whole region."""
    flat = [inner._unpack(data, index * inner.size) for index in range(len(data) // inner.size)]
    return ListContainer(flat) if len(shape) == 1 else shaped(flat, shape)


class WideInts:
    """`count` 128-bit integers in one byte order, with the part of `struct.Struct`'s
    interface the generated code uses (`format`, `size`, `unpack`, `unpack_from`, `pack`,
    `pack_into`, raising `struct.error`): `struct` has no 16-byte code, so such fields are
    read as bytes and converted here, as fields in the other byte order are."""

    def __init__(self, order: str, signed: bool, count: int = 1):
        self.byteorder: Literal["little", "big"] = "little" if order == "<" else "big"
        self.signed, self.count = signed, count
        self.size = 16 * count
        self.format = f"{order}{count if count > 1 else ''}{'i' if signed else 'u'}128"  # for error messages
        self._raw = struct.Struct(f"{self.size}s")

    def unpack(self, raw) -> tuple:
        if len(raw) != self.size:
            raise struct.error(f"unpack requires a buffer of {self.size} bytes")
        order, signed = self.byteorder, self.signed
        return tuple(int.from_bytes(raw[at:at + 16], order, signed=signed) for at in range(0, self.size, 16))

    def unpack_from(self, buffer, offset: int = 0) -> tuple:
        return self.unpack(self._raw.unpack_from(buffer, offset)[0])

    def pack(self, *values) -> bytes:
        if len(values) != self.count:
            raise struct.error(f"pack expected {self.count} items for packing (got {len(values)})")
        try:
            return b"".join(int.to_bytes(value, 16, self.byteorder, signed=self.signed) for value in values)
        except (OverflowError, TypeError):
            raise struct.error("argument out of range" if all(isinstance(value, int) for value in values)
                               else "required argument is not an integer") from None

    def pack_into(self, buffer, offset: int, *values) -> None:
        self._raw.pack_into(buffer, offset, self.pack(*values))


int_from_bytes = int.from_bytes  # a lone 128-bit field's decoder, called inline by the unpack functions


def swapped(layout: struct.Struct, raw: bytes, convert=None):
    """A scalar stored in the other byte order than the struct around it (`endian:`)."""
    value = layout.unpack(raw)[0]
    return value if convert is None else convert(value, value)


def swapped_items(layout: struct.Struct, raw: bytes, shape, convert=None):
    """An array of such scalars, nested by `shape`."""
    values = layout.unpack(raw)
    if len(shape) == 1 and convert is None:
        return ListContainer(values)
    return shaped(values, shape, convert)


# Flexible array members: every whole element from `start` to the end of the buffer.

def flex_bytes(buffer, start: int) -> bytes:
    with memoryview(buffer) as whole:
        return bytes(whole.cast("B")[start:])


def flex_items(buffer, start: int, order: str, code: str, dims=(), convert=None, rows_of_bytes=False):
    """Integers (or fixed arrays of them, shaped by `dims`); `rows_of_bytes` gives each
    element of a `u8[][N]` as bytes, as construct's Bytes(N) would."""
    per = _count(dims) if dims else 1
    size = struct.calcsize(order + code) * per
    count = (_nbytes(buffer) - start) // size
    if rows_of_bytes:
        with memoryview(buffer) as whole:
            raw = whole.cast("B")[start:start + count * size]
            return ListContainer(bytes(raw[index * size:(index + 1) * size]) for index in range(count))
    values = struct.unpack_from(f"{order}{count * per}{code}", buffer, start)
    if not dims:
        return ListContainer(values if convert is None else [convert(value, value) for value in values])
    return shaped(values, (count,) + tuple(dims), convert) if count else ListContainer()


def flex_structs(inner: FastStruct, buffer, start: int, dims=()):
    """Structs (or fixed rows of them, shaped by `dims`): only whole rows count."""
    per = _count(dims) if dims else 1
    count = (_nbytes(buffer) - start) // (inner.size * per)
    flat = [inner._unpack(buffer, start + index * inner.size) for index in range(count * per)]
    return shaped(flat, (count,) + tuple(dims)) if dims and count else ListContainer(flat)


# Helpers the generated `values` functions call; `label` is only formatted on error.

def enum_int(enum_type: "type[enum.IntEnum]", value, path, label):
    """The integer to store for an enum field given a member, an int or a member's name."""
    if isinstance(value, str):
        try:
            return int(enum_type[value])
        except KeyError:
            raise ConstructError(f"{enum_type.__name__} has no member {value!r}",
                                 path=_join(path, label)) from None
    return int(value)


def flag_int(value, path, label):
    return int(value)


def exact_bytes(value, length: int, path, label) -> bytes:
    if isinstance(value, int):
        value = integer2bytes(value, length)
    elif type(value) is not bytes:
        value = bytes(value)
    if len(value) != length:
        raise StreamError(f"bytes object of wrong length, expected {length}, found {len(value)}",
                          path=_join(path, label))
    return value


def items(value, count: int, path, label):
    """`value` itself after checking its length, ready to be splatted into the pack call."""
    if len(value) != count:
        raise RangeError(f"expected {count} elements, found {len(value)}", path=_join(path, label))
    return value


def flat_items(value, shape, path, label, convert=None) -> list:
    """The elements of a (nested) array, outermost first, after checking every length."""
    items(value, shape[0], path, label)
    if len(shape) > 1:
        return [leaf for row in value for leaf in flat_items(row, shape[1:], path, label, convert)]
    if convert is not None:
        return [convert(element, path, label) for element in value]
    return list(value)


def pack_swapped(layout: struct.Struct, value, path, label, convert=None) -> bytes:
    if convert is not None:
        value = convert(value, path, label)
    try:
        return layout.pack(value)
    except struct.error as error:
        raise FormatFieldError(f"struct {layout.format!r} error during building, given value {value!r}: {error}",
                               path=_join(path, label)) from None


def pack_swapped_items(layout: struct.Struct, value, shape, path, label, convert=None) -> bytes:
    flat = flat_items(value, shape, path, label, convert)
    try:
        return layout.pack(*flat)
    except struct.error as error:
        raise FormatFieldError(f"struct {layout.format!r} error during building: {error}",
                               path=_join(path, label)) from None


def flex_pack_bytes(value, path, label) -> bytes:
    if isinstance(value, int) or isinstance(value, str):
        raise StreamError(f"expected bytes for a flexible array, got {type(value).__name__}", path=_join(path, label))
    return bytes(value)


def flex_pack_items(value, order: str, code: str, dims, path, label, convert=None, rows_of_bytes=False) -> bytes:
    """The bytes of a flexible array of integers: as many elements as `value` has."""
    if rows_of_bytes:
        return b"".join(exact_bytes(row, dims[0], path, label) for row in value)
    flat = flat_items(value, (len(value),) + tuple(dims), path, label, convert) if len(value) else []
    try:
        return struct.pack(f"{order}{len(flat)}{code}", *flat)
    except struct.error as error:
        raise FormatFieldError(f"struct error during building: {error}", path=_join(path, label)) from None


def flex_pack_structs(inner: FastStruct, value, path, label, dims=()) -> bytes:
    """As many elements (rows of `dims` structs) as `value` has."""
    elements = _struct_elements(value, (len(value),) + tuple(dims), path, label) if dims and len(value) else value
    return b"".join(inner.pack(element, _join(path, label)) for element in elements)


def pack_structs(inner: FastStruct, value, shape, path, label) -> bytes:
    """The bytes of a (nested) array of structs."""
    elements = _struct_elements(value, shape, path, label)
    return b"".join(inner.pack(element, _join(path, label)) for element in elements)


def _struct_elements(value, shape, path, label) -> list:
    items(value, shape[0], path, label)
    if len(shape) == 1:
        return list(value)
    return [element for row in value for element in _struct_elements(row, shape[1:], path, label)]


def _join(path, label) -> str:
    return path if label is None else f"{path} -> {label}"


# ---- zero-copy views

# memoryview.cast uses the host's byte order and sizes: an array is cast to its element
# format only where its layout's byte order is the host's, and where the host's native size
# of the format is the standard one.
_CASTABLE = {code for code in "bBhHiIqQ" if struct.calcsize(code) == struct.calcsize("<" + code)}
_HOST_ORDER = "<" if sys.byteorder == "little" else ">"


def _load_speedups():
    """The compiled half of this runtime (`_speedups.c`, built by `pip install` where a C
    compiler is), or None: not built, built for another runtime (its API number differs), or
    turned off with LAYOUTGEN_PURE_PYTHON=1. Both halves give the same values and errors."""
    if os.environ.get("LAYOUTGEN_PURE_PYTHON"):
        return None
    try:
        from . import _speedups  # type: ignore[attr-defined]
    except ImportError:
        return None
    return _speedups if getattr(_speedups, "API", None) == 1 else None


SPEEDUPS = _load_speedups()
# `fill(spec, values, start)` when compiled: the generated modules then define a second
# `_unpack_X` per struct that makes each value in one call.
fill = SPEEDUPS.fill if SPEEDUPS is not None else None
# `Parser(unpack_from, spec, short_error)` when compiled: the whole parse of a struct whose value
# is filled straight from its unpacked tuple, as one C call.
Parser = SPEEDUPS.Parser if SPEEDUPS is not None else None


class _PureViewBase:
    """What `_speedups.ViewBase` does, in Python: keep the buffer and the offset, checked."""

    __slots__ = ("_buf", "_off")
    _NESTED: tuple = ()

    def __init__(self, buffer, offset: int = 0):
        view_type: Any = type(self)  # a View subclass: `_checked_offset` and `_nest` are View's
        offset = view_type._checked_offset(buffer, offset)
        self._buf = buffer
        self._off = offset
        if self._NESTED:
            view_type._nest(self)


class View(SPEEDUPS.ViewBase if SPEEDUPS is not None else _PureViewBase):  # type: ignore[misc]
    """A window on one struct in a buffer; each field is a property over exactly its bytes.

    Works over anything with the buffer protocol (`mmap`, `bytearray`, `memoryview`,
    `bytes`). Reading a field unpacks only that field; writing packs only that field, and
    fails with TypeError when the buffer is read-only. Array fields are memoryviews on the
    buffer: while one is alive, an `mmap` cannot be closed nor a `bytearray` resized.

    The bounds are checked once, when the view is made; a buffer that shrinks (or an mmap
    closed) later is noticed by the read or write itself (`struct` refuses a short buffer),
    which then raises ValueError naming the view and field, so a field is never read short
    or stale.

    The views of nested structs are made with their parent and kept in its slots
    (`_NESTED` lists them: slot, view class, offset), so `parent.nested` is a C-level read
    of a slot. (Made on first use instead, they would need a `__getattr__`, which would
    slow every attribute read of every view.)
    """

    __slots__ = ()
    SIZE = 0
    PARSER: FastStruct
    _NESTED: tuple = ()

    def __init_subclass__(cls, **kwargs):
        """Give each struct's view the fastest constructor that still checks its bounds: in
        Python, one of its own with its size and nested views in closure cells (class
        attribute lookups through `self` cost more than the check); compiled, a direct call
        that skips the generic type call."""
        super().__init_subclass__(**kwargs)
        if "SIZE" in cls.__dict__:
            if SPEEDUPS is not None:
                SPEEDUPS.install(cls)
            else:
                cls.__init__ = _constructor(cls)  # type: ignore[method-assign]

    @classmethod
    def _checked_offset(cls, buffer, offset) -> int:
        """The offset as an int, after checking that SIZE bytes there lie inside `buffer`."""
        _check_bounds(cls, cls.SIZE, buffer, offset)
        return operator.index(offset)

    def _nest(self) -> None:
        for slot, view_type, at in self._NESTED:
            setattr(self, slot, view_type._at(self._buf, self._off + at))

    def at(self, offset: int):
        """A view of the same struct at another offset of the same buffer (bounds checked),
        for walking along records: `view.at(view._off + view.SIZE)`."""
        return type(self)(self._buf, offset)


    @classmethod
    def _at(cls, buffer, offset):
        """A nested view; its parent already checked the bounds."""
        view = cls.__new__(cls)
        view._buf = buffer
        view._off = offset
        if cls._NESTED:
            view._nest()
        return view

    def unpack(self):
        """The whole struct as the parser's Container (one unpack, no copy of the buffer)."""
        try:
            return self.PARSER.unpack_from(self._buf, self._off)
        except (struct.error, ValueError, StreamError):
            if _reachable(self, 0, self.SIZE):
                raise
            raise _lost(self, type(self).__name__, 0, self.SIZE) from None

    def pack(self, value) -> None:
        """Overwrite the whole struct from a mapping (or another view of the same struct)."""
        _put_struct(self.PARSER, self, 0, value, type(self).__name__)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} at offset {self._off} of {type(self._buf).__name__}>"


_LEN_IS_NBYTES = frozenset((bytes, bytearray, mmap.mmap))


def _check_bounds(view_type: type, size: int, buffer, offset) -> None:
    """Raise unless `size` bytes at `offset` lie inside `buffer` (the slow, general path)."""
    offset = operator.index(offset)
    available = len(buffer) if type(buffer) in _LEN_IS_NBYTES else _nbytes(buffer)
    if offset < 0 or offset + size > available:
        raise _bounds_error(view_type, offset, available)


def _constructor(view_type: "type[View]"):
    """`__init__` for one view class: an int offset into bytes, a bytearray or an mmap is
    checked inline; anything else takes `_check_bounds`."""
    size, nested, make_nested = view_type.SIZE, view_type._NESTED, view_type._nest
    simple = _LEN_IS_NBYTES

    def __init__(self, buffer, offset: int = 0):
        if type(offset) is not int or type(buffer) not in simple or offset < 0 or offset + size > len(buffer):
            _check_bounds(view_type, size, buffer, offset)
            offset = operator.index(offset)
        self._buf = buffer
        self._off = offset
        if nested:
            make_nested(self)
    return __init__


def _bounds_error(view_type: "type[View]", offset: int, available: int) -> ValueError:
    if offset < 0:  # `struct` would count it from the end of the buffer
        return ValueError(f"{view_type.__name__}: offset {offset} is negative")
    return ValueError(f"{view_type.__name__} needs {view_type.SIZE} bytes at offset {offset}; "
                      f"the buffer has {available}")


def _reachable(view: View, at: int, size: int) -> bool:
    """Whether the buffer still holds `size` bytes `at` bytes into the view."""
    try:
        return view._off + at + size <= _nbytes(view._buf)
    except ValueError:  # a closed mmap
        return False


def _lost(view: View, label: str, at: int, size: int) -> ValueError:
    """The error for a field whose bytes the buffer no longer holds: it was resized or
    closed after the view was made."""
    kind = type(view._buf).__name__
    try:
        available = _nbytes(view._buf)
    except ValueError:
        return ValueError(f"{label}: the buffer ({kind}) was closed after the view was made")
    start = view._off + at
    return ValueError(f"{label}: the buffer ({kind}) shrank to {available} bytes after the view was made; "
                      f"the field needs bytes {start}..{start + size - 1}")


class Scalar:
    """One primitive type as the views read and write it (byte order, struct code, range)."""

    def __init__(self, prim: str, order: str, code: str, low: int, high: int):
        self.prim, self.order, self.code, self.low, self.high = prim, order, code, low, high
        self.size = struct.calcsize(order + code)
        self._pack_into = struct.Struct(order + code).pack_into

    def reader(self, at: int):
        """`unpack_from(buffer, start)` of this type `at` bytes past `start`: the offset is
        folded into the format as pad bytes, so a read costs no addition."""
        return struct.Struct(f"{self.order}{at or ''}{'x' if at else ''}{self.code}").unpack_from

    def items(self, count: int):
        """A packer (`pack`, `pack_into`) of `count` values of this type."""
        return struct.Struct(f"{self.order}{count}{self.code}")

    def put(self, view: View, at: int, value, label: str) -> None:
        try:
            self._pack_into(view._buf, view._off + at, value)
        except struct.error:
            if not isinstance(value, int):
                raise TypeError(f"{label}: expected an int, got {type(value).__name__}") from None
            if self.low <= value <= self.high:
                raise _lost(view, label, at, self.size) from None
            raise ValueError(f"{label}: {value} is out of range for {self.prim} "
                             f"({self.low}..{self.high})") from None
        except ValueError:
            raise _lost(view, label, at, self.size) from None
        except TypeError as error:
            raise _write_error(view, label, error) from None


class WideScalar(Scalar):
    """A 128-bit integer type as the views read and write it: through `WideInts`."""

    def __init__(self, prim: str, order: str, signed: bool, low: int, high: int):
        self.prim, self.order, self.code, self.low, self.high = prim, order, "", low, high
        self.signed, self.size = signed, 16
        self._pack_into = WideInts(order, signed).pack_into

    def reader(self, at: int):
        raw = struct.Struct(f"{at or ''}{'x' if at else ''}16s").unpack_from
        byteorder, signed = "little" if self.order == "<" else "big", self.signed

        def unpack_from(buffer, offset=0):
            return (int.from_bytes(raw(buffer, offset)[0], byteorder, signed=signed),)
        return unpack_from

    def items(self, count: int):
        return WideInts(self.order, self.signed, count)


def _write_error(view: View, label: str, error: Exception) -> Exception:
    """Why `struct` refused to write (TypeError): a read-only buffer, or a closed mmap."""
    if not _reachable(view, 0, 0):
        return _lost(view, label, 0, 0)
    if _readonly(view._buf):
        return TypeError(f"{label}: the buffer ({type(view._buf).__name__}) is read-only")
    return error


def _readonly(buffer) -> bool:
    try:
        with memoryview(buffer) as view:
            return view.readonly
    except TypeError:
        return False


# Property factories: the generated view classes declare one property per field with these.

def scalar_property(codec: Scalar, at: int, label: str, doc: str, enum_type=None, is_flag=False):
    """An integer field; enums read as members (plain ints when unknown), flags as bools."""
    unpack = codec.reader(at)
    put, size = codec.put, codec.size
    decode = members(enum_type) if enum_type is not None else flag if is_flag else None
    # `unpack` raises on a buffer too short (struct.error) or closed (ValueError); the try
    # costs nothing until then.
    if decode is None:
        def get(view):
            try:
                return unpack(view._buf, view._off)[0]
            except (struct.error, ValueError):
                raise _lost(view, label, at, size) from None
    else:
        def get(view):
            try:
                raw = unpack(view._buf, view._off)[0]
            except (struct.error, ValueError):
                raise _lost(view, label, at, size) from None
            return decode(raw, raw)
    if enum_type is None:
        def set_(view, value):
            put(view, at, value, label)
    else:
        def set_(view, value):
            put(view, at, _enum_member(enum_type, value, label), label)
    if SPEEDUPS is not None:  # the same read and write, the read without a Python frame
        return SPEEDUPS.Field(unpack, decode, lambda view: _lost(view, label, at, size), set_, doc)
    return property(get, set_, doc=doc)


def _enum_member(enum_type: "type[enum.Enum]", value, label: str):
    """The value to store for an enum field given a member, an int or a member's name."""
    if isinstance(value, str):
        try:
            return enum_type[value]
        except KeyError:
            raise ValueError(f"{label}: {enum_type.__name__} has no member {value!r}") from None
    return value


def nested_property(view_type: "type[View]", at: int, label: str, doc: str, slot: str):
    """A nested struct: read as its view, kept in `slot` of the parent (see View._NESTED);
    assigned from a mapping or a view."""
    def set_(view, value):
        _put_struct(view_type.PARSER, view, at, value, label)
    return property(operator.attrgetter(slot), set_, doc=doc)


def array_property(codec: Scalar, at: int, shape: tuple, label: str, doc: str):
    """An array of integers: read as a memoryview on the buffer, or, when its elements are
    in the other byte order than the host's (a big-endian arch's module on a little-endian
    host, an `endian:` array), as (nested) tuples of their values, which a memoryview cannot
    give; assigned from a (nested) sequence, or from bytes for a u8 array."""
    count = _count(shape)
    nbytes, packer = count * codec.size, codec.items(count)
    cast, values = _castable(codec)
    if cast == "B" and len(shape) == 1:
        cast = None  # the raw byte view already is that

    def get(view):
        start = view._off + at
        try:
            with memoryview(view._buf) as whole:
                raw = whole.cast("B")[start:start + nbytes]
        except ValueError:
            raw = None
        if raw is None or raw.nbytes != nbytes:  # a slice past the end would just be shorter
            raise _lost(view, label, at, nbytes)
        if not count:  # a zero-length array: a memoryview takes no 0 in its shape, so rows are lists
            return (raw.cast(cast) if cast else raw) if len(shape) == 1 else shaped((), shape)
        if values:
            return _nest(packer.unpack(raw), shape)
        return raw.cast(cast, shape) if cast else raw

    def set_(view, value):
        if isinstance(value, (bytes, bytearray, memoryview)) and codec.size == 1 and len(shape) == 1:
            value = list(bytes(value))
        try:
            flat = flat_items(value, shape, label, None)
        except RangeError:
            raise ValueError(f"{label}: expected {'x'.join(map(str, shape))} elements") from None
        try:
            packer.pack_into(view._buf, view._off + at, *flat)
        except struct.error:
            bad = next((v for v in flat if not _fits(codec, v)), None)
            if bad is None:
                raise _lost(view, label, at, nbytes) from None
            raise ValueError(f"{label}: element {bad!r} is out of range for {codec.prim}") from None
        except ValueError:
            raise _lost(view, label, at, nbytes) from None
        except TypeError as error:
            raise _write_error(view, label, error) from None
    return property(get, set_, doc=doc)


def structs_property(view_type: "type[View]", at: int, shape: tuple, label: str, doc: str):
    """An array of structs: read as a (nested) tuple of views; assigned from a (nested)
    sequence of mappings."""
    count, step = _count(shape), view_type.SIZE

    def get(view):
        flat = [view_type._at(view._buf, view._off + at + index * step) for index in range(count)]
        return _nest(flat, shape)

    def set_(view, value):
        try:
            elements = _struct_elements(value, shape, label, None)
        except RangeError:
            raise ValueError(f"{label}: expected {'x'.join(map(str, shape))} elements") from None
        for index, element in enumerate(elements):
            _put_struct(view_type.PARSER, view, at + index * step, element, label)
    return property(get, set_, doc=doc)


def flex_property(codec: Scalar, at: int, dims: tuple, label: str, doc: str):
    """A flexible array of integers: read as a memoryview over every whole element from
    `at` to the end of the buffer; assigned from a sequence (or bytes), written from `at`
    on, which the buffer must have room for."""
    element = codec.size * (_count(dims) if dims else 1)
    cast, values = _castable(codec)
    if cast == "B" and not dims:
        cast = None  # the raw byte view already is that

    def get(view):
        start = view._off + at
        try:
            with memoryview(view._buf) as whole:
                raw = whole.cast("B")
                count = (raw.nbytes - start) // element
                raw = raw[start:start + count * element]
        except ValueError:
            count = -1
        if count < 0:  # the buffer now ends before the array starts
            raise _lost(view, label, at, 0)
        if values:
            flat = struct.unpack(f"{codec.order}{count * element // codec.size}{codec.code}", raw)
            return _nest(flat, (count,) + tuple(dims)) if dims and count else flat
        return raw.cast(cast, (count,) + tuple(dims)) if cast and count else raw

    def set_(view, value):
        if isinstance(value, (bytes, bytearray, memoryview)) and codec.size == 1 and not dims:
            value = list(bytes(value))
        try:
            flat = flat_items(value, (len(value),) + tuple(dims), label, None) if len(value) else []
        except RangeError:
            raise ValueError(f"{label}: every element must have shape {'x'.join(map(str, dims))}") from None
        try:
            struct.pack_into(f"{codec.order}{len(flat)}{codec.code}", view._buf, view._off + at, *flat)
        except struct.error as error:
            raise ValueError(f"{label}: {error} (the buffer must hold every element)") from None
        except ValueError:
            raise _lost(view, label, at, len(flat) * codec.size) from None
        except TypeError as error:
            raise _write_error(view, label, error) from None
    return property(get, set_, doc=doc)


def flex_structs_property(view_type: "type[View]", at: int, label: str, doc: str, dims=()):
    """A flexible array of structs (or of rows of them, shaped by `dims`): read as a tuple of
    views over every whole element to the end of the buffer (nested tuples for rows);
    assigned from a sequence of mappings (of rows of them), written from `at` on."""
    step = view_type.SIZE
    per = _count(dims) if dims else 1

    def get(view):
        start = view._off + at
        count = (_nbytes(view._buf) - start) // (step * per) if _reachable(view, at, 0) else -1
        if count < 0:  # the buffer now ends before the array starts, or was closed
            raise _lost(view, label, at, 0)
        flat = tuple(view_type._at(view._buf, start + index * step) for index in range(count * per))
        return _nest(flat, (count,) + tuple(dims)) if dims and count else flat

    def set_(view, value):
        elements = _struct_elements(value, (len(value),) + tuple(dims), label, None) if dims and len(value) else value
        if not _reachable(view, at, 0):
            raise _lost(view, label, at, len(elements) * step)
        if view._off + at + len(elements) * step > _nbytes(view._buf):
            raise ValueError(f"{label}: {len(value)} elements do not fit in the buffer")
        for index, element in enumerate(elements):
            _put_struct(view_type.PARSER, view, at + index * step, element, label)
    return property(get, set_, doc=doc)


def _castable(codec: Scalar) -> tuple:
    """(the format to cast an array's bytes to, or None; whether to read its values instead):
    a cast reads in the host's byte order, so an array in the other one is read as tuples
    of values, read-only so that a write to an element is refused rather than lost in a
    copy (128-bit elements, which neither a cast nor `struct` reads, stay raw bytes)."""
    if codec.code not in _CASTABLE:
        return None, False
    if codec.order == _HOST_ORDER or codec.size == 1:
        return codec.code, False
    return None, True


def _count(shape: tuple) -> int:
    count = 1
    for length in shape:
        count *= length
    return count


def _fits(codec: Scalar, value) -> bool:
    try:
        codec.items(1).pack(value)
        return True
    except struct.error:
        return False


def _nest(flat, shape: tuple) -> tuple:
    """Nested tuples of `shape` from a flat sequence."""
    if len(shape) == 1:
        return tuple(flat)
    step = len(flat) // shape[0] if shape[0] else 0
    return tuple(_nest(flat[index * step:(index + 1) * step], shape[1:]) for index in range(shape[0]))


def _put_struct(parser: FastStruct, view: View, at: int, value, label: str) -> None:
    if isinstance(value, View):
        value = value.unpack()
    if not _reachable(view, at, parser.size):  # else packing would blame the value
        raise _lost(view, label, at, parser.size)
    try:
        parser.pack_into(view._buf, view._off + at, value)
    except TypeError as error:
        raise _write_error(view, label, error) from None


# ---- numpy dtypes, built on first use so that importing the package never needs numpy


def numpy_dtype(table: dict, name: str, cache: dict):
    """The numpy structured dtype of struct `name`, from the generated `table`.

    `table[name]` is (size, fields), each field (name, offset, numpy type or None,
    nested struct name or None, array shape).
    """
    if name not in cache:
        import numpy

        size, fields = table[name]
        formats = []
        for _, _, scalar, nested, shape in fields:
            base = numpy.dtype(scalar) if nested is None else numpy_dtype(table, nested, cache)
            formats.append((base, shape) if shape else base)
        cache[name] = numpy.dtype({"names": [f[0] for f in fields], "formats": formats,
                                   "offsets": [f[1] for f in fields], "itemsize": size})
    return cache[name]


# ---- introspection


def field_offsets(con: Construct, base: int = 0, prefix: str = "") -> dict:
    """Offsets of every named field, nested struct fields as dotted paths, as construct sees them.

    Derived from the field-by-field constructs' own sizes, so tests can compare it with the spec.
    """
    struct_con = _unwrap(con)
    offsets, offset = {}, base
    for sub in struct_con.subcons:
        if isinstance(_unwrap_renamed(sub), Anonymous):  # its members are the parent's
            offsets.update(field_offsets(_unwrap_renamed(sub).subcon, offset, prefix))
        elif sub.name:
            offsets[prefix + sub.name] = offset
            inner = _unwrap_renamed(sub)
            if isinstance(inner, (Named, FastStruct)):
                offsets.update(field_offsets(inner, offset, f"{prefix}{sub.name}."))
        if isinstance(struct_con, FixedUnion):
            continue  # every member of a union starts where the union does
        try:
            offset += sub.sizeof()
        except SizeofError:
            break  # a flexible array (or a struct ending in one) runs to the end
    return offsets


def _unwrap_renamed(con: Construct) -> Construct:
    while isinstance(con, Renamed):
        con = con.subcon
    return con


def _unwrap(con: Construct) -> Construct:
    con = _unwrap_renamed(con)
    while isinstance(con, (Named, FastStruct, Flattened)):
        con = _unwrap_renamed(con.reference if isinstance(con, FastStruct) else con.subcon)
    return con

