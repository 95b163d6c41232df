"""Structs and unions: one declaration with its fields (or per-arch variants of them) and its
options, read the same way for both kinds.

The members themselves are read in `resolve_members.py`, the layout options in
`resolve_options.py` and who writes what in `resolve_writers.py`; this module puts a
declaration together and checks what concerns it as a whole (where a flexible array may stand,
the size field of an extensible struct).
"""
from __future__ import annotations

from typing import Optional

from . import grammar, naming
from . import resolve_writers as writers
from . import spec_keys as keys
from .errors import Pos, fail
from .ir import External, Field, FlexArray, Prim, Struct, UnionDecl
from .primitives import PRIMITIVES
from .resolve_members import Members
from .resolve_nodes import check_keys, expect_map, expect_seq, ident, node_names, prose, string
from .resolve_options import byte_order, default_byte_order, packing, struct_alignment
from .resolve_scope import type_name_ok


def struct(reader: Members, name: str, pos: Pos, node) -> Struct:
    return aggregate(reader, name, pos, node, Struct)


def union(reader: Members, name: str, pos: Pos, node) -> UnionDecl:
    if name in reader.scope.plain_struct_names:
        raise fail(pos, f"'{name}' is both a struct and a union")
    return aggregate(reader, name, pos, node, UnionDecl)


def aggregate(reader: Members, name: str, pos: Pos, node, cls) -> Struct:
    """A struct, or a union (`cls` UnionDecl): the same keys, read the same way."""
    scope = reader.scope
    word, shape = ("union", keys.UNION) if cls is UnionDecl else ("struct", keys.STRUCT)
    type_name_ok(name, pos, word)
    if name in scope.enum_names:
        raise fail(pos, f"'{name}' is both a {word} and an enum")
    node = expect_map(node, f"{word} {name}")
    what = f"{word} {name}"
    check_keys(node, shape.allowed, shape.required, what)
    if (node.get("fields") is None) == (node.get("variants") is None):
        raise fail(pos, f"{what} needs exactly one of 'fields' or 'variants'",
                   "use 'variants' when the fields differ between archs")
    path = f"{word}s.{name}"
    if cls is UnionDecl and node.get("fields") is not None:
        fields = expect_seq(node.get("fields"), f"fields of union {name}")
        if not fields.items:
            raise fail(fields.pos, f"union {name} has no alternatives", "a union needs at least one field")
    if node.get("fields") is not None:
        members = reader.read(node.get("fields"), None, f"{path}.fields", name)
    else:
        members = _variant_members(reader, node.get("variants"), path, name)
    endian = byte_order(node.get("endian"), None, name)
    members = _check_flexible(scope.archs, default_byte_order(members, endian), what, cls is UnionDecl)
    members = writers.with_default_writers(members, writers.writers(node.get("writer"), scope.sides, what))
    mode = writers.cacheline_mode(node.get("cacheline"))
    writers.require_writers(members, mode, what)
    if mode and any(isinstance(m, Field) and m.anonymous for m in members):
        raise fail(node.get("cacheline").pos, f"{what} has `cacheline: {mode}` and an anonymous member",
                   "name the member (a field of its own struct type) so that it has a writer")
    reader.inherit_byte_order(name, endian)
    external = _external(node.get("external"), what)
    return cls(names=node_names(node, name, naming.type_names), doc=prose(node.get("doc")),
               members=members, align=struct_alignment(scope, node.get("align")),
               packed=packing(scope, node.get("packed")), external=external,
               archs=scope.archs_of(node.get("arch")), pos=pos.at(path), endian=endian,
               extensible=_extensible(node.get("extensible"), members, what), cacheline=mode)


def _external(node, what: str) -> Optional[External]:
    """`external: {c_type: ..., include: ...}`: a declaration C takes from a header."""
    if node is None:
        return None
    ext = expect_map(node, "external")
    check_keys(ext, keys.EXTERNAL.allowed, keys.EXTERNAL.required, f"external of {what}")
    return External(
        c_type=grammar.c_type(string(ext.get("c_type"), "c_type"), ext.get("c_type").text_pos),
        include=grammar.include(string(ext.get("include"), "include"), ext.get("include").text_pos))


def _variant_members(reader: Members, node, path: str, struct: str) -> tuple:
    """`variants:`: lists of fields for disjoint sets of archs that together cover every arch."""
    covered = {}
    members = []
    for index, item in enumerate(expect_seq(node, "variants").items):
        item = expect_map(item, "a variant")
        check_keys(item, keys.VARIANT.allowed, keys.VARIANT.required, f"a variant of struct {struct}")
        archs = reader.scope.archs_of(item.get("arch"))
        for arch in archs:
            if arch in covered:
                raise fail(item.get("arch").pos, f"arch '{arch}' already has a variant of struct {struct}")
            covered[arch] = True
        members.extend(reader.read(item.get("fields"), archs, f"{path}.variants[{index}].fields", struct))
    missing = [arch for arch in reader.scope.archs if arch not in covered]
    if missing:
        raise fail(node.pos, f"struct {struct} has no variant for arch {', '.join(missing)}",
                   "add a variant, or restrict the struct with `arch:`")
    return tuple(members)


def _check_flexible(archs: tuple, members: tuple, what: str, in_union: bool) -> tuple:
    """A flexible array is the last member on every arch, after at least one other field."""
    for arch in archs:
        present = [m for m in members if m.archs is None or arch in m.archs]
        for index, member in enumerate(present):
            if not (isinstance(member, Field) and isinstance(member.type, FlexArray)):
                continue
            name = member.names.canonical
            if in_union:
                raise fail(member.pos, f"{what} cannot hold the flexible array {name}",
                           "a flexible array ends a struct; put it in a struct after the union, or write "
                           "a GNU zero-length array (`u8[0]`), which a union may hold")
            if index + 1 < len(present):
                raise fail(member.pos, f"the flexible array {name} must be the last member of {what}",
                           "move it to the end, or give it a length")
            if not any(isinstance(m, Field) for m in present[:index]):
                raise fail(member.pos, f"the flexible array {name} is the only field of {what}",
                           "C needs at least one other named member before a flexible array")
    return members


def _extensible(node, members: tuple, what: str) -> Optional[str]:
    """The size field of an extensible struct: a named field of the struct itself, on every
    arch, of an unsigned integer type, since it carries the size the writer knew."""
    if node is None:
        return None
    node = expect_map(node, f"extensible of {what}")
    check_keys(node, keys.EXTENSIBLE.allowed, keys.EXTENSIBLE.required, f"extensible of {what}")
    name = ident(node.get("size_field"), "size_field")
    at = node.get("size_field").pos
    field = next((m for m in members if isinstance(m, Field) and not m.anonymous and m.names.canonical == name), None)
    if field is None:
        raise fail(at, f"{what} is extensible by '{name}', which is not one of its fields",
                   "name the field that carries the struct's size, e.g. size_field: size")
    info = PRIMITIVES.get(field.type.name) if isinstance(field.type, Prim) else None
    if info is None or info.signed or info.is_bool:
        raise fail(at, f"{what} is extensible by '{name}', which is not an unsigned integer field",
                   "the size field is an unsigned integer such as u32")
    if field.archs is not None:
        raise fail(at, f"{what} is extensible by '{name}', which exists on some archs only",
                   "the size field must be on every arch")
    return name
