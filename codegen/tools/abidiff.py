"""`layoutgen abi-diff OLD NEW`: what changed in the binary layout between two versions of a
spec, per arch, and whether each change breaks the other side of the shared memory.

A change is breaking when code built against the old layout would misread or
overwrite memory laid out by the new one (or the reverse). Each kind of change has one
verdict and its reason, in the table KINDS (abidiff_report). Some change no byte (a name,
a doc, an enum stored as its integer, a constant on one side only: NOT_LAYOUT); those are
never breaking, and a diff of only those says "no layout changes". A struct that grows at its tail breaks the
ABI (old code copies and allocates the old size) unless the new field takes bytes the
old spec reserved, or the struct is declared extensible in both versions: the kernel's
convention for perf_event_attr, clone_args, sched_attr and open_how, where a field
carries the size the writer knew, old readers read that many bytes and new readers
zero-fill the rest. An element of a region array that grows within its stride moves no
other element, and is noted as such; a changed stride moves all of them.

With spec parameters, every combination the two specs share (same arch and parameter
values; a parameter only one spec declares stands at its default in the other) is compared
on its own and its changes name it. A combination only the old spec has is breaking, one
only the new spec has compatible; a changed default is breaking, since code built without
choosing a value gets another layout.

Either side may be a file or `git:REV:PATH` (read with `git show`).
"""
from __future__ import annotations

import subprocess
from dataclasses import replace

from .. import layout_types as lay
from ..layout import layout_combinations
from ..layout_walk import visible_runs, visible_slots
from .. import load, resolve
from ..ir import Spec, Variant
from ..primitives import PRIMITIVES
from ..targets.c_spelling import reserved_name
from . import abidiff_writers
from .abidiff_report import KINDS, NOT_LAYOUT, Change, render_json, render_text  # noqa: F401 (abi-diff's API)
from .common import ToolError, spec_type


# ---- loading ---------------------------------------------------------------


def load_version(where: str, cwd=None) -> tuple:
    """(label, Spec, {arch: Layout}) for a file path or `git:REV:PATH`."""
    if where.startswith("git:"):
        text = _git_show(where, cwd)
    else:
        text = load.read_text(where)
    root = load.load_text(text, where)
    spec = resolve.resolve(root, where, text.encode("utf-8"))
    return where, spec, layout_combinations(spec)


def _git_show(where: str, cwd) -> str:
    rev_path = where[len("git:"):]
    if ":" not in rev_path:
        raise ToolError(f"{where}: write git:REV:PATH, e.g. git:HEAD~1:spec/sysmsg.yaml")
    try:
        result = subprocess.run(["git", "show", rev_path], cwd=cwd, capture_output=True, timeout=60)
    except FileNotFoundError:
        raise ToolError("git is not installed")
    if result.returncode != 0:
        message = result.stderr.decode("utf-8", "replace").strip().splitlines()
        raise ToolError(f"{where}: {message[-1] if message else 'git show failed'}")
    try:
        return result.stdout.decode("utf-8")
    except UnicodeDecodeError:
        raise ToolError(f"{where}: not UTF-8 text")


# ---- comparing -------------------------------------------------------------


def compare(old: tuple, new: tuple) -> list:
    """Every change from `old` to `new`, each a `(spec, layouts)` pair with layouts keyed by
    `Variant.key` (`layout.layout_combinations`)."""
    (old_spec, old_layouts), (new_spec, new_layouts) = old, new
    changes = []
    for arch in old_spec.archs:
        if arch not in new_spec.archs:
            changes.append(Change(arch, "arch-removed", arch, "the new spec no longer covers this arch"))
    changes += _defaults(old_spec, new_spec)
    pairs = _pairs(old_spec, new_spec)
    for arch in new_spec.archs:
        if arch not in old_spec.archs:
            changes.append(Change(arch, "arch-added", arch, "the new spec adds this arch"))
            continue
        for before, after in pairs:
            named = after if after is not None and after.params else before
            if named.arch != arch:
                continue
            if before is None:
                found = [Change(arch, "combination-added", after.key, _missing(after, old_spec, "old"))]
            elif after is None:
                found = [Change(arch, "combination-removed", before.key, _missing(before, new_spec, "new"))]
            else:
                found = _compare_arch(arch, old_spec, old_layouts[before.key], new_spec, new_layouts[after.key])
            changes += [replace(c, combination=named.key, params=named.params) if named.params else c
                        for c in found]
    return changes


