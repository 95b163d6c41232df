"""The arch table against the compilers it names: every row's numbers are what its gcc
says, read back from one compiled probe per arch; each row's `c_condition` selects its own
gcc and no other; and the bootstrap script installs every row's cross toolchain."""
from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from codegen.check import toolchain
from codegen.primitives import ARCHS

ROOT = Path(__file__).resolve().parents[1]
BOOTSTRAP = ROOT / "scripts" / "bootstrap-toolchains.sh"
SYMBOL = "layoutgen_arch_facts"
# The in-struct alignment of an integer is its offset after a lone char.
INTEGERS = {1: "signed char", 2: "short", 4: "int", 8: "long long", 16: "__int128"}


def _probe_source() -> str:
    """One array of numbers, in the order `_expected` lists them; each row's condition last."""
    facts = ["sizeof(void *)", "sizeof(long)"]
    facts += [f"__builtin_offsetof(struct {{ char c; {name} x; }}, x)" for size, name in INTEGERS.items() if size < 16]
    lines = [f"unsigned long long {SYMBOL}[] = {{", *(f"  {fact}," for fact in facts),
             "#ifdef __SIZEOF_INT128__",
             f"  1, __builtin_offsetof(struct {{ char c; {INTEGERS[16]} x; }}, x),",
             "#else", "  0, 0,", "#endif",
             "  __BIGGEST_ALIGNMENT__,",
             "  __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,",
             # An unnamed bitfield raises the struct's alignment to its type's only on AAPCS.
             "  _Alignof(struct { char c; int : 4; }),"]
    for row in ARCHS.values():
        lines += [f"#if {row.c_condition}", "  1,", "#else", "  0,", "#endif"]
    return "\n".join(lines + ["};", ""])


def _expected(row) -> dict:
    facts = {"pointer size": row.pointer_size, "sizeof(long)": row.pointer_size}
    facts.update({f"alignment of {size}-byte integers in a struct": row.int_align(size) for size in INTEGERS if size < 16})
    facts.update({"has __int128": int(row.int_align(16) > 0),
                  "alignment of 16-byte integers in a struct": row.int_align(16),
                  "__BIGGEST_ALIGNMENT__": row.max_align, "little-endian": int(row.little_endian),
                  "alignment of struct {char; int : 4;}": 4 if row.unnamed_bitfields_align else 1})
    facts.update({f"{other.name}'s c_condition holds": int(other is row) for other in ARCHS.values()})
    return facts


def _compile_and_read(arch: str, folder: Path) -> tuple:
    """(the probe's numbers, the ELF's byte order, its class): linked alone, so nothing needs relocating."""
    from elftools.elf.elffile import ELFFile
    source, target = folder / "facts.c", folder / "facts.so"
    source.write_text(_probe_source())
    result = toolchain.run([toolchain.c_compiler(arch), "-std=gnu11", *toolchain.LINK_ALONE, str(source),
                            "-o", str(target)])
    assert result.returncode == 0, result.stderr
    elf = ELFFile(io.BytesIO(target.read_bytes()))
    symbol = next(s for s in elf.get_section_by_name(".symtab").iter_symbols() if s.name == SYMBOL)
    section = elf.get_section(symbol["st_shndx"])
    assert section.name == ".data"
    start = symbol["st_value"] - section["sh_addr"]
    raw = section.data()[start:start + symbol["st_size"]]
    order = "little" if elf.little_endian else "big"
    numbers = [int.from_bytes(raw[i:i + 8], order) for i in range(0, len(raw), 8)]
    return numbers, order, elf.elfclass


@pytest.mark.parametrize("arch", ARCHS)
def test_row_is_what_its_gcc_says(arch, tmp_path):
    row = ARCHS[arch]
    numbers, order, elfclass = _compile_and_read(arch, tmp_path)
    expected = _expected(row)
    assert len(numbers) == len(expected)
    assert dict(zip(expected, numbers)) == expected
    assert (order, elfclass) == (row.byte_order, row.bits)


def _bootstrap_table() -> set:
    """(triplet, Debian arch) pairs of the script's CROSS here-document."""
    text = BOOTSTRAP.read_text()
    body = re.search(r"<<'CROSS'\n(.*?)\nCROSS\n", text, re.S)
    assert body, "scripts/bootstrap-toolchains.sh has no CROSS table"
    return {tuple(line.split()) for line in body.group(1).splitlines() if line.strip()}


def test_bootstrap_installs_every_cross_toolchain():
    host = ARCHS[toolchain.HOST_ARCH]
    wanted = {(row.triplet, row.debian) for row in ARCHS.values() if row is not host}
    assert _bootstrap_table() == wanted
    # Each row's gcc is the cross gcc of its triplet, which that package installs.
    assert all(row.gcc == f"{row.triplet}-gcc" for row in ARCHS.values() if row is not host)
