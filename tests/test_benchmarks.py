"""`make bench` must keep working: its scripts run here on tiny budgets, asserting what they
print (rows, goals, the C probe built), never how fast anything was."""
from __future__ import annotations

import contextlib
import io
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

import bench_generate  # noqa: E402
import bench_parsers  # noqa: E402
import parse_floors  # noqa: E402


def _run(main, argv) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(argv) == 0
    return out.getvalue()


def test_parser_bench_prints_every_row_and_goal_beside_pure_python_and_its_floor():
    text = _run(bench_parsers.main, ["--rounds", "1", "--budget", "0.0001", "--records", "64", "--bulk", "64",
                                     "--seed", "1"])
    assert "generated code on its compiled runtime" in text  # gcc and Python.h come with `make test`
    for label in (parse_floors.FLOOR_PARSE, parse_floors.FLOOR_NEW_VIEW, parse_floors.FLOOR_NESTED,
                  parse_floors.PURE_PARSE, parse_floors.PURE_NEW_VIEW, parse_floors.PURE_NESTED):
        assert f"| {label} |" in text
    goal_lines = [line for line in text.splitlines() if line.startswith(("met", "MISSED"))]
    assert len(goal_lines) == 11
    priced = [line for line in goal_lines if "pure Python " in line]
    assert len(priced) == 6 and all("pure-Python floor" in line for line in priced)


def test_generate_goals_read_the_30x_goal_on_the_cli_and_price_in_process_per_struct():
    in_process = {"sysmsg": 0.06, "100 structs": 1.0, "1000 structs": 11.0}
    cli = {"sysmsg": 0.7, "100 structs": 1.7, "1000 structs": 16.0}
    lines = bench_generate.goals(in_process, cli, 6)
    assert lines[0].startswith("met: 1000-struct spec <= 12x a 100-struct one, in-process (ratio 11.00")
    assert lines[1].startswith("met: 1000-struct spec <= 12x a 100-struct one, CLI")
    assert lines[2].startswith("met: 1000-struct spec within 30x sysmsg's generate time, CLI end to end (ratio 22.86")
    assert lines[3] == "info: in-process, 1000 structs take 183x sysmsg's 6; per struct 11.0 ms against sysmsg's 10.0 ms"
    slow = dict(cli, **{"1000 structs": 30.0})
    assert bench_generate.goals(in_process, slow, 6)[2].startswith("MISSED: 1000-struct spec within 30x")
