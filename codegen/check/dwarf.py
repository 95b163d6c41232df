"""Read back, from the compiler's debug info, the structs the generated header declares,
and compare them with the spec member by member.

The C asserts only test members the spec knows about. The compiler's own record of a
struct lists every member it has, so a member added to the header by hand (with no
assert to trip) shows up here as one the spec does not name.
"""
from __future__ import annotations

import io
import os
import tempfile
from dataclasses import dataclass, replace
from typing import Optional

from .. import layout_types as lay
from ..layout import with_combinations
from ..primitives import PRIMITIVES
from ..targets.c_spelling import reserved_name, struct_type
from . import base_types
from .base_types import Found, Want
from .base_types import name_of as _name
from .base_types import strip as _strip
from . import cache
from .jobs import Ran, Task
from .toolchain import C_COMPILERS, LINK_ALONE, ToolMissing, c_compiler, run_with_deps

# Debug info at -O0 keeps every member; no -Werror: this step judges layouts, not style. The
# probe is linked so that its debug info needs no relocating (toolchain.LINK_ALONE).
DWARF_FLAGS = ["-g", "-O0", "-std=gnu11", *LINK_ALONE]
PROBE_PREFIX = "layoutgen_dwarf_probe_"
TAG_KEYWORDS = {"DW_TAG_structure_type": "struct", "DW_TAG_union_type": "union",
                "DW_TAG_enumeration_type": "enum"}


@dataclass(frozen=True)
class Member:
    name: str
    type: str  # C spelling before the name, e.g. "struct sysmsg *"; for the report only
    dims: str  # array suffix after the name, e.g. "[31]"
    offset: int
    size: int
    bit: Optional[int] = None  # a bitfield's first bit, counted from the struct's start
    bits: Optional[int] = None  # a bitfield's width
    want: Optional[Want] = None  # what the spec says it holds (spec side; None: bytes only)
    have: Optional[Found] = None  # what DWARF says it holds (compiler side)

    @property
    def declaration(self) -> str:
        spacer = "" if self.type.endswith("*") else " "
        width = f" : {self.bits}" if self.bits is not None else ""
        return f"{self.type}{spacer}{self.name}{self.dims}{width};"

    @property
    def place(self) -> tuple:
        return self.offset, self.size, self.bit, self.bits


@dataclass(frozen=True)
class Shape:
    """A struct as its size and named members, whether the spec or the compiler says so."""

    size: int
    members: tuple  # of Member, in declaration order


@dataclass(frozen=True)
class Counts:
    structs: int
    members: int


@dataclass(frozen=True)
class Outcome:
    problems: tuple  # of str
    counts: dict  # arch -> Counts, for the archs whose probe compiled


def check(spec, layouts, out) -> list:
    """Problems, one string each (a whole report per struct); empty when DWARF agrees."""
    return list(cross_check(spec, layouts, out).problems)


def tasks(spec, layouts, out) -> list:
    """`check` as one unit of work per combination, keyed by the spec, the compiler, the probe
    and the headers the probe includes."""
    return [_task(spec, layout, out) for layout in with_combinations(spec, layouts).values()]


def _task(spec, layout: lay.Layout, out: str) -> Task:
    arch, defines = layout.variant.arch, param_defines(spec, layout.variant)
    names = named_structs(spec, layout)

    def inputs() -> cache.Inputs:
        return (cache.Inputs("dwarf").add("spec", spec.digest, layout.variant.key)
                .command(_command(c_compiler(arch), defines, out, cache.SCRATCH)).tool(c_compiler(arch), "--version")
                .add("probe", probe_source(spec, names)).env(*cache.C_ENV))

    def work() -> Ran:
        data, problems, found = _compile(spec, names, out, arch, defines)
        if data is None:
            return Ran(problems)
        return Ran(judge(spec, layout, read_structs(data))[0], tuple(found))

    return Task(f"DWARF on {layout.variant.key}", work, inputs)


