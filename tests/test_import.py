"""`layoutgen import` (issue 18): specs read from real headers with both compilers, proven by
round trip. For every examples/linux spec, its types are imported from the system headers on
amd64 and arm64 (one read of the header per arch serves both imports below), then (a) the
imported spec's C asserts and DWARF check pass against those headers, (b) the header
generated from the spec imported with --own has the original's DWARF member by member, bit by
bit, on both arches, (c) importing that generated header gives back the same spec, and abi-diff
against the hand-written corpus spec says "no layout changes" (names, docs and enum typing are
not layout), except for the byte order glibc cannot state, listed below."""
from __future__ import annotations

import glob
import json
import os

import pytest
import yaml

from codegen import cli, pipeline
from codegen.check import dwarf
from codegen.importer.command import import_header, import_spec, read_header
from codegen.importer.model import ImportFailure
from codegen.targets import c as c_target
from codegen.targets.common import Context
from codegen.tools import abidiff
from codegen.primitives import ARCHS as ARCH_TABLE
from conftest import ARCHS, ROOT, compile_c, run_cli

CORPUS = tuple(sorted(os.path.basename(p)[:-5] for p in glob.glob(os.path.join(ROOT, "examples", "linux", "*.yaml"))))
# The layout changes an import from glibc's headers cannot avoid, per arch: network byte order
# that glibc declares as a plain uint32_t/uint16_t (in_port_t and in_addr_t are read as big-endian,
# as POSIX defines them), which the corpus spec states and no C type can.
GLIBC_BYTE_ORDER = {"socket": {("field-retyped", "SockaddrIn6.sin6_flowinfo"),
                               ("field-retyped", "In6AddrWords.addr16"), ("field-retyped", "In6AddrWords.addr32")}}


def arguments(*argv):
    return cli._parser().parse_args(["import", *argv])


def run_import(*argv) -> tuple:
    """(spec text, problems) through the real argument parser, in process."""
    return import_header(arguments(*argv))


def corpus_types(spec_id: str) -> tuple:
    """(includes, [(c_type, spec name)], arches) of a corpus spec's external structs and unions,
    and the arches it declares (the import reads the header on each of them)."""
    with open(os.path.join(ROOT, "examples", "linux", f"{spec_id}.yaml")) as handle:
        spec = yaml.safe_load(handle)
    includes, types = [], []
    for section in ("structs", "unions"):
        for name, node in (spec.get(section) or {}).items():
            external = node["external"]
            if external["include"] not in includes:
                includes.append(external["include"])
            types.append((external["c_type"], name))
    return includes, types, spec["archs"]


def type_arguments(types) -> list:
    """--type for each named type (an unnamed member's type comes with its parent), --name for all."""
    argv = ["--type", *(c for c, _ in types if not c.startswith("__typeof__"))]
    for c_type, name in types:
        argv += ["--name", f"{c_type}={name}"]
    return argv


def generate_c(spec_text: str, folder) -> tuple:
    """(output folder, Spec, layouts): the spec's C outputs only, which is all these tests compile."""
    spec_path = folder / "spec.yaml"
    spec_path.write_text(spec_text)
    spec, layouts = pipeline.build(str(spec_path))
    out = folder / "out"
    for relative, text in c_target.render(Context(spec=spec, layouts=layouts, spec_label="spec.yaml")).items():
        (out / relative).parent.mkdir(parents=True, exist_ok=True)
        (out / relative).write_text(text)
    return str(out), spec, layouts


def shapes(found, arch: str) -> dict:
    """{key: DWARF Shape} of every struct and union an import read on one arch."""
    return {key: decl.shape for key, decl in found.decls[arch].items() if getattr(decl, "shape", None) is not None}


