"""The Python step of `check` runs without pytest: a child interpreter imports the generated
package from the output folder and this process compares its answers with the spec."""
import os
import shutil
import subprocess
import sys

import pytest

from codegen import pipeline
from codegen.check import python_probe
from conftest import GENERATED, ROOT, SPEC

STEP = "check: Python parsers match the frozen layout:"
# Installed first on the path, this makes every import of pytest fail, as in a wheel install.
NO_PYTEST = '''import sys


class _NoPytest:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("pytest", "_pytest", "pluggy"):
            raise ImportError(f"{name} is not installed here")
        return None


sys.meta_path.insert(0, _NoPytest())
'''


@pytest.fixture(scope="module")
def built():
    return pipeline.build(SPEC)


@pytest.fixture
def out(tmp_path):
    shutil.copytree(GENERATED, tmp_path / "generated", ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path / "generated"


def probed(built, out) -> list:
    spec, layouts = built
    return python_probe.task(spec, layouts, str(out)).run().problems


def drop_gap_after_err_line(out):
    module = out / "python" / "sysmsg" / "amd64.py"
    text = module.read_text()
    gap = '    Gap(4, "hole after err_line"),  # offset 68\n'
    assert gap in text
    module.write_text(text.replace(gap, "", 1))


def test_the_committed_package_holds(built, out):
    assert probed(built, out) == []


def test_a_field_offset_out_of_step_fails_naming_arch_struct_and_field(built, out):
    drop_gap_after_err_line(out)
    problems = probed(built, out)
    assert "amd64 Msg.debug: offset: spec says 72, the parser says 68" in problems
    assert "amd64 Msg: field-by-field size: spec says 88, the parser says 84" in problems
    assert not [p for p in problems if p.startswith("arm64")]


def test_a_constant_changed_by_hand_is_named(built, out):
    module = out / "python" / "sysmsg" / "arm64.py"
    module.write_text(module.read_text().replace("GUARD_SIZE = 4096", "GUARD_SIZE = 8192", 1))
    assert probed(built, out) == ["arm64.GUARD_SIZE: constant: spec says 4096, the parser says 8192"]


def test_a_package_that_does_not_import_is_reported(built, out):
    (out / "python" / "sysmsg" / "_runtime.py").write_text("raise RuntimeError('broken on purpose')\n")
    problems = probed(built, out)
    assert problems[0] == "the generated Python package does not import:"
    assert any("RuntimeError: broken on purpose" in line for line in problems)


def test_the_output_folder_wins_over_a_package_of_the_same_name_on_the_path(built, out, monkeypatch):
    """A correct `sysmsg` reachable through PYTHONPATH must not stand in for the checked one."""
    drop_gap_after_err_line(out)
    monkeypatch.setenv("PYTHONPATH", os.path.join(GENERATED, "python"))
    assert "amd64 Msg.debug: offset: spec says 72, the parser says 68" in probed(built, out)


def test_check_passes_where_pytest_cannot_be_imported(tmp_path, out):
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(NO_PYTEST)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(shim), ROOT]))
    blocked = subprocess.run([sys.executable, "-c", "import pytest"], env=env, capture_output=True, text=True)
    assert blocked.returncode != 0 and "pytest is not installed here" in blocked.stderr
    (tmp_path / "consumers").mkdir()
    result = subprocess.run([sys.executable, "-m", "codegen", "check", "--spec", SPEC, "--out", str(out),
                             "--consumers", str(tmp_path / "consumers")], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert [line for line in result.stdout.splitlines() if line.startswith(STEP)][0].startswith(STEP + " ok (")
