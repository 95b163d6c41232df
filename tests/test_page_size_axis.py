"""Issue 11: a second variant axis. Spec parameters (a page size of 4096, 16384 or 65536)
that constants, struct sizes and regions depend on, and the conditional operator that
writes upstream systrap's 64K-page rule (`page_size == 65536 ? 5 : 8` pages per thread).

The example spec, tests/cases/page_size_axis, also runs through every generic test of the
cases (gcc, DWARF, Go, the tools); here each combination is checked on its own: the
engine's values, the C header selected with -D on both arches, one Python module per
combination, the drift gate, and a region that only overflows at 64K pages.
"""
from __future__ import annotations

import importlib
import os
import sys

import pytest

from codegen import expr as ex
from codegen.layout import layout_all, layout_combinations
from codegen import pipeline
from codegen.check import c_asserts, dwarf
from codegen.errors import Pos, SpecError
from codegen.ir import Variant
import programs
from conftest import ARCHS, ROOT, SPEC, compile_c, run_cli

CASE = os.path.join(ROOT, "tests", "cases", "page_size_axis", "spec.yaml")
PAGE_SIZES = (4096, 16384, 65536)
KEYS = {4096: "", 16384: "_16k", 65536: "_64k"}


@pytest.fixture(scope="module")
def built():
    spec, layouts = pipeline.build(CASE)
    return spec, layout_combinations(spec)


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pagex") / "out"
    result = run_cli("generate", "--spec", CASE, "--out", str(folder))
    assert result.returncode == 0, result.stderr
    return folder


@pytest.fixture(scope="module")
def modules(out):
    sys.path.insert(0, str(out / "python"))
    yield lambda key: importlib.import_module(f"pagex.{key}")
    sys.path.remove(str(out / "python"))
    for name in [m for m in sys.modules if m == "pagex" or m.startswith("pagex.")]:
        del sys.modules[name]


def define(size: int) -> str:
    return f"-DPAGEX_PAGE_SIZE={size}"


# ---- the engine ----------------------------------------------------------------------------


def test_every_combination_is_laid_out_with_the_default_under_the_plain_arch_name(built):
    spec, combos = built
    assert list(combos) == [f"{arch}{KEYS[size]}" for arch in spec.archs for size in PAGE_SIZES]
    assert [v.key for v in spec.variants] == list(spec.archs)  # what the per-arch targets render
    for key, layout in combos.items():
        assert layout.variant.key == key
        assert layout.variant.is_default == (key in spec.archs)


@pytest.mark.parametrize("size", PAGE_SIZES)
@pytest.mark.parametrize("arch", ARCHS)
def test_engine_values_follow_the_64k_rule(built, arch, size):
    _, combos = built
    layout = combos[f"{arch}{KEYS[size]}"]
    pages = 5 if size == 65536 else 8
    assert layout.variant.params == (("page_size", size),)
    assert layout.constants["PAGE_SIZE"] == size
    assert layout.constants["PER_THREAD_PAGES"] == pages
    assert layout.constants["PER_THREAD_SIZE"] == pages * size
    regions = {".".join(r.path): (r.offset, r.size) for r in layout.regions}
    assert regions["Stub"] == (0, 4 * pages * size)
    assert regions["Stub.thread0.stack"] == (size, (pages - 1) * size)
    assert layout.structs["Msg"].size == 8 + 8 * pages


def test_a_spec_without_parameters_keeps_one_combination_per_arch_named_by_arch():
    spec, layouts = pipeline.build(SPEC)
    assert spec.params == ()
    assert spec.combinations == spec.variants == tuple(Variant(arch) for arch in spec.archs)
    assert layout_combinations(spec).keys() == layouts.keys()


def test_combination_keys_name_only_the_non_default_values():
    both = (("page_size", 65536), ("cache", 128))
    assert Variant("arm64", (("page_size", 65536),), frozenset()).key == "arm64_64k"
    assert Variant("arm64", (("page_size", 4096),), frozenset({"page_size"})).key == "arm64"
    assert Variant("amd64", both, frozenset({"cache"})).key == "amd64_page_size_64k"
    assert Variant("amd64", both, frozenset()).key == "amd64_page_size_64k_cache_128"


# ---- the conditional operator, against gcc -------------------------------------------------

