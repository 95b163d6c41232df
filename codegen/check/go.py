"""Run the real Go toolchain on the generated package: gofmt, go vet and the layout tests, for
every arch of the spec (natively where the host is that arch, under qemu-user elsewhere)."""
from __future__ import annotations

import os
import re
import tempfile
import threading

from .. import layout_types as lay
from ..layout import with_combinations
from ..primitives import ARCHS
from ..targets import go as go_target
from . import cache
from .jobs import Ran, Task, problems_of
from .toolchain import QEMU, ToolMissing, require, run

_SUBTEST_PASSED = re.compile(r"^\s+--- PASS: \S+/")
_SHOWN_LINES = 20
_BUILD_FAILED = re.compile(r"^FAIL\s+\S+ \[(build|setup) failed\]$", re.M)


# Variables of the caller's environment that `go_env` passes on and that change a build.
GO_ENV = ("GOOS", "GOROOT", "GOAMD64", "GOARM64", "GOEXPERIMENT", "GOTOOLCHAIN", "GODEBUG", "CGO_ENABLED", "CC")
_hosts: dict = {}
# Go's 386 runtime under qemu-i386 (7.2) dies in its signal handler ("bad g in signal handler",
# "unexpected signal during runtime execution") whenever an async-preemption signal lands; a
# layout test needs no preemption, so it runs with it off there. Natively nothing changes.
_EMULATED_GODEBUG = {"i386": "asyncpreemptoff=1"}
# Even so, under a heavily loaded machine qemu-i386 rarely kills Go's scheduler ("fatal error:
# schedule: holding locks"): a crash of the runtime itself, never a layout test's failure, so that
# one case is run a second time. A test that fails prints FAIL lines, not a runtime fatal error.
_RUNTIME_CRASH = re.compile(r"^fatal error: (?!all goroutines are asleep)", re.MULTILINE)
_hosts_lock = threading.Lock()


def check(spec, layouts, out: str) -> list:
    """Problem strings for the Go package in `out` (empty when everything holds)."""
    if "go" not in spec.targets:
        return []
    return problems_of(tasks(spec, layouts, out))


def tasks(spec, layouts, out: str) -> list:
    """gofmt, then `go vet` and `go test` (one command) per combination, each a unit of work keyed by the Go
    toolchain, every file of the package, the arch, the tags and the facts it must check."""
    folder = os.path.join(out, go_target.folder(spec))
    if not os.path.isfile(os.path.join(folder, "go.mod")):
        return [Task("Go package", lambda: Ran([f"{folder}: no Go package there; run `layoutgen generate`"]))]
    found = [Task("gofmt", lambda: Ran(unformatted(require("gofmt"), folder)), lambda: _inputs("gofmt", folder))]
    for layout in with_combinations(spec, layouts).values():
        found.append(_vet_and_test_task(spec, layout, folder))
    return found


def _vet_and_test_task(spec, layout: lay.Layout, folder: str) -> Task:
    arch, key = layout.variant.arch, layout.variant.key
    expected = sum(len(facts) for _, _, facts in go_target.layout_facts(spec, layout))
    tags = go_target.build_tags(spec, layout.variant)

    def work() -> Ran:
        go = require("go")
        return Ran(vet_and_test(go, folder, arch, host_arch(go, folder), expected, tags, key))

    def inputs() -> cache.Inputs:
        go = require("go")
        emulated = bool(exec_flags(arch, ARCHS[arch].goarch, host_arch(go, folder)))
        found = _inputs("go vet and test", folder).add("target", sorted(arch_env(arch, emulated).items()),
                                                       list(tags), expected)
        if emulated:
            found.tool(require(QEMU[arch]), "--version")
        return found

    return Task(f"go vet and test on {key}", work, inputs)


def _inputs(kind: str, folder: str) -> cache.Inputs:
    return cache.Inputs(kind).tool(require("go"), "version").tool(require("gofmt")).tree(folder).env(*GO_ENV)


def go_env(**extra) -> dict:
    """The caller's environment, with the Go caches under the user's cache folder (the caller's
    GOCACHE, when set, is kept: a build cache never changes a result) and no network (the
    package has no dependencies) and without the caller's GOFLAGS."""
    base = os.environ.get("XDG_CACHE_HOME") or (
        os.path.join(os.environ["HOME"], ".cache") if os.environ.get("HOME") else tempfile.gettempdir())
    root = os.path.join(base, "layoutgen", "go")
    env = dict(os.environ, GOCACHE=os.environ.get("GOCACHE") or os.path.join(root, "build"),
               GOPATH=os.path.join(root, "path"), GOPROXY="off", GOFLAGS="", GO111MODULE="on")
    env.update(extra)
    return env


