"""Hypothesis strategies for random *valid* specs: many structs per spec, so that one compile
checks a whole batch.

A batch mixes every primitive, bools, enums of each base width, pointers, 1-D and 2-D arrays
whose lengths are literals, constants (some per arch) or sizeof/alignof expressions, nested
structs by value and in arrays, explicit padding, reserved space, fields that exist on one
arch only, enum values and typed constants at the edges of their types, unions (as fields,
array elements and members of other unions), bitfields (named, unnamed, zero-width, signed,
bool and enum ones), byte orders per field and per struct, flexible array members,
anonymous structs and unions (in structs and unions, nested in each other) whose fields are
the parent's own, and sometimes a spec parameter that constants and array lengths depend on
(`cond ? a : b`). Unless the batch must suit Go, it also has `packed` structs and unions,
`align` overrides on them and on fields, and 128-bit integers (fields, array elements, with
a byte order, typed constants).

Names are generated (`S3`, `U4`, `s3_f7`, `E1`, `V2`, `K0`, `p0`), so nothing is reserved or
collides. Every struct sits in a slot that shrinks to "absent", which lets hypothesis delete
structs while it minimises a failing batch. Struct references point to earlier slots only,
so containment never cycles; pointers may point anywhere, the struct itself included. A
struct ending in a flexible array is only ever pointed to, never held by value.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import yaml
from hypothesis import strategies as st

PRIMS = ("u8", "i8", "u16", "i16", "u32", "i32", "u64", "i64", "bool8", "bool32")
WIDE = ("u128", "i128")  # C and Python only; never bitfields, enum bases or flexible arrays
WORDS = ("long", "ulong")  # C's long: fields only (no bitfields, enum bases, constants or byte order)
# Sizes are upper bounds over every arch (a pointer or `long` is 4 bytes on 32-bit arches).
PRIM_SIZE = {"u8": 1, "i8": 1, "bool8": 1, "u16": 2, "i16": 2, "u32": 4, "i32": 4, "bool32": 4,
             "u64": 8, "i64": 8, "ptr": 8, "long": 8, "ulong": 8, "u128": 16, "i128": 16}
ENUM_BASES = ("u8", "i8", "u16", "i16", "u32", "i32", "u64", "i64")
ALIGNS = (1, 2, 4, 8, 16, 32, 64, 128)
ORDERS = (None,) * 12 + ("big",) * 3 + ("little",)

# Bounds that keep one struct small enough for fast compiles and parsers: its scalar leaves
# (arrays of structs multiply them), its nested offset macros and a rough bound on its size.
MAX_LEAVES = 400
MAX_NESTED = 200
MAX_SIZE = 1 << 15
ANONYMOUS_DEPTH = 2  # anonymous members nest this deep (one inside another)
GO_FLEXIBLE = True  # Go batches draw flexible arrays only where Go's padding matches C's (_go_flexible)


@dataclass
class _Info:
    """What later structs need to know about an earlier one to stay within the bounds."""

    name: str
    leaves: int
    nested: int  # fields reached by descending into by-value members (offset macros)
    size_bound: int
    align_bound: int
    explicit_align: bool = False  # has its own `align:`; a packed struct may not hold it by value
    flexible: bool = False  # ends in a flexible array: only pointers may refer to it


@dataclass
class _Scope:
    constants: dict  # name -> largest value over the archs (and parameter values); params included
    enums: dict  # name -> (base type, fewest bits that hold every value)
    structs: list = field(default_factory=list)  # _Info of the structs and unions drawn so far
    archs: tuple = ("amd64", "arm64")  # the spec's `archs:`
    wide: bool = True  # every one of them has 128-bit integers
    narrow: bool = False  # one of them is 32-bit (4-byte pointers, and u64 4-aligned on i386)
    native: str = "little"  # the byte order all of them share ("" when they differ)

    @property
    def by_value(self) -> list:
        return [info for info in self.structs if not info.flexible]


def dump(spec: dict) -> str:
    """YAML text for a generated spec (key order kept, no anchors)."""

    class Dumper(yaml.SafeDumper):
        def ignore_aliases(self, data):
            return True

    return yaml.dump(spec, Dumper=Dumper, sort_keys=False, default_flow_style=None, width=120)


# ---- parameters, constants and enums -----------------------------------------


@st.composite
def _params(draw) -> dict:
    """None, or one parameter `p0` with two or three small values (each combination is checked)."""
    if not draw(st.sampled_from((False, False, True))):
        return {}
    values = draw(st.lists(st.integers(1, 4), min_size=2, max_size=3, unique=True))
    return {"p0": {"values": sorted(values), "default": draw(st.sampled_from(values))}}


@st.composite
def _constants(draw, params: dict, archs: tuple) -> dict:
    """name -> spec value; with a parameter, some constants follow it (`p0 + 1`, `p0 == 2 ? 3 : 1`)."""
    values = draw(st.lists(st.integers(1, 4), min_size=1, max_size=4))
    constants = {}
    for index, value in enumerate(values):
        shape = draw(st.sampled_from(("plain", "plain", "arch") + (("param", "param") if params else ())))
        if shape == "arch":
            constants[f"K{index}"] = {"value": {arch: value if n == 0 else draw(st.integers(1, 4))
                                                for n, arch in enumerate(archs)}}
        elif shape == "param":
            picked = draw(st.sampled_from(params["p0"]["values"]))
            constants[f"K{index}"] = draw(st.sampled_from(
                (f"p0 + {value - 1}", f"p0 == {picked} ? {value} : 1", "p0 * 2")))
        else:
            constants[f"K{index}"] = value
    return constants


def _largest(value, params: dict) -> int:
    """The largest value a generated constant takes on any arch and for any parameter value."""
    if isinstance(value, dict):
        return max(value["value"].values())
    if isinstance(value, int):
        return value
    results = []
    for p0 in params["p0"]["values"]:
        text = value.replace("p0", str(p0))
        if "?" in text:
            condition, rest = text.split("?")
            left, right = condition.split("==")
            yes, no = rest.split(":")
            results.append(int(yes) if int(left) == int(right) else int(no))
        else:
            results.append(eval(text, {}))  # `a + b` or `a * b` of small integers
    return max(results)


def _bounds(base: str) -> tuple:
    """The values a spec can give a `base` number: its range, cut to int64, in which the spec's
    expressions are evaluated (so a u64 value of 2**63 or more cannot be written)."""
    bits = min(PRIM_SIZE[base] * 8, 64)
    if base.startswith("i"):
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return 0, min((1 << bits) - 1, (1 << 63) - 1)


def _number(base: str):
    """Any value of the type, with its edges (and 0, 1, -1) drawn often."""
    low, high = _bounds(base)
    edges = sorted({low, high, 0, 1, max(low, -1), low + 1, high - 1})
    return st.one_of(st.sampled_from(edges), st.integers(low, high))


def _bits_for(number: int, signed: bool) -> int:
    if signed:
        return (number if number >= 0 else ~number).bit_length() + 1
    return max(number.bit_length(), 1)


@st.composite
def _enum(draw) -> dict:
    base = draw(st.sampled_from(ENUM_BASES))
    numbers = draw(st.lists(_number(base), min_size=1, max_size=4, unique=True))
    return {"type": base, "values": [{"name": f"V{i}", "value": n} for i, n in enumerate(numbers)]}


@st.composite
def _typed_constants(draw, wide: bool) -> dict:
    """Constants with a type, at the edges of its range (cut to int64); no array length uses them."""
    constants = {}
    for index in range(draw(st.integers(0, 3))):
        base = draw(st.sampled_from(ENUM_BASES + (WIDE * 2 if wide else ())))
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
    if not scope.by_value:
        return constant, biggest
    other = draw(st.sampled_from([info.name for info in scope.by_value]))
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
def _member(draw, scope: _Scope, struct: str, index: int, go: bool, union: bool) -> _Member:
    kinds = ["prim", "enum", "pointer", "struct", "reserved", "anon"] + ([] if union else ["pad", "bits", "bits"])
    kind = draw(st.sampled_from(kinds))
    arch = _only(draw, scope)
    if kind in ("pad", "reserved"):
        size, biggest = draw(_length(scope))
        return _Member({kind: size, **arch}, size_bound=biggest)
    name = f"{struct.lower()}_f{index}"
    if kind == "bits":
        return _bitfield(draw, scope, name, arch)
    if kind == "anon":
        return _anonymous(draw, scope, struct, name, go, arch, 1)
    return _field(draw, scope, struct, name, kind, go, arch)


def _only(draw, scope: _Scope) -> dict:
    """Now and then `arch: [one]`: the member exists on that arch only (of a spec with several)."""
    if len(scope.archs) < 2:
        return {}
    only = draw(st.sampled_from((None,) * 10 + (scope.archs[0], scope.archs[-1])))
    return {} if only is None else {"arch": [only]}


def _field(draw, scope: _Scope, struct: str, name: str, kind: str, go: bool, arch: dict) -> _Member:
    """A field of a scalar, enum, pointer or struct, or a 1-D or 2-D array of them."""
    dims = draw(st.lists(_length(scope), max_size=2))
    count = 1
    for _, biggest in dims:
        count *= biggest
    element, element_size, align, leaves, nested = _element(draw, kind, scope, struct, wide=not go and scope.wide)
    if element_size * count > MAX_SIZE // 4 or leaves * count > MAX_LEAVES // 4:
        dims, count = [], 1  # an array of a big struct would blow the bounds: keep one
    type_text = element + "".join(f"[{text}]" for text, _ in dims)
    member = {"name": name, "type": type_text, **arch}
    if kind in ("prim", "enum") and element not in WORDS:
        order = draw(st.sampled_from(ORDERS))
        if order is not None:
            member["endian"] = order
    if not go and draw(st.sampled_from((None,) * 24 + ALIGNS)) is not None:
        member["align"] = draw(st.sampled_from(ALIGNS))
        align = max(align, member["align"])
    return _Member(member, leaves=leaves * count, nested=1 + (nested if not dims else 0),
                   size_bound=element_size * count + align, align_bound=align)


def _anonymous(draw, scope: _Scope, struct: str, name: str, go: bool, arch: dict, depth: int,
               within: bool = False) -> _Member:
    """`{union: [...]}` or `{struct: [...]}` (C11 anonymous members): fields named `<name>_a<j>`,
    unique among what C reaches in the parent, of the kinds a field takes, and anonymous members
    again down to ANONYMOUS_DEPTH; at least one of them exists on every arch the member does.
    `within`: an enclosing anonymous member is on one arch only, so nothing inside narrows again."""
    word = draw(st.sampled_from(("union", "struct")))
    kinds = ("prim", "prim", "enum", "pointer", "struct") + (("anon",) if depth < ANONYMOUS_DEPTH else ())
    members = []
    for index in range(draw(st.integers(1, 4))):
        within = within or bool(arch)
        kind, only, inner = draw(st.sampled_from(kinds)), {} if within else _only(draw, scope), f"{name}_a{index}"
        members.append(_anonymous(draw, scope, struct, inner, go, only, depth + 1, within) if kind == "anon"
                       else _field(draw, scope, struct, inner, kind, go, only))
    if not any("type" in m.spec and "arch" not in m.spec for m in members):
        members.append(_Member({"name": f"{name}_a{len(members)}", "type": "u8"}, 1, 1, 2, 1))
    spec = {word: [m.spec for m in members], **arch}
    sizes = [m.size_bound for m in members]
    align = max(m.align_bound for m in members)
    return _Member(spec, leaves=sum(m.leaves for m in members), nested=sum(m.nested for m in members),
                   size_bound=(max(sizes) if word == "union" else sum(sizes)) + align, align_bound=align)


def _held_types(members: list):
    """The type names a struct's members hold by value, anonymous members' included."""
    for member in members:
        for word in ("union", "struct"):
            yield from _held_types(member.get(word, []))
        if "type" in member:
            yield member["type"].split("[")[0]


def _bitfield(draw, scope: _Scope, name: str, arch: dict) -> _Member:
    """A named bitfield of an integer, bool or enum type; or unnamed padding bits, 0 bits wide
    (a break to the next unit) at times. Widths are literals or constants that fit the type."""
    named = draw(st.sampled_from((True, True, True, False)))
    if named and scope.enums and draw(st.booleans()):
        enum = draw(st.sampled_from(sorted(scope.enums)))
        base, needed = scope.enums[enum]
        width = draw(st.integers(needed, PRIM_SIZE[base] * 8))
        return _Member({"name": name, "type": enum, "bits": width, **arch}, leaves=1, nested=0,
                       size_bound=2 * PRIM_SIZE[base], align_bound=PRIM_SIZE[base])
    prim = draw(st.sampled_from(PRIMS))
    total = PRIM_SIZE[prim] * 8
    fitting = [k for k, biggest in sorted(scope.constants.items()) if biggest <= total]
    if fitting and draw(st.sampled_from((False, False, False, True))):
        width = draw(st.sampled_from(fitting))
    else:
        width = draw(st.integers(1 if named else 0, total))
    member = {"name": name, "type": prim, "bits": width} if named else {"type": prim, "bits": width}
    return _Member({**member, **arch}, leaves=1 if named else 0, nested=0,
                   size_bound=2 * PRIM_SIZE[prim], align_bound=PRIM_SIZE[prim])


def _element(draw, kind: str, scope: _Scope, struct: str, wide: bool = False) -> tuple:
    """(type text, size bound, alignment bound, leaves, nested fields) of one element; `wide`
    lets a scalar be a 128-bit integer. Now and then a scalar is C's `long` or `unsigned long`."""
    if kind == "enum" and scope.enums:
        return draw(st.sampled_from(sorted(scope.enums))), 8, 8, 1, 0
    if kind == "pointer":
        targets = ["", struct] + [info.name for info in scope.structs]
        return f"ptr({draw(st.sampled_from(targets))})", 8, 8, 1, 0
    if kind == "struct" and scope.by_value:
        info = draw(st.sampled_from(scope.by_value))
        return info.name, info.size_bound, info.align_bound, info.leaves, info.nested
    prim = draw(st.sampled_from(PRIMS + (WIDE if wide else ()) + WORDS))
    return prim, PRIM_SIZE[prim], PRIM_SIZE[prim], 1, 0


