"""Python target: a package of construct parsers, one module per arch, with type stubs.

Each struct is generated three ways from the same layout: a field-by-field construct
Struct (the reference), a fast construct object that unpacks the whole struct with one
precompiled `struct.Struct`, and a zero-copy view class; plus a numpy dtype table.
"""
from __future__ import annotations

import struct as pystruct
from dataclasses import dataclass

from .. import expr as ex
from .. import layout as lay
from ..errors import fail
from ..primitives import ARCHS, PRIMITIVES
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
    enums = [_enum_model(enum_layout) for enum_layout in layout.enums.values()]
    structs = [_struct_model(spec, layout, s) for s in struct_order(layout)]
    exports = [c.name for c in constants] + [e["name"] for e in enums] + [s["name"] for s in structs]
    exports += ["SIZES", "ARCH", "dtype"]
    return {
        "arch": layout.variant.arch,
        "module_doc": f"Layouts of {spec.name} on {layout.variant.arch}: constants, enums and construct structs.",
        "constants": constants,
        "enums": enums,
        "structs": structs,
        "exports": exports + _view_names(spec, structs, exports),
        **_fast_model(spec, layout),
        "then_change": then_change(spec, f"python/{spec.name}/{layout.variant.arch}.py"),
    }


def _enum_model(enum_layout: lay.EnumLayout) -> dict:
    enum = enum_layout.enum
    members = [{"name": value.names.python, "value": number, "doc": doc_of(value)}
               for value, number in enum_layout.values]
    return {"name": enum.names.python, "doc": doc_of(enum) or enum.names.python, "members": members}


def _view_names(spec, structs: list, exports: list) -> list:
    """`MsgView` for `Msg`; refused when that name is already taken by another export."""
    views = [s["name"] + "View" for s in structs]
    for view in views:
        if view in exports:
            decl = next(d for d in spec.structs if d.names.python + "View" == view)
            raise fail(decl.pos, f"the Python view class {view} clashes with another generated name",
                       "rename one of them for Python with `python:`")
    return views


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
            getter, setter = _view_hints(spec, slot)
            fields.append({"name": names.python, "hint": _hint(spec, layout, slot),
                           "view_get": getter, "view_set": setter})
        else:
            items.append(f'Gap({slot.size}, "{_gap_label(slot)}"),  # offset {slot.offset}')
    return {"name": decl.names.python, "reference": _reference_name(decl.names.python),
            "doc": comment_lines(decl.doc) + [f"{struct.size} bytes, aligned to {struct.align}."],
            "body": items, "fields": fields, "size": struct.size}


def _element(spec, layout, slot: lay.FieldSlot) -> str:
    if slot.struct is not None:
        return _reference_name(spec.struct(slot.struct).names.python)
    prim = PRIMITIVES[slot.scalar.prim]
    if slot.scalar.enum is not None:
        return f"EnumField({prim.construct}, {spec.enum(slot.scalar.enum).names.python})"
    if prim.is_bool:
        return f"Flag({prim.construct})"
    return prim.construct


def _reference_name(python_name: str) -> str:
    """The module-private name of a struct's field-by-field construct Struct."""
    return f"_{python_name}_fields"


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


# ---- the fast path: one struct.Struct per struct, views, numpy dtypes ----

# Attributes of the generated view classes that a field's property must not shadow.
_VIEW_API = frozenset({"unpack", "pack", "SIZE", "PARSER"})


def _fast_model(spec, layout: lay.Layout) -> dict:
    """Everything the arch module needs beyond the field-by-field structs."""
    order = "<" if ARCHS[layout.variant.arch].little_endian else ">"
    enums = [spec.enum(name).names.python for name in layout.enums]
    structs = [_fast_struct(spec, layout, s, order) for s in struct_order(layout)]
    prims = sorted({slot.scalar.prim for s in layout.structs.values() for slot in s.fields
                    if slot.scalar is not None}, key=lambda p: (PRIMITIVES[p].size, p))
    return {
        "enum_names": enums,
        "fast": structs,
        "codecs": [{"prim": p, "order": order, "code": PRIMITIVES[p].struct_code,
                    "min": PRIMITIVES[p].min, "max": PRIMITIVES[p].max} for p in prims],
        "dtypes": [_dtype_entry(spec, s, order) for s in struct_order(layout)],
    }


