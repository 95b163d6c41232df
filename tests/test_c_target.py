"""The generated C headers as users consume them: drop-in names, C11, assembly."""
import os

import pytest

from conftest import ARCHS, GENERATED, compile_c

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
