"""Regions: named byte ranges of a memory area, split into parts, some of which hold a struct
or an array of structs. Offsets and sizes stay expressions; the layout stage checks that the
parts fit.
"""
from __future__ import annotations

from typing import Optional

from . import expr as ex
from . import grammar, limits, naming
from . import spec_keys as keys
from .errors import Pos, fail
from .ir import Names, Region
from .load import Map
from .resolve_nodes import check_keys, expect_map, expect_seq, expression, ident, prose, string
from .resolve_scope import Scope


def region(scope: Scope, name: str, pos: Pos, node, top: bool, path: str = "") -> Region:
    """A top-level region (`top`), or one of its parts at `path`, with its own parts."""
    if top:
        grammar.ident(name, pos, "region name")
    node = expect_map(node, f"region {name}")
    path = path or f"regions.{name}"
    shape = keys.REGION if top else keys.REGION_PART
    check_keys(node, shape.allowed, shape.required, f"region {name}", pos if top else None)
    parts = []
    if node.get("parts") is not None:
        items = expect_seq(node.get("parts"), "parts").items
        limits.region_parts(len(items), node.get("parts").pos, name)
        for index, item in enumerate(items):
            item = expect_map(item, "a region part")
            part_name = ident(item.get("name"), "region part name") if item.get("name") else ""
            parts.append(region(scope, part_name, item.pos, item, top=False, path=f"{path}.parts[{index}]"))
    holds = None
    if node.get("holds") is not None:
        holds = string(node.get("holds"), "holds")
        if holds not in scope.struct_names:
            raise fail(node.get("holds").pos, f"unknown struct '{holds}'", scope.suggest(holds))
    offset = expression(node.get("offset"), "offset") if not top else ex.Num(0, node.pos)
    count, stride = _region_array(node, name, holds)
    return Region(names=Names(name, naming.snake(name), naming.go_camel(name), name), offset=offset,
                  size=expression(node.get("size"), "size"), holds=holds, parts=tuple(parts),
                  doc=prose(node.get("doc")), pos=pos.at(path), count=count, stride=stride)


def _region_array(node: Map, name: str, holds: Optional[str]) -> tuple:
    """(count, stride) of an array part, or (None, None). The two come together, and only with
    `holds`: an array of nothing in particular has no element size or alignment to check."""
    given = {key: node.get(key) for key in ("count", "stride") if node.get(key) is not None}
    if not given:
        return None, None
    for key, other in (("count", "stride"), ("stride", "count")):
        if key in given and other not in given:
            raise fail(given[key].pos, f"region part {name} has '{key}' but no '{other}'",
                       "an array part gives both: count elements, one every stride bytes")
    if holds is None:
        raise fail(given["count"].pos, f"region part {name} has 'count' and 'stride' but no 'holds'",
                   "name the struct each element holds, e.g. holds: ThreadContext")
    return expression(given["count"], "count"), expression(given["stride"], "stride")
