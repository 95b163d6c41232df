"""Stage 2: turn loaded YAML nodes into the IR, checking every rule that does not need a layout.

Checks here: the shape of every node (unknown keys are errors, with the allowed list),
types and names that exist, identifiers valid and not reserved in any target, names
that collide after a target's naming rule, containment cycles between structs and
reference cycles between constants.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from typing import Callable, Optional

from . import expr as ex
from . import grammar, limits, naming
from . import resolve_writers as writers
from . import spec_keys as keys
from .errors import Pos, Problems, SpecError, fail
from .escape import Prose
from .ir import (BYTE_ORDERS, Array, Assert, BitField, Constant, Enum, EnumRef, EnumValue, External, Field,
                 FlexArray, Names, Padding, Param, Pointer, Prim, Region, Reserved, Spec, Struct, StructRef, UnionDecl,
                 Variant)
from .load import Map, Scalar, Seq
from .primitives import ARCHS, PRIMITIVES

TARGETS = keys.TARGETS
GO_ACCESSORS = ("set", "get", "compare_and_swap")  # sync/atomic store, load and compare-and-swap
IDENT = grammar.IDENT  # match with fullmatch: `$` would accept a trailing newline
FORMAT_VERSION = 1
MAX_ALIGN = 4096
MAX_ARRAY_DIMS = 8
MAX_PROBLEMS = 50  # a compiler-style error limit: a badly broken spec still fails fast

# Matched with fullmatch, in ASCII (`\w` and `\s` would take any Unicode letter or space).
_TYPE = re.compile(r"\s*(?P<base>ptr\s*\(\s*(?P<target>[A-Za-z_]\w*)?\s*\)|[A-Za-z_]\w*)\s*(?P<dims>(\[[^\]]*\]\s*)*)",
                   re.ASCII)


# ---- shape helpers ---------------------------------------------------------


def _expect_map(node, what: str) -> Map:
    if not isinstance(node, Map):
        raise fail(node.pos, f"{what} must be a mapping")
    return node


def _expect_seq(node, what: str) -> Seq:
    if not isinstance(node, Seq):
        raise fail(node.pos, f"{what} must be a list")
    return node


def _check_keys(node: Map, allowed: tuple, required: tuple, what: str, at: Optional[Pos] = None) -> None:
    """`at` is where a missing key is reported: the declaration's name when it has one."""
    for key, key_pos, _ in node.items():
        if key not in allowed:
            raise fail(key_pos, f"unknown key '{key}' in {what}",
                       "allowed keys: " + ", ".join(allowed))
    for key in required:
        if node.get(key) is None:
            raise fail(at or node.pos, f"{what} is missing the required key '{key}'")


def _string(node, what: str, default: str = "") -> str:
    if node is None:
        return default
    if not isinstance(node, Scalar) or not isinstance(node.value, str):
        hint = ""
        if isinstance(node, Scalar) and isinstance(node.value, bool):
            hint = f"YAML reads an unquoted yes/no/on/off/true/false as {str(node.value).lower()}; quote it"
        raise fail(node.pos, f"{what} must be a string, not {_kind(node)}", hint)
    return node.value


def _kind(node) -> str:
    if isinstance(node, Map):
        return "a mapping"
    if isinstance(node, Seq):
        return "a list"
    return {bool: "a boolean", int: "a number", float: "a number", type(None): "empty"}.get(
        type(node.value), f"a {type(node.value).__name__}")


def _ident(node, what: str, limit: int = grammar.MAX_NAME_LEN) -> str:
    return grammar.ident(_string(node, what), node.pos, what, limit)


def _unique_choices(items, what: str, allowed, hint_word: str) -> tuple:
    """Strings from `allowed`, each at most once, in the order written."""
    chosen = []
    for item in items:
        value = _string(item, what)
        if value not in allowed:
            raise fail(item.pos, f"unknown {what} '{value}'", f"{hint_word}: " + ", ".join(allowed))
        if value in chosen:
            raise fail(item.pos, f"{what} '{value}' is listed twice")
        chosen.append(value)
    return tuple(chosen)


def _asm_prefix(node) -> str:
    if node is None:
        return naming.ASM_ENUM_PREFIX
    return grammar.asm_prefix(_string(node, "asm_prefix"), node.text_pos)


def _constant_external(node: Map, name: str, targets: frozenset, c_ifndef: bool) -> Optional[str]:
    """`external: linux/io_uring.h`: the header that defines the constant in C. The C header
    includes it and defines nothing; the layout test asserts the header's value is the spec's."""
    external = node.get("external")
    if external is None:
        return None
    if c_ifndef:
        raise fail(external.pos, f"constant {name} has both external and c_ifndef",
                   "external already leaves the definition to the header; drop c_ifndef")
    if "c" not in targets:
        raise fail(external.pos, f"constant {name} is external but not emitted for C",
                   "external names the C header that defines it; add c to its targets or drop external")
    return grammar.include(_string(external, "external"), external.text_pos)


def _enum_external(node, name: str) -> Optional[str]:
    """`external: {include: linux/io_uring.h}`: the header that defines the enum's values in C."""
    if node is None:
        return None
    node = _expect_map(node, f"external of enum {name}")
    _check_keys(node, keys.ENUM_EXTERNAL.allowed, keys.ENUM_EXTERNAL.required, f"external of enum {name}")
    return grammar.include(_string(node.get("include"), "include"), node.get("include").text_pos)


def _bool(node, what: str) -> bool:
    if node is None:
        return False
    if not isinstance(node, Scalar) or not isinstance(node.value, bool):
        raise fail(node.pos, f"{what} must be true or false")
    return node.value


def _expr(node, what: str) -> ex.Expr:
    if not isinstance(node, Scalar) or isinstance(node.value, bool) or not isinstance(node.value, (int, str)):
        raise fail(node.pos, f"{what} must be an integer or an expression")
    return ex.parse(node.value, node.text_pos)


def _overrides(node: Map) -> dict:
    return {target: _ident(node.get(target), f"'{target}' name") for target in TARGETS
            if node.get(target) is not None}


def _names(node: Map, canonical: str, rule: Callable[..., dict]) -> Names:
    """`asm:` (structs and fields only; other nodes refuse the key) spells the node in offsets-header macros."""
    asm = _ident(node.get("asm"), "'asm' name") if node.get("asm") is not None else ""
    return Names(canonical=canonical, asm=asm, **rule(canonical, _overrides(node)))


# ---- the resolver ----------------------------------------------------------


