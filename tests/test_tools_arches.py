"""`layoutgen layout` against real pahole on arches whose rules differ from amd64's: a
32-bit one (i386, armhf: 4-byte `long` and pointers, u64 aligned to 4 on i386) and the
big-endian s390x (bit positions count from each byte's most significant bit there). The
struct without bitfields must equal pahole's text; for bitfields, whose hole notes the
report leaves out, each bitfield's line must be pahole's. The spec is the one the Python
byte tests use."""
from __future__ import annotations

import subprocess

import pytest

from codegen import pipeline
from codegen.check.toolchain import c_compiler
from codegen.tools import layout_report
from conftest import run_cli
from test_python_arch_bytes import SPEC
from test_tools_layout import pahole_text

ARCHS = ("i386", "armhf", "s390x")
ALL_SPEC = SPEC.replace("archs: [amd64, i386, s390x]", f"archs: [amd64, {', '.join(ARCHS[:2])}, s390x]")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(spec, layouts, {arch: object with one global of each struct, compiled with -g})."""
    folder = tmp_path_factory.mktemp("archreport")
    spec_path = folder / "archbytes.yaml"
    spec_path.write_text(ALL_SPEC)
    result = run_cli("generate", "--spec", str(spec_path), "--out", str(folder / "out"))
    assert result.returncode == 0, result.stderr
    (folder / "probe.c").write_text('#include "archbytes.h"\nstruct mixed m;\nstruct tight t;\nstruct words w;\n')
    objects = {}
    for arch in ARCHS:
        objects[arch] = str(folder / f"probe_{arch}.o")
        compiled = subprocess.run([c_compiler(arch), "-g", "-O0", "-std=gnu11", "-c", "-I", str(folder / "out" / "c"),
                                   str(folder / "probe.c"), "-o", objects[arch]], capture_output=True, text=True)
        assert compiled.returncode == 0, compiled.stderr
    spec, layouts = pipeline.build(str(spec_path))
    return spec_path, spec, layouts, objects


def _ours(built, arch: str, name: str) -> str:
    _, spec, layouts, _ = built
    return "\n".join(layout_report.struct_lines(spec, layouts[arch], name)) + "\n"


@pytest.mark.parametrize("arch", ARCHS)
def test_long_and_pointers_as_pahole_prints_them(built, arch):
    ours, theirs = _ours(built, arch, "Words"), pahole_text(built[3][arch], built[1], "Words")
    assert ours == theirs, f"ours:\n{ours}\npahole:\n{theirs}"


@pytest.mark.parametrize("arch", ARCHS)
def test_bit_positions_as_pahole_prints_them(built, arch):
    def bit_lines(text: str) -> list:
        return [line for line in text.splitlines() if ":" in line.split("/*")[-1] and not line.strip().startswith("/*")]
    ours, theirs = bit_lines(_ours(built, arch, "Mixed")), bit_lines(pahole_text(built[3][arch], built[1], "Mixed"))
    assert len(ours) == 6 and ours == [line for line in theirs if not line.split(";")[0].endswith(":0")]


def test_the_report_says_how_big_endian_bits_count(built):
    """On s390x the report notes the convention, which pahole's text alone leaves unsaid;
    a little-endian arch's report stays pahole's text."""
    spec_path = str(built[0])
    big = run_cli("layout", "--spec", spec_path, "--arch", "s390x", "--struct", "Mixed")
    little = run_cli("layout", "--spec", spec_path, "--arch", "i386", "--struct", "Mixed")
    assert big.returncode == 0 and little.returncode == 0, big.stderr + little.stderr
    assert big.stdout.splitlines()[0].startswith("/* big-endian: ") and "most significant bit" in big.stdout
    assert little.stdout.startswith("struct mixed {")


FLAGS = """\
layoutgen: 1
name: moved
archs: [amd64, s390x]
structs:
  Flags:
    fields:
      - {name: a, type: u8, bits: 3}
      - {name: b, type: u8, bits: 4}
"""


def test_abi_diff_and_docs_say_how_big_endian_bits_count(tmp_path):
    """Bit places are in address order on both arches; on s390x the text says each byte's
    bits count from its top, where C allocates them first."""
    (tmp_path / "old.yaml").write_text(FLAGS)
    (tmp_path / "new.yaml").write_text(FLAGS.replace("bits: 3}", "bits: 2}"))
    result = run_cli("abi-diff", str(tmp_path / "old.yaml"), str(tmp_path / "new.yaml"))
    lines = result.stdout.splitlines()
    assert "  BREAKING    bitfield-moved        Flags.b: bits 3..6 -> 2..5" == lines[lines.index("amd64:") + 2]
    assert lines[lines.index("s390x:") + 2].endswith("Flags.b: bits 3..6 (MSB-first bytes) -> 2..5 (MSB-first bytes)")
    generated = run_cli("generate", "--spec", str(tmp_path / "old.yaml"), "--out", str(tmp_path / "out"))
    assert generated.returncode == 0, generated.stderr
    docs = (tmp_path / "out" / "docs" / "moved.md").read_text()
    assert docs.count("(byte:bit, bit 0 the byte's most significant)") == 2 and docs.count("(byte:bit).") == 2
