"""Python target: a package of construct parsers, one module per arch, with type stubs."""
from __future__ import annotations

from dataclasses import dataclass

from .. import expr as ex
from .. import layout as lay
from ..primitives import PRIMITIVES
from .common import Context, comment_lines, doc_of, render_template, struct_order, then_change

_MACHINES = {"amd64": ("x86_64", "amd64"), "arm64": ("aarch64", "arm64")}


@dataclass(frozen=True)
class _Constant:
    name: str
    value: str
    comment: str
    doc: tuple


def render(ctx: Context) -> dict:
    package = ctx.spec.name
    banner = ctx.banner()
    files = {}
    for arch, layout in ctx.layouts.items():
        model = _arch_model(ctx, layout)
        files[f"python/{package}/{arch}.py"] = render_template("python/arch.py.j2", banner=banner, **model)
        files[f"python/{package}/{arch}.pyi"] = render_template("python/arch.pyi.j2", banner=banner, **model)
    files[f"python/{package}/_runtime.py"] = render_template("python/_runtime.py.j2", banner=banner)
    files[f"python/{package}/native.py"] = render_template(
        "python/native.py.j2", banner=banner,
        machines=[(machine, arch) for arch in ctx.spec.archs for machine in _MACHINES[arch]])
    files[f"python/{package}/native.pyi"] = "\n".join(
        ["# " + line for line in banner] + [f"from .{ctx.spec.archs[0]} import *", ""])
    files[f"python/{package}/__init__.py"] = render_template(
        "python/__init__.py.j2", banner=banner, doc=doc_of(ctx.spec) or f"Parsers for {package}.",
        package=package, arch_list=", ".join(ctx.spec.archs),
        arch_modules=", ".join(f"`{package}.{a}`" for a in ctx.spec.archs),
        arch_tuple="".join(f'"{a}", ' for a in ctx.spec.archs).rstrip(" "), digest=ctx.spec.digest)
    files[f"python/{package}/py.typed"] = ""
    files[f"python/tests/test_{package}_layout.py"] = render_template(
        "python/test_layout.py.j2", banner=banner, package=package,
        facts=[(arch, _layout_facts(ctx, layout)) for arch, layout in ctx.layouts.items()],
        constants=[(arch, [(c.names.python, layout.constants[c.names.canonical])
                           for c in ctx.spec.constants
                           if "python" in c.targets and c.names.canonical in layout.constants])
                   for arch, layout in ctx.layouts.items()])
    return files


def _layout_facts(ctx: Context, layout: lay.Layout) -> list:
    """Per struct: its size and the offset of every field, nested fields as dotted paths."""
    facts = []
    for struct in struct_order(layout):
        offsets = [(".".join(slot.field.names.python for slot in chain), offset)
                   for chain, offset in lay.nested_fields(layout, struct.name)]
        facts.append({"name": ctx.spec.struct(struct.name).names.python, "size": struct.size, "offsets": offsets})
    return facts


def _arch_model(ctx: Context, layout: lay.Layout) -> dict:
    spec = ctx.spec
    constants = [
        _Constant(c.names.python, str(layout.constants[c.names.canonical]),
              _expr_comment(c, layout), tuple(comment_lines(c.doc)))
        for c in spec.constants if "python" in c.targets and c.names.canonical in layout.constants
    ]
    enums = []
    for enum_layout in layout.enums.values():
        enum = enum_layout.enum
        members = [{"name": value.names.python, "value": number, "doc": doc_of(value)}
                   for value, number in enum_layout.values]
        enums.append({"name": enum.names.python, "doc": doc_of(enum) or enum.names.python,
                      "members": members})
    structs = [_struct_model(spec, layout, s) for s in struct_order(layout)]
    exports = [c.name for c in constants] + [e["name"] for e in enums] + [s["name"] for s in structs]
    return {
        "arch": layout.variant.arch,
        "module_doc": f"Layouts of {spec.name} on {layout.variant.arch}: constants, enums and construct structs.",
        "constants": constants,
        "enums": enums,
        "structs": structs,
        "exports": exports + ["SIZES", "ARCH"],
        "then_change": then_change(spec, f"python/{spec.name}/{layout.variant.arch}.py"),
    }


def _expr_comment(const, layout) -> str:
    source = const.expr_for(layout.variant)
    if isinstance(source, ex.Num):
        return ""
    return "  # " + ex.render(source)


def _struct_model(spec, layout: lay.Layout, struct: lay.StructLayout) -> dict:
    decl = spec.struct(struct.name)
    items, fields = [], []
    for slot in struct.slots:
        if isinstance(slot, lay.FieldSlot):
            names = slot.field.names
            doc = doc_of(slot.field)
            if doc:
                items.append(f"# {doc}")
            items.append(f'"{names.python}" / {_construct(spec, layout, slot)},  '
                         f"# offset {slot.offset}, size {slot.size}")
            fields.append({"name": names.python, "hint": _hint(spec, layout, slot)})
        elif isinstance(slot, lay.PadSlot):
            items.append(f'Gap({slot.size}, "padding at {slot.offset}"),  # offset {slot.offset}')
        else:
            where = "tail padding" if slot.tail else f"hole after {slot.after}" if slot.after else "hole"
            items.append(f'Gap({slot.size}, "{where}"),  # offset {slot.offset}')
    return {"name": decl.names.python, "doc": comment_lines(decl.doc) + [f"{struct.size} bytes, aligned to {struct.align}."],
            "body": items, "fields": fields, "size": struct.size}


def _element(spec, layout, slot: lay.FieldSlot) -> str:
    if slot.struct is not None:
        return spec.struct(slot.struct).names.python
    prim = PRIMITIVES[slot.scalar.prim]
    if slot.scalar.enum is not None:
        return f"EnumField({prim.construct}, {spec.enum(slot.scalar.enum).names.python})"
    if prim.is_bool:
        return f"Flag({prim.construct})"
    return prim.construct


def _construct(spec, layout, slot: lay.FieldSlot) -> str:
    element = _element(spec, layout, slot)
    if not slot.shape:
        return element
    if element == "Int8ul" and len(slot.shape) == 1:
        return f"Bytes({slot.shape[0]})"
    for length in reversed(slot.shape):
        element = f"Array({length}, {element})"
    return element


def _hint(spec, layout, slot: lay.FieldSlot) -> str:
    if slot.struct is not None:
        hint = spec.struct(slot.struct).names.python + "Value"
    elif slot.scalar.enum is not None:
        hint = f"Union[{spec.enum(slot.scalar.enum).names.python}, int]"
    elif PRIMITIVES[slot.scalar.prim].is_bool:
        hint = "Union[bool, int]"
    else:
        hint = "int"
    if slot.shape and hint == "int" and slot.scalar.prim == "u8" and len(slot.shape) == 1:
        return "bytes"
    for _ in slot.shape:
        hint = f"List[{hint}]"
    return hint
