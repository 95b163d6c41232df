"""Run every check step and print a summary. Exit 0 when all hold, 1 otherwise.

Each step plans units of work (`jobs.Task`); every unit of every step goes to one thread
pool as soon as its step is planned, and the report is printed in the steps' declared order,
so the output does not depend on which unit finished first. A step that has nothing to do
for this spec says `skipped (why)`, never `ok`.
"""
from __future__ import annotations

import os
import stat
import sys
from dataclasses import dataclass
from typing import Callable, Optional, Union

from .. import pipeline
from ..tools import schema as spec_schema
from ..write import OutputError, describe_os_error
from . import c_asserts, cache, consumers, drift, dwarf, jobs, python_probe
from . import go as go_check
from .jobs import Ran, Task

DEFAULT_CONSUMERS = ("stub",)
SOURCE_KINDS = "/".join(consumers.SOURCE_SUFFIXES)


@dataclass(frozen=True)
class Skip:
    why: str


@dataclass(frozen=True)
class Checked:
    """What the steps look at: the spec, its layouts and the folders named on the command line."""

    spec: object
    layouts: dict
    spec_path: str
    out: str
    consumer_folders: tuple
    consumers_named: bool  # False: the default folder, which may be absent


@dataclass(frozen=True)
class Step:
    name: str
    plan: Callable[[Checked], Union[Skip, list]]  # the step's tasks, or why it has none


def _needs(target: str, what: str):
    """Plan decorator: skip the step when the spec leaves `target` out."""
    def wrap(plan):
        def planned(checked: Checked):
            if target not in checked.spec.targets:
                return Skip(f"the spec's targets leave {what} out")
            return plan(checked)
        return planned
    return wrap


def _drift(checked: Checked) -> list:
    spec, out = checked.spec, checked.out

    # What the project file says about the spec (names, the command in banners) changes the output too.
    ctx = pipeline.context(spec, checked.layouts, checked.spec_path, out)

    def work() -> Ran:
        return Ran(drift.compare(pipeline.render(spec, checked.layouts, checked.spec_path, out), out, ctx.regenerate))

    def inputs() -> cache.Inputs:
        # What the render reads (the spec, and its path as banners print it) and every file compared.
        return (cache.Inputs("drift").add("spec", os.path.abspath(checked.spec_path), os.getcwd(), spec.digest)
                .add("project", ctx.spec_label, ctx.regenerate, ctx.go_module, ctx.python_package).tree(out))

    return [Task("generated files", work, inputs)]


def _schema(checked: Checked) -> Union[Skip, list]:
    try:
        with open(checked.spec_path, encoding="utf-8") as handle:
            modeline = spec_schema.MODELINE.search(handle.read(4096))
    except (OSError, UnicodeDecodeError):
        modeline = None
    if modeline is None:
        return Skip("the spec has no `# yaml-language-server: $schema=...` line")
    if "://" in modeline.group(1):
        return Skip(f"the spec's schema is a URL ({modeline.group(1)}), not a committed file")
    return [Task("schema", lambda: Ran(spec_schema.check(checked.spec_path)))]


@_needs("c", "C")
def _c_asserts(checked: Checked) -> list:
    # Every combination of the spec's parameters, each selected with -D<macro>=<value>.
    spec, owned = checked.spec, c_asserts.header_owned(checked.spec)
    return [c_asserts.layout_test_task(checked.out, spec.name, variant.arch, dwarf.param_defines(spec, variant),
                                       variant.key, owned) for variant in spec.combinations]


@_needs("c", "C")
def _dwarf(checked: Checked) -> list:
    return dwarf.tasks(checked.spec, checked.layouts, checked.out)


@_needs("c", "C")
def _offsets_probe(checked: Checked) -> list:
    return consumers.probe_tasks(checked.spec, checked.out)


@_needs("python", "Python")
def _python(checked: Checked) -> list:
    return [python_probe.task(checked.spec, checked.layouts, checked.out)]


