"""Finding and running the real compilers a check needs; a missing one is a failure, never a skip."""
from __future__ import annotations

import shutil
import subprocess

from ..primitives import ARCHS

C_COMPILERS = {"amd64": "gcc", "arm64": "aarch64-linux-gnu-gcc"}
QEMU = {"arm64": "qemu-aarch64"}
# binutils' nm per arch (the cross one comes with the cross gcc, in binutils-aarch64-linux-gnu).
NM = {"amd64": "nm", "arm64": "aarch64-linux-gnu-nm"}
C_FLAGS = ["-std=gnu11", "-Wall", "-Wextra", "-Werror"]


class ToolMissing(Exception):
    pass


def require(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise ToolMissing(f"{tool} is not installed (run `make toolchains`, or scripts/bootstrap-toolchains.sh)")
    return path


def c_compiler(arch: str) -> str:
    if arch not in ARCHS:
        raise ToolMissing(f"no C compiler known for arch {arch}")
    return require(C_COMPILERS[arch])


def nm(arch: str) -> str:
    if arch not in NM:
        raise ToolMissing(f"no nm known for arch {arch}")
    return require(NM[arch])


def run(command: list, cwd=None, env=None, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
