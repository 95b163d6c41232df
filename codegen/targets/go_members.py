"""The Go spelling of the member kinds Go has no syntax for, used by `targets/go.py`.

* A union becomes a struct holding only words of the union's alignment (so Go aligns and
  sizes it as C does) with one accessor method per member, which reinterprets the words
  through `unsafe`: a pointer to the member, or a get/set pair when the member has a byte
  order of its own.
* A field stored in a fixed byte order keeps its raw bytes in a field named with a `BE`
  or `LE` suffix (`PortBE uint16`); `Port()` and `SetPort()` convert with encoding/binary.
* A flexible array is a zero-length array (`Data [0]byte`), which Go places where C does;
  `DataSlice(n)` gives the first n elements as a slice over the memory that follows (with
  a byte order, as stored bytes, plus `Data(i)` and `SetData(i, v)` for element i).

No accessor computes an address by hand: each indexes a real Go array or slice (a union's
words seen as an array of the member's shape), so Go checks every index as it does for its
own arrays and panics with its usual runtime error. Only a flexible array's outer length is
unknown to Go: that count is the caller's promise (a negative index is still refused).

Everything here is computed before rendering; the template prints the accessors.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from .. import escape as esc
from .. import layout_types as lay
from ..layout_walk import visible_bitfields, visible_slots
from ..errors import Problems
from ..ir import Spec
from ..primitives import PRIMITIVES

RECEIVER = "s"
_INDEXES = "ijklmnop"  # index parameters of array accessors, outermost first
_WORDS = {1: "uint8", 2: "uint16", 4: "uint32", 8: "uint64"}
_ORDERS = {"big": ("BigEndian", "BE"), "little": ("LittleEndian", "LE")}


@dataclass(frozen=True)
class Accessor:
    """A method of a generated struct type: `func (s *T) name(params) result { body }`."""

    doc: tuple  # comment lines
    name: str
    params: str
    result: str  # "" or " <type>"
    body: tuple  # lines, without indentation
    imports: tuple  # packages the body uses
    field: str = ""  # the canonical name of the member it reaches, for error messages


# ---- names and types ---------------------------------------------------------


def field_name(slot) -> str:
    """The Go name of the struct field that stores a FieldSlot or FlexSlot."""
    name = slot.field.names.go
    if slot.scalar is not None and slot.scalar.order:
        return name + _ORDERS[slot.scalar.order][1]
    return name


def element_type(spec: Spec, slot, plain: bool = False) -> str:
    """The Go type of one scalar (or struct) of a slot; `plain` drops the enum's named type."""
    if slot.struct is not None:
        return spec.struct(slot.struct).names.go
    scalar = slot.scalar
    if scalar.enum is not None and not plain and not spec.enum(scalar.enum).go_untyped:
        return spec.enum(scalar.enum).names.go
    if scalar.prim == "u8" and slot.shape:
        return "byte"  # raw bytes read better as byte, which is uint8 itself
    return PRIMITIVES[scalar.prim].go


def flex_type(spec: Spec, slot: lay.FlexSlot) -> str:
    """`[0]byte`, `[0][4]uint16`, `[0]Item`: Go's zero-length array at the flexible array's offset."""
    return "[0]" + "".join(f"[{n}]" for n in slot.dims) + element_type(spec, slot, plain=bool(slot.scalar
                                                                                                 and slot.scalar.order))


def union_words(natural_align: int, size: int) -> str:
    """The storage of a union in Go: words as wide as its natural alignment, filling its size."""
    return f"[{size // natural_align}]{_WORDS[natural_align]}"


# ---- accessors -------------------------------------------------------------


def struct_accessors(spec: Spec, struct: lay.StructLayout) -> tuple:
    """Byte-order get/set pairs and flexible-array accessors of a struct, in field order, then
    the atomic accessors of its `atomic` fields."""
    from . import go_atomics  # imported here: go_atomics builds on this module's Accessor

    found = []
    for slot in struct.named:
        if isinstance(slot, lay.FlexSlot):
            found += _flex_accessors(spec, slot)
        elif slot.scalar is not None and slot.scalar.order:
            index = _indexes(len(slot.shape))
            size = PRIMITIVES[slot.scalar.prim].size
            # Indexing the Go array field itself: Go checks every index.
            element = f"(*[{size}]byte)(unsafe.Pointer(&{RECEIVER}.{field_name(slot)}{_subscripts(index)}))"
            found += _ordered_pair(spec, slot, slot.field.names.go, index, element)
    return tuple(found + go_atomics.accessors(spec, struct))