@_needs("go", "Go")
def _go(checked: Checked) -> list:
    return go_check.tasks(checked.spec, checked.layouts, checked.out)


@_needs("c", "C")
def _consumers(checked: Checked) -> Union[Skip, list]:
    present = [f for f in checked.consumer_folders if os.path.isdir(f)]
    absent = [f for f in checked.consumer_folders if not os.path.isdir(f)]
    if absent and checked.consumers_named:
        return [Task("consumer folders", lambda: Ran([f"{f}: no such folder (named by --consumers)" for f in absent]))]
    found = consumers.tasks(checked.spec, checked.out, present)
    if found:
        return found
    if not checked.consumer_folders:
        return Skip("no consumer folder is named, by the project file or --consumers")
    if not present:
        return Skip(f"no {', '.join(absent)} folder of hand-written C and assembly")
    return Skip(f"no {SOURCE_KINDS} files in {', '.join(present)}")


def steps() -> list:
    """The steps in the order they are reported."""
    return [Step("generated files match the spec", _drift),
            Step("the committed JSON Schema matches the spec language", _schema),
            Step("C layout asserts compile on every arch", _c_asserts),
            Step("DWARF of the compiled header matches the spec", _dwarf),
            Step("the offsets header as an assembler sees it matches the spec", _offsets_probe),
            Step("Python parsers match the frozen layout", _python),
            Step("Go package is gofmt/vet clean and its layout tests pass on every arch", _go),
            Step("hand-written C and assembly compile against the headers", _consumers)]


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


def run_check(spec_path: str, out: str, consumer_folders: Optional[tuple] = None, stream=sys.stdout,
              jobs_count: Optional[int] = None, use_cache: bool = True) -> int:
    """Check `out` against the spec. `consumer_folders` None means the default (`stub`, skipped
    when absent); folders named by the user must exist. `jobs_count` defaults to $LAYOUTGEN_JOBS
    or the CPU count; `use_cache=False` (or LAYOUTGEN_CACHE=off) runs everything afresh."""
    spec, layouts = pipeline.build(spec_path)
    _require_folder(out)
    named = consumer_folders is not None
    checked = Checked(spec, layouts, spec_path, out,
                      DEFAULT_CONSUMERS if consumer_folders is None else tuple(consumer_folders), named)
    store = cache.open_store(out) if use_cache else None
    with jobs.Pool(jobs.job_count(jobs_count), store) as pool:
        started = [(step, _start(pool, step, checked)) for step in steps()]
        failed = [step.name for step, pending in started if not _report(step, pending, stream)]
    if failed:
        print(f"check: {len(failed)} step(s) failed: {', '.join(failed)}", file=stream)
        return 1
    print("check: everything holds", file=stream)
    return 0


def _start(pool: jobs.Pool, step: Step, checked: Checked) -> Union[Skip, list]:
    planned = step.plan(checked)
    return planned if isinstance(planned, Skip) else pool.submit(planned)


def _report(step: Step, pending: Union[Skip, list], stream) -> bool:
    """Print one step's line and problems; False when it failed."""
    if isinstance(pending, Skip):
        print(f"check: {step.name}: skipped ({pending.why})", file=stream)
        return True
    done = jobs.Pool.results(pending)
    problems = [problem for result in done for problem in result.problems]
    print(f"check: {step.name}: {_status(done, problems)}", file=stream)
    for problem in problems:
        print(f"  {problem}", file=stream)
    return not problems


def _status(done: list, problems: list) -> str:
    took = sum(result.seconds for result in done)
    cached = sum(1 for result in done if result.cached)
    if problems:
        return f"FAILED ({took:.2f}s)"
    if cached and cached == len(done):
        return "ok (cached)"
    return f"ok ({took:.2f}s, {cached} of {len(done)} cached)" if cached else f"ok ({took:.2f}s)"
