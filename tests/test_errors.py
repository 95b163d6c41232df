"""The catalogue of bad specs: every way a spec can be wrong ends the same way.

Each case runs the real CLI, `python -m codegen generate`, and must give exit status 2,
one `FILE:LINE:COL: message` line per problem on stderr (the expected one at the
expected place), no traceback, and no change on disk: an `--out` folder that exists
keeps its bytes, one that does not exist is not created, and no staging folder is
left behind. The file cases run with an existing `--out` only (the writer runs after
every check, so the other state adds time, not coverage); the built ones, the most
hostile inputs, run with both.

Most cases are files in tests/errors/, each starting with a line
`# expect: LINE:COL: text`, where text must appear in the problem reported at LINE:COL.
The rest are built here because a YAML file cannot hold them: missing files, bytes
that are not UTF-8, huge or deeply nested input.
"""
from __future__ import annotations

import gzip
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Union

import pytest

ROOT = Path(__file__).resolve().parents[1]
CASES = ROOT / "tests" / "errors"
EXPECT = re.compile(r"^# expect: (\d+):(\d+): (.+)$")
PROBLEM = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): (?P<message>\S.*)$")
HEADER = "layoutgen: 1\nname: demo\narchs: [amd64, arm64]\n"


# ---- running the CLI and checking the outcome ---------------------------------------------


def _snapshot(folder: Path) -> dict:
    """Every path under `folder`, folders included, with the bytes of each file."""
    return {path.relative_to(folder).as_posix(): path.read_bytes() if path.is_file() else None
            for path in sorted(folder.rglob("*"))}


def _start(spec: Union[str, Path], out: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "codegen", "generate", "--spec", str(spec), "--out", str(out)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            errors="replace")


def run_bad_spec(spec: Union[str, Path], line: int, col: int, text: str, tmp_path: Path,
                 missing_out: bool = False) -> None:
    """Run generate into an existing `--out` (and, at the same time, a missing one) and check each."""
    existing = tmp_path / "existing"
    (existing / "out" / "c").mkdir(parents=True)
    (existing / "out" / "SENTINEL").write_bytes(b"written before the run\n")
    (existing / "out" / "c" / "old.h").write_bytes(b"/* an older output */\n")
    missing = tmp_path / "missing"
    missing.mkdir()
    (missing / "neighbour.txt").write_bytes(b"next to the output folder\n")
    before = {folder: _snapshot(folder) for folder in (existing, missing)}

    folders = (existing, missing) if missing_out else (existing,)
    runs = {folder: _start(spec, folder / "out") for folder in folders}
    for folder, run in runs.items():
        try:
            stdout, stderr = run.communicate(timeout=120)  # a guard against a hang, not a speed test
        except subprocess.TimeoutExpired:
            run.kill()
            raise
        label = f"--out in the {folder.name} folder"
        assert "Traceback" not in stderr and "internal error" not in stderr, f"{label}: crashed:\n{stderr}"
        assert run.returncode == 2, f"{label}: exit status {run.returncode}, stderr:\n{stderr}"
        assert stdout == "", f"{label}: printed on stdout: {stdout!r}"
        _check_problems(stderr, str(spec), line, col, text)
        assert _snapshot(folder) == before[folder], f"{label}: the run changed files on disk"
    assert not (missing / "out").exists()


def _check_problems(stderr: str, spec: str, line: int, col: int, text: str) -> None:
    lines = stderr.splitlines()
    assert lines, "no problem was reported"
    assert len(set(lines)) == len(lines), f"a problem is reported twice:\n{stderr}"
    found = []
    for entry in lines:
        match = PROBLEM.match(entry)
        assert match and match["file"] == spec, f"not a `{spec}:LINE:COL: message` line: {entry!r}"
        assert "(hint: " not in match["message"] or entry.endswith(")"), f"malformed hint: {entry!r}"
        if (int(match["line"]), int(match["col"])) == (line, col):
            found.append(match["message"])
    assert any(text in message for message in found), (
        f"expected a problem at {line}:{col} containing {text!r}; got:\n{stderr}")


# ---- the cases in tests/errors/ --------------------------------------------------------------


def _file_cases() -> list:
    return sorted(CASES.glob("*.yaml"))


@pytest.mark.parametrize("case", _file_cases(), ids=lambda path: path.stem)
def test_bad_spec_file(case: Path, tmp_path: Path) -> None:
    first = case.read_text(encoding="utf-8").split("\n", 1)[0]
    expect = EXPECT.match(first)
    assert expect, f"{case.name} must start with `# expect: LINE:COL: text`"
    run_bad_spec(case.relative_to(ROOT).as_posix(), int(expect[1]), int(expect[2]), expect[3], tmp_path)


# ---- cases built here ------------------------------------------------------------------------


