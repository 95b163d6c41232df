"""The DWARF cross-check: the committed header agrees with the spec on every arch, and a
header edited by hand (a member added, a type widened) is caught with a report that
names the struct and the members that moved."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from codegen import layout_types as lay
from codegen import pipeline
from codegen.check import dwarf, toolchain
from codegen.primitives import ARCHS as ARCH_TABLE
from conftest import generated_all_archs

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
    return _edited_tree(GENERATED, tmp_path, "sysmsg.h", edit)


def _edited_tree(source: Path, tmp_path: Path, header_name: str, edit) -> Path:
    out = tmp_path / "generated"
    shutil.copytree(source, out)
    header = out / "c" / header_name
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


NEW_ARCHS = ("riscv64", "i386", "armhf", "ppc64le", "s390x", "mips64el")


@pytest.fixture(scope="module")
def all_archs(tmp_path_factory):
    """conftest's every-arch spec, built and generated once: (spec, layouts, output folder)."""
    spec_path, out = generated_all_archs(tmp_path_factory.mktemp("allarch"))
    spec, layouts = pipeline.build(str(spec_path))
    return spec, layouts, out


def _arch_line(lines: list, arch: str, start: str) -> int:
    """The index of the line starting with `start` in one of `arch`'s blocks of the header."""
    block = None
    for at, line in enumerate(lines):
        if line.startswith("#"):
            block = re.fullmatch(rf"#(?:el)?if {re.escape(ARCH_TABLE[arch].c_condition)}", line)
        elif block and line.startswith(start):
            return at
    raise AssertionError(f"no line starting {start!r} for {arch}")


def _swap_in_arch_block(arch: str, first: str, second: str):
    """An edit that swaps the line starting with `first` in `arch`'s blocks with the next one,
    which starts with `second`."""
    def edit(text: str) -> str:
        lines = text.split("\n")
        at = _arch_line(lines, arch, first)
        assert lines[at + 1].startswith(second)
        lines[at], lines[at + 1] = lines[at + 1], lines[at]
        return "\n".join(lines)
    return edit


def _replace_in_arch_block(arch: str, start: str, new: str):
    def edit(text: str) -> str:
        lines = text.split("\n")
        lines[_arch_line(lines, arch, start)] = new
        return "\n".join(lines)
    return edit


@pytest.mark.parametrize("arch", ARCH_TABLE)
def test_every_arch_agrees_with_dwarf(all_archs, arch):
    spec, layouts, out = all_archs
    outcome = dwarf.cross_check(spec, _only(layouts, arch), str(out))
    assert outcome.problems == ()
    assert outcome.counts[arch] == dwarf.Counts(2, _members_in_spec(spec, layouts[arch]))


@pytest.mark.parametrize("arch", NEW_ARCHS)
def test_swapped_bitfields_are_caught_on_each_new_arch(all_archs, tmp_path, arch):
    # a (3 bits) and b (5 bits) trade places in their byte: both move on every byte order.
    spec, layouts, out = all_archs
    edited = _edited_tree(out, tmp_path, "allarch.h", _swap_in_arch_block(arch, "  uint8_t a : 3;", "  uint8_t b : 5;"))
    problems = dwarf.check(spec, _only(layouts, arch), str(edited))
    assert len(problems) == 1
    a, b = (layouts[arch].struct("Bits").bitfield(name) for name in "ab")
    assert f"Bits ({arch}): 2 members differ: a (bits {a.first_bit}..{a.first_bit + 2} -> " in problems[0]
    assert f"b (bits {b.first_bit}..{b.first_bit + 4} -> " in problems[0]


@pytest.mark.parametrize("arch", ("i386", "armhf"))
def test_long_as_wide_as_on_64_bit_is_caught_on_32_bit(all_archs, tmp_path, arch):
    spec, layouts, out = all_archs
    edited = _edited_tree(out, tmp_path, "allarch.h", _replace_in_arch_block(arch, "  long n;", "  long long n;"))
    problems = dwarf.check(spec, _only(layouts, arch), str(edited))
    assert len(problems) == 2
    assert f"Inner ({arch}): 4 members differ: n (size 4 -> 8); p (offset " in problems[0]
    assert problems[1] == (f"struct inner: field n: the spec says long, {ARCH_TABLE[arch].gcc}'s DWARF says "
                           f"signed 8-byte (long long int) on {arch}")


@pytest.mark.parametrize("arch", NEW_ARCHS)
def test_dwarf_3_bit_offsets_read_as_dwarf_5_ones(all_archs, tmp_path, arch):
    # DWARF 2/3 count a bitfield from its unit's top bit, which is address order only on
    # big-endian targets; both readings must give the spec's allocation positions.
    spec, layouts, out = all_archs
    names = dwarf.named_structs(spec, layouts[arch])
    (tmp_path / "probe.c").write_text(dwarf.probe_source(spec, names))
    shapes = {}
    for version in ("-gdwarf-3", "-gdwarf-5"):
        target = tmp_path / f"probe{version}.so"
        result = toolchain.run([toolchain.c_compiler(arch), *dwarf.DWARF_FLAGS, version, "-I", str(out / "c"),
                                str(tmp_path / "probe.c"), "-o", str(target)])
        assert result.returncode == 0, result.stderr
        shapes[version] = dwarf.read_structs(target.read_bytes())
    assert shapes["-gdwarf-3"] == shapes["-gdwarf-5"]
    assert dwarf.judge(spec, layouts[arch], shapes["-gdwarf-3"])[0] == []


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