def cross_check(spec, layouts, out) -> Outcome:
    """Every arch of `layouts`, in each combination of the spec's parameters (keyed `arm64_64k`)."""
    problems, counts = [], {}
    for key, layout in with_combinations(spec, layouts).items():
        found, arch_counts = check_arch(spec, layout, out)
        problems.extend(found)
        if arch_counts is not None:
            counts[key] = arch_counts
    return Outcome(tuple(problems), counts)


def check_arch(spec, layout: lay.Layout, out: str) -> tuple:
    """(problems, Counts or None) for one arch; None when nothing could be compared."""
    data, problems = compile_probe(spec, named_structs(spec, layout), out, layout.variant.arch,
                                   param_defines(spec, layout.variant))
    if data is None:
        return problems, None
    return judge(spec, layout, read_structs(data))


def judge(spec, layout: lay.Layout, compiled: dict) -> tuple:
    """(problems, Counts or None): every struct of `layout` against what DWARF said of it."""
    arch, names, problems = layout.variant.key, named_structs(spec, layout), []
    if not compiled:
        return [f"DWARF on {arch}: the probe object holds no struct at all, so nothing was compared"], None
    structs = members = 0
    for name in names:
        if name not in compiled:
            problems.append(f"DWARF on {arch}: {struct_type(spec, name)} ({name}) is missing from the debug info")
            continue
        expected = spec_shape(spec, layout, name)
        structs += 1
        members += len(_row_names(expected, compiled[name]))
        report = compare(f"{name} ({arch})", struct_type(spec, name), expected, compiled[name])
        if report:
            problems.append(report)
        problems += type_mismatches(struct_type(spec, name), expected, compiled[name], layout.variant)
    return problems, Counts(structs, members)


def named_structs(spec, layout: lay.Layout) -> list:
    """The structs C can name: not the declarations of anonymous members, which DWARF shows
    inside their parents."""
    return [name for name in layout.structs if not spec.struct(name).anonymous]


# ---- compiling -------------------------------------------------------------


def probe_source(spec, names) -> str:
    """A translation unit with one global per struct, so the compiler describes each in full."""
    lines = [f'#include "{spec.name}.h"', ""]
    lines += [f"{struct_type(spec, name)} {PROBE_PREFIX}{name};" for name in names]
    return "\n".join(lines) + "\n"


def param_defines(spec, variant) -> list:
    """`-DPAGEX_PAGE_SIZE=65536`: the compiler flags that select a variant's parameter values."""
    return [f"-D{spec.param(name).c_macro}={value}" for name, value in variant.params]


def compile_probe(spec, names, out: str, arch: str, defines=()) -> tuple:
    """(the linked probe's bytes, []) or (None, problems) when the probe does not compile."""
    return _compile(spec, names, out, arch, defines)[:2]


def _command(compiler: str, defines, out: str, scratch: str) -> list:
    return [compiler, *DWARF_FLAGS, *defines, "-I", os.path.join(out, "c"), os.path.join(scratch, "probe.c"),
            "-o", os.path.join(scratch, "probe.so")]


def _compile(spec, names, out: str, arch: str, defines=()) -> tuple:
    """`compile_probe`'s answer and the files the compile read."""
    compiler = c_compiler(arch)
    with tempfile.TemporaryDirectory() as scratch:
        with open(os.path.join(scratch, "probe.c"), "w") as handle:
            handle.write(probe_source(spec, names))
        result, found = run_with_deps(_command(compiler, defines, out, scratch), scratch)
        if result.returncode != 0:
            errors = [line for line in result.stderr.splitlines() if "error" in line] or result.stderr.splitlines()
            return None, [f"DWARF probe does not compile on {arch} ({os.path.basename(compiler)}):\n"
                          + "\n".join("    " + e for e in errors[:20])], []
        with open(os.path.join(scratch, "probe.so"), "rb") as handle:
            return handle.read(), [], found


# ---- reading DWARF ---------------------------------------------------------


