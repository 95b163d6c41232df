"""Checks of a whole resolved spec, run once every declaration is read: references between
declarations, containment and definition cycles, and the names each target will spell.

Each check adds to one list of problems rather than stopping at the first, so the user sees
all of them (up to MAX_PROBLEMS) in one run.
"""
from __future__ import annotations

from . import expr as ex
from . import naming
from . import spec_keys as keys
from .errors import Problems, SpecError
from .ir import (Array, BitField, Field, FlexArray, Padding, Region, Reserved, Spec, Struct, StructRef, UnionDecl,
                 Variant)
from .resolve_nodes import did_you_mean
from .resolve_scope import element_type

MAX_PROBLEMS = 50  # a compiler-style error limit: a badly broken spec still fails fast


def check_spec(spec: Spec) -> None:
    problems = Problems()
    for step in (_check_references, _check_struct_cycles, _check_constant_cycles, _check_names,
                 _check_flexible_nesting):
        try:
            step(spec, problems)
        except SpecError as error:
            problems.take(error)
    # A per-arch check finds the same problem once per arch; report it once.
    problems.items = list(dict.fromkeys(problems.items))
    problems.raise_if_any()


def _check_flexible_nesting(spec: Spec, problems: Problems) -> None:
    """A struct that ends in a flexible array has no fixed end: it may only be the last field
    of another struct (which then ends in it too), never an array element or a union member."""
    by_name = {s.names.canonical: s for s in spec.structs}
    for arch in spec.archs:
        variant = Variant(arch)
        flexible = _flexible_structs(spec, variant)
        for struct in spec.structs:
            present = struct.members_for(variant)
            for index, member in enumerate(present):
                if not isinstance(member, Field):
                    continue
                inner = element_type(member.type)
                if not isinstance(inner, StructRef) or inner.name not in flexible:
                    continue
                word = "union" if isinstance(by_name[inner.name], UnionDecl) else "struct"
                where = f"{'union' if isinstance(struct, UnionDecl) else 'struct'} {struct.names.canonical}"
                hint = f"{word} {inner.name} ends in a flexible array, so its size is not fixed"
                if member.type != inner:
                    problems.add(member.pos, f"field {member.names.canonical} is an array of {inner.name}, "
                                 "which ends in a flexible array", hint)
                elif isinstance(struct, UnionDecl):
                    problems.add(member.pos, f"{where} cannot hold {inner.name}, which ends in a flexible array",
                                 hint)
                elif index + 1 < len(present):
                    problems.add(member.pos, f"field {member.names.canonical} ({inner.name}, which ends in a "
                                 f"flexible array) must be the last member of {where}", hint)


def _flexible_structs(spec: Spec, variant: Variant) -> set:
    """Names of the structs that end in a flexible array on `variant`, directly or through
    a last field that is such a struct."""
    found, changed = set(), True
    while changed:
        changed = False
        for struct in spec.structs:
            present = struct.members_for(variant)
            if struct.names.canonical in found or not present or not isinstance(present[-1], Field):
                continue
            last = present[-1].type
            if isinstance(last, FlexArray) or (isinstance(last, StructRef) and last.name in found):
                found.add(struct.names.canonical)
                changed = True
    return found


def _all_exprs(spec: Spec):
    """Yield (owner description, expression) for every expression in the spec."""
    for const in spec.constants:
        values = const.value if isinstance(const.value, tuple) else ((None, const.value),)
        for _, value in values:
            yield ("constant", const.names.canonical), value
    for enum in spec.enums:
        for value in enum.values:
            yield ("enum", enum.names.canonical), value.value
    for struct in spec.structs:
        for member in struct.members:
            if isinstance(member, (Padding, Reserved)):
                yield ("struct", struct.names.canonical), member.size
            elif isinstance(member, BitField):
                yield ("struct", struct.names.canonical), member.bits
            else:
                for length in _array_lengths(member.type):
                    yield ("struct", struct.names.canonical), length
    for region in spec.regions:
        for part in _walk_regions(region):
            yield ("region", region.names.canonical), part.offset
            yield ("region", region.names.canonical), part.size
            for expr in (part.count, part.stride):
                if expr is not None:
                    yield ("region", region.names.canonical), expr
    if spec.cacheline_size is not None:
        yield ("spec", "cacheline_size"), spec.cacheline_size
    for assertion in spec.asserts:
        yield ("assert", ""), assertion.expr


def _walk_regions(region: Region):
    yield region
    for part in region.parts:
        yield from _walk_regions(part)


def _array_lengths(ref):
    while isinstance(ref, (Array, FlexArray)):
        if isinstance(ref, Array):
            yield ref.length
        ref = ref.element


