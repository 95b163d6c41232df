"""The `layoutgen` command. Exit status: 0 ok, 1 a check found a problem, 2 bad input or usage."""
from __future__ import annotations

import argparse
import io
import os
import sys
import time
import traceback

from . import pipeline, project
from .errors import SpecError
from .write import OutputError, describe_os_error, write_tree

EXIT_OK, EXIT_PROBLEM, EXIT_BAD_INPUT, EXIT_INTERNAL = 0, 1, 2, 3
DEFAULT_OUT = "generated"  # --spec without --out, for a spec no project file lists
QUIET, NORMAL, VERBOSE = -1, 0, 1


class UsageError(Exception):
    """Nothing to work on, or options that do not go together: one line, exit 2."""


def _say(args, level: int, message: str) -> None:
    """A progress line on stderr, when the verbosity asks for it (errors are printed elsewhere)."""
    if getattr(args, "verbosity", NORMAL) >= level:
        print(f"layoutgen: {message}", file=sys.stderr)


def _shown(path: str) -> str:
    """A path relative to where the command runs, as messages and the check steps print it."""
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


# ---- what to work on: --spec alone, or the project file ---------------------


def _no_project_message() -> str:
    return (f"no --spec given and no {project.FILE} in {os.getcwd()} or any folder above it "
            f"(hint: run `layoutgen init` to start a project, or name one spec with --spec FILE --out DIR)")


def _current_project():
    found = project.find(os.getcwd())
    return project.load(found) if found else None


def _jobs(args) -> list:
    """(spec, out, consumer folders) for each spec the command works on. `--spec` or `--out`
    picks one spec (the project's first when only `--out` is given); neither, every spec
    of the project file found from the current folder upward."""
    if args.spec is None:
        current = _current_project()
        if current is None:
            raise UsageError(_no_project_message())
        entries = current.entries if args.out is None else current.entries[:1]
        return [(_shown(e.spec), args.out or _shown(e.out), tuple(_shown(c) for c in e.consumers)) for e in entries]
    _, entry = project.for_spec(args.spec)
    out = args.out or (_shown(entry.out) if entry else DEFAULT_OUT)
    consumers = tuple(_shown(c) for c in entry.consumers) if entry else None
    return [(args.spec, out, consumers)]


def _default_spec(args) -> None:
    """Commands that read one spec (layout, dump, docs, ...) default to the project's first."""
    if getattr(args, "spec", "") is not None or args.command in ("generate", "check"):
        return
    current = _current_project()
    if current is None:
        raise UsageError(_no_project_message())
    args.spec = _shown(current.entries[0].spec)


# ---- commands ---------------------------------------------------------------


def _generate(args) -> int:
    """Every spec is built and rendered before any folder is written: a bad spec anywhere
    in the project leaves every output as it was."""
    rendered = []
    for spec, out, _ in _jobs(args):
        started = time.monotonic()
        built = pipeline.build(spec)
        took = time.monotonic() - started
        files = pipeline.render(*built, spec, out)
        _say(args, VERBOSE, f"{spec}: loaded, resolved and laid out in {took:.2f}s; "
                            f"rendered {_per_target(files)} in {time.monotonic() - started - took:.2f}s")
        rendered.append((spec, out, files))
    for spec, out, files in rendered:
        write_tree(files, out, spec_path=spec)
        _say(args, NORMAL, f"wrote {len(files)} files to {out}")
    return EXIT_OK


def _per_target(files: dict) -> str:
    counts = {}
    for path in files:
        top = path.split("/")[0]
        counts[top] = counts.get(top, 0) + 1
    return ", ".join(f"{n} {top}" for top, n in sorted(counts.items()))


def _check(args) -> int:
    from .check.runner import run_check
    jobs = _jobs(args)
    worst = EXIT_OK
    for spec, out, consumers in jobs:
        folders = tuple(args.consumers) if args.consumers else consumers  # None: the default, stub if present
        if len(jobs) > 1 or args.verbosity >= VERBOSE:
            _say(args, NORMAL, f"check {spec} against {out}" + (f" (consumers: {', '.join(folders)})" if folders else ""))
        stream = io.StringIO() if args.verbosity <= QUIET else sys.stdout
        code = run_check(spec, out, consumer_folders=folders, stream=stream, jobs_count=args.jobs,
                         use_cache=not args.no_cache)
        if code != EXIT_OK and args.verbosity <= QUIET:
            sys.stdout.write(stream.getvalue())  # quiet hides progress, never a failure
        worst = max(worst, code)
    return worst