class _Resolver:
    def __init__(self, root: Map, file: str, digest: str):
        self.root = root
        self.file = file
        self.digest = digest
        self.problems = Problems()
        self.archs: tuple = ()
        self.sides: tuple = ()
        self.struct_names: set = set()  # structs and unions: the names a field type may use
        self.plain_struct_names: set = set()  # those of the `structs:` section alone
        self.enum_names: set = set()
        self.anonymous: list = []  # the hidden declarations of anonymous members, as found
        self.anonymous_count: dict = {}  # parent struct -> anonymous members numbered so far
        self.anonymous_owner: dict = {}  # hidden declaration -> the struct that holds it
        self.anonymous_spares: dict = {}  # outermost struct -> unnamed padding/reserved numbered in its anonymous members

    def guarded(self, step: Callable, *args):
        """Run one step, recording its error and carrying on so the user sees several at once."""
        try:
            return step(*args)
        except SpecError as error:
            self.problems.take(error)
            _stop_early(self.problems)
            return None

    def run(self) -> Spec:
        root = self.root
        _check_keys(root, keys.SPEC.allowed, keys.SPEC.required, "the spec")
        version = root.get("layoutgen")
        # An exact int: YAML's `true` and `1.0` compare equal to 1 in Python.
        if not isinstance(version, Scalar) or type(version.value) is not int or version.value != FORMAT_VERSION:
            raise fail(version.pos, f"unsupported spec format {getattr(version, 'value', None)!r}",
                       f"this layoutgen reads `layoutgen: {FORMAT_VERSION}`")
        name = _ident(root.get("name"), "spec name", grammar.MAX_SPEC_NAME_LEN)
        self.archs = self.arch_list(root.get("archs"))
        self.sides = writers.side_names(root.get("sides"))
        version = root.get("version")
        version = "0" if version is None else grammar.package_version(getattr(version, "value", None), version.pos)
        targets = frozenset(TARGETS)
        if root.get("targets") is not None:
            targets = frozenset(self.target_name(item) for item in _expect_seq(root.get("targets"), "targets").items)
            if not targets:
                raise fail(root.get("targets").pos, "targets must name at least one target",
                           "known: " + ", ".join(TARGETS))
        self.external_constants = None  # the header that owns every C constant, if the spec names one
        if root.get("external_constants") is not None:
            owner = root.get("external_constants")
            self.external_constants = grammar.include(_string(owner, "external_constants"), owner.text_pos)
        sections = {key: _expect_map(root.get(key), key) if root.get(key) is not None else Map((), root.pos)
                    for key in ("constants", "enums", "structs", "unions", "regions")}
        self.plain_struct_names = set(sections["structs"].keys())
        self.struct_names = self.plain_struct_names | set(sections["unions"].keys())
        self.enum_names = set(sections["enums"].keys())
        params = ()
        if root.get("params") is not None:
            params = self.each(_expect_map(root.get("params"), "params"),
                               lambda n, p, v: self.param(name, n, p, v))
            limits.combinations(self.archs, params)
        constants = self.each(sections["constants"], self.constant)
        enums = self.each(sections["enums"], self.enum)
        structs = self.each(sections["structs"], self.struct) + self.each(sections["unions"], self.union)
        structs += tuple(self.anonymous)
        regions = self.each(sections["regions"], lambda n, p, v: self.region(n, p, v, top=True))
        asserts = ()
        if root.get("asserts") is not None:
            asserts = tuple(a for a in (self.guarded(self.assertion, item)
                                        for item in _expect_seq(root.get("asserts"), "asserts").items) if a)
        self.problems.raise_if_any()
        spec = Spec(name=name, doc=_prose(root.get("doc")), file=self.file, digest=self.digest,
                    archs=self.archs, constants=constants, enums=enums, structs=structs,
                    regions=regions, asserts=asserts, targets=targets, params=params, version=version,
                    sides=self.sides, cacheline_size=(_expr(root.get("cacheline_size"), "cacheline_size")
                                                      if root.get("cacheline_size") is not None else None))
        check_spec(spec)
        return spec

    def each(self, section: Map, build: Callable) -> tuple:
        built = (self.guarded(build, key, key_pos, value) for key, key_pos, value in section.items())
        return tuple(item for item in built if item is not None)

    def arch_list(self, node) -> tuple:
        items = _expect_seq(node, "archs").items
        if not items:
            raise fail(node.pos, "archs must name at least one arch", "known: " + ", ".join(ARCHS))
        return _unique_choices(items, "arch", ARCHS, "known")

    def archs_of(self, node: Optional[object]) -> Optional[frozenset]:
        if node is None:
            return None
        items = _expect_seq(node, "arch").items
        if not items:
            raise fail(node.pos, "an arch list must not be empty")
        chosen = set()
        for item in items:
            arch = _string(item, "arch")
            if arch not in self.archs:
                raise fail(item.pos, f"arch '{arch}' is not in the spec's archs",
                           "declared: " + ", ".join(self.archs))
            chosen.add(arch)
        return frozenset(chosen)

    # -- parameters

    def param(self, spec_name: str, name: str, pos: Pos, node) -> Param:
        if not grammar.PARAM_NAME.fullmatch(name):
            raise fail(pos, f"parameter name {name!r} must be lower_snake_case",
                       "parameters are lower case, constants upper case, so the two never clash")
        grammar.name_length(name, pos, "parameter name", grammar.MAX_PARAM_NAME_LEN)
        node = _expect_map(node, f"parameter {name}")
        _check_keys(node, keys.PARAM.allowed, keys.PARAM.required, f"parameter {name}", pos)
        values_node = _expect_seq(node.get("values"), f"values of {name}")
        if not values_node.items:
            raise fail(values_node.pos, f"parameter {name} needs at least one value")
        values = []
        for item in values_node.items:
            value = _param_int(item, f"a value of {name}")
            if value in values:
                raise fail(item.pos, f"parameter {name} lists the value {value} twice")
            values.append(value)
        default_node = node.get("default")
        default = _param_int(default_node, f"default of {name}")
        if default not in values:
            raise fail(default_node.pos, f"default {default} of parameter {name} is not one of its values",
                       "declared: " + ", ".join(str(v) for v in values))
        c_macro = (_ident(node.get("c"), "c") if node.get("c") is not None
                   else f"{spec_name.upper()}_{name.upper()}")
        return Param(name=name, values=tuple(values), default=default, c_macro=c_macro,
                     doc=_prose(node.get("doc")), pos=pos.at(f"params.{name}"))

    # -- constants

    def constant(self, name: str, pos: Pos, node) -> Constant:
        grammar.ident(name, pos, "constant name")
        if name != name.upper():
            raise fail(pos, f"constant name {name!r} must be UPPER_SNAKE_CASE",
                       f"write {naming.upper_snake(name)}")
        if isinstance(node, Scalar):
            node = Map((("value", node.pos, node),), node.pos)
        node = _expect_map(node, f"constant {name}")
        _check_keys(node, keys.CONSTANT.allowed, keys.CONSTANT.required, f"constant {name}", pos)
        prim = None
        if node.get("type") is not None:
            prim = self.prim(node.get("type"))
        go_type = None
        if node.get("go_type") is not None:
            go_type = grammar.go_type(_string(node.get("go_type"), "go_type"), node.get("go_type").text_pos)
        targets = frozenset(TARGETS)
        if node.get("targets") is not None:
            targets = frozenset(self.target_name(item) for item in _expect_seq(node.get("targets"), "targets").items)
        value_node = node.get("value")
        if isinstance(value_node, Map):
            value = self.per_arch_value(name, value_node, self.archs_of(node.get("arch")))
        else:
            value = _expr(self.int64_literal(value_node, prim, name), f"value of {name}")
        c_ifndef = _bool(node.get("c_ifndef"), "c_ifndef")
        return Constant(names=_names(node, name, naming.constant_names), value=value, type=prim,
                        go_type=go_type, doc=_prose(node.get("doc")), targets=targets, c_ifndef=c_ifndef,
                        archs=self.archs_of(node.get("arch")), pos=pos.at(f"constants.{name}"),
                        external=_constant_external(node, name, targets, c_ifndef)
                        or self.spec_owned_external(targets, c_ifndef))

    def spec_owned_external(self, targets: frozenset, c_ifndef: bool) -> Optional[str]:
        """The spec's `external_constants` header, for a constant C emits without `c_ifndef`
        (a constant that C leaves out, or defines only when missing, is not the header's)."""
        if self.external_constants is None or "c" not in targets or c_ifndef:
            return None
        return self.external_constants

    @staticmethod
    def int64_literal(node, prim: Optional[Prim], name: str):
        """The value node, refused with the reason when a 128-bit constant's literal is past int64."""
        if (prim is not None and PRIMITIVES[prim.name].wide and isinstance(node, Scalar)
                and isinstance(node.value, int) and not isinstance(node.value, bool)
                and not ex.INT64_MIN <= node.value <= ex.INT64_MAX):
            raise fail(node.text_pos, f"constant {name} is {prim.name}, but {node.value} needs more than 64 bits: "
                       "constant values are int64 expressions in every target",
                       "keep 128-bit constants within int64, or split the value into two u64 constants")
        return node

    def per_arch_value(self, name: str, node: Map, archs) -> tuple:
        """`value: {amd64: 8, "arm64": 16}`: every arch the constant exists on needs exactly one value."""
        values, covered = [], set()
        for key, key_pos, item in node.items():
            chosen = self.archs_of(Seq(tuple(Scalar(a.strip(), key_pos) for a in key.split(",")), key_pos))
            for arch in sorted(chosen & covered):
                raise fail(key_pos, f"constant {name} has two values for arch '{arch}'")
            covered |= chosen
            values.append((chosen, _expr(item, f"value of {name}")))
        missing = [arch for arch in self.archs if arch not in covered and (archs is None or arch in archs)]
        if missing:
            raise fail(node.pos, f"constant {name} has no value for arch {', '.join(missing)}",
                       "add one, or restrict the constant with `arch:`")
        return tuple(values)

    def target_name(self, node) -> str:
        target = _string(node, "target")
        if target not in TARGETS:
            raise fail(node.pos, f"unknown target '{target}'", "known: " + ", ".join(TARGETS))
        return target

    def prim(self, node) -> Prim:
        name = _string(node, "type")
        if name not in PRIMITIVES:
            raise fail(node.pos, f"'{name}' is not a primitive type", "known: " + ", ".join(PRIMITIVES))
        if PRIMITIVES[name].word:
            raise fail(node.pos, f"'{name}' is only a field type: its size is the arch's",
                       "use a fixed-size type such as i64 or u32")
        return Prim(name)

    # -- enums

    def enum(self, name: str, pos: Pos, node) -> Enum:
        self.type_name_ok(name, pos, "enum")
        node = _expect_map(node, f"enum {name}")
        _check_keys(node, keys.ENUM.allowed, keys.ENUM.required, f"enum {name}", pos)
        base = self.prim(node.get("type"))
        if PRIMITIVES[base.name].is_bool:
            raise fail(node.get("type").pos, "an enum's type must be an integer type, not a flag")
        if PRIMITIVES[base.name].wide:
            raise fail(node.get("type").pos, f"an enum's type cannot be {base.name}: C has no 128-bit enum "
                       "(before C23) and enum values are int64 expressions", "use u64 or i64")
        go_options = self.go_enum_options(node, name, base)
        names = _names(node, name, naming.type_names)
        values, seen, anchor, step = [], {}, None, 0
        items = _expect_seq(node.get("values"), f"values of enum {name}").items
        if not items:
            raise fail(node.get("values").pos, f"enum {name} has no values")
        limits.enum_values(len(items), node.get("values").pos, name)
        for index, item in enumerate(items):
            item = _expect_map(item, "an enum value")
            _check_keys(item, keys.ENUM_VALUE.allowed, keys.ENUM_VALUE.required, f"a value of enum {name}")
            member = _ident(item.get("name"), "enum value name")
            if member in seen:
                raise fail(item.get("name").pos, f"enum {name} already has a value named {member}")
            seen[member] = True
            if item.get("value") is not None:
                value = _expr(item.get("value"), f"value of {name}.{member}")
                anchor, step = value, 0
            else:
                # An implicit value is the previous one plus one, as in C. It is written as an
                # offset from the last explicit value, so a long enum builds no deep expression.
                step += 1
                value = (ex.Num(step - 1, item.pos) if anchor is None
                         else ex.Binary("+", anchor, ex.Num(step, item.pos), item.pos))
            overrides = _overrides(item)
            values.append(EnumValue(
                names=Names(canonical=member, **naming.enum_value_names(names.c, names.go, member, overrides)),
                value=value, doc=_prose(item.get("doc")), pos=item.pos.at(f"enums.{name}.values[{index}]")))
        return Enum(names=names, base=base, values=tuple(values), doc=_prose(node.get("doc")),
                    archs=self.archs_of(node.get("arch")), pos=pos.at(f"enums.{name}"), **go_options,
                    asm_prefix=_asm_prefix(node.get("asm_prefix")), external=_enum_external(node.get("external"), name))

    def go_enum_options(self, node: Map, name: str, base: Prim) -> dict:
        """The Go-only enum keys: atomic accessors (and which are nosplit), or no named type."""
        untyped = _bool(node.get("go_untyped"), "go_untyped")
        accessors = self.accessor_list(node.get("go_accessors"), GO_ACCESSORS)
        nosplit = self.accessor_list(node.get("go_nosplit"), GO_ACCESSORS)
        if accessors and untyped:
            raise fail(node.get("go_accessors").pos, f"enum {name} has go_accessors but go_untyped: true",
                       "methods need the named type; drop one of the two keys")
        if nosplit and not set(nosplit) <= set(accessors):
            raise fail(node.get("go_nosplit").pos, "go_nosplit may only name methods listed in go_accessors")
        if accessors and PRIMITIVES[base.name].size not in (4, 8):
            raise fail(node.get("go_accessors").pos, f"enum {name} is {base.name}; sync/atomic works on 32 "
                       "and 64-bit integers only", "give the enum type u32, i32, u64 or i64")
        return {"go_accessors": accessors, "go_nosplit": frozenset(nosplit), "go_untyped": untyped}

    def accessor_list(self, node, allowed: tuple) -> tuple:
        if node is None:
            return ()
        return _unique_choices(_expect_seq(node, "an accessor list").items, "accessor", allowed, "allowed")

    def type_name_ok(self, name: str, pos: Pos, what: str) -> None:
        grammar.ident(name, pos, f"{what} name")
        if not name[0].isupper():
            raise fail(pos, f"{what} name {name!r} must start with a capital letter (CamelCase)")
        if name in PRIMITIVES or name == "ptr":
            raise fail(pos, f"{what} name {name!r} is a built-in type name")

    # -- structs

    def struct(self, name: str, pos: Pos, node) -> Struct:
        return self.aggregate(name, pos, node, Struct)

    def union(self, name: str, pos: Pos, node) -> UnionDecl:
        if name in self.plain_struct_names:
            raise fail(pos, f"'{name}' is both a struct and a union")
        return self.aggregate(name, pos, node, UnionDecl)

    def aggregate(self, name: str, pos: Pos, node, cls) -> Struct:
        """A struct, or a union (`cls` UnionDecl): the same keys, read the same way."""
        word, shape = ("union", keys.UNION) if cls is UnionDecl else ("struct", keys.STRUCT)
        self.type_name_ok(name, pos, word)
        if name in self.enum_names:
            raise fail(pos, f"'{name}' is both a {word} and an enum")
        node = _expect_map(node, f"{word} {name}")
        what = f"{word} {name}"
        _check_keys(node, shape.allowed, shape.required, what)
        if (node.get("fields") is None) == (node.get("variants") is None):
            raise fail(pos, f"{what} needs exactly one of 'fields' or 'variants'",
                       "use 'variants' when the fields differ between archs")
        path = f"{word}s.{name}"
        if cls is UnionDecl and node.get("fields") is not None:
            fields = _expect_seq(node.get("fields"), f"fields of union {name}")
            if not fields.items:
                raise fail(fields.pos, f"union {name} has no alternatives", "a union needs at least one field")
        if node.get("fields") is not None:
            members = self.members(node.get("fields"), None, f"{path}.fields", name)
        else:
            members = self.variant_members(node.get("variants"), path, name)
        endian = self.byte_order(node.get("endian"), None, name)
        members = self.check_flexible(_default_byte_order(members, endian), what, cls is UnionDecl)
        members = writers.with_default_writers(members, writers.writers(node.get("writer"), self.sides, what))
        mode = writers.cacheline_mode(node.get("cacheline"))
        writers.require_writers(members, mode, what)
        if mode and any(isinstance(m, Field) and m.anonymous for m in members):
            raise fail(node.get("cacheline").pos, f"{what} has `cacheline: {mode}` and an anonymous member",
                       "name the member (a field of its own struct type) so that it has a writer")
        self.inherit_byte_order(name, endian)
        external = None
        if node.get("external") is not None:
            ext = _expect_map(node.get("external"), "external")
            _check_keys(ext, keys.EXTERNAL.allowed, keys.EXTERNAL.required, f"external of {what}")
            external = External(
                c_type=grammar.c_type(_string(ext.get("c_type"), "c_type"), ext.get("c_type").text_pos),
                include=grammar.include(_string(ext.get("include"), "include"), ext.get("include").text_pos))
        return cls(names=_names(node, name, naming.type_names), doc=_prose(node.get("doc")),
                   members=members, align=self.struct_alignment(node.get("align")),
                   packed=self.packing(node.get("packed")), external=external,
                   archs=self.archs_of(node.get("arch")), pos=pos.at(path), endian=endian,
                   extensible=_extensible(node.get("extensible"), members, what), cacheline=mode)

    # -- the options of issue 11: reserved space, byte order, per-arch packing and alignment

    def reserved(self, item: Map, struct: str, archs, where: Pos) -> Reserved:
        _check_keys(item, keys.RESERVED.allowed, keys.RESERVED.required, f"reserved space in {struct}")
        return Reserved(size=_expr(item.get("reserved"), "reserved"), doc=_prose(item.get("doc")),
                        archs=archs, pos=where,
                        c_name=_ident(item.get("c"), "c name") if item.get("c") else None)

    def byte_order(self, node, ref, owner: str) -> Optional[str]:
        """`endian: big|little` of a field (whose type is `ref`) or of a struct (`ref` None)."""
        if node is None:
            return None
        order = _string(node, "endian")
        if order not in BYTE_ORDERS:
            raise fail(node.pos, f"unknown byte order '{order}'", "write endian: big or endian: little")
        if ref is not None and not _is_integer(ref):
            raise fail(node.pos, f"field {owner} has a byte order but its type is {_type_kind(ref)}",
                       "only integers (and enums, flags and arrays of them) have a byte order")
        return order

    def packing(self, node) -> frozenset:
        """`packed: true`, a list of archs (`[amd64]`), or a map of arch lists to true/false."""
        if node is None or (isinstance(node, Scalar) and isinstance(node.value, bool)):
            return frozenset(self.archs) if node is not None and node.value else frozenset()
        if isinstance(node, Seq):
            return self.archs_of(node)
        if isinstance(node, Map):
            chosen = set()
            for arch_list, value in self.per_arch_map(node, "packed"):
                if not isinstance(value, Scalar) or not isinstance(value.value, bool):
                    raise fail(value.pos, "a per-arch packed value must be true or false")
                if value.value:
                    chosen |= arch_list
            return frozenset(chosen)
        raise fail(node.pos, "packed must be true or false, a list of archs, or a map of archs to true/false",
                   "e.g. packed: [amd64] or packed: {amd64: true, arm64: false}")

    def struct_alignment(self, node):
        """`align: 8`, or per arch `align: {amd64: 8, arm64: 16}` (an arch left out keeps its natural one)."""
        if not isinstance(node, Map):
            return self.alignment(node)
        return tuple((arch_list, self.alignment(value)) for arch_list, value in self.per_arch_map(node, "align"))

    def per_arch_map(self, node: Map, what: str) -> list:
        """[(frozenset of archs, value node)] of a map keyed by arch lists (`"amd64, arm64": ...`)."""
        found, covered = [], set()
        if not node.keys():
            raise fail(node.pos, f"a per-arch {what} map must name at least one arch")
        for key, key_pos, value in node.items():
            chosen = self.archs_of(Seq(tuple(Scalar(a.strip(), key_pos) for a in key.split(",")), key_pos))
            for arch in sorted(chosen & covered):
                raise fail(key_pos, f"{what} is given twice for arch '{arch}'")
            covered |= chosen
            found.append((chosen, value))
        return found

    def check_flexible(self, members: tuple, what: str, in_union: bool) -> tuple:
        """A flexible array is the last member on every arch, after at least one other field."""
        for arch in self.archs:
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

    def variant_members(self, node, path: str, struct: str) -> tuple:
        covered = {}
        members = []
        for index, item in enumerate(_expect_seq(node, "variants").items):
            item = _expect_map(item, "a variant")
            _check_keys(item, keys.VARIANT.allowed, keys.VARIANT.required, f"a variant of struct {struct}")
            archs = self.archs_of(item.get("arch"))
            for arch in archs:
                if arch in covered:
                    raise fail(item.get("arch").pos, f"arch '{arch}' already has a variant of struct {struct}")
                covered[arch] = True
            members.extend(self.members(item.get("fields"), archs, f"{path}.variants[{index}].fields", struct))
        missing = [arch for arch in self.archs if arch not in covered]
        if missing:
            raise fail(node.pos, f"struct {struct} has no variant for arch {', '.join(missing)}",
                       "add a variant, or restrict the struct with `arch:`")
        return tuple(members)

    def members(self, node, archs, path: str, struct: str) -> tuple:
        items = _expect_seq(node, f"fields of struct {struct}").items
        members = []
        for index, item in enumerate(items):
            item = _expect_map(item, "a field")
            where = item.pos.at(f"{path}[{index}]")
            if item.get("pad") is not None:
                _check_keys(item, keys.PADDING.allowed, keys.PADDING.required, f"padding in struct {struct}")
                members.append(Padding(size=_expr(item.get("pad"), "pad"),
                                       c_name=_ident(item.get("c"), "c name") if item.get("c") else None,
                                       doc=_prose(item.get("doc")),
                                       archs=self.narrow(archs, item.get("arch")), pos=where))
                continue
            if item.get("bits") is not None:
                members.append(self.bitfield(item, struct, self.narrow(archs, item.get("arch")), where))
                continue
            if item.get("reserved") is not None:
                members.append(self.reserved(item, struct, self.narrow(archs, item.get("arch")), where))
                continue
            if item.get("union") is not None or item.get("struct") is not None:
                members.append(self.anonymous_member(item, struct, self.narrow(archs, item.get("arch")), where))
                continue
            _check_keys(item, keys.FIELD.allowed, keys.FIELD.required, f"a field of struct {struct}")
            name = _ident(item.get("name"), "field name")
            ref = self.type_ref(item.get("type"), flexible=True)
            element = _element_type(ref)
            if isinstance(ref, FlexArray) and isinstance(element, Prim) and PRIMITIVES[element.name].wide:
                raise fail(item.get("type").text_pos, f"a flexible array cannot hold {element.name}: the Python "
                           "parsers read 128-bit integers only in arrays of a fixed length",
                           f"give it a length, e.g. {element.name}[4]")
            members.append(Field(names=_names(item, name, naming.field_names),
                                 type=ref, doc=_prose(item.get("doc")),
                                 align=self.alignment(item.get("align")),
                                 archs=self.narrow(archs, item.get("arch")), pos=where,
                                 endian=self.byte_order(item.get("endian"), ref, name),
                                 writers=writers.writers(item.get("writer"), self.sides, f"field {name}"),
                                 atomic=writers.atomic(item.get("atomic"), ref, name)))
        if not members:
            raise fail(node.pos, f"struct {struct} has no fields")
        return tuple(members)

    def anonymous_member(self, item: Map, struct: str, archs, where: Pos) -> Field:
        """`{union: [fields]}` or `{struct: [fields]}`: a hidden declaration `<Parent>Anon<n>`
        (its members keep the member's archs) and the unnamed field that holds it."""
        _check_keys(item, keys.ANONYMOUS.allowed, (), f"an anonymous member of {struct}")
        if (item.get("union") is None) == (item.get("struct") is None):
            raise fail(item.pos, "an anonymous member is either `union:` or `struct:`, not both")
        word = "union" if item.get("union") is not None else "struct"
        fields = _expect_seq(item.get(word), f"fields of an anonymous {word}")
        if not fields.items:
            raise fail(fields.pos, f"an anonymous {word} in {struct} has no fields",
                       "C needs at least one member; drop it or give it fields")
        index = self.anonymous_count.get(struct, 0)
        self.anonymous_count[struct] = index + 1
        name = f"{struct}Anon{index}"
        self.anonymous_owner[name] = struct
        members = self.members(item.get(word), archs, f"{where.path}.{word}", name)
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
        self.anonymous.append(cls(names=names, doc=_prose(item.get("doc")), members=members,
                                  align=self.struct_alignment(item.get("align")), packed=self.packing(item.get("packed")),
                                  external=None, archs=archs, pos=where, anonymous=True))
        return Field(names=names, type=StructRef(name), doc=_prose(item.get("doc")), align=None,
                     archs=archs, pos=where, anonymous=True)

    def spare_name(self, member, struct: str):
        """Unnamed padding or reserved space of an anonymous member, given a C name unique in
        the outermost struct (C declares it in that scope); any other member as it is."""
        if not isinstance(member, (Padding, Reserved)) or member.c_name:
            return member
        while struct in self.anonymous_owner:
            struct = self.anonymous_owner[struct]
        index = self.anonymous_spares.get(struct, 0)
        self.anonymous_spares[struct] = index + 1
        kind = "pad" if isinstance(member, Padding) else "reserved"
        return replace(member, c_name=naming.anonymous_spare_name(kind, index))

    def inherit_byte_order(self, parent: str, endian: Optional[str]) -> None:
        """A struct's `endian:` reaches the members of its anonymous members too (nested ones
        included), since C reaches them as the struct's own."""
        if endian is None:
            return
        for index, decl in enumerate(self.anonymous):
            owner = self.anonymous_owner[decl.names.canonical]
            while owner in self.anonymous_owner:  # up through enclosing anonymous members
                owner = self.anonymous_owner[owner]
            if owner == parent:
                self.anonymous[index] = replace(decl, members=_default_byte_order(decl.members, endian), endian=endian)

    def bitfield(self, item: Map, struct: str, archs, where: Pos) -> BitField:
        """`{name: mode, type: u32, bits: 3}`; with no name, padding bits or (0 bits) a unit break."""
        _check_keys(item, keys.BITFIELD.allowed, keys.BITFIELD.required, f"a bitfield of struct {struct}")
        names = None
        if item.get("name") is not None:
            names = _names(item, _ident(item.get("name"), "field name"), naming.field_names)
        else:
            for target in TARGETS:
                if item.get(target) is not None:
                    raise fail(item.get(target).pos, f"an unnamed bitfield has no name to spell in {target}")
        type_node = item.get("type")
        ref = self.type_ref(type_node)
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
        return BitField(names=names, type=ref, bits=_expr(item.get("bits"), "bits"),
                        doc=_prose(item.get("doc")), archs=archs, pos=where,
                        writers=writers.writers(item.get("writer"), self.sides, "a bitfield"))

    def narrow(self, outer, node):
        inner = self.archs_of(node)
        if outer is None:
            return inner
        if inner is None:
            return outer
        if not inner <= outer:
            raise fail(node.pos, "a field's arch list must lie within its variant's")
        return inner

    def alignment(self, node) -> Optional[int]:
        if node is None:
            return None
        value = node.value if isinstance(node, Scalar) else None
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0 or value & (value - 1):
            raise fail(node.pos, "align must be a positive power of two")
        if value > MAX_ALIGN:
            raise fail(node.pos, f"align {value} is larger than the supported {MAX_ALIGN}")
        return value

    def type_ref(self, node, flexible: bool = False):
        """The type a field names; `flexible` lets its first bracket be empty (`u8[]`)."""
        is_number = isinstance(node, Scalar) and isinstance(node.value, int)
        text = str(node.value) if is_number else _string(node, "type")
        match = _TYPE.fullmatch(text)
        if not match:
            raise fail(node.pos, f"cannot read type {text!r}",
                       "write e.g. u32, ptr(Msg), Msg, u8[16] or u8[MAX_LEN]")
        base_text = match.group("base")
        at = node.text_pos
        if base_text.startswith("ptr"):
            target = match.group("target")
            if target is not None and target not in self.struct_names:
                raise fail(at, f"pointer to unknown struct '{target}'", self.suggest(target))
            ref = Pointer(target)
        elif base_text in PRIMITIVES:
            ref = Prim(base_text)
        elif base_text in self.enum_names:
            ref = EnumRef(base_text)
        elif base_text in self.struct_names:
            ref = StructRef(base_text)
        else:
            raise fail(at, f"unknown type '{base_text}'", self.suggest(base_text))
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

    def suggest(self, name: str) -> str:
        known = sorted(set(PRIMITIVES) | self.struct_names | self.enum_names)
        close = _close(name, known)
        if close or len(known) > _MAX_LISTED:
            return close
        return "known types: " + ", ".join(known)

    # -- regions and asserts

    def region(self, name: str, pos: Pos, node, top: bool, path: str = "") -> Region:
        if top:
            grammar.ident(name, pos, "region name")
        node = _expect_map(node, f"region {name}")
        path = path or f"regions.{name}"
        shape = keys.REGION if top else keys.REGION_PART
        _check_keys(node, shape.allowed, shape.required, f"region {name}", pos if top else None)
        parts = []
        if node.get("parts") is not None:
            items = _expect_seq(node.get("parts"), "parts").items
            limits.region_parts(len(items), node.get("parts").pos, name)
            for index, item in enumerate(items):
                item = _expect_map(item, "a region part")
                part_name = _ident(item.get("name"), "region part name") if item.get("name") else ""
                parts.append(self.region(part_name, item.pos, item, top=False, path=f"{path}.parts[{index}]"))
        holds = None
        if node.get("holds") is not None:
            holds = _string(node.get("holds"), "holds")
            if holds not in self.struct_names:
                raise fail(node.get("holds").pos, f"unknown struct '{holds}'", self.suggest(holds))
        offset = _expr(node.get("offset"), "offset") if not top else ex.Num(0, node.pos)
        count, stride = _region_array(node, name, holds)
        return Region(names=Names(name, naming.snake(name), naming.go_camel(name), name), offset=offset,
                      size=_expr(node.get("size"), "size"), holds=holds, parts=tuple(parts),
                      doc=_prose(node.get("doc")), pos=pos.at(path), count=count, stride=stride)

    def assertion(self, node) -> Assert:
        if isinstance(node, Scalar):
            node = Map((("expr", node.pos, node),), node.pos)
        node = _expect_map(node, "an assert")
        _check_keys(node, keys.ASSERT.allowed, keys.ASSERT.required, "an assert")
        source = node.get("expr")
        return Assert(expr=_expr(source, "expr"), doc=_prose(node.get("doc")),
                      source=str(source.value), pos=source.text_pos)


