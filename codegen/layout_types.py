"""What the layout engine produces: the laid-out types every target and tool reads.

A Layout holds, per struct, its size, alignment and slots in offset order (fields, explicit
padding, implicit holes and tail padding, runs of bitfields, reserved space, a flexible
array), plus the flat list of leaves with absolute offsets. All of it is frozen: a target
reads offsets from here and never recomputes one. How these are computed is in
`layout_engine.py`; how to walk nested and anonymous members, in `layout_walk.py`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Union

from .ir import BitField, Enum, Field, Padding, Region, Reserved, Spec, Variant
from .primitives import ARCHS, PRIMITIVES


@dataclass(frozen=True)
class Scalar:
    """The primitive a leaf is stored as, plus the enum or pointer it stands for."""

    prim: str
    enum: Optional[str] = None
    pointer_to: Optional[str] = None
    is_pointer: bool = False
    order: Optional[str] = None  # "big" or "little" when the spec fixes the byte order; None: the arch's
    word: Optional[str] = None  # "long" or "ulong" when the spec said so; `prim` is what it is on this arch

    @property
    def c_type(self) -> str:
        """How C declares it: the fixed-width typedef, or `long` where the spec wrote that."""
        return PRIMITIVES[self.word or self.prim].c

    def swapped(self, arch: str) -> bool:
        """Whether the stored bytes are in the other order than the arch's own."""
        if self.order is None:
            return False
        return (self.order == "little") != ARCHS[arch].little_endian


@dataclass(frozen=True)
class FieldSlot:
    field: Field
    offset: int
    size: int
    align: int
    count: int  # total elements when the field is an array (1 otherwise)
    shape: tuple  # array dimensions, outermost first; () for a scalar
    scalar: Optional[Scalar]  # set when the (element) type is a primitive, enum or pointer
    struct: Optional[str]  # set when the (element) type is a struct


@dataclass(frozen=True)
class PadSlot:
    """Explicit padding written in the spec."""

    padding: Padding
    offset: int
    size: int


@dataclass(frozen=True)
class Hole:
    """Implicit padding the C rules insert; `after` names the preceding field."""

    offset: int
    size: int
    after: Optional[str]
    tail: bool = False


@dataclass(frozen=True)
class BitFieldSlot:
    """Where one bitfield lives: its storage unit and the bits of that unit it holds.

    The unit is a `unit_size`-byte integer, in the arch's byte order, at `unit_offset` (from
    the start of the struct); `bit` is the field's shift in it: the position of its least
    significant bit, counted from the unit's least significant bit. Normally the unit is the
    aligned unit of the field's type that C allocates it from; in a packed struct, where a
    field may straddle such units, it is exactly the bytes holding the field. An unnamed
    bitfield (padding bits, or a 0-bit unit break) has `field.names` None.

    C allocates bits in address order: from the least significant bit of each byte on a
    little-endian arch, from the most significant on a big-endian one (so there a field's
    shift counts from the other end of its unit). `first_bit` is that allocation position,
    which is also what DWARF's DW_AT_data_bit_offset says.
    """

    field: BitField
    unit_offset: int
    unit_size: int
    bit: int
    bits: int
    scalar: Scalar
    big_endian: bool = False

    def shift_for(self, position: int) -> int:
        """The shift in the unit of a field allocated at bit `position` of the struct."""
        inside = position - self.unit_offset * 8
        return self.unit_size * 8 - inside - self.bits if self.big_endian else inside

    @property
    def first_bit(self) -> int:
        """Where the field is allocated: its first bit in address order, counted from bit 0 of
        the struct's first byte (the least significant bit of that byte on little-endian arches,
        the most significant on big-endian ones)."""
        return self.unit_offset * 8 + self.shift_for(self.unit_offset * 8 + self.bit)

    @property
    def named(self) -> bool:
        return self.field.names is not None

    @property
    def signed(self) -> bool:
        return PRIMITIVES[self.scalar.prim].signed


@dataclass(frozen=True)
class BitsSlot:
    """The bytes holding a run of consecutive bitfields.

    `members` lists every bitfield of the run in spec order, unnamed ones too (C declares
    them), and `fields` the named ones. The slot spans the bytes that hold named bits,
    widened over what would otherwise be a hole up to the end of their storage units; the
    bits of the slot no named field holds are `padding_bits`, written as zeros.
    """

    offset: int
    size: int
    members: tuple  # of BitFieldSlot

    @property
    def fields(self) -> tuple:
        return tuple(m for m in self.members if m.named)

    @property
    def unit_end(self) -> int:
        return max((m.unit_offset + m.unit_size for m in self.fields), default=self.offset)

    @property
    def chunks(self) -> tuple:
        """(offset, size) of the naturally aligned 1, 2, 4 or 8-byte integers that tile the
        slot, largest first: how languages without bitfields store it (Go fields, Python
        `struct` items). A field may span several chunks. No chunk is wider than the widest
        storage unit of the run's fields, so that (outside packed structs) none is more
        aligned than the struct: a Go uint64 holding two 32-bit units would align it to 8."""
        found, at, end = [], self.offset, self.offset + self.size
        widest = max((m.unit_size for m in self.fields), default=1)
        while at < end:
            size = next(n for n in (8, 4, 2, 1) if n <= widest and at % n == 0 and at + n <= end)
            found.append((at, size))
            at += size
        return tuple(found)

    @property
    def padding_bits(self) -> tuple:
        """(first bit, count) of each run of bits no named field holds, from bit 0 of `offset`."""
        used = sorted((m.first_bit - self.offset * 8, m.bits) for m in self.fields)
        gaps, at = [], 0
        for first, bits in used + [(self.size * 8, 0)]:
            if first > at:
                gaps.append((at, first - at))
            at = max(at, first + bits)
        return tuple(gaps)


