"""The grammar of every structured string a spec holds: names, header paths, C and Go types.

A spec's text reaches C, assembly, Python and Go source. Structured fields are printed
there as they are written, so each is checked here against a grammar that admits nothing
but what the field means: a trailing newline, a `*/` or a `..` is refused, not escaped.
Every pattern is matched against the whole string (`fullmatch`; `$` would accept a
trailing newline), and each is written so that JSON Schema (`tools/schema.py`) can use
it too (see `anchored`).
"""
from __future__ import annotations

import re

from .errors import Pos, fail
from .primitives import PRIMITIVES

MAX_NAME_LEN = 128  # any name; the longest, a struct's, names files such as docs/svg/<arch>/struct_<name>.svg
MAX_SPEC_NAME_LEN = 64  # the spec's name starts every output file's name and the Go package's
MAX_PARAM_NAME_LEN = 32  # parameter names and values label Go files: <spec>_<param>_<value>..._<arch>.go
MAX_INCLUDE_LEN = 255

IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*", re.ASCII)
# An enum's `asm_prefix`: what the offsets header puts before each value's C name; empty for
# none. Prefix and name together are an identifier, so the prefix is one or nothing.
ASM_PREFIX = re.compile(r"(?:[A-Za-z_][A-Za-z0-9_]*)?", re.ASCII)
MAX_ASM_PREFIX_LEN = 32
PARAM_NAME = re.compile(r"[a-z][a-z0-9_]*", re.ASCII)
# A side that writes shared memory (`sides: [runtime, stub]`): lower_snake, few and short,
# since each labels a writer group in every report and diagram.
SIDE = re.compile(r"[a-z][a-z0-9_]*", re.ASCII)
MAX_SIDE_LEN = 32
MAX_SIDES = 8
ALL_SIDES = "both"  # `writer: both`: every declared side

# A spec's `version`, the generated Python package's: PEP 440's release, pre, post and dev parts.
_N = r"(?:0|[1-9][0-9]*)"
PACKAGE_VERSION = re.compile(rf"{_N}(?:\.{_N}){{0,4}}(?:(?:a|b|rc){_N})?(?:\.post{_N})?(?:\.dev{_N})?", re.ASCII)
MAX_PACKAGE_VERSION_LEN = 64

# `sys/epoll.h`, `linux/if_ether.h`: relative, no `..`, no empty part, no option-like start.
_HEADER_PART = r"(?!\.\.(?:/|$))[A-Za-z0-9_.+-]+"
HEADER_PATH = re.compile(rf"(?!-){_HEADER_PART}(?:/{_HEADER_PART})*", re.ASCII)

# `struct timeval`, `union sigval`, `enum e`, a typedef name, or a member's type as upstream
# headers leave it unnamed: `__typeof__(((struct icmphdr *)0)->un.echo)`.
_ID = r"[A-Za-z_][A-Za-z0-9_]*"
_NAMED = rf"(?:(?:struct|union|enum) {_ID}|{_ID})"
C_TYPE = re.compile(rf"{_NAMED}|__typeof__\(\(\({_NAMED} \*\)0\)->{_ID}(?:\.{_ID})*\)", re.ASCII)
_C_KEYWORDS = frozenset("""
auto break case char const continue default do double else enum extern float for goto if inline int long
register restrict return short signed sizeof static struct switch typedef union unsigned void volatile while
_Alignas _Alignof _Atomic _Bool _Complex _Generic _Imaginary _Noreturn _Static_assert _Thread_local
asm typeof __typeof__ __attribute__
""".split())

# The Go types a constant may be declared with: the Go spelling of each primitive, and uintptr.
GO_TYPES = tuple(sorted({info.go for info in PRIMITIVES.values() if info.go}) + ["uintptr"])


def anchored(pattern: "re.Pattern | str") -> str:
    """The pattern as a whole-string match for JSON Schema. Not `^...$`: validators written
    in Python search with `re`, where `$` also matches before a trailing newline; "followed by
    no character" means the end of the string in both Python and ECMA regexes."""
    text = pattern.pattern if isinstance(pattern, re.Pattern) else pattern
    return rf"^(?:{text})(?![\s\S])"


def ident(value: str, pos: Pos, what: str, limit: int = MAX_NAME_LEN) -> str:
    if not IDENT.fullmatch(value):
        raise fail(pos, f"{what} {value!r} is not a valid identifier",
                   "use letters, digits and underscores, not starting with a digit")
    return name_length(value, pos, what, limit)


def asm_prefix(value: str, pos: Pos) -> str:
    """An enum's `asm_prefix`: printed in front of every value's C name in `#define` lines."""
    if not ASM_PREFIX.fullmatch(value):
        raise fail(pos, f"asm_prefix {value!r} is not an identifier prefix",
                   "use letters, digits and underscores, not starting with a digit, or \"\" for none")
    return name_length(value, pos, "asm_prefix", MAX_ASM_PREFIX_LEN)


def name_length(value: str, pos: Pos, what: str, limit: int = MAX_NAME_LEN) -> str:
    if len(value) > limit:
        raise fail(pos, f"{what} is {len(value)} characters long; the limit is {limit}",
                   "names become file, type and macro names; shorten it")
    return value


def include(value: str, pos: Pos) -> str:
    """`external.include`: printed as `#include <value>`."""
    if len(value) > MAX_INCLUDE_LEN or not HEADER_PATH.fullmatch(value):
        raise fail(pos, f"include {value!r} is not a header path",
                   "write a relative path such as sys/epoll.h: letters, digits and _ . / + - only, "
                   "no '..' or empty part, not starting with '/' or '-'")
    return value


def package_version(value, pos: Pos) -> str:
    """The spec's `version`: printed into the generated Python package's pyproject.toml."""
    if not isinstance(value, str) or len(value) > MAX_PACKAGE_VERSION_LEN or not PACKAGE_VERSION.fullmatch(value):
        raise fail(pos, f"version {value!r} is not a package version",
                   'write a quoted PEP 440 version such as "1.2", "2.0.1", "1.0rc1" or "1.0.post1"')
    return value


def c_type(value: str, pos: Pos) -> str:
    """`external.c_type`: printed wherever C names the system's type."""
    if not C_TYPE.fullmatch(value) or value in _C_KEYWORDS:
        raise fail(pos, f"c_type {value!r} is not a C type name",
                   "write `struct NAME`, `union NAME`, `enum NAME`, a typedef NAME, or "
                   "`__typeof__(((struct NAME *)0)->member)`, with single spaces")
    return value


def go_type(value: str, pos: Pos) -> str:
    """A constant's `go_type`: printed as the type of a Go constant."""
    if value not in GO_TYPES:
        raise fail(pos, f"go_type {value!r} is not a Go type layoutgen supports", "use one of: " + ", ".join(GO_TYPES))
    return value
