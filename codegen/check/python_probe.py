"""The generated Python package against the frozen layout, without pytest.

A child interpreter imports the package from the output folder (never an installed copy of
the same name: the folder goes first on its path and the current folder is dropped), asks
each arch module what the generated pytest file asks (sizes, field offsets, bit positions,
constants, fast-path sizes) and prints the answers as JSON; this process compares them with
the layout the spec gives. The pytest file stays in the output for users who run it.

Bit positions the package states could agree with the layout and still be read the wrong
way (say little-endian on a big-endian arch), so each bitfield is also read: from bytes
where only its bits, placed as the arch's C allocates them, are set, the parser and the
view must both give all ones.
"""
from __future__ import annotations

import json
import os
import sys

from . import cache
from .jobs import Ran, Task
from .toolchain import run

# Runs in the child: stdin is {"folder", "package", "modules": {key: {"structs", "constants",
# "fixed", "set bits": {struct: [size, {path: [[byte, mask], ...]}]}}}, "bits"}; stdout is the
# answers, each {"ok": value} or {"error": "Type: text"}.
PROBE = r'''
import importlib, json, sys
question = json.load(sys.stdin)
if sys.path and sys.path[0] in ("", "."):
    del sys.path[0]
sys.path.insert(0, question["folder"])

def ask(how):
    try:
        return {"ok": how()}
    except Exception as error:
        return {"error": f"{type(error).__name__}: {error}"}

def dig(value, path):
    for part in path.split("."):
        value = getattr(value, part) if hasattr(value, part) else value[part]
    return int(value)

def read_bits(parser, view, size, fields):
    """Per bitfield: the (parsed, viewed) value of bytes holding only its bits, as raw bits."""
    found = {}
    for path, masks in fields.items():
        data = bytearray(size)
        for at, mask in masks:
            data[at] |= mask
        width = sum(bin(mask).count("1") for _, mask in masks)
        found[path] = [dig(parser.parse(bytes(data)), path) & ((1 << width) - 1),
                       dig(view(data), path) & ((1 << width) - 1)]
    return found

package = question["package"]
runtime = importlib.import_module(package + "._runtime")
bits = importlib.import_module(package + "._bits").bit_positions if question["bits"] else None
answers = {}
for key, wanted in question["modules"].items():
    try:
        module = importlib.import_module(f"{package}.{key}")
    except Exception as error:
        answers[key] = {"error": f"{type(error).__name__}: {error}"}
        continue
    structs = {}
    for name in wanted["structs"]:
        parser = getattr(module, name, None)
        found = {"offsets": ask(lambda: runtime.field_offsets(parser)),
                 "format size": ask(lambda: parser.format.size),
                 "view size": ask(lambda: getattr(module, name + "View").SIZE)}
        if name in wanted["fixed"]:
            found["fixed size"] = ask(lambda: parser.size)
        else:
            found["size"] = ask(lambda: parser.sizeof())
            found["field-by-field size"] = ask(lambda: parser.reference.sizeof())
        if bits is not None:
            found["bit positions"] = ask(lambda: {path: list(place) for path, place in bits(parser).items()})
        if name in wanted["set bits"]:
            view = getattr(module, name + "View", None)
            found["bits read (parse, view)"] = ask(lambda: read_bits(parser, view, *wanted["set bits"][name]))
        structs[name] = found
    constants = {name: getattr(module, name, None) for name in wanted["constants"]}
    answers[key] = {"ok": {"structs": structs, "constants": ask(lambda: json.loads(json.dumps(constants)))}}
json.dump(answers, sys.stdout)
'''


def expected(spec, layouts) -> dict:
    """What the generated pytest file freezes, per module key: each struct's answers as the
    probe gives them, and the constants."""
    from ..targets import python as python_target
    from ..targets.common import Context
    ctx = Context(spec=spec, layouts=layouts, spec_label="")
    found = {}
    for key, layout in ctx.combinations.items():
        structs = {}
        for fact in python_target.layout_facts(ctx, layout):  # the facts the pytest file freezes
            size = fact["fixed"] if fact["fixed"] is not None else fact["size"]
            want = {"offsets": dict(fact["offsets"]), "format size": size, "view size": size}
            want.update({"fixed size": size} if fact["fixed"] is not None
                        else {"size": size, "field-by-field size": size})
            if _has_bits(layouts):
                want["bit positions"] = {path: [first, width] for path, first, width in fact["bits"]}
            if fact["bits"] and fact["fixed"] is None:  # a flexible one may count by a bitfield
                all_ones = {path: [(1 << width) - 1] * 2 for path, _, width in fact["bits"]}
                want["bits read (parse, view)"] = all_ones
                want["set bits"] = [size, {path: _masks(first, width, layout)
                                           for path, first, width in fact["bits"]}]
            structs[fact["name"]] = want
        constants = {c.names.python: layout.constants[c.names.canonical] for c in spec.constants
                     if "python" in c.targets and c.names.canonical in layout.constants}
        found[key] = {"structs": structs, "constants": constants}
    return found


