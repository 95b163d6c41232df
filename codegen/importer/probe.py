"""Compile the header once per arch, with debug info for every type it declares, and with one
constant per requested macro so the macros' values come back as numbers the compiler computed."""
from __future__ import annotations

import fnmatch
import io
import os
import re
import tempfile
from dataclasses import dataclass

from ..check.toolchain import C_COMPILERS, LINK_ALONE, c_compiler, run
from .model import ImportFailure, Macro

# -fno-eliminate-unused-debug-types: gcc describes every type the header declares, used or not,
# so the probe needs no variable per type and a missing type is simply absent. The probe is
# linked (LINK_ALONE says why).
FLAGS = ["-g", "-O0", "-std=gnu11", *LINK_ALONE, "-fno-eliminate-unused-debug-types"]
MACRO_PREFIX = "layoutgen_import_macro_"
_DEFINE = re.compile(r"#define ([A-Za-z_][A-Za-z0-9_]*) ")  # object-like only: a `(` follows a function-like name
_ERROR_LINE = re.compile(r"probe\.c:(\d+):\d+: error")


@dataclass(frozen=True)
class Header:
    """The header to import: how the probe includes it and how a spec's `external.include` names it."""

    directive: str  # the text after `#include `
    include: str  # relative path for `external.include`
    label: str  # as messages name it


def locate(header: str, include_dirs: tuple) -> Header:
    """A file path is included by absolute path; anything else as a system header `<header>`."""
    if os.path.isfile(header):
        absolute = os.path.abspath(header)
        include = os.path.basename(header)
        for folder in include_dirs:
            relative = os.path.relpath(absolute, os.path.abspath(folder))
            if not relative.startswith(".."):
                include = relative
                break
        return Header(f'"{_quoted(absolute)}"', include, header)
    if header.startswith("/") or not re.fullmatch(r"[A-Za-z0-9_./+-]+", header):
        raise ImportFailure(f"{header!r}: no such file, and not a header name such as sys/epoll.h")
    return Header(f"<{header}>", header, header)


def _quoted(path: str) -> str:
    if '"' in path or "\\" in path or not path.isprintable():
        raise ImportFailure(f"{path!r}: a header path the probe cannot quote; rename or copy the file")
    return path


def flags(defines: tuple, include_dirs: tuple) -> list:
    return [*(f"-D{d}" for d in defines), *(item for d in include_dirs for item in ("-I", d))]


def dependencies(header: Header, arch: str, defines: tuple, include_dirs: tuple) -> set:
    """The real paths of every file including the header reads (gcc -M)."""
    text = _compile(arch, f"#include {header.directive}\n", ["-M", *flags(defines, include_dirs)], header)
    return {os.path.realpath(word) for word in text.replace("\\\n", " ").split()[1:] if word != "\\"}


def macro_names(header: Header, arch: str, patterns: tuple, defines: tuple, include_dirs: tuple) -> list:
    """The object-like macros, matching any of `patterns` (`PREFIX_*`), that the header (or
    anything it includes) defines on `arch`, sorted."""
    if not patterns:
        return []
    result = _compile(arch, f"#include {header.directive}\n", ["-E", "-dM", *flags(defines, include_dirs)], header)
    names = {m.group(1) for m in _DEFINE.finditer(result)}
    return sorted(n for n in names if any(fnmatch.fnmatchcase(n, p) for p in patterns))


def compile_probe(header: Header, arch: str, macros: list, defines: tuple, include_dirs: tuple) -> tuple:
    """(object bytes, {macro: value}, [macros that are not integer constants])."""
    extra = flags(defines, include_dirs)
    skipped = []
    for _ in range(2):  # a macro that is not an integer constant is dropped and the probe compiled again
        source, lines = _probe_source(header, macros)
        data, stderr = compile_object(arch, source, extra)
        if data is not None:
            return data, _macro_values(data, macros), skipped
        bad = {lines[int(n)] for n in _ERROR_LINE.findall(stderr) if int(n) in lines}
        if not bad:
            break
        skipped += sorted(bad)
        macros = [m for m in macros if m not in bad]
    raise ImportFailure(f"{header.label} does not compile on {arch} ({C_COMPILERS[arch]}): {_first_error(stderr)}")


