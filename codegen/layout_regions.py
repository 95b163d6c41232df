"""Regions: named spans of a bounded memory area, their parts and their array parts.

Placed once per combination after the structs, since a region may hold a struct (which must
fit) and its offsets and sizes may use any constant. Parts of a region must lie inside it and
apart from each other; an array part repeats its struct every `stride` bytes, checked in O(1)
whatever its count.
"""
from __future__ import annotations

import bisect
from typing import Callable

from . import limits
from .errors import fail
from .ir import Region
from .layout_types import RegionLayout


class Regions:
    """Places regions on one combination: `evaluate` computes an expression there, `struct_for`
    lays out a struct a region holds (refusing one that does not exist there), `on` names the
    combination in messages."""

    def __init__(self, evaluate: Callable, struct_for: Callable, on: str):
        self.evaluate, self.struct_for, self.on = evaluate, struct_for, on

    def place(self, region: Region, parent_path: tuple, base: int, parent) -> list:
        """The region and its parts, depth first, as RegionLayouts at absolute offsets from the
        top region (`base` is where this region's parent starts; `parent` its (offset, size))."""
        offset, size = self.evaluate(region.offset), self.evaluate(region.size)
        path = parent_path + (region.names.canonical,)
        label = ".".join(path)
        if size <= 0:
            raise fail(region.pos, f"region {label} has size {size}; it must be positive")
        if offset < 0:
            raise fail(region.pos, f"region {label} starts at a negative offset ({offset})")
        if parent is not None and offset + size > parent[1]:
            raise fail(region.pos, f"region {label} ends at {offset + size}, past the end of "
                       f"{'.'.join(parent_path)} ({parent[1]} bytes)")
        if region.holds is not None:
            held = self.struct_for(region.holds, region.pos)
            if held.size > size:
                raise fail(region.pos, f"struct {region.holds} ({held.size} bytes on {self.on}) "
                           f"does not fit in region {label} ({size} bytes)")
        count, stride = self.array(region, label, base + offset, size)
        laid = [RegionLayout(path, base + offset, size, region.holds, region, count, stride)]
        spans = []  # (start, end, path) of the parts so far: disjoint, so sorted by start and end alike
        for part in region.parts:
            children = self.place(part, path, base + offset, (offset, size))
            mine = children[0]
            start, end = mine.offset, mine.offset + mine.size
            # Only the last span starting before `end` can reach past `start`: a full check in log n.
            at = bisect.bisect_left(spans, (end,))
            if at and spans[at - 1][1] > start:
                other_start, other_end, other = spans[at - 1]
                raise fail(part.pos, f"region {'.'.join(mine.path)} overlaps {'.'.join(other)} "
                           f"(bytes {max(start, other_start) - base - offset} to "
                           f"{min(end, other_end) - base - offset} of {label})")
            bisect.insort(spans, (start, end, mine.path))
            laid.extend(children)
        return laid

    def array(self, region: Region, label: str, start: int, size: int) -> tuple:
        """(count, stride) of an array part after its checks, O(1) whatever the count: each
        element fits its stride, the stride and the array's start (from the top region) keep
        the element's alignment, and all of them fit the part."""
        if region.count is None:
            return None, None
        count, stride = self.evaluate(region.count), self.evaluate(region.stride)
        on = self.on
        if count < 1:
            raise fail(region.count.pos, f"region {label} has count {count} on {on}; it must be at least 1")
        limits.region_count(count, region.count.pos, label)
        held = self.struct_for(region.holds, region.pos)
        if stride < held.size:
            raise fail(region.stride.pos, f"region {label}: stride {stride} is less than the size of "
                       f"{region.holds} ({held.size} bytes on {on})", "each element must fit its stride")
        if stride % held.align:
            raise fail(region.stride.pos, f"region {label}: stride {stride} is not a multiple of the alignment of "
                       f"{region.holds} ({held.align} on {on})", "every element after the first would be misaligned")
        if start % held.align:
            raise fail(region.offset.pos, f"region {label} starts at {start} in its top region, not a multiple of the "
                       f"alignment of {region.holds} ({held.align} on {on})")
        if count * stride > size:
            raise fail(region.count.pos, f"region {label}: {count} elements every {stride} bytes take "
                       f"{count * stride} bytes; the part has {size} on {on}")
        return count, stride
