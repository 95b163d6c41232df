"""The named values of a spec: parameters, constants and enums.

Values stay expressions here (`expr.py` evaluates them per variant in the layout stage); what is
checked is their shape, their names and, for enums and typed constants, that their types can
carry them in every target.
"""
from __future__ import annotations

from typing import Optional

from . import expr as ex
from . import grammar, limits, naming
from . import spec_keys as keys
from .errors import Pos, fail
from .ir import Constant, Enum, EnumValue, Names, Param, Prim
from .load import Map, Scalar
from .primitives import PRIMITIVES
from .resolve_nodes import (boolean, check_keys, expect_map, expect_seq, expression, ident, node_names, prose,
                            string, target_overrides, unique_choices)
from .resolve_scope import Scope, prim, target_name, type_name_ok

GO_ACCESSORS = ("set", "get", "compare_and_swap")  # sync/atomic store, load and compare-and-swap


# -- parameters


def param(spec_name: str, name: str, pos: Pos, node) -> Param:
    if not grammar.PARAM_NAME.fullmatch(name):
        raise fail(pos, f"parameter name {name!r} must be lower_snake_case",
                   "parameters are lower case, constants upper case, so the two never clash")
    grammar.name_length(name, pos, "parameter name", grammar.MAX_PARAM_NAME_LEN)
    node = expect_map(node, f"parameter {name}")
    check_keys(node, keys.PARAM.allowed, keys.PARAM.required, f"parameter {name}", pos)
    values_node = expect_seq(node.get("values"), f"values of {name}")
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
    c_macro = (ident(node.get("c"), "c") if node.get("c") is not None
               else f"{spec_name.upper()}_{name.upper()}")
    return Param(name=name, values=tuple(values), default=default, c_macro=c_macro,
                 doc=prose(node.get("doc")), pos=pos.at(f"params.{name}"))


def _param_int(node, what: str) -> int:
    if not isinstance(node, Scalar) or type(node.value) is not int:
        raise fail(node.pos, f"{what} must be an integer")
    if not ex.INT64_MIN <= node.value <= ex.INT64_MAX:
        raise fail(node.pos, f"{what} does not fit in 64 bits")
    return node.value


# -- constants


def constant(scope: Scope, name: str, pos: Pos, node) -> Constant:
    grammar.ident(name, pos, "constant name")
    if name != name.upper():
        raise fail(pos, f"constant name {name!r} must be UPPER_SNAKE_CASE",
                   f"write {naming.upper_snake(name)}")
    if isinstance(node, Scalar):
        node = Map((("value", node.pos, node),), node.pos)
    node = expect_map(node, f"constant {name}")
    check_keys(node, keys.CONSTANT.allowed, keys.CONSTANT.required, f"constant {name}", pos)
    typ = None
    if node.get("type") is not None:
        typ = prim(node.get("type"))
    go_type = None
    if node.get("go_type") is not None:
        go_type = grammar.go_type(string(node.get("go_type"), "go_type"), node.get("go_type").text_pos)
    targets = frozenset(keys.TARGETS)
    if node.get("targets") is not None:
        targets = frozenset(target_name(item) for item in expect_seq(node.get("targets"), "targets").items)
    value_node = node.get("value")
    if isinstance(value_node, Map):
        value = _per_arch_value(scope, name, value_node, scope.archs_of(node.get("arch")))
    else:
        value = expression(_int64_literal(value_node, typ, name), f"value of {name}")
    c_ifndef = boolean(node.get("c_ifndef"), "c_ifndef")
    return Constant(names=node_names(node, name, naming.constant_names), value=value, type=typ,
                    go_type=go_type, doc=prose(node.get("doc")), targets=targets, c_ifndef=c_ifndef,
                    archs=scope.archs_of(node.get("arch")), pos=pos.at(f"constants.{name}"),
                    external=_constant_external(node, name, targets, c_ifndef)
                    or _spec_owned_external(scope, targets, c_ifndef))


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
    return grammar.include(string(external, "external"), external.text_pos)


def _spec_owned_external(scope: Scope, targets: frozenset, c_ifndef: bool) -> Optional[str]:
    """The spec's `external_constants` header, for a constant C emits without `c_ifndef`
    (a constant that C leaves out, or defines only when missing, is not the header's)."""
    if scope.external_constants is None or "c" not in targets or c_ifndef:
        return None
    return scope.external_constants


def _int64_literal(node, typ: Optional[Prim], name: str):
    """The value node, refused with the reason when a 128-bit constant's literal is past int64."""
    if (typ is not None and PRIMITIVES[typ.name].wide and isinstance(node, Scalar)
            and isinstance(node.value, int) and not isinstance(node.value, bool)
            and not ex.INT64_MIN <= node.value <= ex.INT64_MAX):
        raise fail(node.text_pos, f"constant {name} is {typ.name}, but {node.value} needs more than 64 bits: "
                   "constant values are int64 expressions in every target",
                   "keep 128-bit constants within int64, or split the value into two u64 constants")
    return node


