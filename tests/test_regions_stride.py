"""Arrays at a fixed stride in regions: `count` structs of `holds`, one every `stride` bytes.

A good spec generates, its C layout test compiles on both arches with real compilers (and
fails to when the offsets header is made to disagree), and the offsets header, the docs, the
region diagrams and `layoutgen layout` all show the array. Each refusal is a file in
tests/errors/ (`region_array_*`), run here through the same harness as the whole catalogue.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from codegen import pipeline
from codegen.layout import layout_combinations
from codegen.tools import layout_report

from conftest import ARCHS, ROOT, compile_c, run_cli
from test_errors import CASES
from test_errors import test_bad_spec_file as run_error_case  # renamed: pytest would collect it again

# A parameter moves the stride, so every combination is checked and asserted on its own.
SPEC = """\
layoutgen: 1
name: slots
doc: A table of slots.
archs: [amd64, arm64]
params:
  slot_size:
    values: [32, 64]
    default: 32
constants:
  SLOTS: 6
structs:
  Slot:
    doc: One slot.
    fields:
      - {name: id, type: u64}
      - {name: state, type: u32}
regions:
  Table:
    doc: The slot table.
    size: 1024
    parts:
      - {name: header, offset: 0, size: 64}
      - name: slots
        offset: 64
        size: SLOTS * slot_size
        holds: Slot
        count: SLOTS
        stride: slot_size
        doc: The slots.
"""

# One error case per check the generator makes.
REFUSALS = ("region_array_count_without_stride", "region_array_without_holds", "region_array_count_zero",
            "region_array_count_limit", "region_array_stride_too_small", "region_array_stride_misaligned",
            "region_array_start_misaligned", "region_array_past_part", "param_region_array_stride_one_combination")


@pytest.fixture
def out(generate):
    return generate(SPEC)


def test_offsets_header_gives_start_stride_and_count(out):
    text = (out / "c" / "slots_offsets.h").read_text()
    assert "#define region_table_slots_offset 64\n" in text
    assert "#define region_table_slots_count 6\n" in text
    # The stride depends on the parameter: one value per combination.
    assert "#define region_table_slots_stride 32\n" in text and "#define region_table_slots_stride 64\n" in text


@pytest.mark.parametrize("arch", ARCHS)
def test_c_layout_test_asserts_the_array_and_compiles(out, arch, tmp_path):
    source = out / "c" / "slots_layout_test.c"
    text = source.read_text()
    for fact in ("sizeof(struct slot) <= (SLOTS_SLOT_SIZE)", "(SLOTS_SLOT_SIZE) % _Alignof(struct slot) == 0",
                 "64 % _Alignof(struct slot) == 0",
                 "(unsigned long long)(SLOTS) * (SLOTS_SLOT_SIZE) <= ((SLOTS * SLOTS_SLOT_SIZE))"):
        assert fact in text, fact
    for size in (32, 64):
        result = compile_c(arch, str(source), f"-DSLOTS_SLOT_SIZE={size}", "-c", "-o", str(tmp_path / "t.o"))
        assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("arch", ARCHS)
def test_c_layout_test_refuses_an_offsets_header_that_disagrees(out, arch, tmp_path):
    offsets = out / "c" / "slots_offsets.h"
    offsets.write_text(offsets.read_text().replace("#define region_table_slots_count 6", "#define region_table_slots_count 7"))
    result = compile_c(arch, str(out / "c" / "slots_layout_test.c"), "-c", "-o", str(tmp_path / "t.o"))
    assert result.returncode != 0
    assert "region Table.slots: the offsets header agrees" in result.stderr


def test_docs_and_diagrams_show_the_array(out):
    markdown = (out / "docs" / "slots.md").read_text()
    assert "`6 x Slot every 32 bytes`" in markdown
    for arch in ARCHS:
        svg = (out / "docs" / "svg" / arch / "region_Table.svg").read_text()
        assert "6 x Slot every 32 bytes" in svg


def test_layout_report_shows_the_array(out, tmp_path):
    spec_path = tmp_path / "spec.yaml"
    spec, _ = pipeline.build(str(spec_path))
    layouts = layout_combinations(spec)
    text = layout_report.report(spec, layouts, arch="amd64", params={"slot_size": 64})
    assert "/*   Table.slots: offset 64, size 384, 6 x Slot every 64 bytes */" in text
    # One struct asked for: exactly pahole's text, no region lines.
    assert "regions" not in layout_report.report(spec, layouts, arch="amd64", struct="Slot", params={"slot_size": 64})
    result = run_cli("layout", "--spec", str(spec_path), "--arch", "arm64")
    assert result.returncode == 0 and "6 x Slot every 32 bytes" in result.stdout


def test_sysmsg_lays_out_its_thread_contexts_at_the_allocated_stride():
    spec, layouts = pipeline.build(str(Path(ROOT) / "spec" / "sysmsg.yaml"))
    for arch in ARCHS:
        contexts = next(r for r in layouts[arch].regions if r.path == ("ThreadContexts", "contexts"))
        assert (contexts.count, contexts.stride, contexts.holds) == (4095, 4096, "ThreadContext")


@pytest.mark.parametrize("name", REFUSALS)
def test_each_check_refuses_its_bad_case(name, tmp_path):
    case = CASES / f"{name}.yaml"
    assert re.match(r"# expect: \d+:\d+: ", case.read_text())
    run_error_case(case, tmp_path)
