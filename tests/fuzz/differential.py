"""Check one generated batch against every reference: the real CLI generates it, then gcc
(x86_64) and aarch64-linux-gnu-gcc compile its `_Static_assert`s, the generated construct
parsers are imported and measured, and (for batches Go can express) `go test` runs the Go
layout tests natively on amd64 and under qemu-aarch64 for arm64.

The asserts and the Go tests compare the compilers with the engine's numbers; the parsers'
sizes and offsets are compared with the engine here, so all of them agree with gcc by way of
the engine. The parsers also read random bytes alike through every reader they offer (fast
parser, field-by-field reference, view) and name the field a truncated buffer lacks. Each
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

from codegen import layout as lay
from codegen import pipeline
from codegen.check.go import go_env

from .specgen import dump, features, fields_of, specs

ROOT = Path(__file__).resolve().parents[2]
# Where `python -m codegen` runs (and so which codegen it imports): the repo, or for the soak a
# frozen copy, so that edits made to the tree during a long run cannot break it half-way.
CODEGEN_HOME = ROOT
ARCHS = ("amd64", "arm64")
C_COMPILERS = {"amd64": "gcc", "arm64": "aarch64-linux-gnu-gcc"}
C_MACROS = {"amd64": "__x86_64__", "arm64": "__aarch64__"}
# The same flags the project builds with: the engine refuses a packed struct holding an
# over-aligned struct, so -Wpacked-not-aligned never has anything to say.
C_FLAGS = ["-std=gnu11", "-Wall", "-Wextra", "-Werror", "-fsyntax-only"]
QEMU = {"amd64": "qemu-x86_64", "arm64": "qemu-aarch64"}
_HOST = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}
_ASSERT = re.compile(r'^_Static_assert\(.*, "(?P<message>[^"]*)"\);$')
_ARCH_BLOCK = re.compile(r"^#(?:el)?if defined\((?P<macro>\w+)\)$")
_GO_PASS = re.compile(r"^\s*--- PASS: (?P<name>\S+)")


class Mismatch(AssertionError):
    """A reference disagrees with the engine (or a check found nothing to compare)."""


@dataclass
class Tally:
    batches: int = 0
    structs: int = 0
    fields: int = 0
    c_asserts: int = 0  # over both arches
    python_structs: int = 0  # structs whose parsers were checked (on every arch)
    go_structs: int = 0  # structs go test checked (on every arch)
    go_checks: int = 0  # passed Go subtests, over both arches
    features: dict = field(default_factory=dict)  # kind of construct -> occurrences (specgen.features)

    def add(self, other: "Tally") -> None:
        for name, value in vars(other).items():
            if name == "features":
                for kind, seen in value.items():
                    self.features[kind] = self.features.get(kind, 0) + seen
            else:
                setattr(self, name, getattr(self, name) + value)


def tool(name: str) -> str:
    """A real toolchain program; its absence fails the check (never a skip)."""
    path = shutil.which(name)
    if path is None:
        raise Mismatch(f"{name} is missing: run `make toolchains`")
    return path


def check_batch(spec: dict, workdir: Path, go: bool) -> Tally:
    """Generate `spec` into `workdir` with the CLI and run every check; raises Mismatch."""
    spec_path, out = generate(spec, workdir)
    return check_generated(spec, spec_path, out, go)


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


def check_generated(spec: dict, spec_path: Path, out: Path, go: bool) -> Tally:
    models = {arch: fields_of(spec, arch) for arch in ARCHS}
    tally = Tally(batches=1, structs=len(spec["structs"]),
                  fields=len({(s, f) for model in models.values() for s, names in model.items() for f in names}),
                  features=features(spec))
    for arch in ARCHS:
        tally.c_asserts += check_c(out, spec["name"], arch, models[arch])
    check_python(out, spec["name"], spec_path, models)
    tally.python_structs = tally.structs
    if go:
        for arch in ARCHS:
            tally.go_checks += check_go(out, spec["name"], arch, models[arch])
        tally.go_structs = tally.structs
    return tally


# ---- C: one compile per arch -------------------------------------------------


def check_c(out: Path, name: str, arch: str, model: dict) -> int:
    source = out / "c" / f"{name}_layout_test.c"
    messages = _assert_messages(source.read_text(), C_MACROS[arch])
    facts = {message.rsplit(" ", 1)[0] for message in messages}  # without the number
    missing = [want for want in _wanted_c_facts(model) if want not in facts]
    if missing:
        raise Mismatch(f"{source} ({arch}) asserts nothing about: {', '.join(missing[:10])}")
    result = subprocess.run([tool(C_COMPILERS[arch]), *C_FLAGS, str(source)], capture_output=True, text=True)
    if result.returncode != 0:
        failed = [line for line in result.stderr.splitlines() if "spec says" in line or "error" in line]
        raise Mismatch(f"{C_COMPILERS[arch]} disagrees with the engine on {arch}:\n" + "\n".join(failed[:40]))
    return len(messages)


def _assert_messages(text: str, macro: str) -> list:
    """The messages of the asserts in the `#if defined(macro)` block."""
    messages, inside = [], False
    for line in text.splitlines():
        block = _ARCH_BLOCK.match(line)
        if block:
            inside = block.group("macro") == macro
        elif line.startswith("#endif"):
            inside = False
        elif inside:
            found = _ASSERT.match(line)
            if found:
                messages.append(found.group("message"))
    return messages


def _wanted_c_facts(model: dict) -> list:
    wanted = []
    for struct, names in model.items():
        wanted += [f"{struct}: size: spec says", f"{struct}: alignment: spec says"]
        for field in names:
            wanted += [f"{struct}.{field}: offset: spec says", f"{struct}.{field}: size: spec says"]
    return wanted


# ---- the Python parsers --------------------------------------------------------


def check_python(out: Path, name: str, spec_path: Path, models: dict) -> None:
    """Every struct of every arch module: sizes and offsets as the engine says, and random bytes
    read alike by every reader the module offers."""
    _, layouts = pipeline.build(str(spec_path))
    seed = zlib.crc32(spec_path.read_bytes())
    with _imported(out / "python", name):
        runtime = importlib.import_module(f"{name}._runtime")
        for arch in ARCHS:
            module = importlib.import_module(f"{name}.{arch}")
            for index, (struct, names) in enumerate(models[arch].items()):
                laid = layouts[arch].structs[struct]
                where = f"{struct} on {arch}"
                _check_offsets(module, runtime, layouts[arch], struct, names, where)
                chance = random.Random(seed + index)
                _check_readers(module, struct, chance.randbytes(laid.size), leaf_mask(laid), where)
                _check_truncation(getattr(module, struct), layouts[arch], laid, chance.randrange(laid.size), where)


def _check_offsets(module, runtime, layout, struct: str, names: list, where: str) -> None:
    con, laid = getattr(module, struct), layout.structs[struct]
    if con.sizeof() != laid.size:
        raise Mismatch(f"{where}: construct sizeof {con.sizeof()}, engine {laid.size}")
    expected = {".".join(slot.field.names.python for slot in chain): offset
                for chain, offset in lay.nested_fields(layout, struct)}
    got = runtime.field_offsets(con)
    if any(field not in got for field in names) or got != expected:
        wrong = sorted(set(expected.items()) ^ set(got.items()))
        raise Mismatch(f"{where}: construct offsets differ from the engine's: {wrong[:10]}")
    dtype = getattr(module, "dtype", None)
    if dtype is not None:
        numpy_type = dtype(struct)
        direct = {slot.field.names.python: slot.offset for slot in laid.fields}
        offsets = {field: numpy_type.fields[field][1] for field in numpy_type.names}
        if numpy_type.itemsize != laid.size or offsets != direct:
            raise Mismatch(f"{where}: numpy dtype has size {numpy_type.itemsize} and offsets {offsets}, "
                           f"engine {laid.size} and {direct}")


def _check_readers(module, struct: str, data: bytes, mask: bytes, where: str) -> None:
    """Parse random bytes with the parser, its field-by-field reference and the view (those that
    exist); all must read the same value, and building it back must give the bytes with every
    hole and padding zeroed."""
    con = getattr(module, struct)
    value = con.parse(data)
    kept = bytes(byte & keep for byte, keep in zip(data, mask))
    if con.build(value) != kept:
        raise Mismatch(f"{where}: build(parse(data)) is not data with its padding zeroed")
    if con.build(con.parse(bytes(len(data)))) != bytes(len(data)):
        raise Mismatch(f"{where}: a zero buffer does not survive parse and build")
    reference = getattr(con, "reference", None)
    if reference is not None:
        if reference.parse(data) != value:
            raise Mismatch(f"{where}: the fast parser and the field-by-field reference read different values")
        if reference.build(value) != kept:
            raise Mismatch(f"{where}: the field-by-field reference builds different bytes")
    view_type = getattr(module, f"{struct}View", None)
    if view_type is not None:
        buffer = bytearray(data)
        view = view_type(buffer)
        if view.unpack() != value:
            raise Mismatch(f"{where}: the view reads a different value than the parser")
        view.pack(value)
        if bytes(buffer) != kept:
            raise Mismatch(f"{where}: writing a parsed value through the view is not data with its padding zeroed")


def _check_truncation(con, layout, laid, length: int, where: str) -> None:
    """A buffer one field short raises construct's own error, naming the struct and the field."""
    try:
        con.parse(bytes(length))
    except ConstructError as error:
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


