"""Finding and running the real compilers a check needs; a missing one is a failure, never a skip."""
from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess

from ..primitives import ARCHS

# The arch whose programs run without qemu: this machine's, by the arch table's machine names.
HOST_ARCH = next((name for name, info in ARCHS.items() if platform.machine() in info.machines), "amd64")
C_COMPILERS = {name: info.gcc for name, info in ARCHS.items()}
QEMU = {name: info.qemu for name, info in ARCHS.items()}  # for every arch but the host's
# binutils' nm per arch (each cross one comes with its cross gcc, in binutils-<triplet>).
NM = {name: "nm" if name == HOST_ARCH else f"{info.triplet}-nm" for name, info in ARCHS.items()}
C_FLAGS = ["-std=gnu11", "-Wall", "-Wextra", "-Werror"]
# A probe whose debug info is read back is linked into a shared object of its own data: the
# linker applies the debug info's relocations, which pyelftools would apply one at a time (far
# slower), and cannot apply at all for some arches (i386's REL types).
LINK_ALONE = ["-shared", "-nostdlib", "-fPIC"]


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


def run(command: list, cwd=None, env=None, timeout: int = 600, input=None) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, input=input)


def run_with_deps(command: list, scratch: str, cwd=None) -> tuple:
    """Run a gcc command that also writes its dependency list; returns (result, [absolute paths
    of the files it read]) without the files in `scratch`, which vanish with the run."""
    depfile = os.path.join(scratch, "layoutgen.d")
    result = run([*command, "-MD", "-MF", depfile], cwd=cwd)
    if result.returncode != 0:
        return result, []
    base = os.path.abspath(cwd or os.getcwd())
    inside = os.path.abspath(scratch) + os.sep
    return result, [path for path in read_depfile(depfile, base) if not path.startswith(inside)]


def read_depfile(path: str, base: str) -> list:
    """The prerequisites of the one rule gcc's -MD writes, as absolute paths."""
    with open(path, encoding="utf-8", errors="surrogateescape") as handle:
        text = handle.read().replace("\\\n", " ")
    _, _, prerequisites = text.partition(": ")
    names = (re.sub(r"\\([ #])", r"\1", token).replace("$$", "$")
             for token in re.findall(r"(?:\\ |[^\s])+", prerequisites))
    return sorted({os.path.normpath(os.path.join(base, name)) for name in names})
