"""README's "Your own ABI" section, run as written: its shell blocks, in order, in one bash in an
empty folder, with `$LAYOUTGEN` this checkout. It fails when the section's commands stop working:
installing layoutgen from the lock, `init`, describing a struct, `generate`, `check` on both
arches, the Python package from another folder and the Go package from another module."""
from __future__ import annotations

import os
import re
import subprocess

from conftest import ROOT

SECTION = "## Your own ABI"


def section_commands(readme: str) -> list:
    """The ```sh blocks of the section, in order (its toml and yaml blocks are shown, not run)."""
    start = readme.index(SECTION + "\n")
    end = readme.find("\n## ", start + len(SECTION))
    body = readme[start:end if end >= 0 else len(readme)]
    return re.findall(r"^```sh\n(.*?)^```$", body, re.MULTILINE | re.DOTALL)


def test_the_section_has_every_step():
    script = "\n".join(section_commands(open(os.path.join(ROOT, "README.md")).read()))
    for step in ("python3 -m venv", "--require-hashes", "layoutgen init", "layoutgen generate", "layoutgen check",
                 "./generated/python", "replace example.com/myabi", "go run"):
        assert step in script, step


def test_the_section_runs_as_written(tmp_path):
    blocks = section_commands(open(os.path.join(ROOT, "README.md")).read())
    script = "set -euo pipefail\n" + "\n".join(blocks)
    env = {key: value for key, value in os.environ.items() if key not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
    env.update(LAYOUTGEN=ROOT, GOPROXY="off", GOFLAGS="", GOTOOLCHAIN="local")
    result = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    assert re.search(r"^layoutgen \d+\.\d+", result.stdout, re.MULTILINE), output[-3000:]
    assert "check: everything holds" in result.stdout, output[-3000:]
    assert "python: ok" in result.stdout and "go: 8 6" in result.stdout, output[-3000:]
    # The project was generated where the README says, and the installed tool wrote it.
    assert (tmp_path / "myproject" / "generated" / "go" / "myabi" / "go.mod").read_text().count("module example.com/myabi") == 1