def abi_diff(old: str, new: str) -> tuple:
    """(abi-diff's verdict line, its changes as JSON has them), in process."""
    (old_label, *old_built), (new_label, *new_built) = abidiff.load_version(old), abidiff.load_version(new)
    changes = abidiff.compare(old_built, new_built)
    verdict = abidiff.render_text(old_label, new_label, changes).splitlines()[-1]
    return verdict, json.loads(abidiff.render_json(old_label, new_label, changes))["changes"]


@pytest.mark.parametrize("spec_id", CORPUS)
def test_corpus_types_round_trip(spec_id, tmp_path, monkeypatch):
    includes, types, archs = corpus_types(spec_id)
    wrapper = tmp_path / f"corpus_{spec_id}.h"
    wrapper.write_text("".join(f"#include <{path}>\n" for path in includes))
    arch_arguments = [argument for arch in archs for argument in ("--arch", arch)]
    common = [str(wrapper), "--include-dir", str(tmp_path), "--spec-name", f"imported_{spec_id}",
              *arch_arguments, *type_arguments(types)]
    original = read_header(arguments(*common))
    text, problems, _ = import_spec(arguments(*common), original)
    assert problems == []
    (tmp_path / "imported.yaml").write_text(text)

    # abi-diff against the hand-written spec: no layout change but the byte order glibc cannot say.
    verdict, changes = abi_diff(os.path.join(ROOT, "examples", "linux", f"{spec_id}.yaml"), str(tmp_path / "imported.yaml"))
    assert changes, "the diff must have compared the imported types"  # docs, at least
    expected = GLIBC_BYTE_ORDER.get(spec_id, set())
    for arch in archs:
        assert {(c["kind"], c["subject"]) for c in changes if c["layout"] and c["arch"] == arch} == expected
    assert all(" (big-endian) -> " in c["detail"] for c in changes if c["layout"])
    assert verdict == (f"{len(expected) * len(archs)} breaking and 0 compatible change(s): BREAKING" if expected
                       else "no layout changes")

    # (a) the imported spec passes the C asserts and the DWARF check against the header.
    monkeypatch.setenv("CPATH", str(tmp_path))
    (tmp_path / "a").mkdir()
    out, spec, layouts = generate_c(text, tmp_path / "a")
    for arch in archs:
        result = compile_c(arch, os.path.join(out, "c", f"{spec.name}_layout_test.c"), "-c", "-o",
                           str(tmp_path / f"asserts_{arch}.o"), include=str(tmp_path))
        assert result.returncode == 0, result.stderr
        found, counts = dwarf.check_arch(spec, layouts[arch], out)
        assert not found, "\n".join(found)
        assert counts.structs == len(dwarf.named_structs(spec, layouts[arch]))

    # (b) with --own (from the same read), the generated header lays every type out as the
    # original, bit by bit, and (c) importing that header gives back the same spec.
    own_text, problems, _ = import_spec(arguments(*common, "--own"), original)
    assert problems == []
    (tmp_path / "b").mkdir()
    own_out, _, _ = generate_c(own_text, tmp_path / "b")
    generated_header = os.path.join(own_out, "c", f"imported_{spec_id}.h")
    again, problems, rebuilt = import_spec(arguments(
        generated_header, "--spec-name", f"imported_{spec_id}", "--own", *arch_arguments, *type_arguments(types)))
    for arch in archs:
        before, after = shapes(original, arch), shapes(rebuilt, arch)
        assert before and set(before) == set(after)
        for key, shape in before.items():
            assert dwarf.compare(f"{key} ({arch})", key, shape, after[key]) is None
    assert problems == []
    assert again == own_text


def test_imported_spec_is_deterministic_and_safe_yaml():
    first, _ = run_import("sys/epoll.h", "--type", "struct epoll_event")
    second, _ = run_import("sys/epoll.h", "--type", "struct epoll_event")
    assert first == second
    spec = yaml.safe_load(first)
    assert spec["structs"]["EpollEvent"]["packed"] == ["amd64"]  # glibc's x86_64-only packing, read from the layout
    assert spec["unions"]["EpollData"]["external"] == {"c_type": "union epoll_data", "include": "sys/epoll.h"}


