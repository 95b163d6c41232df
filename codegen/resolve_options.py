"""The layout options of structs, unions and fields: packing, alignment and byte order.

`packed:` and a struct's `align:` may differ per arch (a list of archs, or a map keyed by arch
lists); a byte order is given to a field or to a whole struct, whose integer fields inherit it.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Optional

from .errors import fail
from .ir import BYTE_ORDERS, EnumRef, Field, Pointer, Prim, StructRef
from .load import Map, Scalar, Seq
from .resolve_nodes import string
from .resolve_scope import Scope, element_type

MAX_ALIGN = 4096


def byte_order(node, ref, owner: str) -> Optional[str]:
    """`endian: big|little` of a field (whose type is `ref`) or of a struct (`ref` None)."""
    if node is None:
        return None
    order = string(node, "endian")
    if order not in BYTE_ORDERS:
        raise fail(node.pos, f"unknown byte order '{order}'", "write endian: big or endian: little")
    if ref is not None and not is_integer(ref):
        raise fail(node.pos, f"field {owner} has a byte order but its type is {_type_kind(ref)}",
                   "only integers (and enums, flags and arrays of them) have a byte order")
    return order


def is_integer(ref) -> bool:
    """Whether a byte order means something for a field of this type: integers, flags and
    enums, alone or in (flexible) arrays."""
    return isinstance(element_type(ref), (Prim, EnumRef))


def _type_kind(ref) -> str:
    return {Pointer: "a pointer", StructRef: "a struct or union"}.get(type(element_type(ref)), "not an integer")


def default_byte_order(members: tuple, endian: Optional[str]) -> tuple:
    """A struct's `endian:` given to each integer field that has no byte order of its own."""
    if endian is None:
        return members
    return tuple(replace(m, endian=endian) if isinstance(m, Field) and m.endian is None and is_integer(m.type)
                 else m for m in members)


def packing(scope: Scope, node) -> frozenset:
    """`packed: true`, a list of archs (`[amd64]`), or a map of arch lists to true/false."""
    if node is None or (isinstance(node, Scalar) and isinstance(node.value, bool)):
        return frozenset(scope.archs) if node is not None and node.value else frozenset()
    if isinstance(node, Seq):
        return scope.archs_of(node)
    if isinstance(node, Map):
        chosen = set()
        for arch_list, value in _per_arch_map(scope, node, "packed"):
            if not isinstance(value, Scalar) or not isinstance(value.value, bool):
                raise fail(value.pos, "a per-arch packed value must be true or false")
            if value.value:
                chosen |= arch_list
        return frozenset(chosen)
    raise fail(node.pos, "packed must be true or false, a list of archs, or a map of archs to true/false",
               "e.g. packed: [amd64] or packed: {amd64: true, arm64: false}")


def struct_alignment(scope: Scope, node):
    """`align: 8`, or per arch `align: {amd64: 8, arm64: 16}` (an arch left out keeps its natural one)."""
    if not isinstance(node, Map):
        return alignment(node)
    return tuple((arch_list, alignment(value)) for arch_list, value in _per_arch_map(scope, node, "align"))


def _per_arch_map(scope: Scope, node: Map, what: str) -> list:
    """[(frozenset of archs, value node)] of a map keyed by arch lists (`"amd64, arm64": ...`)."""
    found, covered = [], set()
    if not node.keys():
        raise fail(node.pos, f"a per-arch {what} map must name at least one arch")
    for key, key_pos, value in node.items():
        chosen = scope.archs_keyed(key, key_pos)
        for arch in sorted(chosen & covered):
            raise fail(key_pos, f"{what} is given twice for arch '{arch}'")
        covered |= chosen
        found.append((chosen, value))
    return found


def alignment(node) -> Optional[int]:
    """`align:` of a field (or of a struct on one arch): a power of two up to MAX_ALIGN."""
    if node is None:
        return None
    value = node.value if isinstance(node, Scalar) else None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0 or value & (value - 1):
        raise fail(node.pos, "align must be a positive power of two")
    if value > MAX_ALIGN:
        raise fail(node.pos, f"align {value} is larger than the supported {MAX_ALIGN}")
    return value