class _Flattener:
    """Walks one struct's layout, nested structs inline, collecting the flat `struct`
    format, the Container expression that rebuilds the value from the unpacked tuple `v`,
    and the expressions that flatten a mapping back into that tuple."""

    def __init__(self, spec, layout: lay.Layout):
        self.spec, self.layout = spec, layout
        self.pieces: list = []  # struct format items, in offset order
        self.index = 0  # position in the unpacked tuple
        self.binds: list = []  # local assignments of the `values` function
        self.values: list = []  # items of the tuple the `values` function returns

    def walk(self, name: str, label: str, source: str) -> list:
        """Lines `field=expr,` of the Container for struct `name`, read from tuple `v`."""
        lines = []
        for slot in self.layout.structs[name].slots:
            if not isinstance(slot, lay.FieldSlot):
                self.pieces.append(f"{slot.size}x")
                continue
            field = slot.field.names.python
            where = f"{label} -> {field}"
            get = f"{source}[{field!r}]"
            if slot.struct is not None and not slot.shape:
                inner = self.spec.struct(slot.struct).names.python
                local = f"o{len(self.binds) + 1}"
                self.binds.append(f"{local} = {get}")
                lines.append(f"{field}=Container(")
                lines += ["    " + line for line in self.walk(slot.struct, f"{where} -> {inner}", local)]
                lines.append("),")
            else:
                expr, value = self.leaf(slot, where, get)
                lines.append(f"{field}={expr},")
                self.values.append(value)
        return lines

    def take(self, piece: str, count: int) -> int:
        """Append a format item that unpacks to `count` values; returns the first one's index."""
        start = self.index
        self.pieces.append(piece)
        self.index += count
        return start

    def leaf(self, slot: lay.FieldSlot, where: str, get: str) -> tuple:
        """(unpack expression, pack expression) of a scalar, scalar array or struct array."""
        shape = tuple(slot.shape)
        if slot.struct is not None:
            inner = self.spec.struct(slot.struct).names.python
            at = self.take(f"{slot.size}s", 1)
            return (f"_struct_array({inner}, v[{at}], {shape})",
                    f"_pack_structs({inner}, {get}, {shape}, path, {where!r})")
        prim = PRIMITIVES[slot.scalar.prim]
        decode, encode = _converters(self.spec, slot.scalar)
        if not shape:
            at = self.take(prim.struct_code, 1)
            expr = f"v[{at}]" if decode is None else f"{decode}(v[{at}], v[{at}])"
            return expr, get if encode is None else f"{encode}({get}, path, {where!r})"
        if _is_bytes(slot):
            at = self.take(f"{slot.count}s", 1)
            return f"v[{at}]", f"_exact_bytes({get}, {slot.count}, path, {where!r})"
        at = self.take(f"{slot.count}{prim.struct_code}", slot.count)
        values = f"v[{at}:{at + slot.count}]"
        if len(shape) == 1 and decode is None:
            return f"ListContainer({values})", f"*_items({get}, {slot.count}, path, {where!r})"
        return (f"_shaped({values}, {shape}, {decode})",
                f"*_flat_items({get}, {shape}, path, {where!r}, {encode})")

    def format(self, order: str) -> str:
        return order + "".join(_run_length(self.pieces))


def _converters(spec, scalar: lay.Scalar) -> tuple:
    """Names of the generated (decode, encode) helpers of a scalar, None when it needs none."""
    if scalar.enum is not None:
        name = spec.enum(scalar.enum).names.python
        return f"_to_{name}", f"_int_of_{name}"
    if PRIMITIVES[scalar.prim].is_bool:
        return "_flag", "_flag_int"
    return None, None


def _is_bytes(slot: lay.FieldSlot) -> bool:
    """A one-dimensional plain u8 array is `bytes` in parsed values, as construct's Bytes."""
    scalar = slot.scalar
    return (scalar is not None and len(slot.shape) == 1 and scalar.prim == "u8"
            and scalar.enum is None)


def _run_length(pieces: list) -> list:
    """`QQQ` -> `3Q` for single-letter codes; sized items (`112s`, `4x`) stay as they are."""
    merged = []
    for piece in pieces:
        if len(piece) == 1 and merged and merged[-1][1] == piece:
            merged[-1][0] += 1
        else:
            merged.append([1, piece])
    return [code if count == 1 else f"{count}{code}" for count, code in merged]