def _pairs(old_spec: Spec, new_spec: Spec) -> list:
    """(old Variant or None, new Variant or None) for every combination of either spec, matched
    by arch and parameter values; a parameter one spec lacks counts as its default in the
    other. The new spec's order, then what only the old spec has."""
    def identity(variant: Variant, other: Spec) -> tuple:
        values = dict(variant.params)
        for param in other.params:
            values.setdefault(param.name, param.default)
        return variant.arch, tuple(sorted(values.items()))

    old = {identity(v, new_spec): v for v in old_spec.combinations}
    new = {identity(v, old_spec): v for v in new_spec.combinations}
    return [(old.get(key), variant) for key, variant in new.items()] + \
        [(variant, None) for key, variant in old.items() if key not in new]


def _missing(variant: Variant, other: Spec, side: str) -> str:
    """Why the `side` spec has no combination like `variant`."""
    for name, value in variant.params:
        param = other.param(name)
        if param is None:
            return f"the {side} spec has no parameter {name} (here {value})"
        if value not in param.values:
            return f"{name} = {value} is not a value of the {side} spec"
    return f"the {side} spec has no such combination"


def _defaults(old_spec: Spec, new_spec: Spec) -> list:
    """A parameter whose default changed: code that chooses no value gets another layout."""
    changes = []
    for param in new_spec.params:
        before = old_spec.param(param.name)
        if before is not None and before.default != param.default:
            changes.append(Change("", "param-default-changed", param.name,
                                  f"default {before.default} -> {param.default}; code built without "
                                  f"choosing {param.name} gets the {param.default} layout"))
    return changes


def _compare_arch(arch, old_spec: Spec, old: lay.Layout, new_spec: Spec, new: lay.Layout) -> list:
    changes = []
    changes += _constants(arch, old, new)
    changes += _enums(arch, old, new)
    for name in _named(old_spec, old):
        if name not in new.structs:
            changes.append(Change(arch, "struct-removed", name, "struct removed"))
    for name in _named(new_spec, new):
        if name not in old.structs:
            changes.append(Change(arch, "struct-added", name, f"new struct ({new.structs[name].size} bytes)"))
        else:
            extensible = (old_spec.struct(name).extensible, new_spec.struct(name).extensible)
            changes += _struct(arch, name, old, new, extensible)
            changes += _struct_doc(arch, name, old_spec, new_spec)
    changes += _regions(arch, old, new)
    return changes


def _constants(arch, old: lay.Layout, new: lay.Layout) -> list:
    changes = []
    for name, value in old.constants.items():
        if name not in new.constants:
            changes.append(Change(arch, "constant-removed", name, f"constant removed (was {value})"))
        elif new.constants[name] != value:
            changes.append(Change(arch, "constant-changed", name, f"{value} -> {new.constants[name]}"))
    for name, value in new.constants.items():
        if name not in old.constants:
            changes.append(Change(arch, "constant-added", name, f"new constant = {value}"))
    return changes


def _enums(arch, old: lay.Layout, new: lay.Layout) -> list:
    changes = []
    for name, old_enum in old.enums.items():
        if name not in new.enums:
            changes.append(Change(arch, "enum-removed", name, "enum removed"))
            continue
        new_enum = new.enums[name]
        if old_enum.enum.base != new_enum.enum.base:
            changes.append(Change(arch, "enum-retyped", name,
                                  f"stored as {old_enum.enum.base.name} -> {new_enum.enum.base.name}"))
        changes += _enum_values(arch, name, old_enum, new_enum)
    for name in new.enums:
        if name not in old.enums:
            changes.append(Change(arch, "enum-added", name, "new enum"))
    return changes


def _enum_values(arch, enum: str, old_enum: lay.EnumLayout, new_enum: lay.EnumLayout) -> list:
    before = {v.names.canonical: n for v, n in old_enum.values}
    after = {v.names.canonical: n for v, n in new_enum.values}
    changes = []
    for member, number in before.items():
        subject = f"{enum}.{member}"
        if member not in after:
            changes.append(Change(arch, "enum-value-removed", subject, f"value {number} removed"))
        elif after[member] != number:
            changes.append(Change(arch, "enum-value-renumbered", subject, f"{number} -> {after[member]}"))
    used = set(before.values())
    for member, number in after.items():
        if member in before:
            continue
        subject = f"{enum}.{member}"
        if number in used:
            owner = next(m for m, n in before.items() if n == number)
            changes.append(Change(arch, "enum-value-reused", subject,
                                  f"new value {number}, which meant {owner} before"))
        else:
            changes.append(Change(arch, "enum-value-added", subject, f"new value {number}"))
    return changes


def _named(spec: Spec, layout: lay.Layout) -> list:
    """The structs a user names: an anonymous member's declaration is compared as part of its
    parent, whose members it holds (its generated name would shift when one is inserted)."""
    return [name for name in layout.structs if not spec.struct(name).anonymous]


