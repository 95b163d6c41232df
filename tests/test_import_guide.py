"""The README's "Adopting a hand-kept header" guide, run command by command in a scratch folder,
and the spec it imports from tests/import/sysmsg_hand.h compared with spec/sysmsg.yaml."""
from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from conftest import ROOT
from test_import import abi_diff

SECTION = "## Adopting a hand-kept header"


def guide_commands() -> list:
    """The shell commands of the section's `sh` block, continuation lines joined, comments dropped."""
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as handle:
        text = handle.read()
    section = text[text.index(SECTION):]
    block = re.search(r"```sh\n(.*?)```", section, re.DOTALL).group(1)
    joined = block.replace("\\\n", " ")
    commands = [line.split(" #")[0].strip() for line in joined.splitlines() if not line.startswith("#")]
    return [c for c in commands if c]


@pytest.fixture(scope="module")
def guide(tmp_path_factory):
    """The scratch folder, and each command with its result (stopping at the first failure)."""
    folder = tmp_path_factory.mktemp("guide")
    os.symlink(os.path.join(ROOT, "tests"), folder / "tests")
    layoutgen = f"{sys.executable} -m codegen"
    env = {**os.environ, "PYTHONPATH": ROOT}
    results = []
    for command in guide_commands():
        shell = re.sub(r"(^|(?<=project ))layoutgen ", layoutgen + " ", command)
        result = subprocess.run(["bash", "-c", shell], cwd=folder, env=env, capture_output=True, text=True)
        results.append((command, result))
        if result.returncode != 0:
            break
    return folder, results


def test_the_guide_has_the_steps_it_describes():
    commands = guide_commands()
    assert [c.split()[1] for c in commands if c.startswith("layoutgen")] == [
        "import", "generate", "import", "abi-diff", "generate", "check"]
    assert any(c.startswith("CPATH=project layoutgen check") for c in commands)


def test_every_command_of_the_guide_succeeds(guide):
    _, results = guide
    for command, result in results:
        assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
    assert len(results) == len(guide_commands())


def test_the_described_and_the_owned_spec_have_the_same_layout(guide):
    _, results = guide
    diff = [r for c, r in results if " abi-diff " in f" {c} "]
    assert diff and diff[0].stdout.rstrip().endswith("no layout changes")


def test_both_checks_prove_the_hand_written_code(guide):
    _, results = guide
    checks = [r for c, r in results if " check " in c]
    assert len(checks) == 2
    for result in checks:
        assert "hand-written C and assembly compile against the headers: ok" in result.stdout
        assert result.stdout.rstrip().endswith("everything holds")


LAYOUT_OF = ("Msg", "ThreadContext", "PtraceRegs")


def test_msg_and_thread_context_lay_out_as_spec_sysmsg_does(guide):
    folder, _ = guide
    _, all_changes = abi_diff(os.path.join(ROOT, "spec", "sysmsg.yaml"), str(folder / "adopted.yaml"))
    changes = [c for c in all_changes if c["subject"].split(".")[0] in LAYOUT_OF]
    assert changes, "the diff must have compared the imported structs"
    assert [c for c in changes if c["layout"]] == []
    retyped = {c["subject"] for c in changes if c["kind"] == "field-retyped-same-bytes"}
    assert retyped == {"Msg.state", "ThreadContext.state"}  # the header stores the enums as uint32_t
