"""Generated Go never reads or writes outside an object: every indexed accessor (byte-ordered
arrays in structs and unions, flexible arrays, union members) hands an out-of-range index to
Go's own bounds check, which panics with a runtime error before any memory is touched.

A Go program built against the packages of tests/cases byte_order, flexible_arrays and unions
(plus a big-endian flexible array of arrays) calls each accessor with bad indexes inside a
guard: the object sits between canary bytes, and after each recovered panic the whole guard
(the object included) must still hold the canary pattern. It runs natively and, for arm64,
under qemu-user.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

import programs
from codegen.primitives import ARCHS as ARCH_TABLE
from conftest import ARCHS, ROOT, run_cli

CASES = {"order": "byte_order", "flex": "flexible_arrays", "unions": "unions"}

# A big-endian flexible array whose elements are arrays: its inner index is checked too.
BOUNDS_SPEC = """\
layoutgen: 1
name: bounds
doc: A big-endian flexible array of arrays.
archs: [amd64, arm64]
structs:
  Grid:
    fields:
      - {name: count, type: u64}
      - {name: tag, type: u8}
      - {name: cells, type: "i16[][2]", endian: big}
"""

GO_PROGRAM = r"""
package main

import (
	"fmt"
	"math"
	"runtime"
	"unsafe"

	"layoutgen.example/generated/bounds"
	"layoutgen.example/generated/flex"
	"layoutgen.example/generated/order"
	"layoutgen.example/generated/unions"
)

const canary = 0xa5

// guard puts canary bytes on both sides of a T, and room for two flexible-array elements.
type guard[T any] struct {
	before [64]byte
	v      T
	room   [16]byte
	after  [64]byte
}

func bytesOf[T any](g *guard[T]) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(g)), unsafe.Sizeof(*g))
}

func fresh[T any]() *guard[T] {
	g := new(guard[T])
	for i := range bytesOf(g) {
		bytesOf(g)[i] = canary
	}
	return g
}

// expect calls f on a canary-filled guard: it must panic with a Go runtime error and leave
// every byte of the guard (the object itself included) as it was.
func expect[T any](what string, f func(v *T)) {
	g := fresh[T]()
	message := func() (message string) {
		defer func() {
			r := recover()
			if err, ok := r.(runtime.Error); ok {
				message = err.Error()
			} else {
				message = fmt.Sprintf("not a runtime error: %v", r)
			}
		}()
		f(&g.v)
		return "no panic"
	}()
	for at, b := range bytesOf(g) {
		if b != canary {
			fmt.Printf("FAIL %s: byte %d of the guard changed (%s)\n", what, at, message)
			return
		}
	}
	fmt.Printf("ok %s: %s\n", what, message)
}

var sink uint64