def _struct(arch, name: str, old: lay.Layout, new: lay.Layout, extensible: tuple) -> list:
    """`extensible` is the (old, new) size field, or None where that version does not declare
    one. Growth is compatible only when both declare the same one: old readers must already
    have read the size. A struct embedded elsewhere shows its growth there too (the
    container's field resizes and what follows it moves)."""
    before, after = old.structs[name], new.structs[name]
    extends = extensible[0] is not None and extensible[0] == extensible[1]
    changes = _fields(arch, name, old, new, extends) + _bitfields(arch, name, old, new)
    changes = abidiff_writers.ordered(changes, abidiff_writers.changes(arch, name, old, new))
    changes += _extensible(arch, name, *extensible)
    if before.size != after.size:
        kind = "struct-shrunk" if after.size < before.size else \
            "struct-grown-extensible" if extends else "struct-grown"
        by = f" (by its field {extensible[1]})" if extends else ""
        changes.append(Change(arch, kind, name, f"size {before.size} -> {after.size} "
                              f"({after.size - before.size:+d}){by}"))
    if before.align != after.align:
        changes.append(Change(arch, "struct-realigned", name, f"alignment {before.align} -> {after.align}"))
    return changes


def _extensible(arch, name: str, before, after) -> list:
    if before == after:
        return []
    if before is None:
        return [Change(arch, "extensible-added", name, f"now carries its size in {after}")]
    if after is None:
        return [Change(arch, "extensible-removed", name, f"no longer carries its size in {before}")]
    return [Change(arch, "extensible-size-field-changed", name, f"size field {before} -> {after}")]


def _fields(arch, struct: str, old: lay.Layout, new: lay.Layout, extends: bool) -> list:
    before = old.structs[struct]
    old_fields, new_fields = _visible(old, struct), _visible(new, struct)
    removed = [s for n, s in old_fields.items() if n not in new_fields]
    added = [s for n, s in new_fields.items() if n not in old_fields]
    changes = []
    for old_slot, new_slot in _renames(removed, added):
        removed.remove(old_slot)
        added.remove(new_slot)
        same = "type" if spec_type(old_slot) == spec_type(new_slot) else f"C name {new_slot.field.names.c}"
        changes.append(Change(arch, "field-renamed", f"{struct}.{old_slot.field.names.canonical}",
                              f"renamed to {new_slot.field.names.canonical}; same offset, size and {same}"))
        changes += _field(arch, f"{struct}.{old_slot.field.names.canonical}", old_slot, new_slot)
    for slot in removed:
        changes.append(Change(arch, "field-removed", f"{struct}.{slot.field.names.canonical}",
                              f"removed (was at offset {slot.offset}, size {slot.size})"))
    for name, slot in old_fields.items():
        if name in new_fields:
            changes += _field(arch, f"{struct}.{name}", slot, new_fields[name])
    spares = _visible_spares(old.structs, struct)
    for slot in added:
        named = (slot.field.names.c, slot.offset, slot.size) in spares
        changes.append(Change(arch, "field-names-spare", f"{struct}.{slot.field.names.canonical}",
                              f"field {slot.field.names.c} at offset {slot.offset}, size {slot.size}, was declared "
                              "spare under that name") if named else _added(arch, struct, before, slot, extends))
    return changes


def _visible_spares(structs: dict, struct: str, base: int = 0) -> set:
    """(C name, offset, size) of every explicit padding and reserved member C reaches by name in
    the struct (its anonymous members' too), named as the C target declares them."""
    found, pad_index = set(), 0
    for slot in structs[struct].slots:
        if isinstance(slot, lay.FieldSlot) and slot.field.anonymous:
            found |= _visible_spares(structs, slot.struct, base + slot.offset)
        elif isinstance(slot, lay.ReservedSlot):
            found.add((reserved_name(slot), base + slot.offset, slot.size))
        elif isinstance(slot, lay.PadSlot):
            found.add((slot.padding.c_name or f"_pad{pad_index}", base + slot.offset, slot.size))
            pad_index += 1
    return found


def _visible(layout: lay.Layout, struct: str) -> dict:
    """Name -> slot for every member C reaches by name in the struct, those of anonymous members
    included, each with its offset in the struct."""
    return {slot.field.names.canonical: replace(slot, offset=offset)
            for slot, offset in visible_slots(layout.structs, struct)}


