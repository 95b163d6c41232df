"""Atomic accessors of `atomic: true` fields in the Go target, and the layout-test facts that run them.

A field read and written by two sides at once must be reached through sync/atomic, on a pointer
to the field itself (Go 1.19's functions: atomic.LoadUint32(&s.X)). For a field `X`: `LoadX()`,
`StoreX(v)`, `CompareAndSwapX(old, next)`, and `AddX(delta)` for an integer (not an enum, whose
sum would leave its values, nor a pointer word); an array's accessors take the element's indexes
first. An enum field converts to its base integer and back, as the enum's own accessors do.
"""
from __future__ import annotations

from .. import escape as esc
from .. import layout_types as lay
from ..ir import Spec
from ..primitives import PRIMITIVES
from . import go_align
from .go_members import RECEIVER, Accessor, element_type, field_name

_INDEXES = "ijklmnop"
_STORED = {4: 0x01020304, 8: 0x0102030405060708}  # every byte differs, so a torn or shifted word shows


def accessors(spec: Spec, struct: lay.StructLayout) -> list:
    """The atomic accessors of the struct's `atomic` fields, in field order."""
    found = []
    for slot in _atomic_slots(struct):
        found += _field_accessors(spec, slot)
    return found


def _atomic_slots(struct) -> list:
    """Atomic fields Go can reach atomically: native byte order (the engine checked the rest)."""
    return [s for s in struct.named if isinstance(s, lay.FieldSlot) and s.field.atomic
            and s.scalar is not None and not s.scalar.order]


def _field_accessors(spec: Spec, slot) -> list:
    name, canonical = slot.field.names.go, slot.field.names.canonical
    prim = PRIMITIVES[slot.scalar.prim]
    value, base, suffix = element_type(spec, slot), prim.go, prim.go.capitalize()
    index = tuple(_INDEXES[:len(slot.shape)])
    which = f"element {', '.join(index)} of {canonical}" if index else canonical
    where = f"&{RECEIVER}.{field_name(slot)}" + "".join(f"[{i}]" for i in index)
    pointer = where if value == base else f"(*{base})({where})"
    wrap = (lambda text: text) if value == base else (lambda text: f"{value}({text})")
    raw = (lambda text: text) if value == base else (lambda text: f"{base}({text})")
    head = ", ".join(index) + " int, " if index else ""
    note = go_align.atomic_note(spec, prim.size)
    made = [
        _accessor(f"Load{name}", f"reads {which} with an atomic load.", note, head.rstrip(", "), f" {value}",
                  f"return {wrap(f'atomic.Load{suffix}({pointer})')}", canonical),
        _accessor(f"Store{name}", f"writes {which} with an atomic store.", note, f"{head}value {value}", "",
                  f"atomic.Store{suffix}({pointer}, {raw('value')})", canonical),
        _accessor(f"CompareAndSwap{name}", f"writes next to {which} only while it holds old, as one atomic "
                  "step, and reports whether it wrote.", note, f"{head}old, next {value}", " bool",
                  f"return atomic.CompareAndSwap{suffix}({pointer}, {raw('old')}, {raw('next')})", canonical),
    ]
    if _addable(slot):
        made.append(_accessor(f"Add{name}", f"adds delta to {which} atomically and returns the new value.", note,
                              f"{head}delta {value}", f" {value}", f"return atomic.Add{suffix}({pointer}, delta)",
                              canonical))
    return made


def _addable(slot) -> bool:
    return slot.scalar.enum is None and not slot.scalar.is_pointer


def _accessor(name: str, what: str, note: str, params: str, result: str, line: str, field: str) -> Accessor:
    doc = tuple(esc.go_comment_lines(f"{name} {what}{note}", 76))
    return Accessor(doc, name, params, result, (line,), ("sync/atomic",), field)


# ---- the layout tests run every accessor ---------------------------------------


def test_group(spec: Spec, struct: lay.StructLayout, go_name: str, exported: str, fact) -> tuple:
    """(test name, setup, facts) that store then load, swap and add through each accessor, or
    None. The struct is allocated (`new`): Go aligns the first word of an allocation to 8 on
    every arch, which 64-bit atomics need on 386 and arm."""
    facts = []
    for slot in _atomic_slots(struct):
        facts += _round_trips(spec, f"{struct.name}.{slot.field.names.canonical}", slot, fact)
    return (f"TestAtomics{exported}", f"v := new({go_name})", facts) if facts else None


def _round_trips(spec: Spec, label: str, slot, fact) -> list:
    name, what = slot.field.names.go, f"{label}: atomic"
    value = element_type(spec, slot)
    index = ", ".join(str(n - 1) for n in slot.shape)  # the last element: the bounds are the spec's
    at = index + ", " if index else ""
    load = f"func() {value} {{ return v.Load{name}({index}) }}" if index else f"v.Load{name}"
    store = f"func(x {value}) {{ v.Store{name}({at}x) }}" if index else f"v.Store{name}"
    cas = (f"func(o, n {value}) bool {{ return v.CompareAndSwap{name}({at}o, n) }}" if index
           else f"v.CompareAndSwap{name}")
    stored = _STORED[PRIMITIVES[slot.scalar.prim].size]
    found = [fact("expectValue", f"{what} store then load", f"uint64(stored({store}, {load}, {stored:#x}))",
                  str(stored)),
             fact("expectValue", f"{what} compare and swap", f"uint64(swapped({store}, {cas}, {load}, 1, 2))", "2")]
    if _addable(slot):
        add = f"func(d {value}) {value} {{ return v.Add{name}({at}d) }}" if index else f"v.Add{name}"
        found.append(fact("expectValue", f"{what} add", f"uint64(added({store}, {add}, 40, 2))", "42"))
    return found