def _check_references(spec: Spec, problems: Problems) -> None:
    constants = {c.names.canonical for c in spec.constants} | {p.name for p in spec.params}
    structs = {s.names.canonical: s for s in spec.structs}
    for _, value in _all_exprs(spec):
        for ref in ex.references(value):
            stop_early(problems)  # each suggestion scans every name, so many of them would be slow
            if isinstance(ref, ex.Ref) and ref.name not in constants:
                what = "constant or parameter" if spec.params else "constant"
                problems.add(ref.pos, f"unknown {what} '{ref.name}'", did_you_mean(ref.name, constants))
            elif isinstance(ref, (ex.SizeOf, ex.OffsetOf)) and ref.struct not in structs:
                problems.add(ref.pos, f"unknown struct '{ref.struct}'", did_you_mean(ref.struct, structs))
            elif isinstance(ref, ex.OffsetOf):
                _check_field_path(spec, ref, problems)


def stop_early(problems: Problems) -> None:
    if len(problems.items) >= MAX_PROBLEMS:
        last = max(problems.items, key=lambda p: (p.pos.line, p.pos.col))
        problems.add(last.pos, f"stopped after {len(problems.items)} problems; there may be more")
        problems.raise_if_any()


def _check_field_path(spec: Spec, ref: ex.OffsetOf, problems: Problems) -> None:
    struct = spec.struct(ref.struct)
    for depth, name in enumerate(ref.field):
        fields = {m.names.canonical: m for m in spec.visible_members(struct) if isinstance(m, Field)}
        if name not in fields and _is_bitfield(struct, name):
            problems.add(ref.pos, f"'{name}' is a bitfield of struct {struct.names.canonical}, and offsetof "
                         "cannot name a bitfield", "the offsets header gives its unit's offset and bit position")
            return
        if name not in fields:
            problems.add(ref.pos, f"struct {struct.names.canonical} has no field '{name}'", did_you_mean(name, fields))
            return
        element = element_type(fields[name].type)
        if depth + 1 < len(ref.field):
            if not isinstance(element, StructRef) or isinstance(fields[name].type, (Array, FlexArray)):
                problems.add(ref.pos, f"field '{name}' is not a struct, so it has no fields")
                return
            struct = spec.struct(element.name)


def _is_bitfield(struct: Struct, name: str) -> bool:
    return any(isinstance(m, BitField) and m.names is not None and m.names.canonical == name for m in struct.members)


def _check_struct_cycles(spec: Spec, problems: Problems) -> None:
    """A struct may not contain itself by value; pointers are fine."""
    contains = {
        s.names.canonical: [(m, element_type(m.type).name) for m in s.members
                            if isinstance(m, Field) and isinstance(element_type(m.type), StructRef)]
        for s in spec.structs
    }
    _find_cycles(contains, lambda member: member.pos, "struct contains itself by value",
                 "use a pointer, ptr(Name), to refer back", problems)


def _check_constant_cycles(spec: Spec, problems: Problems) -> None:
    """Constants may refer to constants and to struct sizes; struct sizes refer to constants."""
    graph = {}
    for (kind, owner), value in _all_exprs(spec):
        if kind not in ("constant", "struct"):
            continue
        node = f"{kind}:{owner}"
        for ref in ex.references(value):
            target = f"constant:{ref.name}" if isinstance(ref, ex.Ref) else f"struct:{ref.struct}"
            graph.setdefault(node, []).append((ref, target))
    for struct in spec.structs:
        node = f"struct:{struct.names.canonical}"
        for member in struct.members:
            if isinstance(member, Field) and isinstance(element_type(member.type), StructRef):
                graph.setdefault(node, []).append((member, f"struct:{element_type(member.type).name}"))
    _find_cycles(graph, lambda ref: ref.pos, "definition depends on itself",
                 "break the cycle of constants and sizes", problems, only_prefix="constant:")


_MAX_WALK = 400  # keeps this recursive walk well inside Python's stack


def _find_cycles(graph: dict, pos_of, message: str, hint: str, problems: Problems, only_prefix: str = "") -> None:
    state = {}

    def visit(node, trail):
        if len(trail) > _MAX_WALK:
            return  # the layout engine reports chains this long, with a clearer message
        state[node] = "active"
        for edge, target in graph.get(node, ()):
            if state.get(target) == "active":
                cycle = trail[trail.index(target):] + [target] if target in trail else [node, target]
                if not only_prefix or any(n.startswith(only_prefix) for n in cycle):
                    names = " -> ".join(n.split(":", 1)[-1] for n in cycle)
                    problems.add(pos_of(edge), f"{message}: {names}", hint)
            elif target not in state:
                visit(target, trail + [target])
        state[node] = "done"

    for node in list(graph):
        if node not in state:
            visit(node, [node])