def _init(args) -> int:
    from . import init
    return init.run(args.dir, say=lambda message: _say(args, NORMAL, message))


def _lint_ifchange(args) -> int:
    from .lint import ifchange
    return ifchange.run(args)


def _version() -> str:
    from importlib import metadata
    try:
        return metadata.version("layoutgen")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "(not installed)"


# ---- the parser -------------------------------------------------------------


def _verbosity(parser, default) -> None:
    """-q and -v, before or after the command (the subcommand's copy must not reset the main one)."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("-q", "--quiet", dest="verbosity", action="store_const", const=QUIET, default=default,
                       help="print errors only")
    group.add_argument("-v", "--verbose", dest="verbosity", action="store_const", const=VERBOSE, default=default,
                       help="print what each step does")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="layoutgen", description=__doc__)
    parser.add_argument("--version", action="version", version=f"layoutgen {_version()}")
    _verbosity(parser, NORMAL)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    where = f"(default: every spec of the {project.FILE} found from here upward)"

    generate = commands.add_parser("generate", help="write every target from the spec, atomically")
    generate.add_argument("--spec", help=f"one spec file {where}")
    generate.add_argument("--out", help="the output folder (default: the project's for that spec, else generated)")
    _verbosity(generate, argparse.SUPPRESS)
    generate.set_defaults(run=_generate)

    check = commands.add_parser("check", help="fail when generated files drift from the spec or the compilers disagree")
    check.add_argument("--spec", help=f"one spec file {where}")
    check.add_argument("--out", help="the committed output folder (default: the project's for that spec, else generated)")
    check.add_argument("--consumers", action="append", metavar="DIR",
                       help="a folder of hand-written .c/.S files to compile against the generated headers "
                            "(repeatable; default: the project's `consumers` for that spec, else stub)")
    check.add_argument("--jobs", type=int, metavar="N",
                       help="how many compiles and tests run at once (default: $LAYOUTGEN_JOBS, else the CPU count)")
    check.add_argument("--no-cache", action="store_true",
                       help="run every step afresh, neither reading nor writing the result cache "
                            "($LAYOUTGEN_CACHE=off does the same)")
    _verbosity(check, argparse.SUPPRESS)
    check.set_defaults(run=_check)

    init = commands.add_parser("init", help="start a project: a starter spec, layoutgen.toml and a pre-commit config")
    init.add_argument("dir", nargs="?", default=".", help="an empty or new folder (default: the current one)")
    _verbosity(init, argparse.SUPPRESS)
    init.set_defaults(run=_init)

    try:
        from .lint import ifchange
    except ImportError:
        ifchange = None
    if ifchange is not None and hasattr(ifchange, "add_arguments"):
        lint = commands.add_parser("lint-ifchange", help="check IfChange/ThenChange pairing comments")
        ifchange.add_arguments(lint)
        lint.set_defaults(run=_lint_ifchange)

    from .tools import commands as tool_commands
    tool_commands.register(commands, None)  # layout, docs, dump, schema, abi-diff
    return parser


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    try:
        _default_spec(args)
        return args.run(args)
    except UsageError as error:
        print(f"layoutgen: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except SpecError as error:
        for problem in error.problems:
            print(f"{problem}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OutputError as error:
        print(f"layoutgen: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as error:  # the disk, not layoutgen: read-only, full, a name too long, ...
        print(f"layoutgen: {describe_os_error(error.filename or getattr(args, 'out', '?'), error)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # a bug in layoutgen, not in the user's input
        print(f"layoutgen: internal error: {type(error).__name__}: {error}", file=sys.stderr)
        if os.environ.get("LAYOUTGEN_DEBUG"):
            traceback.print_exc()
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
