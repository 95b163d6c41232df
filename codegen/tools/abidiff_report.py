"""abi-diff's kinds of change, their verdicts, and its two output formats.

Two questions per change: is it breaking (code built against one side misreads memory laid
out by the other), and is it a layout change at all. A change of name, doc, a type that is
another name for the same representation (an enum or a flag stored as a plain integer of the
same width and signedness), or a declaration on one side only that no byte depends on, is not;
such a change is never breaking, and a diff of only such changes says "no layout changes".
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from ..ir import Variant
from .common import describe

BREAKING, COMPATIBLE = True, False

# Every kind of change, its verdict and why: the one place a verdict is decided. A place that
# records a change picks the kind that describes it; a kind never means "it depends".
KINDS = {
    "arch-removed": (BREAKING, "code for that arch has no layout any more"),
    "arch-added": (COMPATIBLE, "no old code runs on the new arch"),
    "combination-removed": (BREAKING, "code built with those parameter values has no layout any more"),
    "combination-added": (COMPATIBLE, "no old code was built with those parameter values"),
    "param-default-changed": (BREAKING, "code built without choosing a value gets another layout"),
    "constant-removed": (COMPATIBLE, "no byte holds it: code already built keeps the value it was built with"),
    "constant-changed": (BREAKING, "the two sides size or place memory with different numbers"),
    "constant-added": (COMPATIBLE, "old code does not use it"),
    "enum-removed": (COMPATIBLE, "no field is typed with it any more (a field that was is reported on its own)"),
    "enum-retyped": (BREAKING, "its values are stored in another number of bytes"),
    "enum-added": (COMPATIBLE, "old code does not use it"),
    "enum-value-removed": (BREAKING, "old code still writes the value; new code cannot name it"),
    "enum-value-renumbered": (BREAKING, "the two sides read the same number as different values"),
    "enum-value-reused": (BREAKING, "old code reads the new value as the one the number meant before"),
    "enum-value-added": (COMPATIBLE, "the number was unused; old code never sees it unless new code writes it"),
    "struct-removed": (BREAKING, "old code still lays it out"),
    "struct-added": (COMPATIBLE, "old code does not use it"),
    "struct-grown": (BREAKING, "code built against the old size copies, allocates and checks fewer bytes: "
                     "the new tail is lost, or read past the end of an old writer's struct"),
    "struct-grown-extensible": (COMPATIBLE, "the struct carries its size (the kernel's convention): old readers "
                                "read the size they know, new readers zero-fill what an old writer did not send"),
    "struct-shrunk": (BREAKING, "old code reads and writes past the new end"),
    "struct-realigned": (BREAKING, "code that allocates or places it assumes the old alignment"),
    "extensible-added": (COMPATIBLE, "a promise about future growth; no byte changes"),
    "extensible-removed": (COMPATIBLE, "a promise about future growth withdrawn; no byte changes (growth without "
                           "it is judged breaking)"),
    "extensible-size-field-changed": (BREAKING, "the two sides read the struct's size from different fields"),
    "field-removed": (BREAKING, "old code still reads and writes its bytes"),
    "field-moved": (BREAKING, "the two sides read it at different offsets"),
    "field-resized": (BREAKING, "the two sides read a different number of bytes"),
    "field-retyped": (BREAKING, "the two sides read the same bytes as different things"),
    "field-retyped-same-bytes": (COMPATIBLE, "another name for the same representation"),
    "field-renamed": (COMPATIBLE, "same offset, size and type; names are not in the bytes"),
    "field-added": (COMPATIBLE, "it takes bytes that were padding, which old code never reads"),
    "field-names-spare": (COMPATIBLE, "the member the old spec declared as padding or reserved, under the same C "
                          "name at the same bytes, now written as a field"),
    "field-added-reserved": (COMPATIBLE, "it takes bytes the old spec reserved for it, which old writers zero"),
    "field-added-tail": (BREAKING, "it lies past the old end, which old code neither writes nor copies"),
    "field-added-tail-extensible": (COMPATIBLE, "past the old end of a struct that carries its size: an old "
                                    "writer's size says the field is absent, and a new reader zero-fills it"),
    "field-added-overlap": (BREAKING, "it takes bytes an old field uses"),
    "union-member-added": (COMPATIBLE, "a new alternative at offset 0 moves nothing; growth is judged on its own"),
    "bitfield-removed": (BREAKING, "old code still reads and writes its bits"),
    "bitfield-moved": (BREAKING, "the two sides read different bits"),
    "bitfield-retyped": (BREAKING, "the two sides read the same bits as different things"),
    "bitfield-retyped-same-bytes": (COMPATIBLE, "another name for the same representation"),
    "bitfield-added": (COMPATIBLE, "it takes bits that were spare, which old code never reads"),
    "bitfield-added-overlap": (BREAKING, "it takes bits an old field uses"),
    "doc-changed": (COMPATIBLE, "docs are not in the bytes"),
    "field-writers-changed": (COMPATIBLE, "no byte moves; but the code of each side must follow who writes it now "
                              "(a side that still writes it races the new writer)"),
    "field-atomic-changed": (COMPATIBLE, "no byte moves; but a side that reads or writes it without atomics races "
                             "one that uses them"),
    "field-line-changed": (COMPATIBLE, "its offset says where its bytes are; what changed is the fields it shares "
                           "a cache line with, and so whose writes evict it (false sharing)"),
    "region-removed": (BREAKING, "old code still uses its memory"),
    "region-moved": (BREAKING, "the two sides place it at different bytes"),
    "region-holds-changed": (BREAKING, "the two sides read its memory as different structs"),
    "region-holds-grown": (COMPATIBLE, "the struct still fits its part, so no other part moves "
                           "(the struct's own growth is judged on its own)"),
    "region-element-grown": (COMPATIBLE, "each element still fits its stride, so no other element moves "
                             "(the struct's own growth is judged on its own)"),
    "region-stride-changed": (BREAKING, "every element after the first moves"),
    "region-count-changed": (BREAKING, "the two sides disagree about how many elements there are"),
    "region-added": (COMPATIBLE, "old code does not use it"),
}

# The kinds that change no byte: everything else moves, resizes, re-aligns or re-orders bytes
# or bits, or changes what they hold.
NOT_LAYOUT = frozenset({
    "constant-removed", "constant-added", "enum-removed", "enum-added", "extensible-added", "extensible-removed",
    "field-renamed", "field-names-spare", "field-retyped-same-bytes", "bitfield-retyped-same-bytes", "doc-changed",
    "field-writers-changed", "field-atomic-changed",
})


@dataclass(frozen=True)
class Change:
    arch: str  # "" for a change that concerns the spec as a whole
    kind: str  # a key of KINDS, e.g. field-moved, enum-value-added
    subject: str  # e.g. ThreadContext.tls
    detail: str
    combination: str = ""  # `Variant.key` of the combination, for a spec with parameters
    params: tuple = ()  # its (name, value) pairs

    @property
    def where(self) -> str:
        """The heading the text format groups the change under."""
        if not self.arch:
            return "whole spec"
        return describe(Variant(self.arch, self.params)) if self.params else self.arch

    @property
    def breaking(self) -> bool:
        return KINDS[self.kind][0]

    @property
    def layout(self) -> bool:
        """Whether the change moves, resizes, re-aligns or re-orders bytes or bits, or changes
        what a field's bytes hold; False for a name, a doc, a type that is another name for the
        same representation, a declaration on one side only that no byte depends on."""
        return self.kind not in NOT_LAYOUT

    @property
    def reason(self) -> str:
        return KINDS[self.kind][1]

    def as_dict(self) -> dict:
        """The JSON form; `combination` and `params` only for a combination of a spec with parameters."""
        item = {"arch": self.arch, "kind": self.kind, "subject": self.subject, "breaking": self.breaking,
                "layout": self.layout, "detail": self.detail, "reason": self.reason}
        if self.params:
            item.update(combination=self.combination, params=dict(self.params))
        return item

    @property
    def line(self) -> str:
        return f"{'BREAKING  ' if self.breaking else 'compatible'}  {self.kind:<21} {self.subject}: {self.detail}"


def render_text(old_label: str, new_label: str, changes: list) -> str:
    """Layout changes grouped by arch (or combination), then under their own heading those
    that change no byte, then the verdict line."""
    lines = [f"abi-diff {old_label} -> {new_label}"]
    layout = [c for c in changes if c.layout]
    lines += _grouped(layout, "")
    others = [c for c in changes if not c.layout]
    if others:
        lines.append(f"{len(others)} change(s) that move no byte (names, docs, types that are another name for the "
                     "same representation, declarations on one side only):")
        lines += _grouped(others, "  ")
    lines.append(_verdict(layout))
    return "\n".join(lines) + "\n"


def _grouped(changes: list, indent: str) -> list:
    lines, groups = [], []
    for change in changes:
        if change.where not in groups:
            groups.append(change.where)
    for where in groups:
        lines.append(f"{indent}{where}:")
        lines += [f"{indent}  {c.line}" for c in changes if c.where == where]
    return lines


def render_json(old_label: str, new_label: str, changes: list) -> str:
    document = {"old": old_label, "new": new_label, "breaking": any(c.breaking for c in changes),
                "layout": any(c.layout for c in changes), "changes": [c.as_dict() for c in changes]}
    return json.dumps(document, indent=2) + "\n"


def _verdict(layout_changes: list) -> str:
    broken = sum(1 for c in layout_changes if c.breaking)
    if not layout_changes:
        return "no layout changes"
    outcome = "BREAKING" if broken else "compatible"
    return f"{broken} breaking and {len(layout_changes) - broken} compatible change(s): {outcome}"