@st.composite
def _flexible(draw, scope: _Scope, name: str) -> _Member:
    """A last member `T[]` (or `T[][n]`) of a scalar, enum or struct."""
    kind = draw(st.sampled_from(("prim", "prim", "enum", "struct")))
    element, size, align, leaves, _ = _element(draw, kind, scope, name)
    if size > MAX_SIZE // 16:
        element, size, align, leaves = "u8", 1, 1, 1
    row = draw(st.sampled_from(("", "", "", "[2]", "[3]")))
    member = {"name": name, "type": f"{element}[]{row}"}
    if element in scope.enums or element in PRIMS:
        order = draw(st.sampled_from(ORDERS))
        if order is not None:
            member["endian"] = order
    return _Member(member, leaves=0, nested=1, size_bound=align, align_bound=align)


def _go_flexible(draw, scope: _Scope, name: str) -> dict:
    """A struct Go can express although it ends in a flexible array: Go adds a byte after a
    trailing zero-length array, which only C's tail padding may absorb. Its fields are
    scalars that lie alike on every arch, so the array's offset is known here, and u8 fields
    move it off the struct's alignment (8, or 4 where a 32-bit arch may align it so; no
    pointers then, whose size differs)."""
    fields = [{"name": f"{name.lower()}_f0", "type": "u64"}]
    end, align = 8, 4 if scope.narrow else 8
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(("prim", "enum") + (() if scope.narrow else ("pointer",))))
        text, size = _go_scalar(draw, kind, scope, name)
        fields.append({"name": f"{name.lower()}_f{len(fields)}", "type": text})
        end = _round_up(end, size) + size
    element = draw(st.sampled_from(("u8", "i8", "bool8", "u16") + (() if scope.narrow else ("i32", "u32"))))
    while _round_up(end, PRIM_SIZE[element]) % align == 0:
        fields.append({"name": f"{name.lower()}_f{len(fields)}", "type": "u8"})
        end += 1
    fields.append({"name": f"{name.lower()}_f{len(fields)}", "type": f"{element}[]"})
    return {"fields": fields}