def _added(arch, struct: str, before: lay.StructLayout, slot: lay.FieldSlot, extends: bool) -> Change:
    """A new field is harmless where old code never looks: reserved space, padding, or past
    the old end of a struct that carries its size. A new union member never moves the
    others; a union that grows is judged as a resize."""
    spare = _spare_bytes(before)
    span = range(slot.offset, slot.offset + slot.size)
    reserved = {byte for s in before.slots if isinstance(s, lay.ReservedSlot)
                for byte in range(s.offset, s.offset + s.size)}
    if isinstance(before, lay.UnionLayout):
        fits = "within the union's old size" if slot.size <= before.size else "larger than the old union"
        return Change(arch, "union-member-added", f"{struct}.{slot.field.names.canonical}",
                      f"new union member, size {slot.size}, {fits}")
    if slot.offset >= before.size:
        kind, where = "field-added-tail-extensible" if extends else "field-added-tail", "past the old end of the struct"
    elif span and all(byte in reserved for byte in span):
        kind, where = "field-added-reserved", "in bytes that were reserved for it"
    elif all(byte in spare or byte >= before.size for byte in span):
        kind, where = "field-added", "in bytes that were padding"
    else:
        kind, where = "field-added-overlap", "over bytes the old layout used"
    return Change(arch, kind, f"{struct}.{slot.field.names.canonical}",
                  f"new field at offset {slot.offset}, size {slot.size}, {where}")


def _renames(removed: list, added: list) -> list:
    """(old, new) pairs of one member under two names: the same offset and size, and the same
    type or the same C name (its type is then compared as any field's is)."""
    pairs = []
    for old_slot in removed:
        twin = next((s for s in added if s.offset == old_slot.offset and s.size == old_slot.size
                     and (spec_type(s) == spec_type(old_slot) or s.field.names.c == old_slot.field.names.c)
                     and s not in [p[1] for p in pairs]), None)
        if twin is not None:
            pairs.append((old_slot, twin))
    return pairs


def _spare_bytes(struct: lay.StructLayout) -> set:
    """Bytes of a struct that carry no field: holes, tail padding and explicit padding."""
    return {byte for slot in struct.slots if not isinstance(slot, (lay.FieldSlot, lay.BitsSlot))
            for byte in range(slot.offset, slot.offset + slot.size)}


def _visible_bits(layout: lay.Layout, struct: str) -> dict:
    """Name -> BitFieldSlot for every bitfield C reaches by name in the struct, those of
    anonymous members included, each with its first bit counted from the struct's start."""
    return {field.field.names.canonical: replace(field, unit_offset=base + field.unit_offset)
            for run, base in visible_runs(layout.structs, struct) for field in run.fields}


def _bitfields(arch, struct: str, old_layout: lay.Layout, new_layout: lay.Layout) -> list:
    """Bitfields compared by name, bit by bit: one that moved, changed width or type, or
    vanished breaks; a new one is compatible where the old layout had only spare bits."""
    old, new = _visible_bits(old_layout, struct), _visible_bits(new_layout, struct)
    before = old_layout.structs[struct]
    changes = []
    for name, field in old.items():
        subject = f"{struct}.{name}"
        if name not in new:
            changes.append(Change(arch, "bitfield-removed", subject, f"removed (was bits {_bit_span(field)})"))
            continue
        other = new[name]
        if (field.first_bit, field.bits) != (other.first_bit, other.bits):
            changes.append(Change(arch, "bitfield-moved", subject,
                                  f"bits {_bit_span(field)} -> {_bit_span(other)}"))
        if field.scalar != other.scalar:
            same = (_stored_as(field.scalar), field.scalar.order) == (_stored_as(other.scalar), other.scalar.order)
            changes.append(Change(arch, "bitfield-retyped-same-bytes" if same else "bitfield-retyped", subject,
                                  f"type {field.scalar.enum or field.scalar.prim} -> "
                                  f"{other.scalar.enum or other.scalar.prim}" + ("; same representation" if same else "")))
    spare = _spare_bits(old_layout, struct)
    for name, field in new.items():
        if name in old:
            continue
        bits = range(field.first_bit, field.first_bit + field.bits)
        free = all(bit in spare or bit >= before.size * 8 for bit in bits)
        changes.append(Change(arch, "bitfield-added" if free else "bitfield-added-overlap", f"{struct}.{name}",
                              f"new bitfield at bits {_bit_span(field)}, "
                              + ("in bits that were spare" if free else "over bits the old layout used")))
    return changes


def _spare_bits(layout: lay.Layout, struct: str) -> set:
    """Bits of a struct that carry nothing: those of its spare bytes and the padding bits of its
    runs (its anonymous members' runs too)."""
    found = {byte * 8 + bit for byte in _spare_bytes(layout.structs[struct]) for bit in range(8)}
    for slot, base in visible_runs(layout.structs, struct):
        found |= {(base + slot.offset) * 8 + first + bit for first, count in slot.padding_bits for bit in range(count)}
    return found


