"""How generation time grows with the spec: synthetic specs of N structs next to sysmsg.

Run `make bench` (or `python benchmarks/bench_generate.py`). It writes synthetic specs of
realistic shape (nested structs and arrays of them, enums, constants used as array lengths and
taken from `sizeof`, anonymous unions and structs, pointers, per-arch members) and times
`pipeline.generate` in-process (load, resolve, layout, every target rendered in memory; no disk)
for N = 100, 1000 and sysmsg, in shuffled interleaved rounds keeping each row's best, and the
same for end-to-end runs of the CLI (fewer rounds: they write every file). It prints seconds
per generation and whether the goals of issue 21 hold. Nothing is asserted here: timings
belong in this report, not in the tests.

`--profile N` runs cProfile over one in-process generation of an N-struct spec instead.
"""
from __future__ import annotations

import argparse
import cProfile
import gc
import os
import platform
import pstats
import random
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from codegen import pipeline  # noqa: E402

SYSMSG = os.path.join("spec", "sysmsg.yaml")
TIER = 10  # every TIER-th struct is a plain one the next TIER-1 nest, so nesting depth stays constant


# ---- the synthetic spec


def _constants(count: int) -> str:
    lines = ["constants:"]
    for i in range(count):
        lines.append(f"  S{i}_SLOTS: {{value: {i % 7 + 1}, doc: Array length of S{i}.slots.}}")
        if i % TIER == 0:
            lines.append(f"  S{i}_SIZE: {{value: sizeof(S{i}), doc: Size of S{i} on each arch.}}")
    return "\n".join(lines) + "\n"


def _enums(count: int) -> str:
    lines = ["enums:"]
    for i in range(0, count, 5):
        lines += [f"  E{i}:", "    type: u32", f"    doc: States of S{i} and its neighbours.", "    values:"]
        lines += [f"      - {{name: {value}, doc: The {value.lower()} state.}}"
                  for value in ("IDLE", "BUSY", "DONE", "FAILED")]
    return "\n".join(lines) + "\n"


def _fields(i: int) -> list:
    """About a dozen members: scalars with holes between them, an array sized by a constant, an
    enum, a pointer, an anonymous union holding an anonymous struct, per-arch members, and (outside
    the base tier) a nested struct and an array of them."""
    base = i - i % TIER
    fields = [
        f"{{name: id, type: u32, doc: Identifies one S{i}.}}",
        f"{{name: state, type: E{i - i % 5}}}",
        "{name: flags, type: u16}",
        f"{{name: slots, type: 'u32[S{i}_SLOTS]'}}",
        f"{{name: next, type: ptr(S{i})}}",
        "{name: word, type: u64, arch: [arm64]}",
        "{name: half, type: u16, arch: [amd64]}",
    ]
    if i != base:
        fields += [f"{{name: head, type: S{base}}}", f"{{name: pair, type: 'S{base}[2]'}}"]
    lines = ["      - " + field for field in fields]
    lines += ["      - union:", "          - {name: raw, type: u64}", "          - struct:",
              "              - {name: lo, type: u32}", "              - {name: hi, type: u32}",
              "      - {name: tail, type: u8, doc: Leaves tail padding.}"]
    return lines


def _structs(count: int) -> str:
    lines = ["structs:"]
    for i in range(count):
        lines += [f"  S{i}:", f"    doc: Synthetic struct {i}.", "    fields:"] + _fields(i)
    return "\n".join(lines) + "\n"


def synthetic_spec(count: int) -> str:
    """The text of a spec with `count` structs (count/5 enums, count + count/TIER constants)."""
    header = (f"layoutgen: 1\nname: synth{count}\ndoc: A synthetic spec of {count} structs for the "
              "generation benchmark.\narchs: [amd64, arm64]\n")
    return header + _constants(count) + _enums(count) + _structs(count)


def write_specs(folder: str, counts) -> dict:
    """{label: spec path} for sysmsg and a synthetic spec per count."""
    specs = {"sysmsg": SYSMSG}
    for count in counts:
        path = os.path.join(folder, f"synth{count}.yaml")
        with open(path, "w", encoding="utf-8") as out:
            out.write(synthetic_spec(count))
        specs[f"{count} structs"] = path
    return specs


# ---- timing


def generate_once(path: str) -> float:
    """Seconds of one in-process generation, every target rendered in memory. The garbage of the
    previous run is collected first, so that one row does not pay for another's."""
    gc.collect()
    start = time.perf_counter()
    files = pipeline.generate(path, "unused")
    elapsed = time.perf_counter() - start
    assert files, path
    return elapsed


