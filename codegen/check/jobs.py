"""Units of check work: run side by side on threads (each drives a subprocess or reads a
file), answered from the cache when everything they read is unchanged."""
from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Optional

from ..write import OutputError
from . import cache
from .toolchain import ToolMissing

JOBS_VAR = "LAYOUTGEN_JOBS"


@dataclass(frozen=True)
class Ran:
    problems: list
    found: tuple = ()  # files read that only the run could name (a compile's headers)


@dataclass(frozen=True)
class Task:
    label: str
    run: Callable[[], Ran]
    inputs: Optional[Callable[[], cache.Inputs]] = None  # None: always run (cheap, or nothing to key)


@dataclass(frozen=True)
class Done:
    problems: list
    cached: bool
    seconds: float


def problems_of(tasks: list) -> list:
    """Run tasks one after another, uncached: the plain API the step modules keep."""
    return [problem for task in tasks for problem in task.run().problems]


def execute(task: Task, store: Optional[cache.Store]) -> Done:
    started = time.monotonic()
    try:
        key = task.inputs().digest() if store is not None and task.inputs is not None else None
        if key is not None and store.hit(key):
            return Done([], True, time.monotonic() - started)
        ran = task.run()
        if key is not None and not ran.problems:
            store.save(key, task.label, ran.found)
        problems = list(ran.problems)
    except ToolMissing as missing:
        problems = [str(missing)]
    return Done(problems, False, time.monotonic() - started)


def job_count(jobs: Optional[int] = None) -> int:
    """`jobs` when given, else $LAYOUTGEN_JOBS, else one per CPU."""
    if jobs is None and os.environ.get(JOBS_VAR):
        text = os.environ[JOBS_VAR]
        jobs = int(text) if text.isdigit() else 0
        if jobs < 1:
            raise OutputError(f"{JOBS_VAR}={text!r}: not a positive whole number (hint: unset it to use every CPU)")
    if jobs is not None and jobs < 1:
        raise OutputError(f"jobs={jobs}: need at least one")
    return jobs or os.cpu_count() or 1


class Pool:
    """Starts tasks as they are handed in; results come back in the order they were asked for."""

    def __init__(self, jobs: int, store: Optional[cache.Store]):
        self._executor = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="layoutgen-check")
        self._store = store

    def submit(self, tasks: list) -> list:
        return [self._executor.submit(execute, task, self._store) for task in tasks]

    @staticmethod
    def results(futures: list) -> list:
        return [future.result() for future in futures]

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> "Pool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

