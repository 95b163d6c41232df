"""`layoutgen import HEADER --type NAME...`: the spec of types an existing C header declares.

The spec goes to stdout. Bad input (a header that does not compile on an arch, a type that
exists on none) is one line on stderr, exit 2. So is anything the spec cannot express; the spec
is still written, with a comment at its top for each such thing.
"""
from __future__ import annotations

import os
import re
import sys
from concurrent.futures import ThreadPoolExecutor

from .. import grammar
from ..check.toolchain import ToolMissing
from ..primitives import ARCHS

# The arches a header is read on unless --arch names others: the pair hand-kept headers are
# usually written for. Every arch by default would refuse a header that is right for its own
# arches (sys/user.h has no struct user_regs_struct on riscv64) and quadruple the compiles.
DEFAULT_ARCHS = ("amd64", "arm64")
from . import align, probe, read, writer
from .model import ImportFailure, root_of

EXIT_OK, EXIT_BAD_INPUT = 0, 2
_SYSTEM_INCLUDE = re.compile(r"^[ \t]*#[ \t]*include[ \t]*<([^>\n]+)>", re.MULTILINE)


def register(commands, default_spec: str = "") -> None:
    """Add `import` to the CLI's subcommands (it reads a header, not a spec: `default_spec` is unused)."""
    parser = commands.add_parser("import", help="write a spec describing types an existing C header declares")
    parser.add_argument("header", help="a header file, or a system header name such as sys/epoll.h")
    parser.add_argument("--type", dest="types", action="extend", nargs="+", required=True, metavar="NAME",
                        help="a type to import: `struct x`, `union x`, `enum x` or a bare tag or typedef name "
                             "(repeatable); the types they contain come too")
    parser.add_argument("--arch", dest="archs", action="append", choices=ARCHS,
                        help="an arch to read the header on (repeatable; default: "
                             f"{' and '.join(DEFAULT_ARCHS)})")
    parser.add_argument("-D", dest="defines", action="append", default=[], metavar="MACRO=VALUE",
                        help="a macro for the compiler, as gcc's -D")
    parser.add_argument("--include-dir", dest="include_dirs", action="append", default=[], metavar="DIR",
                        help="a folder for the compiler's include path, as gcc's -I")
    parser.add_argument("--own", action="store_true",
                        help="the spec owns the types (its C output replaces the header) instead of "
                             "describing them as external")
    parser.add_argument("--macro", dest="macros", action="append", default=[], metavar="PATTERN",
                        help="import the macros matching this pattern (PREFIX_*) as constants, per arch")
    parser.add_argument("--name", dest="renames", action="append", default=[], metavar="C=SPEC",
                        help="the spec name of a type, e.g. 'struct sysmsg=Msg' (default: the C name in CamelCase)")
    parser.add_argument("--spec-name", help="the spec's `name` (default: from the header's file name)")
    parser.set_defaults(run=run)


