"""Hostile sizes: every spec that would cost unbounded work ends in a limit's error or a normal run.

Each spec runs `generate` in a child process whose address space is capped (RLIMIT_AS) and
that gets a generous timeout: it must exit 0, or exit 2 with one `file:line:col` line naming
the limit, never a MemoryError, a crash or a kill. The timeout guards against a hang; it
is not a speed test.
"""
from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import pytest

from codegen import grammar, layout, limits, load, resolve

ROOT = Path(__file__).resolve().parents[1]
HEADER = "layoutgen: 1\nname: demo\narchs: [amd64, arm64]\n"
ADDRESS_SPACE = 2 << 30
TIMEOUT = 600
PROBLEM = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): (?P<message>\S.*)$")


def _capped() -> None:
    import resource
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def _params(count: int, values: int) -> str:
    lines = "".join(f"  p{i}: {{values: [{', '.join(str(v) for v in range(1, values + 1))}], default: 1}}\n"
                    for i in range(count))
    total = " + ".join(f"p{i}" for i in range(count))
    return HEADER + "params:\n" + lines + f"structs:\n  S:\n    fields:\n      - {{name: a, type: 'u8[{total}]'}}\n"


def _region(parts: int) -> str:
    return HEADER + f"regions:\n  Mem:\n    size: {parts * 16}\n    parts:\n" + "".join(
        f"      - {{name: p{i}, offset: {i * 16}, size: 16}}\n" for i in range(parts))


def _enum(values: int) -> str:
    return HEADER + "enums:\n  Big:\n    type: u32\n    values:\n" + "".join(f"      - name: V{i}\n" for i in range(values))


def _tables(structs: int, copies: int) -> str:
    return HEADER + "structs:\n  Cell:\n    fields:\n      - {name: v, type: u8}\n" + "".join(
        f"  T{i}:\n    fields:\n      - {{name: cells, type: 'Cell[{copies}]'}}\n" for i in range(structs))


def _struct(name: str, field: str = "x", type_text: str = "u8") -> str:
    return HEADER + f"structs:\n  {name}:\n    fields:\n      - {{name: {field}, type: '{type_text}'}}\n"


def _structs(count: int, fields: int) -> str:
    return HEADER + "structs:\n" + "".join(
        f"  S{i}:\n    fields:\n" + "".join(f"      - {{name: f{j}, type: u32}}\n" for j in range(fields))
        for i in range(count))


@dataclass(frozen=True)
class Hostile:
    name: str
    text: str
    message: Optional[str]  # None: the spec must generate
    line: int = 0
    col: int = 0


HOSTILE = [
    # Half a million combinations before the limit existed: the run never ended.
    Hostile("parameter_combinations", _params(6, 8), "combinations of arch and parameter values; the limit is 64",
            6, 3),
    Hostile("parameter_combinations_at_limit", _params(5, 2), None),
    Hostile("leaves_per_spec", _tables(50, 60000), "leaf fields on amd64", 20, 3),
    Hostile("leaves_per_struct", _tables(1, 1 << 20), "makes more than 65536 leaf fields", 10, 9),
    Hostile("region_parts", _region(3000), "region Mem has 3000 parts; the limit is 1024", 8, 7),
    Hostile("region_parts_at_limit", _region(limits.MAX_REGION_PARTS), None),
    Hostile("enum_values", _enum(10000), "enum Big has 10000 values; the limit is 8192", 8, 7),
    Hostile("struct_name_length", _struct("A" * 300), "struct name is 300 characters long; the limit is 128", 5, 3),
    Hostile("field_name_length", _struct("A", "x" * 129), "field name is 129 characters long", 7, 16),
    Hostile("spec_name_length", _struct("A").replace("name: demo", "name: " + "d" * 65),
            "spec name is 65 characters long; the limit is 64", 2, 7),
    Hostile("longest_names", _struct("A" * grammar.MAX_NAME_LEN, "x" * grammar.MAX_NAME_LEN).replace(
        "name: demo", "name: " + "d" * grammar.MAX_SPEC_NAME_LEN), None),
    Hostile("terabyte_array", _struct("Big", "data", "u8[1L << 39]"), None),
    Hostile("terabyte_matrix", _struct("Big", "data", "u16[1 << 20][1 << 18]"), None),
    Hostile("big_endian_array", _struct("Big", "data", "u32[1L << 36]").replace(
        "    fields:", "    endian: big\n    fields:"), None),
    Hostile("array_in_union", HEADER + "unions:\n  U:\n    fields:\n      - {name: a, type: 'u64[1L << 36]'}\n"
            "      - {name: b, type: u8}\n", None),
    Hostile("spec_bytes", HEADER + "#" * load.MAX_SPEC_BYTES + "\n", f"spec is larger than {load.MAX_SPEC_BYTES} bytes",
            1, 1),
]


@pytest.mark.parametrize("case", HOSTILE, ids=lambda case: case.name)
def test_a_hostile_spec_ends_in_a_limit_or_a_normal_run(case: Hostile, tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(case.text, encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "codegen", "generate", "--spec", str(spec), "--out",
                          str(tmp_path / "out")], cwd=ROOT, capture_output=True, text=True, errors="replace",
                         timeout=TIMEOUT, preexec_fn=_capped)
    assert "Traceback" not in run.stderr and "internal error" not in run.stderr, run.stderr[-2000:]
    if case.message is None:
        assert run.returncode == 0, run.stderr[-2000:]
        return
    assert run.returncode == 2, f"exit {run.returncode}: {run.stderr[-2000:]}"
    lines = run.stderr.splitlines()
    assert len(lines) == 1, run.stderr[-2000:]
    match = PROBLEM.match(lines[0])
    assert match and match["file"] == str(spec), lines[0]
    assert case.message in match["message"], lines[0]
    assert (int(match["line"]), int(match["col"])) == (case.line, case.col), lines[0]


def test_region_overlap_asserts_grow_linearly(tmp_path: Path) -> None:
    """n parts give n - 1 sibling asserts per arch in the C layout test, not n²/2."""
    spec = tmp_path / "spec.yaml"
    spec.write_text(_region(200), encoding="utf-8")
    subprocess.run([sys.executable, "-m", "codegen", "generate", "--spec", str(spec), "--out", str(tmp_path / "out")],
                   cwd=ROOT, check=True, capture_output=True, timeout=TIMEOUT)
    test_c = (tmp_path / "out" / "c" / "demo_layout_test.c").read_text(encoding="utf-8")
    assert test_c.count(" ends before Mem.") == 2 * 199


def test_thousands_of_structs_load_and_resolve() -> None:
    """A legitimate big spec (3,000 structs, about 1 MB) is within every limit."""
    text = _structs(3000, 10)
    assert 900_000 < len(text) < load.MAX_SPEC_BYTES
    spec = resolve.resolve(load.load_text(text, "big.yaml"), "big.yaml", text.encode("utf-8"))
    assert len(spec.structs) == 3000
    assert sum(len(s.leaves) for s in layout.layout(spec, spec.variants[0]).structs.values()) == 30000