def _go_scalar(draw, kind: str, scope: _Scope, struct: str) -> tuple:
    """(type, size) of a scalar whose alignment is its size on every arch of the scope (so no
    8-byte ones next to a 32-bit arch, which may align them to 4)."""
    fits = [name for name, (base, _) in sorted(scope.enums.items()) if not scope.narrow or PRIM_SIZE[base] <= 4]
    if kind == "enum" and fits:
        enum = draw(st.sampled_from(fits))
        return enum, PRIM_SIZE[scope.enums[enum][0]]
    if kind == "pointer":
        return f"ptr({draw(st.sampled_from(['', struct]))})", 8
    prim = draw(st.sampled_from([p for p in PRIMS if not scope.narrow or PRIM_SIZE[p] <= 4]))
    return prim, PRIM_SIZE[prim]


def _round_up(value: int, align: int) -> int:
    return (value + align - 1) // align * align


@st.composite
def _struct(draw, scope: _Scope, name: str, go: bool, union: bool) -> tuple:
    """(struct or union mapping, _Info); members that would exceed the bounds are dropped."""
    if go and not union and GO_FLEXIBLE and draw(st.sampled_from((False,) * 9 + (True,))):
        body = _go_flexible(draw, scope, name)
        return body, _Info(name, len(body["fields"]), len(body["fields"]), 64, 8, flexible=True)
    wanted = draw(st.integers(1, 8))
    members, leaves, nested, size, align = [], 0, 0, 0, 1
    for index in range(wanted):
        member = draw(_member(scope, name, index, go, union))
        if leaves + member.leaves > MAX_LEAVES or nested + member.nested > MAX_NESTED \
                or size + member.size_bound > MAX_SIZE:
            continue
        members.append(member.spec)
        leaves, nested = leaves + member.leaves, nested + member.nested
        size, align = size + member.size_bound, max(align, member.align_bound)
    # Every arch needs a plain field: a union an alternative, a flexible array one before it.
    if not any("type" in m and "bits" not in m and "arch" not in m for m in members):
        members.append({"name": f"{name.lower()}_f{wanted}", "type": "u8"})
        leaves, nested, size = leaves + 1, nested + 1, size + 1
    flexible = not go and not union and draw(st.sampled_from((False,) * 7 + (True,)))
    if flexible:
        member = draw(_flexible(scope, f"{name.lower()}_f{wanted + 1}"))
        members.append(member.spec)
        align = max(align, member.align_bound)
    body = {"fields": members}
    has_bits = any("bits" in m for m in members)
    orders = (scope.native,) if has_bits and scope.native else () if has_bits else ("big", "little")
    order = draw(st.sampled_from((None,) * 5 + orders))
    if order is not None:
        body["endian"] = order  # bitfields keep the arch's order: a struct's may only repeat it
    if not go:
        over_aligned = {info.name for info in scope.structs if info.explicit_align}
        holds_over_aligned = any(held in over_aligned for held in _held_types(members))
        if draw(st.sampled_from((False, False, False, True))) and not holds_over_aligned:
            body["packed"] = True
        if draw(st.sampled_from((None,) * 16 + ALIGNS)) is not None:
            body["align"] = draw(st.sampled_from(ALIGNS))
            align = max(align, body["align"])
    return body, _Info(name, leaves, nested, size + align, align, "align" in body, flexible)


