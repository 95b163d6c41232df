"""C's integer literals, types and conversions, with each arch's gcc as the reference.

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
from codegen.primitives import ARCHS as ARCH_TABLE
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


def _program(expressions: list, pointer_size: int) -> tuple:
    """C text with one line per expression (line i + 2 for expression i), and the lines of
    those layoutgen refuses: they hold the bare expression, which gcc must refuse too. Types
    and values are the data model's of that pointer size (`long` is 32 bits on ILP32)."""
    lines, refused = ["#include <stddef.h>"], set()
    for index, text in enumerate(expressions):
        try:
            with cint.data_model(pointer_size):
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
    for arch, info in ARCH_TABLE.items():  # both data models: LP64 and ILP32 (i386, armhf)
        source, refused = _program(expressions, info.pointer_size)
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


# ---- a spec of such constants, through every output ------------------------------------------

SPEC = """layoutgen: 1
name: clits
archs: [amd64, arm64]
constants:
  MASK: '~0xe7UL'
  ALL_ONES: {value: '~0UL', type: u64}
  BIT31: '1U << 31'
  HUGE: '0x8000000ULL'
  EIGHT: '010'
  MINUS_ONE: '~0'
  UINT_ALL: '~0u'
  HEX_UINT: '0xffffffff'
  PAST_INT: '2147483648'
  LAST_BYTE: 'sizeof(Pair) - 1'
  WRAPPED: '1u - 2'
  LOWEST: {value: '-9223372036854775807L - 1', type: i64}
  TOP_BIT: {value: '1ULL << 63', c_ifndef: true}
  NARROW: {value: '0xffffffff', go_type: uint32}
structs:
  Pair:
    fields:
      - {name: a, type: u32}
      - {name: b, type: 'u8[EIGHT]'}
asserts:
  - '-1L < 1u'
  - 'MASK == 0xffffffffffffff18'
  - 'LAST_BYTE - 20 > 0'
"""
ASM = """#include "clits_offsets.h"
    .data
    .quad MASK, ALL_ONES, BIT31, HUGE, EIGHT, MINUS_ONE, UINT_ALL, HEX_UINT, PAST_INT, LAST_BYTE
    .quad WRAPPED, LOWEST, TOP_BIT
"""
GO_MAIN = """package main

import (
	"fmt"

	"layoutgen.example/generated/clits"
)

func main() {
	var mask uint64 = clits.Mask
	fmt.Println(mask, clits.AllOnes, clits.TopBit, clits.Lowest, clits.Narrow)
}
"""


@pytest.fixture(scope="module")
def spec_out(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clits")
    (folder / "spec.yaml").write_text(SPEC)
    result = run_cli("generate", "--spec", str(folder / "spec.yaml"), "--out", str(folder / "out"))
    assert result.returncode == 0, result.stderr
    return folder


def test_the_spec_passes_layoutgen_check(spec_out, tmp_path):
    empty = tmp_path / "no_consumers"
    empty.mkdir()
    result = run_cli("check", "--spec", str(spec_out / "spec.yaml"), "--out", str(spec_out / "out"),
                     "--consumers", str(empty))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "everything holds" in result.stdout


def test_c_spells_each_constant_in_its_type(spec_out):
    header = (spec_out / "out" / "c" / "clits.h").read_text()
    for line in ("#define MASK 18446744073709551384UL", "#define BIT31 2147483648U", "#define HUGE 134217728ULL",
                 "#define HEX_UINT 4294967295U", "#define PAST_INT 2147483648", "#define LAST_BYTE 11UL",
                 "#define MINUS_ONE -1", "#define LOWEST (-9223372036854775807 - 1)"):
        assert line + "\n" in header or line + "  " in header, line


def test_assembly_sees_no_suffix(spec_out, tmp_path):
    """The offsets header gives assembly plain numbers; GNU as refuses `18446744073709551384UL`."""
    (tmp_path / "consts.S").write_text(ASM)
    for arch in ARCHS:
        result = subprocess.run([compiler(arch), "-c", "-I", str(spec_out / "out" / "c"), str(tmp_path / "consts.S"),
                                 "-o", str(tmp_path / f"consts_{arch}.o")], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr


def test_go_uses_a_u64_constant_past_max_int64(spec_out, tmp_path):
    from programs import build_go, go_client, run
    go = (spec_out / "out" / "go" / "clits")
    text = " ".join(" ".join(path.read_text().split()) for path in sorted(go.glob("clits*.go")))
    assert "Mask uint64 = 18446744073709551384" in text
    client = go_client(tmp_path / "client", go, "clits", GO_MAIN)
    for arch in ARCHS:
        built = build_go(client, arch)
        assert built.returncode == 0, built.stderr
        assert run(client / f"program_{arch}", arch).split() == [
            b"18446744073709551384", b"18446744073709551615", b"9223372036854775808", b"-9223372036854775808",
            b"4294967295"]


def test_python_holds_the_values(spec_out):
    import importlib
    import sys
    sys.path.insert(0, str(spec_out / "out" / "python"))
    try:
        for arch in ARCHS:
            module = importlib.import_module(f"clits.{arch}")
            assert (module.MASK, module.ALL_ONES, module.WRAPPED, module.MINUS_ONE) == (
                0xffffffffffffff18, (1 << 64) - 1, (1 << 32) - 1, -1)
    finally:
        sys.path.remove(str(spec_out / "out" / "python"))


def test_constants_take_each_data_models_type(tmp_path):
    """4294967296 is a long on LP64 and a long long on ILP32, size_t an unsigned long or an
    unsigned int: the header spells each arch's constant in its own type, which the layout
    asserts' _Generic checks with every arch's gcc."""
    spec = tmp_path / "wide.yaml"
    spec.write_text(
        "layoutgen: 1\nname: wide\narchs: [" + ", ".join(ARCH_TABLE) + "]\ntargets: [c]\n"
        "constants:\n  BIG: 4294967296\n  HEX: 0xFFFFFFFFF\n  SZ: sizeof(S)\n  NEG: -2147483648\n"
        "structs:\n  S: {fields: [{name: a, type: u8}, {name: n, type: long}]}\n")
    out = tmp_path / "out"
    assert run_cli("generate", "--spec", str(spec), "--out", str(out)).returncode == 0
    header = (out / "c" / "wide.h").read_text()
    assert "#define BIG 4294967296LL" in header and "#define BIG 4294967296\n" in header
    assert "#define SZ 8U " in header and "#define SZ 16UL " in header
    result = run_cli("check", "--spec", str(spec), "--out", str(out), "--no-cache", cwd=tmp_path)
    assert "C layout asserts compile on every arch: ok" in result.stdout, result.stdout + result.stderr