def _fast_struct(spec, layout: lay.Layout, struct: lay.StructLayout, order: str) -> dict:
    name = spec.struct(struct.name).names.python
    flat = _Flattener(spec, layout)
    body = flat.walk(struct.name, name, "obj")
    fmt = flat.format(order)
    if pystruct.calcsize(fmt) != struct.size:
        raise AssertionError(f"{name}: flat format {fmt} is not {struct.size} bytes")  # a generator bug
    return {
        "name": name,
        "reference": _reference_name(name),
        "format": fmt,
        "unpack": body,
        "binds": flat.binds,
        "pack_items": flat.values,
        "slots": [_slot_entry(spec, slot) for slot in struct.slots],
        "view": _view_lines(spec, struct),
        "size": struct.size,
    }


def _gap_label(slot) -> str:
    """The label the field-by-field parser's Gap uses for padding and holes."""
    if isinstance(slot, lay.PadSlot):
        return f"padding at {slot.offset}"
    return "tail padding" if slot.tail else f"hole after {slot.after}" if slot.after else "hole"


def _slot_entry(spec, slot) -> str:
    """One (start, size, label, nested struct) row for naming the field a short buffer cuts."""
    if not isinstance(slot, lay.FieldSlot):
        return f"({slot.offset}, {slot.size}, {'(' + _gap_label(slot) + ')'!r}, None),"
    inner = spec.struct(slot.struct).names.python if slot.struct is not None else None
    return f"({slot.offset}, {slot.size}, {slot.field.names.python!r}, {inner}),"


def _view_lines(spec, struct: lay.StructLayout) -> list:
    """One property declaration per field of a struct's view class."""
    view = spec.struct(struct.name).names.python + "View"
    lines = []
    for slot in struct.fields:
        field = slot.field.names.python
        if field in _VIEW_API or field.startswith("_"):
            raise fail(slot.field.pos, f"the Python field name {field!r} clashes with the view API of {view} "
                       "(and construct hides keys that start with '_')", "rename it for Python with `python:`")
        label, doc = f"{view}.{field}", doc_of(slot.field)
        shape = tuple(slot.shape)
        if slot.struct is not None:
            inner = spec.struct(slot.struct).names.python + "View"
            call = (f"_nested({inner}, {slot.offset}, {label!r}, {doc!r})" if not shape else
                    f"_structs({inner}, {slot.offset}, {shape}, {label!r}, {doc!r})")
        elif shape:
            call = f"_array(_{slot.scalar.prim}, {slot.offset}, {shape}, {label!r}, {doc!r})"
        else:
            call = f"_scalar(_{slot.scalar.prim}, {slot.offset}, {label!r}, {doc!r}{_scalar_kind(spec, slot.scalar)})"
        lines.append(f"{field} = {call}")
    return lines


def _scalar_kind(spec, scalar: lay.Scalar) -> str:
    """Extra arguments of a scalar view property: the enum it reads as, or that it is a flag."""
    if scalar.enum is not None:
        return f", enum_type={spec.enum(scalar.enum).names.python}"
    return ", is_flag=True" if PRIMITIVES[scalar.prim].is_bool else ""


def _view_hints(spec, slot: lay.FieldSlot) -> tuple:
    """The stub types (read, write) of a field's view property."""
    if slot.struct is not None:
        inner = spec.struct(slot.struct).names.python + "View"
        if slot.shape:
            return "Tuple[Any, ...]", "Sequence[Any]"
        return inner, f"Union[Mapping[str, Any], {inner}]"
    if slot.shape:
        return "memoryview", "Union[bytes, Sequence[int]]" if _is_bytes(slot) else "Sequence[Any]"
    if slot.scalar.enum is not None:
        enum = spec.enum(slot.scalar.enum).names.python
        return f"Union[{enum}, int]", f"Union[{enum}, int, str]"
    if PRIMITIVES[slot.scalar.prim].is_bool:
        return "Union[bool, int]", "Union[bool, int]"
    return "int", "int"


def _dtype_entry(spec, struct: lay.StructLayout, order: str) -> dict:
    """A struct's row of the numpy table: (size, fields), each field (name, offset, numpy
    type or None, nested struct or None, shape)."""
    fields = []
    for slot in struct.fields:
        name = slot.field.names.python
        shape = tuple(slot.shape)
        if slot.struct is not None:
            fields.append(f"({name!r}, {slot.offset}, None, {spec.struct(slot.struct).names.python!r}, {shape}),")
        else:
            prim = PRIMITIVES[slot.scalar.prim]
            kind = ("i" if prim.signed else "u") + str(prim.size)
            numpy_type = kind if prim.size == 1 else order + kind
            fields.append(f"({name!r}, {slot.offset}, {numpy_type!r}, None, {shape}),")
    return {"name": spec.struct(struct.name).names.python, "size": struct.size, "fields": fields}
