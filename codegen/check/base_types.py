"""What a member holds, as the spec and as the compiler's DWARF say: signed or unsigned,
boolean, pointer or aggregate, and how many bytes. The layout comparison only proves where
a member lies; this proves what it is, so a spec's `u32` for a header's `__s32` (whose
parser would read -EAGAIN as 4294967285) is a failure, not a silent pass.

Rules, spec on the left; the compiler's type is followed through typedefs, qualifiers,
array dimensions (an array compares its element) and an enum's underlying type:

- `uN` is an unsigned integer of N bits, `iN` a signed one (`unsigned char` and
  `signed char` included, and 128-bit `__int128 unsigned` / `__int128`).
- Plain `char` matches both `u8` and `i8`: its signedness is the arch's (signed on x86-64,
  unsigned on aarch64), so no single spec type could name it on both.
- `bool8` and `bool32` match a boolean (`_Bool`) or an unsigned integer of their size:
  headers store flags as `__u8`/`__u32` as often as `_Bool`.
- An array of `u8` is raw bytes: besides unsigned bytes and plain char, it may stand for
  a struct or union the spec does not describe (siginfo_t's `_sifields`).
- `ptr(...)` matches a pointer; a struct or union field matches a struct or union (whose
  own members are compared on their own).
- An enum field of the spec compares its base type with the enum's underlying type in
  DWARF; an enumeration DWARF gives no underlying type for is compared by size only.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional

from ..primitives import PRIMITIVES

QUALIFIERS = {"DW_TAG_typedef", "DW_TAG_const_type", "DW_TAG_volatile_type",
              "DW_TAG_restrict_type", "DW_TAG_atomic_type"}
# DW_ATE_* values (DWARF 5, section 7.8) and the words a report uses for them.
ENCODINGS = {0x2: "boolean", 0x4: "float", 0x5: "signed", 0x6: "signed_char", 0x7: "unsigned",
             0x8: "unsigned_char", 0x10: "UTF"}
AGGREGATES = {"DW_TAG_structure_type": "struct", "DW_TAG_union_type": "union"}


@dataclass(frozen=True)
class Want:
    """What the spec declares a member (or each of its elements) to be."""

    spelling: str  # as the spec writes it: "u32", "ptr", "enum Flags (u32)", "struct Timespec"
    kind: str  # "unsigned", "signed", "bool", "pointer" or "aggregate"
    size: int = 0  # bytes; 0 where the kind alone decides
    raw: bool = False  # an array of u8: raw bytes, which may also stand for a struct or union


@dataclass(frozen=True)
class Found:
    """What the compiler's DWARF says a member (or each of its elements) is."""

    kind: str  # a DW_ATE word ("signed", "unsigned_char", ...), "pointer", "struct", "union", "enum" or "other"
    size: int
    name: str  # the type's own name, e.g. "long int", "char", "struct timespec"
    via: str = ""  # the enum whose underlying type this is, e.g. "enum fsconfig_command"
    typedef: str = ""  # the name the header spells it by, e.g. "__s32"

    @property
    def plain_char(self) -> bool:
        return self.name == "char" and self.kind in ("signed_char", "unsigned_char")


def want_scalar(scalar) -> Want:
    """A spec scalar (primitive, enum or pointer) as a Want."""
    if scalar.is_pointer:
        return Want("ptr", "pointer")
    info = PRIMITIVES[scalar.prim]
    kind = "bool" if info.is_bool else "signed" if info.signed else "unsigned"
    spelling = f"enum {scalar.enum} ({info.name})" if scalar.enum else scalar.word or info.name
    return Want(spelling, kind, info.size)


def want_field(slot) -> Want:
    """A field's (or flexible array's) Want: its struct, or its scalar element."""
    if slot.struct is not None:
        return Want(f"struct {slot.struct}", "aggregate")
    want = want_scalar(slot.scalar)
    if slot.shape and not slot.scalar.enum and slot.scalar.prim == "u8":
        return replace(want, spelling="u8 elements (raw bytes)", raw=True)
    return replace(want, spelling=f"{want.spelling} elements") if slot.shape else want


