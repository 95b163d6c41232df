"""False sharing in the context queue: builds and runs benchmarks/bench_context_queue.c.

Run `make bench` (or `python benchmarks/bench_context_queue.py`). The C program runs two
threads, one per side, writing the queue's counters in the seed's packed layout and in the
layout generated with `cacheline: separate` (generated/c/sysmsg.h), in shuffled interleaved
rounds, and prints the best and median ns per iteration of each and their ratio, with the
machine's core count. Natively only: under qemu the threads would not share real caches.
Nothing is asserted: timings belong in this report, not in the tests.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from codegen.check import toolchain  # noqa: E402

SOURCE = os.path.join(ROOT, "benchmarks", "bench_context_queue.c")
HEADERS = os.path.join(ROOT, "generated", "c")


def build(out: str) -> str:
    os.makedirs(os.path.dirname(out), exist_ok=True)
    command = [toolchain.c_compiler(toolchain.HOST_ARCH), *toolchain.C_FLAGS, "-O2", "-pthread",
               "-I", HEADERS, SOURCE, "-o", out]
    result = toolchain.run(command)
    if result.returncode != 0:
        raise SystemExit(f"building the benchmark failed:\n{' '.join(command)}\n{result.stderr}")
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=5_000_000, help="loop iterations per side per round")
    parser.add_argument("--rounds", type=int, default=11, help="rounds per layout")
    parser.add_argument("--out", default=os.path.join(ROOT, "build", "bench", "bench_context_queue"))
    args = parser.parse_args(argv)
    binary = build(args.out)
    print("== context queue: false sharing between the runtime and the stub threads", flush=True)
    return subprocess.run([binary, str(args.iterations), str(args.rounds)]).returncode


if __name__ == "__main__":
    sys.exit(main())