# ---- whole specs -----------------------------------------------------------


@st.composite
def specs(draw, name: str, slots: int, go: bool, archs=("amd64", "arm64"), int128=(), narrow=(),
          big=()) -> dict:
    """A spec with up to `slots` structs and unions (each slot shrinks to absent); `go` leaves
    out every `packed` and `align` and keeps flexible arrays where Go's padding matches C's,
    so the Go target accepts it, and otherwise the spec lists only the C and Python targets.
    `archs` is the spec's `archs:`; 128-bit integers are drawn when all of them are in `int128`,
    `narrow` names the 32-bit arches and `big` the big-endian ones."""
    params = draw(_params())
    constants = draw(_constants(params, tuple(archs)))
    enums = {f"E{i}": e for i, e in enumerate(draw(st.lists(_enum(), max_size=4)))}
    largest = {k: _largest(v, params) for k, v in constants.items()}
    largest.update({k: max(p["values"]) for k, p in params.items()})  # array lengths may name it
    scope = _Scope(largest, {k: (e["type"], max(_bits_for(v["value"], e["type"].startswith("i"))
                                                for v in e["values"])) for k, e in enums.items()},
                   archs=tuple(archs), wide=set(archs) <= set(int128), narrow=bool(set(archs) & set(narrow)),
                   native={1: "big", 0: "little"}.get(len(set(archs) & set(big)) / len(archs), ""))
    structs, unions = {}, {}
    for slot in range(slots):
        if not draw(st.sampled_from((False, True, True, True, True, True, True, True))):
            continue
        union = draw(st.sampled_from((False,) * 5 + (True,)))
        struct_name = f"{'U' if union else 'S'}{slot}"
        body, info = draw(_struct(scope, struct_name, go, union))
        (unions if union else structs)[struct_name] = body
        scope.structs.append(info)
    if not structs:
        structs["S0"] = {"fields": [{"name": "s0_f0", "type": "u8"}]}
    spec = {"layoutgen": 1, "name": name, "archs": list(archs)}
    if not go:
        spec["targets"] = ["c", "python"]
    if params:
        spec["params"] = params
    spec.update({"constants": dict(constants, **draw(_typed_constants(scope.wide and not go))), "enums": enums,
                 "structs": structs})
    if unions:
        spec["unions"] = unions
    if not enums:
        del spec["enums"]
    return spec