def resolve(root: Map, file: str, data: bytes) -> Spec:
    digest = hashlib.sha256(data).hexdigest()
    return _Resolver(root, file, digest).run()


def _element_type(ref):
    """The type under any fixed or flexible array brackets."""
    while isinstance(ref, (Array, FlexArray)):
        ref = ref.element
    return ref


def _is_integer(ref) -> bool:
    """Whether a byte order means something for a field of this type: integers, flags and
    enums, alone or in (flexible) arrays."""
    return isinstance(_element_type(ref), (Prim, EnumRef))


def _type_kind(ref) -> str:
    return {Pointer: "a pointer", StructRef: "a struct or union"}.get(type(_element_type(ref)), "not an integer")


def _default_byte_order(members: tuple, endian: Optional[str]) -> tuple:
    """A struct's `endian:` given to each integer field that has no byte order of its own."""
    if endian is None:
        return members
    return tuple(replace(m, endian=endian) if isinstance(m, Field) and m.endian is None and _is_integer(m.type)
                 else m for m in members)


# ---- whole-spec checks -----------------------------------------------------


def check_spec(spec: Spec) -> None:
    problems = Problems()
    for step in (_check_references, _check_struct_cycles, _check_constant_cycles, _check_names,
                 _check_flexible_nesting):
        try:
            step(spec, problems)
        except SpecError as error:
            problems.take(error)
    # A per-arch check finds the same problem once per arch; report it once.
    problems.items = list(dict.fromkeys(problems.items))
    problems.raise_if_any()


