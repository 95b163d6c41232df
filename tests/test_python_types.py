"""`mypy --strict` on a user's program that imports a generated package reports nothing
inside the package's files (construct ships no types; the package's stubs do not lean on it)."""
from __future__ import annotations

import os
import subprocess
import sys

from conftest import ROOT, run_cli

SPECS = {"sysmsg": os.path.join(ROOT, "spec", "sysmsg.yaml")}
SPECS.update({name: os.path.join(ROOT, "tests", "cases", name, "spec.yaml")
              for name in ("unions", "bitfields", "flexible_arrays", "flexible_union_array", "int128", "page_size_axis",
                           "anonymous")})

PROGRAM = '''\
import {package}.{module} as mod
from {package} import native


def use(data: bytes) -> int:
    value = mod.{struct}.parse(data)
    again = mod.{struct}.unpack_from(bytearray(data), 0)
    zero = mod.{struct}.zero()
    raw: bytes = mod.{struct}.build(dict(zero))
    view = mod.{struct}View(bytearray(raw))
    other = view.at(0)
    size: int = mod.SIZES["{struct}"] + native.SIZES["{struct}"]
    return size + len(value) + len(again) + len(other.unpack()) + len(mod.__name__)
'''


def _package_name(spec: str) -> str:
    with open(spec) as source:
        return next(line.split(":", 1)[1].strip() for line in source if line.startswith("name:"))


def _first_struct(folder) -> tuple:
    """(module, struct) of a generated package: its first arch module and first struct."""
    module = sorted(p.stem for p in folder.glob("*.pyi") if p.stem not in ("_runtime", "native"))[0]
    text = (folder / f"{module}.pyi").read_text()
    struct = text.split("class _", 1)[1].split("Construct(", 1)[0]
    return module, struct


def test_mypy_strict_reports_nothing_inside_generated_packages(tmp_path):
    paths = []
    for name, spec in SPECS.items():
        out = tmp_path / name
        result = run_cli("generate", "--spec", spec, "--out", str(out))
        assert result.returncode == 0, result.stderr
        package = _package_name(spec)
        module, struct = _first_struct(out / "python" / package)
        program = tmp_path / f"use_{name}.py"
        program.write_text(PROGRAM.format(package=package, module=module, struct=struct))
        paths.append(str(out / "python"))
        result = subprocess.run(
            [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--cache-dir", str(tmp_path / "cache"),
             str(program)], capture_output=True, text=True, cwd=tmp_path,
            env={**os.environ, "MYPYPATH": str(out / "python")})
        assert "error" not in result.stdout and result.returncode == 0, f"{name}:\n{result.stdout}{result.stderr}"
    assert len(paths) == len(SPECS)
