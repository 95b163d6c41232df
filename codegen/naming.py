"""Every naming rule of every target, in one place.

The spec writes one canonical name per declaration: CamelCase for structs, enums and
regions, snake_case for fields, UPPER_SNAKE for constants and enum members. The rules
below derive each target's spelling; a `c:`, `go:` or `python:` key in the spec
overrides the result for one node.
"""
from __future__ import annotations

import keyword
import re

# Go's common initialisms (as golint knows them) plus a few of this domain.
GO_INITIALISMS = {
    "acl", "api", "ascii", "cpu", "css", "dns", "eof", "fp", "guid", "html", "http", "https",
    "id", "ip", "json", "lhs", "qps", "ram", "rhs", "rpc", "sla", "smtp", "sql", "ssh",
    "tcp", "tls", "ttl", "udp", "ui", "uid", "uuid", "uri", "url", "utf8", "vm", "xml",
    "xmpp", "xsrf", "xss",
}

C_RESERVED = frozenset("""
auto break case char const continue default do double else enum extern float for goto if
inline int long register restrict return short signed sizeof static struct switch typedef
union unsigned void volatile while _Alignas _Alignof _Atomic _Bool _Complex _Generic
_Imaginary _Noreturn _Static_assert _Thread_local asm typeof bool true false NULL
offsetof alignof alignas
""".split())

GO_RESERVED = frozenset("""
break case chan const continue default defer else fallthrough for func go goto if import
interface map package range return select struct switch type var
bool byte complex64 complex128 error float32 float64 int int8 int16 int32 int64 rune string
uint uint8 uint16 uint32 uint64 uintptr true false iota nil append cap close complex copy
delete imag len make new panic print println real recover any comparable
""".split())

# Names a parsed construct Container or the construct API already uses.
PYTHON_RESERVED = frozenset(keyword.kwlist) | frozenset(keyword.softkwlist) | frozenset("""
items keys values get update pop popitem copy clear setdefault fromkeys search search_all
None True False
""".split())

# Macros (object-like ones expand anywhere, a struct member included) and names of the headers
# generated C includes or compiles with: <stdint.h>, <stddef.h>, <stdbool.h>, <assert.h>, and
# the <stdio.h>/<errno.h> names that are macros in glibc.
_C_HEADER_NAMES = frozenset(
    [f"{kind}{bits}_{limit}" for kind in ("INT", "INT_LEAST", "INT_FAST") for bits in (8, 16, 32, 64)
     for limit in ("MIN", "MAX")]
    + [f"U{kind}{bits}_MAX" for kind in ("INT", "INT_LEAST", "INT_FAST") for bits in (8, 16, 32, 64)]
    + [f"{kind}{bits}_t" for kind in ("int", "uint", "int_least", "uint_least", "int_fast", "uint_fast")
       for bits in (8, 16, 32, 64)]
    + [f"{kind}{bits}_C" for kind in ("INT", "UINT") for bits in (8, 16, 32, 64)]
    + """
INTPTR_MIN INTPTR_MAX UINTPTR_MAX INTMAX_MIN INTMAX_MAX UINTMAX_MAX INTMAX_C UINTMAX_C PTRDIFF_MIN PTRDIFF_MAX
SIG_ATOMIC_MIN SIG_ATOMIC_MAX SIZE_MAX WCHAR_MIN WCHAR_MAX WINT_MIN WINT_MAX intptr_t uintptr_t intmax_t
uintmax_t size_t ssize_t ptrdiff_t wchar_t wint_t max_align_t __bool_true_false_are_defined assert
static_assert NDEBUG unreachable EOF errno stdin stdout stderr FILE BUFSIZ CHAR_BIT
""".split())

C_RESERVED = C_RESERVED | _C_HEADER_NAMES

RESERVED = {"c": C_RESERVED, "go": GO_RESERVED, "python": PYTHON_RESERVED}

# Names the generated code itself defines or imports at file (C), package (Go) or module
# (Python) scope, which a constant, enum, enum value, struct or union name could shadow or
# redefine. tests/test_grammar.py derives them from generated output, so this cannot go stale.
C_FILE_SCOPE_PREFIXES = ("__", "_A", "_B", "_C", "_D", "_E", "_F", "_G", "_H", "_I", "_J", "_K", "_L", "_M", "_N",
                         "_O", "_P", "_Q", "_R", "_S", "_T", "_U", "_V", "_W", "_X", "_Y", "_Z",
                         "offsetof_", "sizeof_", "bitpos_", "bitwidth_", "bitunit_", "region_")
C_FILE_SCOPE_SUFFIXES = ("_H_", "_layout_fact_count")

GO_PACKAGE_SCOPE = frozenset("""
atomic binary unsafe testing init main expectLayout expectValue expectSigned expectBits bitsAfter TestConstants
stored swapped added
""".split())
GO_PACKAGE_SCOPE_PREFIXES = ("TestStruct", "TestUnion", "TestEnum", "TestAtomics")

