"""Run every check step in order and print a summary. Exit 0 when all hold, 1 otherwise."""
from __future__ import annotations

import os
import stat
import sys
import time
from dataclasses import dataclass
from typing import Callable

from .. import pipeline
from ..tools import schema as spec_schema
from ..write import OutputError, describe_os_error
from . import c_asserts, consumers, drift, dwarf
from . import go as go_check
from .toolchain import ToolMissing, run


@dataclass(frozen=True)
class Step:
    name: str
    run: Callable  # (spec, layouts, spec_path, out) -> list of problem strings


def _drift(spec, layouts, spec_path, out):
    return drift.compare(pipeline.render(spec, layouts, spec_path, out), out)


def _c_asserts(spec, layouts, spec_path, out):
    # Every combination of the spec's parameters, each selected with -D<macro>=<value>.
    owned = c_asserts.header_owned(spec)
    return [p for variant in spec.combinations
            for p in c_asserts.compile_layout_test(out, spec.name, variant.arch, dwarf.param_defines(spec, variant),
                                                   variant.key, owned)]


def _python_layout_tests(spec, layouts, spec_path, out):
    """Run the generated pytest file against the parsers in `out` (not whatever is installed)."""
    folder = os.path.join(out, "python")
    env = dict(os.environ, PYTHONPATH=os.path.abspath(folder), PYTHONDONTWRITEBYTECODE="1")
    result = run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", folder,
                  os.path.join(folder, "tests")], env=env)
    if result.returncode == 0:
        return []
    failures = [line for line in result.stdout.splitlines() if line.startswith(("FAILED", "ERROR", "E  "))]
    return ["generated Python layout tests fail:"] + ["    " + line for line in failures[:20]]


def _dwarf(spec, layouts, spec_path, out):
    return dwarf.check(spec, layouts, out)


def _go(spec, layouts, spec_path, out):
    return go_check.check(spec, layouts, out)


def _schema(spec, layouts, spec_path, out):
    return spec_schema.check(spec_path)


def _consumers(folders):
    def step(spec, layouts, spec_path, out):
        return consumers.check(spec, out, folders)
    return step


def steps(consumer_folders=("stub",)) -> list:
    """The steps in order; later modules (DWARF, Go, lint) add themselves here."""
    found = [Step("generated files match the spec", _drift),
             Step("the committed JSON Schema matches the spec language", _schema),
             Step("C layout asserts compile on every arch", _c_asserts),
             Step("DWARF of the compiled header matches the spec", _dwarf),
             Step("Python parsers match the frozen layout", _python_layout_tests),
             Step("Go package is gofmt/vet clean and its layout tests pass on every arch", _go),
             Step("hand-written C and assembly compile against the headers", _consumers(consumer_folders))]
    return found


def _require_folder(out: str) -> None:
    """Every step reads `out`: when it is no folder at all, say so once (exit 2), not in every step."""
    try:
        if stat.S_ISDIR(os.stat(out).st_mode):
            return
        raise OutputError(f"{out}: not a folder (hint: --out names the folder `layoutgen generate` wrote)")
    except FileNotFoundError:
        raise OutputError(f"{out}: no such folder (hint: run `layoutgen generate --out {out}` first)") from None
    except OSError as error:
        raise OutputError(describe_os_error(out, error)) from None


def run_check(spec_path: str, out: str, consumer_folders=("stub",), stream=sys.stdout) -> int:
    spec, layouts = pipeline.build(spec_path)
    _require_folder(out)
    failed = []
    for step in steps(consumer_folders):
        started = time.monotonic()
        try:
            problems = step.run(spec, layouts, spec_path, out)
        except ToolMissing as missing:
            problems = [str(missing)]
        took = time.monotonic() - started
        status = "ok" if not problems else "FAILED"
        print(f"check: {step.name}: {status} ({took:.2f}s)", file=stream)
        for problem in problems:
            print(f"  {problem}", file=stream)
        if problems:
            failed.append(step.name)
    if failed:
        print(f"check: {len(failed)} step(s) failed: {', '.join(failed)}", file=stream)
        return 1
    print("check: everything holds", file=stream)
    return 0
