#!/usr/bin/env python3
"""The long differential soak behind `make fuzz` (issue 8).

Two workers run side by side, one process each:
  go     batches Go can express, checked by each arch's gcc, the Python parsers and go test
         (GOARCH per arch, under qemu-user off the host);
  mixed  batches with packed structs and align overrides, checked by the gccs and the parsers.
Every chunk of batches has a lead arch, taken from the arch table in turn, that each of its
batches declares (with up to two others), so every arch is drawn. `--checks c` keeps only the
compilers' side (asserts and DWARF). Each worker keeps drawing batches until it has checked
--structs structs, then prints its counts; the parent prints the totals, per arch too, and the time. Both run a copy of codegen/ taken at the start, so that
edits to the tree during the run do not change what is tested. A mismatch is shrunk by
hypothesis and printed, and the minimal spec is saved under build/fuzz/ to become a
tests/cases/<name>/spec.yaml regression case.

    python tests/fuzz/soak.py [--structs 20000] [--slots 100] [--seed N] [--checks c,python,go]
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
KINDS = ("go", "mixed")
CHUNK = 5  # batches per hypothesis run; each run gets its own seed (and the next lead arch)
RESULT = "soak-result: "


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--structs", type=int, default=20000, help="structs per worker (default 20000)")
    parser.add_argument("--slots", type=int, default=100, help="struct slots per batch (default 100)")
    parser.add_argument("--seed", type=int, help="base seed, to repeat a soak (default: random, printed)")
    parser.add_argument("--checks", default="c,python,go", help="checks to run (default c,python,go)")
    parser.add_argument("--worker", choices=KINDS, help=argparse.SUPPRESS)
    parser.add_argument("--codegen", help=argparse.SUPPRESS)  # the frozen copy a worker imports
    args = parser.parse_args(argv)
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(1 << 32)
    if args.worker:
        return work(args)
    return supervise(args)


# ---- the parent -----------------------------------------------------------------------------


def supervise(args) -> int:
    print(f"fuzz soak: {args.structs} structs per worker ({', '.join(KINDS)}), "
          f"up to {args.slots} per batch, seed {args.seed}", flush=True)
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="layoutgen-soak-") as frozen:
        shutil.copytree(ROOT / "codegen", Path(frozen) / "codegen", ignore=shutil.ignore_patterns("__pycache__"))
        workers = {kind: subprocess.Popen(
            [sys.executable, __file__, "--worker", kind, "--structs", str(args.structs), "--slots",
             str(args.slots), "--seed", str(args.seed), "--checks", args.checks, "--codegen", frozen],
            cwd=ROOT, stdout=subprocess.PIPE, text=True) for kind in KINDS}
        results = {}
        relays = [threading.Thread(target=relay, args=(kind, process, results)) for kind, process in workers.items()]
        for thread in relays:
            thread.start()
        for thread in relays:
            thread.join()
        failed = [kind for kind, process in workers.items() if process.wait() != 0 or kind not in results]
    total = {"features": {}}
    for counts in results.values():
        for key, value in counts.items():
            if isinstance(value, dict):
                counts = total.setdefault(key, {})
                for kind, seen in value.items():
                    counts[kind] = counts.get(kind, 0) + seen
            else:
                total[key] = total.get(key, 0) + value
    print(report(total, time.monotonic() - start, failed))
    return 1 if failed else 0


def relay(kind: str, process, results: dict) -> None:
    """Print a worker's progress lines as they come, and keep its final counts."""
    for line in process.stdout:
        if line.startswith(RESULT):
            results[kind] = json.loads(line[len(RESULT):])
        else:
            print(f"[{kind}] {line}", end="", flush=True)


def report(total: dict, elapsed: float, failed: list) -> str:
    def count(key: str) -> int:
        return total.get(key, 0)

    mismatches = f"MISMATCH in: {', '.join(failed)}" if failed else "0 mismatches"
    checked = total.get("arch_structs", {})
    per_arch = ", ".join(f"{arch} {batches} {checked.get(arch, 0)}"
                         for arch, batches in total.get("arch_batches", {}).items())
    return (f"fuzz soak: {count('structs')} structs ({count('fields')} fields) in {count('batches')} batches, "
            f"{elapsed:.0f} s\n"
            f"  gcc of every arch: {count('c_asserts')} _Static_asserts over {count('structs')} structs "
            f"in {count('combinations')} (arch, parameter) combinations; DWARF: {count('dwarf_members')} members\n"
            f"  per arch (batches, structs gcc checked): {per_arch}\n"
            f"  Python parsers (every arch's module): {count('python_structs')} structs\n"
            f"  go test (GOARCH per arch, qemu): {count('go_checks')} checks over {count('go_structs')} structs\n"
            f"  constructs seen: {', '.join(f'{kind} {seen}' for kind, seen in total['features'].items())}\n"
            f"  {mismatches}")


# ---- a worker -------------------------------------------------------------------------------


def work(args) -> int:
    # The frozen codegen goes first on the path, so this process and the CLI runs both use it.
    sys.path[:0] = [args.codegen, str(HERE.parent)]
    differential = importlib.import_module("fuzz.differential")
    differential.CODEGEN_HOME = Path(args.codegen)
    go = args.worker == "go"
    keep = ROOT / "build" / "fuzz" / f"mismatch-{args.worker}-{args.seed}.yaml"
    total, chunk, start = differential.Tally(), 0, time.monotonic()
    while total.structs < args.structs:
        lead = differential.ARCHS[chunk % len(differential.ARCHS)]
        try:
            total.add(differential.fuzz(go=go, slots=args.slots, examples=CHUNK, derandomize=False,
                                        seed=args.seed + chunk + (0 if go else 1 << 32), keep=keep, lead=lead,
                                        checks=tuple(args.checks.split(","))))
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