def unformatted(gofmt: str, folder: str) -> list:
    result = run([gofmt, "-l", "."], cwd=folder, env=go_env())
    if result.returncode != 0:
        return ["gofmt fails:\n" + _indent(result.stderr)]
    if result.stdout.strip():
        return ["gofmt -l lists files that are not gofmt-clean:\n" + _indent(result.stdout)]
    return []


def vet_and_test(go: str, folder: str, arch: str, host: str, expected: int, tags=(), label: str = "") -> list:
    """Every `go vet` check and `go test -v` for one arch (and, with `tags`, one combination of
    the spec's parameters), in one `go test -vet=all` (a separate `go vet` would load and
    type-check the package again); the tests must pass and check `expected` facts."""
    goarch = ARCHS[arch].goarch
    flags = exec_flags(arch, goarch, host)
    env = go_env(**arch_env(arch, bool(flags)))
    selected = [f"-tags={','.join(tags)}"] if tags else []
    what = f"GOARCH={goarch}" + (f" ({label}, -tags {','.join(tags)})" if tags else "")
    command = [go, "test", "-vet=all", "-count=1", "-v", *selected, *flags, "./..."]
    test = run(command, cwd=folder, env=env)
    if test.returncode != 0 and flags and arch in _EMULATED_GODEBUG and _RUNTIME_CRASH.search(test.stdout + test.stderr):
        test = run(command, cwd=folder, env=env)  # qemu-i386 killed Go's runtime, not a test: once more
    if test.returncode != 0 and _BUILD_FAILED.search(test.stdout):  # vet (or the compiler) refused it: no test ran
        return [f"go vet fails for {what}:\n" + _indent(test.stderr or test.stdout)]
    if test.returncode != 0:
        failures = [line for line in (test.stdout + test.stderr).splitlines()
                    if "FAIL" in line or "spec says" in line or "error" in line.lower()]
        return [f"go test fails for {what}:\n" + _indent("\n".join(failures) or test.stderr)]
    passed = sum(1 for line in test.stdout.splitlines() if _SUBTEST_PASSED.match(line))
    if passed != expected:
        return [f"go test for {what} passed {passed} layout checks, but the spec gives {expected}"]
    return []


def arch_env(arch: str, emulated: bool) -> dict:
    """The variables that select the arch for `go` (GOARCH, and GOARM=7 for armhf, from the arch
    table's go_note), plus what its test binaries need to run under qemu-user."""
    env = {"GOARCH": ARCHS[arch].goarch}
    env.update(item.split("=", 1) for item in ARCHS[arch].go_note.split())
    if emulated and arch in _EMULATED_GODEBUG:
        env["GODEBUG"] = ",".join(filter(None, (os.environ.get("GODEBUG"), _EMULATED_GODEBUG[arch])))
    return env


def exec_flags(arch: str, goarch: str, host: str) -> list:
    """Nothing on the host's own arch; elsewhere, run the test binary under qemu-user."""
    if goarch == host:
        return []
    if arch not in QEMU:
        raise ToolMissing(f"no emulator known to run {arch} test binaries on a {host} host")
    return ["-exec", require(QEMU[arch])]


def host_arch(go: str, folder: str) -> str:
    """GOHOSTARCH of the `go` binary (asked once per process)."""
    with _hosts_lock:
        if go in _hosts:
            return _hosts[go]
    result = run([go, "env", "GOHOSTARCH"], cwd=folder, env=go_env())
    if result.returncode != 0:
        raise ToolMissing(f"`go env GOHOSTARCH` fails: {result.stderr.strip()}")
    with _hosts_lock:
        _hosts[go] = result.stdout.strip()
    return _hosts[go]


def _indent(text: str) -> str:
    lines = text.strip().splitlines()
    if len(lines) > _SHOWN_LINES:
        lines = lines[:_SHOWN_LINES] + [f"... ({len(lines) - _SHOWN_LINES} more lines)"]
    return "\n".join("    " + line for line in lines)