func main() {
	n := 2 // indexes held in variables, so that only the run-time check can catch them
	minus, huge := -1, math.MaxInt
	expect("order.Header.Checks(n, 0)", func(v *order.Header) { sink += uint64(v.Checks(n, 0)) })
	expect("order.Header.SetChecks(0, -1)", func(v *order.Header) { v.SetChecks(0, minus, 7) })
	expect("order.Header.Words(-1)", func(v *order.Header) { sink += uint64(v.Words(minus)) })
	expect("order.Header.SetWords(-1)", func(v *order.Header) { v.SetWords(minus, 7) })
	expect("order.Header.Words(MaxInt)", func(v *order.Header) { sink += uint64(v.Words(huge)) })
	expect("order.Header.SetWords(MaxInt)", func(v *order.Header) { v.SetWords(huge, 7) })
	expect("order.Header.WordsSlice(-1)", func(v *order.Header) { sink += uint64(len(v.WordsSlice(minus))) })
	expect("order.Header.WordsSlice(2)[2]", func(v *order.Header) { v.WordsSlice(2)[n][0] = 7 })
	expect("order.Either.Pair(2)", func(v *order.Either) { sink += uint64(v.Pair(n)) })
	expect("order.Either.SetPair(-1)", func(v *order.Either) { v.SetPair(minus, 7) })
	expect("order.Either.Grid(0, 2)", func(v *order.Either) { sink += uint64(v.Grid(0, n)) })
	expect("order.Either.SetGrid(2, 0)", func(v *order.Either) { v.SetGrid(n, 0, 7) })
	expect("order.Either.SetGrid(0, 2)", func(v *order.Either) { v.SetGrid(0, n, 7) })
	expect("order.Either.Cube(1, 0, 0)", func(v *order.Either) { sink += uint64(v.Cube(n-1, 0, 0)) })
	expect("order.Either.SetCube(0, 0, 2)", func(v *order.Either) { v.SetCube(0, 0, n, 7) })
	expect("order.Either.SetCube(0, -1, 0)", func(v *order.Either) { v.SetCube(0, minus, 0, 7) })
	expect("order.Mixed.Either().SetPair(2)", func(v *order.Mixed) { v.Either.SetPair(n, 7) })
	expect("flex.Blob.DataSlice(-1)", func(v *flex.Blob) { sink += uint64(len(v.DataSlice(minus))) })
	expect("flex.Blob.DataSlice(2)[2]", func(v *flex.Blob) { v.DataSlice(2)[n] = 7 })
	expect("flex.Pairs.PairsSlice(1)[0][2]", func(v *flex.Pairs) { v.PairsSlice(1)[0][n] = 7 })
	expect("flex.Envelope.Body.DataSlice(-1)", func(v *flex.Envelope) { sink += uint64(len(v.Body.DataSlice(minus))) })
	expect("bounds.Grid.Cells(0, 2)", func(v *bounds.Grid) { sink += uint64(v.Cells(0, n)) })
	expect("bounds.Grid.SetCells(0, 2)", func(v *bounds.Grid) { v.SetCells(0, n, 7) })
	expect("bounds.Grid.SetCells(-1, 0)", func(v *bounds.Grid) { v.SetCells(minus, 0, 7) })
	expect("bounds.Grid.CellsSlice(1)[1]", func(v *bounds.Grid) { v.CellsSlice(1)[n-1][0][0] = 7 })
	expect("unions.Geometry.Raw()[16]", func(v *unions.Geometry) { v.Raw()[n*8] = 7 })
	expect("unions.Geometry.Corners()[2]", func(v *unions.Geometry) { v.Corners()[n].X = 7 })
	expect("unions.Small.Half()[2]", func(v *unions.Small) { v.Half()[n] = 7 })
	expect("unions.Tagged.Extra[2]", func(v *unions.Tagged) { v.Extra[n].Half()[0] = 7 })

	// In range, an element of a flexible array lands in the memory after the struct, and
	// nothing around the object moves.
	g := fresh[order.Header]()
	g.v.SetWords(1, 0x01020304)
	words := g.v.WordsSlice(2)
	if g.v.Words(1) != 0x01020304 || words[1] != [4]byte{1, 2, 3, 4} || g.before[63] != canary || g.after[0] != canary {
		fmt.Println("FAIL order.Header.Words(1) in range")
	} else {
		fmt.Println("ok order.Header.Words(1) in range: read back")
	}
}
"""

EXPECTED = GO_PROGRAM.count('expect("') + 1


def _spec_paths(folder) -> dict:
    """{Go package name: its spec}: BOUNDS_SPEC (written into `folder`) and the cases'."""
    packages = {"bounds": str(folder / "bounds.yaml")}
    packages.update({name: os.path.join(ROOT, "tests", "cases", case, "spec.yaml") for name, case in CASES.items()})
    return packages


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    """A Go module whose main.go imports the four generated packages."""
    folder = tmp_path_factory.mktemp("go_bounds")
    spec = folder / "bounds.yaml"
    spec.write_text(BOUNDS_SPEC)
    packages = _spec_paths(folder)
    requires, replaces = [], []
    for name, path in packages.items():
        out = folder / f"out_{name}"
        result = run_cli("generate", "--spec", path, "--out", str(out))
        assert result.returncode == 0, result.stderr
        module = programs.GO_MODULE.format(name=name)
        requires.append(f"require {module} v0.0.0")
        replaces.append(f"replace {module} => {out / 'go' / name}")
    module_folder = folder / "client"
    module_folder.mkdir()
    (module_folder / "go.mod").write_text("module client.example/bounds\n\ngo 1.19\n\n" + "\n".join(requires)
                                          + "\n\n" + "\n".join(replaces) + "\n")
    (module_folder / "main.go").write_text(GO_PROGRAM)
    return module_folder


@pytest.mark.parametrize("arch", ARCHS)
def test_every_indexed_accessor_panics_on_a_bad_index_and_touches_nothing(client, arch):
    build = programs.build_go(client, arch)
    assert build.returncode == 0, build.stderr
    lines = programs.run(client / f"program_{arch}", arch).decode().splitlines()
    assert [line for line in lines if not line.startswith("ok ")] == []
    assert len(lines) == EXPECTED
    for line in lines[:-1]:  # each a Go runtime error: an index or a slice length out of range
        assert "index out of range" in line or "unsafe.Slice: len out of range" in line, line


def test_no_accessor_computes_an_address_by_hand(client):
    """Only unsafe.Slice (whose length Go checks) and plain conversions reach memory: no
    unsafe.Add or uintptr arithmetic in any generated package."""
    sources = [path for path in client.parent.glob("out_*/go/*/*.go") if not path.name.endswith("_test.go")]
    # Every package's shared file and one per arch its spec declares, so none goes unread.
    expected = set()
    for name, path in _spec_paths(client.parent).items():
        archs = yaml.safe_load(Path(path).read_text())["archs"]
        expected |= {f"{name}/{name}.go", *(f"{name}/{name}_{ARCH_TABLE[arch].goarch}.go" for arch in archs)}
    assert {f"{path.parent.name}/{path.name}" for path in sources} == expected
    for source in sources:
        text = source.read_text()
        assert "unsafe.Add" not in text and "uintptr" not in text, source
