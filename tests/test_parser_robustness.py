"""Hostile bytes against the generated Python parsers (issue 8, part 3).

For every struct of sysmsg on both arches (the installed `sysmsg` package), and of the good
test cases with bools, enums of every width, arrays of structs and packed structs:
random bytes, non-zero padding and unknown enum values parse without error and build back to
the same bytes with padding zeroed; truncated buffers of every length raise construct's own
errors naming the struct and the field that does not fit; building an out-of-range value raises
a construct error naming the field. Zero-copy views (`<Struct>View`), where the package has
them, read what the parser reads and refuse bad writes and short buffers, naming the field.

What a field is, where it lies and which bytes are padding come from the layout engine, so the
expectations are never typed in by hand.
"""
from __future__ import annotations

import copy
import importlib
import io
import os
import random
import subprocess
import sys
from dataclasses import dataclass

import construct
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codegen import layout_types as lay
from codegen import pipeline
from codegen.primitives import PRIMITIVES
from conftest import ARCHS, ROOT, SPEC, truncations
from fuzz.differential import leaf_mask, missing_fields

CASES = ("enum_widths", "nested_arrays", "packed_aligned", "per_arch")
ROBUST = settings(derandomize=True, deadline=None, database=None, max_examples=150,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@dataclass(frozen=True)
class Subject:
    """One struct of one arch module: its parser, its view class (or None) and its layout."""

    label: str  # e.g. "sysmsg.amd64.Msg"
    name: str  # the Python name of the struct
    parser: object
    view: object
    layout: lay.Layout
    struct: lay.StructLayout

    @property
    def size(self) -> int:
        return self.struct.size

    def __repr__(self) -> str:
        return self.label


def _subjects(package: str, spec_path: str) -> list:
    spec, layouts = pipeline.build(spec_path)
    found = []
    for arch in ARCHS:
        module = importlib.import_module(f"{package}.{arch}")
        for name, struct in layouts[arch].structs.items():
            python = spec.struct(name).names.python
            found.append(Subject(f"{package}.{arch}.{python}", python, getattr(module, python),
                                 getattr(module, f"{python}View", None), layouts[arch], struct))
    return found


def _generated_case(folder, case: str) -> list:
    """Generate a good test case with the CLI into `folder`; import its package from there."""
    spec_path = os.path.join(ROOT, "tests", "cases", case, "spec.yaml")
    result = subprocess.run([sys.executable, "-m", "codegen", "generate", "--spec", spec_path,
                             "--out", str(folder)], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return [str(folder / "python"), pipeline.build(spec_path)[0].name, spec_path]


@pytest.fixture(scope="module")
def subjects(tmp_path_factory) -> list:
    cases = [_generated_case(tmp_path_factory.mktemp(case), case) for case in CASES]
    sys.path[:0] = [folder for folder, _, _ in cases]
    try:
        everything = _subjects("sysmsg", SPEC)
        for _, package, spec_path in cases:
            everything += _subjects(package, spec_path)
        sysmsg_structs = [s for s in everything if s.label.startswith("sysmsg.")]
        assert len(sysmsg_structs) == 2 * 6, "sysmsg has six structs per arch (the context queue is the sixth)"
        assert len(everything) > len(sysmsg_structs) + 10
        yield everything
    finally:
        for folder, package, _ in cases:
            sys.path.remove(folder)
            for module in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
                del sys.modules[module]


def _without_padding(subject: Subject, data: bytes) -> bytes:
    return bytes(byte & keep for byte, keep in zip(data, leaf_mask(subject.struct)))


def _path(error: Exception) -> list:
    """The steps of a construct error's path: '(parsing) -> Msg -> state' -> [..., 'Msg', 'state']."""
    first_line = str(error).splitlines()[0]
    assert first_line.startswith("Error in path "), str(error)
    return first_line[len("Error in path "):].split(" -> ")


def _names_in_order(steps: list, names: list) -> bool:
    remaining = iter(steps)
    return all(any(step == name for step in remaining) for name in names)


# ---- random bytes, non-zero padding, unknown enum values ------------------------------------


def _plain(value):
    """A parsed value or a view's reading, as plain ints and lists, for comparison."""
    if isinstance(value, (bytes, bytearray)):
        return list(value)
    if isinstance(value, memoryview):
        return value.tolist()
    if hasattr(value, "unpack") and hasattr(value, "pack"):  # a nested view
        return _plain(value.unpack())
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items() if not key.startswith("_")}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return int(value)


def _reads_back(subject: Subject, data: bytes) -> None:
    value = subject.parser.parse(data)
    assert subject.parser.build(value) == _without_padding(subject, data), subject
    reference = getattr(subject.parser, "reference", None)
    if reference is not None:
        assert reference.parse(data) == value, subject
    if subject.view is not None:
        view = subject.view(bytearray(data))
        for slot in subject.struct.fields:
            name = slot.field.names.python
            assert _plain(getattr(view, name)) == _plain(value[name]), f"{subject}View.{name}"


def test_random_bytes_parse_and_build_back(subjects):
    @ROBUST
    @given(st.data())
    def check(data):
        subject = data.draw(st.sampled_from(subjects))
        _reads_back(subject, data.draw(st.binary(min_size=subject.size, max_size=subject.size)))

    check()


def test_random_bytes_of_any_length_parse_or_raise_a_construct_error(subjects):
    @ROBUST
    @given(st.data())
    def check(data):
        subject = data.draw(st.sampled_from(subjects))
        blob = data.draw(st.binary(max_size=subject.size + 16))
        try:
            value = subject.parser.parse(blob)
        except construct.ConstructError:
            assert len(blob) < subject.size
        else:
            assert len(blob) >= subject.size and value == subject.parser.parse(blob[:subject.size])

    check()


def test_padding_full_of_ones_is_read_and_written_back_as_zeros(subjects):
    padded = [s for s in subjects if any(not isinstance(slot, lay.FieldSlot) for slot in s.struct.slots)]
    assert any(s.label == "sysmsg.amd64.Msg" for s in padded)  # the hole after err_line
    for subject in subjects:
        _reads_back(subject, b"\xff" * subject.size)


def _enum_leaves(subject: Subject) -> list:
    return [leaf for leaf in subject.struct.leaves if leaf.scalar.enum is not None]


def test_unknown_enum_values_stay_numbers_and_round_trip(subjects):
    with_enums = [s for s in subjects if _enum_leaves(s)]
    assert {s.label.split(".")[0] for s in with_enums} >= {"sysmsg", "enumw"}

    @ROBUST
    @given(st.data())
    def check(data):
        subject = data.draw(st.sampled_from(with_enums))
        leaf = data.draw(st.sampled_from(_enum_leaves(subject)))
        enum = subject.layout.enums[leaf.scalar.enum]
        known = {number for _, number in enum.values}
        info = PRIMITIVES[leaf.scalar.prim]
        number = data.draw(st.integers(info.min, info.max).filter(lambda n: n not in known))
        element = data.draw(st.integers(0, leaf.count - 1))
        at = leaf.offset + element * (leaf.size // leaf.count)
        buffer = bytearray(subject.size)
        buffer[at:at + info.size] = number.to_bytes(info.size, "little", signed=info.signed)
        value = subject.parser.parse(bytes(buffer))
        assert subject.parser.build(value) == bytes(buffer)
        _reads_back(subject, bytes(buffer))

    check()


# ---- truncated buffers -----------------------------------------------------------------


@pytest.mark.parametrize("reader", ["parse", "reference", "nested", "stream"])
def test_every_truncation_names_the_struct_and_the_missing_field(subjects, reader):
    for subject in subjects:
        parse = _reader(subject, reader)
        if parse is None:
            continue
        data = random.Random(subject.label).randbytes(subject.size)
        for length in truncations(subject.size):
            with pytest.raises(construct.ConstructError) as caught:
                parse(data[:length])
            steps = _path(caught.value)
            missing = missing_fields(subject.layout, subject.struct, length)
            assert subject.name in steps, (subject, length, str(caught.value))
            assert _names_in_order(steps[steps.index(subject.name):], missing), (subject, length, missing, str(caught.value))


def _reader(subject: Subject, kind: str):
    if kind == "parse":
        return subject.parser.parse
    if kind == "reference":
        reference = getattr(subject.parser, "reference", None)
        return None if reference is None else reference.parse
    if kind == "nested":
        outer = construct.Struct("head" / construct.Int8ul, "body" / subject.parser)
        return lambda data: outer.parse(b"\x01" + data)
    return lambda data: subject.parser.parse_stream(io.BytesIO(data))


def test_views_refuse_short_buffers_naming_the_struct(subjects):
    viewed = [s for s in subjects if s.view is not None]
    for subject in viewed:
        for length in truncations(subject.size):
            with pytest.raises(ValueError, match=rf"{subject.name}View needs {subject.size} bytes"):
                subject.view(bytearray(length))
        with pytest.raises(ValueError):
            subject.view(bytearray(subject.size), 1)


# ---- building out-of-range values ------------------------------------------------------------


def _scalar_paths(layout: lay.Layout, struct: lay.StructLayout, prefix=()):
    """(path of Python names and element indexes, FieldSlot) for every scalar field, descending into
    nested structs and into the first element of arrays of structs."""
    for slot in struct.fields:
        path = prefix + (slot.field.names.python,) + (0,) * len(slot.shape)
        if slot.struct is not None:
            yield from _scalar_paths(layout, layout.structs[slot.struct], path)
        else:
            yield path, slot


def _bad_values(slot: lay.FieldSlot) -> list:
    info = PRIMITIVES[slot.scalar.prim]
    bad = [info.max + 1, info.min - 1, 1 << 64, -(1 << 63) - 1]
    if info.size == 4 and info.signed:
        bad.append(1 << 31)
    if slot.scalar.enum is not None:
        bad.append("NO_SUCH_MEMBER")
    return bad


def _replace(value, path: tuple, new):
    """A deep copy of a parsed value with the element at `path` replaced."""
    copied = copy.deepcopy(value)
    holder = copied
    for step in path[:-1]:
        holder = holder[step]
    if isinstance(holder, (bytes, bytearray)):
        return None  # a byte string: its elements are bytes, checked by the length test below
    holder[path[-1]] = new
    return copied


def test_building_out_of_range_values_names_the_field(subjects):
    checked = 0
    for subject in subjects:
        zero = subject.parser.parse(bytes(subject.size))
        for path, slot in _scalar_paths(subject.layout, subject.struct):
            for bad in _bad_values(slot):
                broken = _replace(zero, path, bad)
                if broken is None:
                    continue
                with pytest.raises(construct.ConstructError) as caught:
                    subject.parser.build(broken)
                names = [step for step in path if isinstance(step, str)]
                steps = _path(caught.value)
                assert subject.name in steps and _names_in_order(steps, names), (subject, path, bad, str(caught.value))
                checked += 1
    assert checked > 300


def test_building_byte_strings_of_the_wrong_length_names_the_field(subjects):
    checked = 0
    for subject in subjects:
        zero = subject.parser.parse(bytes(subject.size))
        for slot in subject.struct.fields:
            name = slot.field.names.python
            if not isinstance(zero[name], bytes):
                continue
            for wrong in (b"", bytes(len(zero[name]) + 1)):
                with pytest.raises(construct.ConstructError) as caught:
                    subject.parser.build(dict(zero, **{name: wrong}))
                assert _names_in_order(_path(caught.value), [subject.name, name]), str(caught.value)
                checked += 1
    assert checked >= 4


def test_views_refuse_out_of_range_writes_naming_the_field(subjects):
    checked = 0
    for subject in (s for s in subjects if s.view is not None):
        buffer = bytearray(subject.size)
        view = subject.view(buffer)
        for slot in subject.struct.fields:
            if slot.scalar is None or slot.shape:
                continue
            name = slot.field.names.python
            for bad in _bad_values(slot):
                with pytest.raises(ValueError, match=rf"{subject.name}View\.{name}\b"):
                    setattr(view, name, bad)
                checked += 1
        assert buffer == bytes(subject.size), f"{subject}: a refused write changed the buffer"
    if any(s.view is not None for s in subjects):
        assert checked > 100