def _bodies(spec: dict) -> dict:
    return dict(spec["structs"], **spec.get("unions", {}))


def fields_of(spec: dict, arch: str) -> dict:
    """Struct (and union) name -> {field name: kind} on `arch`: every name C reaches in it, with
    padding and reserved space left out, and the hidden names of anonymous members Go checks.
    For the coverage checks, each kind says which facts each target must state:

      field     a plain field: C offset and size, Go offset and size, Python offset
      bits      a named bitfield: DWARF and Go bit positions, Python bit position
      flex      a flexible array: C offset, Go offset and size, Python offset
      anon      an anonymous member `<Parent>Anon<n>` (only Go names it): Go offset and size
      promoted  a member of an anonymous member that Go promotes to the parent: C offset and
                size, Go offset only (through an embedded struct's Offsetof or a union's
                accessor), Python offset
      inner     a member of an anonymous member that the parent's Go test does not reach (a
                byte-ordered member behind a union, which Go reads through get/set methods):
                C offset and size, Python offset; Go checks it in the hidden type's own test
    A union's anonymous members have no Go name: the union forwards their members' accessors,
    so those are `field`s of the union (Go offset and size through the accessor).
    """
    enums = spec.get("enums", {})

    def ordered(member: dict, endian) -> bool:
        """Stored in a fixed byte order: its own, or its struct's (which reaches anonymous members)."""
        element = str(member["type"]).split("[")[0]
        base = enums[element]["type"] if element in enums else element
        return ("endian" in member or endian is not None) and PRIM_SIZE.get(base, 0) > 1

    def visible(members: list, owner: str, reach: str, endian=None) -> dict:
        """`reach`: how the parent's Go test reaches these members: `own`, `struct` (promoted
        through embedded anonymous structs), `union` (through an anonymous union's accessors)
        or `none`."""
        found, anonymous = {}, 0
        for member in members:
            word = "union" if "union" in member else "struct" if "struct" in member else None
            hidden = f"{owner}Anon{anonymous}"
            anonymous += word is not None  # numbered on every arch, as the resolver does
            if arch not in member.get("arch", [arch]):
                continue
            if word is not None:
                if reach == "own" and owner in unions:
                    inner = "forward"  # the union's own accessors reach them, at any depth
                elif reach == "own":
                    found[hidden] = "anon"
                    inner = word
                elif reach == "struct":
                    inner = word
                else:
                    inner = reach  # `union` and `forward` reach on through nested anonymous members
                found.update(visible(member[word], hidden, inner, endian))
            elif "name" in member:
                if reach == "own":
                    found[member["name"]] = "bits" if "bits" in member else "flex" if "[]" in str(member["type"]) \
                        else "field"
                elif reach == "struct" or (reach == "union" and not ordered(member, endian)):
                    found[member["name"]] = "promoted"
                elif reach == "forward" and not ordered(member, endian):
                    found[member["name"]] = "field"
                else:
                    found[member["name"]] = "inner"
        return found

    unions = set(spec.get("unions", {}))
    return {name: visible(body["fields"], name, "own", body.get("endian")) for name, body in _bodies(spec).items()}


