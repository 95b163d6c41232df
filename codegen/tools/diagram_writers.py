"""Byte maps coloured by writer, for a spec with `sides:`.

Each writer set gets a field colour of the diagrams' fixed palette (classes f0..f7), indexed by
side order: side i alone is f<i>; sets of several sides follow, in the order of their sides, so
the same side has the same colour in every diagram of the spec. A field whose writers the spec
does not name is drawn in a neutral class. The legend names each side.
"""
from __future__ import annotations

from .. import cachelines

PALETTE = 8
UNNAMED = "r4"  # a pale colour with an outline, unlike any field colour


def palette(spec) -> dict:
    """Writer set -> class: one side each first, then the sets of several sides the spec uses."""
    sides = list(spec.sides)
    colours = {frozenset((side,)): f"f{index % PALETTE}" for index, side in enumerate(sides)}
    shared = {f.writers for d in spec.structs for f in _fields(d) if f.writers and len(f.writers) > 1}
    for index, writers in enumerate(sorted(shared, key=lambda w: sorted(sides.index(s) for s in w))):
        colours[writers] = f"f{(len(sides) + index) % PALETTE}"
    return colours


def _fields(decl):
    return [m for m in decl.members if hasattr(m, "writers")]


def colour(colours: dict, writers) -> str:
    return colours.get(writers, UNNAMED) if writers else UNNAMED


def note(writers) -> str:
    """`, written by stub` for a segment's hover title, or nothing."""
    return f", {cachelines.describe(writers)}" if writers else ""


def legend_entries(colours: dict, used: set) -> list:
    """(class, text) for every side, each shared set drawn, and unnamed writers when drawn."""
    entries = [(cls, cachelines.describe(writers)) for writers, cls in colours.items()
               if len(writers) == 1 or writers in used]
    if None in used:
        entries.append((UNNAMED, "no writer named"))
    return entries
