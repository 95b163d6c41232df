"""A spec's prose reaches every output as data (issue 15, item 1).

Property tests give each escape of `codegen/escape.py` arbitrary text, weighted toward what
ends comments and strings or starts directives, links and tags, and let the real consumer
judge the result: gcc's preprocessor and compiler (-std=c11, so trigraphs count, and -Werror),
Python's parser and tokenizer, Go's vet and gofmt, an XML parser. Markdown has no renderer
here, so a small CommonMark reading checks that nothing in the text is left active.
Then `tests/hostile/prose_everywhere.yaml`, whose every doc carries such payloads, is generated
(from a file whose name is hostile too) and every output is built, imported and vetted.
"""
from __future__ import annotations

import ast
import io
import os
import re
import shutil
import subprocess
import sys
import tokenize
import xml.etree.ElementTree as ET

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from codegen import escape as esc
from codegen import pipeline
from codegen.check.go import go_env
from codegen.targets import common
from conftest import ROOT, compile_c, compiler, run_cli

PROPERTY = settings(derandomize=True, deadline=None, database=None, max_examples=200,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
# Batches for the tests that run a real tool: few examples, many texts each.
BATCH = settings(PROPERTY, max_examples=5)

_TOKENS = ["*/", "/*", "*", "/", "??", "?", "??/", "??=", "\\", '"', "'", '"""', "'''", "\n", "\r", "\r\n",
           "\t", "\x0b", "\x0c", "\x1c", "\x85", "\u2028", "\u2029", "\x00", "\x7f", "\ufeff", "\u202e",
           "\u2066", "\ud800", "\U0001f600", "`", "``", "```", "''", "[", "]", "(", ")", "](", "![", "<", ">",
           "&", "&lt;", "|", "_", "__", "~~", "#", "# ", "-", "- ", "=", "1.", "1)", "+build", "go:build",
           "//", "//go:build", "line ", "export ", "extern ", "#cgo", "[x]: ", "-->", "--!>", "<!--", " ",
           "    ", "\n\n", "javascript:", "coding:utf_7", "-*- coding=latin-1 -*-", "#define X 1", "Heading", "Old Heading", "a", "Z", "é", ".", "'s"]
_TOKEN_TEXT = st.lists(st.one_of(st.sampled_from(_TOKENS), st.text(max_size=3)), max_size=25).map("".join)
# What matters most at the start of a line (directives, Markdown blocks, headings).
_LEADS = ["+build", "go:build", "line ", "export ", "extern ", "#cgo", "[x]: ", "# ", "- ", "1. ", "=", "*/",
          '"""', "\\", "Old Heading", "\n\nOld Heading\n\n", "coding:utf_7 "]
# Arbitrary text; text made of the tokens above; and such text led by a line start or a token.
TEXTS = st.one_of(st.text(max_size=40), _TOKEN_TEXT,
                  st.tuples(st.sampled_from(_LEADS), _TOKEN_TEXT).map("".join),
                  st.tuples(st.sampled_from(_TOKENS), _TOKEN_TEXT).map("".join))


# ---- C and assembly --------------------------------------------------------

C_WARNINGS = ["-std=c11", "-Wall", "-Wextra", "-Wcomment", "-Wtrigraphs", "-Werror"]


def _c_file(texts: list) -> tuple:
    """C text with each doc as a block comment, one-line comments and a trailing comment, plus
    a string literal of it whose size is asserted; and the code that alone must survive."""
    source, code = [], []
    for index, text in enumerate(texts):
        lines = esc.c_comment_lines(text, 30)
        source += ["/*"] + [f" * {line}".rstrip() for line in lines] + [" */", f"int block{index};"]
        source += [f"/* {line} */" for line in lines if line] + [f"int line{index};"]
        source.append(f"int trailing{index};  /* {esc.c_comment(text)} */")
        size = len(text.encode("utf-8", "backslashreplace")) + 1
        source.append(f'_Static_assert(sizeof("{esc.c_string(text)}") == {size}, "c_string");')
        code += [f"int block{index};", f"int line{index};", f"int trailing{index};", source[-1]]
    return "\n".join(source) + "\n", code


@BATCH
@given(st.lists(TEXTS, min_size=40, max_size=40))
def test_c_comments_stay_comments(tmp_path_factory, texts):
    """gcc sees exactly the declarations: every comment ends where it should, nothing else
    (no directive, no code, no second comment) comes out of one, and no warning is raised."""
    folder = tmp_path_factory.mktemp("c")
    source, code = _c_file(texts)
    path = folder / "docs.c"
    path.write_text(source, encoding="utf-8")
    pre = subprocess.run([compiler("amd64"), *C_WARNINGS, "-E", "-P", str(path)], capture_output=True, text=True)
    assert pre.returncode == 0, pre.stderr
    assert pre.stdout.split() == " ".join(code).split()
    built = subprocess.run([compiler("amd64"), *C_WARNINGS, "-c", "-o", str(folder / "docs.o"), str(path)],
                           capture_output=True, text=True)
    assert built.returncode == 0, built.stderr


@BATCH
@given(st.lists(TEXTS, min_size=40, max_size=40))
def test_assembly_comments_stay_comments(tmp_path_factory, texts):
    """The offsets header is preprocessed assembly: its comments hide their text there too."""
    folder = tmp_path_factory.mktemp("asm")
    source, code = [], []
    for index, text in enumerate(texts):
        source += [f"/* {line} */" for line in esc.c_comment_lines(text, 30) if line] + [f"#define OFF{index} {index}"]
        code.append(f".byte OFF{index}")
    path = folder / "offsets.S"
    path.write_text("\n".join(source + code) + "\n", encoding="utf-8")
    for arch in ("amd64", "arm64"):
        result = subprocess.run([compiler(arch), "-Werror", "-Wall", "-c", "-o", str(folder / f"{arch}.o"), str(path)],
                                capture_output=True, text=True)
        assert result.returncode == 0, result.stderr


@PROPERTY
@given(TEXTS)
def test_c_comment_text_cannot_end_or_nest(text):
    for line in esc.c_comment_lines(text, 20) + [esc.c_comment(text)]:
        assert "*/" not in line and "/*" not in line and "??" not in line
        assert all(char == " " or char.isprintable() for char in line)


# ---- Python ----------------------------------------------------------------


def _words(text: str) -> list:
    return text.split()


@PROPERTY
@given(TEXTS)
def test_python_docstring_reads_back_as_the_text(text):
    """As the one statement of a module, alone or followed by more lines (both templates),
    the docstring is exactly the text, whitespace aside: nothing closes it early, no escape in
    it changes a character, and it does not end in a backslash or a quote."""
    body = esc.python_docstring(text)
    value = ast.literal_eval(f'"""{body}"""')
    assert _words(value) == _words(text)
    assert all(char == " " or not char.isspace() for char in value)
    for source, whole in ((f'"""{body}"""\n', value), (f'"""{body}\n\nMore.\n"""\nx = 1\n', value + "\n\nMore.\n")):
        tree = ast.parse(source)
        assert isinstance(tree.body[0], ast.Expr) and tree.body[0].value.value == whole
        assert len(tree.body) == source.count("x = 1") + 1


# How CPython finds a PEP 263 encoding declaration in a comment on the first two lines.
_PY_CODING = re.compile(r"^[ \t\f]*#.*?coding[:=][ \t]*([-_.a-zA-Z0-9]+)")


@PROPERTY
@given(TEXTS)
@example("coding:utf_7")
def test_python_comment_is_one_comment(text):
    for line in esc.python_comment_lines(text, 20) + [esc.python_comment(text)]:
        assert not _PY_CODING.match(f"# {line}")
        source = f"x = 1  # {line}\ny = 2\n"
        assert [type(node) for node in ast.parse(source).body] == [ast.Assign, ast.Assign]
        comments = [t.string for t in tokenize.generate_tokens(io.StringIO(source).readline)
                    if t.type == tokenize.COMMENT]
        assert comments == [f"# {line}"]


# ---- Go --------------------------------------------------------------------

# A comment line Go (or cgo, or an older Go) could take for a directive or build constraint;
# also checked with the space after `//` gone, in case a tool strips it.
_GO_DIRECTIVE = re.compile(r"//(go:|line |export |extern |[a-z0-9]+:[a-z0-9]|\s*\+build)|\s*#cgo")
_GO_GENERATED = re.compile(r"// Code generated .* DO NOT EDIT\.")


@PROPERTY
@given(TEXTS)
@example("go:build ignore")
@example("a long line that wraps so that +build ignore starts one")
def test_go_comment_is_never_a_directive(text):
    for line in esc.go_comment_lines(text, 20) + [esc.go_comment(text)]:
        for comment in (f"// {line}", f"//{line}"):
            assert not _GO_DIRECTIVE.match(comment)
            assert all(char == " " or char.isprintable() for char in comment)
    first = "// " + esc.go_comment(f"Code generated by layoutgen from {esc.label(text)}. DO NOT EDIT.")
    assert _GO_GENERATED.fullmatch(first)


@BATCH
@given(st.lists(TEXTS, min_size=40, max_size=40))
def test_go_comments_vet_and_stay_gofmt_clean(tmp_path_factory, texts):
    """As doc comments of constants and of the package, the lines vet and gofmt leaves them be."""
    folder = tmp_path_factory.mktemp("go")
    lines = ["// " + esc.go_comment("Code generated by a test. DO NOT EDIT."), ""]
    lines += [f"// {line}" if line else "//" for line in esc.go_comment_lines("Package docs holds.\n\n"
                                                                              + "\n\n".join(texts), 40)]
    lines += ["package docs", ""]
    for index, text in enumerate(texts):
        lines += [f"// {line}" if line else "//" for line in esc.go_comment_lines(f"C{index} is.\n\n{text}", 40)]
        lines += [f"const C{index} = {index}", ""]
    (folder / "docs.go").write_text("\n".join(lines), encoding="utf-8")
    (folder / "go.mod").write_text("module example.com/docs\n\ngo 1.19\n")
    env = go_env()
    vet = subprocess.run([shutil.which("go"), "vet", "."], cwd=folder, env=env, capture_output=True, text=True)
    assert vet.returncode == 0, vet.stderr
    fmt = subprocess.run([shutil.which("gofmt"), "-d", "docs.go"], cwd=folder, env=env, capture_output=True, text=True)
    assert fmt.returncode == 0 and not fmt.stdout, fmt.stdout + fmt.stderr


# ---- Markdown, HTML comments, XML ------------------------------------------


def _md_active(text: str, cell: bool) -> list:
    """What CommonMark would act on in one line of our output: the characters outside code
    spans and backslash escapes that could open a tag, link, image, emphasis, code span or
    table cell, a raw `&` that starts an entity we did not write, and a block marker at the start."""
    found = []
    if re.match(r"(?:[#+=>-]|\d+[.)]|\s)", text):
        found.append("block start")
    at = 0
    while at < len(text):
        char = text[at]
        if char == "\\":
            at += 2
            continue
        if char == "`":
            run = re.match(r"`+", text[at:])[0]
            close = re.search(rf"(?<!`){run}(?!`)", text[at + len(run):])
            if close is None:
                found.append("unpaired backtick")
                at += len(run)
                continue
            content = text[at + len(run):at + len(run) + close.start()]
            if cell and re.search(r"(?<!\\)\|", content):
                found.append("pipe in a code span")
            at += len(run) + close.end()
            continue
        if char in "<>[]|*~":
            found.append(char)
        if char == "_" and (at == 0 or not text[at - 1].isalnum() or at + 1 == len(text) or not text[at + 1].isalnum()):
            found.append("_ at a word's edge")
        if char == "&" and not re.match(r"&(amp|lt|gt);", text[at:]):
            found.append("&")
        at += 1
    return found


@PROPERTY
@given(TEXTS)
def test_markdown_is_plain_text(text):
    for cell in (False, True):
        out = esc.markdown(text, cell=cell)
        assert "\n" not in out and all(char == " " or char.isprintable() for char in out)
        assert _md_active(out, cell) == [], out
    for line in esc.markdown_paragraphs(text).split("\n"):
        assert _md_active(line, False) == [], line


def test_markdown_keeps_code_spans_and_kills_links():
    assert esc.markdown("The `push %es` opcode") == "The `push %es` opcode"
    assert esc.markdown_cell("`a | b`") == "`a \\| b`"
    assert esc.markdown("[x](javascript:alert(1))") == "\\[x\\](javascript:alert(1))"
    assert esc.markdown("<script>alert(1)</script>") == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert esc.markdown("1. one") == "1\\. one"
    assert esc.markdown("see page_size and __init__") == "see page_size and \\_\\_init\\_\\_"


@PROPERTY
@given(TEXTS)
def test_html_comment_and_xml(text):
    comment = esc.html_comment(text)
    assert ">" not in comment and "\n" not in comment
    element = ET.fromstring(f"<t>{esc.xml(text)}</t>")
    assert len(element) == 0 and _words(element.text or "") == _words(esc.printable(" ".join(text.split())))


@PROPERTY
@given(TEXTS)
def test_label_is_one_printable_line(text):
    label = esc.label(text)
    assert all(char == " " or char.isprintable() for char in label)
    assert ast.literal_eval('"' + label.replace('"', '\\"') + '"') == text  # repr-style: nothing lost


# ---- the templates refuse raw prose ----------------------------------------


def test_templates_refuse_a_raw_doc():
    template = common._ENV.from_string("/* {{ doc }} */")
    with pytest.raises(TypeError, match="unescaped"):
        template.render(doc=esc.Prose("*/ int pwned; /*"))
    assert template.render(doc=esc.c_comment(esc.Prose("*/ x"))) == "/* * / x */"


def test_every_doc_is_prose():
    """Every `doc:` the resolver reads comes out marked, so the templates' check applies to all."""
    spec, _ = pipeline.build(HOSTILE)
    docs = [spec.doc] + [p.doc for p in spec.params] + [c.doc for c in spec.constants] + [a.doc for a in spec.asserts]
    docs += [e.doc for e in spec.enums] + [v.doc for e in spec.enums for v in e.values]
    docs += [s.doc for s in spec.structs] + [m.doc for s in spec.structs for m in s.members]

    def regions(region):
        return [region.doc] + [doc for part in region.parts for doc in regions(part)]
    docs += [doc for region in spec.regions for doc in regions(region)]
    assert len(docs) > 25 and all(isinstance(doc, esc.Prose) for doc in docs)
    assert all("pwned" in doc for doc in docs)  # every site of the spec has its payload


# ---- a hostile spec, generated and built -----------------------------------

HOSTILE = os.path.join(ROOT, "tests", "hostile", "prose_everywhere.yaml")
MARKER = "/tmp/layoutgen-hostile-pwned"
# A spec path that is hostile too (relative to where layoutgen runs, as banners print it).
HOSTILE_PATH = ("evil\n*", ' """ -->\n', "coding:utf_7 go:build ignore ??\\.yaml")


@pytest.fixture(scope="module")
def hostile_out(tmp_path_factory):
    if os.path.exists(MARKER):
        os.remove(MARKER)
    folder = tmp_path_factory.mktemp("hostile")
    spec = folder.joinpath(*HOSTILE_PATH)
    spec.parent.mkdir(parents=True)
    shutil.copy(HOSTILE, spec)
    result = run_cli("generate", "--spec", os.path.join(*HOSTILE_PATH), "--out", str(folder / "out"), cwd=folder)
    assert result.returncode == 0, result.stderr
    return folder / "out"


def _read(path) -> str:
    return path.read_text(encoding="utf-8")


def test_hostile_c_outputs_build(hostile_out, tmp_path):
    c_dir = str(hostile_out / "c")
    program = tmp_path / "main.c"
    program.write_text('#include "hostile.h"\n#include "hostile_offsets.h"\nint main(void) { return 0; }\n')
    assembly = tmp_path / "offsets.S"
    assembly.write_text('#include "hostile_offsets.h"\n.byte sizeof_record\n')
    for arch in ("amd64", "arm64"):
        for mode in ("1", "2"):
            result = compile_c(arch, str(hostile_out / "c" / "hostile_layout_test.c"), f"-DHOSTILE_MODE={mode}",
                               "-c", "-o", str(tmp_path / f"test_{arch}_{mode}.o"), include=c_dir)
            assert result.returncode == 0, result.stderr
        for std in ("-std=c11", "-std=gnu11"):  # c11: trigraphs are on
            result = compile_c(arch, str(program), std, "-c", "-o", str(tmp_path / f"main_{arch}.o"), include=c_dir)
            assert result.returncode == 0, result.stderr
        result = compile_c(arch, str(assembly), "-c", "-o", str(tmp_path / f"asm_{arch}.o"), include=c_dir)
        assert result.returncode == 0, result.stderr
    linked = compile_c("amd64", str(program), "-o", str(tmp_path / "main"), include=c_dir)
    assert linked.returncode == 0, linked.stderr
    assert subprocess.run([str(tmp_path / "main")]).returncode == 0
    assert not os.path.exists(MARKER)
    header = _read(hostile_out / "c" / "hostile.h")
    nm = subprocess.run(["nm", str(tmp_path / "main")], capture_output=True, text=True).stdout
    assert "pwn" not in nm
    assert "* / extern int system(const char *); __attribute__((constructor)) static void" in header
    assert 'from evil\\n* / """ -->\\n/coding:utf_7 go:build ignore ? ?\\\\.yaml; DO NOT EDIT.' in header


def test_hostile_python_imports(hostile_out):
    package = hostile_out / "python"
    modules = sorted(p.stem for p in (package / "hostile").glob("*.py"))
    code = ("import importlib, sys\n"
            f"for name in {modules!r}:\n"
            "    importlib.import_module('hostile.' + name)\n"
            "import hostile, hostile.amd64 as m\n"
            "print(hostile.__doc__)\nprint(m.Kind.__doc__)\nprint(m.RecordView.id.__doc__)\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=package, capture_output=True, text=True,
                            env=dict(os.environ, PYTHONPATH=str(package)))
    assert result.returncode == 0, result.stderr
    assert not os.path.exists(MARKER)
    assert result.stdout.count('"""\nimport') == 0
    assert result.stdout.count('""" import os; os.system("touch /tmp/layoutgen-hostile-pwned") """') == 3
    assert result.stdout.count("ends with a backslash \\\n") == 3
    assert result.stdout.count('coding:utf_7 +AAo-import os; os.system("touch') == 3
    for path in (package / "hostile").glob("*.py*"):
        text = _read(path)
        ast.parse(text)  # the stubs too
        assert "from evil\\n*/ \"\"\" -->\\n/coding :utf_7 go:build" in text.splitlines()[0]
        assert not any(_PY_CODING.match(line) for line in text.splitlines()[:2])


def test_hostile_go_vets(hostile_out):
    folder = hostile_out / "go" / "hostile"
    env = go_env()
    for tags in ([], ["-tags=hostile_mode_2"]):
        vet = subprocess.run([shutil.which("go"), "vet", *tags, "./..."], cwd=folder, env=env,
                             capture_output=True, text=True)
        assert vet.returncode == 0, vet.stderr
    fmt = subprocess.run([shutil.which("gofmt"), "-l", "."], cwd=folder, env=env, capture_output=True, text=True)
    assert fmt.returncode == 0 and not fmt.stdout, fmt.stdout + fmt.stderr
    assert not os.path.exists(MARKER)
    for path in folder.glob("*.go"):
        text = _read(path)
        assert _GO_GENERATED.fullmatch(text.splitlines()[0])
        for line in text.splitlines():
            assert not re.match(r"\s*//(go:build ignore|line |\s*\+build)|\s*func init", line), (path, line)
    assert "func init() { panic(\"pwned\") }" in _read(folder / "hostile.go")


def test_hostile_docs_are_plain_text(hostile_out):
    text = _read(hostile_out / "docs" / "hostile.md")
    assert "<script" not in text and "<img" not in text and "<javascript" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; \\[x\\](javascript:alert(1))" in text
    assert text.index("-->") == text.index("\n-->\n") + 1  # the banner's HTML comment ends where it should
    assert not re.search(r"(?<!\\)\]\((javascript|x)", text)
    for svg in (hostile_out / "docs").rglob("*.svg"):
        root = ET.fromstring(_read(svg))
        assert not [e for e in root.iter() if e.tag.endswith("script")]
