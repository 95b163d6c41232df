"""`layoutgen layout`: the spec's layout printed the way pahole prints compiled structs.

The text follows pahole 1.24 (Debian bookworm's `dwarves`) column for column, so the
report for a struct can be diffed against `pahole -C <name> --cacheline_size=64` run on
an object compiled from the generated header. Members are spelled as the generated
header declares them. Everything pahole would work out from debug info is taken from
the laid-out IR instead: holes and tail padding are the `Hole` slots the layout engine
recorded, and the `__packed__` / `__aligned__` notes follow the rules pahole applies to
what the compiler recorded, restated in terms of the spec (see `_looks_packed` and
`_user_aligned`). One pahole habit is left out on purpose: when it has already printed a
struct that embeds another at an unnatural offset, it calls the embedded one packed too,
so its verdict depends on print order; the report judges each struct on its own.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from .. import cachelines
from .. import layout_types as lay
from ..layout import natural_structs
from ..ir import Spec
from ..primitives import ARCHS, PRIMITIVES
from . import layout_writers
from .common import (ToolError, c_member, c_pad_names, c_struct_type, choose_archs, choose_variants, describe,
                     find_struct)

CACHELINE = 64
TAB = 8  # pahole indents nested members with tabs and counts a tab as 8 columns
TYPE_COLUMN = 26  # pahole pads the type to this width, then writes one space
COMMENT_COLUMN = 49  # declaration width (type, name and ';') before the offset comment


# pahole prints types as the debug info names them, which for gcc's builtin 128-bit
# typedefs is the underlying base type, and for C's `long` gcc's spelling of it.
_DEBUG_NAMES = {info.c: info.debug_name for info in PRIMITIVES.values() if info.dwarf}
_DEBUG_NAMES.update({"long": "long int", "unsigned long": "long unsigned int"})


@dataclass(frozen=True)
class Member:
    """One member line of the report and the notes pahole hangs off it."""

    declaration: str  # "uint64_t                   debug;"
    offset: int
    size: int
    hole_after: int  # bytes of implicit padding before the next member
    inner_padding: int  # tail padding of an embedded struct, which pahole points out
    forced_align: Optional[int]  # an alignment the header forces on this member
    bit: Optional[int] = None  # a bitfield's first bit in the unit at `offset`, as pahole prints it
    # An anonymous struct or union: the lines pahole prints inline before this member's own
    # line, which closes them with `};` and the member's offset and size.
    inline: tuple = ()
    # How much of `declaration` pahole counts when it pads to the offset column, when not all:
    # it leaves out a forced alignment it adds to an anonymous member's closing line.
    padded: Optional[int] = None


def report(spec: Spec, layouts: dict, arch=None, struct=None, cacheline: Optional[int] = None,
           params: Optional[dict] = None, every: bool = False) -> str:
    """The whole report: every struct (or the one asked for) on every arch (or the one asked for),
    in the parameter combination `params` selects (the default one; each with `every`).
    `layouts` is keyed by `Variant.key`, as `layout.layout_combinations` returns them.

    The cache line is `cacheline` bytes, else the spec's `cacheline_size` on each combination.
    A spec with `sides:` gets, under each cache-line marker, who writes the lines it starts
    (see `layout_writers`); pahole prints none of that, and the rest is pahole's text.
    A single block whose combination was chosen in full is exactly pahole's text; otherwise
    each block opens with a comment line naming the arch and the parameter values. On a
    big-endian arch a block with bitfields also says how their bit positions count.
    """
    params = params or {}
    variants = choose_variants(spec, choose_archs(spec, arch), params, every)
    if struct and arch is None:  # a struct of some archs only: report it where it exists
        variants = tuple(v for v in variants if _exists(spec, layouts[v.key], struct)) or variants
    headed = len(variants) > 1 or any(p.name not in params for p in spec.params)
    blocks = []
    for variant in variants:
        layout = layouts[variant.key]
        names = [find_struct(spec, layout, struct)] if struct else \
            [name for name in layout.structs if not spec.struct(name).anonymous]
        size = cacheline or cachelines.layout_line(layout)  # the spec's `cacheline_size` unless asked
        lines = [text for name in names for text in struct_lines(spec, layout, name, size)]
        if not struct:
            lines += region_lines(layout)
        lines = _bit_convention(layout, names) + lines
        if headed:
            lines = [f"/* ===== {spec.name} on {describe(variant)} ===== */"] + lines
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks)


def _bit_convention(layout: lay.Layout, names: list) -> list:
    """The note on a big-endian arch's bit positions: `offset:bit` counts from the most
    significant bit of the byte, as the allocation does there (DWARF's data_bit_offset,
    which pahole prints), not from the least significant as on little-endian arches."""
    if ARCHS[layout.variant.arch].little_endian or not any(layout.structs[name].bitfields for name in names):
        return []
    return ["/* big-endian: in a bitfield's offset:bit, bits count in address order from the most significant bit of each byte */"]


def region_lines(layout: lay.Layout) -> list:
    """The regions after the structs, as C comments (pahole has no such thing): each part's
    offset from its top region, its size, and what it holds."""
    if not layout.regions:
        return []
    lines = ["/* regions: offset from the top region, size, contents */"]
    for region in layout.regions:
        holds = f", {region.contents}" if region.holds else ""
        lines.append(f"/* {'  ' * (len(region.path) - 1)}{'.'.join(region.path)}: offset {region.offset}, "
                     f"size {region.size}{holds} */")
    return lines + [""]


def _exists(spec: Spec, layout: lay.Layout, struct: str) -> bool:
    try:
        find_struct(spec, layout, struct)
    except ToolError:
        return False
    return True


def struct_lines(spec: Spec, layout: lay.Layout, name: str, cacheline: int = CACHELINE) -> list:
    struct = layout.structs[name]
    if isinstance(struct, lay.UnionLayout):
        return union_lines(spec, layout, struct)
    members = _members(spec, layout, struct, _Nesting())
    writers = layout_writers.notes(spec, struct, members, cacheline)
    lines = [_opening(spec, name)] + ["\t" + note for note in writers.get(0, ())]
    lines += _body(members, cacheline, _Nesting(), writers)
    lines += _force_padding(spec, layout, struct)
    lines += [""] + _summary(struct, members, cacheline)
    lines.append(_closing(spec, layout, struct))
    return lines


def union_lines(spec: Spec, layout: lay.Layout, union: lay.UnionLayout) -> list:
    """pahole prints a union as its members (all at offset 0) and nothing else: no holes,
    no summary; its comment column is two characters left of a struct's."""
    ctype = c_struct_type(spec, union.name)
    opening = f"{ctype} {{" if ctype.startswith("union ") else "typedef union {"
    closing = "};" if ctype.startswith("union ") else f"}} {ctype};"
    return [opening] + _union_members(spec, layout, union, _Nesting(column=COMMENT_COLUMN - 2)) + [closing]


