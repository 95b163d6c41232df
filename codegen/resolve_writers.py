"""Who writes what, read from the spec: `sides:`, `writer:`, `atomic:` and `cacheline:`.

A spec that shares memory between parties names them once (`sides: [runtime, stub]`); a field
(or a struct, for all of its fields) says which of them write it, `both` meaning every side.
Nothing here is free text: a side is a lower_snake name from `grammar.SIDE`, a mode one of two
words, so none of it needs escaping in any output. The layout checks that use these facts are in
`cachelines.py`.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Optional

from . import grammar
from .errors import fail
from .ir import BitField, EnumRef, Field, Pointer, Prim
from .load import Scalar, Seq
from .primitives import PRIMITIVES

CACHELINE_MODES = ("check", "separate")


def _word(node, what: str) -> str:
    if not isinstance(node, Scalar) or not isinstance(node.value, str):
        raise fail(node.pos, f"{what} must be a name, e.g. runtime")
    return node.value


def side_names(node) -> tuple:
    """`sides: [runtime, stub]`: distinct lower_snake names, at most `grammar.MAX_SIDES`."""
    if node is None:
        return ()
    if not isinstance(node, Seq) or not node.items:
        raise fail(node.pos, "sides must list the parties that write the memory", "e.g. sides: [runtime, stub]")
    if len(node.items) > grammar.MAX_SIDES:
        raise fail(node.pos, f"sides lists {len(node.items)} parties; at most {grammar.MAX_SIDES}")
    names = []
    for item in node.items:
        name = _word(item, "a side")
        if not grammar.SIDE.fullmatch(name) or len(name) > grammar.MAX_SIDE_LEN:
            raise fail(item.pos, f"side {name!r} is not a lower_snake name of at most {grammar.MAX_SIDE_LEN} "
                       "characters", "e.g. runtime, stub, device")
        if name == grammar.ALL_SIDES:
            raise fail(item.pos, f"'{name}' cannot name a side: `writer: {name}` means every side")
        if name in names:
            raise fail(item.pos, f"side '{name}' is listed twice")
        names.append(name)
    return tuple(names)


def writers(node, sides: tuple, owner: str) -> Optional[frozenset]:
    """`writer: stub`, `writer: [runtime, stub]` or `writer: both` -> the frozenset of sides."""
    if node is None:
        return None
    if not sides:
        raise fail(node.pos, f"{owner} names a writer, but the spec declares no sides",
                   "declare them at the top: sides: [runtime, stub]")
    items = node.items if isinstance(node, Seq) else (node,)
    if not items:
        raise fail(node.pos, f"the writer list of {owner} is empty", "name a side, or write `both`")
    found = set()
    for item in items:
        name = _word(item, "a writer")
        if name == grammar.ALL_SIDES:
            found.update(sides)
        elif name in sides:
            found.add(name)
        else:
            raise fail(item.pos, f"'{name}' is not a side of this spec",
                       "declared: " + ", ".join(sides) + f", or {grammar.ALL_SIDES}")
    return frozenset(found)


def cacheline_mode(node) -> Optional[str]:
    if node is None:
        return None
    mode = node.value if isinstance(node, Scalar) else None
    if mode not in CACHELINE_MODES:
        raise fail(node.pos, f"cacheline must be check or separate, not {mode!r}",
                   "check: report fields of different writers on one line; separate: pad them apart")
    return mode


def atomic(node, ref, name: str) -> bool:
    """`atomic: true` on a field of 4- or 8-byte integers, enums or pointers (or an array of
    them, each element then atomic). The size, alignment and line checks are per arch, in layout."""
    if node is None:
        return False
    if not isinstance(node, Scalar) or not isinstance(node.value, bool):
        raise fail(node.pos, "atomic must be true or false")
    if not node.value:
        return False
    element = ref
    while hasattr(element, "element"):
        element = element.element
    if isinstance(element, Prim) and (PRIMITIVES[element.name].word or PRIMITIVES[element.name].size in (4, 8)):
        return True
    if isinstance(element, (EnumRef, Pointer)):
        return True  # an enum's base is checked by size in layout; a pointer is a word on every arch
    raise fail(node.pos, f"field {name} cannot be atomic: only 4- and 8-byte integers, enums and pointers are",
               "make it u32 or u64 (or an array of them)")


def with_default_writers(members: tuple, default: Optional[frozenset]) -> tuple:
    """A struct's `writer:` given to each field and bitfield that does not name its own."""
    if default is None:
        return members
    return tuple(replace(m, writers=default) if isinstance(m, (Field, BitField)) and m.writers is None else m
                 for m in members)


def require_writers(members: tuple, mode: Optional[str], what: str) -> None:
    """Under `cacheline:` every named member must say who writes it: a silent default would
    hide exactly the sharing the mode is there to find."""
    if mode is None:
        return
    for member in members:
        if isinstance(member, (Field, BitField)) and member.names is not None and member.writers is None:
            raise fail(member.pos, f"{what} has `cacheline: {mode}`, but {member.names.canonical} does not say "
                       "who writes it", "give the field `writer:`, or the struct a default `writer:`")
