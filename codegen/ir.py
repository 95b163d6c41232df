"""The intermediate representation: what a spec means, independent of any target.

Built once by `resolve` from the loaded YAML, never mutated afterwards. Every node
keeps the position it was written at. Layout facts (offsets, sizes) are not here:
they depend on the variant and live in `layout_types.Layout`.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
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
    asm: str = ""  # the spelling in offsets-header macros (`asm:`); "" means the C one

    def for_target(self, target: str) -> str:
        return getattr(self, target)


@dataclass(frozen=True)
class Variant:
    """One point on the variant axes: the arch, then the value of each spec parameter.

    `params` is a tuple of (name, value) pairs in the spec's order; `defaults` says which of
    them are the parameter's default, so that `key`, the label of the combination, stays the
    plain arch name for the default combination (`arm64`) and names the others by their
    non-default values (`arm64_64k`). A spec without parameters has only default
    combinations, so its outputs do not change.
    """

    arch: str
    params: tuple = ()  # of (name, value)
    defaults: frozenset = frozenset()  # names whose value here is the parameter's default

    @property
    def key(self) -> str:
        # One parameter: `arm64_64k`; several: each named, `arm64_page_size_64k_cache_64`.
        return "_".join([self.arch] + self._labels(skip_defaults=True))

    @property
    def point_label(self) -> str:
        """The parameter values alone, defaults included (`4k`, `page_size_64k_cache_64`);
        empty for a spec without parameters. Names files that hold one set of values."""
        return "_".join(self._labels(skip_defaults=False))

    def _labels(self, skip_defaults: bool) -> list:
        named = len(self.params) > 1
        return [f"{name}_{value_label(value)}" if named else value_label(value)
                for name, value in self.params if not (skip_defaults and name in self.defaults)]

    @property
    def is_default(self) -> bool:
        return all(name in self.defaults for name, _ in self.params)

    def param(self, name: str) -> int:
        return dict(self.params)[name]

    def with_defaults(self) -> "Variant":
        """The default combination of the same arch."""
        return Variant(self.arch)


def value_label(value: int) -> str:
    """`65536` -> `64k`; values that are not a multiple of 1024 are written out."""
    if value and value % (1 << 20) == 0:
        return f"{value >> 20}m"
    if value and value % 1024 == 0:
        return f"{value >> 10}k"
    return str(value).replace("-", "minus")


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
    # An unnamed struct or union member (C11): `type` names its hidden declaration (a
    # `Struct` with `anonymous` set) and its members are reached as the parent's own.
    # `names` are the hidden declaration's, for the few places that need a label.
    anonymous: bool = False
    # The sides that write it (`writer:`, or its struct's), None when the spec does not say;
    # `atomic` fields are read and written whole by atomic instructions.
    writers: Optional[frozenset] = None
    atomic: bool = False


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
    writers: Optional[frozenset] = None  # as for Field


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
    # The declaration of an anonymous member: it has no name in C (the C header writes it
    # inline, the asserts reach its members through the parent) but is an ordinary type
    # elsewhere (a Python struct, an embedded Go type), named `<Parent>Anon<n>`.
    anonymous: bool = False
    # The field that carries the struct's size (`extensible: {size_field: size}`), for a
    # struct that may grow at its tail: old readers read that many bytes, new ones zero-fill.
    extensible: Optional[str] = None
    # `cacheline: check` (fields of different writers may not share a cache line) or
    # `separate` (the layout pads each writer group onto lines of its own); None: neither.
    cacheline: Optional[str] = None

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
class Param:
    """A spec-level parameter: a second variant axis with a fixed set of values (a page
    size). Expressions name it like a constant; every combination is laid out and checked."""

    name: str  # lower_snake, as written in expressions
    values: tuple  # of int, in spec order
    default: int
    c_macro: str  # the includer-visible macro that selects a value in the C headers
    doc: str
    pos: Pos


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
    asm_prefix: str = "k"  # what the offsets header puts before each value's C name
    external: Optional[str] = None  # the system header that defines the values in C


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
    external: Optional[str] = None  # the system header that defines it in C

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
    # An array part: `count` elements of `holds`, one every `stride` bytes from its start
    # (both None for a part that holds at most one struct).
    count: Optional[Expr] = None
    stride: Optional[Expr] = None


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
    params: tuple = ()  # of Param
    version: str = "0"  # the spec's `version`, the generated packages' (PEP 440)
    sides: tuple = ()  # who writes the shared memory (`sides:`), in spec order
    cacheline_size: Optional[object] = None  # an Expr; None: 64 bytes

    def __hash__(self) -> int:
        # The generated hash would walk every node on each call; the digest of the spec's bytes
        # stands for its content, and equality still compares every field on a collision.
        return hash((self.digest, self.name, len(self.structs)))

    @cached_property
    def memo(self) -> dict:
        """Results of pure functions of this spec (its layouts per variant), kept on the object:
        a lookup is a dict access by identity, never a comparison of two whole specs (which a
        cache keyed on an equal spec resolved again would make on every call), and the results
        go away with the spec. Not a field, so equality and the hash ignore it."""
        return {}

    @property
    def variants(self) -> tuple:
        """The default combination of each arch (what the per-arch targets render)."""
        return tuple(self.default_variant(arch) for arch in self.archs)

    def default_variant(self, arch: str) -> Variant:
        return Variant(arch, tuple((p.name, p.default) for p in self.params),
                       frozenset(p.name for p in self.params))

    @property
    def combinations(self) -> tuple:
        """Every (arch, parameter values) combination, the default one of each arch first."""
        result = []
        for arch in self.archs:
            points = [()]
            for param in self.params:
                points = [point + ((param.name, value),) for point in points for value in param.values]
            for point in points:
                defaults = frozenset(name for (name, value), p in zip(point, self.params) if value == p.default)
                result.append(Variant(arch, point, defaults))
        result.sort(key=lambda v: (self.archs.index(v.arch), not v.is_default))
        return tuple(result)

    def param(self, name: str) -> Optional[Param]:
        return next((p for p in self.params if p.name == name), None)

    def struct(self, name: str) -> Struct:
        return self._structs_by_name[name]

    @cached_property
    def _structs_by_name(self) -> dict:
        return {s.names.canonical: s for s in self.structs}

    def visible_members(self, struct: Struct) -> tuple:
        """The members a name reaches in `struct`, as in C11: its own, with each anonymous
        member replaced by the members of its declaration (recursively)."""
        found = []
        for member in struct.members:
            if isinstance(member, Field) and member.anonymous:
                found.extend(self.visible_members(self.struct(member.type.name)))
            else:
                found.append(member)
        return tuple(found)

    def enum(self, name: str) -> Enum:
        return self._enums_by_name[name]

    @cached_property
    def _enums_by_name(self) -> dict:
        return {e.names.canonical: e for e in self.enums}
