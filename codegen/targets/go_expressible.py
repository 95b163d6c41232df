"""What the Go target can express: Go has no packing, no over-alignment and no 128-bit integer,
so before rendering anything the target proves, per combination, that C's layout of every
struct is the natural one (which Go reaches with explicit padding where its own alignment is
smaller, see go_align.py), and refuses the spec otherwise with one error per struct."""
from __future__ import annotations

from .. import layout_types as lay
from ..layout import natural_structs
from ..errors import Problems
from ..ir import Spec, Variant
from ..primitives import PRIMITIVES
from . import go as target
from . import go_members


def check_expressible(spec: Spec, layouts) -> None:
    """Refuse a spec unless C's natural layout of every struct (no packing, no align keys) is the
    spec's layout, and Go can size it, in every combination `layouts` (a list) holds."""
    problems, refused = Problems(), set()
    for layout in layouts:
        natural = natural_structs(spec, layout.variant)
        for name, real in layout.structs.items():
            if name in refused:
                continue
            found = (_wide_field(layout, real) or _difference(spec, layout.variant, real, natural[name])
                     or _flex_difference(spec, layout, real))
            if found:
                refused.add(name)
                problems.add(*found)
            elif isinstance(real, lay.UnionLayout):
                go_members.check_names(real, [], go_members.union_accessors(spec, real, layout.structs), problems,
                                       layout.structs)
            else:
                rows = [go_members.field_name(slot) for slot in real.named]
                go_members.check_names(real, rows, go_members.struct_accessors(spec, real), problems)
    problems.items = list(dict.fromkeys(problems.items))  # a name clash shows on every arch; report it once
    problems.raise_if_any()


def _wide_field(layout: lay.Layout, real: lay.StructLayout):
    """Go has no 128-bit integer, and no way to give a field (or a struct) 16-byte alignment;
    a `[16]byte` stand-in would move every later field whenever C's alignment differs."""
    for slot in real.named:
        path, prim = _wide_path(layout, slot)
        if path:
            word = "union" if isinstance(real, lay.UnionLayout) else "struct"
            return (slot.field.pos, f"the Go target cannot express {word} {real.name}: field {path} is {prim}, "
                    "and Go has neither a 128-bit integer nor 16-byte alignment",
                    "leave Go out with a top-level `targets: [c, python]`")
    return None


def _wide_path(layout: lay.Layout, slot) -> tuple:
    """(dotted path, type) of the first 128-bit integer in a field, nested structs included; ("", "") if none."""
    if slot.scalar is not None:
        prim = slot.scalar.prim
        return (slot.field.names.canonical, prim) if PRIMITIVES[prim].wide else ("", "")
    for inner in layout.structs[slot.struct].named if slot.struct is not None else ():
        path, prim = _wide_path(layout, inner)
        if path:
            return f"{slot.field.names.canonical}.{path}", prim
    return "", ""


def _flex_difference(spec: Spec, layout: lay.Layout, real: lay.StructLayout):
    """Go pads a struct whose last field is a zero-length array; refuse when that makes it larger
    than C's (with Go's own alignment of the struct: smaller than C's for a u64 on armhf, where
    Go falls short instead and `go_align.tail` adds the missing bytes)."""
    slot = None if isinstance(real, lay.UnionLayout) else go_members.zero_size_tail(real)
    if slot is None:
        return None
    go_size = go_members.flex_go_size(real, target.go_struct(spec, layout, real.name)[1])
    if go_size <= real.size:  # equal, or tail bytes after the array make it so
        return None
    arch = layout.variant.key
    kind = "flexible" if isinstance(slot, lay.FlexSlot) else "zero-length"
    return (slot.field.pos, f"the Go target cannot express struct {real.name} (it ends in the {kind} array "
            f"{slot.field.names.canonical}): on {arch} C makes it {real.size} bytes, but Go adds a byte after a "
            f"trailing zero-length array and would make it {go_size}",
            "Go can only match when C's tail padding follows the array: put a wider field first, or leave Go "
            "out with a top-level `targets: [c, python]`")


def _difference(spec: Spec, variant: Variant, real: lay.StructLayout, natural: lay.StructLayout):
    """(pos, message, hint) for the first way Go would lay `real` out differently, or None."""
    decl = spec.struct(real.name)
    cause = _cause(spec, decl, Variant(variant.arch))
    arch = variant.key  # the arch, or the combination when it has non-default parameter values
    word = "union" if isinstance(real, lay.UnionLayout) else "struct"
    hint = ("Go has no packing or over-alignment: change the struct, or leave Go out "
            "with a top-level `targets: [c, python]`")
    for slot, plain in zip(real.fields, natural.fields):
        if slot.offset != plain.offset:
            return (slot.field.pos, f"the Go target cannot express {word} {real.name} ({cause}): on {arch} the "
                    f"spec puts field {slot.field.names.canonical} at offset {slot.offset}, Go would put it "
                    f"at {plain.offset}", hint)
    for field, plain in zip(real.bitfields, natural.bitfields):
        if field.first_bit != plain.first_bit:
            return (field.field.pos, f"the Go target cannot express {word} {real.name} ({cause}): on {arch} the "
                    f"spec puts bitfield {field.field.names.canonical} at bit {field.first_bit}, unpacked it would "
                    f"be at bit {plain.first_bit}", hint)
    if real.size != natural.size:
        return (decl.pos, f"the Go target cannot express {word} {real.name} ({cause}): on {arch} the spec "
                f"makes it {real.size} bytes, Go would make it {natural.size}", hint)
    # An anonymous member's type never stands alone: the parent's comparison covers where it
    # lands, so a packed one whose place Go reproduces anyway (io_uring_sqe's) is fine.
    if real.align < natural.align and not decl.anonymous:
        return (decl.pos, f"the Go target cannot express {word} {real.name} ({cause}): on {arch} the spec "
                f"aligns it to {real.align}, Go would demand {natural.align}", hint)
    return None


def _cause(spec: Spec, decl, variant: Variant) -> str:
    if decl.packed_on(variant):
        return "it is packed" if decl.packed >= set(spec.archs) else f"it is packed on {variant.arch}"
    if decl.align_on(variant):
        return f"it has align: {decl.align_on(variant)}"
    return "a field has an align override"
