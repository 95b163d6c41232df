"""`layoutgen layout` against real pahole.

pahole v1.24 (Debian bookworm's `dwarves`; `scripts/bootstrap-toolchains.sh` installs it)
reads the DWARF of an object compiled with -g from the generated header, for every struct
of the spec, on amd64 (gcc) and arm64 (aarch64-linux-gnu-gcc; pahole reads foreign-arch
DWARF). The report must equal pahole's text byte for byte for every struct the header
declares itself. pahole's layout of a text line depends on its version, so the test
checks the version first and fails, rather than guessing, on another one.

Differences ignored, only for the system types the header does not declare
(PtraceRegs = glibc's `struct user_regs_struct`, SignalInfo = glibc's `siginfo_t`):
  1. The type column of member lines. glibc spells the registers `unsigned long long int`
     (pahole prints `long long unsigned int`) and siginfo's header fields `int`; the
     report prints the spec's C spelling (`uint64_t`, `int32_t`).
  2. siginfo_t's `int __pad0`: the spec records it as 4 bytes of named padding, which
     the report prints as `uint8_t __pad0[4]`.
  3. siginfo_t's `_sifields`: glibc declares a union of per-signal structs and pahole
     expands it inline (nested members, their own holes); the spec describes it as
     `u8[112]`. The expanded lines are skipped.
For those member lines the name, offset and size are still compared; every other line
(the opening, cache-line and hole comments, the summary, the closing) is compared as is.
"""
import os
import re
import shutil
import subprocess

import pytest

from codegen import pipeline
from codegen.tools import layout_report
from codegen.tools.common import c_struct_type
from conftest import ARCHS, GENERATED, ROOT, SPEC, compiler, declared_archs, run_cli

PAHOLE_VERSION = "v1.24"
CASES = ("packed_aligned", "nested_arrays", "per_arch", "enum_widths", "regions_and_exprs", "unions",
         "flexible_arrays", "byte_order", "reserved_space", "anonymous", "int128", "zero_length",
         "anonymous_packed")
MEMBER = re.compile(r"^\t(?P<decl>.+;)\s*/\*\s*(?P<offset>\d+)\s+(?P<size>\d+) \*/$")
NAME = re.compile(r"(\w+)(\[\d+\])*( __attribute__\(\(.*\)\))?;$")


def pahole() -> str:
    path = shutil.which("pahole")
    assert path, "pahole is missing: run `make toolchains` (Debian package dwarves)"
    version = subprocess.run([path, "--version"], capture_output=True, text=True).stdout.strip()
    assert version == PAHOLE_VERSION, f"the report follows pahole {PAHOLE_VERSION}'s format; found {version}"
    return path