def hidden_of(spec: dict, arch: str) -> tuple:
    """({hidden name: {field: kind}}, hidden union names): the declarations of the anonymous
    members on `arch`, which only Go names (and tests as types of their own)."""
    found, unions = {}, set()

    def visit(members: list, owner: str, endian) -> None:
        anonymous = 0
        for member in members:
            word = "union" if "union" in member else "struct" if "struct" in member else None
            if word is None:
                continue
            hidden = f"{owner}Anon{anonymous}"
            anonymous += 1
            if arch in member.get("arch", [arch]):
                alone = {"structs": {}, "unions": {}, "enums": spec.get("enums", {})}
                body = {"fields": member[word], **({"endian": endian} if endian else {})}  # inherited
                alone["unions" if word == "union" else "structs"][hidden] = body
                found.update(fields_of(alone, arch))
                if word == "union":
                    unions.add(hidden)
                visit(member[word], hidden, endian)

    for name, body in _bodies(spec).items():
        visit(body["fields"], name, body.get("endian"))
    return found, unions


def _walk(members: list, around: tuple = ()):
    """(member, the words of the anonymous members around it, outermost first) for every
    member, anonymous members' own included."""
    for member in members:
        yield member, around
        for word in ("union", "struct"):
            yield from _walk(member.get(word, []), around + (word,))


