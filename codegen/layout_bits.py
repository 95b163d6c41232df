"""Bitfields: how a run of consecutive bitfields is placed, by GCC's rule for each arch.

The engine gathers consecutive bitfields into runs (`bit_runs`), checks each width, and asks
`allocate` where each field lands; the run then becomes one BitsSlot with holes around it
(`run_slots`), widened over the unused bytes of its storage units (`widen_bits`). Everything
here is a pure function of the field, its type and the arch: the engine supplies the evaluated
width and the type's alignment.
"""
from __future__ import annotations

from dataclasses import replace

from . import expr as ex
from .errors import fail
from .ir import BitField, Struct
from .layout_types import BitFieldSlot, BitsSlot, Hole, Scalar, round_up
from .primitives import PRIMITIVES, ArchInfo


def refuse_foreign_order(decl: Struct, run: tuple, arch: ArchInfo, on: str) -> None:
    """C allocates bits in the arch's own byte order, so a struct that fixes the other order
    cannot hold bitfields."""
    if decl.endian is not None and (decl.endian == "little") != arch.little_endian:
        raise fail(run[0].pos, f"struct {decl.names.canonical} stores its integers {decl.endian}-endian, but "
                   f"bitfields follow the arch's own order on {on}",
                   "keep the bitfields in a struct without `endian:` (a field of this one)")


def allocate(member: BitField, scalar: Scalar, align: int, width: int, bit: int, packed: bool,
             arch: ArchInfo) -> tuple:
    """(BitFieldSlot, alignment it gives the struct) for a bitfield placed from bit `bit`.

    Bits are allocated in order from the start of the struct. Unless the struct is packed, a
    field may not span more aligned units of its type's alignment than its type has (GCC's
    rule: one unit where the alignment is the size; two 4-byte units for i386's u64) and
    otherwise starts at the next aligned unit; a 0-bit field moves to the next one, packed or
    not. A named field aligns the struct to its type unless packed; an unnamed one only where
    the arch says so, and then a 0-bit one even when packed (AAPCS)."""
    size = PRIMITIVES[scalar.prim].size
    step = align * 8
    if width == 0 or (not packed and (bit + width - 1) // step - bit // step >= size // align):
        bit = round_up(bit, step)
    aligns = (member.names is not None or arch.unnamed_bitfields_align) and (width == 0 or not packed)
    if packed and width:
        unit_offset, unit_size = bit // 8, (bit % 8 + width + 7) // 8
    else:
        unit_offset = bit // step * align
        unit_size = max(round_up(bit + width, step) // 8 - unit_offset, align)
    slot = BitFieldSlot(member, unit_offset, unit_size, 0, width, scalar, big_endian=not arch.little_endian)
    return replace(slot, bit=slot.shift_for(bit)), align if aligns else 1


def check_width(member: BitField, scalar: Scalar, width: int) -> None:
    """A width fits the field's type, and only an unnamed field has 0 bits."""
    size = PRIMITIVES[scalar.prim].size
    at, type_name = ex.start(member.bits), scalar.enum or scalar.prim
    label = f"bitfield {member.names.canonical}" if member.names else "an unnamed bitfield"
    if width < 0:
        raise fail(at, f"{label} has {width} bits; a width must be 0 or more")
    if width > size * 8:
        raise fail(at, f"{label} is {width} bits wide, but its type {type_name} has {size * 8} bits",
                   "a bitfield never spans more than one unit of its type: use a wider type such as u64")
    if width == 0 and member.names is not None:
        raise fail(at, f"{label} has 0 bits; a zero-width bitfield cannot have a name",
                   "drop the name: `{type: u32, bits: 0}` only moves the next bitfield to a new unit")


def check_enum_width(member: BitField, scalar: Scalar, width: int, values: tuple) -> None:
    """A named enum bitfield holds every value of its enum (`values`: its EnumLayout's)."""
    signed = PRIMITIVES[scalar.prim].signed
    low, high = (-(1 << (width - 1)), (1 << (width - 1)) - 1) if signed else (0, (1 << width) - 1)
    for value, number in values:
        if not low <= number <= high:
            raise fail(ex.start(member.bits), f"bitfield {member.names.canonical} has {width} bits, too few "
                       f"for {scalar.enum}.{value.names.canonical} = {number}", f"give it at least "
                       f"{_bits_for(number, signed)} bits")


def bit_runs(members):
    """The members, with each run of consecutive bitfields gathered into one tuple."""
    run = []
    for member in members:
        if isinstance(member, BitField):
            run.append(member)
            continue
        if run:
            yield tuple(run)
            run = []
        yield member
    if run:
        yield tuple(run)


def run_slots(members: tuple, offset: int, end: int, before, after) -> list:
    """A run's BitsSlot, from its first unit (but not over the member before it at `offset`)
    to the last byte holding a named bit, with the holes around it up to byte `end`."""
    named = [m for m in members if m.named]
    start = max(offset, min(m.unit_offset for m in named)) if named else offset
    stop = max((m.first_bit + m.bits + 7) // 8 for m in named) if named else start
    found = [Hole(offset, start - offset, before)] if start > offset else []
    found.append(BitsSlot(start, stop - start, members))
    if end > stop:
        found.append(Hole(stop, end - stop, after))
    return found


def widen_bits(slots: list) -> list:
    """Merge neighbouring holes, then let each BitsSlot take in the hole after it up to the
    end of its storage units: the unit's unused bytes become padding bits of the slot."""
    merged = []
    for slot in slots:
        if isinstance(slot, Hole) and merged and isinstance(merged[-1], Hole):
            slot = Hole(merged[-1].offset, merged[-1].size + slot.size, merged[-1].after, slot.tail)
            merged.pop()
        merged.append(slot)
    for index, slot in enumerate(merged[:-1]):
        following = merged[index + 1]
        if isinstance(slot, BitsSlot) and isinstance(following, Hole):
            taken = min(following.size, slot.unit_end - slot.offset - slot.size)
            if taken > 0:
                merged[index] = replace(slot, size=slot.size + taken)
                merged[index + 1] = replace(following, offset=following.offset + taken, size=following.size - taken)
    return [slot for slot in merged if not (isinstance(slot, Hole) and slot.size == 0)]


def _bits_for(number: int, signed: bool) -> int:
    return number.bit_length() + (1 if signed else 0) if number >= 0 else (~number).bit_length() + 1