def run(args) -> int:
    try:
        text, problems = import_header(args)
    except (ImportFailure, ToolMissing) as error:
        print(f"layoutgen import: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    sys.stdout.write(text)
    for problem in problems:
        print(f"layoutgen import: {problem}", file=sys.stderr)
    return EXIT_BAD_INPUT if problems else EXIT_OK


def import_header(args) -> tuple:
    """(the spec's YAML, problems): each problem is something the spec could not express."""
    text, problems, _ = import_spec(args)
    return text, problems


def import_spec(args, found=None) -> tuple:
    """(the spec's YAML, problems, writer.Read): the last is what the probes gave, per arch.
    `found` (a `read_header` result for the same header, types and macros) skips the probes:
    the spec describing a header and the one owning it come from one read."""
    found = found or read_header(args)
    options = writer.Options(spec_name=_spec_name(args), include=_include(found.header),
                             renames=_renames(args.renames))
    if args.own:
        options.includes = _system_owners(args.header, found.archs, found, found.defines, found.include_dirs)
        options.own = frozenset(k for d in found.decls.values() for k in d if k not in options.includes)
    builder = writer.Builder(found, options)
    root, mismatches = builder.build()
    problems = builder.lost + [f"the header's layout cannot be expressed: {m}" for m in mismatches]
    return writer.render(root, problems + found.skipped), problems, found


def read_header(args) -> writer.Read:
    """Compile the header on each arch and read the types asked for (and all they reach). The
    arches are read side by side (each waits mostly on its compiler); results and the first
    error are taken in arch order, so the outcome is the same as one arch after the other."""
    archs = tuple(a for a in ARCHS if a in (args.archs or DEFAULT_ARCHS))
    include_dirs, defines = tuple(args.include_dirs), tuple(args.defines)
    header = probe.locate(args.header, include_dirs)
    found = writer.Read(archs, {}, {}, {}, {}, {}, header=header, defines=defines, include_dirs=include_dirs)
    with ThreadPoolExecutor(max_workers=len(archs)) as pool:
        futures = [pool.submit(_read_arch, args, header, arch, defines, include_dirs) for arch in archs]
        reads = [future.result() for future in futures]
    seen = set()
    for arch, (unit, keys, decls, values, alignments, dropped, spellings) in zip(archs, reads):
        found.units[arch], found.keys[arch], found.decls[arch] = unit, keys, decls
        found.macros[arch], found.alignments[arch] = values, alignments
        found.skipped += [f"macro {name} on {arch} is not an integer constant; left out" for name in dropped]
        seen |= spellings
    missing = [s for s in args.types if s not in seen]
    if missing:  # a type may be missing on some arches (it becomes arch-only), not on all
        raise ImportFailure(f"type {missing[0]} does not exist on {', '.join(archs)}")
    return found


def _read_arch(args, header, arch: str, defines: tuple, include_dirs: tuple) -> tuple:
    macros = probe.macro_names(header, arch, tuple(args.macros), defines, include_dirs)
    data, values, dropped = probe.compile_probe(header, arch, macros, defines, include_dirs)
    unit, seen = read.Unit(data, arch), set()
    keys, decls = _read_types(unit, args.types, seen)
    decls = align.fill(header, arch, decls, defines, include_dirs)
    alignments = probe.alignments(header, arch, _aggregate_keys(decls), defines, include_dirs)
    return unit, keys, decls, values, alignments, dropped, seen


def _read_types(unit, spellings, seen: set) -> tuple:
    """The types that exist on this arch; `seen` collects the spellings found."""
    keys = []
    for spelling in spellings:
        try:
            keys.append(unit.find(spelling))
            seen.add(spelling)
        except ImportFailure as error:
            if "does not exist" not in str(error):
                raise
    return keys, read.Reader(unit).read(keys)


def _aggregate_keys(decls: dict) -> list:
    return [key for key, decl in decls.items() if getattr(decl, "kind", None)]


def _include(header: probe.Header) -> str:
    if not grammar.HEADER_PATH.fullmatch(header.include):
        raise ImportFailure(f"{header.include!r} cannot be an external.include (a relative path of "
                            "[A-Za-z0-9_./+-]); pass --include-dir with the folder it is included from")
    return header.include


def _spec_name(args) -> str:
    name = args.spec_name or re.sub(r"[^A-Za-z0-9_]", "_", os.path.basename(args.header).split(".")[0]).lower()
    if not grammar.IDENT.fullmatch(name) or len(name) > grammar.MAX_SPEC_NAME_LEN:
        raise ImportFailure(f"{name!r} is not a spec name; choose one with --spec-name")
    return name


def _renames(pairs) -> dict:
    renames = {}
    for pair in pairs:
        c_name, _, spec_name = pair.partition("=")
        c_name = " ".join(c_name.split())
        if not spec_name or not grammar.IDENT.fullmatch(spec_name) or not spec_name[0].isupper():
            raise ImportFailure(f"--name {pair!r}: write C=SpecName, e.g. 'struct sysmsg=Msg' (CamelCase)")
        renames[c_name] = spec_name
    return renames


def _system_owners(header_arg: str, archs: tuple, found, defines, include_dirs) -> dict:
    """{key: system header}: under --own, a type declared in a file one of the header's own
    `#include <...>` lines reads stays external, included from the most specific such header
    (the one reading the fewest files, so the choice does not depend on the order of the
    #include lines, which the generated header sorts); the rest the spec owns. An unnamed
    member's type goes with the type it is declared in."""
    if not os.path.isfile(header_arg):
        return {}
    with open(header_arg, encoding="utf-8", errors="replace") as handle:
        includes = sorted({i.strip() for i in _SYSTEM_INCLUDE.findall(handle.read())
                           if grammar.HEADER_PATH.fullmatch(i.strip())})
    owners = {}
    for arch in archs:
        reads = {include: probe.dependencies(probe.locate(include, ()), arch, defines, include_dirs)
                 for include in includes}
        for key in found.decls[arch]:
            path = found.units[arch].declared_in(root_of(key))
            choices = sorted((len(files), include) for include, files in reads.items() if path in files)
            if choices and key not in owners:
                owners[key] = choices[0][1]
    return owners
