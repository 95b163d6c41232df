"""The context queue of spec/sysmsg.yaml (issue 20): the seed's packed layout mixes the runtime's
and the stubs' counters on one cache line, which `cacheline: check` reports; the shipped
`cacheline: separate` layout puts each writer group on a line of its own on amd64 and arm64,
and the engine, the offsets header, the Python package and the compilers (through
`layoutgen check`: C asserts and DWARF) agree on it."""
from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from codegen import layout_types as lay
from codegen.layout import layout_combinations
from codegen import pipeline
from conftest import run_cli

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "spec" / "sysmsg.yaml"
OFFSETS_HEADER = ROOT / "generated" / "c" / "sysmsg_offsets.h"
ARCHS = ("amd64", "arm64")
LINE = 64

# Runs of consecutive fields with one set of writers, in declared order, as the reference gives them.
GROUPS = (
    (("start",), {"stub"}),
    (("end",), {"runtime"}),
    (("num_active_threads",), {"stub"}),
    (("num_active_contexts",), {"runtime", "stub"}),
    (("num_awake_contexts",), {"runtime"}),
    (("fast_path_disalbed_ts", "fast_path_failed_in_row"), {"stub"}),
    (("fast_path_disabled",), {"runtime"}),
    (("ringbuffer",), {"runtime", "stub"}),
)
FIELDS = [name for names, _writers in GROUPS for name in names]


def _spec_with_mode(tmp_path, mode: str) -> Path:
    """A copy of the shipped spec whose context queue says `cacheline: <mode>`."""
    text = SPEC.read_text()
    shipped = "    c: context_queue\n    cacheline: separate\n"
    assert text.count(shipped) == 1, "the context queue no longer reads as this test expects"
    path = tmp_path / "sysmsg.yaml"
    path.write_text(text.replace(shipped, f"    c: context_queue\n    cacheline: {mode}\n"))
    return path


def _line_of(text: str, needle: str) -> int:
    return next(number for number, line in enumerate(text.splitlines(), 1) if line.strip() == needle)


@pytest.fixture(scope="module")
def layouts() -> dict:
    return layout_combinations(pipeline.build(str(SPEC))[0])


def test_the_seed_layout_under_check_names_the_false_sharing(tmp_path):
    spec = _spec_with_mode(tmp_path, "check")
    result = run_cli("generate", "--spec", str(spec), "--out", str(tmp_path / "out"))

    assert result.returncode == 2, result.stderr
    end_line = _line_of(spec.read_text(), "- name: end")
    assert result.stderr.startswith(f"{spec}:{end_line}:9: "), result.stderr  # points at the second writer
    assert ("struct ContextQueue: start (written by stub) and end (written by runtime) share cache line 0 "
            "(bytes 0..63) on amd64") in result.stderr
    assert "cacheline: separate" in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_the_spec_gives_the_writers_of_the_reference(layouts):
    queue = layouts["amd64"].structs["ContextQueue"]
    assert [slot.field.names.canonical for slot in queue.fields] == FIELDS
    for names, writers in GROUPS:
        for name in names:
            field = queue.field(name).field
            assert field.writers == writers, name
            assert field.atomic, name


def _group_starts(offsets: dict) -> list:
    return [offsets[names[0]] for names, _writers in GROUPS]


def _assert_one_group_per_line(offsets: dict, sizes: dict) -> None:
    """Each group starts a line; no line holds bytes of two groups."""
    owner = {}
    for index, (names, _writers) in enumerate(GROUPS):
        assert offsets[names[0]] % LINE == 0, names
        for name in names:
            first, last = offsets[name], offsets[name] + sizes[name] - 1
            for line in range(first // LINE, last // LINE + 1):
                assert owner.setdefault(line, index) == index, f"{name} shares line {line}"


@pytest.mark.parametrize("arch", ARCHS)
def test_separate_puts_each_writer_group_on_its_own_line(layouts, arch):
    queue = layouts[arch].structs["ContextQueue"]
    offsets = {slot.field.names.canonical: slot.offset for slot in queue.fields}
    sizes = {slot.field.names.canonical: slot.size for slot in queue.fields}

    _assert_one_group_per_line(offsets, sizes)
    assert _group_starts(offsets) == [0, 64, 128, 192, 256, 320, 384, 448]
    assert offsets["fast_path_failed_in_row"] == 328  # a group's fields stay together
    assert sizes["ringbuffer"] == 8 * 4096
    assert queue.align == LINE and queue.size == 448 + 8 * 4096
    assert not queue.holes  # every added byte is a named pad
    pads = [(slot.offset, slot.size) for slot in queue.slots if isinstance(slot, lay.PadSlot)]
    assert pads == [(4, 60), (68, 60), (132, 60), (196, 60), (260, 60), (332, 52), (388, 60)]


def test_the_offsets_header_agrees_with_the_engine(layouts):
    """sysmsg_offsets.h (what the stub's assembly reads) has one set of offsets for both arches."""
    text = OFFSETS_HEADER.read_text()
    header = {name: int(value) for name, value in
              re.findall(r"^#define offsetof_context_queue_(\w+) (\d+)$", text, re.MULTILINE)}
    for arch in ARCHS:
        queue = layouts[arch].structs["ContextQueue"]
        assert header == {name: queue.field(name).offset for name in FIELDS}, arch
    assert re.search(r"^#define sizeof_context_queue 33216$", text, re.MULTILINE)


@pytest.mark.parametrize("arch", ARCHS)
def test_the_python_package_sees_the_same_lines(layouts, arch):
    mod = importlib.import_module(f"sysmsg.{arch}")
    queue = layouts[arch].structs["ContextQueue"]
    assert mod.SIZES["ContextQueue"] == queue.size == mod.ContextQueueView.SIZE
    assert mod.MAX_CONTEXT_QUEUE_ENTRIES == 4096 == mod.MAX_GUEST_CONTEXTS + 1
    assert mod.CQ_INDEX_SHIFT == 32

    # Writing each field through the view lands on the engine's offset and nowhere else.
    buffer = bytearray(queue.size)
    view = mod.ContextQueueView(buffer)
    for name in FIELDS[:-1]:
        setattr(view, name, 0x11)
    last = mod.MAX_CONTEXT_QUEUE_ENTRIES - 1
    view.ringbuffer[last] = 0x22
    touched = {offset for offset, byte in enumerate(buffer) if byte}
    expected = {queue.field(name).offset for name in FIELDS[:-1]}
    expected.add(queue.field("ringbuffer").offset + 8 * last)
    assert touched == expected
    assert mod.ContextQueue.parse(bytes(buffer)).fast_path_disabled == 0x11


def test_layoutgen_check_proves_the_layout_with_the_compilers():
    result = run_cli("check", "--spec", str(SPEC), "--out", str(ROOT / "generated"), "--no-cache")
    assert result.returncode == 0, result.stdout + result.stderr
    for step in ("C layout asserts compile on every arch: ok", "DWARF of the compiled header matches the spec: ok",
                 "the offsets header as an assembler sees it matches the spec: ok",
                 "Python parsers match the frozen layout: ok"):
        assert step in result.stdout
    asserts = (ROOT / "generated" / "c" / "sysmsg_layout_test.c").read_text()
    assert "struct context_queue" in asserts and "ringbuffer" in asserts
