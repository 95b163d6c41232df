"""Every name the C outputs define, with the spec element that produced it, and the rule
that no two elements share one.

A C file includes both generated headers, and a `.S` file the offsets header: a macro
defined twice either fails a `-Werror` compile or, in an assembler, silently keeps one of
the two values. Names derived from paths can meet although every spec name is unique
(`Outer.b.x` and `OuterB.x` are both `offsetof_outer_b_x`), so the whole set is listed
per combination and checked before anything is written. The same list tells the consumer
check (`check/consumers.py`) which undefined symbols are generated names gone missing.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from .. import layout_types as lay
from .. import naming
from .c_header import enum_fits_int
from .c_offsets import bit_rows, offset_rows
from .c_spelling import c_constants
from .common import struct_order
from ..errors import Pos, Problems
from ..ir import BitField, Field, Padding, Reserved, Spec, UnionDecl

# Where a name is visible: a C file that includes both headers, and an assembly file that
# includes the offsets header.
IN_C, IN_ASM = frozenset({"c"}), frozenset({"asm"})
EVERYWHERE = IN_C | IN_ASM

HEADER, OFFSETS = "C header", "offsets-header"
MACRO, IDENT, TAG, MEMBER = "macro", "identifier", "tag", "member"  # C's namespaces (a macro is in all)

# The prefixes of the offsets header's derived names; `consumers.py` treats any undefined
# symbol with one of them as a generated name gone missing.
_ASM = "`asm: NAME`"  # a struct's or field's spelling in offsets-header macros

OFFSETS_PREFIXES = ("offsetof_", "sizeof_", "bitpos_", "bitwidth_", "bitunit_")


@dataclass(frozen=True)
class Defined:
    name: str
    kind: str  # MACRO, IDENT (an enum constant), TAG (struct/union/enum tag) or MEMBER
    header: str  # HEADER or OFFSETS
    scope: frozenset  # IN_C, IN_ASM or EVERYWHERE
    what: str  # the spec element, as a reader names it: `Outer.b.x`, `constant PAGE_SIZE`
    pos: Pos
    value: Optional[int] = None  # the number an offsets-header macro stands for
    respell: str = "`c: NAME`"  # the key that gives this element another spelling here

    def clashes(self, other: "Defined") -> bool:
        if self.what == other.what or not (self.scope & other.scope):
            return False  # one element in two headers (a constant), or never both visible
        if MACRO in (self.kind, other.kind):
            return True  # a macro rewrites every later use of the name, whatever it names
        return self.kind == other.kind and self.kind != MEMBER  # members live in their struct


def asm_only(spec: Spec, enum_c_name: str, asm_name: str) -> bool:
    """An enum value spelled in assembly as in C: the C header's enum constant (or macro)
    already has the name, so the offsets header defines it for assemblers only."""
    return asm_name == enum_c_name


def offsets_names(spec: Spec, layout: lay.Layout) -> list:
    """What the offsets header defines for this combination, in its order, with values."""
    found = [Defined(const.names.c, MACRO, OFFSETS, EVERYWHERE, f"constant {const.names.canonical}", const.pos,
                     layout.constants[const.names.canonical]) for const in c_constants(spec, layout).values()]
    for enum_layout in layout.enums.values():
        enum = enum_layout.enum
        for value, number in enum_layout.values:
            name = naming.asm_enum_name(value.names.c, enum.asm_prefix)
            scope = IN_ASM if asm_only(spec, value.names.c, name) else EVERYWHERE
            found.append(Defined(name, MACRO, OFFSETS, scope, f"{enum.names.canonical}.{value.names.canonical}",
                                 value.pos, number, "`asm_prefix:` on its enum"))
    for struct_layout in struct_order(layout, (layout,)):
        decl = spec.struct(struct_layout.name)
        if decl.anonymous:
            continue
        label = decl.names.canonical
        found.append(Defined(f"sizeof_{naming.macro_part(decl.names)}", MACRO, OFFSETS, EVERYWHERE,
                             f"sizeof({label})", decl.pos, struct_layout.size, _ASM))
        for macro, offset, _, spec_path, pos in offset_rows(spec, layout, struct_layout.name):
            found.append(Defined(macro, MACRO, OFFSETS, EVERYWHERE, ".".join([label, *spec_path]), pos, offset, _ASM))
        for names, offset, slot, spec_path, pos in bit_rows(spec, layout, struct_layout.name):
            what = ".".join([label, *spec_path])
            for name, number in zip(names, (offset, slot.bit, slot.bits, slot.unit_size)):
                found.append(Defined(name, MACRO, OFFSETS, EVERYWHERE, what, pos, number, _ASM))
    return found


def header_names(spec: Spec, layout: lay.Layout) -> list:
    """What the C header defines for this combination: macros, enum constants, tags, members."""
    top = Pos(spec.file, 1, 1)
    found = [Defined(guard, MACRO, header, EVERYWHERE if header == OFFSETS else IN_C, "the include guard", top)
             for guard, header in ((f"{guard_macro(spec)}_H_", HEADER), (f"{guard_macro(spec)}_OFFSETS_H_", OFFSETS))]
    found += [Defined(param.c_macro, MACRO, HEADER, EVERYWHERE, f"parameter {param.name}", param.pos)
              for param in spec.params]
    found += [Defined(const.names.c, MACRO, HEADER, IN_C, f"constant {const.names.canonical}", const.pos)
              for const in c_constants(spec, layout).values()]
    for enum_layout in layout.enums.values():
        enum = enum_layout.enum
        kind = IDENT if enum_fits_int(enum_layout) else MACRO
        if kind == IDENT:
            found.append(Defined(enum.names.c, TAG, HEADER, IN_C, f"enum {enum.names.canonical}", enum.pos))
        found += [Defined(value.names.c, kind, HEADER, IN_C, f"{enum.names.canonical}.{value.names.canonical}",
                          value.pos) for value, _ in enum_layout.values]
    for decl in spec.structs:
        if decl.names.canonical not in layout.structs:
            continue
        if not (decl.external or decl.anonymous):
            word = "union" if isinstance(decl, UnionDecl) else "struct"
            found.append(Defined(decl.names.c, TAG, HEADER, IN_C, f"{word} {decl.names.canonical}", decl.pos))
        found += [Defined(name, MEMBER, HEADER, IN_C, f"{decl.names.canonical}.{name}", pos)
                  for name, pos in _member_names(decl, layout.variant.arch)]
    return found


def _member_names(decl, arch: str):
    for member in decl.members:
        if member.archs is not None and arch not in member.archs:
            continue
        if isinstance(member, (Padding, Reserved)) and member.c_name:
            yield member.c_name, member.pos
        elif isinstance(member, (Field, BitField)) and member.names is not None and not getattr(member, "anonymous",
                                                                                               False):
            yield member.names.c, member.pos


def guard_macro(spec: Spec) -> str:
    return f"{spec.name.upper()}_GENERATED_{spec.name.upper()}"


def defined_names(spec: Spec, layout: lay.Layout) -> list:
    return header_names(spec, layout) + offsets_names(spec, layout)


def check(spec: Spec, layouts: dict) -> None:
    """Refuse two spec elements that share a name in the C outputs, naming both places."""
    problems, reported = Problems(), set()
    for layout in layouts.values():
        # Members never clash with each other, and the same member name recurs in many structs;
        # keeping only the first of each name keeps this linear in the spec's size.
        seen, members = {}, {}
        for entry in defined_names(spec, layout):
            earlier = list(seen.get(entry.name, ()))
            if entry.kind != MEMBER and entry.name in members:
                earlier.append(members[entry.name])
            for first in earlier:
                pair = (entry.name, frozenset((entry.what, first.what)))
                if entry.clashes(first) and pair not in reported:
                    reported.add(pair)
                    problems.add(entry.pos, _message(entry, first), _hint(entry, first))
            if entry.kind == MEMBER:
                members.setdefault(entry.name, entry)
            else:
                seen.setdefault(entry.name, []).append(entry)
    problems.raise_if_any()


def _message(entry: Defined, first: Defined) -> str:
    where = f"line {first.pos.line}:{first.pos.col}" if first.pos.file == entry.pos.file else str(first.pos)
    return f"{entry.header} {entry.kind} {entry.name} names both {entry.what} and {first.what} (first at {where})"


def _hint(entry: Defined, first: Defined) -> str:
    respell = entry.respell if entry.respell != Defined.respell else first.respell
    return f"rename one, or give one {'a macro' if respell != Defined.respell else 'another'} spelling with {respell}"