EXPRESSIONS = [
    "1 ? 2 : 3", "0 ? 2 : 3", "0 ? 1 : 0 ? 5 : 6", "1 ? 0 ? 7 : 8 : 9", "(1 ? 2 : 3) * 4",
    "1 + 1 == 2 ? 5 : 8", "1 || 0 ? 4 : 5", "2 > 3 ? 10 : 3 > 2 ? 20 : 30", "-1 ? ~0 : 1",
    "65536 == 65536 ? 5 : 8", "4096 == 65536 ? 5 : 8", "(0 ? 1 : 2) ? (3 ? 4 : 5) : 6",
]


@pytest.mark.parametrize("arch", ARCHS)
def test_conditional_precedence_and_associativity_match_gcc(tmp_path, arch):
    pos = Pos("t", 1, 1)
    lines = [f"_Static_assert(({text}) == {ex.evaluate(ex.parse(text, pos), None)}, \"{text}\");"
             for text in EXPRESSIONS]
    source = tmp_path / "cond.c"
    source.write_text("\n".join(lines) + "\n")
    result = compile_c(arch, str(source), "-c", "-o", str(tmp_path / "cond.o"))
    assert result.returncode == 0, result.stderr


def test_conditional_evaluates_only_the_chosen_branch():
    pos = Pos("t", 1, 1)
    assert ex.evaluate(ex.parse("0 ? 1 / 0 : 7", pos), None) == 7
    with pytest.raises(SpecError, match="division by zero"):
        ex.evaluate(ex.parse("1 ? 1 / 0 : 7", pos), None)


def test_a_long_chain_of_conditionals_is_refused_not_a_recursion_error():
    text = "1 ? " * 150 + "1" + " : 1" * 150
    with pytest.raises(SpecError, match="nested too deeply"):
        ex.parse(text, Pos("t", 1, 1))


# ---- C: one header, the combination picked with a macro ------------------------------------


@pytest.mark.parametrize("size", PAGE_SIZES)
@pytest.mark.parametrize("arch", ARCHS)
def test_c_layout_asserts_compile_for_every_combination(out, arch, size):
    assert c_asserts.compile_layout_test(str(out), "pagex", arch, [define(size)]) == []


@pytest.mark.parametrize("size", PAGE_SIZES)
@pytest.mark.parametrize("arch", ARCHS)
def test_c_header_and_offsets_give_the_engine_values(out, built, tmp_path, arch, size):
    _, combos = built
    layout = combos[f"{arch}{KEYS[size]}"]
    source = tmp_path / "probe.c"
    source.write_text(
        '#include <stddef.h>\n#include "pagex.h"\n'
        f"_Static_assert(PER_THREAD_PAGES == {layout.constants['PER_THREAD_PAGES']}, \"pages\");\n"
        f"_Static_assert(PER_THREAD_SIZE == {layout.constants['PER_THREAD_SIZE']}, \"size\");\n"
        f"_Static_assert(sizeof(struct msg) == {layout.structs['Msg'].size}, \"msg\");\n")
    result = compile_c(arch, str(source), define(size), "-c", "-o", str(tmp_path / "probe.o"),
                       include=str(out / "c"))
    assert result.returncode == 0, result.stderr
    offsets = tmp_path / "probe.S"  # the offsets header is for assembly: plain numbers only
    offsets.write_text(f'#include "pagex_offsets.h"\n.if PER_THREAD_PAGES != {layout.constants["PER_THREAD_PAGES"]}\n'
                       '.error "wrong PER_THREAD_PAGES"\n.endif\n')
    result = compile_c(arch, str(offsets), define(size), "-c", "-o", str(tmp_path / "probe_s.o"),
                       include=str(out / "c"))
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("arch", ARCHS)
def test_c_header_without_the_macro_is_the_default_and_an_undeclared_value_is_an_error(out, tmp_path, arch):
    source = tmp_path / "probe.c"
    source.write_text('#include "pagex.h"\n_Static_assert(PAGEX_PAGE_SIZE == 4096 && PER_THREAD_PAGES == 8, "d");\n')
    ok = compile_c(arch, str(source), "-c", "-o", str(tmp_path / "a.o"), include=str(out / "c"))
    assert ok.returncode == 0, ok.stderr
    bad = compile_c(arch, str(source), define(8192), "-c", "-o", str(tmp_path / "b.o"), include=str(out / "c"))
    assert bad.returncode != 0
    assert "PAGEX_PAGE_SIZE must be one of 4096, 16384, 65536" in bad.stderr


