"""Real programs built against generated code, for the tests that use members by name: a C
program compiled with gcc or aarch64 gcc, a Go program in its own module that imports the
generated package, each run natively or under qemu-user, returning what it wrote."""
from __future__ import annotations

import subprocess

from codegen.check import go as go_check
from codegen.check.toolchain import QEMU, require
from conftest import compile_c

GO_MODULE = "layoutgen.example/generated/{name}"


def build_c(arch: str, source: str, include, folder) -> str:
    """Compile `source` (C text) statically for `arch` with the generated headers in `include`."""
    path, binary = folder / f"program_{arch}.c", folder / f"program_{arch}"
    path.write_text(source)
    result = compile_c(arch, str(path), "-static", "-o", str(binary), include=str(include))
    assert result.returncode == 0, result.stderr
    return str(binary)


def go_client(folder, package_folder, name: str, source: str):
    """A Go module in `folder` whose main.go (`source`) imports the generated package `name`
    found in `package_folder`; returns the folder."""
    module = GO_MODULE.format(name=name)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "go.mod").write_text(f"module client.example/{name}\n\ngo 1.19\n\nrequire {module} v0.0.0\n\n"
                                   f"replace {module} => {package_folder}\n")
    (folder / "main.go").write_text(source)
    return folder


def build_go(client, arch: str, tags=()) -> subprocess.CompletedProcess:
    """`go build` the client for `arch` (with build tags); the binary is `client/program_<arch>`."""
    command = [require("go"), "build", "-o", str(client / f"program_{arch}")]
    command += [f"-tags={','.join(tags)}"] if tags else []
    return subprocess.run(command + ["."], cwd=str(client), capture_output=True, text=True,
                          env=go_check.go_env(GOARCH=arch))


def run(binary, arch: str) -> bytes:
    """Run a program built for `arch`: natively on the host's arch, else under qemu-user."""
    host = go_check.host_arch(require("go"), ".")
    runner = [] if arch == host else [require(QEMU[arch])]
    result = subprocess.run(runner + [str(binary)], capture_output=True)
    assert result.returncode == 0, result.stderr
    return result.stdout
