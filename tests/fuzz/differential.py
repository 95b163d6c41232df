"""Check one generated batch against every reference: the real CLI generates it, then each
arch's gcc (the host's, or Debian's cross gcc: codegen.primitives.ARCHS) compiles its
`_Static_assert`s, the generated construct parsers are imported and measured, and (for batches
Go can express) `go test` runs the Go layout tests natively on amd64 and under the arch's
qemu-user elsewhere, built with the arch's GOARCH.

The asserts and the Go tests compare the compilers with the engine's numbers; the parsers'
sizes and offsets are compared with the engine here, so all of them agree with gcc by way of
the engine. Bitfields have no offsetof in C: the DWARF that gcc writes for a probe of the
header gives their bit positions on every arch, and the parsers' and Go's bit positions
are compared too. The parsers also read random bytes alike through every reader they offer
(fast parser, field-by-field reference, view) and name the field a truncated buffer lacks.
A spec with a parameter is checked in every combination of arch and parameter value (C with
`-D<macro>=<value>`, the Python module of the combination, Go with its build tags). Each
check first proves it covers every struct and field of the batch, so none can pass vacuously.
"""
from __future__ import annotations

import importlib
import platform
import random
import re
import shutil
import subprocess
import sys
import tempfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from hypothesis import HealthCheck, given, note, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from construct import ConstructError

from codegen import layout_types as lay
from codegen.layout import with_combinations
from codegen.layout_walk import nested_fields, visible_slots
from codegen import pipeline
from codegen.check import dwarf
from codegen.check.go import go_env
from codegen.check.toolchain import C_COMPILERS, QEMU
from codegen.primitives import ARCHS as ARCH_TABLE
from codegen.targets import go as go_target
from codegen.targets import python_bits

from .specgen import dump, features, fields_of, hidden_of, specs

ROOT = Path(__file__).resolve().parents[2]
# Where `python -m codegen` runs (and so which codegen it imports): the repo, or for the soak a
# frozen copy, so that edits made to the tree during a long run cannot break it half-way.
CODEGEN_HOME = ROOT
ARCHS = tuple(ARCH_TABLE)  # every arch a batch may be drawn for, in the table's order
INT128 = tuple(name for name, info in ARCH_TABLE.items() if info.int128_align)  # those with __int128
NARROW = tuple(name for name, info in ARCH_TABLE.items() if info.pointer_size == 4)
BIG = tuple(name for name, info in ARCH_TABLE.items() if not info.little_endian)
CHECKS = ("c", "python", "go")  # C means the asserts and gcc's DWARF; go only for batches Go can express
# The same flags the project builds with: the engine refuses a packed struct holding an
# over-aligned struct, so -Wpacked-not-aligned never has anything to say.
C_FLAGS = ["-std=gnu11", "-Wall", "-Wextra", "-Werror", "-fsyntax-only"]
_HOST = {machine: name for name, info in ARCH_TABLE.items() for machine in info.machines}
_ASSERT = re.compile(r'^_Static_assert\(.*, "(?P<message>[^"]*)"\);$')
_ARCH_BLOCK = re.compile(r"^#(?:el)?if (?P<condition>defined\(\w+\).*)$")
_GO_PASS = re.compile(r"^\s*--- PASS: (?P<name>\S+)")


class Mismatch(AssertionError):
    """A reference disagrees with the engine (or a check found nothing to compare)."""


@dataclass
class Tally:
    batches: int = 0
    structs: int = 0
    fields: int = 0
    c_asserts: int = 0  # over every arch (and every parameter combination)
    combinations: int = 0  # (arch, parameter values) combinations checked
    dwarf_members: int = 0  # members whose place gcc's DWARF confirmed, bitfields included
    python_structs: int = 0  # structs whose parsers were checked (on every arch)
    go_structs: int = 0  # structs go test checked (on every arch)
    go_checks: int = 0  # passed Go subtests, over every arch
    features: dict = field(default_factory=dict)  # kind of construct -> occurrences (specgen.features)
    arch_structs: dict = field(default_factory=dict)  # arch -> structs gcc and its DWARF checked there
    arch_batches: dict = field(default_factory=dict)  # arch -> batches that declared it

    def add(self, other: "Tally") -> None:
        for name, value in vars(other).items():
            if isinstance(value, dict):
                counts = getattr(self, name)
                for kind, seen in value.items():
                    counts[kind] = counts.get(kind, 0) + seen
            else:
                setattr(self, name, getattr(self, name) + value)


