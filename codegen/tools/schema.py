"""`layoutgen schema`: the JSON Schema of the spec language, built from the same key table
the loader checks (`codegen/spec_keys.py`) and the loader's own vocabularies (archs,
primitives, targets, identifier and type syntax).

Committed as `spec/layoutgen.schema.json` and named by the spec's
`# yaml-language-server: $schema=...` modeline, so an editor validates and completes a
spec as it is typed; `layoutgen check` fails when the committed copy is stale.

The schema checks shape (keys, kinds of values, known names of archs, targets and
primitive types); rules that need the whole spec (a type that names a struct, sizes,
cycles, name collisions) stay with the loader.
"""
from __future__ import annotations

import json
import os
import re

from .. import grammar, resolve, resolve_constants, resolve_options, resolve_scope, spec_keys
from ..ir import BYTE_ORDERS
from ..primitives import ARCHS, PRIMITIVES

SCHEMA_FILE = "layoutgen.schema.json"
MODELINE = re.compile(r"^#\s*yaml-language-server:\s*\$schema=(\S+)\s*$", re.MULTILINE)
DRAFT = "http://json-schema.org/draft-07/schema#"
TYPE_NAME = grammar.anchored(r"[A-Z][A-Za-z0-9_]*")
CONSTANT_NAME = grammar.anchored(r"[A-Z_][A-Z0-9_]*")
PARAM_NAME = grammar.anchored(grammar.PARAM_NAME)


def _ref(name: str) -> dict:
    return {"$ref": f"#/definitions/{name}"}


def _archs_pattern() -> str:
    arch = "(" + "|".join(re.escape(a) for a in ARCHS) + ")"
    return grammar.anchored(rf"\s*{arch}\s*(,\s*{arch}\s*)*")


def _type_pattern() -> str:
    """The loader's type syntax with Python-only named groups removed (JSON Schema uses ECMA regexes)."""
    return re.sub(r"\?P<\w+>", "", grammar.anchored(resolve_scope.TYPE))


def _kinds() -> dict:
    """Kind of value (as named in spec_keys) -> its JSON Schema."""
    aligns = [1 << n for n in range(resolve_options.MAX_ALIGN.bit_length())]
    arch_names = list(ARCHS)
    return {
        "version": {"const": resolve.FORMAT_VERSION, "description": "The spec format version."},
        "package_version": {"type": "string", "pattern": grammar.anchored(grammar.PACKAGE_VERSION),
                            "maxLength": grammar.MAX_PACKAGE_VERSION_LEN,
                            "description": "The generated Python package's version (PEP 440, quoted)."},
        "ident": {"type": "string", "pattern": grammar.anchored(grammar.IDENT), "maxLength": grammar.MAX_NAME_LEN},
        "asm_prefix": {"type": "string", "pattern": grammar.anchored(grammar.ASM_PREFIX),
                       "maxLength": grammar.MAX_ASM_PREFIX_LEN,
                       "description": "Put before each value's C name in the offsets header; \"\" for none."},
        "header_path": {"type": "string", "pattern": grammar.anchored(grammar.HEADER_PATH),
                        "maxLength": grammar.MAX_INCLUDE_LEN,
                        "description": "A header as `#include <...>` names it: relative, no '..'."},
        "c_type": {"type": "string", "pattern": grammar.anchored(grammar.C_TYPE),
                   "description": "struct NAME, union NAME, enum NAME, a typedef NAME, or __typeof__(((T *)0)->m)."},
        "go_type": {"enum": list(grammar.GO_TYPES)},
        "text": {"type": "string"},
        "bool": {"type": "boolean"},
        "expr": {"type": ["integer", "string"],
                 "description": "An integer, or an expression over constants, sizeof(S), alignof(S), offsetof(S, f)."},
        "prim": {"enum": list(PRIMITIVES)},
        "enum_base": {"enum": [name for name, info in PRIMITIVES.items() if not (info.is_bool or info.wide)]},
        "type": {"type": "string", "pattern": _type_pattern(),
                 "description": "A primitive, enum or struct name, ptr(Struct), with optional [length] suffixes."},
        "align": {"enum": aligns},
        "archs": {"type": "array", "minItems": 1, "items": {"enum": arch_names}},
        "spec_archs": {"type": "array", "minItems": 1, "uniqueItems": True, "items": {"enum": arch_names}},
        "targets": {"type": "array", "items": {"enum": list(resolve.TARGETS)}},
        "spec_targets": {"type": "array", "minItems": 1, "items": {"enum": list(resolve.TARGETS)}},
        "accessors": {"type": "array", "uniqueItems": True, "items": {"enum": list(resolve_constants.GO_ACCESSORS)}},
        "struct_name": {"type": "string", "pattern": TYPE_NAME},
        "constant_value": {"anyOf": [_ref("expr"), {
            "type": "object", "minProperties": 1, "propertyNames": {"pattern": _archs_pattern()},
            "additionalProperties": _ref("expr"), "description": "Per-arch values, keyed by arch lists."}]},
        "constants": {"type": "object", "propertyNames": {"pattern": CONSTANT_NAME},
                      "additionalProperties": {"anyOf": [_ref("expr"), _ref("constant")]}},
        "enums": {"type": "object", "propertyNames": {"pattern": TYPE_NAME}, "additionalProperties": _ref("enum")},
        "structs": {"type": "object", "propertyNames": {"pattern": TYPE_NAME},
                    "additionalProperties": _ref("struct")},
        "unions": {"type": "object", "propertyNames": {"pattern": TYPE_NAME},
                   "additionalProperties": _ref("union")},
        "struct_align": {"anyOf": [_ref("align"), {
            "type": "object", "minProperties": 1, "propertyNames": {"pattern": _archs_pattern()},
            "additionalProperties": _ref("align"), "description": "Per-arch alignments, keyed by arch lists."}]},
        "packed": {"anyOf": [_ref("bool"), _ref("archs"), {
            "type": "object", "minProperties": 1, "propertyNames": {"pattern": _archs_pattern()},
            "additionalProperties": _ref("bool"), "description": "Per-arch packing, keyed by arch lists."}],
            "description": "true, the archs it is packed on, or a map of arch lists to true/false."},
        "endian": {"enum": list(BYTE_ORDERS)},
        "sides": {"type": "array", "minItems": 1, "maxItems": grammar.MAX_SIDES, "uniqueItems": True,
                  "items": {"type": "string", "pattern": grammar.anchored(grammar.SIDE)},
                  "description": "The parties that write the shared memory, e.g. [runtime, stub]."},
        "writer": {"anyOf": [{"type": "string", "pattern": grammar.anchored(grammar.SIDE)},
                             {"type": "array", "minItems": 1, "uniqueItems": True,
                              "items": {"type": "string", "pattern": grammar.anchored(grammar.SIDE)}}],
                   "description": "The side (or sides) that write it; `both` for every side."},
        "cacheline_mode": {"enum": ["check", "separate"],
                           "description": "check: fields of different writers on one cache line are an error; "
                                          "separate: padding puts each writer group on its own line."},
        "regions": {"type": "object", "additionalProperties": _ref("region")},
        "asserts": {"type": "array", "items": {"anyOf": [_ref("expr"), _ref("assert")]}},
        "enum_values": {"type": "array", "minItems": 1, "items": _ref("enum_value")},
        "fields": {"type": "array", "minItems": 1, "items": {
            "if": {"type": "object", "required": ["pad"]}, "then": _ref("padding"), "else": {
                "if": {"type": "object", "required": ["reserved"]}, "then": _ref("reserved"),
                "else": {"if": {"type": "object", "required": ["bits"]}, "then": _ref("bitfield"),
                         "else": {"if": {"anyOf": [{"type": "object", "required": ["union"]},
                                                   {"type": "object", "required": ["struct"]}]},
                                  "then": _ref("anonymous"), "else": _ref("field")}}}}},
        "variants": {"type": "array", "items": _ref("variant")},
        "external": _ref("external_node"),
        "enum_external": _ref("enum_external_node"),
        "region_parts": {"type": "array", "items": _ref("region_part")},
        "integer": {"type": "integer"},
        "param_values": {"type": "array", "minItems": 1, "uniqueItems": True, "items": {"type": "integer"}},
        "params": {"type": "object", "propertyNames": {"pattern": PARAM_NAME}, "additionalProperties": _ref("param"),
                   "description": "Spec parameters (a second variant axis, such as a page size)."},
    }