def test_the_asserts_gate_checks_the_non_default_combinations(out, tmp_path):
    """A wrong value in the 64K branch only: the default compiles, the 64K combination fails."""
    broken = tmp_path / "broken"
    os.makedirs(broken / "c")
    for name in os.listdir(out / "c"):
        text = (out / "c" / name).read_text()
        if name == "pagex.h":
            assert text.count("#define PER_THREAD_PAGES 5") == 1
            text = text.replace("#define PER_THREAD_PAGES 5", "#define PER_THREAD_PAGES 6")
        (broken / "c" / name).write_text(text)
    assert c_asserts.compile_layout_test(str(broken), "pagex", "amd64", [define(4096)]) == []
    problems = c_asserts.compile_layout_test(str(broken), "pagex", "arm64", [define(65536)], "arm64_64k")
    assert problems and "arm64_64k" in problems[0]


def test_dwarf_is_read_back_for_every_combination(out, built):
    spec, combos = built
    outcome = dwarf.cross_check(spec, pipeline.build(CASE)[1], str(out))
    assert outcome.problems == ()
    assert sorted(outcome.counts) == sorted(combos)
    assert all(counts.structs == 1 for counts in outcome.counts.values())


# ---- Python: one module per combination ----------------------------------------------------


@pytest.mark.parametrize("size", PAGE_SIZES)
@pytest.mark.parametrize("arch", ARCHS)
def test_python_module_per_combination(modules, built, arch, size):
    _, combos = built
    key = f"{arch}{KEYS[size]}"
    layout, module = combos[key], modules(key)
    pages = layout.constants["PER_THREAD_PAGES"]
    assert module.ARCH == arch and module.PARAMS == {"page_size": size}
    assert (module.PAGE_SIZE, module.PER_THREAD_PAGES, module.PER_THREAD_SIZE) == (
        size, pages, layout.constants["PER_THREAD_SIZE"])
    assert module.Msg.sizeof() == module.Msg.reference.sizeof() == layout.structs["Msg"].size
    value = {"state": 1, "err": -2, "stack_pages": list(range(10, 10 + pages))}
    data = module.Msg.build(value)
    assert len(data) == 8 + 8 * pages
    parsed = module.Msg.parse(data)
    assert (parsed.state, parsed.err, list(parsed.stack_pages)) == (1, -2, value["stack_pages"])


def test_python_package_lists_every_combination(modules):
    package = importlib.import_module("pagex")
    for key in ("amd64", "amd64_16k", "amd64_64k", "arm64", "arm64_16k", "arm64_64k"):
        assert hasattr(package, key)
    assert package.ARCHS == tuple(pipeline.build(CASE)[0].archs)


# ---- Go: build tags select the combination -------------------------------------------------

GO_PROGRAM = """\
package main

import (
	"fmt"
	"unsafe"

	"layoutgen.example/generated/pagex"
)

func main() {
	var m pagex.Msg
	fmt.Println(pagex.PageSize, pagex.PerThreadPages, pagex.PerThreadSize, unsafe.Sizeof(m), len(m.StackPages))
}
"""


@pytest.fixture(scope="module")
def go_program(out, tmp_path_factory):
    return programs.go_client(tmp_path_factory.mktemp("pagex_client"), out / "go" / "pagex", "pagex", GO_PROGRAM)


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("size", PAGE_SIZES)
def test_a_go_program_built_with_the_tag_gets_that_combination(go_program, built, arch, size):
    """A real program compiled for each arch with the combination's tag (none for the default)
    prints the engine's numbers for that combination."""
    spec, layouts = built
    layout = layouts[arch + KEYS[size]]
    from codegen.targets import go as go_target
    tags = go_target.build_tags(spec, layout.variant)
    assert tags == ([] if size == 4096 else [f"pagex_page_size_{KEYS[size][1:]}"])
    build = programs.build_go(go_program, arch, tags)
    assert build.returncode == 0, build.stderr
    printed = programs.run(go_program / f"program_{arch}", arch)
    pages = layout.constants["PER_THREAD_PAGES"]
    expected = [size, pages, layout.constants["PER_THREAD_SIZE"], layout.structs["Msg"].size, pages]
    assert printed.split() == [str(n).encode() for n in expected]


def test_two_tags_of_one_parameter_do_not_compile(go_program):
    result = programs.build_go(go_program, "amd64", ["pagex_page_size_16k", "pagex_page_size_64k"])
    assert result.returncode != 0
    assert "redeclared" in result.stderr


