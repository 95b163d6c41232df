"""Go target: package `<name>` under `go/<name>/`, with its own go.mod and per-arch layout tests.

Declarations whose Go text is the same on every arch go in `<name>.go`; the others go in
`<name>_<goarch>.go`, which Go's file-name rule compiles for that arch only. Go has no
packing and no over-alignment, so before rendering anything the target proves that C lays
every struct out by the natural rules (go_expressible.py), and refuses the spec otherwise;
where Go's own alignment is smaller than C's (a u64 on armhf), explicit padding lands every
field on C's offset (go_align.py). Offsets are never recomputed here: the structs are placed
at the Layout's offsets, and the tests (go_facts.py) assert the Layout's numbers.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Optional

from .. import escape as esc
from .. import expr as ex
from .. import layout_types as lay
from ..layout import natural_structs, per_variant
from .. import naming
from ..ir import Spec, Variant, value_label
from ..primitives import ARCHS, PRIMITIVES
from . import go_align, go_bits, go_expressible, go_facts, go_members
from .common import Context, render_template, strip_parens, then_change

NAME = "go"
MODULE = "layoutgen.example/generated/{name}"  # the module path when no project file sets one
GO_VERSION = "1.19"
DOC_WIDTH = 76
_METHODS = {"set": "Set", "get": "Get", "compare_and_swap": "CompareAndSwap"}
_METHOD_DOCS = {
    "set": "Set stores value with an atomic write.",
    "get": "Get reads the current value with an atomic load.",
    "compare_and_swap": "CompareAndSwap writes next only while the current value is old, as one atomic "
                        "step, and reports whether it wrote.",
}


# ---- file names ------------------------------------------------------------


def folder(spec: Spec) -> str:
    return f"go/{spec.name}"


def shared_path(spec: Spec) -> str:
    return f"{folder(spec)}/{spec.name}.go"


def arch_path(spec: Spec, arch: str) -> str:
    return f"{folder(spec)}/{spec.name}_{ARCHS[arch].goarch}.go"


def point_path(spec: Spec, variant: Variant) -> str:
    """The file for what depends on the spec parameters' values, for one combination; the
    `_<goarch>` suffix restricts it to the arch, a build constraint to the values."""
    return f"{folder(spec)}/{spec.name}_{variant.point_label}_{ARCHS[variant.arch].goarch}.go"


def test_path(spec: Spec, variant: Variant) -> str:
    point = f"{variant.point_label}_" if variant.params else ""
    return f"{folder(spec)}/layout_{point}{ARCHS[variant.arch].goarch}_test.go"


def source_paths(spec: Spec) -> list:
    """Every non-test .go file the target writes, whatever the spec holds."""
    paths = [shared_path(spec)] + [arch_path(spec, arch) for arch in spec.archs]
    return paths + [point_path(spec, variant) for variant in spec.combinations if variant.params]


def build_tags(spec: Spec, variant: Variant) -> list:
    """The tags to pass to `go build -tags` for a combination: one per non-default value."""
    return [naming.go_build_tag(spec.name, name, value_label(value))
            for name, value in variant.params if name not in variant.defaults]


def point_constraint(spec: Spec, variant: Variant) -> str:
    """The //go:build expression true exactly for this combination's parameter values: its
    tag for a non-default value, no tag of that parameter for the default one."""
    terms = []
    for param in spec.params:
        value = variant.param(param.name)
        if value != param.default:
            terms.append(naming.go_build_tag(spec.name, param.name, value_label(value)))
        else:
            terms += [f"!{naming.go_build_tag(spec.name, param.name, value_label(other))}"
                      for other in param.values if other != param.default]
    return " && ".join(terms)


# ---- the model the templates print -----------------------------------------


@dataclass(frozen=True)
class _Row:
    """One line of a const block or struct: `cells` are the columns gofmt aligns."""

    doc: tuple  # comment lines printed above the row
    cells: tuple


@dataclass(frozen=True)
class _Method:
    kind: str  # a key of _METHODS
    name: str
    doc: tuple  # comment lines
    nosplit: bool
    atomic: str  # the sync/atomic suffix: Uint32, Int64, ...
    base: str  # the Go integer type underneath


@dataclass(frozen=True)
class _Enum:
    type_name: Optional[str]  # None: the values are untyped constants with no named type
    base: str
    doc: tuple
    values_doc: tuple
    methods: tuple
    values: tuple  # of _Row


@dataclass(frozen=True)
class _Struct:
    name: str
    doc: tuple
    fields: tuple  # of _Row
    accessors: tuple = ()  # of go_members.Accessor, printed after the type


# ---- entry point -----------------------------------------------------------


def render(ctx: Context) -> dict:
    spec = ctx.spec
    combinations = list(ctx.combinations.values())
    go_expressible.check_expressible(spec, combinations)
    declared = {layout.variant: _declarations(spec, layout) for layout in combinations}
    shared, by_arch, by_point = _split(spec, declared)
    files = {f"{folder(spec)}/go.mod": _go_mod(ctx)}
    files[shared_path(spec)] = _source(ctx, shared_path(spec), shared, _package_doc(ctx), _build_constraint(spec))
    for arch in spec.archs:
        files[arch_path(spec, arch)] = _source(ctx, arch_path(spec, arch), by_arch[arch], [], "")
    for layout in combinations:
        variant = layout.variant
        if variant.params:
            path = point_path(spec, variant)
            files[path] = _source(ctx, path, by_point[variant], [], point_constraint(spec, variant))
        files[test_path(spec, variant)] = _test_source(ctx, layout)
    return files


def _go_mod(ctx: Context) -> str:
    lines = [f"// {line}" for line in ctx.banner(esc.go_comment)]
    lines += ["", f"module {module_path(ctx)}", "", f"go {GO_VERSION}", ""]
    return "\n".join(lines)


def module_path(ctx: Context) -> str:
    """The project file's `go_module` (checked against Go's grammar there), else the default."""
    return ctx.go_module or MODULE.format(name=ctx.spec.name)


def _first_line(ctx: Context) -> str:
    """Go's marker for generated code; tools (gopls, linters) match it exactly."""
    return "// " + esc.go_comment(f"Code generated by layoutgen from {ctx.spec_label}. DO NOT EDIT.")


