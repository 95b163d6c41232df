"""The generated C headers as users consume them: drop-in names, C11, assembly."""
import os
import re
import shutil

import pytest

from codegen import pipeline
from codegen.check import c_asserts, consumers, jobs
from codegen.primitives import ARCHS as ARCH_TABLE
from conftest import ARCHS, GENERATED, compile_c, generated_all_archs

HERE = os.path.join(os.path.dirname(__file__), "c")
INCLUDE = os.path.join(GENERATED, "c")


@pytest.mark.parametrize("arch", ARCHS)
def test_every_reference_name_resolves(arch, tmp_path):
    result = compile_c(arch, os.path.join(HERE, "dropin_probe.c"), "-o", str(tmp_path / "probe"),
                       "-static" if arch == "arm64" else "-no-pie", include=INCLUDE)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("std", [["-std=c11", "-D_GNU_SOURCE", "-pedantic"], ["-std=gnu11"]])
def test_header_compiles_strictly(arch, std, tmp_path):
    probe = tmp_path / "include.c"
    probe.write_text('#include "sysmsg.h"\n#include "sysmsg_offsets.h"\nint x;\n')
    result = compile_c(arch, str(probe), *std, "-fsyntax-only", include=INCLUDE)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("arch", ARCHS)
def test_offsets_header_assembles(arch, tmp_path):
    result = compile_c(arch, os.path.join(HERE, "offsets_probe.S"), "-c", "-o", str(tmp_path / "probe.o"),
                       include=INCLUDE)
    assert result.returncode == 0, result.stderr


def test_offsets_header_is_only_defines():
    with open(os.path.join(INCLUDE, "sysmsg_offsets.h")) as handle:
        lines = [line.strip() for line in handle]
    in_comment = False
    for line in lines:
        if line.startswith("/*"):
            in_comment = not line.endswith("*/")
            continue
        if in_comment:
            in_comment = not line.endswith("*/")
            continue
        if line:
            assert line.startswith(("#define", "#if", "#elif", "#else", "#endif", "#ifndef", "#error")), line
            parts = line.split("/*")[0].split()
            if line.startswith("#define") and len(parts) > 2:
                value = parts[2]
                assert value.lstrip("-").isdigit(), f"an assembler needs a plain number: {line}"


def test_includer_page_size_is_checked(tmp_path):
    probe = tmp_path / "page.c"
    probe.write_text('#define PAGE_SIZE 16384\n#include "sysmsg.h"\n')
    result = compile_c("arm64", str(probe), "-fsyntax-only", include=INCLUDE)
    assert result.returncode != 0
    assert "PAGE_SIZE" in result.stderr


def test_arch_guard_rejects_other_arches(tmp_path):
    probe = tmp_path / "other.c"
    probe.write_text('#undef __x86_64__\n#include "sysmsg_offsets.h"\n')
    result = compile_c("amd64", str(probe), "-fsyntax-only", include=INCLUDE)
    assert result.returncode != 0 and "not in the spec" in result.stderr


@pytest.fixture(scope="module")
def all_archs(tmp_path_factory):
    return generated_all_archs(tmp_path_factory.mktemp("allarch"))


@pytest.mark.parametrize("arch", ARCH_TABLE)
def test_layout_asserts_hold_on_every_arch(all_archs, arch):
    assert c_asserts.compile_layout_test(str(all_archs[1]), "allarch", arch) == []


def test_offsets_header_assembles_with_the_spec_values_on_every_arch(all_archs):
    spec_path, out = all_archs
    spec, _ = pipeline.build(str(spec_path))
    tasks = consumers.probe_tasks(spec, str(out))
    assert len(tasks) == len(ARCH_TABLE)
    assert jobs.problems_of(tasks) == []


def test_int128_is_named_only_where_the_arch_has_it(all_archs):
    # gcc for i386 or armhf rejects `__int128` even in a _Generic branch never taken.
    text = (all_archs[1] / "c" / "allarch_layout_test.c").read_text()
    blocks = re.split(r"^#(?:el)?if ", text, flags=re.M)[1:]
    for arch in ARCH_TABLE.values():
        block = next(b for b in blocks if b.startswith(arch.c_condition + "\n"))
        assert ("__int128" in block) == bool(arch.int_align(16)), arch.name


@pytest.mark.parametrize("arch", [name for name in ARCH_TABLE if name not in ARCHS])
def test_a_narrowed_member_fails_the_asserts_on_new_arches(all_archs, tmp_path, arch):
    # Only this arch's block of the header is edited.
    out = tmp_path / "out"
    shutil.copytree(all_archs[1], out)
    header = out / "c" / "allarch.h"
    text = header.read_text()
    cond = f"#elif {ARCH_TABLE[arch].c_condition}\n"  # amd64's block comes first
    start = text.index(cond)
    at = text.index("  uint64_t x;", start)
    header.write_text(text[:at] + "  uint32_t x;" + text[at + len("  uint64_t x;"):])
    problems = c_asserts.compile_layout_test(str(out), "allarch", arch)
    assert len(problems) == 1 and f"fail on {arch}" in problems[0]
    assert "Inner.x: size: spec says 8" in problems[0] and "Inner.n: offset: spec says" in problems[0]


def test_consumers_compile_on_every_arch(all_archs, tmp_path):
    # A C file for every arch and an assembly file for i386 only (its name says so), both
    # using the offsets each arch's block of the headers defines.
    spec_path, out = all_archs
    folder = tmp_path / "consumers"
    folder.mkdir()
    (folder / "use.c").write_text(
        '#include <stddef.h>\n#include "allarch.h"\n#include "allarch_offsets.h"\n'
        "_Static_assert(offsetof_inner_n == offsetof(struct inner, n), \"n\");\n"
        "long count(const struct inner *in) { return in->n; }\n")
    (folder / "load_i386.S").write_text(
        '#include "allarch_offsets.h"\n.text\n.globl load\nload:\n  movl offsetof_inner_n(%eax), %eax\n  ret\n')
    spec, _ = pipeline.build(str(spec_path))
    tasks = consumers.tasks(spec, str(out), [str(folder)])
    assert len(tasks) == len(ARCH_TABLE) + 1
    assert jobs.problems_of(tasks) == []