def compile_probe(spec, arch, include, folder, *defines) -> str:
    """An object with one global of every struct, so the compiler describes each in its DWARF;
    `defines` (`-DPAGEX_PAGE_SIZE=65536`) select a parameter combination of the header."""
    source, obj = os.path.join(folder, f"probe_{arch}.c"), os.path.join(folder, f"probe_{arch}.o")
    lines = [f'#include "{spec.name}.h"'] + [f"{c_struct_type(spec, s.names.canonical)} probe_{s.names.canonical};"
                                            for s in spec.structs if applies(s, arch) and not s.anonymous]
    with open(source, "w") as handle:
        handle.write("\n".join(lines) + "\n")
    result = subprocess.run([compiler(arch), "-g", "-O0", "-std=gnu11", *defines, "-c", "-I", include, source,
                             "-o", obj],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return obj


def applies(struct, arch) -> bool:
    return struct.archs is None or arch in struct.archs


def pahole_text(obj: str, spec, name: str) -> str:
    ctype = c_struct_type(spec, name)
    cls = ctype.split(" ", 1)[1] if ctype.startswith(("struct ", "union ")) else ctype
    result = subprocess.run([pahole(), "--cacheline_size=64", "-C", cls, obj], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout, f"pahole found no {cls} in {obj}: {result.stderr}"
    return result.stdout


def system_type_view(text: str) -> list:
    """The listing with differences 1-3 above taken out: member lines become (name, offset, size)
    and an expanded nested aggregate collapses into its closing member line."""
    view, nested = [], False
    for line in text.splitlines():
        if nested:
            if not line.startswith("\t}"):
                continue
            nested = False
        elif line.startswith("\t") and line.rstrip().endswith("{"):
            nested = True
            continue
        member = MEMBER.match(line)
        if member:
            name = NAME.search(member.group("decl")).group(1)
            line = f"\tmember {name} at {member.group('offset')} size {member.group('size')}"
        view.append(line)
    return view


def without_writer_notes(text: str) -> str:
    """The report without the lines pahole does not print: who writes each cache line (only
    for structs whose fields name their writers) and the warnings on lines that mix them."""
    return "".join(line for line in text.splitlines(keepends=True)
                   if not re.match(r"\t/\* (cachelines? [\d-]+: written by|WARNING: cacheline \d+ mixes)", line))


def compare_spec(spec_path, include, arch, folder) -> int:
    """Compare every struct of a spec on one arch, writer notes aside; returns how many were compared."""
    spec, layouts = pipeline.build(spec_path)
    layout = layouts[arch]
    obj = compile_probe(spec, arch, include, folder)
    compared = 0
    for name in [n for n in layout.structs if not spec.struct(n).anonymous]:  # those print inline
        ours = without_writer_notes("\n".join(layout_report.struct_lines(spec, layout, name)) + "\n")
        theirs = pahole_text(obj, spec, name)
        if spec.struct(name).external:
            assert system_type_view(ours) == system_type_view(theirs), f"{name} on {arch}:\n{ours}\n{theirs}"
        else:
            assert ours == theirs, f"{name} on {arch} differs from pahole:\nours:\n{ours}\npahole:\n{theirs}"
        compared += 1
    return compared


@pytest.mark.parametrize("arch", ARCHS)
def test_report_equals_pahole_for_every_sysmsg_struct(arch, tmp_path):
    spec, layouts = pipeline.build(SPEC)
    compared = compare_spec(SPEC, os.path.join(GENERATED, "c"), arch, str(tmp_path))
    # Every struct, ContextQueue (aligned to its cache line) among them.
    assert compared == len(layouts[arch].structs) == 6 and "ContextQueue" in layouts[arch].structs


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("case", CASES)
def test_report_equals_pahole_for_the_test_case_specs(case, arch, tmp_path):
    """Packed and over-aligned structs, nested arrays, per-arch members, unions, flexible
    arrays, reserved space: all exact."""
    spec_path = os.path.join(ROOT, "tests", "cases", case, "spec.yaml")
    out = tmp_path / "out"
    result = run_cli("generate", "--spec", spec_path, "--out", str(out))
    assert result.returncode == 0, result.stderr
    spec, _ = pipeline.build(spec_path)
    assert not any(s.external for s in spec.structs), "the case specs have no system types: all lines exact"
    assert compare_spec(spec_path, str(out / "c"), arch, str(tmp_path)) > 0


def test_ignored_differences_are_the_documented_ones(tmp_path):
    """The normalisation of system types hides only what the module doc lists: without it
    they differ, and the lines it rewrites are exactly the member lines."""
    spec, layouts = pipeline.build(SPEC)
    obj = compile_probe(spec, "amd64", os.path.join(GENERATED, "c"), str(tmp_path))
    for name in ("PtraceRegs", "SignalInfo"):
        ours = "\n".join(layout_report.struct_lines(spec, layouts["amd64"], name)) + "\n"
        theirs = pahole_text(obj, spec, name)
        assert ours != theirs
        kept = [line for line in ours.splitlines() if not MEMBER.match(line)]
        assert kept == [line for line in system_type_view(ours) if not line.startswith("\tmember ")]
    siginfo = pahole_text(obj, spec, "SignalInfo")
    assert "long long unsigned int" in pahole_text(obj, spec, "PtraceRegs")
    assert "\tint                        __pad0;" in siginfo and "} _sifields;" in siginfo


def test_cli_report_for_one_struct_and_arch_is_pahole_text(tmp_path):
    spec, _ = pipeline.build(SPEC)
    obj = compile_probe(spec, "arm64", os.path.join(GENERATED, "c"), str(tmp_path))
    result = run_cli("layout", "--arch", "arm64", "--struct", "sysmsg")
    assert result.returncode == 0, result.stderr
    assert result.stdout == pahole_text(obj, spec, "Msg")
    assert "/* XXX 4 bytes hole, try to pack */" in result.stdout
    assert "/* --- cacheline 1 boundary (64 bytes) --- */" in result.stdout
    assert "/* size: 88, cachelines: 2, members: 13 */" in result.stdout
    assert "/* sum members: 80, holes: 1, sum holes: 4 */" in result.stdout
    assert "/* padding: 4 */" in result.stdout and "/* last cacheline: 24 bytes */" in result.stdout


def test_cli_report_covers_every_arch_and_struct_by_default():
    result = run_cli("layout")
    assert result.returncode == 0, result.stderr
    for arch in ARCHS:
        assert f"/* ===== sysmsg on {arch} ===== */" in result.stdout
    for opening in ("struct sysmsg {", "struct thread_context {", "struct arch_state {",
                    "struct user_regs_struct {", "typedef struct {"):
        assert result.stdout.count(opening) == 2, opening


@pytest.mark.parametrize("args, message", [
    (("--struct", "nope"), "unknown struct 'nope'"),
    (("--arch", "sparc"), "unknown arch 'sparc'"),
    (("--cacheline", "0"), "--cacheline must be positive"),
])
def test_cli_bad_input_is_one_line_and_exit_2(args, message):
    result = run_cli("layout", *args)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and message in result.stderr


# ---- spec parameters ---------------------------------------------------------------------


PAGEX = os.path.join(ROOT, "tests", "cases", "page_size_axis", "spec.yaml")


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("size, msg_size", [(4096, 72), (16384, 72), (65536, 48)])
def test_param_report_equals_pahole_on_the_header_compiled_with_that_value(arch, size, msg_size, tmp_path):
    """`--param page_size=65536` is the layout gcc gives with -DPAGEX_PAGE_SIZE=65536: 8 + 8*5
    bytes; one block chosen in full is pahole's text exactly, with nothing on top."""
    out = tmp_path / "out"
    assert run_cli("generate", "--spec", PAGEX, "--out", str(out)).returncode == 0
    spec, _ = pipeline.build(PAGEX)
    obj = compile_probe(spec, arch, str(out / "c"), str(tmp_path), f"-DPAGEX_PAGE_SIZE={size}")
    result = run_cli("layout", "--spec", PAGEX, "--arch", arch, "--struct", "Msg", "--param", f"page_size={size}")
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert result.stdout == pahole_text(obj, spec, "Msg")
    assert f"/* size: {msg_size}, cachelines: {-(-msg_size // 64)}, members: 3 */" in result.stdout


def test_without_param_the_default_combination_is_printed_and_named():
    result = run_cli("layout", "--spec", PAGEX, "--arch", "arm64")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "/* ===== pagex on arm64 (page_size = 4096) ===== */"
    assert result.stdout.count("/* =====") == 1 and "/* size: 72," in result.stdout
    assert "default page_size = 4096" in result.stderr and "--all" in result.stderr
    chosen = run_cli("layout", "--spec", PAGEX, "--arch", "arm64", "--param", "page_size=4096")
    assert chosen.stdout == "\n".join(result.stdout.splitlines()[1:]) + "\n"


def test_all_prints_every_combination_headed_by_its_key():
    result = run_cli("layout", "--spec", PAGEX, "--all", "--struct", "Msg")
    assert result.returncode == 0 and result.stderr == "", result.stderr
    heads = [line for line in result.stdout.splitlines() if line.startswith("/* =====")]
    archs = declared_archs(PAGEX)
    assert heads == [f"/* ===== pagex on {arch}{key} (page_size = {size}) ===== */" for arch in archs
                     for key, size in (("", 4096), ("_16k", 16384), ("_64k", 65536))]
    # Msg's size follows the page size alone: 8 pages of u64 below 64K, 5 at 64K, on every arch.
    assert [line for line in result.stdout.splitlines() if "/* size:" in line] == \
        (["\t/* size: 72, cachelines: 2, members: 3 */"] * 2 + ["\t/* size: 48, cachelines: 1, members: 3 */"]) \
        * len(archs)
    # --param fixes a parameter for --all too; the label of a value works as well as the number
    fixed = run_cli("layout", "--spec", PAGEX, "--all", "--struct", "Msg", "--param", "page_size=64k")
    assert [line for line in fixed.stdout.splitlines() if line.startswith("/* =====")] == \
        [f"/* ===== pagex on {arch}_64k (page_size = 65536) ===== */" for arch in archs]


def test_all_and_param_change_nothing_for_a_spec_without_parameters():
    plain = run_cli("layout")
    assert run_cli("layout", "--all").stdout == plain.stdout and plain.stderr == ""


@pytest.mark.parametrize("spec, args, message", [
    (PAGEX, ("--param", "page_size=1234"), "page_size=1234 is not a declared value (page_size: 4096, 16384, 65536)"),
    (PAGEX, ("--param", "cache=64"), "unknown parameter 'cache' (the spec's parameters: page_size)"),
    (PAGEX, ("--param", "page_size"), "--param wants NAME=VALUE"),
    (PAGEX, ("--param", "page_size=4096", "--param", "page_size=16k"), "--param page_size given twice"),
    (SPEC, ("--param", "page_size=4096"), "unknown parameter 'page_size' (the spec has no parameters)"),
])
def test_bad_param_is_one_line_and_exit_2(spec, args, message):
    result = run_cli("layout", "--spec", spec, *args)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr


# pahole fills tail padding wider than a pointer with "Force padding" bitfields typed like the
# last member; 16-byte alignment (128-bit integers) is what makes such padding appear.
FORCE_PADDING = """\
layoutgen: 1
name: forcepad
archs: [amd64, arm64]
targets: [c, python]
structs:
  OneWordArray:
    fields:
      - {name: x, type: u128}
      - {name: a, type: "u32[1]"}
  OneByte:
    fields:
      - {name: x, type: u128}
      - {name: b, type: u8}
  ThreeBytes:
    fields:
      - {name: x, type: u128}
      - {name: c, type: "u8[3]"}
  AnonUnion:
    fields:
      - {name: x, type: u128}
      - union:
          - {name: p, type: u32}
          - {name: q, type: u16}
  Pair:
    fields:
      - {name: p, type: u16}
      - {name: q, type: u16}
  Holder:
    fields:
      - {name: x, type: u128}
      - {name: s, type: Pair}
  Aligned:
    align: 16
    fields:
      - {name: w, type: u32}
"""


@pytest.mark.parametrize("arch", ARCHS)
def test_force_padding_lines_equal_pahole(arch, tmp_path):
    spec_path = tmp_path / "forcepad.yaml"
    spec_path.write_text(FORCE_PADDING)
    out = tmp_path / "out"
    result = run_cli("generate", "--spec", str(spec_path), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert compare_spec(str(spec_path), str(out / "c"), arch, str(tmp_path)) == 7
    spec, layouts = pipeline.build(str(spec_path))
    text = "\n".join(layout_report.struct_lines(spec, layouts[arch], "OneByte"))
    assert text.count("uint8_t                    :8;") == 15  # 15 bytes of padding, one per line


def test_the_report_lists_no_hidden_declarations_and_refuses_their_names():
    spec_path = os.path.join(ROOT, "tests", "cases", "anonymous", "spec.yaml")
    result = run_cli("layout", "--spec", spec_path, "--arch", "arm64")
    assert result.returncode == 0, result.stderr
    assert "anon" not in result.stdout.lower()
    assert "\tunion {\n\t\tuint64_t           sample_period;" in result.stdout
    refused = run_cli("layout", "--spec", spec_path, "--struct", "AttrAnon0")
    assert refused.returncode == 2 and "unknown struct 'AttrAnon0'" in refused.stderr