def _build_constraint(spec: Spec) -> str:
    """The shared file builds only for the spec's archs, as the C header #errors elsewhere."""
    return " || ".join(ARCHS[arch].goarch for arch in spec.archs)


def _package_doc(ctx: Context) -> list:
    name = ctx.spec.name
    text = [f"Package {name} is generated by layoutgen from {ctx.spec_label}."]
    if ctx.spec.doc.strip():
        text.append(ctx.spec.doc)
    text.append(
        "It holds layout only: constants, enum types with their atomic accessors, and structs "
        "whose sizes and field offsets the generated layout tests prove equal to the spec on "
        "every arch. Behaviour written by hand (constructors, String methods, address helpers "
        "built on the constants) is not generated. Go methods must live in the package of their "
        "type, so to add such code copy the generated .go files into your own package folder "
        "and keep the hand-written part in a separate file beside them; regenerating replaces "
        "this folder as a whole, so a file added here would be lost.")
    if ctx.spec.params:
        text.append(_params_doc(ctx.spec))
    return esc.go_comment_lines("\n\n".join(text), DOC_WIDTH)


def _params_doc(spec: Spec) -> str:
    """How a user picks a combination: Go's build tags play the part of the C header's macros."""
    choices = []
    for param in spec.params:
        tags = ", ".join(f"{naming.go_build_tag(spec.name, param.name, value_label(v))} for {v}"
                         for v in param.values if v != param.default)
        choices.append(f"{param.name} is {param.default} unless a build tag picks another value ({tags})")
    return ("Spec parameters: every combination is generated, and build tags select one at compile "
            "time (go build -tags ...); without tags the package holds the default values. "
            + "; ".join(choices) + ". Giving two tags of one parameter declares its names twice, "
            "which the compiler rejects.")


def _source(ctx: Context, path: str, decls: list, package_doc: list, constraint: str) -> str:
    constants = [d for d in decls if isinstance(d, _Row)]
    enums = [d for d in decls if isinstance(d, _Enum)]
    structs = [d for d in decls if isinstance(d, _Struct)]
    imports = ["sync/atomic"] if any(e.methods for e in enums) else []
    imports = sorted(set(imports) | {package for s in structs for a in s.accessors for package in a.imports})
    return render_template(
        "go/source.go.j2", first_line=_first_line(ctx), banner=ctx.banner(esc.go_comment), constraint=constraint,
        package_doc=package_doc, package=ctx.spec.name, imports=imports,
        constants=_block(constants), enums=[(e, _block(e.values)) for e in enums],
        structs=[(s, _block(s.fields)) for s in structs], then_change=then_change(ctx.spec, path))


# ---- which declarations go where -------------------------------------------


