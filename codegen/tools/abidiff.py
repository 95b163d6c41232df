"""`layoutgen abi-diff OLD NEW`: what changed in the binary layout between two versions of a
spec, per arch, and whether each change breaks the other side of the shared memory.

A change is breaking when code built against the old layout would misread or
overwrite memory laid out by the new one (or the reverse): a field that moved, changed
size or representation, or vanished; a struct whose size changed where it sits inside
another struct, an array or a region; an enum value renumbered or removed; a constant
changed; a region moved. It is compatible when old code keeps working: a new struct,
enum or constant, a new enum value with an unused number, a field added where the old
layout had only padding, a renamed field with the same bytes, a doc change.

With spec parameters, every combination the two specs share (same arch and parameter
values; a parameter only one spec declares stands at its default in the other) is compared
on its own and its changes name it. A combination only the old spec has is breaking, one
only the new spec has compatible; a changed default is breaking, since code built without
choosing a value gets another layout.

Either side may be a file or `git:REV:PATH` (read with `git show`).
"""
from __future__ import annotations

import json
import subprocess
from dataclasses import asdict, dataclass, replace

from .. import layout as lay
from .. import load, resolve
from ..ir import Spec, Variant
from .common import ToolError, describe, spec_type


@dataclass(frozen=True)
class Change:
    arch: str  # "" for a change that concerns the spec as a whole
    kind: str  # e.g. field-moved, enum-value-added
    subject: str  # e.g. ThreadContext.tls
    breaking: bool
    detail: str
    combination: str = ""  # `Variant.key` of the combination, for a spec with parameters
    params: tuple = ()  # its (name, value) pairs

    @property
    def where(self) -> str:
        """The heading the text format groups the change under."""
        if not self.arch:
            return "whole spec"
        return describe(Variant(self.arch, self.params)) if self.params else self.arch

    def as_dict(self) -> dict:
        """The JSON form; `combination` and `params` only for a combination of a spec with parameters."""
        item = asdict(self)
        if not self.params:
            del item["combination"], item["params"]
        else:
            item["params"] = dict(self.params)
        return item

    @property
    def line(self) -> str:
        return f"{'BREAKING  ' if self.breaking else 'compatible'}  {self.kind:<21} {self.subject}: {self.detail}"


# ---- loading ---------------------------------------------------------------


def load_version(where: str, cwd=None) -> tuple:
    """(label, Spec, {arch: Layout}) for a file path or `git:REV:PATH`."""
    if where.startswith("git:"):
        text = _git_show(where, cwd)
    else:
        text = load.read_text(where)
    root = load.load_text(text, where)
    spec = resolve.resolve(root, where, text.encode("utf-8"))
    return where, spec, lay.layout_combinations(spec)


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
            changes.append(Change(arch, "arch-removed", arch, True, "the new spec no longer covers this arch"))
    changes += _defaults(old_spec, new_spec)
    pairs = _pairs(old_spec, new_spec)
    for arch in new_spec.archs:
        if arch not in old_spec.archs:
            changes.append(Change(arch, "arch-added", arch, False, "the new spec adds this arch"))
            continue
        for before, after in pairs:
            named = after if after is not None and after.params else before
            if named.arch != arch:
                continue
            if before is None:
                found = [Change(arch, "combination-added", after.key, False, _missing(after, old_spec, "old"))]
            elif after is None:
                found = [Change(arch, "combination-removed", before.key, True, _missing(before, new_spec, "new"))]
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
            changes.append(Change("", "param-default-changed", param.name, True,
                                  f"default {before.default} -> {param.default}; code built without "
                                  f"choosing {param.name} gets the {param.default} layout"))
    return changes


def _compare_arch(arch, old_spec: Spec, old: lay.Layout, new_spec: Spec, new: lay.Layout) -> list:
    changes = []
    changes += _constants(arch, old, new)
    changes += _enums(arch, old, new)
    embedded = _embedded(old) | _embedded(new)
    for name in _named(old_spec, old):
        if name not in new.structs:
            changes.append(Change(arch, "struct-removed", name, True, "struct removed"))
    for name in _named(new_spec, new):
        if name not in old.structs:
            changes.append(Change(arch, "struct-added", name, False, f"new struct ({new.structs[name].size} bytes)"))
        else:
            changes += _struct(arch, name, old, new, name in embedded)
            changes += _struct_doc(arch, name, old_spec, new_spec)
    changes += _regions(arch, old, new)
    return changes


