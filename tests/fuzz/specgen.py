"""Hypothesis strategies for random *valid* specs: many structs per spec, so that one compile
checks a whole batch.

A batch mixes every primitive, bools, enums of each base width, pointers, 1-D and 2-D arrays
whose lengths are literals, constants (some per arch) or sizeof/alignof expressions, nested
structs by value and in arrays, explicit padding, fields that exist on one arch only, and
enum values and typed constants at the edges of their types. Unless the batch must suit Go,
it also has `packed` structs and `align` overrides on structs and fields.

Names are generated (`S3`, `s3_f7`, `E1`, `V2`, `K0`), so nothing is reserved or collides.
Every struct sits in a slot that shrinks to "absent", which lets hypothesis delete structs
while it minimises a failing batch. Struct references point to earlier slots only, so
containment never cycles; pointers may point anywhere, the struct itself included.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import yaml
from hypothesis import strategies as st

PRIMS = ("u8", "i8", "u16", "i16", "u32", "i32", "u64", "i64", "bool8", "bool32")
PRIM_SIZE = {"u8": 1, "i8": 1, "bool8": 1, "u16": 2, "i16": 2, "u32": 4, "i32": 4, "bool32": 4,
             "u64": 8, "i64": 8, "ptr": 8}
ENUM_BASES = ("u8", "i8", "u16", "i16", "u32", "i32", "u64", "i64")
ALIGNS = (1, 2, 4, 8, 16, 32, 64, 128)

# Bounds that keep one struct small enough for fast compiles and parsers: its scalar leaves
# (arrays of structs multiply them), its nested offset macros and a rough bound on its size.
MAX_LEAVES = 400
MAX_NESTED = 200
MAX_SIZE = 1 << 15


@dataclass
class _Info:
    """What later structs need to know about an earlier one to stay within the bounds."""

    name: str
    leaves: int
    nested: int  # fields reached by descending into by-value members (offset macros)
    size_bound: int
    align_bound: int
    explicit_align: bool = False  # has its own `align:`; a packed struct may not hold it by value


@dataclass
class _Scope:
    constants: dict  # name -> largest value over the archs
    enums: list  # names
    structs: list = field(default_factory=list)  # _Info of the structs drawn so far


def dump(spec: dict) -> str:
    """YAML text for a generated spec (key order kept, no anchors)."""

    class Dumper(yaml.SafeDumper):
        def ignore_aliases(self, data):
            return True

    return yaml.dump(spec, Dumper=Dumper, sort_keys=False, default_flow_style=None, width=120)


# ---- constants and enums ---------------------------------------------------


@st.composite
def _constants(draw) -> dict:
    values = draw(st.lists(st.integers(1, 4), min_size=1, max_size=4))
    constants = {}
    for index, value in enumerate(values):
        if draw(st.sampled_from((False, False, True))):
            other = draw(st.integers(1, 4))
            constants[f"K{index}"] = {"value": {"amd64": value, "arm64": other}}
        else:
            constants[f"K{index}"] = value
    return constants


def _largest(value) -> int:
    return max(value["value"].values()) if isinstance(value, dict) else value


def _bounds(base: str) -> tuple:
    """The values a spec can give a `base` number: its range, cut to int64, in which the spec's
    expressions are evaluated (so a u64 value of 2**63 or more cannot be written)."""
    bits = PRIM_SIZE[base] * 8
    if base.startswith("i"):
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return 0, min((1 << bits) - 1, (1 << 63) - 1)


def _number(base: str):
    """Any value of the type, with its edges (and 0, 1, -1) drawn often."""
    low, high = _bounds(base)
    edges = sorted({low, high, 0, 1, max(low, -1), low + 1, high - 1})
    return st.one_of(st.sampled_from(edges), st.integers(low, high))


@st.composite
def _enum(draw) -> dict:
    base = draw(st.sampled_from(ENUM_BASES))
    numbers = draw(st.lists(_number(base), min_size=1, max_size=4, unique=True))
    return {"type": base, "values": [{"name": f"V{i}", "value": n} for i, n in enumerate(numbers)]}


@st.composite
def _typed_constants(draw) -> dict:
    """Constants with a type, at the edges of its range; no array length uses them."""
    constants = {}
    for index in range(draw(st.integers(0, 3))):
        base = draw(st.sampled_from(ENUM_BASES))
        constants[f"T{index}"] = {"value": draw(_number(base)), "type": base}
    return constants


# ---- array lengths ---------------------------------------------------------


@st.composite
def _length(draw, scope: _Scope) -> tuple:
    """(expression text or int, largest value on any arch)."""
    names = sorted(scope.constants)
    kind = draw(st.sampled_from(("literal", "constant", "sum", "product", "sizeof", "alignof")))
    if kind == "literal" or not names:
        number = draw(st.integers(1, 4))
        return number, number
    constant = draw(st.sampled_from(names))
    biggest = scope.constants[constant]
    if kind == "constant":
        return constant, biggest
    if kind == "sum":
        number = draw(st.integers(0, 3))
        return f"{constant} + {number}", biggest + number
    if kind == "product":
        number = draw(st.integers(1, 2))
        return f"{constant} * {number}", biggest * number
    if not scope.structs:
        return constant, biggest
    other = draw(st.sampled_from([info.name for info in scope.structs]))
    if kind == "sizeof":
        return f"sizeof({other}) % 5 + 1", 5
    return f"alignof({other}) % 3 + 1", 3


# ---- struct members --------------------------------------------------------


@dataclass
class _Member:
    spec: dict
    leaves: int = 0
    nested: int = 0
    size_bound: int = 0
    align_bound: int = 1


@st.composite
def _member(draw, scope: _Scope, struct: str, index: int, go: bool) -> _Member:
    kinds = ["prim", "enum", "pointer", "struct", "pad"]
    kind = draw(st.sampled_from(kinds))
    if kind == "pad":
        size, biggest = draw(_length(scope))
        return _Member({"pad": size}, size_bound=biggest)
    name = f"{struct.lower()}_f{index}"
    dims = draw(st.lists(_length(scope), max_size=2))
    count = 1
    for _, biggest in dims:
        count *= biggest
    element, element_size, align, leaves, nested = _element(draw, kind, scope, struct)
    if element_size * count > MAX_SIZE // 4 or leaves * count > MAX_LEAVES // 4:
        dims, count = [], 1  # an array of a big struct would blow the bounds: keep one
    type_text = element + "".join(f"[{text}]" for text, _ in dims)
    member = {"name": name, "type": type_text}
    only = draw(st.sampled_from((None,) * 10 + ("amd64", "arm64")))
    if only is not None:
        member["arch"] = [only]  # the field exists on one arch only
    if not go and draw(st.sampled_from((None,) * 24 + ALIGNS)) is not None:
        member["align"] = draw(st.sampled_from(ALIGNS))
        align = max(align, member["align"])
    return _Member(member, leaves=leaves * count, nested=1 + (nested if not dims else 0),
                   size_bound=element_size * count + align, align_bound=align)


def _element(draw, kind: str, scope: _Scope, struct: str) -> tuple:
    """(type text, size bound, alignment bound, leaves, nested fields) of one element."""
    if kind == "enum" and scope.enums:
        return draw(st.sampled_from(scope.enums)), 8, 8, 1, 0
    if kind == "pointer":
        targets = ["", struct] + [info.name for info in scope.structs]
        return f"ptr({draw(st.sampled_from(targets))})", 8, 8, 1, 0
    if kind == "struct" and scope.structs:
        info = draw(st.sampled_from(scope.structs))
        return info.name, info.size_bound, info.align_bound, info.leaves, info.nested
    prim = draw(st.sampled_from(PRIMS))
    return prim, PRIM_SIZE[prim], PRIM_SIZE[prim], 1, 0


@st.composite
def _struct(draw, scope: _Scope, name: str, go: bool) -> tuple:
    """(struct mapping, _Info); members that would exceed the bounds are dropped."""
    wanted = draw(st.integers(1, 8))
    members, leaves, nested, size, align = [], 0, 0, 0, 1
    for index in range(wanted):
        member = draw(_member(scope, name, index, go))
        if leaves + member.leaves > MAX_LEAVES or nested + member.nested > MAX_NESTED \
                or size + member.size_bound > MAX_SIZE:
            continue
        members.append(member.spec)
        leaves, nested = leaves + member.leaves, nested + member.nested
        size, align = size + member.size_bound, max(align, member.align_bound)
    if not any("name" in m and "arch" not in m for m in members):
        members.append({"name": f"{name.lower()}_f{wanted}", "type": "u8"})
        leaves, nested, size = leaves + 1, nested + 1, size + 1
    body = {"fields": members}
    if not go:
        over_aligned = {info.name for info in scope.structs if info.explicit_align}
        holds_over_aligned = any(m.get("type", "").split("[")[0] in over_aligned for m in members)
        if draw(st.sampled_from((False, False, False, True))) and not holds_over_aligned:
            body["packed"] = True
        if draw(st.sampled_from((None,) * 16 + ALIGNS)) is not None:
            body["align"] = draw(st.sampled_from(ALIGNS))
            align = max(align, body["align"])
    return body, _Info(name, leaves, nested, size + align, align, "align" in body)


# ---- whole specs -----------------------------------------------------------


@st.composite
def specs(draw, name: str, slots: int, go: bool) -> dict:
    """A spec with up to `slots` structs (each slot shrinks to absent); `go` leaves out every
    `packed` and `align` so the Go target accepts it, and otherwise the spec lists only the C
    and Python targets."""
    constants = draw(_constants())
    enums = {f"E{i}": e for i, e in enumerate(draw(st.lists(_enum(), max_size=4)))}
    scope = _Scope({k: _largest(v) for k, v in constants.items()}, list(enums))
    structs = {}
    for slot in range(slots):
        if not draw(st.sampled_from((False, True, True, True, True, True, True, True))):
            continue
        struct_name = f"S{slot}"
        body, info = draw(_struct(scope, struct_name, go))
        structs[struct_name] = body
        scope.structs.append(info)
    if not structs:
        structs["S0"] = {"fields": [{"name": "s0_f0", "type": "u8"}]}
    spec = {"layoutgen": 1, "name": name, "archs": ["amd64", "arm64"]}
    if not go:
        spec["targets"] = ["c", "python"]
    spec.update({"constants": dict(constants, **draw(_typed_constants())), "enums": enums, "structs": structs})
    if not enums:
        del spec["enums"]
    return spec


def fields_of(spec: dict, arch: str) -> dict:
    """Struct name -> the names of its fields on `arch` (padding left out), for the coverage checks."""
    return {name: [m["name"] for m in body["fields"] if "name" in m and arch in m.get("arch", [arch])]
            for name, body in spec["structs"].items()}


def features(spec: dict) -> dict:
    """How often each kind of construct occurs in a spec, so a run can show it covered them all."""
    enums, structs = set(spec.get("enums", {})), set(spec["structs"])
    found = {"packed": 0, "struct align": 0, "field align": 0, "padding": 0, "pointer": 0, "enum field": 0,
             "bool": 0, "nested struct": 0, "array of structs": 0, "2-D array": 0, "arch-only field": 0,
             "sizeof/alignof length": 0, "per-arch constant": 0}

    def count(key: str, present) -> None:
        found[key] += 1 if present else 0

    for value in spec["constants"].values():
        count("per-arch constant", isinstance(value, dict) and isinstance(value["value"], dict))
    for body in spec["structs"].values():
        count("packed", body.get("packed"))
        count("struct align", "align" in body)
        for member in body["fields"]:
            text = str(member.get("type", member.get("pad")))
            element = text.split("[")[0]
            count("padding", "pad" in member)
            count("sizeof/alignof length", "sizeof(" in text or "alignof(" in text)
            if "name" not in member:
                continue
            count("field align", "align" in member)
            count("pointer", element.startswith("ptr("))
            count("enum field", element in enums)
            count("bool", element.startswith("bool"))
            count("nested struct", element in structs and "[" not in text)
            count("array of structs", element in structs and "[" in text)
            count("2-D array", text.count("[") == 2)
            count("arch-only field", "arch" in member)
    return found