def tool(name: str) -> str:
    """A real toolchain program; its absence fails the check (never a skip)."""
    path = shutil.which(name)
    if path is None:
        raise Mismatch(f"{name} is missing: run `make toolchains`")
    return path


def check_batch(spec: dict, workdir: Path, go: bool, checks=CHECKS) -> Tally:
    """Generate `spec` into `workdir` with the CLI and run the `checks`; raises Mismatch."""
    spec_path, out = generate(spec, workdir)
    return check_generated(spec, spec_path, out, go, checks)


def generate(spec: dict, workdir: Path) -> tuple:
    """Write the spec and run `python -m codegen generate` on it; returns (spec path, out folder)."""
    workdir.mkdir(parents=True, exist_ok=True)
    spec_path, out = workdir / "spec.yaml", workdir / "out"
    text = dump(spec)
    spec_path.write_text(text)
    result = subprocess.run([sys.executable, "-m", "codegen", "generate", "--spec", str(spec_path), "--out", str(out)],
                            cwd=CODEGEN_HOME, capture_output=True, text=True)
    if result.returncode != 0:
        raise Mismatch(f"generate refused a valid spec:\n{result.stderr}\n--- spec ---\n{text}")
    return spec_path, out


def check_generated(spec: dict, spec_path: Path, out: Path, go: bool, checks=CHECKS) -> Tally:
    """The `checks` (of CHECKS) of a generated batch, arch by arch; Go only when `go`."""
    ir, layouts = pipeline.build(str(spec_path))
    combinations = with_combinations(ir, layouts)
    models = {key: fields_of(spec, layout.variant.arch) for key, layout in combinations.items()}
    tally = Tally(batches=1, structs=len(models[ir.archs[0]]), combinations=len(combinations),
                  fields=len({(s, f) for model in models.values() for s, names in model.items() for f in names}),
                  features=features(spec), arch_batches=dict.fromkeys(ir.archs, 1))
    if "c" in checks:
        for key, layout in combinations.items():
            condition = " && ".join([ARCH_TABLE[layout.variant.arch].c_condition] + [
                f"{ir.param(name).c_macro} == {value}" for name, value in layout.variant.params])
            tally.c_asserts += check_c(out, spec["name"], layout.variant.arch, models[key], condition,
                                       dwarf.param_defines(ir, layout.variant))
        tally.dwarf_members = check_dwarf(ir, layouts, out, combinations, models)
        tally.arch_structs = dict.fromkeys(ir.archs, tally.structs)
    if "python" in checks:
        check_python(out, spec["name"], spec_path, models)
        tally.python_structs = tally.structs
    if go and "go" in checks:
        for key, layout in combinations.items():
            hidden, hidden_unions = hidden_of(spec, layout.variant.arch)
            tally.go_checks += check_go(out, spec["name"], layout.variant.arch,
                                        _go_model(dict(models[key], **hidden), layout),
                                        go_target.build_tags(ir, layout.variant),
                                        set(spec.get("unions", {})) | hidden_unions)
        tally.go_structs = tally.structs
    return tally