def _constants(arch, old: lay.Layout, new: lay.Layout) -> list:
    changes = []
    for name, value in old.constants.items():
        if name not in new.constants:
            changes.append(Change(arch, "constant-removed", name, True, f"constant removed (was {value})"))
        elif new.constants[name] != value:
            changes.append(Change(arch, "constant-changed", name, True, f"{value} -> {new.constants[name]}"))
    for name, value in new.constants.items():
        if name not in old.constants:
            changes.append(Change(arch, "constant-added", name, False, f"new constant = {value}"))
    return changes


def _enums(arch, old: lay.Layout, new: lay.Layout) -> list:
    changes = []
    for name, old_enum in old.enums.items():
        if name not in new.enums:
            changes.append(Change(arch, "enum-removed", name, True, "enum removed"))
            continue
        new_enum = new.enums[name]
        if old_enum.enum.base != new_enum.enum.base:
            changes.append(Change(arch, "enum-retyped", name, True,
                                  f"stored as {old_enum.enum.base.name} -> {new_enum.enum.base.name}"))
        changes += _enum_values(arch, name, old_enum, new_enum)
    for name in new.enums:
        if name not in old.enums:
            changes.append(Change(arch, "enum-added", name, False, "new enum"))
    return changes


def _enum_values(arch, enum: str, old_enum: lay.EnumLayout, new_enum: lay.EnumLayout) -> list:
    before = {v.names.canonical: n for v, n in old_enum.values}
    after = {v.names.canonical: n for v, n in new_enum.values}
    changes = []
    for member, number in before.items():
        subject = f"{enum}.{member}"
        if member not in after:
            changes.append(Change(arch, "enum-value-removed", subject, True, f"value {number} removed"))
        elif after[member] != number:
            changes.append(Change(arch, "enum-value-renumbered", subject, True, f"{number} -> {after[member]}"))
    used = set(before.values())
    for member, number in after.items():
        if member in before:
            continue
        subject = f"{enum}.{member}"
        if number in used:
            owner = next(m for m, n in before.items() if n == number)
            changes.append(Change(arch, "enum-value-reused", subject, True,
                                  f"new value {number}, which meant {owner} before"))
        else:
            changes.append(Change(arch, "enum-value-added", subject, False, f"new value {number}"))
    return changes


def _named(spec: Spec, layout: lay.Layout) -> list:
    """The structs a user names: an anonymous member's declaration is compared as part of its
    parent, whose members it holds (its generated name would shift when one is inserted)."""
    return [name for name in layout.structs if not spec.struct(name).anonymous]


def _embedded(layout: lay.Layout) -> set:
    """Structs whose size other memory depends on: embedded, in an array, or held by a region."""
    found = {slot.struct for s in layout.structs.values() for slot in s.fields if slot.struct is not None}
    return found | {r.holds for r in layout.regions if r.holds}


def _struct(arch, name: str, old: lay.Layout, new: lay.Layout, embedded: bool) -> list:
    before, after = old.structs[name], new.structs[name]
    changes = _fields(arch, name, old, new) + _bitfields(arch, name, old, new)
    if before.size != after.size:
        where = "it is embedded, in an array or held by a region" if embedded else "nothing embeds it"
        changes.append(Change(arch, "struct-resized", name, embedded,
                              f"size {before.size} -> {after.size} ({after.size - before.size:+d}); {where}"))
    if before.align != after.align:
        changes.append(Change(arch, "struct-realigned", name, embedded, f"alignment {before.align} -> {after.align}"))
    return changes


def _fields(arch, struct: str, old: lay.Layout, new: lay.Layout) -> list:
    before = old.structs[struct]
    old_fields, new_fields = _visible(old, struct), _visible(new, struct)
    removed = [s for n, s in old_fields.items() if n not in new_fields]
    added = [s for n, s in new_fields.items() if n not in old_fields]
    changes = []
    for old_slot, new_slot in _renames(removed, added):
        removed.remove(old_slot)
        added.remove(new_slot)
        changes.append(Change(arch, "field-renamed", f"{struct}.{old_slot.field.names.canonical}", False,
                              f"renamed to {new_slot.field.names.canonical}; same offset, size and type"))
    for slot in removed:
        changes.append(Change(arch, "field-removed", f"{struct}.{slot.field.names.canonical}", True,
                              f"removed (was at offset {slot.offset}, size {slot.size})"))
    for name, slot in old_fields.items():
        if name in new_fields:
            changes += _field(arch, f"{struct}.{name}", slot, new_fields[name])
    for slot in added:
        changes.append(_added(arch, struct, before, slot))
    return changes


