"""The members of a struct or union: fields, bitfields, padding, reserved space and anonymous
structs and unions.

An anonymous member becomes a hidden declaration `<Parent>Anon<n>` plus the unnamed field that
holds it; `Members` keeps those declarations, in the order found, for the resolver to add to
the spec's structs. It is the only state the member readers share.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Optional

from . import naming
from . import resolve_writers as writers
from . import spec_keys as keys
from .errors import Pos, fail
from .ir import (Array, BitField, EnumRef, Field, FlexArray, Names, Padding, Pointer, Prim, Reserved, Struct,
                 StructRef, UnionDecl)
from .load import Map
from .primitives import PRIMITIVES
from .resolve_nodes import check_keys, expect_map, expect_seq, expression, ident, node_names, prose
from .resolve_options import alignment, byte_order, default_byte_order, packing, struct_alignment
from .resolve_scope import Scope, element_type


class Members:
    """Reads member lists against `scope`, collecting the hidden declarations on the way."""

    def __init__(self, scope: Scope):
        self.scope = scope
        self.hidden: list = []  # the hidden declarations of anonymous members, as found
        self.hidden_count: dict = {}  # parent struct -> anonymous members numbered so far
        self.hidden_owner: dict = {}  # hidden declaration -> the struct that holds it
        self.spares: dict = {}  # outermost struct -> unnamed padding/reserved numbered in its anonymous members

    def read(self, node, archs, path: str, struct: str) -> tuple:
        """The `fields:` list of `struct` (or of one of its variants, on `archs`)."""
        items = expect_seq(node, f"fields of struct {struct}").items
        members = tuple(self.member(item, archs, f"{path}[{index}]", struct) for index, item in enumerate(items))
        if not members:
            raise fail(node.pos, f"struct {struct} has no fields")
        return members

    def member(self, item, archs, path: str, struct: str):
        """One list item, by the key that says its kind. Each kind reads its `arch:` at its own
        point, which decides which of two problems in one item is reported: keep the order."""
        item = expect_map(item, "a field")
        where = item.pos.at(path)
        if item.get("pad") is not None:
            check_keys(item, keys.PADDING.allowed, keys.PADDING.required, f"padding in struct {struct}")
            return Padding(size=expression(item.get("pad"), "pad"),
                           c_name=ident(item.get("c"), "c name") if item.get("c") else None,
                           doc=prose(item.get("doc")), archs=self.narrow(archs, item.get("arch")), pos=where)
        if item.get("bits") is not None:
            return self.bitfield(item, struct, self.narrow(archs, item.get("arch")), where)
        if item.get("reserved") is not None:
            return _reserved(item, struct, self.narrow(archs, item.get("arch")), where)
        if item.get("union") is not None or item.get("struct") is not None:
            return self.anonymous(item, struct, self.narrow(archs, item.get("arch")), where)
        return self.field(item, struct, archs, where)

    def field(self, item: Map, struct: str, archs, where: Pos) -> Field:
        """A named field; `archs` are its variant's, narrowed by its own `arch:`."""
        check_keys(item, keys.FIELD.allowed, keys.FIELD.required, f"a field of struct {struct}")
        name = ident(item.get("name"), "field name")
        ref = self.scope.type_ref(item.get("type"), flexible=True)
        element = element_type(ref)
        if isinstance(ref, FlexArray) and isinstance(element, Prim) and PRIMITIVES[element.name].wide:
            raise fail(item.get("type").text_pos, f"a flexible array cannot hold {element.name}: the Python "
                       "parsers read 128-bit integers only in arrays of a fixed length",
                       f"give it a length, e.g. {element.name}[4]")
        return Field(names=node_names(item, name, naming.field_names),
                     type=ref, doc=prose(item.get("doc")),
                     align=alignment(item.get("align")),
                     archs=self.narrow(archs, item.get("arch")), pos=where,
                     endian=byte_order(item.get("endian"), ref, name),
                     writers=writers.writers(item.get("writer"), self.scope.sides, f"field {name}"),
                     atomic=writers.atomic(item.get("atomic"), ref, name))

    def anonymous(self, item: Map, struct: str, archs, where: Pos) -> Field:
        """`{union: [fields]}` or `{struct: [fields]}`: a hidden declaration `<Parent>Anon<n>`
        (its members keep the member's archs) and the unnamed field that holds it."""
        check_keys(item, keys.ANONYMOUS.allowed, (), f"an anonymous member of {struct}")
        if (item.get("union") is None) == (item.get("struct") is None):
            raise fail(item.pos, "an anonymous member is either `union:` or `struct:`, not both")
        word = "union" if item.get("union") is not None else "struct"
        fields = expect_seq(item.get(word), f"fields of an anonymous {word}")
        if not fields.items:
            raise fail(fields.pos, f"an anonymous {word} in {struct} has no fields",
                       "C needs at least one member; drop it or give it fields")
        index = self.hidden_count.get(struct, 0)
        self.hidden_count[struct] = index + 1
        name = f"{struct}Anon{index}"
        self.hidden_owner[name] = struct
        members = self.read(item.get(word), archs, f"{where.path}.{word}", name)
        for member in members:  # bitfields, padding and reserved space are fine; a flexible array is not (yet)
            if isinstance(member, Field) and isinstance(member.type, FlexArray):
                raise fail(member.pos, f"an anonymous {word} cannot hold a flexible array yet",
                           "put it in a named struct or union member, or in the parent, or write a GNU "
                           "zero-length array (`u8[0]`), which it may hold")
        members = tuple(self.spare_name(member, struct) for member in members)
        cls = UnionDecl if word == "union" else Struct
        names = Names(canonical=name, **naming.type_names(name, {}))
        # The declaration exists where the member does: on another arch it would have no members.
        # `packed`/`align` belong to the hidden type, as C's `union { ... } __attribute__((packed));`.
        self.hidden.append(cls(names=names, doc=prose(item.get("doc")), members=members,
                               align=struct_alignment(self.scope, item.get("align")),
                               packed=packing(self.scope, item.get("packed")),
                               external=None, archs=archs, pos=where, anonymous=True))
        return Field(names=names, type=StructRef(name), doc=prose(item.get("doc")), align=None,
                     archs=archs, pos=where, anonymous=True)

    def spare_name(self, member, struct: str):
        """Unnamed padding or reserved space of an anonymous member, given a C name unique in
        the outermost struct (C declares it in that scope); any other member as it is."""
        if not isinstance(member, (Padding, Reserved)) or member.c_name:
            return member
        struct = self.outermost(struct)
        index = self.spares.get(struct, 0)
        self.spares[struct] = index + 1
        kind = "pad" if isinstance(member, Padding) else "reserved"
        return replace(member, c_name=naming.anonymous_spare_name(kind, index))

    def outermost(self, struct: str) -> str:
        """The named struct an anonymous member's declaration lies in, through nested ones."""
        while struct in self.hidden_owner:
            struct = self.hidden_owner[struct]
        return struct

    def inherit_byte_order(self, parent: str, endian: Optional[str]) -> None:
        """A struct's `endian:` reaches the members of its anonymous members too (nested ones
        included), since C reaches them as the struct's own."""
        if endian is None:
            return
        for index, decl in enumerate(self.hidden):
            if self.outermost(self.hidden_owner[decl.names.canonical]) == parent:
                self.hidden[index] = replace(decl, members=default_byte_order(decl.members, endian), endian=endian)

    def bitfield(self, item: Map, struct: str, archs, where: Pos) -> BitField:
        """`{name: mode, type: u32, bits: 3}`; with no name, padding bits or (0 bits) a unit break."""
        check_keys(item, keys.BITFIELD.allowed, keys.BITFIELD.required, f"a bitfield of struct {struct}")
        names = None
        if item.get("name") is not None:
            names = node_names(item, ident(item.get("name"), "field name"), naming.field_names)
        else:
            for target in keys.TARGETS:
                if item.get(target) is not None:
                    raise fail(item.get(target).pos, f"an unnamed bitfield has no name to spell in {target}")
        type_node = item.get("type")
        ref = self.scope.type_ref(type_node)
        _bitfield_type_ok(ref, type_node)
        return BitField(names=names, type=ref, bits=expression(item.get("bits"), "bits"),
                        doc=prose(item.get("doc")), archs=archs, pos=where,
                        writers=writers.writers(item.get("writer"), self.scope.sides, "a bitfield"))

    def narrow(self, outer, node):
        """A member's `arch:` list, which must lie within its variant's (`outer`)."""
        inner = self.scope.archs_of(node)
        if outer is None:
            return inner
        if inner is None:
            return outer
        if not inner <= outer:
            raise fail(node.pos, "a field's arch list must lie within its variant's")
        return inner