def _check_flexible_nesting(spec: Spec, problems: Problems) -> None:
    """A struct that ends in a flexible array has no fixed end: it may only be the last field
    of another struct (which then ends in it too), never an array element or a union member."""
    by_name = {s.names.canonical: s for s in spec.structs}
    for arch in spec.archs:
        variant = Variant(arch)
        flexible = _flexible_structs(spec, variant)
        for struct in spec.structs:
            present = struct.members_for(variant)
            for index, member in enumerate(present):
                if not isinstance(member, Field):
                    continue
                inner = _element(member.type)
                if not isinstance(inner, StructRef) or inner.name not in flexible:
                    continue
                word = "union" if isinstance(by_name[inner.name], UnionDecl) else "struct"
                where = f"{'union' if isinstance(struct, UnionDecl) else 'struct'} {struct.names.canonical}"
                hint = f"{word} {inner.name} ends in a flexible array, so its size is not fixed"
                if member.type != inner:
                    problems.add(member.pos, f"field {member.names.canonical} is an array of {inner.name}, "
                                 "which ends in a flexible array", hint)
                elif isinstance(struct, UnionDecl):
                    problems.add(member.pos, f"{where} cannot hold {inner.name}, which ends in a flexible array",
                                 hint)
                elif index + 1 < len(present):
                    problems.add(member.pos, f"field {member.names.canonical} ({inner.name}, which ends in a "
                                 f"flexible array) must be the last member of {where}", hint)


