"""The tool subcommands of `layoutgen`: layout, docs, dump, schema and abi-diff (alias diff).

Each command prints its result on stdout. Bad input (an unknown arch or struct, a file
too short, a spec with errors) is one line on stderr and exit status 2; abi-diff exits
1 when it finds a breaking change.
"""
from __future__ import annotations

import argparse
import os
import sys

from .. import pipeline
from ..write import write_tree
from . import abidiff, docs, dump, layout_report, schema
from ..layout import layout_combinations
from .common import ToolError, parse_params

EXIT_OK, EXIT_BREAKING, EXIT_BAD_INPUT = 0, 1, 2


def register(commands, default_spec: str) -> None:
    """Add the tool subcommands to the CLI's subparsers."""
    from ..importer.command import register as _import_parser
    for build in (_layout_parser, _docs_parser, _dump_parser, _schema_parser, _diff_parser, _import_parser):
        build(commands, default_spec)


def _guarded(name: str, run):
    def wrapper(args) -> int:
        try:
            return run(args)
        except ToolError as error:
            print(f"layoutgen {name}: {error}", file=sys.stderr)
            return EXIT_BAD_INPUT
    return wrapper


def _spec_argument(parser, default_spec: str) -> None:
    parser.add_argument("--spec", default=default_spec, help="the spec file (default: the first of layoutgen.toml)")


def _offset(text: str) -> int:
    try:
        return int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r} (write e.g. 4096 or 0x1000)")


# ---- layout ----------------------------------------------------------------


def _layout_parser(commands, default_spec):
    parser = commands.add_parser("layout", help="print struct layouts the way pahole prints compiled ones")
    _spec_argument(parser, default_spec)
    parser.add_argument("--arch", help="one arch (default: every arch of the spec)")
    parser.add_argument("--struct", help="one struct, by its spec or C name (default: every struct)")
    parser.add_argument("--cacheline", type=int, default=None,
                        help="cache line size in bytes (default: the spec's cacheline_size, else 64)")
    _param_argument(parser)
    parser.add_argument("--all", action="store_true", dest="every",
                        help="every value of each parameter not fixed by --param, one block per combination "
                             "(default: the parameter's default value)")
    parser.set_defaults(run=_guarded("layout", _layout))


def _param_argument(parser) -> None:
    parser.add_argument("--param", action="append", metavar="NAME=VALUE", default=[],
                        help="the value of a spec parameter, e.g. page_size=65536 or page_size=64k "
                             "(repeatable; a parameter not given takes its default)")


def _layout(args) -> int:
    if args.cacheline is not None and args.cacheline < 1:
        raise ToolError(f"--cacheline must be positive ({args.cacheline})")
    spec, _ = pipeline.build(args.spec)
    params = parse_params(spec, args.param)
    sys.stdout.write(layout_report.report(spec, layout_combinations(spec), args.arch, args.struct,
                                          args.cacheline, params, args.every))
    implicit = [p for p in spec.params if p.name not in params]
    if implicit and not args.every:
        values = ", ".join(f"{p.name} = {p.default}" for p in implicit)
        print(f"layoutgen layout: default {values}; choose with --param NAME=VALUE, or --all", file=sys.stderr)
    return EXIT_OK


# ---- docs ------------------------------------------------------------------


def _docs_parser(commands, default_spec):
    parser = commands.add_parser("docs", help="write the Markdown reference and SVG diagrams (also part of generate)")
    _spec_argument(parser, default_spec)
    parser.add_argument("--out", default=os.path.join("generated", "docs"),
                        help="the docs folder, replaced as a whole (default: %(default)s)")
    parser.set_defaults(run=_guarded("docs", _docs))


def _docs(args) -> int:
    spec, layouts = pipeline.build(args.spec)
    files = docs.render(pipeline.context(spec, layouts, args.spec))
    write_tree({path[len("docs/"):]: text for path, text in files.items()}, args.out, spec_path=args.spec)
    print(f"layoutgen: wrote {len(files)} files to {args.out}", file=sys.stderr)
    return EXIT_OK


# ---- dump ------------------------------------------------------------------


def _dump_parser(commands, default_spec):
    parser = commands.add_parser("dump", help="decode struct records from a file, a memory dump or /proc/PID/mem")
    _spec_argument(parser, default_spec)
    parser.add_argument("--arch", required=True, help="the arch the bytes come from")
    parser.add_argument("--struct", required=True, help="the struct to decode, by its spec or C name")
    parser.add_argument("file", help="the file to read")
    parser.add_argument("--offset", type=_offset, default=0, help="where the first record starts (default: 0)")
    parser.add_argument("--count", type=_offset, default=1, help="how many records follow each other (default: 1)")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    _param_argument(parser)
    parser.set_defaults(run=_guarded("dump", _dump))


def _dump(args) -> int:
    spec, _ = pipeline.build(args.spec)
    sys.stdout.write(dump.dump(spec, layout_combinations(spec), args.arch, args.struct, args.file, args.offset,
                               args.count, args.format, parse_params(spec, args.param)))
    return EXIT_OK


# ---- schema ----------------------------------------------------------------


def _schema_parser(commands, default_spec):
    parser = commands.add_parser("schema", help="print (or write) the JSON Schema of the spec language")
    parser.add_argument("--out", help="write it to this file instead of stdout (e.g. spec/layoutgen.schema.json)")
    parser.set_defaults(run=_guarded("schema", _schema))


def _schema(args) -> int:
    text = schema.render()
    if args.out is None:
        sys.stdout.write(text)
        return EXIT_OK
    try:
        with open(args.out, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as error:
        raise ToolError(f"{args.out}: {error.strerror}")
    return EXIT_OK


# ---- abi-diff --------------------------------------------------------------


def _diff_parser(commands, default_spec):
    parser = commands.add_parser(
        "abi-diff", aliases=["diff"], help="compare two spec versions per arch; exit 1 on a breaking change",
        description="Compare two spec versions per arch and, for a spec with parameters, per parameter "
                    "combination (changes are grouped under `arm64_64k (page_size = 65536)`). A combination "
                    "only the old spec has is breaking, one only the new spec has compatible.")
    parser.add_argument("old", help="the old spec: a file or git:REV:PATH")
    parser.add_argument("new", help="the new spec: a file or git:REV:PATH")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    parser.set_defaults(run=_guarded("abi-diff", _diff))


def _diff(args) -> int:
    old_label, old_spec, old_layouts = abidiff.load_version(args.old)
    new_label, new_spec, new_layouts = abidiff.load_version(args.new)
    changes = abidiff.compare((old_spec, old_layouts), (new_spec, new_layouts))
    render = abidiff.render_json if args.format == "json" else abidiff.render_text
    sys.stdout.write(render(old_label, new_label, changes))
    return EXIT_BREAKING if any(c.breaking for c in changes) else EXIT_OK