def _bit_span(field: lay.BitFieldSlot) -> str:
    """Bits in address order; a big-endian arch counts each byte's from its top bit (as C
    allocates them there), which the text says so it is not read the little-endian way."""
    order = " (MSB-first bytes)" if field.big_endian else ""
    return f"{field.first_bit}..{field.first_bit + field.bits - 1}{order}"


def _field(arch, subject: str, old: lay.FieldSlot, new: lay.FieldSlot) -> list:
    changes = []
    if old.offset != new.offset:
        changes.append(Change(arch, "field-moved", subject,
                              f"offset {old.offset} -> {new.offset} ({new.offset - old.offset:+d})"))
    old_type, new_type = spec_type(old), spec_type(new)
    if old_type != new_type and _base(old_type) == _base(new_type) and old.size != new.size:
        changes.append(Change(arch, "field-resized", subject,
                              f"{old_type} -> {new_type}, size {old.size} -> {new.size}"))
    elif old_type != new_type:
        same = _representation(old) == _representation(new) and old.size == new.size
        changes.append(Change(arch, "field-retyped-same-bytes" if same else "field-retyped", subject,
                              f"type {old_type} -> {new_type}" + ("; same representation" if same else "")))
    elif old.size != new.size:
        changes.append(Change(arch, "field-resized", subject,
                              f"size {old.size} -> {new.size} (its type {new_type} changed size)"))
    if " ".join(old.field.doc.split()) != " ".join(new.field.doc.split()):
        changes.append(Change(arch, "doc-changed", subject, "doc changed"))
    return changes


def _base(typename: str) -> str:
    return typename.split("[", 1)[0]


def _representation(slot: lay.FieldSlot) -> tuple:
    """What the bytes are, ignoring names: an enum or a flag is its integer, a pointer a word."""
    if slot.struct is not None:
        return ("struct", slot.struct, slot.shape)
    return ("scalar", _stored_as(slot.scalar), slot.scalar.is_pointer, slot.shape, slot.scalar.order)


def _stored_as(scalar: lay.Scalar) -> str:
    """The C integer a scalar is stored as: an enum is its base, a flag (bool8, bool32) the
    unsigned integer of its width."""
    return PRIMITIVES[scalar.prim].c


def _struct_doc(arch, name: str, old_spec: Spec, new_spec: Spec) -> list:
    before, after = old_spec.struct(name).doc, new_spec.struct(name).doc
    if " ".join(before.split()) != " ".join(after.split()):
        return [Change(arch, "doc-changed", name, "doc changed")]
    return []


def _regions(arch, old: lay.Layout, new: lay.Layout) -> list:
    before = {".".join(r.path): r for r in old.regions}
    after = {".".join(r.path): r for r in new.regions}
    changes = []
    for path, region in before.items():
        if path not in after:
            changes.append(Change(arch, "region-removed", path, "region removed"))
            continue
        other = after[path]
        if (region.offset, region.size) != (other.offset, other.size):
            changes.append(Change(arch, "region-moved", path,
                                  f"bytes {region.offset}..{region.offset + region.size} -> "
                                  f"{other.offset}..{other.offset + other.size}"))
        if region.holds != other.holds:
            changes.append(Change(arch, "region-holds-changed", path, f"holds {region.holds} -> {other.holds}"))
        changes += _region_array(arch, path, region, other, old, new)
    for path in after:
        if path not in before:
            changes.append(Change(arch, "region-added", path, "new region"))
    return changes


def _region_array(arch, path: str, region: lay.RegionLayout, other: lay.RegionLayout, old: lay.Layout,
                  new: lay.Layout) -> list:
    """An array part's stride and count, and a held struct that grew while still fitting (the
    layout checks refuse one that no longer fits its part or stride)."""
    changes = []
    if region.stride != other.stride:
        changes.append(Change(arch, "region-stride-changed", path, f"stride {region.stride} -> {other.stride}"))
    if region.count != other.count:
        changes.append(Change(arch, "region-count-changed", path, f"count {region.count} -> {other.count}"))
    if region.holds and region.holds == other.holds and region.stride == other.stride:
        size, grown = old.structs[region.holds].size, new.structs[region.holds].size
        if grown > size:
            room = f"its stride {other.stride}" if other.count else f"the part's {other.size} bytes"
            changes.append(Change(arch, "region-element-grown" if other.count else "region-holds-grown", path,
                                  f"{region.holds} {size} -> {grown} bytes, within {room}"))
    return changes