def cli_once(path: str, out: str) -> float:
    """Seconds of one `layoutgen generate` in a new process, writing its folder."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "codegen", "generate", "--spec", path, "--out", out],
                   check=True, cwd=ROOT, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def time_in_process(specs: dict, rounds: int, seed: int) -> dict:
    """Best seconds per spec over `rounds` rounds; each round runs every spec once, in a new
    random order, so a busy moment on a shared machine does not land on one row only. One
    untimed run first imports and compiles the templates, which every row would otherwise
    pay in turn with the first."""
    generate_once(SYSMSG)
    best = {label: float("inf") for label in specs}
    rng = random.Random(seed)
    for _ in range(rounds):
        labels = list(specs)
        rng.shuffle(labels)
        for label in labels:
            best[label] = min(best[label], generate_once(specs[label]))
    return best


def time_cli(specs: dict, folder: str, rounds: int, seed: int) -> dict:
    """Best of `rounds` CLI runs per spec, the specs in a new random order each round (a
    single run of a 20-second command on a shared machine says more about the machine)."""
    best = {label: float("inf") for label in specs}
    order = list(specs)
    shuffle = random.Random(seed + 1).shuffle
    for round_ in range(rounds):
        shuffle(order)
        for label in order:  # a new folder each run: every run writes every file
            out = os.path.join(folder, f"out-{round_}-" + label.replace(" ", "-"))
            best[label] = min(best[label], cli_once(specs[label], out))
    return best


# ---- report


def table(sizes: dict, in_process: dict, cli: dict) -> str:
    lines = ["| spec | spec bytes | generate in-process (s, best) | CLI end to end (s) | vs sysmsg |",
             "| --- | ---: | ---: | ---: | ---: |"]
    for label, size in sizes.items():
        lines.append(f"| {label} | {size:,} | {in_process[label]:.3f} | {cli[label]:.2f} | "
                     f"{in_process[label] / in_process['sysmsg']:.1f}x |")
    return "\n".join(lines)


def goals(in_process: dict, cli: dict, sysmsg_structs: int) -> list:
    """Issue 21's goals. Linear growth is checked on both measures: in-process (the generator's
    own work) and the CLI end to end (what `layoutgen generate` costs a user: start-up, imports
    and writing included). "Within 30x sysmsg's generate time" is read on the CLI, the time a
    user waits: in-process, a linear generator spends on 1000 structs about 1000/6 times what it
    spends on sysmsg's six, so that ratio is printed per struct, as information."""
    lines = []
    for how, seconds in (("in-process", in_process), ("CLI end to end", cli)):
        small, large = seconds["100 structs"], seconds["1000 structs"]
        checks = [("1000-struct spec <= 12x a 100-struct one", large / small, 12.0)]
        if how != "in-process":
            checks.append(("1000-struct spec within 30x sysmsg's generate time", large / seconds["sysmsg"], 30.0))
        lines += [f"{'met' if ratio <= limit else 'MISSED'}: {label}, {how} (ratio {ratio:.2f}, limit {limit:g})"
                  for label, ratio, limit in checks]
    per_large = in_process["1000 structs"] / 1000 * 1e3
    per_sysmsg = in_process["sysmsg"] / sysmsg_structs * 1e3
    lines.append(f"info: in-process, 1000 structs take {in_process['1000 structs'] / in_process['sysmsg']:.0f}x "
                 f"sysmsg's {sysmsg_structs}; per struct {per_large:.1f} ms against sysmsg's {per_sysmsg:.1f} ms")
    return lines


def profile(count: int, folder: str, top: int) -> None:
    path = write_specs(folder, (count,))[f"{count} structs"]
    profiler = cProfile.Profile()
    profiler.runcall(pipeline.generate, path, "unused")
    stats = pstats.Stats(profiler)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds of every spec (default 5)")
    parser.add_argument("--counts", type=int, nargs="+", default=[100, 1000],
                        help="struct counts of the synthetic specs (default 100 1000; the goals need both)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the row order")
    parser.add_argument("--cli-rounds", type=int, default=2, help="CLI runs of every spec (default 2)")
    parser.add_argument("--profile", type=int, metavar="N", help="profile one generation of an N-struct spec")
    parser.add_argument("--top", type=int, default=25, help="profile entries to print (default 25)")
    args = parser.parse_args(argv)
    os.chdir(ROOT)  # banners print the spec path relative to here, as `make` runs it
    with tempfile.TemporaryDirectory(prefix="bench-generate-") as folder:
        if args.profile:
            profile(args.profile, folder, args.top)
            return 0
        specs = write_specs(folder, args.counts)
        print(f"python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} cpus; "
              f"best of {args.rounds} shuffled interleaved rounds in-process, of {args.cli_rounds} through the CLI")
        in_process = time_in_process(specs, args.rounds, args.seed)
        cli = time_cli(specs, folder, args.cli_rounds, args.seed)
        sizes = {label: os.path.getsize(path) for label, path in specs.items()}
    print(table(sizes, in_process, cli))
    if {"100 structs", "1000 structs"} <= set(in_process):
        print()
        sysmsg_structs = len(pipeline.build(SYSMSG)[0].structs)
        print("\n".join(goals(in_process, cli, sysmsg_structs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