def _flexible_structs(spec: Spec, variant: Variant) -> set:
    """Names of the structs that end in a flexible array on `variant`, directly or through
    a last field that is such a struct."""
    found, changed = set(), True
    while changed:
        changed = False
        for struct in spec.structs:
            present = struct.members_for(variant)
            if struct.names.canonical in found or not present or not isinstance(present[-1], Field):
                continue
            last = present[-1].type
            if isinstance(last, FlexArray) or (isinstance(last, StructRef) and last.name in found):
                found.add(struct.names.canonical)
                changed = True
    return found


def _all_exprs(spec: Spec):
    """Yield (owner description, expression) for every expression in the spec."""
    for const in spec.constants:
        values = const.value if isinstance(const.value, tuple) else ((None, const.value),)
        for _, value in values:
            yield ("constant", const.names.canonical), value
    for enum in spec.enums:
        for value in enum.values:
            yield ("enum", enum.names.canonical), value.value
    for struct in spec.structs:
        for member in struct.members:
            if isinstance(member, (Padding, Reserved)):
                yield ("struct", struct.names.canonical), member.size
            elif isinstance(member, BitField):
                yield ("struct", struct.names.canonical), member.bits
            else:
                for length in _array_lengths(member.type):
                    yield ("struct", struct.names.canonical), length
    for region in spec.regions:
        for part in _walk_regions(region):
            yield ("region", region.names.canonical), part.offset
            yield ("region", region.names.canonical), part.size
            for expr in (part.count, part.stride):
                if expr is not None:
                    yield ("region", region.names.canonical), expr
    if spec.cacheline_size is not None:
        yield ("spec", "cacheline_size"), spec.cacheline_size
    for assertion in spec.asserts:
        yield ("assert", ""), assertion.expr


