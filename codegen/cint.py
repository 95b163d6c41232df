"""C's integer types on Linux's two data models, as constant expressions use them: LP64 (every
64-bit arch here) and ILP32 (i386, armhf), where `long` has 32 bits.

An evaluated value is a pair (value, ctype): the mathematical value, already converted to its
type, and one of the six types the expression language can produce. `long long` has the
width of `long` on LP64 but is another type with a higher rank: `1L + 1LL` is a long long and
`1UL + 1LL` an unsigned long long, and `_Generic` tells them apart, so they are kept. The rules
are C11's: 6.4.4.1 for the type of a literal, 6.3.1.1 and 6.3.1.8 for the integer promotions
and the usual arithmetic conversions, 6.5 for the operators. Unsigned arithmetic wraps as in
C; everything C leaves undefined (signed overflow, division by zero, shifts past the width)
is an error, so a value the generator prints is the value every compiler computes.

The data model is a per-thread setting (`data_model(pointer_size)`, LP64 unless the layout
engine says otherwise while it evaluates for an arch): it decides the width of `long`, hence
the type of a literal such as 4294967296 (`long` on LP64, `long long` on ILP32) and of `size_t`.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Optional

from .errors import fail

INT, UINT, LONG, ULONG = "int", "unsigned int", "long", "unsigned long"
LLONG, ULLONG = "long long", "unsigned long long"
_BITS = {INT: 32, UINT: 32, LONG: 64, ULONG: 64, LLONG: 64, ULLONG: 64}
_ILP32_BITS = {**_BITS, LONG: 32, ULONG: 32}
_model = threading.local()


@contextmanager
def data_model(pointer_size: int):
    """Evaluate with `long` (and size_t) as wide as a pointer of `pointer_size` bytes."""
    before = getattr(_model, "bits", _BITS)
    _model.bits = _BITS if pointer_size == 8 else _ILP32_BITS
    try:
        yield
    finally:
        _model.bits = before


def _widths() -> dict:
    return getattr(_model, "bits", _BITS)


def size_t() -> str:
    """The type of sizeof, _Alignof and offsetof in the current data model."""
    return ULONG if _widths()[ULONG] == 64 else UINT
_RANK = {INT: 1, UINT: 1, LONG: 2, ULONG: 2, LLONG: 3, ULLONG: 3}
_UNSIGNED_OF = {INT: UINT, LONG: ULONG, LLONG: ULLONG, UINT: UINT, ULONG: ULONG, ULLONG: ULLONG}


def is_signed(ctype: str) -> bool:
    return ctype in (INT, LONG, LLONG)


def bits(ctype: str) -> int:
    return _widths()[ctype]


def limits(ctype: str) -> tuple:
    width = bits(ctype)
    return (-(1 << (width - 1)), (1 << (width - 1)) - 1) if is_signed(ctype) else (0, (1 << width) - 1)


def fits(value: int, ctype: str) -> bool:
    low, high = limits(ctype)
    return low <= value <= high


# The candidate types of a literal, in order (C11 6.4.4.1 p5), by suffix class and by whether
# the literal is decimal: octal, hexadecimal and binary literals may also become unsigned.
_CANDIDATES = {
    ("", True): (INT, LONG, LLONG), ("", False): (INT, UINT, LONG, ULONG, LLONG, ULLONG),
    ("u", True): (UINT, ULONG, ULLONG), ("u", False): (UINT, ULONG, ULLONG),
    ("l", True): (LONG, LLONG), ("l", False): (LONG, ULONG, LLONG, ULLONG),
    ("ll", True): (LLONG,), ("ll", False): (LLONG, ULLONG),
    ("ul", True): (ULONG, ULLONG), ("ul", False): (ULONG, ULLONG),
    ("ull", True): (ULLONG,), ("ull", False): (ULLONG,),
}
# Every suffix C accepts: u or U, then l, L, ll or LL (never lL), in either order.
SUFFIXES = {"": ""}
for _long in ("l", "L", "ll", "LL"):
    SUFFIXES[_long] = _long.lower()
    for _u in ("u", "U"):
        SUFFIXES[_u + _long] = SUFFIXES[_long + _u] = "u" + _long.lower()
for _u in ("u", "U"):
    SUFFIXES[_u] = "u"


def literal_type(value: int, suffix: str, decimal: bool) -> Optional[str]:
    """The type of a non-negative literal with that suffix, or None when no type holds it."""
    return next((t for t in _CANDIDATES[(SUFFIXES[suffix], decimal)] if fits(value, t)), None)


def spelling(value: int, ctype: str) -> str:
    """A decimal C expression of that value and type: a plain literal when that has the type,
    else one with the type's own suffix (`4294967295U`, `8UL`), negated for a negative value. C has no negative literals, and `-2147483648`
    is a long (2147483648 does not fit in int), so a minimum is spelled `(-2147483647 - 1)`."""
    if value < 0:
        magnitude = spelling(-value, ctype) if fits(-value, ctype) else None
        if magnitude is None:
            return f"(-{spelling(-value - 1, ctype)} - 1)"
        return f"-{magnitude}"
    plain = literal_type(value, "", True) == ctype  # 2147483648 is already a long
    return f"{value}" if plain else f"{value}{_SUFFIX_OF[ctype]}"


_SUFFIX_OF = {INT: "", UINT: "U", LONG: "L", ULONG: "UL", LLONG: "LL", ULLONG: "ULL"}


def type_of_value(value: int) -> str:
    """The type C gives a plain decimal number (a spec's YAML integer, a parameter's value)."""
    return INT if fits(value, INT) else LONG if fits(value, LONG) else LLONG


# ---- conversions -------------------------------------------------------------------------------


def promote(ctype: str) -> str:
    """The integer promotions: every type here already has at least the rank of int."""
    return ctype


def common(a: str, b: str) -> str:
    """The usual arithmetic conversions of two promoted operand types (C11 6.3.1.8)."""
    if a == b:
        return a
    if is_signed(a) == is_signed(b):
        return a if _RANK[a] >= _RANK[b] else b
    unsigned, signed = (a, b) if is_signed(b) else (b, a)
    if _RANK[unsigned] >= _RANK[signed]:
        return unsigned
    if bits(signed) > bits(unsigned):
        return signed  # long and long long hold every unsigned int
    return _UNSIGNED_OF[signed]  # long long cannot hold every unsigned long


def convert(value: int, ctype: str) -> int:
    """`value` converted to `ctype`: modulo 2**width for unsigned types; a signed target only
    ever receives a value it can hold (the conversions above never narrow into a signed type)."""
    if is_signed(ctype):
        assert fits(value, ctype), (value, ctype)
        return value
    return value & ((1 << bits(ctype)) - 1)


def unsigned_of(ctype: str) -> str:
    return _UNSIGNED_OF[ctype]


# ---- operators ---------------------------------------------------------------------------------

INT_RESULT = ("==", "!=", "<", "<=", ">", ">=", "&&", "||")  # these yield an int 0 or 1


def convert_checked(value: int, ctype: str, pos) -> int:
    """A value converted to a type as C converts it; a signed result that does not fit is the
    overflow C leaves undefined."""
    if is_signed(ctype) and not fits(value, ctype):
        raise fail(pos, f"integer overflow: {value} does not fit in {ctype}",
                   "C leaves signed overflow undefined; use a wider (L) or unsigned (u) operand")
    return convert(value, ctype)


def unary(op: str, value: int, ctype: str, pos) -> tuple:
    """`op` (- + ~ !) applied to a (value, type) as C applies it."""
    if op == "!":
        return int(not value), INT
    ctype = promote(ctype)
    if op == "~":
        return convert(~value, ctype), ctype
    return convert_checked(-value if op == "-" else value, ctype, pos), ctype


def binary(op: str, left: tuple, right: tuple, pos) -> tuple:
    """A binary operator other than && and || (which decide whether to evaluate their right
    operand) on two (value, type) pairs, as C computes it."""
    if op in ("<<", ">>"):
        return _shift(op, left, right, pos)
    ctype = common(promote(left[1]), promote(right[1]))
    a, b = convert(left[0], ctype), convert(right[0], ctype)
    if op in INT_RESULT:
        compare = {"==": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}
        return int(compare[op]), INT
    if op in ("/", "%"):
        if b == 0:
            raise fail(pos, "division by zero in expression")
        quotient = abs(a) // abs(b) * (1 if (a < 0) == (b < 0) else -1)  # C truncates toward zero
        convert_checked(quotient, ctype, pos)  # INT_MIN / -1 overflows, and so does INT_MIN % -1
        return (quotient if op == "/" else a - b * quotient), ctype
    table = {"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b,
             "&": lambda: a & b, "|": lambda: a | b, "^": lambda: a ^ b}
    return convert_checked(table[op](), ctype, pos), ctype


def _shift(op: str, left: tuple, right: tuple, pos) -> tuple:
    """C's shifts: each operand is promoted on its own and the result has the left one's type."""
    ctype = promote(left[1])
    value, count, width = left[0], right[0], bits(ctype)
    if not 0 <= count < width:
        raise fail(pos, f"shift count {count} is outside 0..{width - 1} (the left operand is {ctype})",
                   ("give the left operand an L or UL suffix: a long shifts up to 63" if bits(LONG) == 64 else
                    "give the left operand an LL or ULL suffix: a long long shifts up to 63")
                   if count >= width and width < 64 else "")
    if op == ">>":
        return value >> count, ctype  # gcc shifts a negative value arithmetically
    if is_signed(ctype) and value < 0:
        raise fail(pos, "left shift of a negative value")
    return convert_checked(value << count, ctype, pos), ctype