def check_dwarf(ir, layouts: dict, out: Path, combinations: dict, models: dict) -> int:
    """gcc's DWARF for a probe of the header, per combination: every member's offset, size and
    (for bitfields) bit position as the engine says; returns the members compared. Every struct
    C names must have been compared, with at least the members the model says C reaches in it
    (an anonymous member's own included)."""
    outcome = dwarf.cross_check(ir, layouts, str(out))
    if outcome.problems:
        raise Mismatch("DWARF disagrees with the engine:\n" + "\n".join(outcome.problems[:5]))
    for key, layout in combinations.items():
        counts, named = outcome.counts.get(key), dwarf.named_structs(ir, layout)
        reached = sum(kind in DWARF_KINDS for names in models[key].values() for kind in _kinds(names).values())
        if counts is None or counts.structs != len(named) or counts.members < reached:
            raise Mismatch(f"DWARF on {key} compared {counts} of {len(named)} structs and {reached} members")
    return sum(counts.members for counts in outcome.counts.values())


# ---- C: one compile per arch -------------------------------------------------


def check_c(out: Path, name: str, arch: str, model: dict, condition: str = "", defines=()) -> int:
    """Compile the asserts for `arch` (the `#if condition` block; by default the arch's alone,
    as for a spec without parameters) with `defines` selecting a parameter combination."""
    source = out / "c" / f"{name}_layout_test.c"
    messages = _assert_messages(source.read_text(), condition or ARCH_TABLE[arch].c_condition)
    facts = {message.rsplit(" ", 1)[0] for message in messages}  # without the number
    missing = [want for want in _wanted_c_facts(model) if want not in facts]
    if missing:
        raise Mismatch(f"{source} ({arch}) asserts nothing about: {', '.join(missing[:10])}")
    result = subprocess.run([tool(C_COMPILERS[arch]), *C_FLAGS, *defines, str(source)], capture_output=True, text=True)
    if result.returncode != 0:
        failed = [line for line in result.stderr.splitlines() if "spec says" in line or "error" in line]
        raise Mismatch(f"{C_COMPILERS[arch]} disagrees with the engine on {arch}:\n" + "\n".join(failed[:40]))
    return len(messages)


def _assert_messages(text: str, condition: str) -> list:
    """The messages of the asserts in the `#if condition` block."""
    messages, inside = [], False
    for line in text.splitlines():
        block = _ARCH_BLOCK.match(line)
        if block:
            inside = block.group("condition") == condition
        elif line.startswith("#endif"):
            inside = False
        elif inside:
            found = _ASSERT.match(line)
            if found:
                messages.append(found.group("message"))
    return messages


def _kinds(names) -> dict:
    """{field: kind} of a model entry (a plain list of names means plain fields)."""
    return names if isinstance(names, dict) else dict.fromkeys(names, "field")


# The facts each kind of model entry (specgen.fields_of) gets from each target.
C_FACTS = {"field": ("offset", "size"), "flex": ("offset",), "bits": (), "anon": (),
           "promoted": ("offset", "size"), "inner": ("offset", "size")}
GO_FACTS = {"field": ("offset", "size"), "flex": ("offset", "size"), "bits": ("bits",), "anon": ("offset", "size"),
            "promoted": ("offset",), "inner": ()}
PYTHON_KINDS = {"field", "flex", "promoted", "inner"}  # the names the parsers' field_offsets hold
DWARF_KINDS = {"field", "flex", "bits", "promoted", "inner"}  # the members gcc's DWARF describes


def _wanted_c_facts(model: dict) -> list:
    """C has no offsetof for a bitfield (DWARF covers those), no size for a flexible array and
    no name for an anonymous member (its members are asserted as the parent's own)."""
    wanted = []
    for struct, names in model.items():
        wanted += [f"{struct}: size: spec says", f"{struct}: alignment: spec says"]
        for field, kind in _kinds(names).items():
            wanted += [f"{struct}.{field}: {fact}: spec says" for fact in C_FACTS[kind]]
    return wanted


# ---- the Python parsers --------------------------------------------------------