PYTHON_MODULE_SCOPE = frozenset("""
Array Bytes Container Int8sl Int8ul Int16sl Int16ul Int32sl Int32ul Int64sl Int64ul ListContainer Struct
BytesInteger GreedyBytes GreedyRange Int16sb Int16ub Int32sb Int32ub Int64sb Int64ub
EnumField FastStruct Flag Gap IntEnum Named View Anonymous Flattened FastUnion FixedUnion FlexStruct BitRun BitValue
ARCH ARCHS PARAMS SIZES SPEC_SHA256 dtype annotations importlib platform native amd64 arm64
""".split())
PYTHON_MODULE_SCOPE_PREFIXES = ("_",)

# Attributes a generated view (`XView`) or struct parser already has besides its fields.
PYTHON_VIEW_ATTRIBUTES = frozenset("SIZE at pack unpack".split())

_TOP_LEVEL = {
    "c": (frozenset(), C_FILE_SCOPE_PREFIXES, C_FILE_SCOPE_SUFFIXES, "the generated C headers define or include"),
    "go": (GO_PACKAGE_SCOPE, GO_PACKAGE_SCOPE_PREFIXES, (), "the generated Go package defines or imports"),
    "python": (PYTHON_MODULE_SCOPE, PYTHON_MODULE_SCOPE_PREFIXES, (), "the generated Python module defines or imports"),
}


def generated_clash(target: str, name: str) -> str:
    """Why `name`, declared at the top level of `target`'s output, would clash with a name the
    generated code defines there ("" if it does not)."""
    names, prefixes, suffixes, what = _TOP_LEVEL[target]
    return what if name in names or name.startswith(prefixes) or name.endswith(suffixes) else ""

_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z0-9]+|[0-9]+")


def words(name: str) -> list:
    """Split any identifier style into lower-case words: `ThreadContext` -> thread, context."""
    parts = []
    for chunk in name.split("_"):
        parts.extend(match.group(0).lower() for match in _WORDS.finditer(chunk))
    return parts


def snake(name: str) -> str:
    return "_".join(words(name))


def upper_snake(name: str) -> str:
    return snake(name).upper()


def go_camel(name: str) -> str:
    """Exported Go spelling with initialisms: `thread_id` -> `ThreadID`."""
    return "".join(w.upper() if w in GO_INITIALISMS else w[:1].upper() + w[1:] for w in words(name))


def type_names(canonical: str, overrides: dict) -> dict:
    """Structs, enums and regions: C snake_case, Go and Python keep CamelCase."""
    return _apply(overrides, c=snake(canonical), go=go_camel(canonical), python=canonical)


def field_names(canonical: str, overrides: dict) -> dict:
    return _apply(overrides, c=canonical, go=go_camel(canonical), python=canonical)


def constant_names(canonical: str, overrides: dict) -> dict:
    return _apply(overrides, c=canonical, go=go_camel(canonical), python=canonical)


def enum_value_names(enum_c: str, enum_go: str, canonical: str, overrides: dict) -> dict:
    """`ThreadState.NONE` -> C THREAD_STATE_NONE, Go ThreadStateNone, Python member NONE."""
    return _apply(overrides, c=f"{enum_c.upper()}_{canonical}", go=enum_go + go_camel(canonical),
                  python=canonical)


ASM_ENUM_PREFIX = "k"  # upstream's spelling of enum values in assembly: kTHREAD_STATE_NONE


def asm_enum_name(c_name: str, prefix: str = ASM_ENUM_PREFIX) -> str:
    """An enum value in the offsets header: the enum's `asm_prefix` (default `k`) before
    its C name; an empty prefix gives the C name itself (`XSAVE_MODE_XSAVE`)."""
    return prefix + c_name


def macro_part(names) -> str:
    """A struct's or field's part in offsets-header macros: its `asm:` spelling, else its C name."""
    return names.asm or names.c


def offset_macro(path: list) -> str:
    """`offsetof_thread_context_ptregs_rip` from the macro parts (`macro_part`) along the path."""
    return "offsetof_" + "_".join(path)


def bit_macros(path: list) -> tuple:
    """The offsets header's names for a bitfield: its unit's offset, then the field's first
    bit in the unit, its width, and the unit's size in bytes (`bitpos_msg_flags_mode`, ...)."""
    suffix = "_".join(path)
    return offset_macro(path), f"bitpos_{suffix}", f"bitwidth_{suffix}", f"bitunit_{suffix}"


def region_array_macros(path: list) -> tuple:
    """The offsets header's names for an array region part, from the snake names along its
    path: where it starts in its top region, its stride and its element count
    (`region_thread_contexts_contexts_offset`, `..._stride`, `..._count`)."""
    stem = "region_" + "_".join(path)
    return f"{stem}_offset", f"{stem}_stride", f"{stem}_count"


def anonymous_spare_name(kind: str, index: int) -> str:
    """C's name for unnamed padding (`kind` "pad") or reserved space ("reserved") inside an
    anonymous member: C reaches it in the parent's scope, so it must not clash with the
    parent's own `_pad<N>` / `__reserved_<N>`; `index` counts them through the outer struct."""
    return f"_pad_anon{index}" if kind == "pad" else f"__reserved_anon{index}"


def go_build_tag(package: str, param: str, label: str) -> str:
    """The Go build tag that selects one value of a spec parameter: `pagex_page_size_64k`."""
    return f"{package}_{param}_{label}"


def _apply(overrides: dict, **defaults) -> dict:
    return {target: overrides.get(target) or default for target, default in defaults.items()}
