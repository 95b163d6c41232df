"""abi-diff's view of writers, atomics and cache lines (issue 20).

Who writes a field and whether it is accessed atomically are in no byte: a change of either is
reported as a change that moves no byte (never breaking by itself, though both sides' code must
follow it). A field that lands on another cache line, counted from its struct's start with the
combination's line size, changes which writes evict it: reported with the layout changes, beside
the move that caused it. Only specs that name sides (either version) are compared this way, so
the diff of a spec without writers is what it always was.
"""
from __future__ import annotations

from .. import cachelines
from .. import layout_types as lay
from ..layout_walk import visible_runs, visible_slots
from .abidiff_report import Change


def changes(arch, struct: str, old: lay.Layout, new: lay.Layout) -> list:
    """Writer, atomic and cache-line changes of the fields and bitfields both versions name."""
    if not (cachelines.has_writers(old.spec) or cachelines.has_writers(new.spec)):
        return []
    lines = (cachelines.layout_line(old), cachelines.layout_line(new))
    before, after = _members(old, struct), _members(new, struct)
    found = []
    for name, (old_member, old_offset, old_size) in before.items():
        if name not in after:
            continue
        new_member, new_offset, new_size = after[name]
        subject = f"{struct}.{name}"
        found += _line(arch, subject, (old_offset, old_size), (new_offset, new_size), lines)
        if old_member.writers != new_member.writers:
            was, now = cachelines.describe(old_member.writers), cachelines.describe(new_member.writers)
            found.append(Change(arch, "field-writers-changed", subject, f"{was} -> {now}"))
        if getattr(old_member, "atomic", False) != getattr(new_member, "atomic", False):
            now = "now atomic" if new_member.atomic else "no longer atomic"
            found.append(Change(arch, "field-atomic-changed", subject, now))
    return found


def _members(layout: lay.Layout, struct: str) -> dict:
    """Name -> (Field or BitField, offset in the struct, size in bytes) of every member C
    reaches by name (an anonymous member's too); a bitfield by its storage unit."""
    found = {slot.field.names.canonical: (slot.field, offset, getattr(slot, "size", 0))
             for slot, offset in visible_slots(layout.structs, struct)}
    for run, base in visible_runs(layout.structs, struct):
        for bit in run.fields:
            found[bit.field.names.canonical] = (bit.field, base + bit.unit_offset, bit.unit_size)
    return found


def _line(arch, subject: str, old: tuple, new: tuple, lines: tuple) -> list:
    """The cache lines a member spans, before and after; a change when they differ."""
    spans = [_span(offset, size, line) for (offset, size), line in zip((old, new), lines)]
    if spans[0] == spans[1]:
        return []
    word = "cache lines" if "-" in spans[0] + spans[1] else "cache line"
    return [Change(arch, "field-line-changed", subject, f"{word} {spans[0]} -> {spans[1]}"
                   + (f" (line size {lines[0]} -> {lines[1]})" if lines[0] != lines[1] else ""))]


def _span(offset: int, size: int, line: int) -> str:
    first, last = offset // line, (offset + max(size, 1) - 1) // line
    return str(first) if first == last else f"{first}-{last}"


def ordered(found: list, extra: list) -> list:
    """`extra` merged into `found`: a line change right after the same member's other changes."""
    result = list(found)
    for change in extra:
        at = max((i for i, c in enumerate(result) if c.subject == change.subject), default=len(result) - 1)
        result.insert(at + 1, change)
    return result

