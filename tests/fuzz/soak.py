#!/usr/bin/env python3
"""The long differential soak behind `make fuzz` (issue 8).

Two workers run side by side, one process each:
  go     batches Go can express, checked by gcc, aarch64 gcc, the Python parsers and go test
         on amd64 and arm64 (qemu);
  mixed  batches with packed structs and align overrides, checked by both gccs and the parsers.
Each keeps drawing batches until it has checked --structs structs, then prints its counts; the
parent prints the totals and the time. A mismatch is shrunk by hypothesis, printed, and the
minimal spec is saved under build/fuzz/ to become a tests/cases/<name>/spec.yaml regression case.

    python tests/fuzz/soak.py [--structs 20000] [--slots 100] [--seed N]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path[:0] = [str(HERE.parent), str(ROOT)]

from fuzz import differential  # noqa: E402  (needs the path set above)

KINDS = ("go", "mixed")
CHUNK = 20  # batches per hypothesis run; each run gets its own seed
RESULT = "soak-result: "


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--structs", type=int, default=20000, help="structs per worker (default 20000)")
    parser.add_argument("--slots", type=int, default=100, help="struct slots per batch (default 100)")
    parser.add_argument("--seed", type=int, help="base seed, to repeat a soak (default: random, printed)")
    parser.add_argument("--worker", choices=KINDS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(1 << 32)
    if args.worker:
        return work(args.worker, args.structs, args.slots, args.seed)
    return supervise(args)


def supervise(args) -> int:
    print(f"fuzz soak: {args.structs} structs per worker ({', '.join(KINDS)}), "
          f"up to {args.slots} per batch, seed {args.seed}", flush=True)
    start = time.monotonic()
    workers = {kind: subprocess.Popen([sys.executable, __file__, "--worker", kind, "--structs", str(args.structs),
                                       "--slots", str(args.slots), "--seed", str(args.seed)],
                                      cwd=ROOT, stdout=subprocess.PIPE, text=True)
               for kind in KINDS}
    results = {}
    relays = [threading.Thread(target=relay, args=(kind, process, results)) for kind, process in workers.items()]
    for thread in relays:
        thread.start()
    for thread in relays:
        thread.join()
    failed = [kind for kind, process in workers.items() if process.wait() != 0 or kind not in results]
    elapsed = time.monotonic() - start
    total = differential.Tally()
    for kind, counts in results.items():
        total.add(differential.Tally(**counts))
    print(report(total, elapsed, failed))
    return 1 if failed else 0


def relay(kind: str, process, results: dict) -> None:
    """Print a worker's progress lines as they come, and keep its final counts."""
    for line in process.stdout:
        if line.startswith(RESULT):
            results[kind] = json.loads(line[len(RESULT):])
        else:
            print(f"[{kind}] {line}", end="", flush=True)


def report(total, elapsed: float, failed: list) -> str:
    mismatches = f"mismatch in: {', '.join(failed)}" if failed else "0 mismatches"
    return (f"fuzz soak: {total.structs} structs ({total.fields} fields) in {total.batches} batches, "
            f"{elapsed:.0f} s\n"
            f"  gcc x86_64 + aarch64: {total.c_asserts} _Static_asserts over {total.structs} structs\n"
            f"  Python parsers (amd64 and arm64 modules): {total.python_structs} structs\n"
            f"  go test amd64 + arm64 (qemu): {total.go_checks} checks over {total.go_structs} structs\n"
            f"  {mismatches}")


def work(kind: str, target: int, slots: int, seed: int) -> int:
    go = kind == "go"
    keep = ROOT / "build" / "fuzz" / f"mismatch-{kind}-{seed}.yaml"
    total, chunk, start = differential.Tally(), 0, time.monotonic()
    while total.structs < target:
        try:
            total.add(differential.fuzz(go=go, slots=slots, examples=CHUNK, derandomize=False,
                                        seed=seed + chunk + (0 if go else 1 << 32), keep=keep))
        except Exception:  # a Mismatch, or hypothesis's group of several
            print(f"MISMATCH after {total.structs} structs; the minimal spec is in {os.path.relpath(keep, ROOT)}",
                  flush=True)
            raise
        chunk += 1
        print(f"{total.structs} structs, {total.fields} fields, {time.monotonic() - start:.0f} s", flush=True)
    print(RESULT + json.dumps(vars(total)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