@dataclass(frozen=True)
class _Nesting:
    """Where a member line goes: pahole indents an anonymous member's members one more tab
    and moves their type and comment columns left by a tab's width, so the names and the
    comments stay in line with the outer ones. `base` makes offsets absolute."""

    depth: int = 1
    column: int = COMMENT_COLUMN
    base: int = 0

    def inner(self, offset: int) -> "_Nesting":
        return _Nesting(self.depth + 1, self.column - TAB, self.base + offset)

    @property
    def type_column(self) -> int:
        return TYPE_COLUMN - TAB * (self.depth - 1)

    @property
    def indent(self) -> str:
        return "\t" * self.depth


def _union_members(spec: Spec, layout: lay.Layout, union: lay.UnionLayout, where: _Nesting) -> list:
    lines = []
    for slot in union.slots:
        if isinstance(slot, lay.Hole):
            continue
        offset = where.base + slot.offset
        if isinstance(slot, lay.FieldSlot) and slot.field.anonymous:
            lines += _anonymous_lines(spec, layout, slot, where)
            declaration, padded = _anonymous_closing(spec, layout, slot, None)
        else:
            declaration = _declaration(spec, slot, {}, None, where.type_column)
            padded = len(declaration)
        gap = max(where.column - padded, 1)
        lines.append(f"{where.indent}{declaration}{' ' * gap}/* {offset:5d} {slot.size:5d} */")
    return lines


def _anonymous_lines(spec: Spec, layout: lay.Layout, slot, where: _Nesting) -> list:
    """The opening line and the members of an anonymous struct or union, one level in; the
    caller prints the closing `};` as the member's own line."""
    inner, nested = layout.structs[slot.struct], where.inner(slot.offset)
    if isinstance(inner, lay.UnionLayout):
        return [f"{where.indent}union {{"] + _union_members(spec, layout, inner, nested)
    body = _body(_members(spec, layout, inner, nested), None, nested)
    return [f"{where.indent}struct {{"] + body