def check_python(out: Path, name: str, spec_path: Path, models: dict) -> None:
    """Every struct of the module of every combination in `models` (keyed `amd64`, `arm64_2`):
    sizes, offsets and bit positions as the engine says, and random bytes read alike by every
    reader the module offers."""
    ir, layouts = pipeline.build(str(spec_path))
    combinations = with_combinations(ir, layouts)
    seed = zlib.crc32(spec_path.read_bytes())
    with _imported(out / "python", name):
        runtime = importlib.import_module(f"{name}._runtime")
        bits = None
        if any(python_bits.has_bits(layout) for layout in layouts.values()):
            bits = importlib.import_module(f"{name}._bits")
        for key, model in models.items():
            layout = combinations[key]
            module = importlib.import_module(f"{name}.{key}")
            for index, (struct, names) in enumerate(model.items()):
                laid = layout.structs[struct]
                where = f"{struct} on {key}"
                _check_offsets(module, runtime, layout, struct, names, where)
                if bits is not None:
                    _check_bit_positions(bits, getattr(module, struct), layout, struct, where)
                chance = random.Random(seed + index)
                data, kept = random_value(layout, laid, chance)
                _check_readers(module, struct, data, kept, where)
                fixed = _fixed_size(laid)
                _check_truncation(getattr(module, struct), layout, laid, chance.randrange(fixed), where)


def _flexible(laid) -> bool:
    return getattr(laid, "tail_start", None) is not None


def _fixed_size(laid) -> int:
    """The bytes before a struct's flexible array (its size when it has none)."""
    return laid.tail_start if _flexible(laid) else laid.size


def _check_offsets(module, runtime, layout, struct: str, names, where: str) -> None:
    con, laid = getattr(module, struct), layout.structs[struct]
    fixed = _fixed_size(laid)
    size = con.size if _flexible(laid) else con.sizeof()  # construct gives a flexible struct no size
    if size != fixed:
        raise Mismatch(f"{where}: construct sizeof {size}, engine {fixed}")
    expected = {".".join(slot.field.names.python for slot in chain): offset
                for chain, offset in nested_fields(layout, struct)}
    expected.update(python_bits.frozen_offsets(layout, struct))
    got = runtime.field_offsets(con)
    if any(field not in got for field, kind in _kinds(names).items() if kind in PYTHON_KINDS) or got != expected:
        wrong = sorted(set(expected.items()) ^ set(got.items()))
        raise Mismatch(f"{where}: construct offsets differ from the engine's: {wrong[:10]}")
    dtype = getattr(module, "dtype", None)
    if dtype is not None and not _flexible(laid):
        numpy_type = dtype(struct)
        direct = {slot.field.names.python: offset for slot, offset in visible_slots(layout.structs, struct)
                  if isinstance(slot, lay.FieldSlot)}  # an anonymous member's own, as the parent's
        offsets = {field: numpy_type.fields[field][1] for field in numpy_type.names}
        if numpy_type.itemsize != laid.size or offsets != direct:
            raise Mismatch(f"{where}: numpy dtype has size {numpy_type.itemsize} and offsets {offsets}, "
                           f"engine {laid.size} and {direct}")


def _check_bit_positions(bits, con, layout, struct: str, where: str) -> None:
    expected = {path: (first, width) for path, first, width in python_bits.frozen_bits(layout, struct)}
    got = bits.bit_positions(con)
    if got != expected:
        wrong = sorted(set(expected.items()) ^ set(got.items()))
        raise Mismatch(f"{where}: construct bit positions differ from the engine's: {wrong[:10]}")