def union_accessors(spec: Spec, union: lay.UnionLayout, structs: dict) -> tuple:
    """One accessor per member of a union (a pair for a member with a byte order). An
    anonymous member's members get accessors of the union's own, as C reaches them."""
    found = []
    for slot in union.fields:
        if slot.field.anonymous:
            found += _forwarded(spec, structs, slot.struct)
            continue
        name = slot.field.names.go
        if slot.scalar is not None and slot.scalar.order:
            index = _indexes(len(slot.shape))
            found += _ordered_pair(spec, slot, name, index, _union_element(slot, index))
            continue
        target = "".join(f"[{n}]" for n in slot.shape) + element_type(spec, slot)
        doc = f"{name} reads and writes the union's bytes as its {slot.field.names.canonical} member."
        found.append(Accessor(_doc(doc, slot.field.doc), name, "", f" *{target}",
                              (f"return (*{target})(unsafe.Pointer({RECEIVER}))",), ("unsafe",),
                              slot.field.names.canonical))
    return tuple(found)


def _forwarded(spec: Spec, structs: dict, hidden: str) -> list:
    """Accessors on a union for the members of its anonymous member `hidden`, which Go cannot
    promote out of a union's words: each reinterprets the union's bytes as the hidden type
    (its members start at the union's start) and reaches the member there, a field by its
    address, anything with methods (byte order, nested unions) through them."""
    go_type = spec.struct(hidden).names.go
    cast = f"(*{go_type})(unsafe.Pointer({RECEIVER}))"
    found = []
    if not isinstance(structs[hidden], lay.UnionLayout):
        for slot in _promoted_fields(structs, hidden):
            if slot.scalar is not None and slot.scalar.order:
                continue  # reached through its get/set pair, forwarded below
            target = "".join(f"[{n}]" for n in slot.shape) + element_type(spec, slot)
            doc = f"{slot.field.names.go} reads and writes the union's bytes as its {slot.field.names.canonical} member."
            found.append(Accessor(_doc(doc, slot.field.doc), slot.field.names.go, "", f" *{target}",
                                  (f"return &{cast}.{field_name(slot)}",), ("unsafe",), slot.field.names.canonical))
    for method in _methods_of(spec, structs, hidden):
        arguments = ", ".join(part.split()[0] for part in method.params.split(", ")) if method.params else ""
        call = f"{cast}.{method.name}({arguments})"
        found.append(Accessor(method.doc, method.name, method.params, method.result,
                              (f"return {call}" if method.result else call,), ("unsafe",), method.field))
    return found


def _promoted_fields(structs: dict, name: str) -> list:
    """The fields Go reaches by name in the struct type of `name`: its own, and those of the
    anonymous structs it embeds (an embedded anonymous union has only methods)."""
    found = []
    for slot in structs[name].fields:
        if not slot.field.anonymous:
            found.append(slot)
        elif not isinstance(structs[slot.struct], lay.UnionLayout):
            found += _promoted_fields(structs, slot.struct)
    return found


def _methods_of(spec: Spec, structs: dict, name: str) -> list:
    """The methods the Go type of `name` has, its anonymous members' promoted ones included."""
    layout = structs[name]
    if isinstance(layout, lay.UnionLayout):
        return list(union_accessors(spec, layout, structs))
    from . import go_bits  # imported here: go_bits builds on this module's Accessor

    found = list(go_bits.accessors(spec, layout) + struct_accessors(spec, layout))
    for slot in layout.fields:
        if slot.field.anonymous:
            found += _methods_of(spec, structs, slot.struct)
    return found


def _flex_accessors(spec: Spec, slot: lay.FlexSlot) -> list:
    name, stored, canonical = slot.field.names.go, field_name(slot), slot.field.names.canonical
    base = f"unsafe.Pointer(&{RECEIVER}.{stored})"
    if slot.scalar is not None and slot.scalar.order:
        index = _indexes(1 + len(slot.dims))
        raw = "".join(f"[{n}]" for n in slot.dims) + f"[{PRIMITIVES[slot.scalar.prim].size}]byte"
        # Go cannot know how many elements follow the struct: element i is reached through a
        # slice of i+1 elements, so Go refuses a negative i (and an inner index past its
        # dimension) as it would for any slice; i below the allocated count is the caller's promise.
        element = f"unsafe.Slice((*{raw})({base}), {index[0]}+1){_subscripts(index)}"
        doc = (f"{name}Slice returns the stored {slot.scalar.order}-endian bytes of the first n elements of "
               f"the flexible array {canonical}, in the memory that follows the struct; n must not run past what "
               f"was allocated. Indexing the slice is bounds-checked, unlike {name}(i).")
        getter, setter = _ordered_pair(spec, slot, name, index, element)
        promise = (f"Go refuses a negative i, but i must be below the number of elements allocated; "
                   f"{name}Slice(n) checks against a known n.",)
        return [replace(getter, doc=tuple(esc.go_comment_lines(" ".join(getter.doc + promise), 76))), setter,
                Accessor(tuple(esc.go_comment_lines(doc, 76)), f"{name}Slice", "n int", f" []{raw}",
                         (f"return unsafe.Slice((*{raw})({base}), n)",), ("unsafe",), canonical)]
    element = "".join(f"[{n}]" for n in slot.dims) + element_type(spec, slot)
    doc = (f"{name}Slice returns the first n elements of the flexible array {slot.field.names.canonical}, "
           "in the memory that follows the struct; n must not run past what was allocated.")
    body = (f"return unsafe.Slice((*{element})({base}), n)",)
    return [Accessor(_doc(doc, ""), f"{name}Slice", "n int", f" []{element}", body, ("unsafe",), canonical)]


