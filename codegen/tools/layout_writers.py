"""Who writes each cache line, for `layoutgen layout` on a spec with `sides:`.

pahole marks where each cache line begins; the report adds, under each marker (and under the
struct's opening for line 0), the writers of the lines up to the next marker, and a warning
where one line holds fields of different writer sets: each write by one side makes the other
side's cache drop that line (false sharing). A spec without sides gets none of these lines, so
its report stays pahole's text exactly.
"""
from __future__ import annotations

from .. import cachelines
from .. import escape as esc


def marker_lines(members, cacheline: int) -> list:
    """The line indexes at which the report prints a marker (0 for the opening), as `_body` does."""
    starts, current = [0], 0
    for member in members:
        boundary = member.offset // cacheline
        if boundary > current:
            starts.append(boundary)
            current = boundary
    return starts


def notes(spec, struct, members, cacheline: int) -> dict:
    """Line index of a marker -> the comment lines that follow it, for the lines it starts."""
    if not cachelines.has_writers(spec) or cacheline is None:
        return {}
    per_line = cachelines.line_writers(struct.slots, cacheline)
    starts = marker_lines(members, cacheline)
    last = max(-(-struct.size // cacheline), 1)
    found = {}
    for start, end in zip(starts, starts[1:] + [last]):
        covered = [index for index in range(start, max(end, start + 1)) if index in per_line]
        if covered:
            found[start] = _describe(start, max(end, start + 1), covered, per_line)
    return found


def _describe(start: int, end: int, covered: list, per_line: dict) -> list:
    sets = []
    for index in covered:
        sets += [writers for writers in per_line[index] if writers not in sets]
    span = f"cacheline {start}" if end - start == 1 else f"cachelines {start}-{end - 1}"
    lines = [f"/* {span}: written by {'; '.join(cachelines.side_names(w) for w in sets)} */"]
    for index in covered:
        if len(per_line[index]) > 1:
            mixed = " | ".join(cachelines.side_names(w) for w in per_line[index])
            lines.append(f"/* WARNING: cacheline {index} mixes writers ({mixed}): false sharing */")
    return [esc.c_comment(line[3:-3]).join(("/* ", " */")) for line in lines]
