"""`layoutgen import` on the headers layoutgen generates for every tests/cases spec: importing
the generated header (with --own, every struct and union named as the spec names it) must give
a spec with the same layout on both arches. Two proofs chain: import itself proves its spec's
layout equal to the header's DWARF, member by member and bit by bit (it reports any
difference, so `problems` is empty), and abi-diff against the original spec finds nothing that
moves or changes size. (test_import.py also regenerates and compares DWARF, for the corpus.)"""
from __future__ import annotations

import glob
import json
import os
import re

import pytest

from codegen import cli, pipeline
from codegen.importer.command import import_spec
from codegen.importer.model import ImportFailure
from codegen.primitives import PRIMITIVES
from codegen.tools import abidiff
from codegen.write import write_tree
from conftest import ROOT

ALL_CASES = sorted(os.path.basename(os.path.dirname(p)) for p in glob.glob(os.path.join(ROOT, "tests", "cases", "*", "spec.yaml")))
# Not a layout change: what a C header cannot say (docs, byte order, enum typing of a field,
# reserved bytes, `extensible`), names for padding, and what import reads only when asked.
# Breaking verdicts that are no layout change: what import reads only when asked, and one
# combination of parameters (import reads the header as it compiles, with the default values).
NOT_LAYOUT = {"constant-removed", "enum-removed", "region-removed", "combination-removed"}
_ORDER = re.compile(r" \((big|little)-endian\)")
_SAME_BYTES = {frozenset({"bool8", "u8"}), frozenset({"bool32", "u32"})}
_SPARE = re.compile(r"\.(pad|reserved)_anon\d+$")  # the C spelling layoutgen gives padding in anonymous members


def _unsayable(change) -> bool:
    """A difference a C header cannot carry: byte order, a flag stored as an integer, and the
    names the generated header gives padding inside anonymous members."""
    if change["kind"] == "field-added-overlap" and _SPARE.search(change["subject"]):
        return True
    if change["kind"] not in ("field-retyped", "field-resized", "bitfield-retyped"):
        return False
    match = re.match(r"(?:type )?(\S+(?: \((?:big|little)-endian\))?) -> (\S+)", change["detail"])
    if not match:
        return False
    old, new = _ORDER.sub("", match.group(1)), match.group(2).rstrip(",")
    enum_as_integer = old not in PRIMITIVES and new in PRIMITIVES  # abi-diff checked the sizes
    return old == new or frozenset({old, new}) in _SAME_BYTES or enum_as_integer


def _generate(spec_path: str, out) -> None:
    write_tree(pipeline.generate(spec_path, str(out)), str(out), spec_path=spec_path)


def _arguments(spec) -> list:
    """--type and --name for every struct and union C declares under its own name."""
    named = [s for s in spec.structs if not s.anonymous and s.external is None]
    kinds = {name: "union" if getattr(decl, "is_union", False) or type(decl).__name__ == "UnionDecl" else "struct"
             for name, decl in ((s.names.canonical, s) for s in named)}
    argv = ["--type", *(f"{kinds[s.names.canonical]} {s.names.c}" for s in named)]
    for s in named:
        argv += ["--name", f"{kinds[s.names.canonical]} {s.names.c}={s.names.canonical}"]
    return argv


def _changes(old: str, new: str) -> list:
    (old_label, *old_built), (new_label, *new_built) = abidiff.load_version(old), abidiff.load_version(new)
    return json.loads(abidiff.render_json(old_label, new_label, abidiff.compare(old_built, new_built)))["changes"]


@pytest.mark.parametrize("case", ALL_CASES)
def test_importing_the_generated_header_gives_back_the_layout(case, tmp_path):
    spec_path = os.path.join(ROOT, "tests", "cases", case, "spec.yaml")
    spec, _ = pipeline.build(spec_path)
    _generate(spec_path, tmp_path / "first")
    header = str(tmp_path / "first" / "c" / f"{spec.name}.h")
    text, problems, original = import_spec(cli._parser().parse_args(
        ["import", header, "--own", "--spec-name", f"{spec.name}_again", *_arguments(spec)]))
    assert problems == []
    (tmp_path / "again.yaml").write_text(text)
    changes = [c for c in _changes(spec_path, str(tmp_path / "again.yaml"))
               if c["breaking"] and c["kind"] not in NOT_LAYOUT and not _unsayable(c)]
    assert changes == [], "\n".join(f"{c['kind']} {c['subject']}: {c['detail']}" for c in changes)
