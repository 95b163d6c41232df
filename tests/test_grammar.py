"""The grammars of structured spec text, and the expression parser under random input.

Each grammar is tried on what a spec legitimately writes (every form the examples use)
and on what an attacker would: a trailing newline, a comment opener, `..`, a second line.
The expression parser and evaluator are fuzzed: whatever the text, the only failure is a
SpecError (which the CLI prints as `file:line:col`), never a Python exception.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codegen import expr as ex
from codegen import grammar
from codegen.errors import Pos, Problem, SpecError

ROOT = Path(__file__).resolve().parents[1]
AT = Pos("spec.yaml", 3, 7)


# ---- names, header paths and types -------------------------------------------------------------


@pytest.mark.parametrize("name", ["Foo\n", "Foo\r", "foo bar", "1abc", "", "Füße", "a-b", "x\u202e"])
def test_a_name_is_matched_as_a_whole(name):
    with pytest.raises(SpecError, match="is not a valid identifier"):
        grammar.ident(name, AT, "field name")


def test_a_name_past_its_limit_is_refused():
    grammar.ident("A" * grammar.MAX_NAME_LEN, AT, "struct name")
    with pytest.raises(SpecError, match=f"the limit is {grammar.MAX_NAME_LEN}"):
        grammar.ident("A" * (grammar.MAX_NAME_LEN + 1), AT, "struct name")


def _example_externals() -> set:
    found = set()
    for spec in [ROOT / "spec" / "sysmsg.yaml", *sorted((ROOT / "examples").rglob("*.yaml"))]:
        data = yaml.safe_load(spec.read_text(encoding="utf-8"))
        for section in ("structs", "unions"):
            for decl in (data.get(section) or {}).values():
                if isinstance(decl, dict) and "external" in decl:
                    found.add((decl["external"]["c_type"], decl["external"]["include"]))
    return found


def test_every_external_the_examples_use_is_accepted():
    externals = _example_externals()
    assert len(externals) > 20 and any(c.startswith("__typeof__") for c, _ in externals)
    for c_type, include in externals:
        assert grammar.c_type(c_type, AT) == c_type
        assert grammar.include(include, AT) == include


@pytest.mark.parametrize("include", [
    "../etc/passwd", "sys/../../etc/shadow", "/etc/passwd", "-I/tmp/x.h", "a//b.h", "a/", "",
    "stdio.h>\n#include <evil.h", "stdio.h\n", "x.h */", 'x.h"', "x h.h", "..", "a/..", "x" * 256 + ".h",
])
def test_a_bad_include_is_refused(include):
    with pytest.raises(SpecError, match="is not a header path"):
        grammar.include(include, AT)


@pytest.mark.parametrize("c_type", [
    "struct x\n#define y", "struct  x", "struct x */", "struct x;", "int x; void f(void)", "struct", "int",
    "__typeof__(((struct x *)0)->a)\n", "__typeof__(system(\"id\"))", "unsigned int", "struct x *",
])
def test_a_bad_c_type_is_refused(c_type):
    with pytest.raises(SpecError, match="is not a C type name"):
        grammar.c_type(c_type, AT)


def test_go_types_are_the_supported_ones():
    assert grammar.GO_TYPES == ("int16", "int32", "int64", "int8", "uint16", "uint32", "uint64", "uint8", "uintptr")
    for bad in ("uintptr\n", "int; func init() { panic(1) }", "string", "[]byte", "int"):
        with pytest.raises(SpecError, match="is not a Go type layoutgen supports"):
            grammar.go_type(bad, AT)


def test_json_schema_patterns_anchor_the_whole_string():
    pattern = grammar.anchored(grammar.IDENT)
    assert re.search(pattern, "Foo") and not re.search(pattern, "Foo\nBar")


# ---- error lines ---------------------------------------------------------------------------------


def test_an_error_line_shows_every_unprintable_character_escaped():
    problem = Problem(Pos("spec\n.yaml", 1, 2), "key '\x1b[2J\u202e' here", "tab\there")
    assert str(problem) == "spec\\n.yaml:1:2: key '\\x1b[2J\\u202e' here (hint: tab\\there)"


# ---- literals and the expression fuzzer ---------------------------------------------------------


@pytest.mark.parametrize("text, value, ctype", [
    ("010", 8, "int"), ("0", 0, "int"), ("00", 0, "int"), ("0x1F", 31, "int"), ("0X1f", 31, "int"),
    ("0b101", 5, "int"), ("0o17", 15, "int"), ("1_000", 1000, "int"), ("-010", -8, "int"),
    ("5L", 5, "long"), ("5l", 5, "long"), ("7LL", 7, "long long"), ("7ll", 7, "long long"), ("0x10L", 16, "long"),
    ("017LL", 15, "long long"), ("1u", 1, "unsigned int"), ("1U", 1, "unsigned int"), ("1ul", 1, "unsigned long"),
    ("1LU", 1, "unsigned long"), ("1ull", 1, "unsigned long long"), ("1llu", 1, "unsigned long long"),
    ("1uLL", 1, "unsigned long long"), ("1Ul", 1, "unsigned long"), ("2147483647", 2147483647, "int"),
    ("2147483648", 2147483648, "long"), ("0x7fffffff", 2147483647, "int"), ("0x80000000", 2147483648, "unsigned int"),
    ("0x100000000", 1 << 32, "long"), ("0xffffffffffffffff", (1 << 64) - 1, "unsigned long"),
    ("037777777777", (1 << 32) - 1, "unsigned int"), ("4294967296u", 1 << 32, "unsigned long"),
    ("9223372036854775807", (1 << 63) - 1, "long"), ("0x8000000000000000L", 1 << 63, "unsigned long"),
])
def test_literals_read_as_c_reads_them(text, value, ctype):
    assert ex.evaluate_typed(ex.parse(text, AT), lambda node: 0) == (value, ctype)


@pytest.mark.parametrize("text, message", [
    ("08", "invalid digit '8' in octal literal"), ("0779", "invalid digit '9' in octal literal"),
    ("1uu", "invalid integer literal"), ("1lLu", "invalid integer literal"), ("1ulu", "invalid integer literal"),
    ("1lll", "invalid integer literal"), ("1Ll", "invalid integer literal"), ("9223372036854775808", "too large for long"),
    ("18446744073709551616u", "does not fit in 64 bits"), ("0x10000000000000000", "does not fit in 64 bits"),
    ("1lL", "invalid integer literal"), ("1lul", "invalid integer literal"), ("1e5", "invalid integer literal"),
    ("0x", "invalid integer literal"), ("0b2", "invalid digit '2' in binary"), ("1__0", "invalid integer literal"),
    ("1_", "invalid integer literal"), ("0xg", "invalid integer literal"), ("1.5", "unexpected '.'"),
])
def test_bad_literals_are_errors(text, message):
    with pytest.raises(SpecError, match=re.escape(message)):
        ex.parse(text, AT)


_C_ISH = st.text(alphabet="0123456789xXbBoOuUlLeE_abcfAF ()+-*/%<>=!&|^~?:,.[]'\"\\\t\n\u202e\x00",
                 max_size=60)


def _lookup(node) -> int:
    return 1 << 62 if isinstance(node, ex.Ref) and node.name.startswith("b") else 3


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_C_ISH)
def test_expressions_fail_only_with_spec_errors(text):
    try:
        tree = ex.parse(text, AT)
        ex.evaluate(tree, _lookup)
        ex.render(tree)
    except SpecError as error:
        assert len(error.problems) == 1 and "\n" not in str(error.problems[0])


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(["0", "07", "08", "0x", "1", "9", "u", "U", "l", "L", "_", "x", "b", "o", "e",
                                 "(", ")", "-", "~", "!", "<<", ">>", "*", "/", "%", "?", ":", "sizeof", " "]),
                max_size=25).map("".join))
def test_token_soup_fails_only_with_spec_errors(text):
    try:
        ex.evaluate(ex.parse(text, AT), _lookup)
    except SpecError:
        pass


# ---- the reserved tables against what the generated code really defines ---------------------------

_SPECS = [ROOT / "spec" / "sysmsg.yaml", *sorted((ROOT / "tests" / "cases").glob("*/spec.yaml"))]
_GO_DECL = re.compile(r"^(?:func|type|var|const)\s+([A-Za-z_]\w*)", re.MULTILINE)
_GO_BLOCK = re.compile(r"^(?:const|var) \($(.*?)^\)", re.MULTILINE | re.DOTALL)
_GO_IMPORTS = re.compile(r"^import \($(.*?)^\)|^import (\"[^\"]+\")", re.MULTILINE | re.DOTALL)
_C_DECL = re.compile(r"^#define ([A-Za-z_]\w*)|^(?:struct|union|enum) ([A-Za-z_]\w*) \{|"
                     r"^[A-Za-z_][\w \*]*?\b([A-Za-z_]\w*)\(|^\s+([A-Za-z_]\w*)(?: = [^;]*)?,\s*(?:/\*.*)?$",
                     re.MULTILINE)


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """(spec, folder) for every spec: sysmsg and each fuzz-found case, generated once."""
    from codegen import pipeline
    built = []
    for index, path in enumerate(_SPECS):
        out = tmp_path_factory.mktemp(f"gen{index}")
        spec, _ = pipeline.build(str(path))
        for name, text in pipeline.generate(str(path), str(out)).items():
            (out / name).parent.mkdir(parents=True, exist_ok=True)
            (out / name).write_text(text, encoding="utf-8")
        built.append((spec, out))
    return built


def _uncovered(names: set, target: str) -> set:
    from codegen import naming
    return {n for n in names if not naming.generated_clash(target, n) and n not in naming.RESERVED[target]}


def _top_level(spec, target: str) -> set:
    own = {getattr(d.names, target) for d in (*spec.constants, *spec.enums, *spec.structs)}
    own |= {getattr(v.names, target) for e in spec.enums for v in e.values}
    return own


def test_python_modules_define_only_reserved_names(generated):
    import importlib
    import sys
    for spec, out in generated:
        sys.path.insert(0, str(out / "python"))
        try:
            modules = [importlib.import_module(f"{spec.name}.{v.key}") for v in spec.combinations]
            modules.append(importlib.import_module(f"{spec.name}.native"))  # the package holds no spec names
            own = _top_level(spec, "python") | {s.names.python + suffix for s in spec.structs
                                                for suffix in ("View", "Value")}
            for module in modules:
                assert not _uncovered(set(dir(module)) - own, "python"), (spec.name, module.__name__)
        finally:
            sys.path.remove(str(out / "python"))
            for name in [m for m in sys.modules if m == spec.name or m.startswith(spec.name + ".")]:
                del sys.modules[name]


def test_go_packages_define_only_reserved_names(generated):
    for spec, out in generated:
        if "go" not in spec.targets:
            continue
        names = set()
        for source in (out / "go").rglob("*.go"):
            text = source.read_text(encoding="utf-8")
            names |= set(_GO_DECL.findall(text))
            for block in _GO_BLOCK.findall(text):
                names |= set(re.findall(r"^\t([A-Za-z_]\w*)\b", block, re.MULTILINE))
            for block, single in _GO_IMPORTS.findall(text):
                names |= {path.strip('"').rsplit("/", 1)[-1] for path in re.findall(r"\"[^\"]+\"", block + single)}
        assert names, spec.name
        assert not _uncovered(names - _top_level(spec, "go") - {"_"}, "go"), spec.name


def test_c_files_define_only_reserved_names(generated):
    for spec, out in generated:
        names = set()
        for source in (out / "c").iterdir():
            for groups in _C_DECL.findall(source.read_text(encoding="utf-8")):
                names |= {name for name in groups if name}
        own = _top_level(spec, "c") | {p.c_macro for p in spec.params}
        own |= {"k" + v.names.c for e in spec.enums for v in e.values}
        assert not _uncovered(names - own, "c"), spec.name