def _extensible(node, members: tuple, what: str) -> Optional[str]:
    """The size field of an extensible struct: a named field of the struct itself, on every
    arch, of an unsigned integer type, since it carries the size the writer knew."""
    if node is None:
        return None
    node = _expect_map(node, f"extensible of {what}")
    _check_keys(node, keys.EXTENSIBLE.allowed, keys.EXTENSIBLE.required, f"extensible of {what}")
    name = _ident(node.get("size_field"), "size_field")
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


def _region_array(node: Map, name: str, holds: Optional[str]) -> tuple:
    """(count, stride) of an array part, or (None, None). The two come together, and only with
    `holds`: an array of nothing in particular has no element size or alignment to check."""
    given = {key: node.get(key) for key in ("count", "stride") if node.get(key) is not None}
    if not given:
        return None, None
    for key, other in (("count", "stride"), ("stride", "count")):
        if key in given and other not in given:
            raise fail(given[key].pos, f"region part {name} has '{key}' but no '{other}'",
                       "an array part gives both: count elements, one every stride bytes")
    if holds is None:
        raise fail(given["count"].pos, f"region part {name} has 'count' and 'stride' but no 'holds'",
                   "name the struct each element holds, e.g. holds: ThreadContext")
    return _expr(given["count"], "count"), _expr(given["stride"], "stride")