# ---- members ---------------------------------------------------------------


def _members(spec: Spec, layout: lay.Layout, struct: lay.StructLayout, where: _Nesting) -> list:
    pad_names = c_pad_names(struct)
    aligned = _user_aligned(spec, layout)
    slots = struct.slots
    members = []
    last = max((i for i, slot in enumerate(slots) if not isinstance(slot, lay.Hole)), default=-1)
    for index, slot in enumerate(slots):
        if isinstance(slot, lay.Hole):
            continue
        following = slots[index + 1] if index + 1 < len(slots) else None
        hole = following.size if isinstance(following, lay.Hole) and not following.tail else 0
        if isinstance(slot, lay.BitsSlot):
            members += _bit_members(slot, hole, where)
            continue
        forced = _forced_alignment(slot, aligned)
        inline, padded = (), None
        if isinstance(slot, lay.FieldSlot) and slot.field.anonymous:
            inline = tuple(_anonymous_lines(spec, layout, slot, where))
            declaration, padded = _anonymous_closing(spec, layout, slot, forced)
        else:
            declaration = _declaration(spec, slot, pad_names, forced, where.type_column, index == last)
        members.append(Member(declaration, where.base + slot.offset, slot.size, hole,
                              _inner_padding(spec, layout, slot), forced, inline=inline, padded=padded))
    return members


def _anonymous_closing(spec: Spec, layout: lay.Layout, slot, forced: Optional[int]) -> tuple:
    """(`};` after an anonymous member with pahole's attributes, the length pahole pads by):
    the type's own (as for a named struct), then the member's forced alignment, which pahole
    prints too (even when the same) but leaves out of the padding."""
    closing = "}" + _type_attributes(spec, layout, layout.structs[slot.struct])
    member = f" __attribute__((__aligned__({forced})))" if forced else ""
    return f"{closing}{member};", len(closing) + 1


def _bit_members(slot: lay.BitsSlot, hole: int, where: _Nesting) -> list:
    """A run's named bitfields as pahole prints them: `type name:bits;` with the unit of the
    field's type holding its first bit and the bit there. (pahole's guessed `:0` lines and
    notes on bit holes are not reproduced.)"""
    found = []
    for index, field in enumerate(slot.fields):
        size = PRIMITIVES[field.scalar.prim].size
        unit = field.first_bit // (size * 8) * size
        declaration = f"{PRIMITIVES[field.scalar.prim].c:<{where.type_column}} {field.field.names.c}:{field.bits};"
        last = index == len(slot.fields) - 1
        found.append(Member(declaration, where.base + unit, size, hole if last else 0, 0, None,
                            field.first_bit - unit * 8))
    return found


def _declaration(spec: Spec, slot, pad_names: dict, forced: Optional[int], type_column: int = TYPE_COLUMN,
                 last: bool = False) -> str:
    ctype, name, dims = c_member(spec, slot, pad_names)
    if last and isinstance(slot, lay.FieldSlot) and 0 in slot.shape:
        # DWARF says "count 0" for both `[0]` and `[]`; pahole prints a struct's last one as `[]`.
        dims = "".join(f"[{length or ''}]" for length in slot.shape)
    ctype = _DEBUG_NAMES.get(ctype, ctype)
    attribute = f" __attribute__((__aligned__({forced})))" if forced else ""
    return f"{ctype:<{type_column}} {name}{dims}{attribute};"


def _inner_padding(spec: Spec, layout: lay.Layout, slot) -> int:
    """Tail padding of a struct embedded by value (not in an array, and not a typedef name:
    pahole only looks inside members whose type is spelled `struct X`)."""
    if not isinstance(slot, lay.FieldSlot) or slot.struct is None or slot.shape:
        return 0
    if not c_struct_type(spec, slot.struct).startswith("struct "):
        return 0
    return sum(h.size for h in layout.structs[slot.struct].holes if h.tail)


