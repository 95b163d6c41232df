"""Build the spec from the per-arch declarations, prove it against the compiler's layout with
layoutgen's own engine (choosing `packed` where only packing explains the header's layout), and
render it as YAML through PyYAML's safe emitter."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import yaml

from .. import escape, layout as lay, load, naming, resolve
from ..check import dwarf as check_dwarf
from ..errors import SpecError
from . import merge, names
from .model import Aggregate, Array, Enum, EnumType, ImportFailure, Named, Pointer, Prim, Unsupported, typeof_parts

ROUNDS = 32  # one explanation per differing type and arch a round, inside out; each round adds one or stops
ZERO, BITS = ":0", "bits"  # how a break DWARF cannot show is written: a `:0` field, or unnamed padding bits


@dataclass
class Read:
    """What the probes gave, per arch."""

    archs: tuple
    keys: dict  # arch -> keys of the named types
    decls: dict  # arch -> {key: Aggregate or Enum}
    macros: dict  # arch -> {macro: value}
    alignments: dict  # arch -> {key of a struct or union: its alignment, as _Alignof says}
    units: dict  # arch -> read.Unit, the probe's top-level declarations
    header: object = None  # probe.Header read
    defines: tuple = ()
    include_dirs: tuple = ()
    skipped: list = field(default_factory=list)  # what the probes left out, one line each


@dataclass
class Options:
    spec_name: str
    include: str  # external.include of every type the header owns
    own: frozenset = frozenset()  # keys the spec owns (--own); the rest stay external
    includes: dict = field(default_factory=dict)  # key -> include, for external types under --own
    renames: dict = field(default_factory=dict)


class Builder:
    def __init__(self, read: Read, options: Options):
        self.read, self.options = read, options
        self.packed = {}  # key -> arches where the spec says `packed`, chosen by `build`
        self.packed_anon = set()  # (key, arch, index path): a packed anonymous member, chosen by `build`
        self.breaks = {}  # (spec name, arch, member) -> ZERO or BITS: a gap DWARF cannot show goes before it
        self.losses = {}  # (what was lost, where) -> arches; kept across the rebuilds of `build`
        self.order = _reach_order(read)
        self.name = {key: names.type_name(key, options.renames) for key in self.order}
        _refuse_clashes(self.name)

    # ---- members -------------------------------------------------------------

    def fields(self, agg: Aggregate, arch: str, where: str, path: tuple = ()) -> list:
        """The spec's members of one arch's declaration; `path` is the index path of the
        anonymous member `agg` is, inside the named type `where` (() for the type itself)."""
        items, end_bit = [], 0
        for index, member in enumerate(agg.members):
            if agg.kind == "union":
                end_bit = 0
            if member.inline is not None:
                item = self._anonymous(member, arch, where, path + (index,))
                end_bit = (member.offset + member.size) * 8
            elif member.bits is not None:
                packed = self._packed(self._key_of(where), arch, path)
                items += _bit_gap(member, end_bit, packed, self.breaks.get((where, arch, member.name)))
                item = {**names.field(member.name), "type": self.type_text(member.type, member.size, arch,
                                                                           f"{where}.{member.name}"),
                        "bits": member.bits}
                end_bit = member.bit + member.bits
            else:
                style = self.breaks.get((where, arch, member.name))
                if style:
                    items += _byte_gap(end_bit, member.offset * 8, style)
                item = {**names.field(member.name),
                        "type": self.type_text(member.type, member.size, arch, f"{where}.{member.name}")}
                if _endian(member.type):
                    item["endian"] = _endian(member.type)
                if member.align:
                    item["align"] = member.align
                end_bit = (member.offset + member.size) * 8
            items.append(item)
        return items

    def _anonymous(self, member, arch: str, where: str, path: tuple) -> dict:
        """An anonymous struct or union member, with `packed` where `build` chose it (on the
        arches that chose it, said the same way in every arch's list so the lists still merge)."""
        item = {member.inline.kind: self.fields(member.inline, arch, where, path)}
        key = self._key_of(where)
        declaring = [a for a in self.read.archs if key in self.read.decls[a]]
        packed_on = [a for a in declaring if (key, a, path) in self.packed_anon]
        if packed_on:
            item["packed"] = True if packed_on == declaring else packed_on
        if member.align:
            item["align"] = member.align
        return item

    def _packed(self, key: str, arch: str, path: tuple) -> bool:
        """Whether the declaration at `path` in `key` (the type itself for ()) is packed on `arch`."""
        if path:
            return (key, arch, path) in self.packed_anon
        return arch in self.packed.get(key, ())

    def type_text(self, ref, size: int, arch: str, where: str) -> str:
        if isinstance(ref, Prim):
            return ref.name
        if isinstance(ref, (Named, EnumType)):
            return self.name[ref.key]
        if isinstance(ref, Pointer):
            return f"ptr({self.name[ref.target]})" if ref.target in self.name and ref.target in self._aggregates() else "ptr()"
        if isinstance(ref, Array) and not _unsupported(ref.element):
            dims = ("[]" if ref.flexible else "") + "".join(f"[{n}]" for n in ref.dims)
            return self.type_text(ref.element, 0, arch, where) + dims
        what = ref.what if isinstance(ref, Unsupported) else "an array of " + _unsupported(ref.element).what
        stand_in = f"u{size * 8}" if size in (1, 2, 4, 8, 16) and not isinstance(ref, Array) else f"u8[{size}]"
        self.losses.setdefault((f"{what} has no spec type; written as {stand_in}", where), set()).add(arch)
        return stand_in

    def _key_of(self, spec_name: str) -> str:
        return next(key for key, name in self.name.items() if name == spec_name)

    @property
    def lost(self) -> list:
        """One line per thing the spec could not express, naming the type, member and arches."""
        return [f"{where} on {', '.join(a for a in self.read.archs if a in archs)}: {what}"
                for (what, where), archs in self.losses.items()]

    def _aggregates(self) -> set:
        return {k for decls in self.read.decls.values() for k, d in decls.items() if isinstance(d, Aggregate)}

    # ---- declarations --------------------------------------------------------

    def spec(self, targets=None) -> dict:
        archs = self.read.archs
        root = {"layoutgen": 1, "name": self.options.spec_name, "archs": list(archs)}
        if targets:
            root["targets"] = list(targets)
        constants = self.constants()
        if constants and not self.options.own:
            root["external_constants"] = self.options.include  # the header defines them
        if constants:
            root["constants"] = constants
        sections = {"enums": {}, "structs": {}, "unions": {}}
        for key in self.order:
            per_arch = {a: self.read.decls[a][key] for a in archs if key in self.read.decls[a]}
            first = next(iter(per_arch.values()))
            if isinstance(first, Enum):
                sections["enums"][self.name[key]] = self.enum(key, per_arch)
            else:
                section = "unions" if first.kind == "union" else "structs"
                sections[section][self.name[key]] = self.aggregate(key, per_arch, self.packed.get(key, ()))
        root.update({k: v for k, v in sections.items() if v})
        return root

    def _owner(self, key: str, kind: str) -> dict:
        """`external:` (or, for a type the spec owns, the C spelling when the naming rule differs)."""
        names.c_type(key)
        tag = names.c_tag(key) if typeof_parts(key) is None else None
        # The header's spelling, kept under --own for the declaration and in every case for the
        # names built from it (offsetof_sysmsg_state for struct sysmsg, THREAD_STATE_NONE).
        keep = (tag is not None and naming.snake(self.name[key]) != tag
                and not naming.generated_clash("c", tag))  # `__sigset_t` is the system's name, not ours
        node = {"c": tag} if keep else {}
        if key in self.options.own:
            return node
        include = self.options.includes.get(key, self.options.include)
        if kind == "enum":
            return {**node, "external": {"include": include}}
        return {**node, "external": {"c_type": key, "include": include}}

    def aggregate(self, key: str, per_arch: dict, packed_on) -> dict:
        archs = self.read.archs
        node = self._owner(key, "aggregate")
        if typeof_parts(key):  # FeatPair's offset macros would be Feat.pair's: offsetof_feat_pair_*
            node["asm"] = naming.snake(self.name[key]) + "_type"
        present = merge.arch_subset(per_arch, archs)
        if present:
            node["arch"] = present
        aligns = {a: d.align for a, d in per_arch.items() if d.align}
        if aligns:
            node["align"] = merge.per_arch_value(aligns, archs) if len(aligns) == len(per_arch) else aligns
        if packed_on:
            node["packed"] = True if set(packed_on) >= set(per_arch) else [a for a in archs if a in packed_on]
        node.update(merge.body({a: self.fields(d, a, self.name[key]) for a, d in per_arch.items()}, archs))
        return node

    def enum(self, key: str, per_arch: dict) -> dict:
        archs = self.read.archs
        first = next(iter(per_arch.values()))
        if any(d != first for d in per_arch.values()):
            self.losses.setdefault(("its values differ per arch; a spec enum has one set (written as on "
                                    f"{next(iter(per_arch))})", key), set()).update(per_arch)
        node = self._owner(key, "enum")
        present = merge.arch_subset(per_arch, archs)
        if present:
            node["arch"] = present
        node["type"] = f"{'i' if first.signed else 'u'}{first.size * 8}"
        tag = node.get("c") or (naming.snake(self.name[key]))
        node["values"] = [{**names.enum_value(tag, c_name), "value": value} for c_name, value in first.values]
        return node

    def constants(self) -> dict:
        archs, every = self.read.archs, {}
        for arch in archs:
            for name, value in self.read.macros.get(arch, {}).items():
                every.setdefault(names.constant(name), {})[arch] = value
        result = {}
        for name in sorted(every):
            values = {a: _literal(v) for a, v in every[name].items()}
            value = merge.per_arch_value(values, archs)
            present = merge.arch_subset(values, archs)
            result[name] = {"value": value, "arch": present} if present else value
        return result

    # ---- proving ---------------------------------------------------------------

    def build(self) -> tuple:
        """(spec dict, problems): breaks and packing chosen until the engine lays out every type
        as the header does; problems name each type and arch it still does not."""
        spec, layouts = prove(self.spec())
        for _ in range(ROUNDS):
            differing = self.differences(spec, layouts)
            if not differing or not self._explain(differing, spec, layouts):
                break
            spec, layouts = prove(self.spec())
        else:
            differing = self.differences(spec, layouts)
        problems = [_with_cause(report.splitlines()[-1].strip())
                    for reports in differing.values() for report in reports.values()]
        targets = None if _go_accepts(spec, layouts) else ("c", "python")
        return self.spec(targets), problems

    def _explain(self, differing: dict, spec, layouts) -> bool:
        """For each difference, inside out, the one explanation that brings the engine's layout
        closest to the header's (tried with the engine, the first of the best on a tie).
        False: nothing explains any of them better."""
        progress = False
        for key, reports in differing.items():
            for arch in reports:
                decl = self.read.decls[arch][key]
                if _contained(decl) & {k for k, r in differing.items() if arch in r}:
                    continue  # its members' types first
                expected = check_dwarf.spec_shape(spec, layouts[arch], self.name[key])
                best, score = None, self._score(key, arch)
                for choice in self._choices(key, arch, decl, _first_moved(expected, decl.shape), expected):
                    saved = self._state()
                    self._apply(choice)
                    tried = self._score(key, arch)
                    self.breaks, self.packed, self.packed_anon = saved
                    if tried > score:
                        best, score = choice, tried
                if best is not None:
                    self._apply(best)
                    progress = True
        return progress

    def _choices(self, key: str, arch: str, decl: Aggregate, moved, expected) -> list:
        """What may explain a difference, preferred first: a break before the first member that
        moved (a `:0` field, then padding bits), `packed` on the anonymous members that hold it
        (innermost first), then `packed` on the type."""
        choices = []
        if _needs_bits_before(moved, expected):
            spot = (self.name[key], arch, moved.name)
            choices += [("break", spot, style) for style in {None: (ZERO, BITS), ZERO: (BITS,)}.get(
                self.breaks.get(spot), ())]
        paths = _anonymous_paths(decl, moved.name) if moved is not None else []
        choices += [("packed_anon", (key, arch, path), None) for path in reversed(paths)
                    if (key, arch, path) not in self.packed_anon]
        if arch not in self.packed.get(key, ()):
            choices.append(("packed", key, arch))
        return choices

    def _apply(self, choice) -> None:
        kind, spot, value = choice
        if kind == "break":
            self.breaks[spot] = value
        elif kind == "packed_anon":
            self.packed_anon.add(spot)
        else:
            self.packed.setdefault(spot, set()).add(value)

    def _state(self) -> tuple:
        """A copy of the choices made so far, to try one and take it back."""
        return dict(self.breaks), {k: set(v) for k, v in self.packed.items()}, set(self.packed_anon)

    def _score(self, key: str, arch: str) -> tuple:
        """How close the engine's layout of one type is to the header's: how many of its members
        (in the header's order) are placed as the header has them before the first that is not,
        then whether the size and the alignment agree. A spec the engine refuses scores lowest."""
        try:
            spec, layouts = prove(self.spec())
        except ImportFailure:
            return (-1,)
        actual = self.read.decls[arch][key].shape
        expected = check_dwarf.spec_shape(spec, layouts[arch], self.name[key])
        placed = {m.name: m.place for m in expected.members}
        matched = next((i for i, m in enumerate(actual.members) if placed.get(m.name) != m.place),
                       len(actual.members))
        have = self.read.alignments[arch].get(key)
        return matched, expected.size == actual.size, have in (None, layouts[arch].structs[self.name[key]].align)

    def differences(self, spec, layouts) -> dict:
        """{key: {arch: report}} for every named type whose engine layout is not the header's."""
        found = {}
        for arch in self.read.archs:
            for key, decl in self.read.decls[arch].items():
                if not isinstance(decl, Aggregate):
                    continue
                label = f"{key} ({arch})"
                report = check_dwarf.compare(label, key, check_dwarf.spec_shape(spec, layouts[arch], self.name[key]),
                                             decl.shape)
                want, have = layouts[arch].structs[self.name[key]].align, self.read.alignments[arch].get(key)
                if not report and have is not None and want != have:
                    report = f"  {label}: alignment: spec says {want}, compiler says {have}"
                if report:
                    found.setdefault(key, {})[arch] = report
        return found


_TAIL_ONLY = re.compile(r"^[^:]+ \(\S+\): size: spec says (\d+), compiler says (\d+)$")


def _with_cause(problem: str) -> str:
    """A size the header has past every member DWARF names: an unnamed bitfield at the end
    leaves no member in DWARF (nor its type, which may align the struct), so import cannot state it."""
    tail = _TAIL_ONLY.match(problem)
    if tail is None or int(tail.group(1)) >= int(tail.group(2)):
        return problem
    return f"{problem} (bytes past the last member DWARF names: an unnamed bitfield at the end, which import cannot state)"


def prove(root: dict) -> tuple:
    text = render(root, [])
    try:
        spec = resolve.resolve(load.load_text(text, "<import>"), "<import>", text.encode("utf-8"))
        return spec, lay.layout_all(spec)
    except SpecError as error:
        raise ImportFailure(f"the spec read from the header is refused: {error.problems[0]}") from None


def _go_accepts(spec, layouts) -> bool:
    from ..targets import go
    from ..targets.common import Context
    try:
        go.render(Context(spec=spec, layouts=layouts, spec_label="<import>"))
    except SpecError:
        return False
    return True


def render(root: dict, comments: list) -> str:
    """The spec as YAML: PyYAML's safe emitter, members in flow style as the corpus writes them."""
    head = "".join(f"# {escape.python_comment(line)}\n" for line in comments)
    return head + yaml.safe_dump(root, sort_keys=False, default_flow_style=None, width=120, allow_unicode=False)


def _bit_gap(member, end_bit: int, packed: bool, style) -> list:
    """Unnamed bitfields that reproduce what DWARF cannot show: padding bits and `:0` breaks.
    A break is tried first (the smallest unit that lands exactly on the member), then padding
    bits in the smallest unit that holds them without crossing its end; in a packed struct,
    padding bits only. `style` (ZERO or BITS): the engine placed the member elsewhere without
    a gap, so one goes in, of that form, even where C would move the member anyway."""
    unit = member.size * 8
    fits = end_bit % unit + member.bits <= unit
    natural = end_bit if packed or fits else _round_up(end_bit, unit)
    if (member.bit == natural and not style) or member.bit <= end_bit:
        return []
    if style == ZERO or (not packed and style is None):
        for size in sorted({unit, 8, 16, 32, 64}):
            if member.bit % size == 0 and _round_up(end_bit, size) == member.bit:
                return [{"type": f"u{size}", "bits": 0}]
    width = member.bit - end_bit
    for size in (8, 16, 32, 64):
        if end_bit % size + width <= size:
            return [{"type": f"u{size}", "bits": width}]
    return [{"type": f"u{unit}", "bits": 0}]  # the engine proves it, or the mismatch is reported


def _byte_gap(start: int, end: int, style: str) -> list:
    """The gap before a member that is not a bitfield, from bit `start` to its first bit `end`:
    a `:0` break of the smallest unit that lands exactly there (ZERO, when one does; on arm64
    it also aligns the struct, as the header's may), else padding bits."""
    if style == ZERO:
        for size in (8, 16, 32, 64):
            if end % size == 0 and _round_up(start, size) == end and start < end:
                return [{"type": f"u{size}", "bits": 0}]
    return _padding_bits(start, end)


def _needs_bits_before(moved, expected) -> bool:
    """Unnamed bitfields explain a moved bitfield, or a member the header has later than the
    spec would put it (padding bits DWARF does not list)."""
    if moved is None:
        return False
    if moved.bits is not None:
        return True
    spec_side = next((m for m in expected.members if m.name == moved.name), None)
    return spec_side is not None and spec_side.offset < moved.offset


def _padding_bits(start: int, end: int) -> list:
    """Unnamed bitfields covering bits [start, end), each inside one aligned unit of its type."""
    size = next((n for n in (8, 16, 32, 64) if start % n + (end - start) <= n), 8)  # one unit, or bytes
    items = []
    while start < end:
        width = min(end - start, size - start % size)
        items.append({"type": f"u{size}", "bits": width})
        start += width
    return items


def _first_moved(expected, actual):
    """The first member, in the header's order, that the spec places elsewhere (None: none)."""
    placed = {m.name: m.place for m in expected.members}
    return next((m for m in actual.members if placed.get(m.name) != m.place), None)


def _anonymous_paths(agg, name: str, path: tuple = ()) -> list:
    """The index paths of the anonymous members that hold member `name`, outermost first."""
    for index, member in enumerate(agg.members):
        if member.inline is not None and _declares(member.inline, name):
            inner = path + (index,)
            return [inner] + _anonymous_paths(member.inline, name, inner)
    return []


def _declares(agg, name: str) -> bool:
    return any(m.name == name or (m.inline is not None and _declares(m.inline, name)) for m in agg.members)


def _contained(decl) -> set:
    """The keys of the structs and unions a declaration holds by value."""
    keys = set()
    for member in decl.members:
        if member.inline is not None:
            keys |= _contained(member.inline)
            continue
        ref = member.type
        while isinstance(ref, Array):
            ref = ref.element
        if isinstance(ref, Named):
            keys.add(ref.key)
    return keys


def _endian(ref):
    while isinstance(ref, Array):
        ref = ref.element
    return ref.endian if isinstance(ref, Prim) else None


def _round_up(value: int, step: int) -> int:
    return -(-value // step) * step


def _unsupported(ref):
    while isinstance(ref, Array):
        ref = ref.element
    return ref if isinstance(ref, Unsupported) else None


def _literal(value: int):
    """Values past int64 as hex, which C (and the spec) types unsigned long."""
    return f"{value:#x}" if value > (1 << 63) - 1 else value


def _reach_order(read: Read) -> list:
    order = []
    for arch in read.archs:
        for key in read.decls[arch]:
            if key not in order:
                order.append(key)
    return order


def _refuse_clashes(spec_names: dict) -> None:
    seen = {}
    for key, name in spec_names.items():
        if name in seen:
            raise ImportFailure(f"{seen[name]} and {key} would both be named {name} in the spec "
                                f"(hint: rename one with --name '{key}=OtherName')")
        seen[name] = key
