"""A generated Python package with its compiled runtime built, under another import name.

`pip install` builds `_speedups.c` into the package it installs; the tests and `make bench`
need that package next to the pure one from `generated/python` in the same process, so this
copies the package folder under a new name and compiles the module into the copy with gcc,
with the flags a setuptools build uses plus warnings as errors.
"""
from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
import sysconfig


def compile_speedups(package_dir: str) -> str:
    """Build `package_dir/_speedups.c` into an extension module beside it; its path."""
    include = sysconfig.get_paths()["include"]
    target = os.path.join(package_dir, "_speedups" + sysconfig.get_config_var("EXT_SUFFIX"))
    command = ["gcc", "-O2", "-shared", "-fPIC", "-std=c99", "-Wall", "-Wextra", "-Werror",
               "-Wno-unused-parameter", "-Wno-missing-field-initializers", "-Wno-cast-function-type",
               f"-I{include}", os.path.join(package_dir, "_speedups.c"), "-o", target]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"building _speedups failed:\n{result.stderr}")
    return target


def compiled_copy(package_dir: str, root: str, name: str):
    """Copy the package at `package_dir` to `root/name`, build its compiled runtime, import
    it and return its `_runtime` module (whose SPEEDUPS is then the compiled module)."""
    copy = os.path.join(root, name)
    shutil.copytree(package_dir, copy, ignore=shutil.ignore_patterns("__pycache__"))
    compile_speedups(copy)
    if root not in sys.path:
        sys.path.insert(0, root)
    runtime = importlib.import_module(f"{name}._runtime")
    if runtime.SPEEDUPS is None:
        raise RuntimeError(f"{name}: the compiled runtime was built but not loaded"
                           " (is LAYOUTGEN_PURE_PYTHON set?)")
    return runtime
