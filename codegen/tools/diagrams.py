"""SVG pictures of a layout: a struct as a byte map (one row per cache line) and a memory
region as nested bars. Python computes every coordinate (integers only, so the output is
byte-for-byte stable); `templates/docs/diagram.svg.j2` just prints the shapes."""
from __future__ import annotations

from dataclasses import dataclass

from .. import cachelines
from .. import escape as esc
from .. import layout_types as lay
from ..targets.common import render_template
from . import diagram_writers
from .common import bit_type, c_pad_names, spec_type

CACHELINE = 64
BYTE_W = 14  # pixels per byte in a byte map; a cache line row is 896 px wide
ROW_H = 30
SKIP_H = 22  # the strip that stands for a run of cache lines one field fills completely
LEFT = 130  # room for the row labels
TOP = 58
CHAR_W = 7  # a generous width of one character of the 11 px monospace font
PALETTE = 8  # field colours cycle through classes f0..f7
REGION_W = 896
LANE_H = 64


@dataclass(frozen=True)
class Rect:
    x: int
    y: int
    w: int
    h: int
    cls: str
    title: str


@dataclass(frozen=True)
class Text:
    x: int
    y: int
    text: str
    cls: str = ""
    anchor: str = "start"


@dataclass(frozen=True)
class Line:
    x1: int
    y1: int
    x2: int
    y2: int
    cls: str


def _svg(banner: list, title: str, width: int, height: int, rects: list, lines: list, texts: list) -> str:
    """The SVG text; `banner` comes escaped (`Context.banner(escape.xml)`), every other text
    is escaped here, a region's doc among them."""
    return render_template(
        "docs/diagram.svg.j2", banner=banner, title=esc.xml(title),
        width=width, height=height,
        rects=[r.__class__(r.x, r.y, r.w, r.h, r.cls, esc.xml(r.title)) for r in rects],
        lines=lines, texts=[t.__class__(t.x, t.y, esc.xml(t.text), t.cls, t.anchor) for t in texts])


def fit(text: str, width: int) -> str:
    """`text` cut to fit `width` pixels (with an ellipsis), or "" when not even 3 characters fit."""
    room = (width - 6) // CHAR_W
    if len(text) <= room:
        return text
    return text[:room - 1] + "…" if room >= 3 else ""


# ---- struct byte maps ------------------------------------------------------


@dataclass(frozen=True)
class Segment:
    start: int
    end: int
    label: str
    cls: str
    title: str


