"""io_uring through the generated code: the header owns the opcodes and flags, and the kernel
reads and writes the structs.

`examples/linux/io_uring.yaml` leaves `enum io_uring_op` and the IORING_SETUP_*/IORING_ENTER_*
macros to <linux/io_uring.h>; `check` proves each value against that header, and fails naming
a value the spec gets wrong or the header lacks. The round trip then drives a real ring with the
generated Python package alone: io_uring_setup(2) fills the generated IoUringParams, the rings are
mapped at the offsets it reports, a NOP goes in through the generated SQE view and its
completion comes back through the generated CQE view.
"""
from __future__ import annotations

import ctypes
import errno
import importlib
import mmap
import os
import platform
import shutil

import pytest

from conftest import ROOT, importable_package, run_cli

SPEC = os.path.join(ROOT, "examples", "linux", "io_uring.yaml")

# The syscall numbers are the same on x86_64 and aarch64 (both came after the unified table).
SYS_IO_URING_SETUP, SYS_IO_URING_ENTER = 425, 426
IORING_OFF_SQ_RING, IORING_OFF_CQ_RING, IORING_OFF_SQES = 0, 0x8000000, 0x10000000


def _check(tmp_path, spec_text: str):
    """`layoutgen check` on a spec written from `spec_text`, after generating its outputs. The copy
    sits where the corpus spec does relative to the schema its `$schema` line names."""
    spec, out, consumers = tmp_path / "examples" / "linux" / "io_uring.yaml", tmp_path / "out", tmp_path / "consumers"
    spec.parent.mkdir(parents=True)
    spec.write_text(spec_text)
    (tmp_path / "spec").mkdir()
    shutil.copy(os.path.join(ROOT, "spec", "layoutgen.schema.json"), tmp_path / "spec")
    consumers.mkdir()
    generated = run_cli("generate", "--spec", str(spec), "--out", str(out))
    assert generated.returncode == 0, generated.stderr
    return run_cli("check", "--spec", str(spec), "--out", str(out), "--consumers", str(consumers))


def _spec_text() -> str:
    with open(SPEC) as handle:
        return handle.read()


def test_the_corpus_spec_holds_against_the_header(tmp_path):
    result = _check(tmp_path, _spec_text())
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_wrong_opcode_value_fails_check_naming_it(tmp_path):
    text = _spec_text()
    assert "      - {name: READ}\n" in text
    result = _check(tmp_path, text.replace("      - {name: READ}\n", "      - {name: READ, value: 99}\n"))
    assert result.returncode == 1
    assert "IoringOp.READ: spec says 99" in result.stdout + result.stderr


def test_a_wrong_flag_value_fails_check_naming_it(tmp_path):
    text = _spec_text()
    line = "  IORING_SETUP_SQPOLL: 1U << 1\n"  # owned through the spec's external_constants
    assert line in text
    result = _check(tmp_path, text.replace(line, line.replace("1U << 1", "1U << 7")))
    assert result.returncode == 1
    assert "constant IORING_SETUP_SQPOLL: spec says 128" in result.stdout + result.stderr


def test_a_constant_the_header_lacks_fails_check_naming_it(tmp_path):
    text = _spec_text().replace(
        "constants:\n", "constants:\n  IORING_SETUP_NO_SUCH_FLAG: 1U << 30\n", 1)
    result = _check(tmp_path, text)
    assert result.returncode == 1
    output = result.stdout + result.stderr
    assert "IORING_SETUP_NO_SUCH_FLAG" in output and "<linux/io_uring.h> does not define it" in output


def test_an_opcode_the_header_lacks_fails_check_naming_it(tmp_path):
    text = _spec_text().replace("      - {name: SENDMSG_ZC}\n", "      - {name: SENDMSG_ZC}\n      - {name: NO_SUCH_OP}\n")
    result = _check(tmp_path, text)
    assert result.returncode == 1
    output = result.stdout + result.stderr
    assert "IORING_OP_NO_SUCH_OP" in output and "<linux/io_uring.h> does not define it" in output


def test_the_generated_c_header_defers_to_the_system_header(tmp_path):
    out = tmp_path / "out"
    assert run_cli("generate", "--spec", SPEC, "--out", str(out)).returncode == 0
    header = (out / "c" / "linux_io_uring.h").read_text()
    assert "#include <linux/io_uring.h>" in header
    assert "#define IORING_SETUP_SQPOLL" not in header and "IORING_OP_NOP =" not in header