def alignments(header: Header, arch: str, keys: list, defines: tuple, include_dirs: tuple) -> dict:
    """{key: _Alignof(key)}: DWARF has no alignment for a packed type, so the compiler says it."""
    return dict(zip(keys, values(header, arch, [f"_Alignof({key})" for key in keys], defines, include_dirs)))


def values(header: Header, arch: str, expressions: list, defines: tuple, include_dirs: tuple) -> list:
    """What the compiler computes for each integer constant expression, with the header included."""
    if not expressions:
        return []
    lines = [f"#include {header.directive}"]
    lines += [f"const unsigned long long {MACRO_PREFIX}a_{index} = {text};" for index, text in enumerate(expressions)]
    data, stderr = compile_object(arch, "\n".join(lines) + "\n", flags(defines, include_dirs))
    if data is None:
        raise ImportFailure(f"{header.label}: the alignment probe does not compile on {arch} "
                            f"({C_COMPILERS[arch]}): {_first_error(stderr)}")
    names = [f"{MACRO_PREFIX}a_{index}" for index in range(len(expressions))]
    found = _symbol_values(data, names)
    return [found[name] for name in names]


def _probe_source(header: Header, macros: list) -> tuple:
    """The probe and {line number: macro} for the lines that evaluate each macro."""
    text, lines = [f"#include {header.directive}"], {}
    for name in macros:
        lines[len(text) + 1] = name
        text.append(f"const unsigned long long {MACRO_PREFIX}u_{name} = (unsigned long long)({name}); "
                    f"const _Bool {MACRO_PREFIX}n_{name} = ({name}) < 0; "
                    f"_Static_assert(({name}) * 0 + 1, \"an integer constant\");")  # refuses strings and floats
    return "\n".join(text) + "\n", lines


def compile_object(arch: str, source: str, extra: list) -> tuple:
    with tempfile.TemporaryDirectory() as scratch:
        path, target = os.path.join(scratch, "probe.c"), os.path.join(scratch, "probe.so")
        with open(path, "w") as handle:
            handle.write(source)
        result = run([c_compiler(arch), *FLAGS, *extra, "-w", path, "-o", target], cwd=scratch)
        if result.returncode != 0:
            return None, result.stderr
        with open(target, "rb") as handle:
            return handle.read(), ""


def _compile(arch: str, source: str, extra: list, header: Header) -> str:
    """The compiler's stdout for a run that produces no object (-E, -M)."""
    with tempfile.TemporaryDirectory() as scratch:
        path = os.path.join(scratch, "probe.c")
        with open(path, "w") as handle:
            handle.write(source)
        result = run([c_compiler(arch), *extra, path], cwd=scratch)
    if result.returncode != 0:
        raise ImportFailure(f"{header.label} does not compile on {arch} ({C_COMPILERS[arch]}): "
                            f"{_first_error(result.stderr)}")
    return result.stdout


def _first_error(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if "error" in line] or stderr.splitlines() or ["(no message)"]
    return " ".join(lines[0].split())


def _macro_values(data: bytes, macros: list) -> dict:
    """{macro: value}, read from the constants' bytes in the object file."""
    if not macros:
        return {}
    raw = _symbol_values(data, [f"{MACRO_PREFIX}{kind}_{name}" for name in macros for kind in "un"])
    return {name: raw[f"{MACRO_PREFIX}u_{name}"] - ((1 << 64) if raw[f"{MACRO_PREFIX}n_{name}"] & 0xff else 0)
            for name in macros}


def _symbol_values(data: bytes, names: list) -> dict:
    """{symbol: the integer in its first 8 bytes (fewer for a smaller object), in the arch's byte order}."""
    from elftools.elf.elffile import ELFFile
    elf = ELFFile(io.BytesIO(data))
    order = "little" if elf.little_endian else "big"
    symbols = {s.name: s for s in elf.get_section_by_name(".symtab").iter_symbols()}
    return {name: int.from_bytes(_symbol_bytes(elf, symbols[name], min(8, symbols[name]["st_size"])), order)
            for name in names}


def _symbol_bytes(elf, symbol, size: int) -> bytes:
    section = elf.get_section(symbol["st_shndx"])
    if section["sh_type"] == "SHT_NOBITS":  # .bss: a constant that is zero
        return b"\0" * size
    start = symbol["st_value"] - section["sh_addr"]  # a linked object's symbols hold addresses
    return section.data()[start:start + size]


def macros_of(values: dict) -> tuple:
    return tuple(Macro(name, value) for name, value in sorted(values.items()))
