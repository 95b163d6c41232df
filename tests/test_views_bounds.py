"""Generated Python views tell the truth about their buffer: a negative offset is refused when
the view is made (struct would count it from the end), and a buffer that shrank (a bytearray
resized) or was closed (an mmap) after that is noticed by the next read or write of any kind
of field, which raises ValueError naming the view and the field instead of reading short,
stale or wrapped bytes, or blaming the value written."""
from __future__ import annotations

import importlib
import mmap
import os
import sys

import pytest

from conftest import ROOT, run_cli

CASES = {"sysmsg": os.path.join(ROOT, "spec", "sysmsg.yaml"),
         "flex": os.path.join(ROOT, "tests", "cases", "flexible_arrays", "spec.yaml"),
         "bitf": os.path.join(ROOT, "tests", "cases", "bitfields", "spec.yaml")}


@pytest.fixture(scope="module")
def modules(tmp_path_factory):
    folder = tmp_path_factory.mktemp("views_bounds")
    for name, spec in CASES.items():
        result = run_cli("generate", "--spec", spec, "--out", str(folder / name))
        assert result.returncode == 0, result.stderr
    saved = {name: sys.modules.pop(name) for name in list(sys.modules) if name.split(".")[0] in CASES}
    sys.path[:0] = [str(folder / name / "python") for name in CASES]
    yield {name: importlib.import_module(f"{name}.amd64") for name in CASES}
    for name in CASES:
        sys.path.remove(str(folder / name / "python"))
    for name in [m for m in sys.modules if m.split(".")[0] in CASES]:
        del sys.modules[name]
    sys.modules.update(saved)


def _shrunk(view_type, size=None):
    buffer = bytearray(size or view_type.SIZE)
    view = view_type(buffer)
    del buffer[4:]
    return view


def _refused(action, *words):
    with pytest.raises(ValueError) as caught:
        action()
    for word in words:
        assert word in str(caught.value), str(caught.value)
    return str(caught.value)


def test_a_negative_offset_is_refused_at_construction(modules):
    view = modules["sysmsg"].MsgView
    _refused(lambda: view(bytearray(200), -1), "MsgView", "offset -1 is negative")
    _refused(lambda: view(bytearray(200), -view.SIZE), "MsgView", "negative")
    with pytest.raises(TypeError):
        view(bytearray(200), 1.0)


def test_reading_a_field_past_a_shrunk_bytearray_names_view_and_field(modules):
    sysmsg = modules["sysmsg"]
    view = _shrunk(sysmsg.MsgView)
    message = _refused(lambda: view.thread_id, "MsgView.thread_id", "shrank to 4 bytes", "80..83")
    assert "after the view was made" in message
    _refused(lambda: view.state, "MsgView.state")  # an enum field
    _refused(lambda: view.unpack(), "MsgView", "shrank")
    context = _shrunk(sysmsg.ThreadContextView)
    _refused(lambda: context.fpstate, "ThreadContextView.fpstate", "shrank")  # an array: never a shorter one
    _refused(lambda: context.siginfo.signo, "shrank")  # a nested view reads through its own field


def test_writing_past_a_shrunk_bytearray_is_not_blamed_on_the_value(modules):
    sysmsg = modules["sysmsg"]
    view = _shrunk(sysmsg.MsgView)
    _refused(lambda: setattr(view, "thread_id", 3), "MsgView.thread_id", "shrank")
    _refused(lambda: setattr(view, "thread_id", -3), "out of range")  # a bad value is still reported as such
    _refused(lambda: view.pack(sysmsg.Msg.parse(bytes(sysmsg.Msg.sizeof()))), "MsgView", "shrank")
    length = len(sysmsg.ThreadContextView(bytearray(sysmsg.ThreadContextView.SIZE)).fpstate)
    context = _shrunk(sysmsg.ThreadContextView)
    _refused(lambda: setattr(context, "fpstate", bytes(length)), "ThreadContextView.fpstate", "shrank")


def test_a_closed_mmap_is_reported_for_reads_and_writes(modules):
    view_type = modules["sysmsg"].MsgView
    memory = mmap.mmap(-1, view_type.SIZE)
    view = view_type(memory)
    memory.close()
    _refused(lambda: view.thread_id, "MsgView.thread_id", "(mmap) was closed")
    _refused(lambda: setattr(view, "thread_id", 1), "MsgView.thread_id", "closed")
    _refused(lambda: view.unpack(), "MsgView", "closed")


def test_flexible_arrays_and_bitfields_notice_a_shrunk_buffer(modules):
    flex, bitf = modules["flex"], modules["bitf"]
    blob = _shrunk(flex.BlobView, 40)
    _refused(lambda: blob.data, "BlobView.data", "shrank")  # not an empty (or negative-length) array
    items = _shrunk(flex.ItemsView, 40)
    _refused(lambda: items.entries, "ItemsView.entries", "shrank")
    _refused(lambda: setattr(items, "entries", [{"key": 1, "weight": 2}]), "ItemsView.entries", "shrank")
    flags = bitf.FlagsView(bytearray(bitf.FlagsView.SIZE))
    del flags._buf[2:]  # count (bytes 0..1) is still there; rest (bytes 2..3) is not
    assert flags.count == 0
    _refused(lambda: flags.rest, "FlagsView.rest", "shrank")
    _refused(lambda: setattr(flags, "rest", 1), "FlagsView.rest", "shrank")