def _check_names(spec: Spec, problems: Problems) -> None:
    """Every target spelling must be legal there and unique in its scope."""
    top_level = []
    for kind, items in (("constant", spec.constants), ("enum", spec.enums), ("struct", spec.structs)):
        for item in items:
            top_level.append((item.names, item.pos, "union" if isinstance(item, UnionDecl) else kind))
    for enum in spec.enums:
        for value in enum.values:
            top_level.append((value.names, value.pos, "enum value"))
    _unique(top_level, problems, skip_python={"enum value"})
    _check_generated_names(top_level, problems)
    for struct in spec.structs:
        if struct.anonymous:
            continue  # its members are checked with its parent's, which C reaches them as
        for arch in spec.archs:
            fields = [(m.names, m.pos, "field") for m in spec.visible_members(struct)
                      if isinstance(m, (Field, BitField)) and m.names is not None
                      and (m.archs is None or arch in m.archs)]
            if not _anonymous_clash(struct, fields, problems):
                _unique(fields, problems, external=struct.external is not None)
                _check_view_attributes(fields, problems)
    for enum in spec.enums:
        _unique([(v.names, v.pos, "enum value") for v in enum.values], problems, only=("python",))


def _check_generated_names(top_level: list, problems: Problems) -> None:
    """A top-level name may not be one the generated code defines in the same scope (a runtime
    class, an import, a helper, a standard macro), nor a struct's Python view class."""
    for target in keys.TARGETS:
        for names, pos, kind in top_level:
            spelled = names.for_target(target)
            if (target == "python" and kind == "enum value") or spelled in naming.RESERVED[target]:
                continue  # enum members live in their class; reserved words are reported by _unique
            what = naming.generated_clash(target, spelled)
            if what:
                problems.add(pos, f"{kind} name '{spelled}' clashes with a name {what}",
                             f"rename it, or give it a {target}: spelling")
    classes = {names.python + suffix: (kind_of, names.canonical) for names, _, kind in top_level
               if kind in ("struct", "union") for suffix, kind_of in (("View", "view"), ("Value", "value"))}
    for names, pos, kind in top_level:
        if kind != "enum value" and names.python in classes:
            problems.add(pos, f"{kind} name '{names.python}' clashes with the {classes[names.python][0]} class the "
                         f"generated Python module defines for {classes[names.python][1]}",
                         "rename it, or give it a python: spelling")


def _check_view_attributes(fields: list, problems: Problems) -> None:
    for names, pos, kind in fields:
        if names.python in naming.PYTHON_VIEW_ATTRIBUTES:
            problems.add(pos, f"{kind} name '{names.python}' clashes with an attribute every generated Python view "
                         "has", "rename it, or give it a python: spelling")


def _anonymous_clash(struct: Struct, fields: list, problems: Problems) -> bool:
    """A member of an anonymous struct or union named like another member of the parent:
    C would reach both as `parent.name` and refuses the declaration."""
    own = {id(m.names) for m in struct.members if isinstance(m, (Field, BitField)) and m.names is not None}
    seen, clashed = {}, False
    for names, pos, _ in fields:
        other = seen.get(names.canonical)
        if other is not None and other[0] != pos and not (id(names) in own and other[1]):
            problems.add(pos, f"field '{names.canonical}' is also a member of an anonymous struct or union of "
                         f"{struct.names.canonical}; C reaches both as {struct.names.canonical}.{names.canonical}",
                         "rename one of them")
            clashed = True
        seen.setdefault(names.canonical, (pos, id(names) in own))
    return clashed


def _unique(entries: list, problems: Problems, skip_python=frozenset(), external=False, only=keys.TARGETS) -> None:
    for target in only:
        seen = {}
        for names, pos, kind in entries:
            if target == "python" and kind in skip_python:
                continue
            spelled = names.for_target(target)
            if not (external and target == "c") and not (target == "go" and spelled == "_"):
                if spelled in naming.RESERVED[target]:
                    problems.add(pos, f"{kind} name '{spelled}' is reserved in {_LANG[target]}",
                                 f"rename it, or add `{target}: other_name` for {_LANG[target]} only")
                    continue
            key = spelled
            if key in seen and seen[key][0] != pos:
                problems.add(pos, f"{kind} '{names.canonical}' and '{seen[key][1]}' are both spelled "
                             f"'{spelled}' in {_LANG[target]}", f"add `{target}: other_name` to one of them")
            seen.setdefault(key, (pos, names.canonical))


_LANG = {"c": "C", "go": "Go", "python": "Python"}
