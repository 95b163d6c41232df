"""GNU zero-length arrays (`T name[0]`) and `packed`/`align` on anonymous members, as users meet
them: the numbers gcc gives (also proven by the generic case tests), what the Python parsers,
views and numpy make of an array with no elements, and `layoutgen check` on the case spec,
which runs the C asserts, DWARF, the Python layout tests and Go natively and under qemu."""
from __future__ import annotations

import importlib
import os

import numpy
import pytest

from codegen import pipeline
from conftest import ARCHS, ROOT, importable_package, run_cli

CASE = os.path.join(ROOT, "tests", "cases", "zero_length", "spec.yaml")
PACKED = os.path.join(ROOT, "tests", "cases", "anonymous_packed", "spec.yaml")


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    yield from importable_package(tmp_path_factory, CASE, "zero_length")


@pytest.mark.parametrize("arch", ARCHS)
def test_layout_as_gcc_places_zero_length_arrays(arch):
    layout = pipeline.build(CASE)[1][arch]
    marker = layout.struct("Marker")  # u8, u64[0], u8: the empty array still aligns to 8
    assert (marker.size, marker.align, marker.field("mark").offset, marker.field("after").offset) == (16, 8, 8, 8)
    catalogue = layout.struct("Catalogue")
    assert [(s.field.names.canonical, s.offset, s.size) for s in catalogue.fields] == [
        ("count", 0, 1), ("rows", 1, 0), ("cols", 2, 0), ("none", 2, 0), ("entries", 4, 0), ("total", 4, 4)]
    assert layout.struct("Either").size == 8  # a union's u64[0] raises its alignment, not its size
    sqe = layout.struct("Sqe")
    assert sqe.size == 48 and sqe.align == 8


@pytest.mark.parametrize("arch", ARCHS)
def test_packed_and_aligned_anonymous_members(arch):
    layout = pipeline.build(PACKED)[1][arch]
    squeezed = layout.struct("Squeezed")
    offsets = {s.field.names.canonical: s.offset for s in squeezed.fields if not s.field.anonymous}
    assert offsets == {"a": 0, "b": 5, "d": 32} and (squeezed.size, squeezed.align) == (48, 16)
    nested = layout.struct("Nested")
    assert nested.size == 24  # the packed struct inside the union is 5 bytes; p/q packed on arm64 only
    assert layout.struct("NestedAnon1").size == (3 if arch == "arm64" else 4)


def test_parsers_views_and_numpy_read_no_elements(out):
    mod = importlib.import_module("zero_length.amd64")
    data = bytes(range(48))
    header = mod.Header.parse(data[:4])
    assert header.data == b"" and header.len == 2
    catalogue = mod.Catalogue.parse(data[:8])
    assert catalogue.rows == [] and catalogue.cols == [[], [], []] and catalogue.entries == []
    assert catalogue.total == int.from_bytes(data[4:8], "little")
    assert mod.Sqe.build(mod.Sqe.parse(data)) == data
    view = mod.SqeView(data)
    assert bytes(view.cmd) == b"" and view.addr3 == int.from_bytes(data[32:40], "little")
    rows = mod.CatalogueView(data[:8])
    assert rows.rows == [] and rows.cols == [[], [], []] and len(rows.entries) == 0
    records = numpy.frombuffer(data, mod.dtype("Sqe"))
    assert records["cmd"].shape == (1, 0) and mod.dtype("Marker").itemsize == 16


def test_check_proves_the_case_on_both_arches(out, tmp_path):
    """C asserts and DWARF on both arches, the Python layout tests, Go natively and under qemu."""
    (tmp_path / "none").mkdir()  # a consumer folder named on the command line must exist
    result = run_cli("check", "--spec", CASE, "--out", str(out), "--consumers", str(tmp_path / "none"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "everything holds" in result.stdout + result.stderr