@dataclass(frozen=True)
class ReservedSlot:
    """Bytes a `reserved:` member keeps for later fields; `index` numbers the struct's
    reserved members in order, for C's `__reserved_<index>` names."""

    reserved: Reserved
    offset: int
    size: int
    index: int


@dataclass(frozen=True)
class FlexSlot:
    """A flexible array member: elements of `element_size` bytes from `offset` to the end of
    the data. `dims` are the fixed dimensions of each element (`u8[][4]` -> (4,)); `shape`
    spells the flexible one as 0, so code that sizes arrays sees a zero-length array."""

    field: Field
    offset: int
    align: int
    dims: tuple
    element_size: int
    scalar: Optional[Scalar]
    struct: Optional[str]
    size: int = 0
    count: int = 0

    @property
    def shape(self) -> tuple:
        return (0,) + self.dims


Slot = Union[FieldSlot, PadSlot, Hole, BitsSlot, ReservedSlot, FlexSlot]


@dataclass(frozen=True)
class Leaf:
    """One scalar or scalar array at an absolute offset, reached through nested structs."""

    path: tuple  # canonical names from the outer struct down, e.g. ('ptregs', 'rip')
    c_path: tuple  # the same path in C names
    offset: int
    size: int
    count: int
    scalar: Scalar


@dataclass(frozen=True)
class StructLayout:
    name: str
    size: int
    align: int
    slots: tuple  # FieldSlot | PadSlot | Hole, in offset order
    leaves: tuple  # Leaf, flattened through nested structs
    # Where the variable-length tail starts when the struct ends in a flexible array (its own,
    # or that of a struct that is its last field); None for a fixed-size struct.
    tail_start: Optional[int] = None

    @property
    def fields(self) -> tuple:
        return tuple(s for s in self.slots if isinstance(s, FieldSlot))

    @property
    def flex(self) -> Optional[FlexSlot]:
        """The struct's own flexible array member, if it has one."""
        return next((s for s in self.slots if isinstance(s, FlexSlot)), None)

    @property
    def named(self) -> tuple:
        """The fields and the flexible array member: every slot with a field name, in order."""
        return tuple(s for s in self.slots if isinstance(s, (FieldSlot, FlexSlot)))

    def field(self, name: str) -> FieldSlot:
        return next(s for s in self.fields if s.field.names.canonical == name)

    @property
    def bitfields(self) -> tuple:
        """Every named bitfield, in offset order."""
        return tuple(m for s in self.slots if isinstance(s, BitsSlot) for m in s.fields)

    def bitfield(self, name: str) -> BitFieldSlot:
        return next(m for m in self.bitfields if m.field.names.canonical == name)

    @property
    def holes(self) -> tuple:
        return tuple(s for s in self.slots if isinstance(s, Hole))


@dataclass(frozen=True)
class UnionLayout(StructLayout):
    """A union's layout: every FieldSlot (and ReservedSlot) is at offset 0, in spec order,
    and the only Hole is the tail padding after the largest member. `leaves` overlap."""


@dataclass(frozen=True)
class RegionLayout:
    path: tuple  # names from the top region down
    offset: int  # absolute, from the start of the top region
    size: int
    holds: Optional[str]
    region: Region
    count: Optional[int] = None  # an array part: `count` of `holds`, one every `stride` bytes
    stride: Optional[int] = None

    @property
    def contents(self) -> str:
        """What the region holds, as every output words it: `4095 x ThreadContext every 4096
        bytes` for an array part, the struct's name for a part that holds one."""
        if self.count is not None:
            return f"{self.count} x {self.holds} every {self.stride} bytes"
        return self.holds or ""


@dataclass(frozen=True)
class EnumLayout:
    enum: Enum
    values: tuple  # (EnumValue, int)


@dataclass(frozen=True)
class Layout:
    spec: Spec
    variant: Variant
    constants: dict  # canonical name -> int, only those present on this variant
    structs: dict  # canonical name -> StructLayout
    enums: dict  # canonical name -> EnumLayout
    regions: tuple  # RegionLayout, depth first
    constant_types: dict = None  # canonical name -> C type of its value (`cint`: int, unsigned long...)

    def constant_type(self, name: str) -> str:
        return self.constant_types[name]

    def struct(self, name: str) -> StructLayout:
        return self.structs[name]


def round_up(value: int, align: int) -> int:
    """`value` moved up to the next multiple of `align`: how C places a member or sizes a struct."""
    return (value + align - 1) // align * align
