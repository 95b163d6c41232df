"""Writers and cache lines in the layout, per combination of arch and parameters.

Two parties writing fields that share a cache line make each other's caches drop that line on
every write (false sharing). A struct with `cacheline: separate` is laid out so that each run
of fields with the same writers (a writer group, in declared order) starts on a line of its own:
the engine inserts explicit padding members, which every target prints as it prints `pad:`, and
rounds the size up to whole lines. `cacheline: check` keeps the declared layout and fails it when
fields of different writers meet on a line. Lines are counted from the struct's start, which is
where a line begins when the struct is placed on a line boundary (its alignment, under
`separate`). `atomic:` fields are checked here too: whole, naturally aligned, on one line.
"""
from __future__ import annotations

from typing import Optional

from . import expr as ex
from .errors import fail
from .ir import Padding, Struct
from .layout_types import BitsSlot, FieldSlot, PadSlot, round_up
from .primitives import PRIMITIVES

DEFAULT_LINE = 64
MIN_LINE, MAX_LINE = 8, 4096


def line_size(spec, evaluate) -> int:
    """The spec's `cacheline_size` on this combination (64 when not given): a power of two."""
    expression = spec.cacheline_size
    if expression is None:
        return DEFAULT_LINE
    for ref in ex.references(expression):
        if isinstance(ref, (ex.SizeOf, ex.OffsetOf)):
            raise fail(ref.pos, "cacheline_size cannot depend on a struct's layout, which depends on it",
                       "use a number, a constant or a parameter")
    size = evaluate(expression)
    if size < MIN_LINE or size > MAX_LINE or size & (size - 1):
        raise fail(ex.start(expression), f"cacheline_size is {size}; it must be a power of two from "
                   f"{MIN_LINE} to {MAX_LINE}")
    return size


def writers_of(member) -> Optional[frozenset]:
    """The writer set of a member the engine places: a field, or a run of bitfields (whose
    named members must agree, since a unit is written by read-modify-write as a whole)."""
    if isinstance(member, tuple):
        found = {m.writers for m in member if m.names is not None}
        if len(found) > 1:
            first, other = [m for m in member if m.names is not None and m.writers in found][:2]
            raise fail(other.pos, f"bitfields {first.names.canonical} ({describe(first.writers)}) and "
                       f"{other.names.canonical} ({describe(other.writers)}) share a storage unit but not "
                       "their writers", "bits of one unit are written together: give them one writer, or "
                       "a 0-bit field between them")
        return next(iter(found), None)
    return getattr(member, "writers", None)


def describe(writers: Optional[frozenset]) -> str:
    if not writers:
        return "no writer named"
    return "written by " + " and ".join(sorted(writers))


def line_pad(decl, offset: int, size: int, index: int) -> Padding:
    """The explicit padding that moves a writer group (or the struct's end) to a line."""
    return Padding(size=ex.Num(size, decl.pos), c_name=f"__line_pad{index}",
                   doc=f"keeps the next writer group off the line of offset {offset}", archs=None, pos=decl.pos)


class Groups:
    """`cacheline: separate` while a struct is placed: before a member whose writers differ
    from the group before it, pad to the next line; at the end, pad to a whole line. `line`
    is 0 for any other struct, which then gets no padding."""

    def __init__(self, decl: Struct, line: int):
        self.decl, self.line, self.writers, self.pads = decl, line, None, 0

    def enter(self, member, slots: list, offset: int) -> int:
        if not self.line:
            return offset
        writers = writers_of(member)
        if writers is None or writers == self.writers:
            return offset  # padding and reserved space stay with the group before them
        changed, self.writers = self.writers is not None, writers
        return self.pad(slots, offset) if changed else offset

    def close(self, slots: list, offset: int) -> int:
        return self.pad(slots, offset) if self.line else offset

    def pad(self, slots: list, offset: int) -> int:
        size = round_up(offset, self.line) - offset
        if size:
            slots.append(PadSlot(line_pad(self.decl, offset, size, self.pads), offset, size))
            self.pads += 1
        return offset + size


