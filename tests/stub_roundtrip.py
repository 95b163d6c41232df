"""The stub round trip: a real C and assembly stub and the generated Python parsers share one region.

Per arch, Python writes the inputs into a region file with the generated `build`, queues
contexts in the context queue through the generated view (as the runtime does), runs the stub
(`stub/`, under qemu-aarch64 for arm64), waits for it to exit, parses what it wrote with the
generated parsers and compares every value with what the queue and the trap must have produced.

    python tests/stub_roundtrip.py build --arch amd64 --out build/stub/amd64/stub
    python tests/stub_roundtrip.py run --build build/stub        # one line per arch

The region file is one per-thread region (guard, private stack, guard, shared stack whose
last page is the Msg page), the context queue (whole pages), then context slots as in the
runtime's context region: context 0, which the trap fills, and the queued ones; the stub maps
it at MAP_BASE. `python tests/stub_roundtrip.py diagram` draws it from the generated constants.
"""
from __future__ import annotations

import argparse
import dataclasses
import importlib
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

ROOT = Path(__file__).resolve().parent.parent
# Run as a script from anywhere: layoutgen itself, and the generated sysmsg package (which the
# wheel does not install), come from this checkout.
for _path in (ROOT, ROOT / "generated" / "python"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from codegen.check import toolchain  # noqa: E402

STUB_SOURCES = ROOT / "stub"
GENERATED_C = ROOT / "generated" / "c"
ARCHS = ("amd64", "arm64")

# The stub maps the region here, so Python can write real pointers into the Msg before the
# stub starts. Page aligned, and far from where the loader, the heap and mmap place things
# on either arch, natively or under qemu.
MAP_BASE = 0x40_0000_0000

# Values Python writes and expects to see again, changed by the stub or copied as they are.
THREAD_ID = 0x5157
PREVIOUS_THREAD_ID = 0x0BAD
SYSHANDLER = 0x5A5A_C0DE_0000_0001

# The contexts Python queues, in queue order: a permutation of 1..8, so that the order the stub
# took them in shows. Context 0 is the trap's and is never queued.
QUEUED = (3, 6, 1, 4, 7, 2, 5, 8)
# The queue's counters start 3 short of 2**32: the entries cross both the ring's end (slot
# MAX_CONTEXT_QUEUE_ENTRIES - 1 to 0) and the 32-bit wrap of start and end.
QUEUE_START = 2**32 - 3
U32 = 2**32 - 1
# Values only the runtime writes; the stub must leave them as they are.
FAST_PATH_DISABLED = 1

# The stub is killed if it runs this long; a guard against hangs, not a measurement.
HANG_GUARD_SECONDS = 120


class RoundTripError(Exception):
    """The round trip did not hold; `problems` lists every mismatch found."""

    def __init__(self, arch: str, problems: Sequence[str], status: int, err: int, err_line: int):
        self.arch = arch
        self.problems = list(problems)
        self.status = status  # the stub's exit status
        self.err, self.err_line = err, err_line  # as the generated parser reads them from the Msg
        super().__init__(f"stub {arch}: " + "; ".join(self.problems))


class StubBuildError(Exception):
    pass


@dataclasses.dataclass(frozen=True)
class Trap:
    """The signal a trap instruction raises, with Linux's numbers (the same on both arches)."""

    signal: str
    signo: int
    code: str
    si_code: int


@dataclasses.dataclass(frozen=True)
class ArchPlan:
    arch: str
    registers: Tuple[Tuple[str, str, Optional[int]], ...]  # (label, ptregs field, array index)
    msg_register: Tuple[str, str, Optional[int]]  # holds the Msg pointer the stub passed in
    context_register: Tuple[str, str, Optional[int]]  # holds Msg.context as the assembly loaded it
    stack_pointer: str
    program_counter: str
    trap: Trap
    link_flags: Tuple[str, ...]


# LINT.IfChange(stub_plans)
# The registers are listed in the order the assembly loads the sentinels into them; the
# Msg and context registers are the ones handler_<arch>.S keeps those pointers in.
PLANS = {
    "amd64": ArchPlan(
        arch="amd64",
        registers=tuple((name, name, None) for name in ("rbx", "rbp", "r12", "r13", "r14", "r15")),
        msg_register=("rdi", "rdi", None),
        context_register=("rax", "rax", None),
        stack_pointer="rsp",
        program_counter="rip",
        trap=Trap("SIGILL", 4, "ILL_ILLOPN", 2),  # FAULT_OPCODE is an illegal operand
        link_flags=(),
    ),
    "arm64": ArchPlan(
        arch="arm64",
        registers=tuple((f"x{n}", "regs", n) for n in range(19, 29)),
        msg_register=("x0", "regs", 0),
        context_register=("x10", "regs", 10),
        stack_pointer="sp",
        program_counter="pc",
        trap=Trap("SIGTRAP", 5, "TRAP_BRKPT", 1),  # brk #0
        link_flags=("-static",),
    ),
}
# LINT.ThenChange(//spec/sysmsg.yaml)


@dataclasses.dataclass(frozen=True)
class Inputs:
    """What Python writes into the region, and the addresses it assumes the stub maps it at."""

    base: int
    sentinels: Tuple[int, ...]
    msg: int
    context: int
    private_stack_top: int


@dataclasses.dataclass(frozen=True)
class Report:
    arch: str
    checks: Tuple[Tuple[str, str, object, object], ...]  # (group, label, expected, found)

    def count(self, group: str) -> int:
        return sum(1 for check in self.checks if check[0] == group)

    def summary(self) -> str:
        trap = PLANS[self.arch].trap
        return (f"stub {self.arch}: ok: {len(QUEUED)} contexts dequeued in order ({self.count('queue')} queue "
                f"checks), {self.count('register')} registers, stack switch and altstack, "
                f"siginfo {trap.signal}/{trap.code} at {PLANS[self.arch].program_counter}, "
                f"state FAULT (Msg PREP), {self.count('echo')} echoed values, "
                f"{self.count('address')} addresses ({len(self.checks)} checks)")


def parsers(arch: str):
    """The generated construct module for `arch` (sysmsg.amd64 or sysmsg.arm64)."""
    return importlib.import_module(f"sysmsg.{arch}")


def queue_offset(mod) -> int:
    """The context queue goes right after the region (page aligned, so on a line boundary)."""
    return mod.PER_THREAD_MEM_SIZE


def queue_span(mod) -> int:
    """The queue's struct rounded up to whole pages, so the contexts after it stay page aligned."""
    pages = -(-mod.SIZES["ContextQueue"] // mod.PAGE_SIZE)
    return pages * mod.PAGE_SIZE


def context_offset(mod, context_id: int = 0) -> int:
    """Context `context_id`'s slot: the slots follow the queue, as in the runtime's context region."""
    return queue_offset(mod) + queue_span(mod) + context_id * mod.ALLOCATED_SIZEOF_THREAD_CONTEXT_STRUCT


def region_size(mod) -> int:
    return context_offset(mod, max(QUEUED) + 1)


def sentinels(count: int) -> Tuple[int, ...]:
    """Distinct 64-bit values with every byte set, so a shifted or truncated copy cannot match."""
    return tuple(0x5E00_0000_0000_0000 | (index + 1) * 0x0011_2233_4455 for index in range(count))


def plan_inputs(arch: str) -> Inputs:
    mod = parsers(arch)
    return Inputs(
        base=MAP_BASE,
        sentinels=sentinels(len(PLANS[arch].registers)),
        msg=MAP_BASE + mod.MSG_OFFSET_FROM_START,
        context=MAP_BASE + context_offset(mod),
        private_stack_top=MAP_BASE + mod.PER_THREAD_PRIVATE_STACK_OFFSET + mod.PER_THREAD_PRIVATE_STACK_SIZE,
    )


def zero(struct, mod, name: str):
    """A container holding every field of `struct` at zero, ready to fill in and build."""
    return struct.parse(bytes(mod.SIZES[name]))


def initial_region(arch: str, inputs: Inputs) -> bytes:
    """The region file's bytes before the stub runs: a Msg and a poisoned ThreadContext."""
    mod = parsers(arch)
    msg = zero(mod.Msg, mod, "Msg")
    msg.state = mod.ThreadState.INITIALIZING
    msg.context = inputs.context
    msg.syshandler = SYSHANDLER
    msg.syshandler_stack = inputs.private_stack_top
    msg.thread_id = THREAD_ID

    # INVALID and -1 make sure a field the stub never wrote cannot pass for a right one.
    ctx = zero(mod.ThreadContext, mod, "ThreadContext")
    ctx.state = mod.ContextState.INVALID
    ctx.signo = -1
    ctx.thread_id = PREVIOUS_THREAD_ID

    region = bytearray(region_size(mod))
    place(region, mod.MSG_OFFSET_FROM_START, mod.Msg.build(msg))
    place(region, context_offset(mod), mod.ThreadContext.build(ctx))
    queued = zero(mod.ThreadContext, mod, "ThreadContext")
    queued.thread_id = PREVIOUS_THREAD_ID
    for context_id in QUEUED:
        place(region, context_offset(mod, context_id), mod.ThreadContext.build(queued))
    enqueue(mod, mod.ContextQueueView(region, queue_offset(mod)), QUEUED)
    return bytes(region)


def ring_slot(mod, index: int) -> int:
    return index % mod.MAX_CONTEXT_QUEUE_ENTRIES


def enqueue(mod, queue, context_ids) -> None:
    """Queues the contexts as the runtime does: the entry `(index << CQ_INDEX_SHIFT) | id` at
    end, then end moves on; the runtime's own counters are set as it would have them."""
    queue.start = queue.end = QUEUE_START
    queue.fast_path_disabled = FAST_PATH_DISABLED
    for context_id in context_ids:
        index = queue.end
        queue.ringbuffer[ring_slot(mod, index)] = (index << mod.CQ_INDEX_SHIFT) | context_id
        queue.num_active_contexts += 1
        queue.num_awake_contexts += 1
        queue.end = (index + 1) & U32


def place(region: bytearray, offset: int, data: bytes) -> None:
    region[offset:offset + len(data)] = data


def register(ptregs, field: str, index: Optional[int]) -> int:
    value = ptregs[field]
    return value if index is None else value[index]


def read_pages(arch: str, data: bytes):
    """The Msg and the ThreadContext, parsed from the region file's bytes."""
    mod = parsers(arch)
    msg = mod.Msg.parse(data[mod.MSG_OFFSET_FROM_START:])
    ctx = mod.ThreadContext.parse(data[context_offset(mod):])
    return msg, ctx


def frame_on_altstack(mod, data: bytes, ctx) -> bool:
    """Whether the signal frame (kernel's or qemu's), which holds a copy of the siginfo, is on the altstack."""
    start = mod.PER_THREAD_SHARED_STACK_OFFSET
    return mod.SignalInfo.build(ctx.siginfo) in data[start:start + mod.MSG_OFFSET_FROM_SHARED_STACK]


def queue_checks(mod, data: bytes) -> list:
    """Each queued context taken once, in queue order, by this thread; the counters agree; the
    runtime's counters untouched; every entry taken left INVALID_CONTEXT_ID, no other slot written."""
    queue = mod.ContextQueueView(data, queue_offset(mod))
    checks = []
    for order, context_id in enumerate(QUEUED, 1):
        ctx = mod.ThreadContextView(data, context_offset(mod, context_id))
        checks += [("queue", f"context {context_id}: acked", 1, ctx.acked),
                   ("queue", f"context {context_id}: thread_id", THREAD_ID, ctx.thread_id),
                   ("queue", f"context {context_id}: taken in place (debug)", order, ctx.debug)]
    end = (QUEUE_START + len(QUEUED)) & U32
    used = {ring_slot(mod, (QUEUE_START + k) & U32) for k in range(len(QUEUED))}
    ring = queue.ringbuffer
    checks += [
        ("queue", "ContextQueue.start (advanced past every entry)", end, queue.start),
        ("queue", "ContextQueue.end (the runtime's)", end, queue.end),
        ("queue", "ContextQueue.num_active_threads (this thread joined)", 1, queue.num_active_threads),
        ("queue", "ContextQueue.num_active_contexts", len(QUEUED), queue.num_active_contexts),
        ("queue", "ContextQueue.num_awake_contexts", len(QUEUED), queue.num_awake_contexts),
        ("queue", "ContextQueue.fast_path_disabled", FAST_PATH_DISABLED, queue.fast_path_disabled),
        ("queue", "ContextQueue.fast_path_failed_in_row", 0, queue.fast_path_failed_in_row),
        ("queue", "ring entries taken (left INVALID_CONTEXT_ID)", [mod.INVALID_CONTEXT_ID] * len(used),
         [ring[slot] for slot in sorted(used)]),
        ("queue", "ring slots never queued (still zero)", 0,
         sum(1 for slot, entry in enumerate(ring) if entry and slot not in used)),
    ]
    return checks


def register_checks(plan: ArchPlan, inputs: Inputs, regs) -> list:
    return [("register", f"ptregs.{label}", value, register(regs, field, index))
            for (label, field, index), value in zip(plan.registers, inputs.sentinels)]


def stack_checks(plan: ArchPlan, inputs: Inputs, mod, data: bytes, msg, ctx) -> list:
    app_stack_outside = not inputs.base <= msg.app_stack < inputs.base + region_size(mod)
    return [
        ("stack", f"ptregs.{plan.stack_pointer} (the private stack top)", inputs.private_stack_top,
         ctx.ptregs[plan.stack_pointer]),
        ("stack", "Msg.app_stack lies outside the region", True, app_stack_outside),
        ("stack", "the signal frame lies on the altstack", True, frame_on_altstack(mod, data, ctx)),
    ]


def trap_checks(plan: ArchPlan, mod, msg, ctx) -> list:
    """What the trap raised, and the states the assembly and the handler left."""
    trap = plan.trap
    si_addr = int.from_bytes(ctx.siginfo.fields[:8], "little")  # a fault's address leads the union
    return [
        ("signal", "siginfo.signo", trap.signo, ctx.siginfo.signo),
        ("signal", "siginfo.code", trap.si_code, ctx.siginfo.code),
        ("signal", f"siginfo address (= ptregs.{plan.program_counter})", ctx.ptregs[plan.program_counter], si_addr),
        ("signal", "ThreadContext.signo", trap.signo, ctx.signo),
        ("state", "ThreadContext.state", mod.ContextState.FAULT, ctx.state),
        ("state", "Msg.state", mod.ThreadState.PREP, msg.state),
        ("state", "Msg.err", 0, msg.err),
        ("state", "Msg.err_line", 0, msg.err_line),
    ]


def echo_checks(msg, ctx) -> list:
    return [
        ("echo", "ThreadContext.thread_id (from Msg.thread_id)", THREAD_ID, ctx.thread_id),
        ("echo", "ThreadContext.last_thread_id (its old thread_id)", PREVIOUS_THREAD_ID, ctx.last_thread_id),
        ("echo", "Msg.debug (from Msg.syshandler)", SYSHANDLER, msg.debug),
        ("input", "Msg.thread_id", THREAD_ID, msg.thread_id),
        ("input", "Msg.syshandler", SYSHANDLER, msg.syshandler),
    ]


def address_checks(plan: ArchPlan, inputs: Inputs, msg, ctx) -> list:
    msg_label, *msg_register = plan.msg_register
    context_label, *context_register = plan.context_register
    return [
        ("address", "Msg.self", inputs.msg, msg.self),
        ("address", "Msg.context", inputs.context, msg.context),
        ("address", f"ptregs.{msg_label} (the Msg pointer)", inputs.msg, register(ctx.ptregs, *msg_register)),
        ("address", f"ptregs.{context_label} (Msg.context as the assembly read it)", inputs.context,
         register(ctx.ptregs, *context_register)),
    ]


def expectations(arch: str, inputs: Inputs, data: bytes) -> List[Tuple[str, str, object, object]]:
    """Every (group, label, expected, found) the round trip promises, read from the region's bytes."""
    mod, plan = parsers(arch), PLANS[arch]
    msg, ctx = read_pages(arch, data)
    return (queue_checks(mod, data) + register_checks(plan, inputs, ctx.ptregs) + stack_checks(plan, inputs, mod, data, msg, ctx)
            + trap_checks(plan, mod, msg, ctx) + echo_checks(msg, ctx) + address_checks(plan, inputs, msg, ctx))


def show(value) -> str:
    """Plain ints in hex; enums, booleans and small numbers as they print."""
    return hex(value) if type(value) is int and value > 9 else str(value)


# LINT.IfChange(stub_diagram)
def region_parts(mod) -> List[Tuple[int, str, int, int, str]]:
    """(depth, name, offset, size, note) for each part of the region file, from the constants."""
    private_top = mod.PER_THREAD_PRIVATE_STACK_OFFSET + mod.PER_THREAD_PRIVATE_STACK_SIZE
    shared = mod.PER_THREAD_SHARED_STACK_OFFSET
    return [
        (0, "guard_low", 0, mod.GUARD_SIZE, "PROT_NONE in the stub"),
        (0, "private_stack", mod.PER_THREAD_PRIVATE_STACK_OFFSET, mod.PER_THREAD_PRIVATE_STACK_SIZE,
         "the assembly moves its stack pointer to the top"),
        (0, "guard_high", private_top, mod.GUARD_SIZE, "PROT_NONE in the stub"),
        (0, "shared_stack", shared, mod.PER_THREAD_SHARED_STACK_SIZE, ""),
        (1, "altstack", shared, mod.MSG_OFFSET_FROM_SHARED_STACK, "sigaltstack: the signal frame lands here"),
        (1, "msg_page", mod.MSG_OFFSET_FROM_START, mod.PAGE_SIZE, f"Msg ({mod.SIZES['Msg']} bytes) at its start"),
        (0, "context_queue", queue_offset(mod), queue_span(mod),
         f"ContextQueue ({mod.SIZES['ContextQueue']} bytes): Python queues, the stub takes"),
        (0, "contexts", context_offset(mod), region_size(mod) - context_offset(mod),
         f"{max(QUEUED) + 1} slots of {mod.ALLOCATED_SIZEOF_THREAD_CONTEXT_STRUCT}: 0 for the trap, then the queued"),
    ]
# LINT.ThenChange(//spec/sysmsg.yaml)


def diagram(arch: str) -> str:
    """The region file as text, lowest address first."""
    lines = [f"region file ({arch}), mapped at {MAP_BASE:#x}:", "  offset   size     part"]
    for depth, name, offset, size, note in region_parts(parsers(arch)):
        lines.append(f"  {offset:#07x}  {size:#07x} {'  ' * depth}{name:<16}{' ' * (4 - 2 * depth)}{note}".rstrip())
    return "\n".join(lines)


def stub_command(arch: str, binary: Path, region: Path, inputs: Inputs) -> List[str]:
    runner = [] if arch == toolchain.HOST_ARCH else [toolchain.require(toolchain.QEMU[arch])]
    return [*runner, str(binary), str(region), f"{inputs.base:x}", *(f"{s:x}" for s in inputs.sentinels)]


def roundtrip(arch: str, binary: Path, workdir: Path, prepare=initial_region) -> Report:
    """Runs the whole round trip once; raises RoundTripError listing every mismatch.

    `prepare(arch, inputs)` returns the region file's starting bytes; tests pass their own
    to feed the stub bad inputs.
    """
    inputs = plan_inputs(arch)
    region = Path(workdir) / f"region-{arch}.bin"
    region.write_bytes(prepare(arch, inputs))
    result = subprocess.run(stub_command(arch, Path(binary), region, inputs), capture_output=True, text=True,
                            timeout=HANG_GUARD_SECONDS)
    data = region.read_bytes()
    msg, _ctx = read_pages(arch, data)
    problems = []
    if result.returncode != 0:
        problems.append(f"the stub exited with status {result.returncode} (Msg.err {msg.err}, "
                        f"Msg.err_line {msg.err_line}): {result.stderr.strip() or 'no message'}")
    checks = expectations(arch, inputs, data)
    problems += [f"{label}: expected {show(expected)}, found {show(found)}"
                 for _group, label, expected, found in checks if expected != found]
    if problems:
        raise RoundTripError(arch, problems, result.returncode, msg.err, msg.err_line)
    return Report(arch, tuple(checks))


def compile_stub(arch: str, out: Path, include: Path = GENERATED_C) -> Path:
    """Builds the stub for `arch` against the generated headers in `include`."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    sources = [STUB_SOURCES / "stub.c", STUB_SOURCES / f"handler_{arch}.S"]
    command = [toolchain.c_compiler(arch), *toolchain.C_FLAGS, "-O2", "-I", str(include),
               *PLANS[arch].link_flags, *map(str, sources), "-o", str(out)]
    result = toolchain.run(command)
    if result.returncode != 0:
        raise StubBuildError(f"building the {arch} stub failed:\n{' '.join(command)}\n{result.stderr}")
    return out


def _run(args) -> int:
    failed = 0
    for arch in args.arch or ARCHS:
        with tempfile.TemporaryDirectory(prefix=f"stub-{arch}-") as workdir:
            try:
                print(roundtrip(arch, Path(args.build) / arch / "stub", Path(workdir)).summary())
            except RoundTripError as error:
                failed += 1
                print(f"stub {arch}: FAILED")
                for problem in error.problems:
                    print(f"    {problem}")
    return 1 if failed else 0


def _build(args) -> int:
    try:
        compile_stub(args.arch, Path(args.out), Path(args.include))
    except (StubBuildError, toolchain.ToolMissing) as error:
        print(error, file=sys.stderr)
        return 1
    return 0


def _diagram(args) -> int:
    print(diagram(args.arch))
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="compile the stub for one arch")
    build.add_argument("--arch", required=True, choices=ARCHS)
    build.add_argument("--out", required=True, help="the binary to write")
    build.add_argument("--include", default=str(GENERATED_C), help="folder of the generated C headers")
    build.set_defaults(run=_build)
    run = commands.add_parser("run", help="run the round trip and print one line per arch")
    run.add_argument("--build", default="build/stub", help="folder holding <arch>/stub")
    run.add_argument("--arch", action="append", choices=ARCHS, help="limit to this arch (repeatable)")
    run.set_defaults(run=_run)
    draw = commands.add_parser("diagram", help="draw the region file from the generated constants")
    draw.add_argument("--arch", default="amd64", choices=ARCHS)
    draw.set_defaults(run=_diagram)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
