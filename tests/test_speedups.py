"""The compiled runtime (`_speedups.c`) against the pure-Python one it replaces.

Every case spec and sysmsg is generated once; each package is imported twice in one process:
as generated (pure Python) and as a copy with the compiled module built into it by gcc. Both
must parse every struct to equal values of the same classes in the same key order, read and
write every view field alike, and fail with the same errors. The C code is also checked for
reference leaks on its success and error paths, and for leaving a user's own view subclass
constructor alone.
"""
from __future__ import annotations

import enum
import gc
import importlib
import mmap
import os
import random
import shutil
import subprocess
import sys

import pytest

from codegen import pipeline
from conftest import ROOT, SPEC, generate_in_process

sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
from compiled_copy import compile_speedups  # noqa: E402

CASES_DIR = os.path.join(ROOT, "tests", "cases")
SPECS = {"sysmsg": SPEC, **{name: os.path.join(CASES_DIR, name, "spec.yaml") for name in sorted(os.listdir(CASES_DIR))}}
RECORDS = 4  # random records per struct and arch
VIEW_API = {"at", "pack", "unpack", "SIZE", "PARSER"}


@pytest.fixture(scope="module")
def pairs(tmp_path_factory):
    """spec name -> [(pure arch module, compiled arch module)] for every arch module."""
    root = tmp_path_factory.mktemp("speedups")
    built = None
    found: dict = {}
    for case, spec_path in SPECS.items():
        spec, layouts = pipeline.build(spec_path)
        if "python" not in spec.targets:
            continue
        out = root / case
        generate_in_process(spec_path, out)
        package = out / "python" / spec.name
        twin = root / "compiled" / case / f"{spec.name}_compiled"
        shutil.copytree(package, twin)
        if built is None:  # one build serves every copy: the C source is the same in each
            built = compile_speedups(str(twin))
        else:
            shutil.copy(built, twin)
        sys.path[:0] = [str(out / "python"), str(twin.parent)]
        modules = sorted(name[:-3] for name in os.listdir(package)
                         if name.endswith(".py") and not name.startswith("_") and name != "native.py")
        found[case] = [(importlib.import_module(f"{spec.name}.{key}"),
                        importlib.import_module(f"{spec.name}_compiled.{key}")) for key in modules]
        assert importlib.import_module(f"{spec.name}_compiled._runtime").SPEEDUPS is not None, case
        assert importlib.import_module(f"{spec.name}._runtime").SPEEDUPS is None, case
    pure, compiled = found["sysmsg"][0]
    assert type(vars(compiled.MsgView)["thread_id"]).__name__ == "Field"
    assert type(vars(pure.MsgView)["thread_id"]) is property
    assert type(compiled._unpack_Msg).__name__ == "Parser" and "_fill" not in pure._unpack_Msg.__code__.co_names
    assert "_fill" in compiled._unpack_ThreadContext.__code__.co_names  # nested values: filled from Python
    yield found


def _parsers(module) -> list:
    """(name, parser, view class or None) of every struct the module parses."""
    found = []
    for name in sorted(vars(module)):
        value = getattr(module, name)
        if type(value).__name__ in ("FastStruct", "FastUnion", "FlexStruct") and not name.startswith("_"):
            found.append((name, value, getattr(module, name + "View", None)))
    return found


def _plain(value):
    """A value with every class the runtime made replaced by its name and contents, so the two
    packages' values compare (their classes are distinct objects with the same names)."""
    if isinstance(value, enum.Enum):
        return (type(value).__name__, value.value)
    if isinstance(value, dict):
        return (type(value).__name__, [(key, _plain(item)) for key, item in value.items()])
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [_plain(item) for item in value])
    if isinstance(value, memoryview):
        return ("memoryview", value.tolist())
    if hasattr(value, "_buf") and hasattr(value, "_off"):  # a nested view
        return (type(value).__name__, _view_fields(value))
    return value


def _field_names(view_type) -> list:
    return sorted(name for name in dir(view_type) if not name.startswith("_") and name not in VIEW_API)


def _view_fields(view) -> list:
    return [(name, _outcome(lambda: getattr(view, name))) for name in _field_names(type(view))]


def _outcome(action):
    try:
        return ("value", _plain(action()))
    except Exception as error:  # the two runtimes must fail alike
        return ("error", type(error).__name__, str(error))


def _records(parser, seed: int) -> list:
    rng = random.Random(seed)
    size = parser.sizeof() if type(parser).__name__ != "FlexStruct" else parser.size
    records = [bytes(size)]  # zeros: enums read as members (random bytes are rarely one)
    for _ in range(RECORDS):
        try:
            records.append(parser.build(parser.parse(rng.randbytes(size))))
        except Exception:  # random bytes an enum or a union refuses: zeros then
            records.append(bytes(size))
    return records


@pytest.mark.parametrize("case", list(SPECS))
def test_both_runtimes_parse_and_fail_alike(pairs, case):
    for pure, compiled in pairs.get(case, []):
        for name, parser, _ in _parsers(pure):
            twin = getattr(compiled, name)
            for data in _records(parser, len(name)):
                assert _outcome(lambda: twin.parse(data)) == _outcome(lambda: parser.parse(data)), (case, name)
                short = data[:-1]
                assert _outcome(lambda: twin.parse(short)) == _outcome(lambda: parser.parse(short)), (case, name)


