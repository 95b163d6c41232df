"""The DWARF cross-check: the committed header agrees with the spec on every arch, and a
header edited by hand (a member added, a type widened) is caught with a report that
names the struct and the members that moved."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from codegen import layout as lay
from codegen import pipeline
from codegen.check import dwarf, toolchain

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "spec" / "sysmsg.yaml"
GENERATED = ROOT / "generated"
ARCHS = ("amd64", "arm64")


@pytest.fixture(scope="module")
def built():
    return pipeline.build(str(SPEC))


def _members_in_spec(spec, layout) -> int:
    """What the header should declare: every field plus explicit padding, never a hole; and
    every named bitfield (DWARF has no member for an unnamed one); a flexible array and
    reserved space are members too. An anonymous member counts as the members it holds."""
    def count(name: str) -> int:
        struct = layout.structs[name]
        return len(struct.bitfields) + sum(
            count(slot.struct) if isinstance(slot, lay.FieldSlot) and slot.field.anonymous else 1
            for slot in struct.slots if isinstance(slot, (lay.FieldSlot, lay.PadSlot, lay.FlexSlot, lay.ReservedSlot)))
    return sum(count(name) for name in dwarf.named_structs(spec, layout))


def _edited_copy(tmp_path: Path, edit) -> Path:
    """A copy of the generated folder whose header is `edit(text)` and nothing else changed."""
    out = tmp_path / "generated"
    shutil.copytree(GENERATED, out)
    header = out / "c" / "sysmsg.h"
    text = header.read_text()
    edited = edit(text)
    assert edited != text
    header.write_text(edited)
    return out


def _replace_once(old: str, new: str):
    def edit(text: str) -> str:
        assert text.count(old) == 1, f"the edit needs exactly one {old!r} in the header"
        return text.replace(old, new)
    return edit


def _append_to_sysmsg(member: str):
    """Add a member as the last line of `struct sysmsg`, wherever the generator put it."""
    def edit(text: str) -> str:
        start = text.index("\nstruct sysmsg {\n")
        end = text.index("\n};", start)
        return text[:end] + f"\n  {member}" + text[end:]
    return edit


def _only(layouts: dict, arch: str) -> dict:
    return {arch: layouts[arch]}


@pytest.mark.parametrize("arch", ARCHS)
def test_committed_header_matches_and_every_struct_was_compared(built, arch):
    spec, layouts = built
    outcome = dwarf.cross_check(spec, _only(layouts, arch), str(GENERATED))
    assert outcome.problems == ()
    # A pass only counts if every struct of the spec on this arch was read back.
    assert outcome.counts[arch] == dwarf.Counts(structs=len(layouts[arch].structs),
                                                members=_members_in_spec(spec, layouts[arch]))
    assert outcome.counts[arch].structs > 0 and outcome.counts[arch].members > 0


@pytest.mark.parametrize("arch", ARCHS)
def test_member_added_by_hand_is_caught(built, tmp_path, arch):
    spec, layouts = built
    # The new member fits in Msg's tail padding, so the struct's size does not change:
    # only the list of members gives it away.
    tail = [hole for hole in layouts[arch].struct("Msg").holes if hole.tail]
    assert tail and tail[0].size >= 4
    out = _edited_copy(tmp_path, _append_to_sysmsg("uint32_t hand_added;"))
    problems = dwarf.check(spec, _only(layouts, arch), str(out))
    assert len(problems) == 1
    report = problems[0]
    assert f"Msg ({arch}): struct sysmsg" in report
    assert "hand_added (not in the spec)" in report
    assert f"Msg ({arch}): 1 member differs" in report
    assert "size: spec says" not in report


@pytest.mark.parametrize("arch", ARCHS)
def test_widened_type_is_caught_with_the_members_it_moved(built, tmp_path, arch):
    spec, layouts = built
    out = _edited_copy(tmp_path, _replace_once("  int32_t err;", "  int64_t err;"))
    problems = dwarf.check(spec, _only(layouts, arch), str(out))
    assert len(problems) == 2  # the moved members, and the member's own type
    report, widened = problems
    assert widened == (f"struct sysmsg: field err: the spec says i32, {toolchain.C_COMPILERS[arch]}'s DWARF says "
                       f"signed 8-byte (int64_t: long int) on {arch}")
    msg = layouts[arch].struct("Msg")
    moved = ("err", "err_line", "debug", "thread_id")
    assert f"Msg ({arch}): {len(moved)} members differ" in report
    for name in moved:
        assert f"{name} (offset {msg.field(name).offset} -> " in report
    marked = [line for line in report.splitlines() if line.lstrip().startswith("!")]
    assert len(marked) == len(moved) + 1  # the moved members and the struct size
    assert f"size: spec says {msg.size}, compiler says" in report


def test_no_struct_in_dwarf_fails(built, tmp_path):
    spec, layouts = built
    out = tmp_path / "generated"
    (out / "c").mkdir(parents=True)
    (out / "c" / "sysmsg.h").write_text("#include <stdint.h>\n")
    problems = dwarf.check(spec, _only(layouts, "amd64"), str(out))
    assert problems and "does not compile on amd64" in problems[0]
    compiled = dwarf.read_structs(_object_without_probes(tmp_path))
    assert compiled == {}
    problems, counts = dwarf.judge(spec, layouts["amd64"], compiled)
    assert counts is None
    assert problems == ["DWARF on amd64: the probe object holds no struct at all, so nothing was compared"]


def _object_without_probes(tmp_path: Path) -> bytes:
    """A real object file with debug info but no probe variables in it."""
    from codegen.check.toolchain import c_compiler, run
    source, target = tmp_path / "empty.c", tmp_path / "empty.o"
    source.write_text("int unrelated;\n")
    result = run([c_compiler("amd64"), *dwarf.DWARF_FLAGS, str(source), "-o", str(target)])
    assert result.returncode == 0, result.stderr
    return target.read_bytes()


CASES = sorted(p.name for p in (ROOT / "tests" / "cases").iterdir() if (p / "spec.yaml").exists())


@pytest.mark.parametrize("case", CASES)
def test_case_specs_agree_with_dwarf(generate, case):
    # Packed, over-aligned, nested-array and per-arch structs exercise the DWARF reader
    # on shapes the sysmsg spec does not have.
    spec_path = ROOT / "tests" / "cases" / case / "spec.yaml"
    spec, layouts = pipeline.build(str(spec_path))
    outcome = dwarf.cross_check(spec, layouts, str(generate(spec_path)))
    assert outcome.problems == ()
    for arch, layout in layouts.items():
        assert outcome.counts[arch] == dwarf.Counts(len(dwarf.named_structs(spec, layout)),
                                                    _members_in_spec(spec, layout))