def _split(spec: Spec, declared: dict) -> tuple:
    """Sort declarations by what they depend on: the same everywhere (shared), on the arch only
    (one list per arch), or on the parameter values (one list per combination)."""
    keys = list(dict.fromkeys(key for found in declared.values() for key in found))
    shared, by_arch = [], {arch: [] for arch in spec.archs}
    by_point = {variant: [] for variant in declared}
    for key in keys:
        versions = {variant: found.get(key) for variant, found in declared.items()}
        if _uniform(versions.values()):
            shared.append(next(iter(versions.values())))
            continue
        per_arch = {arch: [v for variant, v in versions.items() if variant.arch == arch] for arch in spec.archs}
        if all(_uniform(found) or all(v is None for v in found) for found in per_arch.values()):
            for arch, found in per_arch.items():
                if found[0] is not None:
                    by_arch[arch].append(found[0])
            continue
        for variant, version in versions.items():
            if version is not None:
                by_point[variant].append(version)
    return shared, by_arch, by_point


def _uniform(versions) -> bool:
    versions = list(versions)
    return versions[0] is not None and all(v == versions[0] for v in versions)


def _declarations(spec: Spec, layout: lay.Layout) -> dict:
    """Every Go declaration on one arch, keyed so that archs can be compared; in spec order."""
    found = {}
    for const in _go_constants(spec, layout):
        found["const:" + const.names.canonical] = _constant_row(layout, const)
    for enum_layout in layout.enums.values():
        found["enum:" + enum_layout.enum.names.canonical] = _enum(spec, enum_layout)
    for decl in spec.structs:
        if decl.names.canonical in layout.structs:
            found["struct:" + decl.names.canonical] = go_struct(spec, layout, decl.names.canonical)[0]
    return found


def _go_constants(spec: Spec, layout: lay.Layout) -> list:
    return [c for c in spec.constants if "go" in c.targets and c.names.canonical in layout.constants]


@per_variant
def _go_constants_by_name(spec: Spec, layout: lay.Layout) -> dict:
    return {c.names.canonical: c for c in _go_constants(spec, layout)}


# ---- constants and enums ---------------------------------------------------


def _constant_row(layout: lay.Layout, const) -> _Row:
    value = layout.constants[const.names.canonical]
    go_type = const.go_type or (PRIMITIVES[const.type.name].go if const.type else "")
    if not go_type and value > ex.INT64_MAX:
        go_type = "uint64"  # an untyped constant past MaxInt64 would not compile wherever Go wants an int
    source = const.expr_for(layout.variant)
    doc = list(_doc(const.doc))
    if not (isinstance(source, ex.Num) and source.value == value):
        doc.append(esc.go_comment(f"In the spec: {strip_parens(ex.render(source))}."))
    return _Row(tuple(doc), (const.names.go, go_type, f"= {value}"))


def _doc(text: str) -> tuple:
    """Comment lines for a doc string; none at all when the spec gave no doc."""
    return tuple(esc.go_comment_lines(text, DOC_WIDTH)) if text.strip() else ()


def _enum(spec: Spec, enum_layout: lay.EnumLayout) -> _Enum:
    enum = enum_layout.enum
    base = PRIMITIVES[enum.base.name].go
    note = go_align.atomic_note(spec, PRIMITIVES[enum.base.name].size)
    type_name = None if enum.go_untyped else enum.names.go
    values = tuple(_Row(_doc(value.doc), (value.names.go, type_name or "", f"= {number}"))
                   for value, number in enum_layout.values)
    methods = tuple(_Method(kind, _METHODS[kind], _doc(_METHOD_DOCS[kind] + note), kind in enum.go_nosplit,
                            base.capitalize(), base) for kind in enum.go_accessors)
    if type_name is None:
        doc, values_doc = (), _lead(f"Values of {enum.names.canonical}:", enum.doc, "as the spec lists them.")
    else:
        doc, values_doc = _lead(f"{type_name} records", enum.doc, "one of the values the spec lists."), (f"Values of {type_name}.",)
    return _Enum(type_name, base, doc, values_doc, methods, values)


def _lead(opening: str, doc: str, fallback: str) -> tuple:
    """A Go doc comment that starts with the declared name, as Go's tools expect."""
    text = esc.one_line(doc) or fallback
    if re.match(r"[A-Z][a-z'-]*\b", text):  # an ordinary capitalised word, not a name
        text = text[0].lower() + text[1:]
    return tuple(esc.go_comment_lines(f"{opening} {text}", DOC_WIDTH))


