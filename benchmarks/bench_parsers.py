"""Side-by-side timings of every way to decode the sysmsg structs on amd64.

Run `make bench` (or `python benchmarks/bench_parsers.py`). For Msg and ThreadContext it
times, in one run: the field-by-field construct Struct, construct's `.compile()` of it,
the generated parser as users call it (`sysmsg.amd64.Msg.parse(data)`), a hand-written
`struct.unpack_from` into a dict, ctypes `from_buffer_copy`, a view reading one field
next to a bare `struct.unpack_from` of that field, and numpy decoding many records and
summing a field (so the values are really read). It prints microseconds per record and
ratios, and whether the goals of issue 7 hold on this machine. Nothing here is asserted:
timings belong in this report, not in the tests.
"""
from __future__ import annotations

import argparse
import ctypes
import os
import platform
import random
import struct
import sys
import timeit

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "generated", "python"))

import sysmsg.amd64  # noqa: E402

try:
    import numpy
except ImportError:  # numpy is the optional `bulk` extra
    sys.exit("bench_parsers: numpy is missing; install it with `pip install .[bulk]`")

# ---- hand-written baselines, spelled out by hand from the ABI (checked against the parser below)

THREAD_ID_AT = {"Msg": 80, "ThreadContext": 3952}  # the field the view, bare and numpy rows read
MSG_FORMAT = struct.Struct("<QQQQQIIQiii4xQI4x")
MSG_NAMES = ("self", "ret_addr", "syshandler", "syshandler_stack", "app_stack", "interrupt", "state",
             "context", "fault_jump", "err", "err_line", "debug", "thread_id")

REGS = ("r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8", "rax", "rcx", "rdx", "rsi",
        "rdi", "orig_rax", "rip", "cs", "eflags", "rsp", "ss", "fs_base", "gs_base", "ds", "es", "fs", "gs")
CONTEXT_FORMAT = struct.Struct("<3584sQ27Qiii4x112sqIIIIIIQQ")
CONTEXT_NAMES = (("fpstate", "fpstate_changed") + tuple("ptregs." + r for r in REGS)
                 + ("siginfo.signo", "siginfo.errno", "siginfo.code", "siginfo.fields", "signo", "state",
                    "interrupt", "thread_id", "last_thread_id", "sentry_fast_path", "acked", "tls", "debug"))


def hand_msg(data):
    return dict(zip(MSG_NAMES, MSG_FORMAT.unpack_from(data)))


def hand_context(data):
    """A flat dict: the nested registers and siginfo under dotted keys."""
    return dict(zip(CONTEXT_NAMES, CONTEXT_FORMAT.unpack_from(data)))


class CMsg(ctypes.LittleEndianStructure):
    _fields_ = [(name, ctypes.c_uint64) for name in MSG_NAMES[:5]] + [
        ("interrupt", ctypes.c_uint32), ("state", ctypes.c_uint32), ("context", ctypes.c_uint64),
        ("fault_jump", ctypes.c_int32), ("err", ctypes.c_int32), ("err_line", ctypes.c_int32),
        ("debug", ctypes.c_uint64), ("thread_id", ctypes.c_uint32)]


class CRegs(ctypes.LittleEndianStructure):
    _fields_ = [(name, ctypes.c_uint64) for name in REGS]


class CSigInfo(ctypes.LittleEndianStructure):
    _fields_ = [("signo", ctypes.c_int32), ("errno", ctypes.c_int32), ("code", ctypes.c_int32),
                ("_pad", ctypes.c_int32), ("fields", ctypes.c_uint8 * 112)]


class CThreadContext(ctypes.LittleEndianStructure):
    _fields_ = [("fpstate", ctypes.c_uint8 * 3584), ("fpstate_changed", ctypes.c_uint64), ("ptregs", CRegs),
                ("siginfo", CSigInfo), ("signo", ctypes.c_int64), ("state", ctypes.c_uint32),
                ("interrupt", ctypes.c_uint32), ("thread_id", ctypes.c_uint32), ("last_thread_id", ctypes.c_uint32),
                ("sentry_fast_path", ctypes.c_uint32), ("acked", ctypes.c_uint32), ("tls", ctypes.c_uint64),
                ("debug", ctypes.c_uint64)]


