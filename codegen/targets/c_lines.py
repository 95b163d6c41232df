"""Writers, atomics and cache lines in the C outputs (issue 20).

The header's member comments say who writes a field and whether it is atomic; the layout test
asserts, per arch, what the engine checked before laying the struct out: each atomic field
naturally aligned inside an aligned-enough struct and on one line, and under `cacheline:
separate` a size of whole lines with each writer group starting a line. The line size is
printed as a number (the combination's), so the asserts need no macro of the spec.
"""
from __future__ import annotations

from .. import cachelines
from .. import escape as esc
from .. import layout_types as lay
from ..layout_walk import visible_slots
from ..primitives import PRIMITIVES


def member_note(field) -> str:
    """`, written by runtime, atomic` after a member's offset comment, or nothing. Side names
    are checked identifiers, yet they are spec text: they go through the C comment escape."""
    notes = []
    if field.writers:
        notes.append("written by " + cachelines.side_names(field.writers))
    if field.atomic:
        notes.append("atomic")
    return esc.c_comment("".join(", " + note for note in notes))


def bits_note(member) -> str:
    """The same note for a named bitfield (bitfields are never atomic)."""
    writers = member.field.writers
    return esc.c_comment(", written by " + cachelines.side_names(writers)) if writers else ""


def facts(layout, struct_layout, decl, ctype: str) -> list:
    """(C condition, message) pairs for a struct's atomic fields and its separated lines."""
    atomics = [slot for slot, _ in visible_slots(layout.structs, struct_layout.name)
               if isinstance(slot, lay.FieldSlot) and slot.field.atomic]  # an anonymous member's too
    if not atomics and decl.cacheline != "separate":
        return []
    line, label = cachelines.layout_line(layout), decl.names.canonical
    found = [fact for slot in atomics for fact in _atomic_facts(ctype, label, slot, line)]
    if decl.cacheline == "separate":
        found.append((f"sizeof({ctype}) % {line} == 0", f"{label}: size: not a whole number of {line}-byte lines"))
        for name, offset in cachelines.group_starts(struct_layout.slots):
            member = _member_c(struct_layout, name)
            if member is None:  # a bitfield run: offsetof cannot name it, the DWARF check covers it
                continue
            found.append((f"offsetof({ctype}, {member}) % {line} == 0",
                          f"{label}.{name}: first of its writer group, not on a {line}-byte line"))
    return found


def _atomic_facts(ctype: str, label: str, slot, line: int) -> list:
    size, member = PRIMITIVES[slot.scalar.prim].size, slot.field.names.c
    where, offset = f"{label}.{slot.field.names.canonical}", f"offsetof({ctype}, {member})"
    return [(f"{offset} % {size} == 0", f"{where}: atomic, not at a multiple of its {size} bytes"),
            (f"_Alignof({ctype}) >= {size}", f"{where}: atomic, in a struct aligned to less than {size}"),
            (f"{offset} / {line} == ({offset} + {size} - 1) / {line}",
             f"{where}: atomic, crosses a {line}-byte cache line")]


def _member_c(struct_layout, name: str):
    """The C member name of the field `name` of the struct; None for a bitfield."""
    for slot in struct_layout.slots:
        if isinstance(slot, lay.FieldSlot) and slot.field.names.canonical == name:
            return slot.field.names.c
    return None