# ---- structs ---------------------------------------------------------------


@per_variant
def _built(spec: Spec, layout: lay.Layout) -> dict:
    """The Go structs of one combination built so far, by canonical name; `go_struct` fills it."""
    return {}


def go_struct(spec: Spec, layout: lay.Layout, name: str) -> tuple:
    """(_Struct, Go's alignment of it) for a struct of the layout, built once per combination:
    a parent's placement asks for the alignment of each struct it holds."""
    built = _built(spec, layout)
    if name not in built:
        built[name] = _struct(spec, layout, layout.structs[name])
    return built[name]


@per_variant
def _named_types(spec: Spec, layout: lay.Layout) -> dict:
    """Go type name -> ("enum", size) or ("struct", canonical name), for the alignment table."""
    found = {enum.enum.names.go: ("enum", PRIMITIVES[enum.enum.base.name].size) for enum in layout.enums.values()
             if not enum.enum.go_untyped}
    found.update((spec.struct(name).names.go, ("struct", name)) for name in layout.structs)
    return found


def go_type_align(spec: Spec, layout: lay.Layout, go_type: str) -> int:
    """Go's alignment, on the layout's arch, of a field type the target prints."""
    goarch = ARCHS[layout.variant.arch].goarch

    def named(name: str) -> int:
        kind, what = _named_types(spec, layout)[name]
        return go_align.int_align(goarch, what) if kind == "enum" else go_struct(spec, layout, what)[1]
    return go_align.type_align(goarch, go_type, named)


def pad_row(size: int) -> _Row:
    return _Row((), ("_", f"[{size}]byte"))


def placement_what(layout: lay.Layout, struct: lay.StructLayout) -> str:
    return f"struct {struct.name} on {layout.variant.key}"


def _struct(spec: Spec, layout: lay.Layout, struct: lay.StructLayout) -> tuple:
    decl = spec.struct(struct.name)
    natural_align = natural_structs(spec, layout.variant)[struct.name].align
    if isinstance(struct, lay.UnionLayout):
        return _union(spec, layout, struct, natural_align)
    if go_bits.has_bits(struct):
        return go_bits.struct_decl(spec, layout, struct)
    items = []
    for slot in struct.slots:
        row = _slot_row(spec, layout, slot, natural_align)
        if row is not None:
            items.append(go_align.Item(row, slot.offset, slot.size, go_type_align(spec, layout, row.cells[-1])))
    placed = go_align.place(items, pad_row, decl.pos, placement_what(layout, struct))
    rows = go_align.tail(placed, struct.size, pad_row, go_members.zero_size_tail(struct) is not None)
    doc = _lead(f"{decl.names.go} holds", decl.doc, "the fields the spec lists.")
    return _Struct(decl.names.go, doc, rows, go_members.struct_accessors(spec, struct)), placed.align


def _slot_row(spec: Spec, layout: lay.Layout, slot, natural_align: int) -> Optional[_Row]:
    """The Go field storing one slot of a struct without bitfields; None for a hole (placement fills it)."""
    if isinstance(slot, lay.FieldSlot) and slot.field.anonymous:
        # Embedded: Go promotes a struct's fields and a union's accessor methods, so the
        # members read as the parent's own (`attr.SamplePeriod()`), at C's offsets.
        return _Row(_doc(slot.field.doc), (_field_type(spec, layout, slot),))
    if isinstance(slot, lay.FieldSlot):
        return _Row(_doc(slot.field.doc), (go_members.field_name(slot), _field_type(spec, layout, slot)))
    if isinstance(slot, lay.FlexSlot):
        return _Row(_doc(slot.field.doc), (go_members.field_name(slot), go_members.flex_type(spec, slot)))
    if isinstance(slot, lay.PadSlot):
        return _Row(_doc(slot.padding.doc), ("_", _padding_type(slot, natural_align)))
    if isinstance(slot, lay.ReservedSlot):
        return _Row(_doc(slot.reserved.doc or "Reserved for later fields; keep zero."),
                    ("_", _padding_type(slot, natural_align)))
    return None


def _union(spec: Spec, layout: lay.Layout, union: lay.UnionLayout, natural_align: int) -> tuple:
    """Go has no unions: words that size and align it as C does, and an accessor per member."""
    decl = spec.struct(union.name)
    doc = tuple(esc.go_comment_lines(f"{decl.names.go} is a union: its members share its bytes from offset 0, "
                                     f"each reached through its method. {esc.one_line(decl.doc)}", DOC_WIDTH))
    words = go_members.union_words(natural_align, union.size)
    rows = (_Row((), ("_", words)),)
    return (_Struct(decl.names.go, doc, rows, go_members.union_accessors(spec, union, layout.structs)),
            go_type_align(spec, layout, words))