def found(die) -> Found:
    """What a member's DWARF type is, under typedefs, qualifiers and array dimensions."""
    typedef = _typedef(die)
    die = strip(die)
    while die.tag == "DW_TAG_array_type" and "DW_AT_type" in die.attributes:
        typedef = _typedef(die.get_DIE_from_attribute("DW_AT_type"))
        die = strip(die.get_DIE_from_attribute("DW_AT_type"))
    have = _found(die)
    return replace(have, typedef=typedef) if typedef and typedef != have.name else have


def _typedef(die) -> str:
    """The outermost typedef name of a type under its qualifiers ("" when none)."""
    while die.tag in QUALIFIERS and die.tag != "DW_TAG_typedef" and "DW_AT_type" in die.attributes:
        die = die.get_DIE_from_attribute("DW_AT_type")
    return (name_of(die) or "") if die.tag == "DW_TAG_typedef" else ""


def _found(die) -> Found:
    size = die.attributes["DW_AT_byte_size"].value if "DW_AT_byte_size" in die.attributes else 0
    name = name_of(die)
    if die.tag == "DW_TAG_base_type":
        encoding = die.attributes.get("DW_AT_encoding")
        return Found(ENCODINGS.get(encoding.value if encoding else -1, "other"), size, name or "?")
    if die.tag == "DW_TAG_pointer_type":
        return Found("pointer", size or die.cu.header["address_size"], "pointer")
    if die.tag == "DW_TAG_enumeration_type":
        label = f"enum {name or '{...}'}"
        if "DW_AT_type" in die.attributes:
            return replace(found(die.get_DIE_from_attribute("DW_AT_type")), via=label)
        return Found("enum", size, label)
    if die.tag in AGGREGATES:
        return Found(AGGREGATES[die.tag], size, f"{AGGREGATES[die.tag]} {name or '{...}'}")
    return Found("other", size, name or die.tag)


def agrees(want: Want, have: Found) -> bool:
    if want.kind == "aggregate" or (want.raw and have.kind in ("struct", "union")):
        return have.kind in ("struct", "union")
    if want.kind == "pointer":
        return have.kind == "pointer"
    if have.size != want.size:
        return False
    if have.kind == "enum":  # no underlying type in DWARF: the size is all it says
        return True
    if have.plain_char:
        return want.kind in ("signed", "unsigned")
    if want.kind == "bool":
        return have.kind in ("boolean", "unsigned", "unsigned_char")
    if want.kind == "signed":
        return have.kind in ("signed", "signed_char")
    return have.kind in ("unsigned", "unsigned_char")


def describe(have: Found, arch: str) -> str:
    """`signed 8-byte (long int)`, as a report names the compiler's type."""
    if have.kind == "pointer":
        text = f"a pointer ({have.size}-byte)"
    elif have.kind in ("struct", "union"):
        text = have.name
    elif have.plain_char:
        sign = "signed" if have.kind == "signed_char" else "unsigned"
        text = f"plain char ({sign} on {arch}; the spec may say u8 or i8 for it)"
    elif have.kind == "enum":
        text = f"{have.name} of {have.size} bytes"
    else:
        word = {"signed_char": "signed", "unsigned_char": "unsigned"}.get(have.kind, have.kind)
        text = f"{word} {have.size}-byte ({f'{have.typedef}: ' if have.typedef else ''}{have.name})"
    return f"{text} through {have.via}" if have.via else text


def strip(die):
    """The type under any typedefs and qualifiers."""
    while die.tag in QUALIFIERS and "DW_AT_type" in die.attributes:
        die = die.get_DIE_from_attribute("DW_AT_type")
    return die


def name_of(die) -> Optional[str]:
    attribute = die.attributes.get("DW_AT_name")
    return attribute.value.decode("utf-8", "replace") if attribute else None