# ---- timing

# Row labels shared by the table and the goals.
PLAIN = "construct Struct (field by field)"
COMPILED = "construct Struct .compile()"
HAND = "hand-written unpack_from -> dict"
VIEW = "view.thread_id (one field)"
BARE = "bare Struct('<I').unpack_from"
BARE_MODULE = "bare struct.unpack_from('<I', ...)"


class Row:
    """One timed statement; `per` is how many records one execution decodes."""

    def __init__(self, struct_name: str, label: str, statement: str, names: dict, per: int = 1):
        self.struct_name, self.label, self.per = struct_name, label, per
        self.timer = timeit.Timer(statement, globals=names)  # inlined in timeit's loop: no wrapper call
        self.number = 1
        self.best = float("inf")

    def calibrate(self, budget: float) -> None:
        """Pick how many executions make one run last about `budget` seconds."""
        while True:
            elapsed = self.timer.timeit(self.number)
            if elapsed >= budget / 4 or self.number >= 1 << 24:
                break
            self.number *= 4
        self.number = max(1, int(self.number * budget / max(elapsed, 1e-9)))

    def run(self) -> None:
        self.best = min(self.best, self.timer.timeit(self.number) / self.number)

    @property
    def micros(self) -> float:
        """Best microseconds per record."""
        return self.best / self.per * 1e6


def time_rows(rows: list, budget: float, rounds: int) -> None:
    """Interleave the runs (one of each row per round) and keep each row's best, so a busy
    moment on a shared machine slows one run of every row rather than all runs of one."""
    for row in rows:
        row.calibrate(budget)
    for _ in range(rounds):
        for row in rows:
            row.run()


def valid_record(parser, seed: int) -> bytes:
    """Random bytes with zeroed padding, run through the parser and back."""
    rng = random.Random(seed)
    return parser.build(parser.parse(rng.randbytes(parser.sizeof())))