C_FEATURES = """\
#include <stdint.h>
#define FEAT_LIMIT 7
#define FEAT_WIDE 0xffffffffffffffffULL
#define FEAT_NAME "not a number"
enum feat_color { FEAT_COLOR_RED, FEAT_COLOR_BLUE = 9 };
enum __attribute__((packed)) feat_tiny { FEAT_TINY_X = 3 };
struct feat_inner { uint16_t a; uint8_t b; };
struct feat {
  uint8_t tag;
  unsigned ready : 1;
  unsigned : 3;
  unsigned mode : 4;
  unsigned long : 0;
  unsigned late : 2;
  union { uint32_t word; uint16_t half; };
  struct { uint8_t lo, hi; } pair;
  struct feat_inner grid[2][3];
  enum feat_color color;
  enum feat_tiny tiny;
  struct feat *next;
  void (*callback)(void);
#if defined(__aarch64__)
  uint64_t arm_only;
#endif
  uint32_t zero[0];
  uint64_t aligned __attribute__((aligned(16)));
};
struct __attribute__((packed)) feat_packed { uint8_t a; uint32_t b; };
struct __attribute__((aligned(64))) feat_line { uint32_t x; };
struct feat_tail { uint32_t n; uint8_t data[]; };
struct feat_float { uint32_t n; float f; };
struct feat_rows { struct { uint16_t a, b; } rows[2]; };
"""


@pytest.fixture()
def features(tmp_path):
    path = tmp_path / "feat.h"
    path.write_text(C_FEATURES)
    return path


def test_every_feature_reads_back_and_the_spec_matches_the_header(features, tmp_path, monkeypatch):
    text, problems = run_import(str(features), "--type", "feat", "feat_packed", "feat_line", "feat_tail",
                                "--macro", "FEAT_*", "--spec-name", "feat_spec")  # feat.h would include itself
    assert problems == []
    spec = yaml.safe_load(text)
    fields = spec["structs"]["Feat"]["fields"]
    assert {"type": "u8", "bits": 3} in fields and {"type": "u64", "bits": 0} in fields  # invisible in DWARF
    assert {"union": [{"name": "word", "type": "u32"}, {"name": "half", "type": "u16"}]} in fields
    assert {"name": "pair", "type": "FeatPair"} in fields
    assert spec["structs"]["FeatPair"]["external"]["c_type"] == "__typeof__(((struct feat *)0)->pair)"
    assert {"name": "grid", "type": "FeatInner[2][3]"} in fields
    assert {"name": "next", "type": "ptr(Feat)"} in fields and {"name": "callback", "type": "ptr()"} in fields
    assert {"name": "arm_only", "type": "u64", "arch": ["arm64"]} in fields
    assert {"name": "zero", "type": "u32[0]"} in fields and {"name": "aligned", "type": "u64", "align": 16} in fields
    assert spec["structs"]["FeatPacked"]["packed"] is True and spec["structs"]["FeatLine"]["align"] == 64
    assert {"name": "data", "type": "u8[]"} in spec["structs"]["FeatTail"]["fields"]
    assert spec["enums"]["FeatTiny"]["type"] == "u8"
    assert spec["enums"]["FeatColor"]["values"] == [{"name": "RED", "value": 0}, {"name": "BLUE", "value": 9}]
    assert spec["constants"] == {"FEAT_LIMIT": 7, "FEAT_WIDE": "0xffffffffffffffff"}
    assert "# macro FEAT_NAME on amd64 is not an integer constant; left out" in text
    (tmp_path / "gen").mkdir()
    out, built, layouts = generate_c(text, tmp_path / "gen")
    monkeypatch.setenv("CPATH", str(tmp_path))  # the generated header includes feat.h
    for arch in ARCHS:
        found, counts = dwarf.check_arch(built, layouts[arch], out)
        assert not found, "\n".join(found)
        assert counts.structs == len(dwarf.named_structs(built, layouts[arch]))