def _ordered_pair(spec: Spec, slot, name: str, index: tuple, element: str) -> list:
    """Get and set methods of a scalar (or element `index` of an array) stored big- or little-endian;
    `element` is a Go expression of the element's bytes as a (pointer to a) byte array."""
    scalar = slot.scalar
    prim = PRIMITIVES[scalar.prim]
    order, _ = _ORDERS[scalar.order]
    bits = prim.size * 8
    value_type = element_type(spec, slot) if scalar.enum is not None else prim.go
    raw = f"binary.{order}.Uint{bits}({element}[:])"
    got = raw if value_type == f"uint{bits}" else f"{value_type}({raw})"
    params = ", ".join(index) + (" int" if index else "")
    canonical = slot.field.names.canonical
    which = f"element {', '.join(index)} of {canonical}" if index else canonical
    getter = Accessor(_doc(f"{name} returns {which}, stored {scalar.order}-endian.", slot.field.doc), name, params,
                      f" {value_type}", (f"return {got}",), ("encoding/binary", "unsafe"), canonical)
    put = f"binary.{order}.PutUint{bits}({element}[:], uint{bits}(value))"
    setter = Accessor(_doc(f"Set{name} stores {which} {scalar.order}-endian.", ""), f"Set{name}",
                      f"{params}, value {value_type}" if index else f"value {value_type}", "", (put,),
                      ("encoding/binary", "unsafe"), canonical)
    return [getter, setter]


def _indexes(count: int) -> tuple:
    return tuple(_INDEXES[:count])


def _subscripts(index: tuple) -> str:
    return "".join(f"[{name}]" for name in index)


def _union_element(slot, index: tuple) -> str:
    """The bytes of element `index` of a union member: the union's storage seen as a Go array
    of the member's shape whose elements are byte arrays, so Go checks every index."""
    shape = "".join(f"[{n}]" for n in slot.shape)
    return f"(*{shape}[{PRIMITIVES[slot.scalar.prim].size}]byte)(unsafe.Pointer({RECEIVER})){_subscripts(index)}"


def _doc(first: str, doc: str) -> tuple:
    """An accessor's doc lines: ours, then the member's doc (escaped: it is a spec's text)."""
    text = esc.one_line(doc)
    return (first,) if not text else (first, esc.go_comment(text if text.endswith(".") else text + "."))


# ---- what Go cannot express ----------------------------------------------------


def check_names(struct: lay.StructLayout, fields: list, accessors: tuple, problems: Problems,
                structs: dict = None) -> None:
    """A generated accessor must not share its name with a field or another method. With
    `structs`, accessors may belong to members of anonymous members (a union forwards them)."""
    taken = {name for name in fields if name != "_"}
    members = ([slot for slot, _ in visible_slots(structs, struct.name)]
               + list(visible_bitfields(structs, struct.name))) if structs else struct.named
    for accessor in accessors:
        if accessor.name in taken:
            owner = next(slot for slot in members if slot.field.names.canonical == accessor.field)
            problems.add(owner.field.pos, f"the Go target cannot express {struct.name}.{accessor.field}: its "
                         f"accessor {accessor.name} clashes with another Go name of {struct.name}",
                         "rename one of them for Go with `go:`")
            return
        taken.add(accessor.name)


def zero_size_tail(struct: lay.StructLayout):
    """The struct's last member when it takes no bytes (a flexible array, or a zero-length
    array `u8[0]`), else None: the member after which Go adds a byte."""
    last = next((slot for slot in reversed(struct.slots) if not isinstance(slot, lay.Hole)), None)
    if isinstance(last, lay.FlexSlot) or (isinstance(last, lay.FieldSlot) and last.size == 0):
        return last
    return None


def flex_go_size(struct: lay.StructLayout, align: int = 0) -> int:
    """The size Go gives a struct ending in a zero-length array (flexible or `[0]`): it adds a
    byte after such a last field (so that its address stays inside the object), then rounds to
    the alignment."""
    end = zero_size_tail(struct).offset + 1
    align = align or struct.align  # Go's alignment of the struct, where it differs from C's
    return (end + align - 1) // align * align
