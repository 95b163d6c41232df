"""The stub round trip (tests/stub_roundtrip.py) on amd64 and on arm64 under qemu.

Also the reverse: a stub built from a spec whose layout differs from the generated Python
parsers (the Msg, the ThreadContext or the context queue) must make the round trip fail. A missing compiler or qemu fails these tests.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import stub_roundtrip as rt

SPEC = rt.ROOT / "spec" / "sysmsg.yaml"


@pytest.fixture(scope="module")
def stubs(tmp_path_factory) -> dict:
    """The stub of each arch, built against the committed generated headers."""
    folder = tmp_path_factory.mktemp("stub")
    return {arch: rt.compile_stub(arch, folder / arch / "stub") for arch in rt.ARCHS}


@pytest.mark.parametrize("arch", rt.ARCHS)
def test_round_trip_holds(arch, stubs, tmp_path):
    report = rt.roundtrip(arch, stubs[arch], tmp_path)

    plan = rt.PLANS[arch]
    assert report.count("queue") == 3 * len(rt.QUEUED) + 9
    assert report.count("register") == len(plan.registers) > 0
    assert report.count("echo") == 3
    assert report.count("address") == 4
    found = {label: value for _group, label, _expected, value in report.checks}
    assert found["siginfo.signo"] == found["ThreadContext.signo"] == plan.trap.signo
    assert found["siginfo.code"] == plan.trap.si_code
    assert found["context 3: taken in place (debug)"] == 1 and found["context 8: taken in place (debug)"] == 8
    assert found["ContextQueue.start (advanced past every entry)"] == 5  # wrapped past 2**32
    assert report.summary().startswith(f"stub {arch}: ok: {len(rt.QUEUED)} contexts dequeued in order")


def _stale_state(arch, inputs):
    """A Msg whose state says the thread already runs: the stub must refuse it."""
    mod = rt.parsers(arch)
    region = bytearray(rt.initial_region(arch, inputs))
    msg = mod.Msg.parse(region[mod.MSG_OFFSET_FROM_START:])
    msg.state = mod.ThreadState.NONE
    rt.place(region, mod.MSG_OFFSET_FROM_START, mod.Msg.build(msg))
    return bytes(region)


@pytest.mark.parametrize("arch", rt.ARCHS)
def test_stub_reports_bad_input_through_msg_err(arch, stubs, tmp_path):
    with pytest.raises(rt.RoundTripError) as failure:
        rt.roundtrip(arch, stubs[arch], tmp_path, prepare=_stale_state)

    assert failure.value.status == 3
    assert failure.value.err != 0 and failure.value.err_line > 0
    assert "Msg.state is not what the previous step left there" in failure.value.problems[0]


# Each mutation changes the layout the stub is compiled against, never the Python parsers.
MUTATIONS = {
    # A u64 right after Msg.self: every later Msg field moves by 8 bytes.
    "msg_field_inserted": ("      - name: ret_addr\n",
                           "      - name: inserted\n        type: u64\n      - name: ret_addr\n"),
    # fpstate 64 bytes shorter: every ThreadContext field after it moves by -64 bytes.
    "fpstate_shrunk": ("    value: 3584\n", "    value: 3520\n"),
    # The context queue as the seed packed it: no padding, the ring at 40 instead of 448.
    "queue_packed": ("    c: context_queue\n    cacheline: separate\n", "    c: context_queue\n"),
    # num_active_threads said to be the runtime's: it joins end's line, every later group moves up one.
    "queue_writer_changed": ("        writer: stub\n        atomic: true\n        doc: Stub threads awake",
                             "        writer: runtime\n        atomic: true\n        doc: Stub threads awake"),
}
QUEUE_MUTATIONS = ("queue_packed", "queue_writer_changed")
# The stub's own asserts refuse to build against these: the layout is wrong before it runs.
REFUSED_AT_BUILD = {"queue_packed": "each writer group of the queue must start a cache line"}


def _mutated_headers(name: str, folder: Path) -> Path:
    """Generates every target from a mutated copy of the spec; returns its C folder."""
    old, new = MUTATIONS[name]
    text = SPEC.read_text()
    assert text.count(old) == 1, f"mutation {name} no longer matches the spec"
    spec = folder / "sysmsg.yaml"
    spec.write_text(text.replace(old, new))
    out = folder / "generated"
    result = subprocess.run([sys.executable, "-m", "codegen", "generate", "--spec", str(spec), "--out", str(out)],
                            cwd=rt.ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    offsets = (out / "c" / "sysmsg_offsets.h").read_text()
    assert offsets != (rt.GENERATED_C / "sysmsg_offsets.h").read_text(), "the mutation changed no offset"
    return out / "c"


@pytest.mark.parametrize("arch", rt.ARCHS)
@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_round_trip_fails_against_a_different_layout(mutation, arch, tmp_path):
    include = _mutated_headers(mutation, tmp_path)
    if mutation in REFUSED_AT_BUILD:
        with pytest.raises(rt.StubBuildError, match=REFUSED_AT_BUILD[mutation]):
            rt.compile_stub(arch, tmp_path / "stub", include=include)
        return
    binary = rt.compile_stub(arch, tmp_path / "stub", include=include)

    with pytest.raises(rt.RoundTripError) as failure:
        rt.roundtrip(arch, binary, tmp_path)

    problems = failure.value.problems
    if mutation in QUEUE_MUTATIONS:
        # The stub finds no entry carrying start's index where its header puts the ring.
        assert failure.value.status == 3, problems
        assert "the context queue entry at start does not carry start's index" in problems[0], problems
        assert any(problem.startswith("context 3: acked") for problem in problems), problems
    elif mutation == "msg_field_inserted":
        # The stub reads Python's Msg at shifted offsets and rejects what it finds.
        assert failure.value.status == 3, problems
    else:
        # The stub agrees with itself and exits cleanly; only the Python parsers disagree.
        assert failure.value.status == 0, problems
        assert any(problem.startswith("ptregs.") for problem in problems), problems
        assert any(problem.startswith("ThreadContext.state") for problem in problems), problems


@pytest.mark.parametrize("arch", rt.ARCHS)
def test_region_parts_tile_the_file(arch):
    """The diagram's top-level parts follow one another without gaps and fill the region file."""
    mod = rt.parsers(arch)
    top = [(offset, size) for depth, _name, offset, size, _note in rt.region_parts(mod) if depth == 0]
    ends = [offset + size for offset, size in top]
    assert [offset for offset, _size in top] == [0] + ends[:-1]
    assert ends[-1] == rt.region_size(mod)
    assert rt.diagram(arch).count("\n") == len(rt.region_parts(mod)) + 1