def test_what_the_spec_cannot_express_is_a_comment_and_exit_2(features, tmp_path):
    result = run_cli("import", str(features), "--type", "feat_float")
    assert result.returncode == 2
    assert "# FeatFloat.f on amd64, arm64: float has no spec type; written as u32" in result.stdout
    assert result.stderr.strip().splitlines() == [
        "layoutgen import: FeatFloat.f on amd64, arm64: float has no spec type; written as u32"]



def in_process(capsys, *argv) -> tuple:
    """(exit status, stdout, stderr) of `layoutgen ARGV` run by the CLI's own entry point, in
    this process (test_what_the_spec_cannot_express_is_a_comment_and_exit_2 runs the real one)."""
    status = cli.main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_an_array_of_an_unnamed_struct_is_reported(features, capsys):
    status, _, err = in_process(capsys, "import", str(features), "--type", "feat_rows")
    assert status == 2 and "FeatRows.rows on amd64, arm64: an array of an unnamed struct" in err


@pytest.mark.parametrize("argv, message", [
    (["--type", "nope"], "layoutgen import: type nope does not exist on amd64, arm64"),
    (["--type", "feat", "--name", "feat=lower"], "layoutgen import: --name 'feat=lower': write C=SpecName"),
    (["--type", "feat_inner", "--name", "struct feat_inner=Bad\nName"], "layoutgen import: --name "),
])
def test_bad_input_is_one_line_and_exit_2(features, argv, message, capsys):
    status, out, err = in_process(capsys, "import", str(features), *argv)
    assert status == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith(message)


def test_a_header_that_does_not_compile_on_one_arch_names_it(tmp_path):
    header = tmp_path / "only_x86.h"
    header.write_text("#ifndef __x86_64__\n#error amd64 only\n#endif\nstruct s { int a; };\n")
    with pytest.raises(ImportFailure, match=r"does not compile on arm64 \(aarch64-linux-gnu-gcc\): .*amd64 only"):
        run_import(str(header), "--type", "s")


ANONYMOUS_PACKING = """\
#include <stdint.h>
struct anon_pack {
  uint8_t a;
  union { uint32_t x; uint16_t y; } __attribute__((packed));
  uint8_t b;
  struct { uint8_t c; uint32_t d; } __attribute__((aligned(16)));
#if defined(__aarch64__)
  struct { uint8_t p; uint16_t q; } __attribute__((packed));
#else
  struct { uint8_t p; uint16_t q; };
#endif
};
struct __attribute__((packed)) bits_pack { uint8_t x : 3; uint32_t : 0; uint8_t y; };
"""


def test_packing_is_read_where_the_header_states_it(tmp_path):
    """`packed` on an anonymous member is read on that member, not its parent (C refuses a packed
    parent around an aligned member), per arch; a `:0` before a byte member is read as one
    rather than as padding bits (on arm64 it also aligns the struct, so only it is right)."""
    header = tmp_path / "anon_pack.h"
    header.write_text(ANONYMOUS_PACKING)
    text, problems = run_import(str(header), "--type", "anon_pack", "bits_pack", "--spec-name", "anon")
    assert problems == []
    spec = yaml.safe_load(text)
    anon = spec["structs"]["AnonPack"]
    assert "packed" not in anon
    union, aligned, per_arch = (item for item in anon["fields"] if "name" not in item)
    assert union["packed"] is True and "packed" not in aligned and aligned["align"] == 16
    assert per_arch["packed"] == ["arm64"]
    assert spec["structs"]["BitsPack"]["fields"] == [  # packing changes nothing more here: none is needed
        {"name": "x", "type": "u8", "bits": 3}, {"type": "u32", "bits": 0}, {"name": "y", "type": "u8"}]


