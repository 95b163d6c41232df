"""`layoutgen check` says `skipped (why)` for a step that had nothing to do, never `ok`, and
fails when the user named a consumer folder that is not there."""
import os
import re
import subprocess
import sys

import pytest

from conftest import ROOT


def run_cli(*args, cwd=ROOT):
    """The CLI of this checkout, from any folder (the installed `layoutgen` may be another copy)."""
    return subprocess.run([sys.executable, "-m", "codegen", *args], cwd=cwd, capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=ROOT))

SPEC = """layoutgen: 1
name: tiny
archs: [amd64, arm64]
targets: [{targets}]
structs:
  Pair:
    fields:
      - {{name: a, type: u32}}
      - {{name: b, type: u64}}
"""
MODELINE = "# yaml-language-server: $schema=layoutgen.schema.json\n"


def checked(tmp_path, targets, *extra, modeline=""):
    """Generate a small spec for `targets` in `tmp_path` and run `check` there (no stub/ folder)."""
    (tmp_path / "spec.yaml").write_text(modeline + SPEC.format(targets=targets))
    if modeline:
        assert run_cli("schema", "--out", str(tmp_path / "layoutgen.schema.json")).returncode == 0
    made = run_cli("generate", "--spec", "spec.yaml", "--out", "out", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    return run_cli("check", "--spec", "spec.yaml", "--out", "out", *extra, cwd=tmp_path)


def statuses(output: str) -> dict:
    return dict(re.findall(r"^check: (.+?): (ok|FAILED|skipped)\b", output, re.MULTILINE))


def reason(output: str, step: str) -> str:
    return re.search(rf"^check: {re.escape(step)}: skipped \((.*)\)$", output, re.MULTILINE).group(1)


GO = "Go package is gofmt/vet clean and its layout tests pass on every arch"
PYTHON = "Python parsers match the frozen layout"
SCHEMA = "the committed JSON Schema matches the spec language"
CONSUMERS = "hand-written C and assembly compile against the headers"
C_STEPS = ("C layout asserts compile on every arch", "DWARF of the compiled header matches the spec",
           "the offsets header as an assembler sees it matches the spec", CONSUMERS)


@pytest.fixture(scope="module")
def python_only(tmp_path_factory):
    result = checked(tmp_path_factory.mktemp("python_only"), "python")
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def c_only(tmp_path_factory):
    result = checked(tmp_path_factory.mktemp("c_only"), "c")
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_go_is_skipped_when_the_targets_leave_it_out(c_only):
    assert statuses(c_only)[GO] == "skipped" and reason(c_only, GO) == "the spec's targets leave Go out"


def test_the_c_steps_are_skipped_when_c_is_not_a_target(python_only):
    for step in C_STEPS:
        assert statuses(python_only)[step] == "skipped", step
        assert reason(python_only, step) == "the spec's targets leave C out"
    assert statuses(python_only)[PYTHON] == "ok"


def test_python_is_skipped_when_it_is_not_a_target(c_only):
    assert statuses(c_only)[PYTHON] == "skipped" and reason(c_only, PYTHON) == "the spec's targets leave Python out"
    assert all(statuses(c_only)[step] == "ok" for step in C_STEPS[:3])


def test_the_schema_is_skipped_without_a_modeline(c_only):
    assert statuses(c_only)[SCHEMA] == "skipped"
    assert reason(c_only, SCHEMA) == "the spec has no `# yaml-language-server: $schema=...` line"


def test_the_schema_is_checked_with_a_modeline(tmp_path):
    result = checked(tmp_path, "c", modeline=MODELINE)
    assert result.returncode == 0, result.stdout + result.stderr
    assert statuses(result.stdout)[SCHEMA] == "ok"


def test_a_missing_default_stub_folder_is_skipped(c_only):
    assert statuses(c_only)[CONSUMERS] == "skipped"
    assert reason(c_only, CONSUMERS) == "no stub folder of hand-written C and assembly"


def test_an_empty_consumer_folder_is_skipped(tmp_path):
    (tmp_path / "mine").mkdir()
    result = checked(tmp_path, "c", "--consumers", "mine")
    assert result.returncode == 0, result.stdout + result.stderr
    assert reason(result.stdout, CONSUMERS) == "no .c/.S files in mine"


def test_a_named_consumer_folder_that_is_missing_fails(tmp_path):
    result = checked(tmp_path, "c", "--consumers", "mine")
    assert result.returncode == 1, result.stdout + result.stderr
    assert statuses(result.stdout)[CONSUMERS] == "FAILED"
    assert "  mine: no such folder (named by --consumers)" in result.stdout.splitlines()
