"""Packaging: layoutgen's wheel holds the tool only, and a generated Python package installs
with pip into a bare venv (its one dependency, construct, pinned with hashes from the lock)."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile

from conftest import ROOT, SPEC, run_cli

LOCK = os.path.join(ROOT, "requirements.lock")


def locked(*names) -> str:
    """The lock's requirement lines (pin and hashes) for `names`, as a requirements file."""
    blocks = re.split(r"\n(?=[a-z])", open(LOCK).read())
    found = [block.split("\n    #")[0].rstrip() for block in blocks if block.split("==")[0] in names]
    assert len(found) == len(names), f"{names} not all in {LOCK}"
    return "\n".join(found) + "\n"


def pip(python, *args, cwd=None):
    result = subprocess.run([python, "-m", "pip", "--disable-pip-version-check", *args], cwd=cwd,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_the_wheel_holds_the_tool_only(tmp_path):
    pip(sys.executable, "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(tmp_path), ROOT)
    wheels = [name for name in os.listdir(tmp_path) if name.endswith(".whl")]
    assert len(wheels) == 1, wheels
    names = zipfile.ZipFile(tmp_path / wheels[0]).namelist()
    tops = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert tops == {"codegen"}, tops
    assert "codegen/starter/spec.yaml" in names and "codegen/project.py" in names
    assert "codegen/templates/python/_speedups.c" in names  # copied into every generated package
    assert any(name.startswith("codegen/templates/python/") for name in names)
    # Every module of the tool ships: a subpackage missing from the wheel breaks only installed users.
    sources = {os.path.relpath(os.path.join(base, name), ROOT)
               for base, dirs, files in os.walk(os.path.join(ROOT, "codegen")) for name in files
               if name.endswith(".py") and "__pycache__" not in base}
    assert sources - set(names) == set(), sorted(sources - set(names))


def _installed_facts(python, cwd) -> list:
    """What the package installed in `python`'s environment says of itself, run from `cwd`."""
    probe = ("import importlib.metadata as m, json, sysmsg.amd64 as a, sysmsg._runtime as r\n"
             "print(json.dumps([m.version('sysmsg'), m.requires('sysmsg'), a.Msg.sizeof(), a.__file__,\n"
             "                  r.SPEEDUPS is not None]))")
    result = subprocess.run([python, "-c", probe], cwd=cwd, capture_output=True, text=True,
                            env={key: value for key, value in os.environ.items() if key != "PYTHONPATH"})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _bare_venv(tmp_path):
    """A new venv with only construct and setuptools, from the lock with hashes."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(locked("construct", "setuptools"))
    pip(python, "install", "-q", "--require-hashes", "--only-binary", ":all:", "-r", str(requirements))
    return python


def test_without_a_compiler_the_package_installs_pure_python(tmp_path):
    out = tmp_path / "out"
    assert run_cli("generate", "--spec", SPEC, "--out", str(out)).returncode == 0
    python = _bare_venv(tmp_path)
    no_compiler = {**os.environ, "CC": "false", "LDSHARED": "false"}
    result = subprocess.run([python, "-m", "pip", "--disable-pip-version-check", "install", "-q", "--no-deps",
                             "--no-build-isolation", str(out / "python")], env=no_compiler,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    facts = _installed_facts(python, tmp_path)
    assert facts[2] > 0 and facts[4] is False, facts


def test_a_generated_package_installs_into_a_bare_venv(tmp_path):
    out = tmp_path / "out"
    assert run_cli("generate", "--spec", SPEC, "--out", str(out)).returncode == 0
    python = _bare_venv(tmp_path)
    pip(python, "install", "-q", "--no-deps", "--no-build-isolation", str(out / "python"))
    pip(python, "check")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    version, requires, size, where, compiled = _installed_facts(python, elsewhere)
    assert version == "0" and requires == ["construct~=2.10.70", 'numpy>=1.22; extra == "bulk"'] and size > 0
    assert "site-packages" in where
    assert compiled, "pip built the compiled runtime (gcc is here) and the package loads it"
    installed = subprocess.run([python, "-c", "import tests"], cwd=elsewhere, capture_output=True)
    assert installed.returncode != 0, "the frozen layout tests stay out of the installed package"
