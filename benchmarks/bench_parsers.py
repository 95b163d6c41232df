"""Side-by-side timings of every way to decode the sysmsg structs on amd64.

Run `make bench` (or `python benchmarks/bench_parsers.py`). For Msg and ThreadContext it
times, in one run: the field-by-field construct Struct, construct's `.compile()` of it,
the generated parser as users call it (`Msg.parse(data)` after `from sysmsg.amd64 import
Msg`, as the hand-written rows are names bound once too), the fastest
decoder a person would write by hand (`unpack_from` into a dict literal, with the enum
lookup; a nested dict literal for ThreadContext), ctypes `from_buffer_copy`, building
next to a hand `pack` with literal keys, views next to a bare `struct.unpack_from` of the
same field, and numpy decoding many records and summing a field (so the values are
really read). Every round runs each row once, in a new random order, and each row keeps
its best round. It prints microseconds per record, ratios, and every goal (issues 7 and
21) as met or MISSED; `--markdown` prints the README's table instead. Nothing here is
asserted: timings belong in this report, not in the tests.
"""
from __future__ import annotations

import argparse
import ctypes
import os
import platform
import random
import struct
import sys
import tempfile
import timeit

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "generated", "python"))

import sysmsg.amd64  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import parse_floors as floors  # noqa: E402
from compiled_copy import compiled_copy  # noqa: E402

try:
    import numpy
except ImportError:  # numpy is the optional `bulk` extra
    sys.exit("bench_parsers: numpy is missing; install it with `pip install .[bulk]`")

# ---- hand-written baselines, spelled out by hand from the ABI (checked against the parser below)

THREAD_ID_AT = {"Msg": 80, "ThreadContext": 3952}  # the field the view, bare and numpy rows read
RIP_AT = 3592 + 128  # ThreadContext.ptregs.rip
MSG_FORMAT = struct.Struct("<QQQQQIIQiii4xQI4x")
CONTEXT_FORMAT = struct.Struct("<3584sQ27Qiii4x112sqIIIIIIQQ")
_msg_unpack = MSG_FORMAT.unpack_from
_context_unpack = CONTEXT_FORMAT.unpack_from
_msg_pack = MSG_FORMAT.pack
_thread_state = {member.value: member for member in sysmsg.amd64.ThreadState}.get
_context_state = {member.value: member for member in sysmsg.amd64.ContextState}.get


def hand_msg(data):
    v = _msg_unpack(data)
    return {"self": v[0], "ret_addr": v[1], "syshandler": v[2], "syshandler_stack": v[3], "app_stack": v[4],
            "interrupt": v[5], "state": _thread_state(v[6], v[6]), "context": v[7], "fault_jump": v[8],
            "err": v[9], "err_line": v[10], "debug": v[11], "thread_id": v[12]}


def hand_context(data):
    v = _context_unpack(data)
    return {"fpstate": v[0], "fpstate_changed": v[1],
            "ptregs": {"r15": v[2], "r14": v[3], "r13": v[4], "r12": v[5], "rbp": v[6], "rbx": v[7], "r11": v[8],
                       "r10": v[9], "r9": v[10], "r8": v[11], "rax": v[12], "rcx": v[13], "rdx": v[14],
                       "rsi": v[15], "rdi": v[16], "orig_rax": v[17], "rip": v[18], "cs": v[19], "eflags": v[20],
                       "rsp": v[21], "ss": v[22], "fs_base": v[23], "gs_base": v[24], "ds": v[25], "es": v[26],
                       "fs": v[27], "gs": v[28]},
            "siginfo": {"signo": v[29], "errno": v[30], "code": v[31], "fields": v[32]},
            "signo": v[33], "state": _context_state(v[34], v[34]), "interrupt": v[35], "thread_id": v[36],
            "last_thread_id": v[37], "sentry_fast_path": v[38], "acked": v[39], "tls": v[40], "debug": v[41]}


def hand_pack_msg(obj):
    return _msg_pack(obj["self"], obj["ret_addr"], obj["syshandler"], obj["syshandler_stack"], obj["app_stack"],
                     obj["interrupt"], obj["state"], obj["context"], obj["fault_jump"], obj["err"], obj["err_line"],
                     obj["debug"], obj["thread_id"])


REGS = ("r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8", "rax", "rcx", "rdx", "rsi",
        "rdi", "orig_rax", "rip", "cs", "eflags", "rsp", "ss", "fs_base", "gs_base", "ds", "es", "fs", "gs")