def _masks(first: int, width: int, layout) -> list:
    """[byte, mask] of the bits at `first`..: C allocates a byte's bits from its least
    significant on little-endian arches, from its most significant on big-endian ones."""
    from ..primitives import ARCHS
    little, found = ARCHS[layout.variant.arch].little_endian, {}
    for position in range(first, first + width):
        bit = position % 8 if little else 7 - position % 8
        found[position // 8] = found.get(position // 8, 0) | 1 << bit
    return [[at, mask] for at, mask in sorted(found.items())]


def _has_bits(layouts) -> bool:
    from ..targets import python_bits
    return any(python_bits.has_bits(layout) for layout in layouts.values())


def question(spec, layouts, folder: str, want: dict) -> dict:
    return {"folder": os.path.abspath(folder), "package": spec.name, "bits": _has_bits(layouts),
            "modules": {key: {"structs": sorted(facts["structs"]), "constants": sorted(facts["constants"]),
                              "fixed": sorted(name for name, s in facts["structs"].items() if "fixed size" in s),
                              "set bits": {name: s["set bits"] for name, s in facts["structs"].items()
                                           if "set bits" in s}}
                        for key, facts in want.items()}}


def task(spec, layouts, out: str) -> Task:
    folder = os.path.join(out, "python")
    want = expected(spec, layouts)
    asked = json.dumps(question(spec, layouts, folder, want), sort_keys=True)

    def inputs() -> cache.Inputs:
        return (cache.Inputs("python probe").tool(sys.executable).add("question", asked, want)
                .tree(os.path.join(folder, spec.name)).env("PYTHONPATH", "PYTHONHOME"))

    return Task("Python probe", lambda: Ran(probe(folder, asked, want)), inputs)


def probe(folder: str, asked: str, want: dict) -> list:
    """Problems: every answer of the child that differs from `want`, naming arch, struct and field."""
    paths = [os.path.abspath(folder)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(paths), PYTHONDONTWRITEBYTECODE="1")
    result = run([sys.executable, "-B", "-c", PROBE], env=env, input=asked)
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines()[-20:]
        return ["the generated Python package does not import:"] + ["    " + line for line in lines]
    try:
        answers = json.loads(result.stdout)
    except ValueError:
        return [f"the Python probe printed no answer: {result.stdout[:200]!r}"]
    return [problem for key, facts in want.items() for problem in compare(key, facts, answers.get(key))]


def compare(key: str, want: dict, answer) -> list:
    if not isinstance(answer, dict) or "ok" not in answer:
        return [f"{key}: the module does not import: {(answer or {}).get('error', 'no answer')}"]
    found, problems = answer["ok"], []
    for name, facts in want["structs"].items():
        if not facts["offsets"]:
            problems.append(f"{key} {name}: the spec gives no field offsets, so nothing was compared")
        for what, value in facts.items():
            if what == "set bits":  # asked, not answered
                continue
            problems += _differences(f"{key} {name}", what, value, found["structs"][name][what])
    problems += _differences(key, "constants", want["constants"], found["constants"])
    return problems


def _differences(label: str, what: str, value, answer: dict) -> list:
    if "error" in answer:
        return [f"{label}: {what}: the parser raises {answer['error']}"]
    if isinstance(value, dict):
        return [f"{label}.{name}: {what[:-1] if what.endswith('s') else what}: spec says {_shown(value, name)}, "
                f"the parser says {_shown(answer['ok'], name)}"
                for name in [*value, *(n for n in answer["ok"] if n not in value)]
                if value.get(name) != answer["ok"].get(name)]
    if value != answer["ok"]:
        return [f"{label}: {what}: spec says {value}, the parser says {answer['ok']}"]
    return []


def _shown(table: dict, name: str) -> str:
    return str(table[name]) if name in table else "nothing (no such name)"