def _check_readers(module, struct: str, data: bytes, kept: bytes, where: str) -> None:
    """Parse random bytes with the parser, its field-by-field reference and the view (those that
    exist); all must read the same value, and building it back must give `kept`: the bytes with
    every hole, padding bit and unbuilt union member zeroed."""
    con = getattr(module, struct)
    value = con.parse(data)
    if con.build(value) != kept:
        raise Mismatch(f"{where}: build(parse(data)) is not data with its padding zeroed")
    if con.build(con.parse(bytes(len(data)))) != bytes(len(kept)):
        raise Mismatch(f"{where}: a zero buffer does not survive parse and build")
    reference = getattr(con, "reference", None)
    if reference is not None:
        if reference.parse(data) != value:
            raise Mismatch(f"{where}: the fast parser and the field-by-field reference read different values")
        if reference.build(value) != kept:
            raise Mismatch(f"{where}: the field-by-field reference builds different bytes")
    view_type = getattr(module, f"{struct}View", None)
    if view_type is not None:
        buffer = bytearray(data[:len(kept)])
        view = view_type(buffer)
        if view.unpack() != value:
            raise Mismatch(f"{where}: the view reads a different value than the parser")
        view.pack(value)
        if bytes(buffer) != kept:
            raise Mismatch(f"{where}: writing a parsed value through the view is not data with its padding zeroed")