@pytest.mark.parametrize("case", list(SPECS))
def test_both_runtimes_read_write_and_refuse_view_fields_alike(pairs, case):
    for pure, compiled in pairs.get(case, []):
        for name, parser, view_type in _parsers(pure):
            if view_type is None:
                continue
            twin_type = getattr(compiled, name + "View")
            for data in _records(parser, len(name) + 1):
                buffers = bytearray(8) + bytearray(data), bytearray(8) + bytearray(data)
                views = view_type(buffers[0], 8), twin_type(buffers[1], 8)
                assert _view_fields(views[1]) == _view_fields(views[0]), (case, name)
                for field in _field_names(view_type):
                    value = _outcome(lambda: getattr(views[0], field))
                    if value[0] != "value" or not isinstance(value[1], int):
                        continue
                    for written in (value[1], -1, 1 << 130, "?"):
                        results = [_outcome(lambda: setattr(view, field, written)) for view in views]
                        assert results[0] == results[1] and buffers[0] == buffers[1], (case, name, field, written)
            for offset, size in ((-1, 0), (1, 0), ("8", 8), (2 ** 70, 0)):
                made = [_outcome(lambda: type_(bytearray(view_type.SIZE + size), offset))
                        for type_ in (view_type, twin_type)]
                assert made[0] == made[1], (case, name, offset)


def test_views_over_every_kind_of_buffer_and_after_it_shrinks(pairs):
    pure, compiled = pairs["sysmsg"][0]
    data = _records(pure.Msg, 3)[0]
    with mmap.mmap(-1, 4096) as shared:
        shared[100:188] = data
        for buffer, offset in ((data, 0), (bytearray(data), 0), (memoryview(data), 0), (shared, 100)):
            assert _view_fields(compiled.MsgView(buffer, offset)) == _view_fields(pure.MsgView(buffer, offset))
    for module in (pure, compiled):
        closed = mmap.mmap(-1, 4096)
        view = module.MsgView(closed, 100)
        closed.close()
        assert _outcome(lambda: view.thread_id)[0] == "error"
    shrinking = [bytearray(data), bytearray(data)]
    views = [pure.MsgView(shrinking[0]), compiled.MsgView(shrinking[1])]
    for buffer in shrinking:
        del buffer[40:]
    assert _outcome(lambda: views[1].thread_id) == _outcome(lambda: views[0].thread_id)
    assert "shrank" in _outcome(lambda: views[1].thread_id)[2]
    keywords = compiled.MsgView(buffer=bytearray(data), offset=0), compiled.MsgView(bytearray(data))
    assert keywords[0].thread_id == keywords[1].thread_id == pure.MsgView(data).thread_id
    nested = compiled.ThreadContextView(bytearray(compiled.ThreadContext.sizeof()))
    assert nested.ptregs.rip == 0 and type(nested.ptregs).__name__ == "PtraceRegsView"


def test_a_subclass_keeps_its_own_constructor(pairs):
    _, compiled = pairs["sysmsg"][0]

    class Tagged(compiled.MsgView):
        def __init__(self, buffer, offset=0, tag=None):
            super().__init__(buffer, offset)
            self.tag = tag

    view = Tagged(bytearray(88), 0, tag="mine")
    assert view.tag == "mine" and view.thread_id == 0
    assert Tagged(bytearray(88), 0).tag is None


def test_no_reference_leaks_on_success_or_error(pairs):
    _, compiled = pairs["sysmsg"][0]
    runtime = importlib.import_module(compiled.__name__.rsplit(".", 1)[0] + "._runtime")
    data = _records(compiled.Msg, 5)[0]
    buffer = bytearray(data)

    def refuse(value, _):
        raise KeyError(value)
    bad_spec = (compiled.MsgValue, ("a", "b"), (None, refuse))

    def exercise():
        compiled.Msg.parse(data)
        compiled.ThreadContext.parse(bytes(compiled.ThreadContext.sizeof()))
        view = compiled.MsgView(buffer, 0)
        view.thread_id = view.thread_id
        view.state = view.state
        compiled.MsgView(buffer=buffer)
        compiled.Msg.unpack_from(buffer=buffer, offset=0)
        _outcome(lambda: compiled.Msg.parse(data[:-1]))
        _outcome(lambda: compiled.Msg.unpack_from(buffer, offset=0, extra=1))
        for action in (lambda: compiled.MsgView(buffer, 1), lambda: compiled.MsgView(buffer, "0"),
                       lambda: runtime.fill(bad_spec, (1, 2), 0), lambda: runtime.fill(bad_spec, (1,), 0),
                       lambda: setattr(view, "thread_id", -1)):
            _outcome(action)
        shrunk = compiled.MsgView(bytearray(data))
        del shrunk._buf[8:]
        _outcome(lambda: shrunk.thread_id)
    watched = [data, buffer, bad_spec, refuse, compiled.MsgValue, compiled.MsgView, compiled.Msg]
    for _ in range(50):
        exercise()
    gc.collect()
    before = [sys.getrefcount(item) for item in watched]
    blocks = sys.getallocatedblocks()
    for _ in range(2000):
        exercise()
    gc.collect()
    assert [sys.getrefcount(item) for item in watched] == before
    assert sys.getallocatedblocks() - blocks < 200, "memory grows with every call"


def test_the_pure_runtime_can_be_forced(pairs):
    twin = os.path.dirname(os.path.dirname(pairs["sysmsg"][0][1].__file__))
    probe = "import sysmsg_compiled._runtime as r; print(r.SPEEDUPS is None)"
    for forced, expected in (("1", "True"), ("", "False")):
        result = subprocess.run([sys.executable, "-c", probe], cwd=twin, capture_output=True, text=True,
                                env={**os.environ, "LAYOUTGEN_PURE_PYTHON": forced})
        assert result.stdout.strip() == expected, result.stderr