def check_lines(decl, slots, line: int, variant_key: str) -> None:
    """`cacheline: check`: no line holds fields of two different writer sets."""
    seen = {}  # line index -> (name, writers) of the first field found on it
    for name, writers, offset, size, pos in _written(slots):
        for index in range(offset // line, (offset + max(size, 1) - 1) // line + 1):
            other = seen.setdefault(index, (name, writers))
            if other[1] != writers:
                raise fail(pos, f"struct {decl.names.canonical}: {other[0]} ({describe(other[1])}) and {name} "
                           f"({describe(writers)}) share cache line {index} (bytes {index * line}.."
                           f"{(index + 1) * line - 1}) on {variant_key}",
                           "group the fields by writer, or let layoutgen pad them apart: cacheline: separate")


def _written(slots):
    """(name, writers, offset, size, pos) of every field and bitfield run among `slots`."""
    for slot in slots:
        if isinstance(slot, FieldSlot):
            yield slot.field.names.canonical, slot.field.writers, slot.offset, slot.size, slot.field.pos
        elif isinstance(slot, BitsSlot) and slot.fields:
            first = slot.fields[0].field  # a run whose named bitfields disagree is refused here
            yield first.names.canonical, writers_of(tuple(m.field for m in slot.members)), slot.offset, \
                slot.size, first.pos


def check_atomic(decl, slot, struct_align: int, line: int, variant_key: str) -> None:
    """An atomic field (each element of an atomic array) is 4 or 8 bytes, at an offset that is
    a multiple of its size in a struct aligned at least that much, and inside one line."""
    size = PRIMITIVES[slot.scalar.prim].size
    name, where = slot.field.names.canonical, f"on {variant_key}"
    if size not in (4, 8):
        raise fail(slot.field.pos, f"atomic field {name} is {size} bytes {where}; atomics are 4 or 8 bytes",
                   "give it (or its enum) a 4- or 8-byte type")
    if slot.offset % size:
        raise fail(slot.field.pos, f"atomic field {name} of {decl.names.canonical} is at offset {slot.offset} "
                   f"{where}, not a multiple of its {size} bytes", f"align it: `align: {size}` on the field")
    if struct_align < size:
        raise fail(slot.field.pos, f"atomic field {name} needs {size}-byte alignment, but {decl.names.canonical} "
                   f"is only {struct_align}-aligned {where}, so the field may sit across a {size}-byte boundary",
                   f"align it: `align: {size}` on the field")
    if slot.offset // line != (slot.offset + slot.size - 1) // line and not slot.shape:
        raise fail(slot.field.pos, f"atomic field {name} crosses a {line}-byte cache line {where}")


# ---- for the outputs: the line size of a laid-out combination, and who writes each line


def layout_line(layout) -> int:
    """The line size of a finished Layout's combination (its constants and parameters)."""
    from . import cint

    def lookup(node):
        if isinstance(node, ex.Ref) and node.name in layout.constants:
            return layout.constants[node.name], layout.constant_type(node.name)
        value = layout.variant.param(node.name)
        return value, cint.type_of_value(value)
    return line_size(layout.spec, lambda expression: ex.evaluate(expression, lookup))


def has_writers(spec) -> bool:
    """Whether the spec says who writes anything: only then do the outputs show writers."""
    return bool(spec.sides)


def written(slots):
    """(name, writers, offset, size) of each field and bitfield run that names its writers."""
    for name, writers, offset, size, _ in _written(slots):
        if writers:
            yield name, writers, offset, size


def line_writers(slots, line: int) -> dict:
    """Line index -> the distinct writer sets of the fields on it, in order of first appearance."""
    lines = {}
    for _, writers, offset, size, in written(slots):
        for index in range(offset // line, (offset + max(size, 1) - 1) // line + 1):
            found = lines.setdefault(index, [])
            if writers not in found:
                found.append(writers)
    return {index: tuple(sets) for index, sets in sorted(lines.items())}


def group_starts(slots) -> list:
    """(name, offset) of the first field of each writer group, in order: where `separate`
    starts a line (a field without writers stays in the group before it)."""
    starts, current = [], None
    for name, writers, offset, _ in written(slots):
        if writers != current:
            starts.append((name, offset))
            current = writers
    return starts


def side_names(writers) -> str:
    """`runtime and stub`: a writer set in a fixed (sorted) order."""
    return " and ".join(sorted(writers))
