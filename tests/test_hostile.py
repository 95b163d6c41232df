"""Hostile specs: text written to become code in some output must stay data in all of them.

Every spec under tests/hostile/ carries payloads that would create MARKER (or print a line
with "pwned" in it) if any output ran them: a C constructor, Python at import, a Go `init`,
an assembler directive, HTML in the docs. Specs in tests/hostile/refused/ must be refused
(`# expect: LINE:COL: text` at their top, checked as the error catalogue checks its cases);
the others must generate, and then everything a user does with the outputs happens for real:
`layoutgen check` (C asserts and DWARF on both arches, the Python layout tests, `go vet` and
the Go layout tests natively and under qemu, a hand-written C file and an assembly file
compiled against the headers), a C program that includes both headers runs on both arches,
and every generated Python module is imported. MARKER must never appear.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest
import yaml

from programs import build_c, run
from test_errors import EXPECT, run_bad_spec

ROOT = Path(__file__).resolve().parents[1]
HOSTILE = ROOT / "tests" / "hostile"
MARKER = Path("/tmp/layoutgen-hostile-pwned")  # every payload in tests/hostile/ creates this file
# A file name is text too: it reaches every banner.
HOSTILE_FILE_NAME = 'evil */ name\n"""\n//go:build ignore\n# define X <script>\\.yaml'


def _refused():
    return sorted((HOSTILE / "refused").glob("*.yaml"))


def _accepted():
    return sorted(HOSTILE.glob("*.yaml"))


@pytest.fixture(autouse=True)
def _no_marker():
    MARKER.unlink(missing_ok=True)
    yield
    assert not MARKER.exists(), "a payload in a hostile spec ran"


@pytest.mark.parametrize("spec", _refused(), ids=lambda p: p.stem)
def test_refused(spec, tmp_path):
    match = EXPECT.match(spec.read_text().splitlines()[0])
    assert match, f"{spec} must start with `# expect: LINE:COL: text`"
    run_bad_spec(spec, int(match.group(1)), int(match.group(2)), match.group(3), tmp_path, missing_out=True)


def test_there_are_hostile_specs():
    assert len(_refused()) >= 10 and _accepted(), "the hostile catalogue is missing"


@pytest.mark.parametrize("spec", _accepted(), ids=lambda p: p.stem)
def test_payloads_stay_data(spec, tmp_path):
    _prove_harmless(spec.read_text(), spec.name, tmp_path)


def test_hostile_spec_file_name(tmp_path):
    """A spec whose own file name holds a newline, `*/`, `\"\"\"` and a Go build line."""
    source = _accepted()[0].read_text()
    _prove_harmless(source, HOSTILE_FILE_NAME, tmp_path)


def _prove_harmless(source: str, file_name: str, tmp_path: Path) -> None:
    name = yaml.safe_load(source)["name"]
    spec = tmp_path / file_name
    spec.parent.mkdir(parents=True, exist_ok=True)  # a `/` in the name makes folders
    spec.write_text(source)
    out = tmp_path / "out"
    generated = _cli(tmp_path, "generate", "--spec", file_name, "--out", "out")
    assert generated.returncode == 0, generated.stderr
    consumers = _consumers(tmp_path / "consumers", name)
    checked = _cli(tmp_path, "check", "--spec", file_name, "--out", "out", "--consumers", str(consumers))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "pwned" not in (checked.stdout + checked.stderr).lower()
    for arch in ("amd64", "arm64"):
        binary = build_c(arch, (consumers / "program.c").read_text(), out / "c", tmp_path)
        assert run(binary, arch) == b"ran\n"
    _import_every_module(out / "python", tmp_path)
    _docs_are_inert(out / "docs")
    assert not MARKER.exists()


def _cli(cwd: Path, *args) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, "-m", "codegen", *args], cwd=cwd, capture_output=True,
                            text=True, env=env, timeout=900)
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr, result.stderr
    return result


def _consumers(folder: Path, name: str) -> Path:
    """A C file and an assembly file that include the generated headers, as a user's would."""
    folder.mkdir()
    (folder / "program.c").write_text(
        f'#include <stdio.h>\n#include "{name}.h"\n#include "{name}_offsets.h"\n'
        'int main(void) { puts("ran"); return 0; }\n')
    (folder / "probe.S").write_text(f'#include "{name}_offsets.h"\n.text\n.globl probe\nprobe:\n  nop\n')
    return folder


def _import_every_module(folder: Path, cwd: Path) -> None:
    modules = sorted(".".join(path.relative_to(folder).with_suffix("").parts)
                     for path in folder.rglob("*.py") if "tests" not in path.parts)
    modules = [m[: -len(".__init__")] if m.endswith(".__init__") else m for m in modules]
    assert modules
    code = "import importlib, sys\nfor name in sys.argv[1:]:\n    importlib.import_module(name)\nprint('imported')\n"
    env = dict(os.environ, PYTHONPATH=str(folder), PYTHONDONTWRITEBYTECODE="1")
    result = subprocess.run([sys.executable, "-c", code, *modules], cwd=cwd, capture_output=True, text=True,
                            env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "imported\n", result.stdout


def _docs_are_inert(folder: Path) -> None:
    """Markdown carries no HTML and no link a payload wrote; every SVG is well-formed XML."""
    for page in folder.rglob("*.md"):
        text = page.read_text()
        assert not re.search(r"<\s*script", text, re.I), page
        assert not re.search(r"(?<!\\)\]\(\s*javascript:", text, re.I), page  # `\]` is text, not a link
    for picture in folder.rglob("*.svg"):
        root = ElementTree.parse(picture).getroot()
        assert not any(element.tag.endswith("script") for element in root.iter()), picture


def test_payloads_are_live(tmp_path):
    """Unescaped, the payloads do run: the C one from a comment it closes, the Python one from
    a docstring it closes. So a marker that never appears above means the escapes held."""
    doc = yaml.safe_load(_accepted()[0].read_text())["doc"]
    program = tmp_path / "raw.c"
    program.write_text(f"/* {doc} */\nint main(void) {{ return 0; }}\n")
    binary = tmp_path / "raw"
    built = subprocess.run(["gcc", "-w", "-o", str(binary), str(program)], capture_output=True, text=True)
    assert built.returncode == 0, built.stderr
    subprocess.run([str(binary)], check=True)
    assert MARKER.exists(), "the C payload did not run even unescaped"
    MARKER.unlink()
    module = tmp_path / "raw_module.py"
    module.write_text(f'"""{doc.split("/* ", 1)[1].split("//go:build")[0]}"""\n')
    subprocess.run([sys.executable, str(module)], capture_output=True)
    assert MARKER.exists(), "the Python payload did not run even unescaped"
    MARKER.unlink()
