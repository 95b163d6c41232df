"""Fold one declaration per arch into one spec declaration.

Equal on every arch: one field list (layout differences alone need nothing, the engine computes
them). Members present on some arches only: those members say `arch:`. Anything else (a member
whose type differs, a different order): per-arch `variants`, one per group of equal arches.
"""
from __future__ import annotations

import difflib
import json


def _key(item) -> str:
    return json.dumps(item, sort_keys=True)


def body(fields_by_arch: dict, archs: tuple) -> dict:
    """{"fields": [...]} or {"variants": [...]} for the arches that declare the type."""
    present = [a for a in archs if a in fields_by_arch]
    lists = [fields_by_arch[a] for a in present]
    if all(_key(lst) == _key(lists[0]) for lst in lists):
        return {"fields": lists[0]}
    if len(present) == 2:
        merged = _arch_only(present, lists)
        if merged is not None:
            return {"fields": merged}
    return {"variants": _variants(present, fields_by_arch)}


def _arch_only(archs: list, lists: list):
    """One list where each member of one arch only carries `arch: [that arch]`; None when a
    name would then appear twice (the same member with another type per arch)."""
    first, second = lists
    matcher = difflib.SequenceMatcher(a=[_key(x) for x in first], b=[_key(x) for x in second], autojunk=False)
    merged = []
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        if op == "equal":
            merged += first[a0:a1]
            continue
        merged += [{**item, "arch": [archs[0]]} for item in first[a0:a1]]
        merged += [{**item, "arch": [archs[1]]} for item in second[b0:b1]]
    names = [n for item in merged for n in _names(item)]
    return merged if len(names) == len(set(names)) else None


def _names(item) -> list:
    for kind in ("struct", "union"):
        if kind in item:
            return [n for inner in item[kind] for n in _names(inner)]
    return [item["name"]] if "name" in item else []


def _variants(archs: list, fields_by_arch: dict) -> list:
    groups = {}
    for arch in archs:
        groups.setdefault(_key(fields_by_arch[arch]), []).append(arch)
    return [{"arch": group, "fields": fields_by_arch[group[0]]} for group in groups.values()]


def per_arch_value(values: dict, archs: tuple):
    """A value that is the same on every arch as itself, else an arch -> value map."""
    present = [values[a] for a in archs if a in values]
    if all(v == present[0] for v in present):  # an arch left out is said by `arch:`, not here
        return present[0]
    return {a: values[a] for a in archs if a in values}


def arch_subset(present, archs: tuple):
    """`arch:` for a declaration present on some arches only; None when on all."""
    chosen = [a for a in archs if a in present]
    return None if len(chosen) == len(archs) else chosen
