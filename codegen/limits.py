"""What a spec may cost: each limit bounds work (time, memory or output text), not bytes.

A spec is untrusted input, and its cost is not its size: a 1 KB spec with a few
parameters once meant half a million layouts. Each limit is checked where the work it
bounds would start, and names itself and the place that reached it. The others live
next to the work they guard: nesting (load.MAX_DEPTH, layout_engine.MAX_NESTING), leaves
per struct and object size (layout_engine.MAX_LEAVES, layout_engine.MAX_OBJECT_SIZE),
expression length and depth (expr), name lengths (grammar), the file itself
(load.MAX_SPEC_BYTES).
"""
from __future__ import annotations

from .errors import Pos, fail

# Every (arch, parameter values) combination is laid out, checked and written out.
MAX_COMBINATIONS = 64
# Leaf fields summed over every combination: about a kilobyte of memory each while generating.
MAX_SPEC_LEAVES = 1 << 19
# Parts of one region (the overlap check compares each with its neighbours).
MAX_REGION_PARTS = 1024
# Elements of one array region part. The checks are O(1) per part, and no output repeats per
# element; the bound keeps count * stride and the C asserts that multiply them small.
MAX_REGION_COUNT = 1 << 24
# Values of one enum: each is a C enumerator, C asserts, a Go constant and a Python member.
MAX_ENUM_VALUES = 8192


def combinations(archs: tuple, params: tuple) -> None:
    """Refuse, at the parameter that crosses it, more than MAX_COMBINATIONS combinations."""
    count = len(archs)
    for param in params:
        count *= len(param.values)
        if count > MAX_COMBINATIONS:
            raise fail(param.pos, f"parameter {param.name} makes {count} or more combinations of arch and "
                       f"parameter values; the limit is {MAX_COMBINATIONS}",
                       "each combination is laid out and generated; use fewer values or parameters")


def region_parts(count: int, pos: Pos, name: str) -> None:
    if count > MAX_REGION_PARTS:
        raise fail(pos, f"region {name} has {count} parts; the limit is {MAX_REGION_PARTS}",
                   "group them into nested regions")


def region_count(count: int, pos: Pos, label: str) -> None:
    if count > MAX_REGION_COUNT:
        raise fail(pos, f"region {label} has count {count}; the limit is {MAX_REGION_COUNT}",
                   "describe the memory as a plain region, or as several arrays")


def enum_values(count: int, pos: Pos, name: str) -> None:
    if count > MAX_ENUM_VALUES:
        raise fail(pos, f"enum {name} has {count} values; the limit is {MAX_ENUM_VALUES}",
                   "split it into several enums")


def leaf_budget(combination_count: int) -> int:
    """One combination's share of MAX_SPEC_LEAVES, so that the sum over all stays within it."""
    return MAX_SPEC_LEAVES // max(1, combination_count)


def spec_leaves(total: int, budget: int, pos: Pos, struct: str, where: str, combination_count: int) -> None:
    if total > budget:
        share = f" ({MAX_SPEC_LEAVES} over its {combination_count} combinations)" if combination_count > 1 else ""
        raise fail(pos, f"struct {struct} brings the spec past {budget} leaf fields on {where}{share}, "
                   f"the limit of the whole spec", "use byte arrays, e.g. u8[N], for big tables")
