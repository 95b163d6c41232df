"""The `layoutgen` command. Exit status: 0 ok, 1 a check found a problem, 2 bad input or usage."""
from __future__ import annotations

import argparse
import os
import sys
import traceback

from . import pipeline
from .errors import SpecError
from .write import OutputError, describe_os_error, write_tree

EXIT_OK, EXIT_PROBLEM, EXIT_BAD_INPUT, EXIT_INTERNAL = 0, 1, 2, 3
DEFAULT_SPEC = os.path.join("spec", "sysmsg.yaml")


def _generate(args) -> int:
    files = pipeline.generate(args.spec, args.out)
    write_tree(files, args.out, spec_path=args.spec)
    print(f"layoutgen: wrote {len(files)} files to {args.out}", file=sys.stderr)
    return EXIT_OK


def _check(args) -> int:
    from .check.runner import run_check
    return run_check(args.spec, args.out, consumer_folders=tuple(args.consumers or ["stub"]))


def _lint_ifchange(args) -> int:
    from .lint import ifchange
    return ifchange.run(args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="layoutgen", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    generate = commands.add_parser("generate", help="write every target from the spec, atomically")
    generate.add_argument("--spec", default=DEFAULT_SPEC, help="the spec file (default: %(default)s)")
    generate.add_argument("--out", default="generated", help="the output folder (default: %(default)s)")
    generate.set_defaults(run=_generate)

    check = commands.add_parser("check", help="fail when generated files drift from the spec or the compilers disagree")
    check.add_argument("--spec", default=DEFAULT_SPEC, help="the spec file (default: %(default)s)")
    check.add_argument("--out", default="generated", help="the committed output folder (default: %(default)s)")
    check.add_argument("--consumers", action="append", metavar="DIR",
                       help="a folder of hand-written .c/.S files to compile against the generated headers "
                            "(repeatable; default: stub)")
    check.set_defaults(run=_check)

    try:
        from .lint import ifchange
    except ImportError:
        ifchange = None
    if ifchange is not None and hasattr(ifchange, "add_arguments"):
        lint = commands.add_parser("lint-ifchange", help="check IfChange/ThenChange pairing comments")
        ifchange.add_arguments(lint)
        lint.set_defaults(run=_lint_ifchange)

    from .tools import commands as tool_commands
    tool_commands.register(commands, DEFAULT_SPEC)  # layout, docs, dump, schema, abi-diff
    return parser


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    try:
        return args.run(args)
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