def _padding_type(slot, natural_align: int) -> str:
    """One unsigned word when that changes nothing (it is aligned there and no wider than the
    struct's own alignment, so Go's layout stays the spec's), bytes otherwise."""
    if slot.size in (2, 4, 8) and slot.offset % slot.size == 0 and slot.size <= natural_align:
        return f"uint{slot.size * 8}"
    return f"[{slot.size}]byte"


def _field_type(spec: Spec, layout: lay.Layout, slot: lay.FieldSlot) -> str:
    if slot.struct is not None:
        element = spec.struct(slot.struct).names.go
    elif slot.scalar.order:
        element = PRIMITIVES[slot.scalar.prim].go  # the raw stored value; its accessors convert it
    elif slot.scalar.enum is not None and not spec.enum(slot.scalar.enum).go_untyped:
        element = spec.enum(slot.scalar.enum).names.go
    elif slot.scalar.prim == "u8" and slot.shape:
        element = "byte"  # raw bytes read better as byte, which is uint8 itself
    else:
        element = PRIMITIVES[slot.scalar.prim].go
    dims, ref = "", slot.field.type
    for length in slot.shape:
        dims += f"[{_length(spec, layout, ref.length, length)}]"
        ref = ref.element
    return dims + element


def _length(spec: Spec, layout: lay.Layout, length_expr: ex.Expr, value: int) -> str:
    """An array length names the Go constant when the spec does and Go has it; else the value."""
    if isinstance(length_expr, ex.Ref) and length_expr.name in _go_constants_by_name(spec, layout):
        return _go_constants_by_name(spec, layout)[length_expr.name].names.go
    return str(value)


# ---- gofmt's alignment -----------------------------------------------------


def _block(rows) -> list:
    """The lines of a const block or struct body, tab-indented and aligned the way gofmt does.

    gofmt aligns the columns of consecutive lines; a comment line or a blank line ends such
    a section, and a column empty on every line of a section takes no space. A documented
    row starts a new section after a blank line; so does a row shaped unlike the one before
    (typed after untyped), so that every section is uniform.
    """
    lines, section, shape = [], [], None
    for row in rows:
        row_shape = tuple(bool(cell) for cell in row.cells)
        if row.doc or (section and row_shape != shape):
            lines.extend(_aligned(section))
            section = []
            if lines:
                lines.append("")
        lines.extend(f"\t// {line}" if line else "\t//" for line in row.doc)
        section.append(row.cells)
        shape = row_shape
    lines.extend(_aligned(section))
    return lines


def _aligned(section: list) -> list:
    if not section:
        return []
    columns = len(section[0])
    widths = [max(len(cells[i]) for cells in section) for i in range(columns)]
    lines = []
    for cells in section:
        parts = [cells[i].ljust(widths[i]) for i in range(columns - 1) if widths[i]] + [cells[-1]]
        lines.append("\t" + " ".join(parts))
    return lines


# ---- layout tests ----------------------------------------------------------


def _test_source(ctx: Context, layout: lay.Layout) -> str:
    groups = go_facts.layout_facts(ctx.spec, layout)
    helpers = sorted({fact.helper for _, _, facts in groups for fact in facts})
    uses_unsafe = any("unsafe." in fact.got for _, _, facts in groups for fact in facts)
    return render_template(
        "go/layout_test.go.j2", first_line=_first_line(ctx), banner=ctx.banner(esc.go_comment), package=ctx.spec.name,
        arch=_combination_words(layout.variant), imports=["testing"] + (["unsafe"] if uses_unsafe else []),
        groups=groups, helpers=helpers, quote=go_string,
        atomics=any(name.startswith("TestAtomics") for name, _, _ in groups),
        constraint=point_constraint(ctx.spec, layout.variant) if layout.variant.params else "")


def _combination_words(variant: Variant) -> str:
    """`arm64`, or `arm64 with page_size = 65536` for a combination of spec parameters."""
    values = ", ".join(f"{name} = {value}" for name, value in variant.params)
    return f"{variant.arch} with {values}" if values else variant.arch


def go_string(text: str) -> str:
    return json.dumps(text)


layout_facts = go_facts.layout_facts  # the check step and tests count these
