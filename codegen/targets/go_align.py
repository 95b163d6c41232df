"""Go's own alignment rule per GOARCH, and the explicit padding that lands Go fields on C's offsets.

Go aligns an integer to its size, except an 8-byte one on the 32-bit GOARCHes (386, arm), which
it aligns to 4. C agrees on i386, but armhf's EABI aligns 8-byte integers to 8: there Go would
put a u64 field, or a struct holding one, before the offset C gives it, and would size such a
struct by 4 where C rounds it to 8. So the target places every field itself: where Go's rule
lands an item before C's offset, a `_ [n]byte` row fills the difference, and a struct shorter in
Go than in C gets tail bytes, so arrays of it step by C's size. Go's alignment of every type is
at most C's natural one on every arch here, so Go never lands an item after C's offset; `place`
still refuses that case rather than print a struct whose tests would fail.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import fail
from ..primitives import ARCHS

# Where Go's alignment of an integer (inside a struct) differs from its size: (GOARCH, size) -> align.
_SMALLER = {("386", 8): 4, ("arm", 8): 4}
_INTEGERS = {"byte": 1, "uint8": 1, "int8": 1, "uint16": 2, "int16": 2, "uint32": 4, "int32": 4,
             "uint64": 8, "int64": 8}


def int_align(goarch: str, size: int) -> int:
    """Go's alignment of a `size`-byte integer on `goarch`."""
    return _SMALLER.get((goarch, size), size)


def type_align(goarch: str, go_type: str, named) -> int:
    """Go's alignment of a type the target prints (`uint64`, `[4][2]uint16`, `Inner`): an
    array's is its element's; `named(name)` gives a generated struct's or enum's."""
    element = go_type.rsplit("]", 1)[-1]
    if element in _INTEGERS:
        return int_align(goarch, _INTEGERS[element])
    return named(element)


def atomic_note(spec, size: int) -> str:
    """sync/atomic needs a 64-bit word 8-byte aligned, which Go itself guarantees only where it
    aligns such words to 8; on 386 and arm the layout (C's) decides, so an accessor's doc says so."""
    narrow = [ARCHS[arch].goarch for arch in spec.archs if int_align(ARCHS[arch].goarch, size) < size]
    if size != 8 or not narrow:
        return ""
    return (f" On {' and '.join(narrow)} the value must be at an 8-byte aligned address (Go aligns 64-bit "
            "words to 4 there, and sync/atomic panics otherwise).")


@dataclass(frozen=True)
class Item:
    """A Go field to place: its row (a go._Row), C's offset and size for it, Go's alignment."""

    row: object
    offset: int
    size: int
    align: int


@dataclass(frozen=True)
class Placed:
    rows: tuple
    end: int  # where Go's last field ends
    align: int  # Go's alignment of the struct so far (its widest field's)


def place(items: list, pad_row, pos, what: str) -> Placed:
    """The rows of `items` in order, with a `pad_row(n)` before each item that Go's rule would
    place `n` bytes before C's offset. `what` names the struct and arch for the refusal."""
    rows, at, align = [], 0, 1
    for item in items:
        start = round_up(at, item.align)
        if start > item.offset:
            raise fail(pos, f"the Go target cannot express {what}: Go would place a field at offset {start}, "
                       f"after C's {item.offset}", "leave Go out with a top-level `targets: [c, python]`")
        if start < item.offset:
            rows.append(pad_row(item.offset - at))
        rows.append(item.row)
        at, align = item.offset + item.size, max(align, item.align)
    return Placed(tuple(rows), at, align)


def tail(placed: Placed, size: int, pad_row, zero_size_last: bool) -> tuple:
    """The placed rows plus tail bytes when Go's size would fall short of C's. Go adds a byte
    after a trailing zero-length array (so that its address stays inside the object), then
    rounds; when that still falls short (armhf, where Go aligns the struct to 4 and C to 8) the
    tail bytes follow the array, which keeps its offset. When it overshoots, nothing helps:
    `go._flex_difference` refuses the struct."""
    end = placed.end + 1 if zero_size_last else placed.end
    if round_up(end, placed.align) >= size:
        return placed.rows
    return placed.rows + (pad_row(size - placed.end),)


def round_up(value: int, align: int) -> int:
    return (value + align - 1) // align * align