def test_go_files_per_combination_carry_their_constraint(out, built):
    spec, layouts = built
    folder = out / "go" / "pagex"
    default = "//go:build !pagex_page_size_16k && !pagex_page_size_64k"
    for arch in ARCHS:
        assert default in (folder / f"pagex_4k_{arch}.go").read_text()
        assert default in (folder / f"layout_4k_{arch}_test.go").read_text()
        for label in ("16k", "64k"):
            for name in (f"pagex_{label}_{arch}.go", f"layout_{label}_{arch}_test.go"):
                assert f"//go:build pagex_page_size_{label}\n" in (folder / name).read_text()
    doc = " ".join(line.lstrip("/ ") for line in (folder / "pagex.go").read_text().splitlines())
    assert "pagex_page_size_64k for 65536" in doc
    # Msg spells its array length with the Go constant, so one declaration serves every combination.
    assert "StackPages [PerThreadPages]uint64" in (folder / "pagex.go").read_text()


def test_the_go_check_runs_every_combination_and_catches_a_wrong_one(out, built, tmp_path):
    import shutil
    from codegen.check import go as go_check
    spec, _ = built
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    path = copy / "go" / "pagex" / "pagex_64k_arm64.go"
    path.write_text(path.read_text().replace("PerThreadPages = 5", "PerThreadPages = 6"))
    problems = go_check.check(spec, layout_all(spec), str(copy))
    assert len(problems) == 1, problems
    assert "arm64_64k, -tags pagex_page_size_64k" in problems[0]
    assert "constant PER_THREAD_PAGES: Go has 6, the spec says 5" in problems[0]


# ---- the drift gate and bad combinations ---------------------------------------------------


def test_check_passes_on_every_combination(out, tmp_path):
    empty = tmp_path / "no_consumers"
    empty.mkdir()
    result = run_cli("check", "--spec", CASE, "--out", str(out), "--consumers", str(empty))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "everything holds" in result.stdout


BAD = """layoutgen: 1
name: bad
archs: [amd64, arm64]
params:
  page_size: {values: [4096, 16384, 65536], default: 4096}
constants:
  PAGES: "page_size == 65536 ? 5 : 8"
regions:
  Area:
    size: 262144
    parts:
      - {name: msg, offset: 0, size: page_size}
      - {name: stack, offset: page_size, size: (PAGES - 1) * page_size}
"""


def test_a_region_that_overflows_only_at_64k_is_refused_naming_the_combination(tmp_path):
    spec = tmp_path / "bad.yaml"
    spec.write_text(BAD)
    result = run_cli("generate", "--spec", str(spec), "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert not (tmp_path / "out").exists()
    assert result.stderr.startswith(f"{spec}:13:9: region Area.stack ends at 327680, past the end of Area")
    assert "(on amd64_64k: page_size = 65536)" in result.stderr
    # The same spec with 64K pages left out is fine: only that combination breaks it.
    spec.write_text(BAD.replace("[4096, 16384, 65536]", "[4096, 16384]"))
    assert run_cli("generate", "--spec", str(spec), "--out", str(tmp_path / "out")).returncode == 0


IFNDEF = """layoutgen: 1
name: ifn
archs: [amd64, arm64]
params:
  page_size: {values: [4096, 65536], default: 4096, c: IFN_PAGE}
constants:
  PAGE_SIZE: {value: page_size, c_ifndef: true}
  FIXED: {value: 7, c_ifndef: true}
"""


@pytest.mark.parametrize("arch", ARCHS)
def test_an_includer_defined_constant_is_checked_against_its_combination(generate, tmp_path, arch):
    """A `c_ifndef` constant that depends on a parameter is checked under each value: the
    includer's PAGE_SIZE must agree with the selected page size, not with the default."""
    out = generate(IFNDEF)
    source = tmp_path / "probe.c"
    source.write_text('#include "ifn.h"\n')
    for flags, good in (([], True), (["-DIFN_PAGE=65536"], True), (["-DIFN_PAGE=65536", "-DPAGE_SIZE=65536"], True),
                        (["-DIFN_PAGE=65536", "-DPAGE_SIZE=4096"], False), (["-DPAGE_SIZE=65536"], False)):
        result = compile_c(arch, str(source), *flags, "-c", "-o", str(tmp_path / "p.o"), include=str(out / "c"))
        assert (result.returncode == 0) == good, (flags, result.stderr)
    assert c_asserts.compile_layout_test(str(out), "ifn", arch, ["-DIFN_PAGE=65536"]) == []