# ---- one NOP through a real ring ----------------------------------------------------------------


@pytest.fixture(scope="module")
def uring(tmp_path_factory):
    """The generated Python package of the spec, for this machine's arch."""
    for _ in importable_package(tmp_path_factory, SPEC, "linux_io_uring"):
        yield importlib.import_module("linux_io_uring.native")


_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def _setup(entries: int, params: bytearray) -> int:
    """io_uring_setup(2); the kernel reads and fills `params` in place."""
    buffer = (ctypes.c_char * len(params)).from_buffer(params)
    fd = _libc.syscall(ctypes.c_long(SYS_IO_URING_SETUP), ctypes.c_uint(entries), buffer)
    if fd >= 0:
        return fd
    code = ctypes.get_errno()
    reason = f"io_uring_setup failed with {errno.errorcode.get(code, code)} ({os.strerror(code)})"
    if code in (errno.ENOSYS, errno.EPERM, errno.EACCES):
        disabled = _read("/proc/sys/kernel/io_uring_disabled")
        # The house rule is that tests never skip silently: this says why, and fails.
        pytest.fail(f"io_uring is unavailable on this kernel ({platform.release()}): {reason}; "
                    f"kernel.io_uring_disabled = {disabled}")
    pytest.fail(reason)


def _read(path: str) -> str:
    try:
        with open(path) as handle:
            return handle.read().strip()
    except OSError as error:
        return f"unreadable ({error.strerror})"


def _enter(fd: int, to_submit: int, min_complete: int, flags: int) -> int:
    result = _libc.syscall(ctypes.c_long(SYS_IO_URING_ENTER), ctypes.c_int(fd), ctypes.c_uint(to_submit),
                           ctypes.c_uint(min_complete), ctypes.c_uint(flags), None, ctypes.c_size_t(0))
    if result < 0:
        code = ctypes.get_errno()
        pytest.fail(f"io_uring_enter failed with {errno.errorcode.get(code, code)} ({os.strerror(code)})")
    return result


def _u32(ring: mmap.mmap, offset: int, value=None) -> int:
    view = memoryview(ring)[offset:offset + 4].cast("I")
    try:
        if value is not None:
            view[0] = value
        return view[0]
    finally:
        view.release()


def test_a_nop_round_trips_through_a_real_ring(uring):
    params = bytearray(uring.IoUringParamsView.SIZE)
    fd = _setup(4, params)
    try:
        got = uring.IoUringParams.parse(bytes(params))  # the kernel's answer, through the generated parser
        sq, cq = got.sq_off, got.cq_off
        sq_size = sq.array + got.sq_entries * 4
        cq_size = cq.cqes + got.cq_entries * uring.IoUringCqeView.SIZE
        sqes_size = got.sq_entries * uring.IoUringSqeView.SIZE
        shared = mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0)
        access = mmap.PROT_READ | mmap.PROT_WRITE
        with mmap.mmap(fd, sq_size, shared, access, offset=IORING_OFF_SQ_RING) as sq_ring, \
                mmap.mmap(fd, cq_size, shared, access, offset=IORING_OFF_CQ_RING) as cq_ring, \
                mmap.mmap(fd, sqes_size, shared, access, offset=IORING_OFF_SQES) as sqes:
            tail, mask = _u32(sq_ring, sq.tail), _u32(sq_ring, sq.ring_mask)
            index = tail & mask
            sqe = uring.IoUringSqeView(sqes, index * uring.IoUringSqeView.SIZE)
            sqe.opcode = uring.IoringOp.NOP
            sqe.fd = -1
            sqe.user_data = 0x1234
            _u32(sq_ring, sq.array + index * 4, index)
            _u32(sq_ring, sq.tail, tail + 1)

            submitted = _enter(fd, 1, 1, uring.IORING_ENTER_GETEVENTS)
            assert submitted == 1

            head, cq_tail = _u32(cq_ring, cq.head), _u32(cq_ring, cq.tail)
            assert cq_tail - head == 1, f"expected one completion, the CQ ring holds {cq_tail - head}"
            slot = head & _u32(cq_ring, cq.ring_mask)
            cqe = uring.IoUringCqeView(cq_ring, cq.cqes + slot * uring.IoUringCqeView.SIZE)
            assert (cqe.user_data, cqe.res) == (0x1234, 0)
            _u32(cq_ring, cq.head, head + 1)
            del sqe, cqe  # views hold the mmaps; release them before the mmaps close
    finally:
        os.close(fd)
