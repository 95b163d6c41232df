"""Writers and cache lines (issue 20): the engine pads writer groups apart under
`cacheline: separate`, refuses shared lines under `cacheline: check`, and every language's
output agrees with the compilers on the padded layout. Errors for bad keys are in tests/errors."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from codegen import layout_types as lay
from codegen.layout import layout_combinations
from codegen import pipeline
from conftest import run_cli

ROOT = Path(__file__).resolve().parent.parent

MIXED = textwrap.dedent("""\
    layoutgen: 1
    name: lines
    archs: [amd64, arm64]
    sides: [runtime, stub]
    {extra}
    structs:
      Queue:
        cacheline: {mode}
        fields:
          - {{name: start, type: u32, writer: stub, atomic: true}}
          - {{name: spinning, type: u32, writer: stub}}
          - {{name: end, type: u32, writer: runtime, atomic: true}}
          - {{name: awake, type: u32, writer: runtime}}
          - {{name: active, type: u32, writer: both, atomic: true}}
          - {{name: stamp, type: u64, writer: stub}}
          - {{name: ring, type: "u64[8]", writer: both, atomic: true}}
      Holder:
        fields:
          - {{name: tag, type: u32}}
          - {{name: queue, type: Queue}}
    """)

GROUPS = [("start", "spinning"), ("end", "awake"), ("active",), ("stamp",), ("ring",)]


def _spec(tmp_path, mode: str, extra: str = ""):
    path = tmp_path / f"{mode}.yaml"
    path.write_text(MIXED.format(mode=mode, extra=extra))
    return path


def _layouts(path) -> dict:
    return layout_combinations(pipeline.build(str(path))[0])


def test_check_names_both_fields_their_writers_and_the_line(tmp_path):
    result = run_cli("generate", "--spec", str(_spec(tmp_path, "check")), "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert ("struct Queue: start (written by stub) and end (written by runtime) share cache line 0 "
            "(bytes 0..63) on amd64") in result.stderr
    assert "cacheline: separate" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("arch", ["amd64", "arm64"])
def test_separate_starts_each_writer_group_on_a_line_of_its_own(tmp_path, arch):
    queue = _layouts(_spec(tmp_path, "separate"))[arch].structs["Queue"]
    offsets = {slot.field.names.canonical: slot.offset for slot in queue.fields}
    firsts = [offsets[group[0]] for group in GROUPS]
    assert firsts == [0, 64, 128, 192, 256]  # one line per group, in declared order
    assert offsets["spinning"] == 4 and offsets["awake"] == 68  # a group's fields stay together
    assert queue.size == 320 and queue.align == 64
    pads = [slot for slot in queue.slots if isinstance(slot, lay.PadSlot)]
    assert [(p.offset, p.size) for p in pads] == [(8, 56), (72, 56), (132, 60), (200, 56)]
    assert not queue.holes  # every byte the engine adds is an explicit, named pad


def test_a_parameter_sets_the_line_size(tmp_path):
    extra = "cacheline_size: line\nparams:\n  line: {values: [64, 128], default: 64}"
    layouts = _layouts(_spec(tmp_path, "separate", extra))
    wide = next(v for k, v in layouts.items() if k.startswith("amd64_"))
    queue = wide.structs["Queue"]
    assert [queue.field(group[0]).offset for group in GROUPS] == [0, 128, 256, 384, 512]
    assert queue.align == 128 and queue.size == 640


def test_the_padded_layout_holds_in_c_dwarf_and_python(tmp_path):
    spec = _spec(tmp_path, "separate", "targets: [c, python]")
    out = tmp_path / "out"
    assert run_cli("generate", "--spec", str(spec), "--out", str(out)).returncode == 0
    header = (out / "c" / "lines.h").read_text()
    assert "uint8_t __line_pad0[56];" in header and "} __attribute__((aligned(64)));" in header
    # From the spec's folder, so that no consumer folder of this repository is picked up.
    result = subprocess.run([sys.executable, "-m", "codegen", "check", "--spec", str(spec), "--out", str(out),
                             "--no-cache"], cwd=tmp_path, capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stdout + result.stderr
    for step in ("C layout asserts compile on every arch: ok", "DWARF of the compiled header matches the spec: ok",
                 "Python parsers match the frozen layout: ok"):
        assert step in result.stdout


def test_a_separate_struct_nested_keeps_its_lines(tmp_path):
    holder = _layouts(_spec(tmp_path, "separate"))["amd64"].structs["Holder"]
    assert holder.field("queue").offset == 64 and holder.align == 64 and holder.size == 384


def test_a_struct_grouped_by_hand_passes_check(tmp_path):
    path = tmp_path / "hand.yaml"
    path.write_text(textwrap.dedent("""\
        layoutgen: 1
        name: hand
        archs: [amd64, arm64]
        sides: [runtime, stub]
        structs:
          Counters:
            cacheline: check
            fields:
              - {name: produced, type: u64, writer: runtime, atomic: true}
              - {pad: 56}
              - {name: consumed, type: u64, writer: stub, atomic: true}
        """))
    counters = _layouts(path)["arm64"].structs["Counters"]
    assert counters.field("consumed").offset == 64
