"""`layoutgen check` bites: each kind of drift makes it exit 1 with a pointed message.

Every test works on a copy of the spec and the generated folder in a temporary
directory, mutates one thing, and runs the real `layoutgen check` there.
"""
import os
import shutil
import subprocess
import sys

import pytest

from conftest import GENERATED, ROOT, SPEC


@pytest.fixture
def tree(tmp_path):
    shutil.copytree(os.path.dirname(SPEC), tmp_path / "spec")
    shutil.copytree(GENERATED, tmp_path / "generated", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "stub").mkdir()
    (tmp_path / "layoutgen.toml").write_text(  # the repository's project file, sysmsg only
        '[[spec]]\npath = "spec/sysmsg.yaml"\nout = "generated"\npython_package = "sysmsg"\n'
        'go_module = "layoutgen.example/generated/sysmsg"\nconsumers = ["stub"]\n')
    return tmp_path


def check(tree):
    result = subprocess.run([sys.executable, "-m", "codegen", "check"], cwd=tree, capture_output=True, text=True,
                            env=dict(os.environ, PYTHONPATH=ROOT))
    return result.returncode, result.stdout + result.stderr


def edit(path, old, new, count=1):
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, count))


def generate(tree):
    result = subprocess.run([sys.executable, "-m", "codegen", "generate"], cwd=tree, capture_output=True, text=True,
                            env=dict(os.environ, PYTHONPATH=ROOT))
    assert result.returncode == 0, result.stderr


def test_clean_tree_passes(tree):
    code, output = check(tree)
    assert code == 0, output
    assert "everything holds" in output


def test_spec_edited_without_regenerating(tree):
    edit(tree / "spec" / "sysmsg.yaml", "value: 3584", "value: 3520")
    code, output = check(tree)
    assert code == 1
    assert "generated/c/sysmsg.h: differs from what the spec generates" in output
    assert "run `make generate`" in output
    assert "-#define MAX_FPSTATE_LEN 3584" in output and "+#define MAX_FPSTATE_LEN 3520" in output


def test_enum_renumbered_in_spec_without_regenerating(tree):
    edit(tree / "spec" / "sysmsg.yaml", "      - name: FAULT\n", "      - name: FAULT\n        value: 9\n")
    code, output = check(tree)
    assert code == 1 and "generated/python/sysmsg/amd64.py: differs" in output


def test_header_field_widened_by_hand(tree):
    edit(tree / "generated" / "c" / "sysmsg.h", "int32_t err_line;", "int64_t err_line;")
    code, output = check(tree)
    assert code == 1
    assert "generated/c/sysmsg.h: differs" in output
    assert "Msg.err_line: size: spec says 4" in output
    assert "C layout asserts fail on amd64" in output and "C layout asserts fail on arm64" in output


def test_offset_macro_edited_by_hand(tree):
    edit(tree / "generated" / "c" / "sysmsg_offsets.h", "#define offsetof_sysmsg_context 48",
         "#define offsetof_sysmsg_context 56")
    code, output = check(tree)
    assert code == 1
    assert "generated/c/sysmsg_offsets.h: differs" in output
    assert "offsetof_sysmsg_context (Msg.context): spec says 48" in output


def test_enum_value_renumbered_in_header_by_hand(tree):
    edit(tree / "generated" / "c" / "sysmsg.h", "THREAD_STATE_DONE = 1,", "THREAD_STATE_DONE = 5,")
    code, output = check(tree)
    assert code == 1 and "ThreadState.DONE: spec says 1" in output


def test_constant_changed_in_offsets_header_by_hand(tree):
    edit(tree / "generated" / "c" / "sysmsg_offsets.h", "#define GUARD_SIZE 4096", "#define GUARD_SIZE 8192")
    code, output = check(tree)
    assert code == 1
    assert "generated/c/sysmsg_offsets.h: differs" in output
    assert "GUARD_SIZE" in output and "C layout asserts fail" in output


def test_python_parser_edited_by_hand(tree):
    edit(tree / "generated" / "python" / "sysmsg" / "amd64.py", '"thread_id" / Int32ul', '"thread_id" / Int64ul')
    code, output = check(tree)
    assert code == 1
    assert "generated/python/sysmsg/amd64.py: differs" in output
    assert "Python parsers match the frozen layout: FAILED" in output
    assert "  amd64 Msg: field-by-field size: spec says 88, the parser says 92" in output.splitlines()


def test_layout_test_edited_by_hand(tree):
    edit(tree / "generated" / "c" / "sysmsg_layout_test.c", '_Static_assert(sizeof(struct sysmsg) == 88, "Msg: size: spec says 88");\n', "")
    code, output = check(tree)
    assert code == 1 and "generated/c/sysmsg_layout_test.c: differs" in output


def test_field_added_to_header_by_hand_is_caught_by_dwarf(tree):
    edit(tree / "generated" / "c" / "sysmsg.h", "  uint32_t thread_id;  /* offset 80, size 4 */\n",
         "  uint32_t thread_id;  /* offset 80, size 4 */\n  uint32_t sneaky;\n")
    code, output = check(tree)
    assert code == 1
    assert "sneaky" in output and "not in the spec" in output


def test_generated_file_deleted(tree):
    os.remove(tree / "generated" / "python" / "sysmsg" / "arm64.py")
    code, output = check(tree)
    assert code == 1 and "generated/python/sysmsg/arm64.py: missing" in output


def test_extra_file_in_generated(tree):
    (tree / "generated" / "c" / "notes.h").write_text("/* mine */\n")
    code, output = check(tree)
    assert code == 1 and "generated/c/notes.h: not generated by the spec" in output


def test_hand_written_consumer_assumes_the_old_layout(tree):
    """The spec widens a field and is regenerated, but hand-written C still expects the old offset."""
    (tree / "stub" / "consumer.c").write_text(
        '#include <stddef.h>\n#include "sysmsg.h"\n'
        '_Static_assert(offsetof(struct sysmsg, debug) == 72, "stub assumes debug at 72");\n')
    assert check(tree)[0] == 0
    edit(tree / "spec" / "sysmsg.yaml", "      - name: err\n        type: i32", "      - name: err\n        type: i64")
    generate(tree)
    code, output = check(tree)
    assert code == 1
    assert "stub/consumer.c does not compile for amd64" in output
    assert "stub assumes debug at 72" in output