def make_region(parser, count: int) -> bytes:
    """`count` consecutive records (64 distinct ones, repeated)."""
    distinct = b"".join(valid_record(parser, seed) for seed in range(64))
    return (distinct * (count // 64 + 1))[:count * parser.sizeof()]


def check_baselines(mod, msg: bytes, context: bytes) -> None:
    """The hand-written decoders must read the same values as the parser, or they prove nothing."""
    parsed = mod.Msg.parse(msg)
    assert hand_msg(msg) == {k: int(v) for k, v in parsed.items() if not k.startswith("_")}
    flat = hand_context(context)
    parsed = mod.ThreadContext.parse(context)
    assert flat["ptregs.rip"] == parsed.ptregs.rip and flat["siginfo.fields"] == parsed.siginfo.fields
    assert flat["debug"] == parsed.debug and flat["state"] == parsed.state
    assert CThreadContext.from_buffer_copy(context).ptregs.rip == parsed.ptregs.rip
    assert ctypes.sizeof(CMsg) == 88 and ctypes.sizeof(CThreadContext) == mod.ThreadContext.sizeof()


def numpy_row(struct_name: str, dtype, region: bytes) -> Row:
    """Decode every record of `region` and sum one field (so the values are really read)."""
    names = {"numpy": numpy, "region": region, "dtype": dtype}
    count = len(region) // dtype.itemsize
    return Row(struct_name, f"numpy frombuffer + sum, {count:,} records",
               "int(numpy.frombuffer(region, dtype)['thread_id'].sum(dtype=numpy.uint64))", names, per=count)


def struct_rows(mod, name: str, data: bytes, hand, ctype, records: int) -> list:
    parser = getattr(mod, name)
    buffer = bytearray(data)
    view = getattr(mod, name + "View")(buffer)
    offset = THREAD_ID_AT[name]
    bare = struct.Struct("<I").unpack_from
    assert view.thread_id == bare(buffer, offset)[0] == parser.parse(data).thread_id
    dtype = mod.dtype(name)
    region = make_region(parser, records)
    assert int(numpy.frombuffer(region, dtype)["thread_id"][0]) == parser.parse(region).thread_id
    names = {"sysmsg": sysmsg, "parser": parser, "compiled": parser.reference.compile(), "hand": hand,
             "ctype": ctype, "view": view, "bare": bare, "struct": struct, "buffer": buffer, "offset": offset,
             "data": data}
    return [
        Row(name, PLAIN, "parser.reference.parse(data)", names),
        Row(name, COMPILED, "compiled.parse(data)", names),
        Row(name, f"generated {name}.parse(data)", f"sysmsg.amd64.{name}.parse(data)", names),
        Row(name, HAND, "hand(data)", names),
        Row(name, "ctypes from_buffer_copy", "ctype.from_buffer_copy(data)", names),
        Row(name, VIEW, "view.thread_id", names),
        Row(name, BARE, "bare(buffer, offset)[0]", names),
        Row(name, BARE_MODULE, "struct.unpack_from('<I', buffer, offset)[0]", names),
        numpy_row(name, dtype, region),
    ]


def measure(budget: float, rounds: int, records: int, bulk: int) -> dict:
    mod = sysmsg.amd64
    msg, context = valid_record(mod.Msg, 1), valid_record(mod.ThreadContext, 2)
    check_baselines(mod, msg, context)
    rows = struct_rows(mod, "Msg", msg, hand_msg, CMsg, records)
    rows.append(numpy_row("Msg", mod.dtype("Msg"), make_region(mod.Msg, bulk)))
    rows += struct_rows(mod, "ThreadContext", context, hand_context, CThreadContext, records)
    time_rows(rows, budget, rounds)
    grouped: dict = {}
    for row in rows:
        grouped.setdefault(row.struct_name, []).append((row.label, row.micros))
    return grouped


# ---- report


def table(rows: dict) -> str:
    lines = ["| struct | method | us/record | vs hand-written dict | speed-up vs construct |",
             "| --- | --- | ---: | ---: | ---: |"]
    for name, results in rows.items():
        values = dict(results)
        hand, plain = values[HAND], values[PLAIN]
        for method, micros in results:
            lines.append(f"| {name} | {method} | {micros:.4g} | {micros / hand:.3g}x | {plain / micros:.3g}x |")
    return "\n".join(lines)


def goals(rows: dict) -> list:
    msg, context = dict(rows["Msg"]), dict(rows["ThreadContext"])
    bulk = [v for k, v in rows["Msg"] if k.startswith("numpy")][-1]
    checks = [
        ("Msg parse within 1.25x of the hand-written dict", msg["generated Msg.parse(data)"] / msg[HAND], 1.25),
        ("ThreadContext parse within 1.5x of the flat hand-written dict",
         context["generated ThreadContext.parse(data)"] / context[HAND], 1.5),
        ("Msg parse at least 15x faster than plain construct", msg["generated Msg.parse(data)"] / msg[PLAIN], 1 / 15),
        ("ThreadContext parse at least 15x faster than plain construct",
         context["generated ThreadContext.parse(data)"] / context[PLAIN], 1 / 15),
    ]
    for name, values in (("Msg", msg), ("ThreadContext", context)):
        for bare in (BARE_MODULE, BARE):
            checks.append((f"{name}View one-field read within 2x of {bare}", values[VIEW] / values[bare], 2.0))
    lines = [f"{'met' if ratio <= limit else 'MISSED'}: {label} (ratio {ratio:.2f}, limit {limit:.3g})"
             for label, ratio, limit in checks]
    rate = 1 / bulk  # records per microsecond
    lines.append(f"{'met' if rate >= 50 else 'MISSED'}: numpy bulk decode at 50M records/s or more "
                 f"({rate:.0f}M records/s)")
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=0.2, help="seconds per timed run (default 0.2)")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved runs of every row (default 7)")
    parser.add_argument("--records", type=int, default=10_000, help="records per numpy row (default 10,000)")
    parser.add_argument("--bulk", type=int, default=1_000_000, help="Msg records in the large numpy row")
    args = parser.parse_args(argv)
    print(f"python {platform.python_version()}, numpy {numpy.__version__}, {platform.machine()}, "
          f"{os.cpu_count()} cpus; arch amd64; best of {args.rounds} interleaved runs")
    rows = measure(args.budget, args.rounds, args.records, args.bulk)
    print(table(rows))
    print()
    print("\n".join(goals(rows)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