def struct_svg(layout: lay.Layout, name: str, banner: list) -> str:
    struct = layout.structs[name]
    colours = diagram_writers.palette(layout.spec) if cachelines.has_writers(layout.spec) else None
    segments = _segments(struct, colours)
    rows = _row_plan(struct.size, segments)
    rects, lines, texts = [], [], []
    y = TOP
    for row in rows:
        if row[0] == "skip":
            _skip_strip(row, y, rects, texts)
            y += SKIP_H
            continue
        _byte_row(row[1], struct.size, segments, y, rects, lines, texts)
        y += ROW_H
    lines.append(Line(LEFT, y, LEFT + CACHELINE * BYTE_W, y, "boundary"))
    texts += _ruler()
    lines_count = -(-struct.size // CACHELINE)
    title = (f"{name} on {layout.variant.key}: {struct.size} bytes, aligned to {struct.align}, "
             f"{lines_count} cache line{'s' if lines_count > 1 else ''} of {CACHELINE} bytes")
    texts.append(Text(LEFT, 22, title, "title"))
    legend_y = y + 26
    if colours is not None:  # the writers on a row of their own above the usual legend
        used = {writers for _, writers in _written(struct)}
        sides_rects, sides_texts, _ = _legend_row(legend_y, diagram_writers.legend_entries(colours, used))
        rects, texts, legend_y = rects + sides_rects, texts + sides_texts, legend_y + 24
    legend_rects, legend_texts = _legend(legend_y, colours is not None)
    return _svg(banner, title, LEFT + CACHELINE * BYTE_W + 30, legend_y + 30, rects + legend_rects, lines,
                texts + legend_texts)


def _written(struct: lay.StructLayout):
    """(slot, writers) of each field and bitfield run, writers None when the spec names none."""
    for slot in struct.slots:
        if isinstance(slot, lay.FieldSlot):
            yield slot, slot.field.writers
        elif isinstance(slot, lay.BitsSlot) and slot.fields:
            yield slot, slot.fields[0].field.writers


def _segments(struct: lay.StructLayout, colours: dict = None) -> list:
    """The byte map's segments; with `colours` (a spec with sides), fields coloured by writer."""
    pad_names = c_pad_names(struct)
    found, colour, anonymous = [], 0, set()
    if isinstance(struct, lay.UnionLayout):
        return _union_segments(struct)
    for slot in struct.slots:
        end = slot.offset + slot.size
        where = f"offset {slot.offset}, size {slot.size}"
        if isinstance(slot, lay.BitsSlot):
            if slot.size:
                names = ", ".join(f"{f.field.names.canonical}: {bit_type(f)}" for f in slot.fields)
                writers = slot.fields[0].field.writers
                found.append(Segment(slot.offset, end, "bits", _colour(colours, writers, colour),
                                     f"bitfields {names}; {where}{_note(colours, writers)}"))
                colour += 1
            continue
        if isinstance(slot, lay.FieldSlot):
            label, what = slot.field.names.canonical, spec_type(slot)
            if slot.field.anonymous:
                label, what = "(anonymous)", "its members are the struct's own"
                anonymous.add(slot.field.names.canonical)
            writers = slot.field.writers
            found.append(Segment(slot.offset, end, label, _colour(colours, writers, colour),
                                 f"{label}: {what}, {where}{_note(colours, writers)}"))
            colour += 1
        elif isinstance(slot, lay.PadSlot):
            found.append(Segment(slot.offset, end, "padding", "pad",
                                 f"explicit padding {pad_names[slot]}: {where}"))
        elif isinstance(slot, lay.ReservedSlot):
            found.append(Segment(slot.offset, end, "reserved", "pad", f"reserved for later fields: {where}"))
        elif isinstance(slot, lay.FlexSlot):
            continue  # no bytes of its own: its elements follow the struct
        elif slot.tail:
            found.append(Segment(slot.offset, end, "tail padding", "tail", f"tail padding: {where}"))
        else:
            after = "(anonymous)" if slot.after in anonymous else slot.after
            found.append(Segment(slot.offset, end, "hole", "hole", f"hole after {after}: {where}"))
    return found


def _colour(colours, writers, index: int) -> str:
    """The writer's colour in a spec with sides, else the next colour of the cycle."""
    return f"f{index % PALETTE}" if colours is None else diagram_writers.colour(colours, writers)


def _note(colours, writers) -> str:
    return "" if colours is None else diagram_writers.note(writers)


def _union_segments(union: lay.UnionLayout) -> list:
    """A union as one segment over its largest member (all members start at 0), then its tail padding."""
    members = [slot for slot in union.slots if not isinstance(slot, lay.Hole)]
    widest = max(slot.size for slot in members)
    names = ["reserved" if not isinstance(slot, lay.FieldSlot) else
             "(anonymous)" if slot.field.anonymous else slot.field.names.canonical for slot in members]
    title = "union of " + "; ".join(f"{name} ({slot.size} bytes)" for name, slot in zip(names, members))
    found = [Segment(0, widest, " | ".join(names), "f0", title)]
    found += [Segment(h.offset, h.offset + h.size, "tail padding", "tail", f"tail padding: offset {h.offset}, "
                      f"size {h.size}") for h in union.holes]
    return found


def _row_plan(size: int, segments: list) -> list:
    """("row", n) for each cache line drawn, ("skip", first, last, segment) for a run of four or
    more lines one segment fills completely: its first and last lines are drawn, the middle folded."""
    total = -(-size // CACHELINE)
    plan, row = [], 0
    while row < total:
        owner = _filling(row, segments)
        # Segments do not overlap, so the lines `owner` fills run to its end: found without
        # walking them (an array of a terabyte is 16G lines).
        run_end = row if owner is None else min(total, owner.end // CACHELINE) - 1
        if run_end - row >= 3:
            plan += [("row", row), ("skip", row + 1, run_end - 1, owner), ("row", run_end)]
            row = run_end + 1
        else:
            plan.append(("row", row))
            row += 1
    return plan


def _filling(row: int, segments: list):
    start, end = row * CACHELINE, (row + 1) * CACHELINE
    return next((s for s in segments if s.start <= start and end <= s.end), None)


def _skip_strip(row: tuple, y: int, rects: list, texts: list) -> None:
    _, first, last, owner = row
    count = last - first + 1
    rects.append(Rect(LEFT, y, CACHELINE * BYTE_W, SKIP_H, owner.cls + " folded", owner.title))
    texts.append(Text(LEFT + CACHELINE * BYTE_W // 2, y + 15,
                      f"⋮ {count} more cache lines of {owner.label} "
                      f"(bytes {first * CACHELINE} to {(last + 1) * CACHELINE - 1}) ⋮", "label", "middle"))
    texts.append(Text(LEFT - 8, y + 15, f"lines {first}-{last}", "rowlabel", "end"))


def _byte_row(row: int, size: int, segments: list, y: int, rects: list, lines: list, texts: list) -> None:
    start, end = row * CACHELINE, min((row + 1) * CACHELINE, size)
    for seg in segments:
        lo, hi = max(seg.start, start), min(seg.end, end)
        if lo >= hi:
            continue
        x, w = LEFT + (lo - start) * BYTE_W, (hi - lo) * BYTE_W
        rects.append(Rect(x, y, w, ROW_H, seg.cls, seg.title))
        shown = fit(seg.label, w)
        if shown:
            texts.append(Text(x + w // 2, y + 19, shown, "label", "middle"))
    lines.append(Line(LEFT, y, LEFT + CACHELINE * BYTE_W, y, "boundary"))
    texts.append(Text(LEFT - 8, y + 19, f"cache line {row} @{start}", "rowlabel", "end"))


def _ruler() -> list:
    return [Text(LEFT + byte * BYTE_W, TOP - 6, f"+{byte}", "ruler") for byte in range(0, CACHELINE, 8)]


def _legend(y: int, by_writer: bool = False) -> tuple:
    """The legend of what the colours mean; the field swatch is left out when fields are
    coloured by writer (the row above names each writer's colour)."""
    entries = (("hole", "hole (the C rules insert it)"), ("pad", "explicit padding"), ("tail", "tail padding"))
    rects, texts, x = _legend_row(y, entries if by_writer else (("f0", "field"),) + entries)
    texts.append(Text(x, y + 12, "(one row per cache line; hover for details)", "rowlabel"))
    return rects, texts


def _legend_row(y: int, entries) -> tuple:
    """Swatches and their texts from the left at height `y`; also where the row ends."""
    rects, texts, x = [], [], LEFT
    for cls, text in entries:
        rects.append(Rect(x, y, 16, 16, cls, text))
        texts.append(Text(x + 22, y + 12, text, "legend"))
        x += 22 + len(text) * CHAR_W + 24
    return rects, texts, x


# ---- region maps -----------------------------------------------------------


def region_svg(layout: lay.Layout, top: str, banner: list) -> str:
    """A top-level region as a bar, each level of parts in a lane below its parent."""
    laid = [r for r in layout.regions if r.path[0] == top]
    total = laid[0].size
    depth = max(len(r.path) for r in laid)
    rects, lines, texts = [], [], []

    def x_at(offset: int) -> int:
        return LEFT + offset * REGION_W // total

    for level in range(1, depth + 1):
        y = TOP + (level - 1) * LANE_H
        texts.append(Text(LEFT - 8, y + 24, "region" if level == 1 else f"parts, level {level - 1}", "rowlabel", "end"))
        members = [r for r in laid if len(r.path) == level]
        for index, region in enumerate(members):
            _region_box(layout, region, index, x_at, y, rects, texts)
        if level > 1:
            _gaps(laid, level, x_at, y, rects)
    bottom = TOP + depth * LANE_H
    for offset in sorted({b for r in laid for b in (r.offset, r.offset + r.size)}):
        lines.append(Line(x_at(offset), TOP - 4, x_at(offset), bottom - 8, "tick"))
    texts += _tick_labels(laid, x_at, bottom)
    title = f"region {top} on {layout.variant.key}: {_amount(total)}, low addresses on the left"
    texts.append(Text(LEFT, 22, title, "title"))
    return _svg(banner, title, LEFT + REGION_W + 30, bottom + 40, rects, lines, texts)


def _region_box(layout: lay.Layout, region: lay.RegionLayout, index: int, x_at, y: int, rects: list,
                texts: list) -> None:
    x, w = x_at(region.offset), max(x_at(region.offset + region.size) - x_at(region.offset), 1)
    name = region.path[-1]
    doc = esc.one_line(region.region.doc)  # escaped with the rest of the title by `_svg`
    title = f"{'.'.join(region.path)}: offset {region.offset}, size {region.size}" + (f". {doc}" if doc else "")
    rects.append(Rect(x, y, w, LANE_H - 12, f"r{index % PALETTE}", title))
    texts.append(Text(x + w // 2, y + 16, fit(name, w), "label", "middle"))
    texts.append(Text(x + w // 2, y + 30, fit(_short(region.size), w), "small", "middle"))
    if region.holds:
        held = layout.structs[region.holds].size
        array = f", the first of {region.contents}" if region.count else ""
        rects.append(Rect(x, y + LANE_H - 19, max(x_at(region.offset + held) - x, 2), 6, "held",
                          f"{region.holds} ({held} bytes) at the start of {name}{array}"))
        texts.append(Text(x + w // 2, y + 42, fit(f"holds {region.contents}", w), "small", "middle"))


def _gaps(laid: list, level: int, x_at, y: int, rects: list) -> None:
    """Bytes of a parent that none of its parts claims, drawn so that they are not mistaken for a part."""
    for parent in (r for r in laid if len(r.path) == level - 1):
        children = sorted((r for r in laid if r.path[:-1] == parent.path), key=lambda r: r.offset)
        if not children:
            continue
        cursor = parent.offset
        for child in children + [None]:
            stop = child.offset if child is not None else parent.offset + parent.size
            if stop > cursor:
                rects.append(Rect(x_at(cursor), y, max(x_at(stop) - x_at(cursor), 1), LANE_H - 12, "unused",
                                  f"unassigned part of {'.'.join(parent.path)}: offset {cursor}, size {stop - cursor}"))
            if child is not None:
                cursor = max(cursor, child.offset + child.size)


def _tick_labels(laid: list, x_at, bottom: int) -> list:
    """Offset labels under the bars, skipping those that would overlap the previous one."""
    texts, last_end = [], -1
    for offset in sorted({b for r in laid for b in (r.offset, r.offset + r.size)}):
        label = f"{offset:#x}"
        x = x_at(offset)
        if x - len(label) * CHAR_W // 2 > last_end:
            texts.append(Text(x, bottom + 6, label, "ruler", "middle"))
            last_end = x + len(label) * CHAR_W // 2 + 4
    return texts


def _short(size: int) -> str:
    return f"{size // 1024} KiB" if size % 1024 == 0 else f"{size} B"


def _amount(size: int) -> str:
    if size % 1024 == 0:
        return f"{size // 1024} KiB ({size} bytes)"
    return f"{size} bytes"
