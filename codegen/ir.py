"""The intermediate representation: what a spec means, independent of any target.

Built once by `resolve` from the loaded YAML, never mutated afterwards. Every node
keeps the position it was written at. Layout facts (offsets, sizes) are not here:
they depend on the variant and live in `layout.Layout`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Union

from .errors import Pos
from .expr import Expr


@dataclass(frozen=True)
class Names:
    """One canonical name plus the spelling each target uses, fixed by `naming`."""

    canonical: str
    c: str
    go: str
    python: str

    def for_target(self, target: str) -> str:
        return getattr(self, target)


@dataclass(frozen=True)
class Variant:
    """One point on the variant axes. Only `arch` exists today; more axes become fields."""

    arch: str

    @property
    def key(self) -> str:
        return self.arch


# A condition restricting a declaration to some archs; None means every arch.
Archs = Optional[frozenset]


def applies(archs: Archs, variant: Variant) -> bool:
    return archs is None or variant.arch in archs


# ---- types -----------------------------------------------------------------


@dataclass(frozen=True)
class Prim:
    """A primitive from the table in `primitives`: u8..u64, i8..i64, bool8, bool32."""

    name: str


@dataclass(frozen=True)
class Pointer:
    """A pointer; `target` is a struct name when the C side should be typed."""

    target: Optional[str]


@dataclass(frozen=True)
class EnumRef:
    name: str


@dataclass(frozen=True)
class StructRef:
    """A struct or a union by name: both are declarations in `Spec.structs`."""

    name: str


@dataclass(frozen=True)
class Array:
    element: "TypeRef"
    length: Expr


@dataclass(frozen=True)
class FlexArray:
    """`u8[]`: a flexible array member. It has no length of its own; it is a struct's last
    field and runs to the end of whatever buffer holds the struct. `element` may itself be
    a fixed array (`u8[][4]` is a flexible array of u8[4])."""

    element: "TypeRef"


TypeRef = Union[Prim, Pointer, EnumRef, StructRef, Array, FlexArray]

# Byte orders a field may be stored in; None on a field means the arch's own.
BYTE_ORDERS = ("big", "little")


# ---- struct members --------------------------------------------------------


@dataclass(frozen=True)
class Field:
    names: Names
    type: TypeRef
    doc: str
    align: Optional[int]
    archs: Archs
    pos: Pos
    # "big" or "little" when the integers of this field are stored in that order whatever
    # the arch (the field's own `endian:`, else its struct's); None: the arch's order.
    endian: Optional[str] = None


@dataclass(frozen=True)
class Padding:
    """Explicit padding: invisible in parsed values, written as zeros.

    `c_name` is set when a system type declares the padding as a named member
    (glibc's `siginfo_t.__pad0`), so asserts can check its offset.
    """

    size: Expr
    c_name: Optional[str]
    doc: str
    archs: Archs
    pos: Pos


@dataclass(frozen=True)
class BitField:
    """`bits` bits of an integer (or enum) type, placed by the C bitfield rules.

    `names` is None for an unnamed bitfield: padding bits, or, when `bits` is 0, a break
    that sends the next bitfield to the next unit of `type`. Signedness comes from `type`.
    """

    names: Optional[Names]
    type: Union[Prim, EnumRef]
    bits: Expr
    doc: str
    archs: Archs
    pos: Pos


@dataclass(frozen=True)
class Reserved:
    """Bytes set aside for fields a later version will add: invisible in parsed values,
    written as zeros, and, for the ABI diff, room a new field may take without breaking."""

    size: Expr
    doc: str
    archs: Archs
    pos: Pos
    c_name: Optional[str] = None  # a system type's own name for the bytes (`__glibc_reserved`)


Member = Union[Field, Padding, BitField, Reserved]


@dataclass(frozen=True)
class External:
    """The C side of a struct is a system type: spelled `c_type`, declared by `include`."""

    c_type: str
    include: str


@dataclass(frozen=True)
class Struct:
    names: Names
    doc: str
    members: tuple  # of Member, each possibly limited to some archs
    # `align` is None, an int for every arch, or a tuple of (archs: frozenset, int) when it
    # differs per arch (an arch it omits keeps the natural alignment). `packed` is the
    # frozenset of archs the struct is packed on (empty: none). Read both per variant with
    # `align_on` and `packed_on`; their truth value says "on some arch".
    align: object
    packed: frozenset
    external: Optional[External]
    archs: Archs
    pos: Pos
    endian: Optional[str] = None  # the default byte order of its integer fields, as written

    def members_for(self, variant: Variant) -> tuple:
        return tuple(m for m in self.members if applies(m.archs, variant))

    @property
    def varies(self) -> bool:
        """True when the declaration itself differs between archs."""
        return any(m.archs is not None for m in self.members)

    def packed_on(self, variant: Variant) -> bool:
        return variant.arch in self.packed

    def align_on(self, variant: Variant) -> Optional[int]:
        if not isinstance(self.align, tuple):
            return self.align
        return next((value for archs, value in self.align if variant.arch in archs), None)


@dataclass(frozen=True)
class UnionDecl(Struct):
    """A C union: every member (an alternative) starts at offset 0; the size is the largest
    member's rounded up to the alignment, which is the largest member alignment (or
    `align`). It shares the struct namespace: fields name it with `StructRef`, and it
    sits in `Spec.structs`, so stages that only need a name, a size or nesting treat both
    alike and match on this class where the placement matters. (Not `Union`, which would
    shadow typing.Union in this module.)"""


# ---- enums, constants, regions, asserts ------------------------------------


@dataclass(frozen=True)
class EnumValue:
    names: Names  # canonical is the short member name, e.g. NONE
    value: Expr
    doc: str
    pos: Pos


@dataclass(frozen=True)
class Enum:
    names: Names
    base: Prim
    values: tuple  # of EnumValue
    doc: str
    archs: Archs
    pos: Pos
    # Go only: atomic accessor methods of the named type, in spec order ("set", "get",
    # "compare_and_swap"); the subset marked //go:nosplit; and whether the values are
    # plain untyped constants with no named type at all.
    go_accessors: tuple = ()
    go_nosplit: frozenset = frozenset()
    go_untyped: bool = False


@dataclass(frozen=True)
class Constant:
    names: Names
    value: object  # an Expr, or a tuple of (archs: frozenset, Expr) for per-arch values
    type: Optional[Prim]
    go_type: Optional[str]
    doc: str
    targets: frozenset  # which targets emit it
    c_ifndef: bool  # C: define only when the includer has not
    archs: Archs
    pos: Pos

    def expr_for(self, variant: Variant) -> Optional[Expr]:
        if not isinstance(self.value, tuple):
            return self.value
        for archs, expr in self.value:
            if variant.arch in archs:
                return expr
        return None


@dataclass(frozen=True)
class Region:
    """A named span of a bounded memory area; `parts` are relative to its start."""

    names: Names
    offset: Expr
    size: Expr
    holds: Optional[str]  # a struct that must fit at the start of this region
    parts: tuple  # of Region
    doc: str
    pos: Pos


@dataclass(frozen=True)
class Assert:
    expr: Expr
    doc: str
    source: str
    pos: Pos


@dataclass(frozen=True)
class Spec:
    name: str
    doc: str
    file: str
    digest: str  # sha256 of the spec bytes, for generated-file headers
    archs: tuple  # of str, in spec order
    constants: tuple
    enums: tuple
    structs: tuple
    regions: tuple
    asserts: tuple
    targets: frozenset = frozenset(("c", "go", "python"))  # the targets this spec generates

    @property
    def variants(self) -> tuple:
        return tuple(Variant(arch) for arch in self.archs)

    def struct(self, name: str) -> Struct:
        return next(s for s in self.structs if s.names.canonical == name)

    def enum(self, name: str) -> Enum:
        return next(e for e in self.enums if e.names.canonical == name)