def _body(members: list, cacheline: Optional[int], where: _Nesting = _Nesting(), writers: dict = None) -> list:
    """Member lines with pahole's notes; cacheline boundaries only at the outermost level
    (`cacheline` None inside an anonymous member), each followed by its `writers` notes."""
    lines, current_line, blank_pending = [], 0, False
    for member in members:
        if blank_pending:
            lines.append("")
            blank_pending = False
        boundary = member.offset // cacheline if cacheline else 0
        if boundary > current_line:
            lines.append(where.indent + _boundary_comment(member.offset, cacheline))
            lines += [where.indent + note for note in (writers or {}).get(boundary, ())]
            current_line = boundary
        lines += member.inline
        gap = max(where.column - (member.padded or len(member.declaration)), 1)
        place = f"{member.offset:5d} {member.size:5d}" if member.bit is None else \
            f"{member.offset:5d}:{member.bit:2d} {member.size:2d}"
        lines.append(f"{where.indent}{member.declaration}{' ' * gap}/* {place} */")
        notes = []
        if member.inner_padding:
            notes.append(f"/* XXX last struct has {_bytes(member.inner_padding)} of padding */")
        if member.hole_after:
            notes.append(f"/* XXX {_bytes(member.hole_after)} hole, try to pack */")
        if notes:
            lines += [""] + [where.indent + note for note in notes]
            blank_pending = True
    return lines


