"""`layoutgen import` on the headers layoutgen generates for every tests/cases spec: importing
the generated header (with --own, every struct and union named as the spec names it) must give
a spec with the same layout on every arch the case declares. Two proofs chain: import itself proves its spec's
layout equal to the header's DWARF, member by member and bit by bit (it reports any
difference, so `problems` is empty), and abi-diff against the original spec finds no layout
change but what a C header cannot state. (test_import.py also regenerates and compares DWARF,
for the corpus.)"""
from __future__ import annotations

import glob
import os
import re

import pytest

from codegen import pipeline
from codegen.importer.command import import_spec
from test_import import abi_diff, arguments, generate_c
from conftest import ROOT

ALL_CASES = sorted(os.path.basename(os.path.dirname(p)) for p in glob.glob(os.path.join(ROOT, "tests", "cases", "*", "spec.yaml")))
# Layout a generated C header does not state, so no import of it can read back: regions, the
# layouts of parameter values other than the default (import reads the header as it compiles),
# and byte order (C has no byte-order type; the header says it in a comment only).
UNSTATED = {"region-removed", "combination-removed"}
# Types whose layout DWARF does not hold, so import refuses them (tested below): a struct that
# ends in an unnamed bitfield (DWARF has no member for it, nor its type, which can align the
# struct on AAPCS). The rest of the case is imported.
UNREADABLE = {"arch_rules": {"UnnamedBits"}}
_BYTE_ORDER = re.compile(r"^type (\S+) \((?:big|little)-endian\) -> (\S+)$")


def _stated(change, spec) -> bool:
    """A layout change the header could have told import about: anything but the above, and
    a field whose only change is its byte order (an enum's read as the enum's integer)."""
    if change["kind"] in UNSTATED:
        return False
    order = _BYTE_ORDER.match(change["detail"]) if change["kind"] == "field-retyped" else None
    if order is None:
        return True
    old, new = order.groups()
    stem = old.split("[")[0]
    base = {e.names.canonical: e.base.name for e in spec.enums}.get(stem, stem)
    return new not in (old, base + old[len(stem):])


def _arguments(spec) -> list:
    """--type and --name for every struct and union C declares under its own name, but those
    import cannot read."""
    left_out = UNREADABLE.get(spec.name, set())
    named = [s for s in spec.structs if not s.anonymous and s.external is None and s.names.canonical not in left_out]
    kinds = {name: "union" if getattr(decl, "is_union", False) or type(decl).__name__ == "UnionDecl" else "struct"
             for name, decl in ((s.names.canonical, s) for s in named)}
    argv = ["--type", *(f"{kinds[s.names.canonical]} {s.names.c}" for s in named)]
    for s in named:
        argv += ["--name", f"{kinds[s.names.canonical]} {s.names.c}={s.names.canonical}"]
    return argv


@pytest.mark.parametrize("case", ALL_CASES)
def test_importing_the_generated_header_gives_back_the_layout(case, tmp_path):
    spec_path = os.path.join(ROOT, "tests", "cases", case, "spec.yaml")
    spec, _ = pipeline.build(spec_path)
    (tmp_path / "first").mkdir()
    out, _, _ = generate_c(open(spec_path).read(), tmp_path / "first")
    header = os.path.join(out, "c", f"{spec.name}.h")
    archs = [item for arch in spec.archs for item in ("--arch", arch)]  # read on every arch the case declares
    text, problems, _ = import_spec(arguments(header, "--own", "--spec-name", f"{spec.name}_again", *archs,
                                              *_arguments(spec)))
    assert problems == []
    (tmp_path / "again.yaml").write_text(text)
    _, changes = abi_diff(spec_path, str(tmp_path / "again.yaml"))
    left_out = UNREADABLE.get(case, set())
    stated = [c for c in changes if c["layout"] and _stated(c, spec) and c["subject"].split(".")[0] not in left_out]
    assert stated == [], "\n".join(f"{c['kind']} {c['subject']}: {c['detail']}" for c in stated)


def test_a_struct_ending_in_an_unnamed_bitfield_is_refused_on_every_arch_with_the_cause(tmp_path):
    spec_path = os.path.join(ROOT, "tests", "cases", "arch_rules", "spec.yaml")
    spec, layouts = pipeline.build(spec_path)
    out, _, _ = generate_c(open(spec_path).read(), tmp_path)
    archs = [item for arch in spec.archs for item in ("--arch", arch)]
    _, problems, _ = import_spec(arguments(os.path.join(out, "c", "arch_rules.h"), "--own", *archs,
                                           "--type", "struct unnamed_bits"))
    assert problems == [f"the header's layout cannot be expressed: struct unnamed_bits ({arch}): size: spec says 1, "
                        f"compiler says {layouts[arch].structs['UnnamedBits'].size} (bytes past the last member DWARF "
                        "names: an unnamed bitfield at the end, which import cannot state)" for arch in spec.archs]
