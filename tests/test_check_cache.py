"""`check` keeps the passes of its compile and test work by the sha256 of their inputs: an
unchanged tree re-checks from the cache, a changed input re-runs the work that read it, a
failure is never kept, and a cache entry that is not a valid record is ignored."""
import json
import os
import re
import subprocess
import sys

import pytest

from codegen.check import cache, jobs
from conftest import ROOT, sysmsg_tree

DRIFT = "generated files match the spec"
C_ASSERTS = "C layout asserts compile on every arch"
GO = "Go package is gofmt/vet clean and its layout tests pass on every arch"
CONSUMERS = "hand-written C and assembly compile against the headers"
CACHED_STEPS = (DRIFT, C_ASSERTS, "DWARF of the compiled header matches the spec",
                "the offsets header as an assembler sees it matches the spec", "Python parsers match the frozen layout",
                GO, CONSUMERS)


@pytest.fixture
def tree(tmp_path):
    """A copy of the spec and its outputs, a consumer that includes a header of its own, and a
    cache folder of the test's own."""
    sysmsg_tree(tmp_path)
    (tmp_path / "stub" / "mine.h").write_text("#define MY_OFFSET 72\n")
    (tmp_path / "stub" / "consumer.c").write_text(
        '#include <stddef.h>\n#include "sysmsg.h"\n#include "mine.h"\n'
        '_Static_assert(offsetof(struct sysmsg, debug) == MY_OFFSET, "debug moved");\n')
    return tmp_path


def check(tree, **env):
    variables = dict(os.environ, PYTHONPATH=ROOT, LAYOUTGEN_CACHE=str(tree / "cache"))
    variables.update(env)
    result = subprocess.run([sys.executable, "-m", "codegen", "check"], cwd=tree, capture_output=True, text=True,
                            env=variables)
    return result.returncode, result.stdout + result.stderr


def statuses(output: str) -> dict:
    return dict(re.findall(r"^check: (.+?): (.+)$", output, re.MULTILINE))


def records(tree) -> list:
    return sorted((tree / "cache" / "check").rglob("*.json"))


def test_a_second_run_is_answered_from_the_cache(tree):
    code, first = check(tree)
    assert code == 0, first
    assert not any(status == "ok (cached)" for status in statuses(first).values())
    code, second = check(tree)
    assert code == 0, second
    for step in CACHED_STEPS:
        assert statuses(second)[step] == "ok (cached)", second


def test_one_changed_byte_reruns_only_the_work_that_read_it(tree):
    assert check(tree)[0] == 0
    header = tree / "stub" / "mine.h"
    header.write_text(header.read_text().replace("72", "73"))  # found only through the compile's depfile
    code, output = check(tree)
    assert code == 1
    assert statuses(output)[CONSUMERS].startswith("FAILED (") and "debug moved" in output
    assert statuses(output)[C_ASSERTS] == "ok (cached)"
    header.write_text(header.read_text().replace("73", "72"))
    go_file = tree / "generated" / "go" / "sysmsg" / "sysmsg.go"
    go_file.write_text(go_file.read_text().replace("Spec sha256: ", "Spec sha256= ", 1))  # still gofmt-clean
    code, output = check(tree)
    assert statuses(output)[GO].startswith("ok (") and statuses(output)[GO] != "ok (cached)"
    assert statuses(output)[DRIFT].startswith("FAILED (")
    assert statuses(output)[CONSUMERS] == "ok (cached)" and statuses(output)[C_ASSERTS] == "ok (cached)"


def test_a_failure_is_not_kept(tree):
    (tree / "stub" / "mine.h").write_text("#define MY_OFFSET 0\n")
    for _ in range(2):
        code, output = check(tree)
        assert code == 1 and statuses(output)[CONSUMERS].startswith("FAILED (") and "debug moved" in output


def test_a_failing_task_runs_again_and_a_passing_one_does_not(tmp_path):
    store, runs = cache.Store(str(tmp_path)), []

    def task(problems):
        return jobs.Task("probe", lambda: runs.append(problems) or jobs.Ran(problems),
                         lambda: cache.Inputs("test").add("problems", problems))

    for _ in range(2):
        assert jobs.execute(task(["broken"]), store).problems == ["broken"]
        assert not jobs.execute(task([]), store).problems
    assert runs == [["broken"], [], ["broken"]]


@pytest.mark.parametrize("garbage", [b"\x00not json", b"[]", b'{"format": "layoutgen-check-cache"}', "foreign"])
def test_an_entry_that_is_not_a_valid_record_is_ignored(tree, garbage):
    assert check(tree)[0] == 0
    written = records(tree)
    assert written
    if garbage == "foreign":  # a valid record, but of another key
        garbage = written[0].read_bytes()
        written = written[1:]
    for path in written:
        path.write_bytes(garbage)
    code, output = check(tree)
    assert code == 0, output
    assert statuses(output)[C_ASSERTS].startswith("ok (") and statuses(output)[C_ASSERTS] != "ok (cached)"
    for path in records(tree):
        record = json.loads(path.read_text())
        assert record["key"] == path.stem and record["result"] == "pass"


def test_a_record_whose_found_file_changed_is_a_miss(tmp_path):
    found = tmp_path / "header.h"
    found.write_text("one\n")
    store = cache.Store(str(tmp_path / "cache"))
    store.save("a" * 64, "test", [str(found)])
    assert store.hit("a" * 64) and not store.hit("b" * 64)
    found.write_text("two\n")
    assert not store.hit("a" * 64)


def test_off_keeps_nothing(tree):
    for _ in range(2):
        code, output = check(tree, LAYOUTGEN_CACHE="off")
        assert code == 0 and "cached" not in output
    assert not (tree / "off").exists() and not (tree / "cache").exists()


def test_a_cache_inside_the_output_folder_is_not_used(tree):
    for _ in range(2):
        code, output = check(tree, LAYOUTGEN_CACHE=str(tree / "generated" / ".cache"))
        assert code == 0 and "cached" not in output, output
    assert not (tree / "generated" / ".cache").exists()


def test_the_report_does_not_depend_on_the_number_of_jobs(tree):
    def report(jobs_count):
        code, output = check(tree, LAYOUTGEN_CACHE="off", LAYOUTGEN_JOBS=jobs_count)
        assert code == 0, output
        return re.sub(r"\(\d+\.\d\ds\)", "(time)", output)

    assert report("1") == report("4")


def test_a_bad_job_count_is_refused_in_one_line(tree):
    code, output = check(tree, LAYOUTGEN_JOBS="many")
    assert code == 2 and output.strip().splitlines() == [
        "layoutgen: LAYOUTGEN_JOBS='many': not a positive whole number (hint: unset it to use every CPU)"]
