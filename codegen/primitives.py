"""Primitive types and architectures: the table every target builds its spellings from."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PrimInfo:
    name: str
    size: int
    signed: bool
    c: str
    go: str
    construct: str  # a construct class name, little-endian
    struct_code: str  # a Python `struct` format letter; "" for 128-bit, which `struct` lacks
    is_bool: bool = False
    dwarf: str = ""  # the base type name gcc's DWARF gives it, where that is not `c`

    @property
    def debug_name(self) -> str:
        """How debuggers and pahole spell the type."""
        return self.dwarf or self.c

    @property
    def wide(self) -> bool:
        """Wider than any `struct` code, Go integer or int64 expression: the 128-bit types."""
        return self.size > 8

    @property
    def min(self) -> int:
        return -(1 << (self.size * 8 - 1)) if self.signed else 0

    @property
    def max(self) -> int:
        bits = self.size * 8 - (1 if self.signed else 0)
        return (1 << bits) - 1


PRIMITIVES = {
    info.name: info
    for info in (
        PrimInfo("u8", 1, False, "uint8_t", "uint8", "Int8ul", "B"),
        PrimInfo("u16", 2, False, "uint16_t", "uint16", "Int16ul", "H"),
        PrimInfo("u32", 4, False, "uint32_t", "uint32", "Int32ul", "I"),
        PrimInfo("u64", 8, False, "uint64_t", "uint64", "Int64ul", "Q"),
        PrimInfo("i8", 1, True, "int8_t", "int8", "Int8sl", "b"),
        PrimInfo("i16", 2, True, "int16_t", "int16", "Int16sl", "h"),
        PrimInfo("i32", 4, True, "int32_t", "int32", "Int32sl", "i"),
        PrimInfo("i64", 8, True, "int64_t", "int64", "Int64sl", "q"),
        # gcc's builtin typedefs: no glibc needed, and unlike `__int128` no -pedantic warning.
        # Go has no 128-bit integer (its target refuses them); construct reads them as BytesInteger.
        PrimInfo("u128", 16, False, "__uint128_t", "", "BytesInteger", "", dwarf="__int128 unsigned"),
        PrimInfo("i128", 16, True, "__int128_t", "", "BytesInteger", "", dwarf="__int128"),
        PrimInfo("bool8", 1, False, "uint8_t", "uint8", "Int8ul", "B", is_bool=True),
        PrimInfo("bool32", 4, False, "uint32_t", "uint32", "Int32ul", "I", is_bool=True),
    )
}

# Pointers are stored as unsigned words of the arch's pointer size.
POINTER_PRIM = {8: "u64", 4: "u32"}


@dataclass(frozen=True)
class ArchInfo:
    name: str
    c_macro: str  # predefined by the compiler for this arch
    goarch: str
    pointer_size: int
    little_endian: bool
    max_align: int  # largest natural alignment of a primitive
    # Whether an unnamed bitfield's type (and a zero-width one's, even when packed) raises
    # the struct's alignment: AAPCS64 says yes, the x86-64 System V ABI says no.
    unnamed_bitfields_align: bool = False


ARCHS = {
    info.name: info
    for info in (
        ArchInfo("amd64", "__x86_64__", "amd64", 8, True, 16),
        ArchInfo("arm64", "__aarch64__", "arm64", 8, True, 16, unnamed_bitfields_align=True),
    )
}
