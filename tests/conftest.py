"""Shared helpers: run the real CLI, generate into temporary folders, call real compilers."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from codegen import pipeline
from codegen.primitives import ARCHS as ARCH_TABLE

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPEC = os.path.join(ROOT, "spec", "sysmsg.yaml")
GENERATED = os.path.join(ROOT, "generated")
# The example package `sysmsg` is not part of layoutgen's wheel: tests import it from here.
sys.path.insert(0, os.path.join(GENERATED, "python"))
C_COMPILERS = {name: info.gcc for name, info in ARCH_TABLE.items()}
C_FLAGS = ["-std=gnu11", "-Wall", "-Wextra", "-Werror"]


def sysmsg_tree(tmp_path):
    """A copy of spec/ and generated/ with the repository's project file cut to sysmsg, so that
    `layoutgen check` with no arguments checks the copy (banners name that project form)."""
    shutil.copytree(os.path.dirname(SPEC), tmp_path / "spec")
    shutil.copytree(GENERATED, tmp_path / "generated", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "stub").mkdir()
    (tmp_path / "layoutgen.toml").write_text(
        '[[spec]]\npath = "spec/sysmsg.yaml"\nout = "generated"\npython_package = "sysmsg"\n'
        'go_module = "layoutgen.example/generated/sysmsg"\nconsumers = ["stub"]\n')
    return tmp_path


def truncations(size: int, every: int = 4096, tail: int = 256, stride: int = 97) -> list:
    """The lengths to cut a `size`-byte record at: all of them for a record of up to `every`
    bytes; for a larger one (the context queue's 33216 bytes, mostly one array) every length
    below `every`, every length in the last `tail` bytes and one in `stride` in between. Each
    cut costs a parse of up to the whole record, and the parsers treat an array's elements
    alike, so cutting at each of thousands of elements tests nothing more."""
    if size <= every:
        return list(range(size))
    return sorted(set(range(every)) | set(range(size - tail, size)) | set(range(every, size, stride)))


def generate_in_process(spec_path: str, out) -> None:
    """Write what `layoutgen generate --spec spec_path --out out` writes, without a new process
    or the output folder's bookkeeping: for tests that only need the generated files (the CLI
    itself is tested where it matters)."""
    spec, layouts = pipeline.build(str(spec_path))
    for relative, text in pipeline.render(spec, layouts, str(spec_path), str(out)).items():
        path = os.path.join(str(out), relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)


def run_cli(*args, cwd=ROOT):
    """Run `python -m codegen ARGS` in a subprocess, as a user would."""
    return subprocess.run([sys.executable, "-m", "codegen", *args], cwd=cwd, capture_output=True, text=True)


def compiler(arch: str) -> str:
    """The real compiler for an arch; its absence is a test failure, never a skip."""
    path = shutil.which(C_COMPILERS[arch])
    assert path, f"{C_COMPILERS[arch]} is missing: run `make toolchains`"
    return path


def compile_c(arch: str, source: str, *extra, include=None):
    command = [compiler(arch), *C_FLAGS, *extra]
    if include:
        command += ["-I", include]
    return subprocess.run(command + [source], capture_output=True, text=True)


@pytest.fixture
def generate(tmp_path):
    """Generate from a spec (a path or YAML text) into a fresh folder; returns the folder."""
    def run(spec, name="out"):
        if not os.path.exists(str(spec)):
            path = tmp_path / "spec.yaml"
            path.write_text(spec)
            spec = str(path)
        out = tmp_path / name
        result = run_cli("generate", "--spec", str(spec), "--out", str(out))
        assert result.returncode == 0, result.stderr
        return out
    return run


ARCHS = ("amd64", "arm64")


def declared_archs(spec_path) -> tuple:
    """The arches a spec declares, in its order: what a test over a case spec expects to see."""
    return tuple(pipeline.build(str(spec_path))[0].archs)


# A spec over every arch, of what 32-bit and big-endian ABIs lay out differently: an 8-byte
# integer after a byte (4-aligned on i386), `long` and a pointer (4 bytes on 32-bit), fixed
# byte orders, and bitfields of every unit size (allocated from each byte's top bit on s390x).
ALL_ARCHS_SPEC = """\
layoutgen: 1
name: allarch
archs: [amd64, arm64, riscv64, i386, armhf, ppc64le, s390x, mips64el]
structs:
  Inner:
    fields:
      - {name: c, type: u8}
      - {name: x, type: u64}
      - {name: n, type: long}
      - {name: p, type: ptr(Inner)}
      - {name: h, type: u16, endian: big}
      - {name: l, type: ulong, endian: little}
  Bits:
    fields:
      - {name: a, type: u8, bits: 3}
      - {name: b, type: u8, bits: 5}
      - {name: c, type: u16, bits: 4}
      - {name: d, type: u32, bits: 30}
      - {name: e, type: u64, bits: 40}
"""


def generated_all_archs(folder):
    """Write ALL_ARCHS_SPEC into `folder` and generate it into `folder/out`: (spec path, out)."""
    spec_path = folder / "spec.yaml"
    spec_path.write_text(ALL_ARCHS_SPEC)
    result = run_cli("generate", "--spec", str(spec_path), "--out", str(folder / "out"))
    assert result.returncode == 0, result.stderr
    return spec_path, folder / "out"


@pytest.fixture(scope="session", autouse=True)
def _private_check_cache(tmp_path_factory):
    """`layoutgen check` in tests caches into a folder of this session, never the user's."""
    os.environ["LAYOUTGEN_CACHE"] = str(tmp_path_factory.mktemp("layoutgen-cache"))


def importable_package(tmp_path_factory, spec: str, package: str):
    """Generate `spec` into a fresh folder and make its Python package importable for the
    duration of a module's tests (a generator for a module-scoped fixture to delegate to);
    yields the output folder and forgets the package's modules afterwards."""
    out = tmp_path_factory.mktemp(package)
    result = run_cli("generate", "--spec", spec, "--out", str(out))
    assert result.returncode == 0, result.stderr
    sys.path.insert(0, str(out / "python"))
    try:
        yield out
    finally:
        sys.path.remove(str(out / "python"))
        for name in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
            del sys.modules[name]