def _per_arch_value(scope: Scope, name: str, node: Map, archs) -> tuple:
    """`value: {amd64: 8, "arm64": 16}`: every arch the constant exists on needs exactly one value."""
    values, covered = [], set()
    for key, key_pos, item in node.items():
        chosen = scope.archs_keyed(key, key_pos)
        for arch in sorted(chosen & covered):
            raise fail(key_pos, f"constant {name} has two values for arch '{arch}'")
        covered |= chosen
        values.append((chosen, expression(item, f"value of {name}")))
    missing = [arch for arch in scope.archs if arch not in covered and (archs is None or arch in archs)]
    if missing:
        raise fail(node.pos, f"constant {name} has no value for arch {', '.join(missing)}",
                   "add one, or restrict the constant with `arch:`")
    return tuple(values)


# -- enums


def enum(scope: Scope, name: str, pos: Pos, node) -> Enum:
    type_name_ok(name, pos, "enum")
    node = expect_map(node, f"enum {name}")
    check_keys(node, keys.ENUM.allowed, keys.ENUM.required, f"enum {name}", pos)
    base = prim(node.get("type"))
    if PRIMITIVES[base.name].is_bool:
        raise fail(node.get("type").pos, "an enum's type must be an integer type, not a flag")
    if PRIMITIVES[base.name].wide:
        raise fail(node.get("type").pos, f"an enum's type cannot be {base.name}: C has no 128-bit enum "
                   "(before C23) and enum values are int64 expressions", "use u64 or i64")
    go_options = _go_enum_options(node, name, base)
    names = node_names(node, name, naming.type_names)
    items = expect_seq(node.get("values"), f"values of enum {name}").items
    if not items:
        raise fail(node.get("values").pos, f"enum {name} has no values")
    limits.enum_values(len(items), node.get("values").pos, name)
    return Enum(names=names, base=base, values=_enum_values(items, name, names), doc=prose(node.get("doc")),
                archs=scope.archs_of(node.get("arch")), pos=pos.at(f"enums.{name}"), **go_options,
                asm_prefix=_asm_prefix(node.get("asm_prefix")), external=_enum_external(node.get("external"), name))


def _enum_values(items: tuple, name: str, names: Names) -> tuple:
    values, seen, anchor, step = [], {}, None, 0
    for index, item in enumerate(items):
        item = expect_map(item, "an enum value")
        check_keys(item, keys.ENUM_VALUE.allowed, keys.ENUM_VALUE.required, f"a value of enum {name}")
        member = ident(item.get("name"), "enum value name")
        if member in seen:
            raise fail(item.get("name").pos, f"enum {name} already has a value named {member}")
        seen[member] = True
        if item.get("value") is not None:
            value = expression(item.get("value"), f"value of {name}.{member}")
            anchor, step = value, 0
        else:
            # An implicit value is the previous one plus one, as in C. It is written as an
            # offset from the last explicit value, so a long enum builds no deep expression.
            step += 1
            value = (ex.Num(step - 1, item.pos) if anchor is None
                     else ex.Binary("+", anchor, ex.Num(step, item.pos), item.pos))
        overrides = target_overrides(item)
        values.append(EnumValue(
            names=Names(canonical=member, **naming.enum_value_names(names.c, names.go, member, overrides)),
            value=value, doc=prose(item.get("doc")), pos=item.pos.at(f"enums.{name}.values[{index}]")))
    return tuple(values)


def _go_enum_options(node: Map, name: str, base: Prim) -> dict:
    """The Go-only enum keys: atomic accessors (and which are nosplit), or no named type."""
    untyped = boolean(node.get("go_untyped"), "go_untyped")
    accessors = _accessor_list(node.get("go_accessors"), GO_ACCESSORS)
    nosplit = _accessor_list(node.get("go_nosplit"), GO_ACCESSORS)
    if accessors and untyped:
        raise fail(node.get("go_accessors").pos, f"enum {name} has go_accessors but go_untyped: true",
                   "methods need the named type; drop one of the two keys")
    if nosplit and not set(nosplit) <= set(accessors):
        raise fail(node.get("go_nosplit").pos, "go_nosplit may only name methods listed in go_accessors")
    if accessors and PRIMITIVES[base.name].size not in (4, 8):
        raise fail(node.get("go_accessors").pos, f"enum {name} is {base.name}; sync/atomic works on 32 "
                   "and 64-bit integers only", "give the enum type u32, i32, u64 or i64")
    return {"go_accessors": accessors, "go_nosplit": frozenset(nosplit), "go_untyped": untyped}


def _accessor_list(node, allowed: tuple) -> tuple:
    if node is None:
        return ()
    return unique_choices(expect_seq(node, "an accessor list").items, "accessor", allowed, "allowed")


def _asm_prefix(node) -> str:
    if node is None:
        return naming.ASM_ENUM_PREFIX
    return grammar.asm_prefix(string(node, "asm_prefix"), node.text_pos)


def _enum_external(node, name: str) -> Optional[str]:
    """`external: {include: linux/io_uring.h}`: the header that defines the enum's values in C."""
    if node is None:
        return None
    node = expect_map(node, f"external of enum {name}")
    check_keys(node, keys.ENUM_EXTERNAL.allowed, keys.ENUM_EXTERNAL.required, f"external of enum {name}")
    return grammar.include(string(node.get("include"), "include"), node.get("include").text_pos)
