"""Issue 20, part 3: every output says who writes what. C's member comments and layout asserts,
Go's atomic accessors (run by the generated layout tests under qemu on every arch of the spec),
the layout report's cache lines, the docs' writer colours and abi-diff's writer and line changes.
The engine's side (padding, refusals) is tests/test_cachelines.py."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from codegen import pipeline
from codegen.check import go as go_check
from codegen.check.toolchain import require, run
from codegen.tools import abidiff, layout_report
from conftest import compile_c, run_cli
from test_tools_docs import dom, png_pixels, screenshot, svg_size
from test_tools_layout import compile_probe, pahole, pahole_text, without_writer_notes

ROOT = Path(__file__).resolve().parent.parent

QUEUE = textwrap.dedent("""\
    layoutgen: 1
    name: lines
    archs: [amd64, arm64, i386, armhf]
    sides: [runtime, stub]
    enums:
      State:
        type: u32
        values: [{name: idle, value: 0}, {name: busy, value: 1}]
    structs:
      Queue:
        cacheline: separate
        fields:
          - {name: start, type: u32, writer: stub, atomic: true}
          - {name: spinning, type: u32, writer: stub}
          - {name: end, type: u32, writer: runtime, atomic: true}
          - {name: awake, type: u32, writer: runtime}
          - {name: active, type: u32, writer: both, atomic: true}
          - {name: stamp, type: u64, writer: stub, atomic: true, align: 8}
          - {name: ring, type: "u64[8]", writer: both, atomic: true, align: 8}
      Node:
        fields:
          - {name: next, type: ptr(Node), writer: stub, atomic: true}
      Cell:
        writer: runtime
        fields:
          - {name: state, type: State, atomic: true}
          - {name: delta, type: i32, atomic: true}
          - {name: grid, type: "i32[2][3]", atomic: true}
          - {name: head, type: ptr(Node), atomic: true}
    """)


def _generate(tmp_path, text: str = QUEUE, name: str = "lines"):
    spec = tmp_path / f"{name}.yaml"
    spec.write_text(text)
    out = tmp_path / "out"
    result = run_cli("generate", "--spec", str(spec), "--out", str(out))
    assert result.returncode == 0, result.stderr
    return spec, out


# ---- C -------------------------------------------------------------------------


def test_c_member_comments_say_the_writers_and_atomic(tmp_path):
    _, out = _generate(tmp_path)
    header = (out / "c" / "lines.h").read_text()
    assert "uint32_t start;  /* offset 0, size 4, written by stub, atomic */" in header
    assert "uint32_t spinning;  /* offset 4, size 4, written by stub */" in header
    assert "ring[8] __attribute__((aligned(8)));  /* offset 256, size 64, written by runtime and stub, atomic */" \
        in header


def test_c_layout_test_asserts_atomics_and_lines_and_compiles_on_every_arch(tmp_path):
    _, out = _generate(tmp_path)
    source = out / "c" / "lines_layout_test.c"
    text = source.read_text()
    for fact in ("offsetof(struct queue, stamp) % 8 == 0", "_Alignof(struct queue) >= 8",
                 "offsetof(struct queue, stamp) / 64 == (offsetof(struct queue, stamp) + 8 - 1) / 64",
                 "sizeof(struct queue) % 64 == 0", "offsetof(struct queue, end) % 64 == 0",
                 "offsetof(struct cell, grid) % 4 == 0"):
        assert f"_Static_assert({fact}," in text, fact
    for arch in ("amd64", "arm64", "i386", "armhf"):
        result = compile_c(arch, str(source), "-c", "-o", os.devnull, include=str(out / "c"))
        assert result.returncode == 0, (arch, result.stderr)


def test_c_line_asserts_fail_when_a_writer_group_leaves_its_line(tmp_path):
    """Shift the runtime's group by shrinking the pad before it (and growing the next pad, so the
    struct's size still holds): the line assert names the group's first field."""
    _, out = _generate(tmp_path)
    header = out / "c" / "lines.h"
    text = header.read_text()
    text = text.replace("__line_pad0[56]", "__line_pad0[52]").replace("__line_pad1[56]", "__line_pad1[60]")
    header.write_text(text)
    result = compile_c("amd64", str(out / "c" / "lines_layout_test.c"), "-c", "-o", os.devnull,
                       include=str(out / "c"))
    assert result.returncode != 0
    assert "Queue.end: first of its writer group, not on a 64-byte line" in result.stderr


def test_specs_without_sides_print_no_writers(tmp_path):
    plain = "layoutgen: 1\nname: plain\narchs: [amd64]\nstructs:\n  P:\n    fields:\n      - {name: a, type: u32}\n"
    _, out = _generate(tmp_path, plain, "plain")
    assert "uint32_t a;  /* offset 0, size 4 */" in (out / "c" / "plain.h").read_text()


# ---- Go ------------------------------------------------------------------------


def test_go_atomic_accessors_follow_the_field_type(tmp_path):
    _, out = _generate(tmp_path)
    folder = out / "go" / "lines"
    shared = (folder / "lines.go").read_text()
    assert "func (s *Queue) LoadStart() uint32 {\n\treturn atomic.LoadUint32(&s.Start)\n}" in shared
    assert "func (s *Queue) AddRing(i int, delta uint64) uint64 {\n\treturn atomic.AddUint64(&s.Ring[i], delta)" \
        in shared
    assert "func (s *Cell) CompareAndSwapGrid(i, j int, old, next int32) bool {" in (folder / "lines_amd64.go").read_text()
    cell = (folder / "lines_arm64.go").read_text()
    assert "return State(atomic.LoadUint32((*uint32)(&s.State)))" in cell
    assert "func (s *Cell) AddState" not in cell and "func (s *Cell) AddHead" not in cell  # no sums of enums, pointers
    assert "atomic.LoadUint32(&s.Head)" in (folder / "lines_386.go").read_text()  # a pointer is a 4-byte word there
    assert "On 386 and arm the value must be at an 8-byte aligned address" in " ".join(shared.split())


def test_go_layout_tests_run_every_atomic_accessor_on_every_arch(tmp_path):
    spec_path, out = _generate(tmp_path)
    spec, layouts = pipeline.build(str(spec_path))
    test = (out / "go" / "lines" / "layout_arm_test.go").read_text()
    assert "func TestAtomicsQueue(t *testing.T) {\n\tv := new(Queue)" in test
    assert 'expectValue(t, "Queue.ring: atomic compare and swap"' in test
    assert go_check.check(spec, layouts, str(out)) == []  # gofmt, vet and the tests on 4 arches (qemu)
    result = run([require("go"), "test", "-count=1", "-v", "-run", "TestAtomics", "."], cwd=str(out / "go" / "lines"),
                 env=go_check.go_env(GOARCH="386"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(re.findall(r"^--- PASS: TestAtomics(Queue|Node|Cell) ", result.stdout, re.M)) == 3
    # store/load and swap for every field, add for the integers: 5 of Queue, next, 4 of Cell.
    assert result.stdout.count("    --- PASS: TestAtomics") == 5 * 3 + 2 + (2 + 3 + 3 + 2)


# ---- the layout report -----------------------------------------------------------


@pytest.mark.parametrize("arch", ["amd64", "arm64"])
def test_report_marks_lines_as_pahole_and_says_their_writers(arch, tmp_path):
    spec_path, out = _generate(tmp_path)
    spec, layouts = pipeline.build(str(spec_path))
    obj = compile_probe(spec, arch, str(out / "c"), str(tmp_path))
    ours = "\n".join(layout_report.struct_lines(spec, layouts[arch], "Queue")) + "\n"
    assert "\t/* --- cacheline 4 boundary (256 bytes) --- */\n\t/* cacheline 4: written by runtime and stub */\n" \
        in ours
    assert ours.startswith("struct queue {\n\t/* cacheline 0: written by stub */\n")
    assert "WARNING" not in ours  # separated: no line mixes writers
    theirs = pahole_text(obj, spec, "Queue")
    assert without_writer_notes(ours) == theirs  # every marker and every other line is pahole's


MIXED = textwrap.dedent("""\
    layoutgen: 1
    name: mixed
    archs: [amd64, arm64]
    sides: [runtime, stub]
    cacheline_size: 32
    structs:
      Queue:
        fields:
          - {name: start, type: u32, writer: stub, atomic: true}
          - {name: end, type: u32, writer: runtime, atomic: true}
          - {name: spare, type: "u8[24]"}
          - {name: active, type: u32, writer: both}
          - {name: ring, type: "u64[10]", writer: both}
          - {name: last, type: u32, writer: stub}
    """)


def test_report_warns_of_lines_that_mix_writers_at_the_spec_line_size(tmp_path):
    spec_path, out = _generate(tmp_path, MIXED, "mixed")
    result = run_cli("layout", "--spec", str(spec_path), "--arch", "amd64")
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert "\t/* cacheline 0: written by stub; runtime */\n" \
           "\t/* WARNING: cacheline 0 mixes writers (stub | runtime): false sharing */\n" in text
    assert "/* --- cacheline 1 boundary (32 bytes) --- */\n\t/* cachelines 1-2: written by runtime and stub */" in text
    assert "/* WARNING: cacheline 3 mixes writers (runtime and stub | stub): false sharing */" in text
    spec, layouts = pipeline.build(str(spec_path))
    obj = compile_probe(spec, "amd64", str(out / "c"), str(tmp_path))
    theirs = subprocess.run([pahole(), "--cacheline_size=32", "-C", "queue", obj], capture_output=True, text=True)
    assert without_writer_notes(text) == theirs.stdout


def test_report_of_a_spec_without_sides_has_no_writer_notes():
    result = run_cli("layout", "--spec", str(ROOT / "tests" / "cases" / "nested_arrays" / "spec.yaml"), "--arch", "amd64")
    assert result.returncode == 0 and "/* size: " in result.stdout
    assert "written by" not in result.stdout and "WARNING" not in result.stdout


# ---- the docs' byte maps -----------------------------------------------------------


def _swatches(svg: str) -> dict:
    """Legend text -> the class of its swatch (the swatch's hover title is the same text)."""
    return {title: cls for cls, title in re.findall(r'width="16" height="16" class="([\w ]+)"><title>([^<]+)</title>',
                                                     svg)}


def test_byte_maps_colour_fields_by_writer_with_a_legend_of_the_sides(tmp_path):
    _, out = _generate(tmp_path)
    svg = (out / "docs" / "svg" / "amd64" / "struct_Queue.svg").read_text()
    legend = _swatches(svg)
    # A fixed palette indexed by side order: runtime (the first side) f0, stub f1, then the shared set.
    assert legend["written by runtime"] == "f0" and legend["written by stub"] == "f1"
    assert legend["written by runtime and stub"] == "f2" and "field" not in legend
    fields = dict((title.split(":")[0], cls) for cls, title in
                  re.findall(r'height="30" class="(f\d)"><title>([^<]+)</title>', svg))
    assert fields == {"start": "f1", "spinning": "f1", "end": "f0", "awake": "f0", "active": "f2", "stamp": "f1",
                      "ring": "f2"}
    assert "<title>end: u32, offset 64, size 4, written by runtime</title>" in svg
    cell = (out / "docs" / "svg" / "amd64" / "struct_Cell.svg").read_text()
    assert _swatches(cell)["written by runtime"] == "f0"  # the same side, the same colour in every map


def test_docs_tables_say_who_writes_each_field(tmp_path):
    _, out = _generate(tmp_path, MIXED, "mixed")
    text = (out / "docs" / "mixed.md").read_text()
    assert "| 0 | 4 | `u32` | `start` | *Written by stub, atomic.* |" in text
    assert "| 32 | 4 | `u32` | `active` | *Written by runtime and stub.* |" in text
    assert "| 8 | 24 | `u8[24]` | `spare` |  |" in text  # no writer named: nothing said


def test_a_byte_map_coloured_by_writer_renders_in_chromium(tmp_path):
    _, out = _generate(tmp_path, MIXED, "mixed")
    svg = str(out / "docs" / "svg" / "amd64" / "struct_Queue.svg")
    assert "no writer named" in open(svg).read()  # `spare` names no writer
    width, height, rows = png_pixels(screenshot(svg, str(tmp_path)))
    assert (width, height) == svg_size(svg)
    text = dom(svg, str(tmp_path))
    for label in ("written by runtime", "written by stub", "written by runtime and stub", "no writer named", "start"):
        assert label in text, label


def test_byte_maps_of_a_spec_without_sides_keep_their_colours(tmp_path):
    _, out = _generate(tmp_path, "layoutgen: 1\nname: plain\narchs: [amd64]\nstructs:\n  P:\n    fields:\n"
                       "      - {name: a, type: u32}\n      - {name: b, type: u32}\n", "plain")
    svg = (out / "docs" / "svg" / "amd64" / "struct_P.svg").read_text()
    assert _swatches(svg)["field"] == "f0" and "written by" not in svg
    assert 'class="f0"><title>a: u32' in svg and 'class="f1"><title>b: u32' in svg


# ---- abi-diff ------------------------------------------------------------------------

SHARED = textwrap.dedent("""\
    layoutgen: 1
    name: queue
    archs: [amd64, arm64]
    sides: [runtime, stub]
    structs:
      Queue:
        {mode}
        fields:
          - {{name: start, type: u32, writer: stub, atomic: true}}
          - {{name: end, type: u32, writer: {end_writer}, atomic: {end_atomic}}}
          - {{name: flags, type: u8, writer: stub, bits: 3}}
          - {{name: ring, type: "u64[12]", writer: both}}
    """)


def _diff(tmp_path, old: dict, new: dict) -> tuple:
    base = {"mode": "", "end_writer": "stub", "end_atomic": "true"}
    paths = []
    for name, edits in (("old", old), ("new", new)):
        path = tmp_path / f"{name}.yaml"
        path.write_text(SHARED.format(**{**base, **edits}))
        paths.append(str(path))
    result = run_cli("abi-diff", "--format", "json", *paths)
    document = json.loads(result.stdout)
    return result, {(c["arch"], c["kind"], c["subject"]): c for c in document["changes"]}, document


def test_writers_and_atomic_changes_are_reported_and_change_no_byte(tmp_path):
    result, found, document = _diff(tmp_path, {}, {"end_writer": "both", "end_atomic": "false"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert set(found) == {(arch, kind, "Queue.end") for arch in ("amd64", "arm64")
                          for kind in ("field-writers-changed", "field-atomic-changed")}
    writers = found[("amd64", "field-writers-changed", "Queue.end")]
    assert writers["detail"] == "written by stub -> written by runtime and stub"
    assert writers["layout"] is False and writers["breaking"] is False
    assert found[("arm64", "field-atomic-changed", "Queue.end")]["detail"] == "no longer atomic"
    assert document["layout"] is False
    text = run_cli("abi-diff", str(tmp_path / "old.yaml"), str(tmp_path / "new.yaml")).stdout
    assert text.splitlines()[-1] == "no layout changes"


def test_a_bitfield_writer_change_is_reported(tmp_path):
    """A bitfield's writers change with its run's (a unit has one writer set)."""
    old = SHARED.format(mode="", end_writer="stub", end_atomic="true")
    new = old.replace("name: flags, type: u8, writer: stub", "name: flags, type: u8, writer: runtime")
    new = new.replace("name: end, type: u32, writer: stub", "name: end, type: u32, writer: runtime")
    (tmp_path / "a.yaml").write_text(old)
    (tmp_path / "b.yaml").write_text(new.replace("  Queue:\n", "  Queue:\n    cacheline: separate\n"))
    document = json.loads(run_cli("abi-diff", "--format", "json", str(tmp_path / "a.yaml"),
                                  str(tmp_path / "b.yaml")).stdout)
    kinds = {(c["kind"], c["subject"]) for c in document["changes"] if c["arch"] == "amd64"}
    assert ("field-writers-changed", "Queue.flags") in kinds and ("field-line-changed", "Queue.end") in kinds


def test_a_field_moved_to_another_line_is_reported_with_its_move(tmp_path):
    """check -> separate pads each writer group onto a line of its own: each moved field says
    which line it left, right after its move, among the layout changes."""
    result, found, document = _diff(tmp_path, {"end_writer": "stub"}, {"mode": "cacheline: separate", "end_writer": "runtime"})
    assert result.returncode == 1
    changes = [c for c in document["changes"] if c["arch"] == "amd64"]
    kinds = [(c["kind"], c["subject"]) for c in changes]
    moved = kinds.index(("field-moved", "Queue.end"))
    assert kinds[moved + 1] == ("field-line-changed", "Queue.end")
    line = changes[moved + 1]
    assert line["detail"] == "cache line 0 -> 1" and line["layout"] is True and line["breaking"] is False
    assert found[("amd64", "field-line-changed", "Queue.ring")]["detail"] == "cache lines 0-1 -> 3-4"  # after start | end | flags
    assert ("amd64", "field-line-changed", "Queue.start") not in found  # still on line 0
    text = run_cli("abi-diff", str(tmp_path / "old.yaml"), str(tmp_path / "new.yaml")).stdout
    assert "  compatible  field-line-changed    Queue.end: cache line 0 -> 1\n" in text.split("move no byte")[0]


def test_a_changed_line_size_moves_fields_to_other_lines_without_moving_bytes(tmp_path):
    old = SHARED.format(mode="", end_writer="stub", end_atomic="true")
    (tmp_path / "a.yaml").write_text(old)
    (tmp_path / "b.yaml").write_text(old.replace("sides:", "cacheline_size: 32\nsides:"))
    document = json.loads(run_cli("abi-diff", "--format", "json", str(tmp_path / "a.yaml"),
                                  str(tmp_path / "b.yaml")).stdout)
    ring = [c for c in document["changes"] if c["arch"] == "arm64"]
    assert [(c["kind"], c["subject"], c["detail"]) for c in ring] == [
        ("field-line-changed", "Queue.ring", "cache lines 0-1 -> 0-3 (line size 64 -> 32)")]


def test_the_new_kinds_have_verdicts_and_a_spec_without_sides_diffs_as_before(tmp_path):
    assert {"field-writers-changed", "field-atomic-changed"} <= abidiff.NOT_LAYOUT
    assert "field-line-changed" in abidiff.KINDS and "field-line-changed" not in abidiff.NOT_LAYOUT
    plain = "layoutgen: 1\nname: p\narchs: [amd64]\nstructs:\n  P:\n    fields:\n      - {name: a, type: u32}\n" \
            "      - {name: b, type: 'u8[60]'}\n      - {name: c, type: u32}\n"
    (tmp_path / "a.yaml").write_text(plain)
    (tmp_path / "b.yaml").write_text(plain.replace("u8[60]", "u8[64]"))
    document = json.loads(run_cli("abi-diff", "--format", "json", str(tmp_path / "a.yaml"),
                                  str(tmp_path / "b.yaml")).stdout)
    assert "field-line-changed" not in {c["kind"] for c in document["changes"]}  # c moved to line 1: not said


def test_c_asserts_an_atomic_field_of_an_anonymous_member_through_its_parent(tmp_path):
    text = textwrap.dedent("""\
        layoutgen: 1
        name: anon
        archs: [amd64, i386]
        sides: [runtime, stub]
        structs:
          Framed:
            writer: stub
            fields:
              - {name: tag, type: u32}
              - struct:
                  - {name: wide, type: u32, atomic: true}
                  - {name: narrow, type: u32}
        """)
    _, out = _generate(tmp_path, text, "anon")
    source = out / "c" / "anon_layout_test.c"
    assert "_Static_assert(offsetof(struct framed, wide) % 4 == 0," in source.read_text()
    for arch in ("amd64", "i386"):
        result = compile_c(arch, str(source), "-c", "-o", os.devnull, include=str(out / "c"))
        assert result.returncode == 0, (arch, result.stderr)