def _walk_regions(region: Region):
    yield region
    for part in region.parts:
        yield from _walk_regions(part)


def _array_lengths(ref):
    while isinstance(ref, (Array, FlexArray)):
        if isinstance(ref, Array):
            yield ref.length
        ref = ref.element


def _element(ref):
    return _element_type(ref)


def _param_int(node, what: str) -> int:
    if not isinstance(node, Scalar) or type(node.value) is not int:
        raise fail(node.pos, f"{what} must be an integer")
    if not ex.INT64_MIN <= node.value <= ex.INT64_MAX:
        raise fail(node.pos, f"{what} does not fit in 64 bits")
    return node.value


def _check_references(spec: Spec, problems: Problems) -> None:
    constants = {c.names.canonical for c in spec.constants} | {p.name for p in spec.params}
    structs = {s.names.canonical: s for s in spec.structs}
    for _, value in _all_exprs(spec):
        for ref in ex.references(value):
            _stop_early(problems)  # each suggestion scans every name, so many of them would be slow
            if isinstance(ref, ex.Ref) and ref.name not in constants:
                what = "constant or parameter" if spec.params else "constant"
                problems.add(ref.pos, f"unknown {what} '{ref.name}'", _close(ref.name, constants))
            elif isinstance(ref, (ex.SizeOf, ex.OffsetOf)) and ref.struct not in structs:
                problems.add(ref.pos, f"unknown struct '{ref.struct}'", _close(ref.struct, structs))
            elif isinstance(ref, ex.OffsetOf):
                _check_field_path(spec, ref, problems)


def _stop_early(problems: Problems) -> None:
    if len(problems.items) >= MAX_PROBLEMS:
        last = max(problems.items, key=lambda p: (p.pos.line, p.pos.col))
        problems.add(last.pos, f"stopped after {len(problems.items)} problems; there may be more")
        problems.raise_if_any()


def _check_field_path(spec: Spec, ref: ex.OffsetOf, problems: Problems) -> None:
    struct = spec.struct(ref.struct)
    for depth, name in enumerate(ref.field):
        fields = {m.names.canonical: m for m in spec.visible_members(struct) if isinstance(m, Field)}
        if name not in fields and _is_bitfield(struct, name):
            problems.add(ref.pos, f"'{name}' is a bitfield of struct {struct.names.canonical}, and offsetof "
                         "cannot name a bitfield", "the offsets header gives its unit's offset and bit position")
            return
        if name not in fields:
            problems.add(ref.pos, f"struct {struct.names.canonical} has no field '{name}'", _close(name, fields))
            return
        element = _element(fields[name].type)
        if depth + 1 < len(ref.field):
            if not isinstance(element, StructRef) or isinstance(fields[name].type, (Array, FlexArray)):
                problems.add(ref.pos, f"field '{name}' is not a struct, so it has no fields")
                return
            struct = spec.struct(element.name)


def _is_bitfield(struct: Struct, name: str) -> bool:
    return any(isinstance(m, BitField) and m.names is not None and m.names.canonical == name for m in struct.members)


_MAX_LISTED = 40  # longer lists of names make a hint unreadable
_MAX_COMPARED = 2000  # fuzzy matching costs this many comparisons per problem


def _close(name: str, known) -> str:
    import difflib
    if len(known) > _MAX_COMPARED:
        return ""  # a spec this big gets no suggestions rather than a slow error report
    close = difflib.get_close_matches(name, sorted(known), n=1)
    return f"did you mean '{close[0]}'?" if close else ""