class CMsg(ctypes.LittleEndianStructure):
    _fields_ = [(name, ctypes.c_uint64) for name in ("self", "ret_addr", "syshandler", "syshandler_stack",
                                                     "app_stack")] + [
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
HAND = "hand-written unpack_from -> dict literal"
PARSE = "generated `{}.parse(data)`"
READS = "generated parse, then 3 attribute reads"
HAND_READS = "hand-written dict, then 3 key reads"
BUILD = "generated `Msg.build(value)`"
HAND_BUILD = "hand-written `pack` with literal keys"
VIEW = "`view.thread_id` (one field)"
NEW_VIEW = "`MsgView(buffer, offset).thread_id`"
NESTED = "`view.ptregs.rip` (nested field)"
BARE = "bare `Struct('<I').unpack_from(buffer, offset)[0]`"
BARE_MODULE = "bare `struct.unpack_from('<I', ...)`"


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


def time_rows(rows: list, budget: float, rounds: int, seed: int) -> None:
    """Interleave the runs (one of each row per round, in a new random order every round) and
    keep each row's best, so a busy moment on a shared machine slows one run of many rows
    rather than all runs of one, and no row always runs just after the same neighbour."""
    for row in rows:
        row.calibrate(budget)
    order = list(rows)
    shuffle = random.Random(seed).shuffle
    for _ in range(rounds):
        shuffle(order)
        for row in order:
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
    """The hand-written code must read and write the same values as the parser, or it proves nothing."""
    parsed = mod.Msg.parse(msg)
    assert hand_msg(msg) == parsed and type(hand_msg(msg)["state"]) is type(parsed.state)
    assert hand_pack_msg(parsed) == mod.Msg.build(parsed) == msg
    assert hand_context(context) == mod.ThreadContext.parse(context)
    assert CThreadContext.from_buffer_copy(context).ptregs.rip == mod.ThreadContext.parse(context).ptregs.rip
    assert ctypes.sizeof(CMsg) == 88 and ctypes.sizeof(CThreadContext) == mod.ThreadContext.sizeof()


def numpy_row(struct_name: str, dtype, region: bytes) -> Row:
    """Decode every record of `region` and sum one field (so the values are really read)."""
    names = {"numpy": numpy, "region": region, "dtype": dtype}
    count = len(region) // dtype.itemsize
    return Row(struct_name, f"numpy frombuffer + sum, {count:,} records",
               "int(numpy.frombuffer(region, dtype)['thread_id'].sum(dtype=numpy.uint64))", names, per=count)


def struct_rows(mod, name: str, data: bytes, hand, ctype, records: int) -> list:
    """The rows both structs have; the views and the bare reads work on a record at `offset`
    of a larger buffer, as over an mmap."""
    parser = getattr(mod, name)
    offset = 4096
    buffer = bytearray(offset) + bytearray(data) + bytearray(4096)
    view_type = getattr(mod, name + "View")
    view = view_type(buffer, offset)
    at = offset + THREAD_ID_AT[name]
    bare = struct.Struct("<I").unpack_from
    assert view.thread_id == bare(buffer, at)[0] == parser.parse(data).thread_id
    dtype = mod.dtype(name)
    region = make_region(parser, records)
    assert int(numpy.frombuffer(region, dtype)["thread_id"][0]) == parser.parse(region).thread_id
    names = {"parser": parser, "compiled": parser.reference.compile(), "hand": hand,
             "ctype": ctype, "view": view, "bare": bare, "struct": struct, "buffer": buffer, "at": at,
             "data": data}
    return [
        Row(name, PLAIN, "parser.reference.parse(data)", names),
        Row(name, COMPILED, "compiled.parse(data)", names),
        Row(name, PARSE.format(name), "parser.parse(data)", names),
        Row(name, HAND, "hand(data)", names),
        Row(name, "ctypes from_buffer_copy", "ctype.from_buffer_copy(data)", names),
        Row(name, VIEW, "view.thread_id", names),
        Row(name, BARE, "bare(buffer, at)[0]", names),
        Row(name, BARE_MODULE, "struct.unpack_from('<I', buffer, at)[0]", names),
        numpy_row(name, dtype, region),
    ]


def msg_rows(mod, data: bytes) -> list:
    """Msg's own rows: attribute reads after parsing, building, making a view per read."""
    value = dict(mod.Msg.parse(data))  # a plain mapping, as a caller would build from
    buffer = bytearray(4096) + bytearray(data) + bytearray(4096)
    names = {"Msg": mod.Msg, "MsgView": mod.MsgView, "hand": hand_msg, "hand_pack": hand_pack_msg, "data": data,
             "value": value, "buffer": buffer, "offset": 4096}
    return [
        Row("Msg", READS, "m = Msg.parse(data); m.state; m.thread_id; m.err", names),
        Row("Msg", HAND_READS, "d = hand(data); d['state']; d['thread_id']; d['err']", names),
        Row("Msg", BUILD, "Msg.build(value)", names),
        Row("Msg", HAND_BUILD, "hand_pack(value)", names),
        Row("Msg", NEW_VIEW, "MsgView(buffer, offset).thread_id", names),
    ]


def context_rows(mod, data: bytes) -> list:
    buffer = bytearray(4096) + bytearray(data) + bytearray(4096)
    view = mod.ThreadContextView(buffer, 4096)
    bare = struct.Struct("<Q").unpack_from
    assert view.ptregs.rip == bare(buffer, 4096 + RIP_AT)[0] == mod.ThreadContext.parse(data).ptregs.rip
    names = {"view": view}
    return [Row("ThreadContext", NESTED, "view.ptregs.rip", names)]


def reference_rows(pure, msg: bytes, context: bytes, compiled: bool) -> list:
    """The pure-Python floors and, when the measured package is the compiled one, the pure
    package's own rows beside it (see parse_floors.py)."""
    offset = 4096
    names = {"data": msg, "offset": offset, "state_of": _thread_state,
             "buffer": bytearray(offset) + bytearray(msg) + bytearray(4096),
             "context_buffer": bytearray(offset) + bytearray(context) + bytearray(4096),
             "reader": lambda at, code="I": struct.Struct(f"<{at}x{code}").unpack_from}

    def row(struct_name, label, statement):
        return Row(struct_name, label, statement, names)
    rows = floors.floor_rows(pure, names, hand_msg, row)
    return rows + (floors.pure_rows(pure, names, row) if compiled else [])


def measure(budget: float, rounds: int, records: int, bulk: int, seed: int, mod) -> dict:
    """Time every row; `mod` is the package measured (the compiled one when it was built)."""
    global _thread_state, _context_state  # the hand-written code returns the measured module's enums
    _thread_state = {member.value: member for member in mod.ThreadState}.get
    _context_state = {member.value: member for member in mod.ContextState}.get
    pure = sysmsg.amd64
    msg, context = valid_record(mod.Msg, 1), valid_record(mod.ThreadContext, 2)
    check_baselines(mod, msg, context)
    rows = struct_rows(mod, "Msg", msg, hand_msg, CMsg, records) + msg_rows(mod, msg)
    rows.append(numpy_row("Msg", mod.dtype("Msg"), make_region(mod.Msg, bulk)))
    rows += struct_rows(mod, "ThreadContext", context, hand_context, CThreadContext, records)
    rows += context_rows(mod, context)
    rows += reference_rows(pure, msg, context, mod is not pure)
    time_rows(rows, budget, rounds, seed)
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
    """(label, ratio, limit, (pure ratio, floor ratio)) of every goal: met when the ratio is at
    most the limit. The pair puts the goal in context (None where a row is not measured): the
    same ratio for the pure-Python package and for the pure-Python floor (parse_floors.py)."""
    msg, context = dict(rows["Msg"]), dict(rows["ThreadContext"])
    both = {**msg, **{f"ThreadContext {k}": v for k, v in context.items()}}

    def priced(numerator: str, pure: str, floor: str, denominator: float) -> tuple:
        ratio = msg[numerator] / denominator if numerator in msg else context[numerator] / denominator
        return ratio, tuple(both[key] / denominator if key in both else None
                            for key in (pure, floor))
    checks = [
        ("Msg.parse within 1.2x of the hand dict literal with the enum lookup",
         *priced(PARSE.format("Msg"), floors.PURE_PARSE, floors.FLOOR_PARSE, msg[HAND]), 1.2),
        ("Msg.parse + 3 attribute reads within 1.5x of the hand dict + 3 key reads",
         *priced(READS, floors.PURE_READS, floors.FLOOR_READS, msg[HAND_READS]), 1.5),
        ("ThreadContext.parse within 1.15x of the hand nested dict literal",
         context[PARSE.format("ThreadContext")] / context[HAND], (None, None), 1.15),
        ("Msg.build within 1.3x of a hand pack with literal keys", msg[BUILD] / msg[HAND_BUILD], (None, None), 1.3),
        ("MsgView(buffer, offset).thread_id within 3x of a bare unpack_from",
         *priced(NEW_VIEW, floors.PURE_NEW_VIEW, floors.FLOOR_NEW_VIEW, msg[BARE]), 3.0),
        ("ThreadContextView .ptregs.rip within 2x of a bare unpack_from",
         *priced(NESTED, "ThreadContext " + floors.PURE_NESTED, "ThreadContext " + floors.FLOOR_NESTED,
                 context[BARE]), 2.0),
        ("Msg parse at least 15x faster than plain construct", msg[PARSE.format("Msg")] / msg[PLAIN], (None, None),
         1 / 15),
        ("ThreadContext parse at least 15x faster than plain construct",
         context[PARSE.format("ThreadContext")] / context[PLAIN], (None, None), 1 / 15),
    ]
    for name, values in (("Msg", msg), ("ThreadContext", context)):
        checks.append((f"{name}View one-field read within 2x of a bare unpack_from", values[VIEW] / values[BARE],
                       tuple(msg[key] / msg[BARE] if key in msg else None
                             for key in (floors.PURE_VIEW, floors.FLOOR_VIEW)), 2.0))
    return checks


def _priced(prices: tuple) -> str:
    pure, floor = prices
    parts = ([f"pure Python {pure:.2f}"] if pure is not None else []) + \
        ([f"pure-Python floor {floor:.2f}"] if floor is not None else [])
    return f"; {', '.join(parts)}" if parts else ""


def _verdict(ratio: float, limit: float, floor) -> str:
    if ratio <= limit:
        return "met"
    return "MISSED (below the pure-Python floor)" if floor is not None and floor > limit else "MISSED"


def goal_lines(rows: dict) -> list:
    lines = [f"{_verdict(ratio, limit, prices[0])}: {label} (ratio {ratio:.2f}, limit {limit:.3g}"
             f"{_priced(prices)})" for label, ratio, prices, limit in goals(rows)]
    bulk = [v for k, v in rows["Msg"] if k.startswith("numpy")][-1]
    rate = 1 / bulk  # records per microsecond
    lines.append(f"{'met' if rate >= 50 else 'MISSED'}: numpy bulk decode at 50M records/s or more "
                 f"({rate:.0f}M records/s)")
    return lines


def measured_package():
    """(the arch module to measure, which runtime it runs on): a copy of the generated package
    with its compiled runtime built (what `pip install` gives where a C compiler is), else the
    pure-Python package as it is."""
    folder = tempfile.mkdtemp(prefix="bench-parsers-")
    try:
        compiled_copy(os.path.join(ROOT, "generated", "python", "sysmsg"), folder, "sysmsg_compiled")
    except (OSError, RuntimeError) as error:
        return sysmsg.amd64, f"pure-Python runtime (the compiled one did not build: {str(error).splitlines()[0]})"
    import sysmsg_compiled.amd64
    return sysmsg_compiled.amd64, "compiled runtime (pure Python beside it)"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # Short runs are the likeliest to go uninterrupted on a busy machine; the best of many counts.
    parser.add_argument("--budget", type=float, default=0.002, help="seconds per timed run (default 0.002)")
    parser.add_argument("--rounds", type=int, default=300, help="interleaved runs of every row (default 300)")
    parser.add_argument("--records", type=int, default=10_000, help="records per numpy row (default 10,000)")
    parser.add_argument("--bulk", type=int, default=1_000_000, help="Msg records in the large numpy row")
    parser.add_argument("--seed", type=int, default=None, help="seed of the row order (default: random)")
    parser.add_argument("--markdown", action="store_true", help="print the README's table and goals")
    args = parser.parse_args(argv)
    header = (f"python {platform.python_version()}, numpy {numpy.__version__}, {platform.machine()}, "
              f"{os.cpu_count()} cpus; arch amd64; best of {args.rounds} shuffled interleaved rounds")
    mod, runtime = measured_package()
    header += f"; generated code on its {runtime}"
    rows = measure(args.budget, args.rounds, args.records, args.bulk, args.seed, mod)
    if args.markdown:
        print(f"Speed (`make bench`: {header}):\n")
        print(table(rows))
        print()
        print("\n".join(f"- {line}" for line in goal_lines(rows)))
        return 0
    print(header)
    print(table(rows))
    print()
    print("\n".join(goal_lines(rows)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