def random_value(layout, laid, chance: random.Random) -> tuple:
    """(random bytes for one `laid`, those bytes as building their parsed value gives them). A
    struct ending in a flexible array gets 0 to 3 elements and a few stray bytes after them,
    which parsing skips (only whole elements are read). Where the alternatives of an anonymous
    union cover different bytes, the data is zero, so that its parsed members agree (else
    building from the parent's mapping cannot tell which one to write)."""
    fixed, mask, free = _fixed_size(laid), bytearray(value_mask(layout, laid)), free_mask(layout, laid)
    flex = getattr(laid, "flex", None)
    if flex is not None:
        element = flex.element_size
        count = chance.randrange(4)
        rows = free_mask(layout, layout.structs[flex.struct]) * (element // layout.structs[flex.struct].size) \
            if flex.struct is not None else b"\xff" * element
        mask = mask[:fixed] + _element_mask(layout, flex, element) * count
        free = free[:fixed] + rows * count + b"\xff" * chance.randrange(element)
    data = bytes(byte & allowed for byte, allowed in zip(chance.randbytes(len(free)), free))
    return data, bytes(byte & keep for byte, keep in zip(data, mask))


def value_mask(layout, laid) -> bytes:
    """0xff over every bit that building a parsed value writes back: scalar fields and named
    bitfields, in nested structs too; of a union only its first member present (the one
    `build` chooses, as the mapping names every member); 0 over holes, padding, padding
    bits, reserved space and the rest of a union."""
    mask = bytearray(laid.size)
    slots = laid.slots
    if isinstance(laid, lay.UnionLayout):
        slots = [next(slot for slot in slots if isinstance(slot, lay.FieldSlot))]
    for slot in slots:
        if isinstance(slot, lay.FieldSlot):
            mask[slot.offset:slot.offset + slot.size] = _element_mask(layout, slot, slot.size // slot.count) * slot.count
        elif isinstance(slot, lay.BitsSlot):
            for field in slot.fields:
                for bit in range(field.first_bit, field.first_bit + field.bits):
                    # Address order counts each byte's bits from its most significant one on big-endian arches.
                    mask[bit // 8] |= 1 << (7 - bit % 8 if field.big_endian else bit % 8)
    return bytes(mask)


def _element_mask(layout, slot, size: int) -> bytes:
    """The mask of `size` bytes of the slot's elements (a row of a flexible array may hold several)."""
    if slot.struct is None:
        return b"\xff" * size
    inner = layout.structs[slot.struct]
    inner = _agreed_mask(layout, inner) if _anonymous_union(slot, inner) else value_mask(layout, inner)
    return inner * (size // len(inner))


def _anonymous_union(slot, inner) -> bool:
    return slot.field.anonymous and isinstance(inner, lay.UnionLayout)


def _agreed_mask(layout, union) -> bytes:
    """An anonymous union builds from the parent's mapping, where a parsed value names every
    alternative: they must write the same bytes, so only those that all of them write are kept."""
    agreed = bytearray(b"\xff" * union.size)
    for slot in union.fields:
        mask = bytearray(union.size)
        mask[slot.offset:slot.offset + slot.size] = _element_mask(layout, slot, slot.size // slot.count) * slot.count
        agreed = bytearray(a & m for a, m in zip(agreed, mask))
    return bytes(agreed)


def free_mask(layout, laid) -> bytes:
    """0xff over the bytes random data may fill; 0 where an anonymous union's alternatives
    would read different values (in nested structs too)."""
    free = bytearray(b"\xff" * laid.size)
    for slot in laid.fields:
        if slot.struct is None:
            continue
        inner = layout.structs[slot.struct]
        element = free_mask(layout, inner)
        if _anonymous_union(slot, inner):
            element = bytes(a & b for a, b in zip(element, _agreed_mask(layout, inner)))
        for index in range(slot.count):
            start = slot.offset + index * inner.size
            free[start:start + inner.size] = bytes(a & b for a, b in zip(free[start:start + inner.size], element))
    return bytes(free)


def _check_truncation(con, layout, laid, length: int, where: str) -> None:
    """A buffer one field short raises construct's own error, naming the struct and the field
    (a struct with a flexible array says how much it needs instead)."""
    try:
        con.parse(bytes(length))
    except ConstructError as error:
        if _flexible(laid):
            return
        steps = str(error).splitlines()[0].split(" -> ")
        wanted = [laid.name] + missing_fields(layout, laid, length)
        remaining = iter(steps)
        if not all(any(step == name for step in remaining) for name in wanted):
            raise Mismatch(f"{where}: {length} bytes: the error does not name {' -> '.join(wanted)}: {error}")
    else:
        raise Mismatch(f"{where}: parsing {length} of {laid.size} bytes raised nothing")


def leaf_mask(laid) -> bytes:
    """0xff over the bytes of every scalar field (nested ones included), 0 over holes and padding."""
    mask = bytearray(laid.size)
    for leaf in laid.leaves:
        mask[leaf.offset:leaf.offset + leaf.size] = b"\xff" * leaf.size
    return bytes(mask)


def missing_fields(layout, laid, available: int) -> list:
    """Python names of the fields, outermost first, down to the first one that `available` bytes
    do not hold ([] when what is cut short is padding)."""
    for slot in laid.slots:
        if slot.offset + slot.size <= available:
            continue
        if not isinstance(slot, lay.FieldSlot):
            return []
        names = [slot.field.names.python]
        if slot.struct is not None:
            inner = layout.structs[slot.struct]
            names += missing_fields(layout, inner, (available - slot.offset) % inner.size)
        return names
    raise ValueError(f"{available} bytes hold all of {laid.name}")


class _imported:
    """Import a generated package from `folder`, and forget it again afterwards."""

    def __init__(self, folder: Path, name: str):
        self.folder, self.name = str(folder), name

    def __enter__(self):
        sys.path.insert(0, self.folder)
        importlib.invalidate_caches()
        return importlib.import_module(self.name)

    def __exit__(self, *exc):
        sys.path.remove(self.folder)
        for module in [m for m in sys.modules if m == self.name or m.startswith(self.name + ".")]:
            del sys.modules[module]
        return False


# ---- Go ----------------------------------------------------------------------


def check_go(out: Path, name: str, arch: str, model: dict, tags=(), unions=()) -> int:
    """`go test -v` of the generated layout tests for `arch` (and, with `tags`, the parameter
    combination they select); returns the passed subtests."""
    folder, info = out / "go" / name, ARCH_TABLE[arch]
    if not list(folder.glob(f"layout_*{info.goarch}_test.go")):  # `layout_4k_amd64_test.go` with a parameter
        raise Mismatch(f"{folder}: no Go layout test for {arch}")
    command = [tool("go"), "test", "-count=1", "-v"] + ([f"-tags={','.join(tags)}"] if tags else [])
    host = _HOST.get(platform.machine().lower())
    if arch != host:
        command += ["-exec", tool(QEMU[arch])]
    result = subprocess.run(command + ["./..."], cwd=folder, env=go_env(**_go_arch(info, arch != host)), capture_output=True,
                            text=True)
    output = result.stdout + result.stderr
    if result.returncode != 0:
        failed = [line for line in output.splitlines() if "FAIL" in line or "spec says" in line or ".go:" in line]
        raise Mismatch(f"go test disagrees with the engine on {arch} {','.join(tags)}:\n" + "\n".join(failed[:40]))
    passed = {found.group("name") for found in map(_GO_PASS.match, output.splitlines()) if found}
    missing = [want for want in _wanted_go_checks(model, unions) if want not in passed]
    if missing:
        raise Mismatch(f"go test on {arch} did not check: {', '.join(missing[:10])}")
    return len(passed)


def _go_arch(info, emulated: bool) -> dict:
    """GOARCH, what else Go needs to build for the arch (`GOARM=7` for armhf), and, for 386 under
    qemu-i386, async preemption off (its signal lands Go's 386 runtime in "bad g in signal
    handler"). The Go helper's codegen.check.go.arch_env says the same once merged."""
    extra = dict(setting.split("=", 1) for setting in info.go_note.split() if "=" in setting)
    if emulated and info.goarch == "386":
        extra["GODEBUG"] = "asyncpreemptoff=1"
    return dict(extra, GOARCH=info.goarch)


def _go_model(model: dict, layout) -> dict:
    """The model without union members stored in a fixed byte order: Go reaches those through
    get/set methods, which have no address to check (their place is the union's start)."""
    ordered = {(name, slot.field.names.canonical) for name, struct in layout.structs.items()
               if isinstance(struct, lay.UnionLayout) for slot in struct.fields
               if slot.scalar is not None and slot.scalar.order}
    return {name: {f: kind for f, kind in _kinds(names).items() if (name, f) not in ordered}
            for name, names in model.items()}


def _wanted_go_checks(model: dict, unions=()) -> list:
    wanted = []
    for struct, names in model.items():
        test = f"Test{'Union' if struct in unions else 'Struct'}{struct}"
        wanted.append(f"{test}/{struct}:_size")
        for field, kind in _kinds(names).items():
            wanted += [f"{test}/{struct}.{field}:_{fact}" for fact in GO_FACTS[kind]]
    return wanted


# ---- hypothesis driver -------------------------------------------------------


def fuzz(*, go: bool, slots: int, examples: int, derandomize: bool, seed: Optional[int] = None,
         keep: Optional[Path] = None, lead: str = "amd64", extra: int = 2, checks=CHECKS) -> Tally:
    """Run `examples` random batches of up to `slots` structs through the `checks`.

    Every batch declares the `lead` arch, and up to `extra` others drawn from the table; a
    caller covers every arch by taking each as the lead in turn (the lead stays fixed during
    one run, so that a shrunk example fails the same way). A mismatch is shrunk by hypothesis
    and re-raised; with `keep`, the minimal failing spec is also written there (the last
    failing example hypothesis runs is the shrunk one).
    """
    tally = Tally()
    others = [arch for arch in ARCHS if arch != lead]

    @settings(max_examples=examples, derandomize=derandomize, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(st.data())
    def batch(data):
        more = data.draw(st.lists(st.sampled_from(others), max_size=extra, unique=True), label="archs")
        archs = [lead] + more
        spec = data.draw(specs("fuzz", slots, go, archs, INT128, NARROW, BIG), label="spec")
        # Named after its content: a rerun gives the same package name (and random bytes).
        spec["name"] = f"fz{zlib.crc32(dump(spec).encode()):08x}"
        note("spec as YAML:\n" + dump(spec))
        with tempfile.TemporaryDirectory(prefix="layoutgen-fuzz-") as work:
            try:
                tally.add(check_batch(spec, Path(work), go, checks))
            except Exception:
                if keep is not None:
                    keep.parent.mkdir(parents=True, exist_ok=True)
                    keep.write_text(dump(spec))
                raise

    if seed is not None:
        batch = hypothesis_seed(seed)(batch)
    batch()
    return tally