def _visible(layout: lay.Layout, struct: str) -> dict:
    """Name -> slot for every member C reaches by name in the struct, those of anonymous members
    included, each with its offset in the struct."""
    return {slot.field.names.canonical: replace(slot, offset=offset)
            for slot, offset in lay.visible_slots(layout.structs, struct)}


def _added(arch, struct: str, before: lay.StructLayout, slot: lay.FieldSlot) -> Change:
    """A new field is harmless where the old layout had no field: reserved space, padding, or
    past its end (the size change that comes with the latter is judged on its own). A new
    union member never moves the others; a union that grows is judged as a resize."""
    spare = _spare_bytes(before)
    span = range(slot.offset, slot.offset + slot.size)
    reserved = {byte for s in before.slots if isinstance(s, lay.ReservedSlot)
                for byte in range(s.offset, s.offset + s.size)}
    if isinstance(before, lay.UnionLayout):
        fits = "within the union's old size" if slot.size <= before.size else "larger than the old union"
        return Change(arch, "field-added", f"{struct}.{slot.field.names.canonical}", False,
                      f"new union member, size {slot.size}, {fits}")
    if slot.offset >= before.size:
        where, breaking = "past the old end of the struct", False
    elif span and all(byte in reserved for byte in span):
        where, breaking = "in bytes that were reserved for it", False
    elif all(byte in spare or byte >= before.size for byte in span):
        where, breaking = "in bytes that were padding", False
    else:
        where, breaking = "over bytes the old layout used", True
    return Change(arch, "field-added", f"{struct}.{slot.field.names.canonical}", breaking,
                  f"new field at offset {slot.offset}, size {slot.size}, {where}")


def _renames(removed: list, added: list) -> list:
    pairs = []
    for old_slot in removed:
        twin = next((s for s in added if s.offset == old_slot.offset and s.size == old_slot.size
                     and spec_type(s) == spec_type(old_slot) and s not in [p[1] for p in pairs]), None)
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
            for run, base in lay.visible_runs(layout.structs, struct) for field in run.fields}


def _bitfields(arch, struct: str, old_layout: lay.Layout, new_layout: lay.Layout) -> list:
    """Bitfields compared by name, bit by bit: one that moved, changed width or type, or
    vanished breaks; a new one is compatible where the old layout had only spare bits."""
    old, new = _visible_bits(old_layout, struct), _visible_bits(new_layout, struct)
    before = old_layout.structs[struct]
    changes = []
    for name, field in old.items():
        subject = f"{struct}.{name}"
        if name not in new:
            changes.append(Change(arch, "bitfield-removed", subject, True, f"removed (was bits {_bit_span(field)})"))
            continue
        other = new[name]
        if (field.first_bit, field.bits) != (other.first_bit, other.bits):
            changes.append(Change(arch, "bitfield-moved", subject, True,
                                  f"bits {_bit_span(field)} -> {_bit_span(other)}"))
        if field.scalar != other.scalar:
            same = field.scalar.prim == other.scalar.prim
            changes.append(Change(arch, "bitfield-retyped", subject, not same,
                                  f"type {field.scalar.enum or field.scalar.prim} -> "
                                  f"{other.scalar.enum or other.scalar.prim}" + ("; same representation" if same else "")))
    spare = _spare_bits(old_layout, struct)
    for name, field in new.items():
        if name in old:
            continue
        bits = range(field.first_bit, field.first_bit + field.bits)
        free = all(bit in spare or bit >= before.size * 8 for bit in bits)
        changes.append(Change(arch, "bitfield-added", f"{struct}.{name}", not free,
                              f"new bitfield at bits {_bit_span(field)}, "
                              + ("in bits that were spare" if free else "over bits the old layout used")))
    return changes