def read_structs(data: bytes) -> dict:
    """{canonical struct name: Shape} for every probe variable found in the object's DWARF."""
    try:
        from elftools.elf.elffile import ELFFile
    except ImportError as missing:  # a tool the step needs, reported like a missing compiler
        raise ToolMissing("pyelftools is not installed (pip install pyelftools)") from missing
    dwarf = ELFFile(io.BytesIO(data)).get_dwarf_info()
    found = {}
    for unit in dwarf.iter_CUs():
        for die in unit.get_top_DIE().iter_children():
            name = _name(die)
            if die.tag != "DW_TAG_variable" or not name or not name.startswith(PROBE_PREFIX):
                continue
            struct = _strip(die.get_DIE_from_attribute("DW_AT_type"))
            if struct.tag in ("DW_TAG_structure_type", "DW_TAG_union_type") and "DW_AT_byte_size" in struct.attributes:
                found[name[len(PROBE_PREFIX):]] = _shape(struct)
    return found


def _shape(struct) -> Shape:
    return Shape(struct.attributes["DW_AT_byte_size"].value, tuple(_members(struct, 0)))


def _members(struct, base: int) -> list:
    """The members a name reaches, at offsets from the outermost struct: an unnamed struct or
    union member (DW_TAG_member without DW_AT_name) contributes its own members, as in C11."""
    members = []
    for child in struct.iter_children():
        if child.tag != "DW_TAG_member":
            continue
        name = _name(child)
        kind = child.get_DIE_from_attribute("DW_AT_type")
        if name is None and _strip(kind).tag in ("DW_TAG_structure_type", "DW_TAG_union_type"):
            members += _members(_strip(kind), base + _member_offset(child))
            continue
        prefix, dims = _spelling(kind)
        if "DW_AT_bit_size" in child.attributes:
            # The unit is found within the innermost struct, as the spec side does: an anonymous
            # struct need not sit at a multiple of its bitfields' size (u64 at 12 on i386).
            own_bit = _first_bit(child, _size(kind))
            members.append(Member(name or "<unnamed>", prefix, dims, base + _unit_of(own_bit, _size(kind)),
                                  _size(kind), base * 8 + own_bit, child.attributes["DW_AT_bit_size"].value,
                                  have=base_types.found(kind)))
            continue
        members.append(Member(name or "<unnamed>", prefix, dims, base + _member_offset(child), _size(kind),
                              have=base_types.found(kind)))
    return members


def _member_offset(member) -> int:
    location = member.attributes.get("DW_AT_data_member_location")
    if location is None:  # a bit-field, or a union member at 0
        bits = member.attributes.get("DW_AT_data_bit_offset")
        return bits.value // 8 if bits else 0
    if isinstance(location.value, int):
        return location.value
    # Older DWARF spells the offset as an expression: DW_OP_plus_uconst <offset>.
    from elftools.dwarf.dwarf_expr import DWARFExprParser
    ops = DWARFExprParser(member.dwarfinfo.structs).parse_expr(location.value)
    if len(ops) == 1 and ops[0].op_name == "DW_OP_plus_uconst":
        return ops[0].args[0]
    raise ValueError(f"member {_name(member)}: unsupported location expression {ops}")


def _unit_of(bit: int, size: int) -> int:
    """The offset pahole shows for a bitfield: the aligned unit of its type holding its first bit."""
    return bit // (size * 8) * size


def _first_bit(member, type_size: int) -> int:
    """A bitfield's allocation position from the struct's start, in address order (as
    BitFieldSlot.first_bit). DWARF 4 and later say it directly; DWARF 2 and 3 count from the
    most significant bit of a unit at a byte offset: on a big-endian target that is address
    order already, on a little-endian one it counts from the unit's other end."""
    if "DW_AT_data_bit_offset" in member.attributes:
        return member.attributes["DW_AT_data_bit_offset"].value
    from_top = member.attributes["DW_AT_bit_offset"].value
    if not member.dwarfinfo.config.little_endian:
        return _member_offset(member) * 8 + from_top
    unit = member.attributes.get("DW_AT_byte_size")
    unit_bits = (unit.value if unit else type_size) * 8
    return _member_offset(member) * 8 + unit_bits - from_top - member.attributes["DW_AT_bit_size"].value