def _bitfield_type_ok(ref, type_node) -> None:
    """A bitfield is an integer or an enum whose unit is the same on every arch and at most 64 bits."""
    if not isinstance(ref, (Prim, EnumRef)):
        kind = {Pointer: "a pointer", Array: "an array", StructRef: "a struct"}[type(ref)]
        raise fail(type_node.pos, f"a bitfield's type must be an integer or an enum, not {kind}",
                   "use u8, u16, u32, u64, i8..i64, bool8, bool32 or an enum")
    if isinstance(ref, Prim) and PRIMITIVES[ref.name].word:
        raise fail(type_node.pos, f"a bitfield cannot be {ref.name}: its unit would differ per arch",
                   "use a fixed-size type such as u32 or u64")
    if isinstance(ref, Prim) and PRIMITIVES[ref.name].wide:
        raise fail(type_node.pos, f"a bitfield cannot be {ref.name}: layoutgen reads bitfields in units of at "
                   "most 64 bits (gcc does accept 128-bit bitfields, alike on x86_64 and aarch64)",
                   "split it into u64 bitfields")


def _reserved(item: Map, struct: str, archs, where: Pos) -> Reserved:
    check_keys(item, keys.RESERVED.allowed, keys.RESERVED.required, f"reserved space in {struct}")
    return Reserved(size=expression(item.get("reserved"), "reserved"), doc=prose(item.get("doc")),
                    archs=archs, pos=where,
                    c_name=ident(item.get("c"), "c name") if item.get("c") else None)