def _check_struct_cycles(spec: Spec, problems: Problems) -> None:
    """A struct may not contain itself by value; pointers are fine."""
    contains = {
        s.names.canonical: [(m, _element(m.type).name) for m in s.members
                            if isinstance(m, Field) and isinstance(_element(m.type), StructRef)]
        for s in spec.structs
    }
    _find_cycles(contains, lambda member: member.pos, "struct contains itself by value",
                 "use a pointer, ptr(Name), to refer back", problems)


def _check_constant_cycles(spec: Spec, problems: Problems) -> None:
    """Constants may refer to constants and to struct sizes; struct sizes refer to constants."""
    graph = {}
    for (kind, owner), value in _all_exprs(spec):
        if kind not in ("constant", "struct"):
            continue
        node = f"{kind}:{owner}"
        for ref in ex.references(value):
            target = f"constant:{ref.name}" if isinstance(ref, ex.Ref) else f"struct:{ref.struct}"
            graph.setdefault(node, []).append((ref, target))
    for struct in spec.structs:
        node = f"struct:{struct.names.canonical}"
        for member in struct.members:
            if isinstance(member, Field) and isinstance(_element(member.type), StructRef):
                graph.setdefault(node, []).append((member, f"struct:{_element(member.type).name}"))
    _find_cycles(graph, lambda ref: ref.pos, "definition depends on itself",
                 "break the cycle of constants and sizes", problems, only_prefix="constant:")


_MAX_WALK = 400  # keeps this recursive walk well inside Python's stack


def _find_cycles(graph: dict, pos_of, message: str, hint: str, problems: Problems, only_prefix: str = "") -> None:
    state = {}

    def visit(node, trail):
        if len(trail) > _MAX_WALK:
            return  # the layout engine reports chains this long, with a clearer message
        state[node] = "active"
        for edge, target in graph.get(node, ()):
            if state.get(target) == "active":
                cycle = trail[trail.index(target):] + [target] if target in trail else [node, target]
                if not only_prefix or any(n.startswith(only_prefix) for n in cycle):
                    names = " -> ".join(n.split(":", 1)[-1] for n in cycle)
                    problems.add(pos_of(edge), f"{message}: {names}", hint)
            elif target not in state:
                visit(target, trail + [target])
        state[node] = "done"

    for node in list(graph):
        if node not in state:
            visit(node, [node])


def _check_names(spec: Spec, problems: Problems) -> None:
    """Every target spelling must be legal there and unique in its scope."""
    top_level = []
    for kind, items in (("constant", spec.constants), ("enum", spec.enums), ("struct", spec.structs)):
        for item in items:
            top_level.append((item.names, item.pos, "union" if isinstance(item, UnionDecl) else kind))
    for enum in spec.enums:
        for value in enum.values:
            top_level.append((value.names, value.pos, "enum value"))
    _unique(top_level, problems, skip_python={"enum value"})
    _check_generated_names(top_level, problems)
    for struct in spec.structs:
        if struct.anonymous:
            continue  # its members are checked with its parent's, which C reaches them as
        for arch in spec.archs:
            fields = [(m.names, m.pos, "field") for m in spec.visible_members(struct)
                      if isinstance(m, (Field, BitField)) and m.names is not None
                      and (m.archs is None or arch in m.archs)]
            if not _anonymous_clash(struct, fields, problems):
                _unique(fields, problems, external=struct.external is not None)
                _check_view_attributes(fields, problems)
    for enum in spec.enums:
        _unique([(v.names, v.pos, "enum value") for v in enum.values], problems, only=("python",))


def _check_generated_names(top_level: list, problems: Problems) -> None:
    """A top-level name may not be one the generated code defines in the same scope (a runtime
    class, an import, a helper, a standard macro), nor a struct's Python view class."""
    for target in TARGETS:
        for names, pos, kind in top_level:
            spelled = names.for_target(target)
            if (target == "python" and kind == "enum value") or spelled in naming.RESERVED[target]:
                continue  # enum members live in their class; reserved words are reported by _unique
            what = naming.generated_clash(target, spelled)
            if what:
                problems.add(pos, f"{kind} name '{spelled}' clashes with a name {what}",
                             f"rename it, or give it a {target}: spelling")
    classes = {names.python + suffix: (kind_of, names.canonical) for names, _, kind in top_level
               if kind in ("struct", "union") for suffix, kind_of in (("View", "view"), ("Value", "value"))}
    for names, pos, kind in top_level:
        if kind != "enum value" and names.python in classes:
            problems.add(pos, f"{kind} name '{names.python}' clashes with the {classes[names.python][0]} class the "
                         f"generated Python module defines for {classes[names.python][1]}",
                         "rename it, or give it a python: spelling")


def _check_view_attributes(fields: list, problems: Problems) -> None:
    for names, pos, kind in fields:
        if names.python in naming.PYTHON_VIEW_ATTRIBUTES:
            problems.add(pos, f"{kind} name '{names.python}' clashes with an attribute every generated Python view "
                         "has", "rename it, or give it a python: spelling")


def _anonymous_clash(struct: Struct, fields: list, problems: Problems) -> bool:
    """A member of an anonymous struct or union named like another member of the parent:
    C would reach both as `parent.name` and refuses the declaration."""
    own = {id(m.names) for m in struct.members if isinstance(m, (Field, BitField)) and m.names is not None}
    seen, clashed = {}, False
    for names, pos, _ in fields:
        other = seen.get(names.canonical)
        if other is not None and other[0] != pos and not (id(names) in own and other[1]):
            problems.add(pos, f"field '{names.canonical}' is also a member of an anonymous struct or union of "
                         f"{struct.names.canonical}; C reaches both as {struct.names.canonical}.{names.canonical}",
                         "rename one of them")
            clashed = True
        seen.setdefault(names.canonical, (pos, id(names) in own))
    return clashed


def _unique(entries: list, problems: Problems, skip_python=frozenset(), external=False, only=TARGETS) -> None:
    for target in only:
        seen = {}
        for names, pos, kind in entries:
            if target == "python" and kind in skip_python:
                continue
            spelled = names.for_target(target)
            if not (external and target == "c") and not (target == "go" and spelled == "_"):
                if spelled in naming.RESERVED[target]:
                    problems.add(pos, f"{kind} name '{spelled}' is reserved in {_LANG[target]}",
                                 f"rename it, or add `{target}: other_name` for {_LANG[target]} only")
                    continue
            key = spelled
            if key in seen and seen[key][0] != pos:
                problems.add(pos, f"{kind} '{names.canonical}' and '{seen[key][1]}' are both spelled "
                             f"'{spelled}' in {_LANG[target]}", f"add `{target}: other_name` to one of them")
            seen.setdefault(key, (pos, names.canonical))


_LANG = {"c": "C", "go": "Go", "python": "Python"}


def _prose(node) -> Prose:
    """A `doc:`: free text, marked so that no output prints it without its escape."""
    return Prose(_string(node, "doc"))
