"""What every section of a spec is read against: the archs, sides and type names it declares.

The resolver fills a `Scope` once, from the spec's top-level keys and section names, before it
reads any declaration; the section readers then check arch lists and type references against
it. Declaring a name before it is used is not required: the names come from the section keys.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from . import expr as ex
from . import grammar
from . import spec_keys as keys
from .errors import Pos, fail
from .ir import Array, EnumRef, FlexArray, Pointer, Prim, StructRef
from .load import Scalar, Seq
from .primitives import ARCHS, PRIMITIVES
from .resolve_nodes import did_you_mean, expect_seq, string, unique_choices

MAX_ARRAY_DIMS = 8
_MAX_LISTED = 40  # longer lists of names make a hint unreadable

# Matched with fullmatch, in ASCII (`\w` and `\s` would take any Unicode letter or space).
TYPE = re.compile(r"\s*(?P<base>ptr\s*\(\s*(?P<target>[A-Za-z_]\w*)?\s*\)|[A-Za-z_]\w*)\s*(?P<dims>(\[[^\]]*\]\s*)*)",
                  re.ASCII)


@dataclass(frozen=True)
class Scope:
    """The spec-wide facts a declaration is read against, fixed before the first one is read."""

    archs: tuple
    sides: tuple
    struct_names: frozenset  # structs and unions: the names a field type may use
    plain_struct_names: frozenset  # those of the `structs:` section alone
    enum_names: frozenset
    external_constants: Optional[str]  # the header that owns every C constant, if the spec names one

    def archs_of(self, node: Optional[object]) -> Optional[frozenset]:
        """The archs an `arch:` list names, each one of the spec's; None when there is no list."""
        if node is None:
            return None
        items = expect_seq(node, "arch").items
        if not items:
            raise fail(node.pos, "an arch list must not be empty")
        chosen = set()
        for item in items:
            arch = string(item, "arch")
            if arch not in self.archs:
                raise fail(item.pos, f"arch '{arch}' is not in the spec's archs",
                           "declared: " + ", ".join(self.archs))
            chosen.add(arch)
        return frozenset(chosen)

    def archs_keyed(self, key: str, key_pos: Pos) -> frozenset:
        """The archs a per-arch map's key names (`"amd64, arm64": ...`)."""
        return self.archs_of(Seq(tuple(Scalar(a.strip(), key_pos) for a in key.split(",")), key_pos))

    def type_ref(self, node, flexible: bool = False):
        """The type a field names; `flexible` lets its first bracket be empty (`u8[]`)."""
        is_number = isinstance(node, Scalar) and isinstance(node.value, int)
        text = str(node.value) if is_number else string(node, "type")
        match = TYPE.fullmatch(text)
        if not match:
            raise fail(node.pos, f"cannot read type {text!r}",
                       "write e.g. u32, ptr(Msg), Msg, u8[16] or u8[MAX_LEN]")
        ref = self.base_type(match, node.text_pos)
        return _dimensions(ref, match, node.text_pos, flexible)

    def base_type(self, match: re.Match, at: Pos):
        """The type under the brackets: a pointer, a primitive, an enum or a struct."""
        base_text = match.group("base")
        if base_text.startswith("ptr"):
            target = match.group("target")
            if target is not None and target not in self.struct_names:
                raise fail(at, f"pointer to unknown struct '{target}'", self.suggest(target))
            return Pointer(target)
        if base_text in PRIMITIVES:
            return Prim(base_text)
        if base_text in self.enum_names:
            return EnumRef(base_text)
        if base_text in self.struct_names:
            return StructRef(base_text)
        raise fail(at, f"unknown type '{base_text}'", self.suggest(base_text))

    def suggest(self, name: str) -> str:
        known = sorted(set(PRIMITIVES) | self.struct_names | self.enum_names)
        close = did_you_mean(name, known)
        if close or len(known) > _MAX_LISTED:
            return close
        return "known types: " + ", ".join(known)


def _dimensions(ref, match: re.Match, at: Pos, flexible: bool):
    """`ref` inside the arrays the type's brackets give."""
    dims = match.group("dims")
    if dims.count("[") > MAX_ARRAY_DIMS:
        raise fail(at, f"an array may have at most {MAX_ARRAY_DIMS} dimensions")
    lengths, flex = [], False
    for index, dim in enumerate(re.finditer(r"\[([^\]]*)\]", dims)):
        offset = match.start("dims") + dim.start(1)
        if not dim.group(1).strip():
            if flexible and index == 0:
                flex = True
                continue
            if flexible:
                raise fail(at.shifted(offset), "an array needs a length here: only the first bracket of a "
                           "flexible array may be empty",
                           "`u8[][4]` is a flexible array of u8[4]; `u8[4][]` would be an array of "
                           "flexible arrays, which C does not have")
            raise fail(at.shifted(offset), "an array needs a length", "write e.g. u8[16]")
        lengths.append(ex.parse(dim.group(1), at.shifted(offset)))
    # `u8[2][3]` is two arrays of three, as in C: the last bracket is innermost.
    for length in reversed(lengths):
        ref = Array(ref, length)
    return FlexArray(ref) if flex else ref


def element_type(ref):
    """The type under any fixed or flexible array brackets."""
    while isinstance(ref, (Array, FlexArray)):
        ref = ref.element
    return ref


def arch_list(node) -> tuple:
    """The spec's `archs:`: known archs, each once, at least one."""
    items = expect_seq(node, "archs").items
    if not items:
        raise fail(node.pos, "archs must name at least one arch", "known: " + ", ".join(ARCHS))
    return unique_choices(items, "arch", ARCHS, "known")


def target_name(node) -> str:
    target = string(node, "target")
    if target not in keys.TARGETS:
        raise fail(node.pos, f"unknown target '{target}'", "known: " + ", ".join(keys.TARGETS))
    return target


def prim(node) -> Prim:
    """A fixed-size primitive type named by a constant or enum (not a field: no `long`)."""
    name = string(node, "type")
    if name not in PRIMITIVES:
        raise fail(node.pos, f"'{name}' is not a primitive type", "known: " + ", ".join(PRIMITIVES))
    if PRIMITIVES[name].word:
        raise fail(node.pos, f"'{name}' is only a field type: its size is the arch's",
                   "use a fixed-size type such as i64 or u32")
    return Prim(name)


def type_name_ok(name: str, pos: Pos, what: str) -> None:
    grammar.ident(name, pos, f"{what} name")
    if not name[0].isupper():
        raise fail(pos, f"{what} name {name!r} must start with a capital letter (CamelCase)")
    if name in PRIMITIVES or name == "ptr":
        raise fail(pos, f"{what} name {name!r} is a built-in type name")