def _force_padding(spec: Spec, layout: lay.Layout, struct: lay.StructLayout) -> list:
    """pahole's "Force padding" lines: when a struct without an alignment attribute has more
    tail padding than a pointer's size and its last member's type has a power-of-two size, it
    fills the padding with unnamed bitfields of that type, as if that could force it."""
    tail = sum(h.size for h in struct.holes if h.tail)
    last = next((slot for slot in reversed(struct.slots) if not isinstance(slot, lay.Hole)), None)
    if not tail or last is None or struct.name in _user_aligned(spec, layout):
        return []
    size = PRIMITIVES[last.fields[-1].scalar.prim].size if isinstance(last, lay.BitsSlot) else last.size
    if size & (size - 1) or tail <= ARCHS[layout.variant.arch].pointer_size:
        return []
    filler = _filler(spec, layout, last, f":{size * 8};")
    return ["", "\t/* Force padding: */"] + filler * -(-tail // size)


def _filler(spec: Spec, layout: lay.Layout, slot, bits: str) -> list:
    """One of pahole's padding bitfields, typed as `slot`: an anonymous type is printed whole
    (its members at their offsets in the type), an array keeps its dimensions."""
    if isinstance(slot, lay.FieldSlot) and slot.field.anonymous:
        inner = _anonymous_lines(spec, layout, slot, _Nesting(base=-slot.offset))
        return inner + [f"\t}} {bits}"]
    if isinstance(slot, lay.BitsSlot):
        ctype, dims = PRIMITIVES[slot.fields[-1].scalar.prim].c, ""
    else:
        ctype, _, dims = c_member(spec, slot, {slot: ""} if isinstance(slot, lay.PadSlot) else {})
    return [f"\t{_DEBUG_NAMES.get(ctype, ctype):<{TYPE_COLUMN}} {dims}{bits}"]


def _boundary_comment(offset: int, cacheline: int) -> str:
    line, past = divmod(offset, cacheline)
    start = line * cacheline
    if past == 0:
        return f"/* --- cacheline {line} boundary ({start} bytes) --- */"
    return f"/* --- cacheline {line} boundary ({start} bytes) was {_bytes(past)} ago --- */"


def _bytes(count: int) -> str:
    return f"{count} byte" if count == 1 else f"{count} bytes"


# ---- summary ---------------------------------------------------------------


def _summary(struct: lay.StructLayout, members: list, cacheline: int) -> list:
    lines = [f"/* size: {struct.size}, cachelines: {-(-struct.size // cacheline)}, members: {len(members)} */"]
    holes = [h for h in struct.holes if not h.tail]
    if holes:
        lines.append(f"/* sum members: {sum(m.size for m in members if m.bit is None)}, holes: {len(holes)}, "
                     f"sum holes: {sum(h.size for h in holes)} */")
    tail = sum(h.size for h in struct.holes if h.tail)
    if tail:
        lines.append(f"/* padding: {tail} */")
    padded = [m.inner_padding for m in members if m.inner_padding]
    if padded:
        lines.append(f"/* paddings: {len(padded)}, sum paddings: {sum(padded)} */")
    lines += _forced_summary(members)
    if struct.size % cacheline:
        lines.append(f"/* last cacheline: {struct.size % cacheline} bytes */")
    return ["\t" + line for line in lines]


def _forced_summary(members: list) -> list:
    forced = [index for index, member in enumerate(members) if member.forced_align]
    if not forced:
        return []
    # The hole a forced alignment opened is the one just before that member.
    opened = [members[i - 1].hole_after for i in forced if i > 0 and members[i - 1].hole_after]
    line = f"/* forced alignments: {len(forced)}"
    if opened:
        line += f", forced holes: {len(opened)}, sum forced holes: {sum(opened)}"
    return [line + " */"]


# ---- opening and closing ---------------------------------------------------


def _opening(spec: Spec, name: str) -> str:
    ctype = c_struct_type(spec, name)
    return f"{ctype} {{" if ctype.startswith("struct ") else "typedef struct {"


def _closing(spec: Spec, layout: lay.Layout, struct: lay.StructLayout) -> str:
    ctype = c_struct_type(spec, struct.name)
    typedef = "" if ctype.startswith("struct ") else f" {ctype}"
    attributes = _type_attributes(spec, layout, struct)
    if attributes.startswith(" __attribute__((__packed__))"):
        return "}" + attributes + typedef + ";"
    return "}" + typedef + attributes + ";"


def _type_attributes(spec: Spec, layout: lay.Layout, struct: lay.StructLayout) -> str:
    """What pahole prints after a struct's closing brace: `packed` when it looks packed, else
    the alignment the header forces."""
    if _looks_packed(spec, layout, struct):
        return " __attribute__((__packed__))"
    if struct.name in _user_aligned(spec, layout):
        return f" __attribute__((__aligned__({struct.align})))"
    return ""


def _user_aligned(spec: Spec, layout: lay.Layout) -> set:
    """Structs whose alignment the generated header forces with an `aligned` attribute:
    those with `align:` or `cacheline: separate`, and (as gcc propagates it) those with a
    member so forced. pahole prints the attribute whenever gcc recorded one, even when it
    equals the members' natural alignment, so this follows the header, not the numbers.

    A system type's `align:` only records what its own header does, so it never counts.
    """
    found: set = set()
    changed = True
    while changed:
        changed = False
        for decl in spec.structs:
            name = decl.names.canonical
            if name in found or name not in layout.structs or decl.external:
                continue
            if _declares_align(decl, layout) or any(_forced_alignment(s, found) for s in layout.structs[name].fields):
                found.add(name)
                changed = True
    return found


def _declares_align(decl, layout: lay.Layout) -> bool:
    """Whether the header puts `aligned(N)` on the type itself (as `targets/c_header.py` does)."""
    return bool(decl.align_on(layout.variant)) or decl.cacheline == "separate"


def _forced_alignment(slot, aligned: set) -> Optional[int]:
    """The alignment the header forces on a field: its own `align:`, or that of a forced struct type."""
    if not isinstance(slot, lay.FieldSlot):
        return None
    if slot.field.align or (slot.struct is not None and slot.struct in aligned):
        return slot.align
    return None


def _looks_packed(spec: Spec, layout: lay.Layout, struct: lay.StructLayout) -> bool:
    """Whether pahole will call the struct packed. It cannot see the attribute; it infers it
    when a struct without holes or padding has a member off its natural alignment, or a
    size that is not a multiple of its members' largest natural alignment."""
    if struct.holes:
        return False
    natural = natural_structs(spec, layout.variant)
    widest = 1
    for slot in struct.slots:
        need = _natural_align(spec, layout, slot, natural)
        if need == 1:
            continue
        widest = max(widest, need)
        if slot.offset % need:
            return True
    decl = spec.struct(struct.name)
    forced_to_one = decl.align_on(layout.variant) == 1 and not decl.external
    return (widest != 1 and forced_to_one) or struct.size % widest != 0


def _natural_align(spec: Spec, layout: lay.Layout, slot, natural: dict) -> int:
    """The alignment a member's type has without any attribute. For a system type the
    spec's recorded alignment is the natural one of the system's own definition."""
    if not isinstance(slot, lay.FieldSlot):
        return 1
    if slot.struct is not None:
        if spec.struct(slot.struct).external:
            return layout.structs[slot.struct].align
        return natural[slot.struct].align
    # pahole takes no primitive to need more than the word (a u64 at offset 4 is natural on i386)
    return min(PRIMITIVES[slot.scalar.prim].size, ARCHS[layout.variant.arch].pointer_size)