@dataclass(frozen=True)
class Built:
    """A bad spec written by `make(folder) -> spec path`, expected to fail at line:col with text."""

    name: str
    make: Callable[[Path], Path]
    line: int
    col: int
    text: str


def _bytes(data: bytes) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = folder / "spec.yaml"
        path.write_bytes(data)
        return path
    return make


def _text(text: str) -> Callable[[Path], Path]:
    return _bytes(text.encode("utf-8"))


def _missing(folder: Path) -> Path:
    return folder / "no-such-spec.yaml"


def _folder(folder: Path) -> Path:
    (folder / "spec.yaml").mkdir()
    return folder / "spec.yaml"


def _billion_laughs() -> str:
    lines = ["lol0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"lol{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, 10)]
    return HEADER + "\n".join(lines) + "\n"


def _block_nesting(levels: int) -> str:
    """`constants:` then `a:` mappings, each indented one more space than the last."""
    return HEADER + "constants:\n" + "".join(" " * (depth + 1) + "a:\n" for depth in range(levels)) \
        + " " * (levels + 1) + "1\n"


def _constant_chain(links: int) -> str:
    return HEADER + "constants:\n" + "".join(f"  C{i}: C{i + 1} + 1\n" for i in range(links)) + f"  C{links}: 1\n"


def _struct_chain(links: int) -> str:
    structs = "".join(f"  S{i}:\n    fields:\n      - {{name: inner, type: S{i + 1}}}\n" for i in range(links))
    return HEADER + "structs:\n" + structs + f"  S{links}:\n    fields:\n      - {{name: x, type: u8}}\n"


def _one_field(type_text: str) -> str:
    return HEADER + f"structs:\n  Big:\n    fields:\n      - name: data\n        type: '{type_text}'\n"


BUILT = [
    Built("missing_file", _missing, 1, 1, "spec file not found"),
    Built("folder_as_spec", _folder, 1, 1, "spec path is a directory"),
    # The bad bytes follow a two-byte character, so the column counts characters, not bytes.
    Built("not_utf8", _bytes(b"layoutgen: 1\nname: demo\ndoc: h\xc3\xa9llo \xff\xfe world\narchs: [amd64]\n"),
          3, 12, "not valid UTF-8 (byte 0xff)"),
    Built("binary_junk", _bytes(gzip.compress(b"layoutgen: 1\n" * 50, mtime=0)), 1, 2,
          "not valid UTF-8 (byte 0x8b)"),
    Built("control_character", _text("layoutgen: 1\nname: de\x07mo\narchs: [amd64]\n"), 2, 9,
          "control character U+0007"),
    Built("nul_byte", _text("layoutgen: 1\nname: de\x00mo\narchs: [amd64]\n"), 2, 9, "NUL byte"),
    Built("empty_file", _text(""), 1, 1, "spec is empty"),
    Built("whitespace_only", _text("  \n\n \t \n"), 1, 1, "spec is empty"),
    Built("comments_only", _text("# nothing but a comment\n"), 1, 1, "spec is empty"),
    Built("list_at_top", _text("- layoutgen: 1\n- name: demo\n"), 1, 1, "the top level of a spec must be a mapping"),
    Built("scalar_at_top", _text("just some words\n"), 1, 1, "the top level of a spec must be a mapping"),
    Built("billion_laughs", _text(_billion_laughs()), 4, 7, "anchors and aliases are not allowed"),
    # libyaml scans a flow collection ahead of the nodes and stops at its own limit, the
    # thousandth `[` (column 12 + 999), before node 65 levels down is reached.
    Built("nested_brackets", _text(HEADER + "constants: " + "[" * 10_000 + "]" * 10_000 + "\n"), 4, 1011,
          "nested more than 64 levels deep"),
    # In `{a: {a: ...`, the key of the mapping at level 64 is at level 65: column 12 + 4 * 63 + 1.
    Built("nested_flow_mappings", _text(HEADER + "constants: " + "{a: " * 10_000 + "1" + "}" * 10_000 + "\n"),
          4, 265, "nested more than 64 levels deep"),
    # Line 5 + j holds a mapping at level j + 1 whose first key is at level j + 2: level 65 is
    # first reached by the key on line 68, indented 64 spaces.
    Built("nested_block_mappings", _text(_block_nesting(200)), 68, 65, "nested more than 64 levels deep"),
    Built("huge_integer_constant", _text(HEADER + f"constants:\n  BIG: {2 ** 70}\n"), 5, 8,
          f"integer literal {2 ** 70} does not fit in 64 bits"),
    Built("huge_array_length", _text(_one_field(f"u8[{2 ** 62}]")), 8, 19,
          "array length 4611686018427387904 is absurdly large"),
    Built("huge_field", _text(_one_field("u64[1L << 38]")), 7, 9, "field data is 2199023255552 bytes"),
    Built("huge_struct", _text(HEADER + "structs:\n  Big:\n    fields:\n"
                               + "".join(f"      - {{name: f{i}, type: 'u8[1L << 39]'}}\n" for i in range(3))),
          9, 9, "struct Big is larger than 1099511627776 bytes"),
    Built("struct_array_explosion", _text(HEADER + "structs:\n  Cell:\n    fields:\n      - {name: v, type: u8}\n"
                                          "  Grid:\n    fields:\n      - {name: cells, type: 'Cell[1 << 24]'}\n"),
          10, 9, "makes more than 65536 leaf fields"),
    Built("too_many_dimensions", _text(_one_field("u8" + "[2]" * 9)), 8, 16, "at most 8 dimensions"),
    Built("long_expression", _text(HEADER + "constants:\n  LEN: " + "1 + " * 2000 + "1\n"), 5, 8,
          "expression longer than 4096 characters"),
    Built("deep_expression", _text(HEADER + "constants:\n  LEN: " + " + ".join(["1"] * 500) + "\n"), 5, 8,
          "expression nests more than 100 operations"),
    Built("nested_parentheses", _text(HEADER + "constants:\n  LEN: " + "(" * 500 + "1" + ")" * 500 + "\n"), 5, 108,
          "expression nested too deeply"),
    # C0 needs C1, ... : the chain is refused where it passes 100 links, at C100 (line 5 + 100).
    Built("constant_chain", _text(_constant_chain(150)), 105, 3, "definitions nest more than 100 levels deep"),
    Built("struct_chain", _text(_struct_chain(150)), 305, 3, "definitions nest more than 100 levels deep"),
    # Implicit values count up from the last explicit one; V256 is the first past u8 (line 8 + 256).
    Built("long_implicit_enum", _text(HEADER + "enums:\n  Big:\n    type: u8\n    values:\n"
                                      + "".join(f"      - name: V{i}\n" for i in range(1500))),
          264, 9, "Big.V256 = 256 does not fit in u8"),
    Built("region_parts_limit", _text(HEADER + "regions:\n  Mem:\n    size: 65536\n    parts:\n" + "".join(
        f"      - {{name: p{i}, offset: {i}, size: 1}}\n" for i in range(1025))), 8, 7,
        "region Mem has 1025 parts; the limit is 1024"),
    Built("enum_values_limit", _text(HEADER + "enums:\n  Big:\n    type: u32\n    values:\n"
                                     + "".join(f"      - name: V{i}\n" for i in range(8193))), 8, 7,
          "enum Big has 8193 values; the limit is 8192"),
    Built("spec_too_large", _text(HEADER + "# " + "x" * (4 << 20) + "\n"), 1, 1, "spec is larger than 4194304 bytes"),
    # Problem 50 is the unknown type of S49, on line 5 + 3 * 49 + 2; the report stops there.
    Built("many_problems", _text(HEADER + "structs:\n" + "".join(
        f"  S{i}:\n    fields:\n      - {{name: x, type: Nope{i}}}\n" for i in range(3000))), 154, 25,
        "stopped after 50 problems"),
]