def _spare_bits(layout: lay.Layout, struct: str) -> set:
    """Bits of a struct that carry nothing: those of its spare bytes and the padding bits of its
    runs (its anonymous members' runs too)."""
    found = {byte * 8 + bit for byte in _spare_bytes(layout.structs[struct]) for bit in range(8)}
    for slot, base in lay.visible_runs(layout.structs, struct):
        found |= {(base + slot.offset) * 8 + first + bit for first, count in slot.padding_bits for bit in range(count)}
    return found


def _bit_span(field: lay.BitFieldSlot) -> str:
    return f"{field.first_bit}..{field.first_bit + field.bits - 1}"


def _field(arch, subject: str, old: lay.FieldSlot, new: lay.FieldSlot) -> list:
    changes = []
    if old.offset != new.offset:
        changes.append(Change(arch, "field-moved", subject, True,
                              f"offset {old.offset} -> {new.offset} ({new.offset - old.offset:+d})"))
    old_type, new_type = spec_type(old), spec_type(new)
    if old_type != new_type and _base(old_type) == _base(new_type):
        changes.append(Change(arch, "field-resized", subject, True,
                              f"{old_type} -> {new_type}, size {old.size} -> {new.size}"))
    elif old_type != new_type:
        same = _representation(old) == _representation(new) and old.size == new.size
        changes.append(Change(arch, "field-retyped", subject, not same,
                              f"type {old_type} -> {new_type}" + ("; same representation" if same else "")))
    elif old.size != new.size:
        changes.append(Change(arch, "field-resized", subject, True,
                              f"size {old.size} -> {new.size} (its type {new_type} changed size)"))
    if " ".join(old.field.doc.split()) != " ".join(new.field.doc.split()):
        changes.append(Change(arch, "doc-changed", subject, False, "doc changed"))
    return changes


def _base(typename: str) -> str:
    return typename.split("[", 1)[0]


def _representation(slot: lay.FieldSlot) -> tuple:
    """What the bytes are, ignoring names: an enum is its base integer, a pointer a word."""
    if slot.struct is not None:
        return ("struct", slot.struct, slot.shape)
    return ("scalar", slot.scalar.prim, slot.scalar.is_pointer, slot.shape, slot.scalar.order)


def _struct_doc(arch, name: str, old_spec: Spec, new_spec: Spec) -> list:
    before, after = old_spec.struct(name).doc, new_spec.struct(name).doc
    if " ".join(before.split()) != " ".join(after.split()):
        return [Change(arch, "doc-changed", name, False, "doc changed")]
    return []


def _regions(arch, old: lay.Layout, new: lay.Layout) -> list:
    before = {".".join(r.path): r for r in old.regions}
    after = {".".join(r.path): r for r in new.regions}
    changes = []
    for path, region in before.items():
        if path not in after:
            changes.append(Change(arch, "region-removed", path, True, "region removed"))
            continue
        other = after[path]
        if (region.offset, region.size) != (other.offset, other.size):
            changes.append(Change(arch, "region-moved", path, True,
                                  f"bytes {region.offset}..{region.offset + region.size} -> "
                                  f"{other.offset}..{other.offset + other.size}"))
        if region.holds != other.holds:
            changes.append(Change(arch, "region-holds-changed", path, True, f"holds {region.holds} -> {other.holds}"))
    for path in after:
        if path not in before:
            changes.append(Change(arch, "region-added", path, False, "new region"))
    return changes


# ---- output ----------------------------------------------------------------


def render_text(old_label: str, new_label: str, changes: list) -> str:
    lines = [f"abi-diff {old_label} -> {new_label}"]
    groups = []
    for change in changes:
        if change.where not in groups:
            groups.append(change.where)
    for where in groups:
        lines.append(f"{where}:")
        lines += [f"  {c.line}" for c in changes if c.where == where]
    lines.append(_verdict(changes))
    return "\n".join(lines) + "\n"


def render_json(old_label: str, new_label: str, changes: list) -> str:
    document = {"old": old_label, "new": new_label, "breaking": any(c.breaking for c in changes),
                "changes": [c.as_dict() for c in changes]}
    return json.dumps(document, indent=2) + "\n"


def _verdict(changes: list) -> str:
    broken = sum(1 for c in changes if c.breaking)
    if not changes:
        return "no layout changes"
    outcome = "BREAKING" if broken else "compatible"
    return f"{broken} breaking and {len(changes) - broken} compatible change(s): {outcome}"