def check_go(out: Path, name: str, arch: str, model: dict) -> int:
    """`go test -v` of the generated layout tests for `arch`; returns the passed subtests."""
    folder = out / "go" / name
    if not (folder / f"layout_{arch}_test.go").is_file():
        raise Mismatch(f"{folder}: no Go layout test for {arch}")
    command = [tool("go"), "test", "-count=1", "-v"]
    host = _HOST.get(platform.machine().lower())
    if arch != host:
        command += ["-exec", tool(QEMU[arch])]
    result = subprocess.run(command + ["./..."], cwd=folder, env=go_env(GOARCH=arch), capture_output=True, text=True)
    output = result.stdout + result.stderr
    if result.returncode != 0:
        failed = [line for line in output.splitlines() if "FAIL" in line or "spec says" in line or ".go:" in line]
        raise Mismatch(f"go test disagrees with the engine on {arch}:\n" + "\n".join(failed[:40]))
    passed = {found.group("name") for found in map(_GO_PASS.match, output.splitlines()) if found}
    missing = [want for want in _wanted_go_checks(model) if want not in passed]
    if missing:
        raise Mismatch(f"go test on {arch} did not check: {', '.join(missing[:10])}")
    return len(passed)


def _wanted_go_checks(model: dict) -> list:
    wanted = []
    for struct, names in model.items():
        wanted.append(f"TestStruct{struct}/{struct}:_size")
        for field in names:
            wanted += [f"TestStruct{struct}/{struct}.{field}:_offset", f"TestStruct{struct}/{struct}.{field}:_size"]
    return wanted


# ---- hypothesis driver -------------------------------------------------------


def fuzz(*, go: bool, slots: int, examples: int, derandomize: bool, seed: Optional[int] = None,
         keep: Optional[Path] = None) -> Tally:
    """Run `examples` random batches of up to `slots` structs through every check.

    A mismatch is shrunk by hypothesis and re-raised; with `keep`, the minimal failing spec is
    also written there (the last failing example hypothesis runs is the shrunk one).
    """
    tally = Tally()

    @settings(max_examples=examples, derandomize=derandomize, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(st.data())
    def batch(data):
        spec = data.draw(specs("fuzz", slots, go), label="spec")
        # Named after its content: a rerun gives the same package name (and random bytes).
        spec["name"] = f"fz{zlib.crc32(dump(spec).encode()):08x}"
        note("spec as YAML:\n" + dump(spec))
        with tempfile.TemporaryDirectory(prefix="layoutgen-fuzz-") as work:
            try:
                tally.add(check_batch(spec, Path(work), go))
            except Exception:
                if keep is not None:
                    keep.parent.mkdir(parents=True, exist_ok=True)
                    keep.write_text(dump(spec))
                raise

    if seed is not None:
        batch = hypothesis_seed(seed)(batch)
    batch()
    return tally