def _size(die) -> int:
    base = _strip(die)
    if base.tag == "DW_TAG_array_type":
        count = 1
        for length in _dims(base):
            count *= length
        return count * _size(base.get_DIE_from_attribute("DW_AT_type"))
    size = base.attributes.get("DW_AT_byte_size")
    return size.value if size else 0


def _dims(array) -> list:
    lengths = []
    for sub in array.iter_children():
        if sub.tag != "DW_TAG_subrange_type":
            continue
        if "DW_AT_count" in sub.attributes:
            lengths.append(sub.attributes["DW_AT_count"].value)
        elif "DW_AT_upper_bound" in sub.attributes:
            lower = sub.attributes.get("DW_AT_lower_bound")
            lengths.append(sub.attributes["DW_AT_upper_bound"].value + 1 - (lower.value if lower else 0))
        else:
            lengths.append(0)  # a flexible array member takes no room
    return lengths


def _spelling(die) -> tuple:
    """(type before the name, array suffix) as C would write the member's type."""
    if die.tag == "DW_TAG_array_type":
        prefix, _ = _spelling(die.get_DIE_from_attribute("DW_AT_type"))
        return prefix, "".join(f"[{n}]" for n in _dims(die))
    if die.tag == "DW_TAG_pointer_type":
        target = _spelling(die.get_DIE_from_attribute("DW_AT_type"))[0] if "DW_AT_type" in die.attributes else "void"
        return target + (" *" if not target.endswith("*") else "*"), ""
    if die.tag in ("DW_TAG_const_type", "DW_TAG_volatile_type"):
        inner = _spelling(die.get_DIE_from_attribute("DW_AT_type"))[0] if "DW_AT_type" in die.attributes else "void"
        return f"{die.tag[7:-5]} {inner}", ""
    name = _name(die)
    keyword = TAG_KEYWORDS.get(die.tag)
    if keyword:
        return f"{keyword} {name or '{...}'}", ""
    return name or "?", ""


# ---- the spec's side -------------------------------------------------------


def spec_shape(spec, layout: lay.Layout, name: str) -> Shape:
    """The members the header should declare: fields and explicit padding, never holes."""
    return Shape(layout.structs[name].size, tuple(_spec_members(spec, layout, name, 0)))


def _spec_members(spec, layout: lay.Layout, name: str, base: int) -> list:
    """spec_shape's members at offsets from `base`; an anonymous member's own stand in for it."""
    struct_layout, members, pad_index = layout.structs[name], [], 0
    for slot in struct_layout.slots:
        if isinstance(slot, lay.FieldSlot) and slot.field.anonymous:
            members += _spec_members(spec, layout, slot.struct, slot.offset)
        elif isinstance(slot, (lay.FieldSlot, lay.FlexSlot)):
            # A flexible array reads back from DWARF as a dimension of 0 and a size of 0.
            dims = "".join(f"[{n}]" for n in slot.shape)
            members.append(Member(slot.field.names.c, _spec_type(spec, slot), dims, slot.offset, slot.size,
                                  want=base_types.want_field(slot)))
        elif isinstance(slot, lay.ReservedSlot):
            members.append(Member(reserved_name(slot), "uint8_t", f"[{slot.size}]", slot.offset, slot.size))
        elif isinstance(slot, lay.BitsSlot):
            # Unnamed bitfields have no DWARF member: only the named ones are compared.
            for field in slot.fields:
                info = PRIMITIVES[field.scalar.prim]
                members.append(Member(field.field.names.c, info.c, "", _unit_of(field.first_bit, info.size),
                                      info.size, field.first_bit, field.bits,
                                      want=base_types.want_scalar(field.scalar)))
        elif isinstance(slot, lay.PadSlot):
            # Unnamed padding is spelled _pad<N> by the C target; the drift step pins that text.
            pad_name = slot.padding.c_name or f"_pad{pad_index}"
            pad_index += 1
            members.append(Member(pad_name, "uint8_t", f"[{slot.size}]", slot.offset, slot.size))
    return [replace(m, offset=m.offset + base, bit=None if m.bit is None else m.bit + base * 8) for m in members]


