"""How the C outputs spell what every one of them names: the #if condition of a combination,
a struct's C type, a reserved member, an integer literal, a constant and an expression.
"""
from __future__ import annotations

from .. import cint
from .. import expr as ex
from .. import layout_types as lay
from ..ir import Field, Spec, StructRef, UnionDecl
from ..layout import per_variant
from ..primitives import ARCHS
from .common import Context


def arch_condition(arch: str) -> str:
    return ARCHS[arch].c_condition


def params_condition(spec: Spec, variant) -> str:
    return " && ".join(f"{spec.param(name).c_macro} == {value}" for name, value in variant.params)


def combo_condition(spec: Spec, variant) -> str:
    """The C condition that selects one combination: its arch, then its parameter values."""
    return " && ".join([arch_condition(variant.arch)] + ([params_condition(spec, variant)] if variant.params else []))


def struct_type(spec: Spec, name: str) -> str:
    decl = spec.struct(name)
    if decl.external:
        return decl.external.c_type
    return f"{'union' if isinstance(decl, UnionDecl) else 'struct'} {decl.names.c}"


def reserved_name(slot: lay.ReservedSlot) -> str:
    """C's name for a `reserved:` member: its `c:` name (a system type's own), else
    `__reserved_<n>`, whose implementation-style prefix marks it as not for use."""
    return slot.reserved.c_name or f"__reserved_{slot.index}"


def byte_order_note(scalar) -> str:
    """`, big-endian` after a field's offset comment when the spec fixes its byte order."""
    return f", {scalar.order}-endian" if scalar is not None and scalar.order else ""


@per_variant
def c_constants(spec: Spec, layout: lay.Layout) -> dict:
    """The constants the C headers define for this combination, by canonical name."""
    return {c.names.canonical: c for c in spec.constants
            if "c" in c.targets and c.names.canonical in layout.constants}


def c_int(value: int, suffix: str = "") -> str:
    """A C (and assembler) literal for `value`. C has no literal for INT64_MIN: `-9223372036854775808`
    is the negation of an unsigned constant, so it is spelled as an expression instead."""
    if value == ex.INT64_MIN:
        return f"(-{ex.INT64_MAX}{suffix} - 1)"
    return f"{value}{suffix}"


def c_constant(layout: lay.Layout, name: str) -> str:
    """A constant's value as a C expression of its C type (`4294967295U`, `18446744073709551615UL`)."""
    return cint.spelling(layout.constants[name], layout.constant_type(name))


def c_expr(ctx: Context, layout: lay.Layout, node: ex.Expr) -> str:
    """An expression in C, naming constants the header defines and spelling the rest as values."""
    visible = c_constants(ctx.spec, layout)

    def spell(n):
        if isinstance(n, ex.Num):
            return cint.spelling(n.value, n.ctype)
        if isinstance(n, ex.Ref) and n.name not in layout.constants and ctx.spec.param(n.name) is not None:
            return ctx.spec.param(n.name).c_macro  # a spec parameter: the header defines its macro
        if isinstance(n, ex.Ref):
            return visible[n.name].names.c if n.name in visible else c_constant(layout, n.name)
        if isinstance(n, ex.SizeOf):
            return f"{'_Alignof' if n.align else 'sizeof'}({struct_type(ctx.spec, n.struct)})"
        if isinstance(n, ex.OffsetOf):
            return f"offsetof({struct_type(ctx.spec, n.struct)}, {'.'.join(_c_field_path(ctx.spec, n))})"
        if isinstance(n, ex.Unary):
            return f"{n.op}({spell(n.operand)})"
        if isinstance(n, ex.Cond):
            return f"({spell(n.cond)} ? {spell(n.then)} : {spell(n.other)})"
        return f"({spell(n.left)} {n.op} {spell(n.right)})"

    return spell(node)


def _c_field_path(spec: Spec, node: ex.OffsetOf) -> list:
    struct, names = spec.struct(node.struct), []
    for name in node.field:
        field = next(m for m in spec.visible_members(struct) if isinstance(m, Field) and m.names.canonical == name)
        names.append(field.names.c)
        inner = field.type
        while hasattr(inner, "element"):
            inner = inner.element
        if isinstance(inner, StructRef):
            struct = spec.struct(inner.name)
    return names