def _node(node: spec_keys.Node) -> dict:
    schema = {"type": "object", "properties": {key: _ref(kind) for key, kind in node.keys.items()},
              "additionalProperties": False}
    if node.required:
        schema["required"] = list(node.required)
    if node in (spec_keys.STRUCT, spec_keys.UNION):
        schema["oneOf"] = [{"required": ["fields"]}, {"required": ["variants"]}]
    if node is spec_keys.ANONYMOUS:
        schema["oneOf"] = [{"required": ["union"]}, {"required": ["struct"]}]
    return schema


def build() -> dict:
    definitions = dict(sorted(_kinds().items()))
    for node in spec_keys.NODES:
        key = node.what + "_node" if node in (spec_keys.EXTERNAL, spec_keys.ENUM_EXTERNAL) else node.what
        definitions[key] = _node(node)
    spec = definitions.pop("spec")
    return {"$schema": DRAFT, "title": "layoutgen spec",
            "description": "A layoutgen spec: one YAML file describing a binary shared-memory ABI.",
            **spec, "definitions": definitions}


def render() -> str:
    return json.dumps(build(), indent=2, ensure_ascii=False) + "\n"


# ---- the drift check -------------------------------------------------------


def committed_path(spec_path: str) -> str:
    """The schema file a spec names in its modeline, or the repository's own copy."""
    try:
        with open(spec_path, encoding="utf-8") as handle:
            head = handle.read(4096)
    except OSError:
        head = ""
    found = MODELINE.search(head)
    if found and "://" not in found.group(1):
        return os.path.join(os.path.dirname(os.path.abspath(spec_path)), found.group(1))
    return os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                        "spec", SCHEMA_FILE)


def check(spec_path: str) -> list:
    """Problems (one string each) when the committed schema is missing or stale."""
    path = committed_path(spec_path)
    shown = os.path.relpath(path)
    if not os.path.exists(path):
        return [f"{shown}: missing; run `layoutgen schema --out {shown}`"]
    with open(path, encoding="utf-8") as handle:
        if handle.read() != render():
            return [f"{shown}: differs from the schema of this layoutgen's spec language; "
                    f"run `layoutgen schema --out {shown}`"]
    return []