@pytest.mark.parametrize("case", BUILT, ids=lambda case: case.name)
def test_bad_spec_built(case: Built, tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    specs.mkdir()
    spec = case.make(specs)
    run_bad_spec(spec, case.line, case.col, case.text, tmp_path, missing_out=True)


def test_an_error_line_escapes_a_hostile_file_name(tmp_path: Path) -> None:
    """A spec path holding a newline and a terminal escape is printed escaped, on one line."""
    spec = tmp_path / "evil\n\x1b[2Jname.yaml"
    spec.write_text(HEADER + "constants:\n  LEN: 08\n", encoding="utf-8")
    run = _start(spec, tmp_path / "out")
    stdout, stderr = run.communicate(timeout=120)
    assert run.returncode == 2 and stdout == ""
    assert stderr.count("\n") == 1 and "\x1b" not in stderr, repr(stderr)
    escaped = str(spec).replace("\n", "\\n").replace("\x1b", "\\x1b")
    assert stderr.startswith(f"{escaped}:5:8: invalid digit '8' in octal literal '08'"), repr(stderr)


# ---- the catalogue itself --------------------------------------------------------------------


def test_catalogue_is_large() -> None:
    assert len(_file_cases()) + len(BUILT) >= 45


def test_harness_accepts_a_good_spec(tmp_path: Path) -> None:
    """The same run on a valid spec succeeds, so the failures above come from the specs."""
    spec = tmp_path / "good.yaml"
    spec.write_text(HEADER + "constants:\n  LEN: 4\nstructs:\n  Point:\n    fields:\n"
                    "      - {name: x, type: u32}\n      - {name: y, type: 'u8[LEN]'}\n", encoding="utf-8")
    run = _start(spec, tmp_path / "out")
    stdout, stderr = run.communicate(timeout=120)
    assert run.returncode == 0, stderr
    assert any((tmp_path / "out").rglob("*.h"))