def _spec_type(spec, slot) -> str:
    if slot.struct is not None:
        return struct_type(spec, slot.struct)
    if slot.scalar.is_pointer:
        target = slot.scalar.pointer_to
        return (struct_type(spec, target) if target else "void") + " *"
    return slot.scalar.c_type


# ---- comparing and reporting -----------------------------------------------


def _row_names(expected: Shape, actual: Shape) -> list:
    """Member names in spec order, with members only the compiler has slotted in where it put them."""
    names = [m.name for m in expected.members]
    compiled = [m.name for m in actual.members]
    for index, name in enumerate(compiled):
        if name not in names:
            names.insert(names.index(compiled[index - 1]) + 1 if index else 0, name)
    return names


def compare(label: str, c_type: str, expected: Shape, actual: Shape) -> Optional[str]:
    """None when the shapes agree; otherwise a two-column report, spec on the left."""
    spec_by_name = {m.name: m for m in expected.members}
    compiled_by_name = {m.name: m for m in actual.members}
    rows, differing = [], []
    for name in _row_names(expected, actual):
        left, right = spec_by_name.get(name), compiled_by_name.get(name)
        same = left is not None and right is not None and left.place == right.place
        if not same:
            differing.append(_why(name, left, right))
        rows.append((same, _cell(left), _cell(right)))
    size_differs = expected.size != actual.size
    rows.append((not size_differs, f"/* size: {expected.size} */", f"/* size: {actual.size} */"))
    if not differing and not size_differs:
        return None
    return "\n".join(_table(label, c_type, rows) + [_summary(label, differing, expected, actual)])


def type_mismatches(c_type: str, expected: Shape, actual: Shape, variant) -> list:
    """One line per member the spec and the compiler both name but that holds another kind of
    value (signedness, width of each element, boolean, pointer or aggregate)."""
    compiled_by_name = {m.name: m for m in actual.members}
    problems = []
    for member in expected.members:
        other = compiled_by_name.get(member.name)
        if member.want is None or other is None or other.have is None:
            continue
        if not base_types.agrees(member.want, other.have):
            problems.append(f"{c_type}: field {member.name}: the spec says {member.want.spelling}, "
                            f"{C_COMPILERS[variant.arch]}'s DWARF says {base_types.describe(other.have, variant.arch)} "
                            f"on {variant.key}")
    return problems


def _cell(member: Optional[Member]) -> str:
    if member is None:
        return "-"
    bit = f" bit {member.bit - member.offset * 8}" if member.bit is not None else ""
    return f"{member.declaration:<40} /* {member.offset:5} {member.size:5}{bit} */"


def _why(name: str, left: Optional[Member], right: Optional[Member]) -> str:
    if left is None:
        return f"{name} (not in the spec)"
    if right is None:
        return f"{name} (missing from the compiled struct)"
    moved = []
    if left.offset != right.offset:
        moved.append(f"offset {left.offset} -> {right.offset}")
    if left.size != right.size:
        moved.append(f"size {left.size} -> {right.size}")
    if (left.bit, left.bits) != (right.bit, right.bits):
        moved.append(f"bits {_bit_span(left)} -> {_bit_span(right)}")
    return f"{name} ({', '.join(moved)})"


def _bit_span(member: Member) -> str:
    if member.bits is None:
        return "none (not a bitfield)"
    return f"{member.bit}..{member.bit + member.bits - 1}"


def _table(label: str, c_type: str, rows: list) -> list:
    width = max(len(left) for _, left, _ in rows + [(True, "spec", "")])
    lines = [f"{label}: {c_type}, spec vs compiler (DWARF); '!' marks a difference",
             f"    {'spec':<{width}} | compiler"]
    lines += [f"  {' ' if same else '!'} {left:<{width}} | {right}" for same, left, right in rows]
    return lines


def _summary(label: str, differing: list, expected: Shape, actual: Shape) -> str:
    parts = []
    if differing:
        noun = "member differs" if len(differing) == 1 else "members differ"
        parts.append(f"{len(differing)} {noun}: {'; '.join(differing)}")
    if expected.size != actual.size:
        parts.append(f"size: spec says {expected.size}, compiler says {actual.size}")
    return f"  {label}: {'; '.join(parts)}"