SMALL_HEADER = """\
#include <stdint.h>
#define SMALL_MAX 42
#define SMALL_NEG (-3)
struct small {
  uint8_t tag;
  uint64_t when;
  long count;
  void *data;
  unsigned a : 3, b : 5;
  uint16_t c : 4;
};
"""


def test_a_32_bit_and_a_big_endian_arch_read_back(tmp_path, monkeypatch):
    """i386 (u64 4-aligned in a struct, 4-byte long and pointer) and s390x (big-endian: its
    macros' bytes and its bitfields, allocated from each byte's top bit): the imported spec
    passes the C asserts and the DWARF check on both."""
    header = tmp_path / "small.h"
    header.write_text(SMALL_HEADER)
    text, problems = run_import(str(header), "--arch", "i386", "--arch", "s390x", "--type", "small",
                                "--macro", "SMALL_*", "--spec-name", "small_spec")
    assert problems == []
    spec = yaml.safe_load(text)
    assert spec["archs"] == ["i386", "s390x"] and spec["constants"] == {"SMALL_MAX": 42, "SMALL_NEG": -3}
    by_arch = {arch: variant["fields"] for variant in spec["structs"]["Small"]["variants"] for arch in variant["arch"]}
    assert {"name": "count", "type": "i32"} in by_arch["i386"] and {"name": "count", "type": "i64"} in by_arch["s390x"]
    (tmp_path / "gen").mkdir()
    out, built, layouts = generate_c(text, tmp_path / "gen")
    assert layouts["i386"].struct("Small").field("when").offset == 4
    monkeypatch.setenv("CPATH", str(tmp_path))  # the generated header includes small.h
    for arch in ("i386", "s390x"):
        result = compile_c(arch, os.path.join(out, "c", "small_spec_layout_test.c"), "-c", "-o",
                           str(tmp_path / f"asserts_{arch}.o"))
        assert result.returncode == 0, result.stderr
        found, counts = dwarf.check_arch(built, layouts[arch], out)
        assert not found, "\n".join(found)
        assert counts == dwarf.Counts(1, 7)


ALIGNED_UNNAMED = """\
#include <stdint.h>
struct al_inner { uint8_t c; struct { uint8_t d; } __attribute__((aligned(16))) named; uint8_t e; };
typedef struct { uint32_t x; } __attribute__((aligned(32))) al_typedef;
struct al_outer { uint8_t a; al_typedef t; };
"""


def test_alignment_attributes_are_read_where_the_dwarf_omits_them(tmp_path, monkeypatch):
    """riscv64's and mips64el's gcc record no alignment for an unnamed struct declared
    `aligned(N)`: the compiler is asked, and the arches merge with amd64's reading."""
    from codegen.importer import align
    assert [a for a in ARCH_TABLE if not align.records_alignment(a)] == ["riscv64", "mips64el"]
    header = tmp_path / "al.h"
    header.write_text(ALIGNED_UNNAMED)
    text, problems = run_import(str(header), "--arch", "amd64", "--arch", "riscv64", "--arch", "mips64el",
                                "--type", "al_inner", "al_outer", "--spec-name", "al_spec")
    assert problems == []
    spec = yaml.safe_load(text)
    inner = spec["structs"]["AlInner"]
    assert inner["align"] == 16 and {"name": "named", "type": "AlInnerNamed", "align": 16} in inner["fields"]
    assert spec["structs"]["AlInnerNamed"]["align"] == 16 and spec["structs"]["AlTypedef"]["align"] == 32
    (tmp_path / "gen").mkdir()
    out, built, layouts = generate_c(text, tmp_path / "gen")
    monkeypatch.setenv("CPATH", str(tmp_path))
    for arch in ("amd64", "riscv64", "mips64el"):
        found, counts = dwarf.check_arch(built, layouts[arch], out)
        assert not found, "\n".join(found)
        assert counts.structs == 4