def features(spec: dict) -> dict:
    """How often each kind of construct occurs in a spec, so a run can show it covered them all."""
    enums, structs, unions = set(spec.get("enums", {})), set(spec["structs"]), set(spec.get("unions", {}))
    found = dict.fromkeys((
        "packed", "struct align", "field align", "padding", "pointer", "enum field", "bool", "nested struct",
        "array of structs", "2-D array", "arch-only field", "sizeof/alignof length", "per-arch constant",
        "union", "union field", "array of unions", "union in union", "bitfield", "signed bitfield",
        "bool bitfield", "enum bitfield", "unnamed bitfield", "zero-width bitfield", "packed bitfield",
        "big-endian field", "little-endian field", "struct byte order", "flexible array",
        "flexible array of structs", "reserved", "param", "param constant", "param length",
        "anonymous struct", "anonymous union", "nested anonymous", "anonymous in union", "arch-only anonymous",
        "128-bit field", "128-bit array", "128-bit byte order", "128-bit in union", "128-bit packed",
        "128-bit constant", "long field"), 0)
    params = set(spec.get("params", {}))

    def count(key: str, present) -> None:
        found[key] += 1 if present else 0

    count("param", params)
    param_constants = {k for k, v in spec["constants"].items() if isinstance(v, str) and "p0" in v}
    count("param constant", param_constants)
    for value in spec["constants"].values():
        count("per-arch constant", isinstance(value, dict) and isinstance(value["value"], dict))
        count("128-bit constant", isinstance(value, dict) and value.get("type") in WIDE)
    for name, body in _bodies(spec).items():
        for member, around in _walk(body["fields"]):
            depth = len(around)
            word = "union" if "union" in member else "struct" if "struct" in member else None
            if word is not None:
                count(f"anonymous {word}", True)
                count("nested anonymous", depth > 0)
                count("anonymous in union", depth == 0 and name in unions)
                count("arch-only anonymous", "arch" in member)
            elif str(member.get("type", "")).split("[")[0] in WIDE:
                count("128-bit field", True)
                count("128-bit array", "[" in member["type"])
                count("128-bit byte order", "endian" in member or "endian" in body and depth == 0)
                count("128-bit in union", name in unions or "union" in around)
                count("128-bit packed", body.get("packed") and depth == 0)
        count("union", name in unions)
        count("packed", body.get("packed"))
        count("struct align", "align" in body)
        count("struct byte order", "endian" in body)
        for member in body["fields"]:
            text = str(member.get("type", member.get("pad", member.get("reserved"))))
            element = text.split("[")[0]
            count("padding", "pad" in member)
            count("reserved", "reserved" in member)
            count("sizeof/alignof length", "sizeof(" in text or "alignof(" in text)
            count("param length", "[" in text and set(re.findall(r"\w+", text)) & (param_constants | params))
            if "bits" in member:
                count("bitfield", "name" in member)
                count("unnamed bitfield", "name" not in member and member["bits"] != 0)
                count("zero-width bitfield", member["bits"] == 0)
                count("signed bitfield", "name" in member and element.startswith("i"))
                count("bool bitfield", "name" in member and element.startswith("bool"))
                count("enum bitfield", "name" in member and element in enums)
                count("packed bitfield", body.get("packed"))
                continue
            if "name" not in member:
                continue
            count("union field", name in unions)
            count("field align", "align" in member)
            count("big-endian field", member.get("endian") == "big")
            count("little-endian field", member.get("endian") == "little")
            count("flexible array", "[]" in text)
            count("flexible array of structs", "[]" in text and element in structs)
            count("pointer", element.startswith("ptr("))
            count("long field", element in WORDS)
            count("enum field", element in enums)
            count("bool", element.startswith("bool"))
            count("nested struct", element in structs and "[" not in text)
            count("array of structs", element in structs and "[" in text and "[]" not in text)
            count("array of unions", element in unions and "[" in text)
            count("union in union", element in unions and name in unions)
            count("2-D array", text.count("[") == 2)
            count("arch-only field", "arch" in member)
    return found
