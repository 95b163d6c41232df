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
    word: bool = False  # C's `long`: as wide as a pointer, so its size is the arch's (`size` is 0)

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
        # The layout engine stores these as the arch's i32/u32 or i64/u64 (`word_prim`); C keeps the name.
        PrimInfo("long", 0, True, "long", "", "", "", word=True),
        PrimInfo("ulong", 0, False, "unsigned long", "", "", "", word=True),
    )
}

# Pointers are stored as unsigned words of the arch's pointer size.
POINTER_PRIM = {8: "u64", 4: "u32"}


def word_prim(name: str, pointer_size: int) -> str:
    """The fixed-size primitive `long` or `ulong` is stored as on an arch with this pointer size."""
    return f"{'i' if PRIMITIVES[name].signed else 'u'}{pointer_size * 8}"


@dataclass(frozen=True)
class ArchInfo:
    """One row of the arch table: everything the layout engine, the targets and the checks
    need to know about a Linux ABI. Values were read off each arch's Debian cross gcc
    (sizeof, _Alignof and offsetof probes, and DWARF); `tests/test_arch_table.py` re-reads them."""

    name: str  # the spec's name for it, also the generated Python module's name
    c_macros: tuple  # predefined by the compiler for this arch: all of them together select it
    goarch: str
    pointer_size: int  # also the size of C's `long` (every Linux ABI here is LP64 or ILP32)
    little_endian: bool
    max_align: int  # __BIGGEST_ALIGNMENT__: the largest alignment a primitive asks for
    gcc: str  # the C compiler that targets it (Debian's cross gcc, or the host's gcc)
    triplet: str  # the GNU triplet: binutils' prefix, and Debian's cross packages' suffix
    debian: str  # Debian's name for the arch (libc6-dev-<debian>-cross)
    qemu: str  # the qemu-user binary that runs its programs
    machines: tuple  # what platform.machine() says on it, for the generated `native` module
    # Alignment of an 8- and a 16-byte integer inside a struct; 0: the compiler has no 16-byte
    # integer (no __int128 on 32-bit arches). Smaller integers are aligned to their size everywhere.
    int64_align: int = 8
    int128_align: int = 16
    # Whether an unnamed bitfield's type (and a zero-width one's, even when packed) raises
    # the struct's alignment: AAPCS (32- and 64-bit) says yes, the other ABIs here say no.
    unnamed_bitfields_align: bool = False
    go_note: str = ""  # how Go builds for it, where GOARCH alone does not say (GOARM)

    @property
    def c_condition(self) -> str:
        """The preprocessor condition that holds when compiling for this arch."""
        return " && ".join(f"defined({macro})" for macro in self.c_macros)

    @property
    def c_negation(self) -> str:
        """Its negation, bare where it is a single `defined` (as the headers always printed it)."""
        return f"!{self.c_condition}" if len(self.c_macros) == 1 else f"!({self.c_condition})"

    def int_align(self, size: int) -> int:
        """Alignment of a `size`-byte integer inside a struct (0: the arch has no such integer)."""
        return {8: self.int64_align, 16: self.int128_align}.get(size, size)

    @property
    def bits(self) -> int:
        return self.pointer_size * 8

    @property
    def byte_order(self) -> str:
        return "little" if self.little_endian else "big"


ARCHS = {
    info.name: info
    for info in (
        ArchInfo("amd64", ("__x86_64__",), "amd64", 8, True, 16, "gcc", "x86_64-linux-gnu", "amd64",
                 "qemu-x86_64", ("x86_64", "amd64")),
        ArchInfo("arm64", ("__aarch64__",), "arm64", 8, True, 16, "aarch64-linux-gnu-gcc", "aarch64-linux-gnu",
                 "arm64", "qemu-aarch64", ("aarch64", "arm64"), unnamed_bitfields_align=True),
        ArchInfo("riscv64", ("__riscv", "__LP64__"), "riscv64", 8, True, 16, "riscv64-linux-gnu-gcc", "riscv64-linux-gnu",
                 "riscv64", "qemu-riscv64", ("riscv64",)),
        # i386's System V ABI aligns 8-byte integers to 4 inside structs, and has no __int128.
        ArchInfo("i386", ("__i386__",), "386", 4, True, 16, "i686-linux-gnu-gcc", "i686-linux-gnu", "i386",
                 "qemu-i386", ("i386", "i486", "i586", "i686", "x86"), int64_align=4, int128_align=0),
        # EABI hard-float: 8-byte integers keep 8-byte alignment, unlike i386.
        ArchInfo("armhf", ("__arm__",), "arm", 4, True, 8, "arm-linux-gnueabihf-gcc", "arm-linux-gnueabihf",
                 "armhf", "qemu-arm", ("armv7l", "armv8l", "armhf"), int128_align=0,
                 unnamed_bitfields_align=True, go_note="GOARM=7"),
        ArchInfo("ppc64le", ("__powerpc64__", "__LITTLE_ENDIAN__"), "ppc64le", 8, True, 16, "powerpc64le-linux-gnu-gcc",
                 "powerpc64le-linux-gnu", "ppc64el", "qemu-ppc64le", ("ppc64le",)),
        # Big-endian: bitfields fill each unit from its most significant bit; __int128 is 8-aligned.
        ArchInfo("s390x", ("__s390x__",), "s390x", 8, False, 8, "s390x-linux-gnu-gcc", "s390x-linux-gnu", "s390x",
                 "qemu-s390x", ("s390x",), int128_align=8),
        ArchInfo("mips64el", ("__mips64", "__MIPSEL__", "__LP64__"), "mips64le", 8, True, 16, "mips64el-linux-gnuabi64-gcc",
                 "mips64el-linux-gnuabi64", "mips64el", "qemu-mips64el", ("mips64",)),
    )
}
