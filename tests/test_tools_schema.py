"""The JSON Schema of the spec language and the loader agree.

Both read the key table in `codegen/spec_keys.py`; these tests check the rest of the
agreement on real specs: every good spec validates, every bad spec whose fault is one of
shape (unknown or missing keys, wrong kinds of values, unknown archs, targets or
primitive types, malformed names and types) is rejected by both, and for every kind of
node an unknown or a missing key is rejected by both with the same list of keys.
"""
import copy
import glob
import json
import os

import jsonschema
import pytest
import yaml

from codegen import pipeline, spec_keys
from codegen.errors import SpecError
from codegen.tools import schema
from conftest import ROOT, SPEC, run_cli

COMMITTED = os.path.join(ROOT, "spec", "layoutgen.schema.json")
GOOD = [SPEC] + sorted(glob.glob(os.path.join(ROOT, "tests", "cases", "*", "spec.yaml")))
BAD = sorted(glob.glob(os.path.join(ROOT, "tests", "errors", "*.yaml")))
# Bad specs whose fault is one of shape, which a schema can see without the whole spec.
SHAPE_FAMILIES = ("unknown_key_", "kind_", "missing_", "layoutgen_version_", "ident_")
SHAPE_FAULTS = {"align_field_zero", "align_not_power_of_two", "arch_empty_list", "arch_twice", "arch_unknown",
                "both_fields_and_variants", "constant_unknown_target", "enum_empty", "enum_type_flag",
                "enum_type_not_primitive", "padding_float", "struct_empty", "type_unreadable",
                "yaml_norway_bool_name"}


def validator():
    document = schema.build()
    jsonschema.Draft7Validator.check_schema(document)
    return jsonschema.Draft7Validator(document)


def rejected_by_loader(path) -> bool:
    try:
        pipeline.build(str(path))
    except SpecError:
        return True
    return False


def shape_fault(path) -> bool:
    name = os.path.basename(path)[:-len(".yaml")]
    return name.startswith(SHAPE_FAMILIES) or name in SHAPE_FAULTS


def test_committed_schema_is_current_and_named_by_the_spec():
    with open(COMMITTED) as handle:
        assert handle.read() == schema.render(), "run `layoutgen schema --out spec/layoutgen.schema.json`"
    with open(SPEC) as handle:
        assert handle.readline().strip() == "# yaml-language-server: $schema=layoutgen.schema.json"
    assert schema.committed_path(SPEC) == COMMITTED
    assert schema.check(SPEC) == []


def test_schema_command_prints_the_committed_schema(tmp_path):
    result = run_cli("schema")
    assert result.returncode == 0 and json.loads(result.stdout) == schema.build()
    out = tmp_path / "s.json"
    assert run_cli("schema", "--out", str(out)).returncode == 0
    assert out.read_text() == open(COMMITTED).read()


def test_check_fails_on_a_stale_schema(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(open(SPEC).read())
    (tmp_path / "layoutgen.schema.json").write_text(schema.render().replace('"u64"', '"u128"'))
    problems = schema.check(str(spec))
    assert len(problems) == 1 and "layoutgen.schema.json: differs" in problems[0]
    (tmp_path / "layoutgen.schema.json").unlink()
    assert "missing" in schema.check(str(spec))[0]


@pytest.mark.parametrize("path", GOOD, ids=lambda p: os.path.relpath(p, ROOT))
def test_every_good_spec_validates(path):
    assert not rejected_by_loader(path)
    errors = [e.message for e in validator().iter_errors(yaml.safe_load(open(path)))]
    assert errors == []


@pytest.mark.parametrize("path", [p for p in BAD if shape_fault(p)], ids=os.path.basename)
def test_shape_faults_are_rejected_by_both(path):
    assert rejected_by_loader(path)
    assert list(validator().iter_errors(yaml.safe_load(open(path)))), "the schema accepts it"


def test_the_catalogue_has_shape_faults_of_every_family():
    names = {os.path.basename(p)[:-len(".yaml")] for p in BAD}
    for family in SHAPE_FAMILIES:
        assert any(name.startswith(family) for name in names), family
    assert SHAPE_FAULTS <= names, SHAPE_FAULTS - names


# ---- key by key ------------------------------------------------------------

BASE = {
    "layoutgen": 1, "name": "probe", "archs": ["amd64", "arm64"],
    "constants": {"N": {"value": 4}},
    "enums": {"E": {"type": "u32", "external": {"include": "t.h"}, "values": [{"name": "A"}]}},
    "structs": {
        "S": {"extensible": {"size_field": "x"}, "fields": [{"name": "x", "type": "u32"}, {"pad": 4}, {"name": "flag", "type": "u32", "bits": 3},
                         {"union": [{"name": "w", "type": "u32"}]}]},
        "T": {"external": {"c_type": "struct t", "include": "t.h"},
              "variants": [{"arch": ["amd64", "arm64"], "fields": [{"name": "y", "type": "u64"}]}]},
    },
    "unions": {"U": {"fields": [{"name": "z", "type": "u32"}, {"reserved": 8}]}},
    "regions": {"R": {"size": 64, "parts": [{"name": "p", "offset": 0, "size": 8}]}},
    "asserts": [{"expr": "N == 4"}],
    "params": {"page_size": {"values": [4096, 65536], "default": 4096}},
}
WHERE = {"spec": [], "constant": ["constants", "N"], "enum": ["enums", "E"], "enum_external": ["enums", "E", "external"],
         "enum_value": ["enums", "E", "values", 0], "struct": ["structs", "S"],
         "external": ["structs", "T", "external"], "extensible": ["structs", "S", "extensible"], "variant": ["structs", "T", "variants", 0],
         "padding": ["structs", "S", "fields", 1], "field": ["structs", "S", "fields", 0],
         "bitfield": ["structs", "S", "fields", 2], "anonymous": ["structs", "S", "fields", 3],
         "union": ["unions", "U"], "reserved": ["unions", "U", "fields", 1],
         "region": ["regions", "R"], "region_part": ["regions", "R", "parts", 0], "assert": ["asserts", 0],
         "param": ["params", "page_size"]}


def node_at(document, path):
    for step in path:
        document = document[step]
    return document


def loader_error(document, tmp_path) -> str:
    path = tmp_path / "probe.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    try:
        pipeline.build(str(path))
    except SpecError as error:
        return str(error)
    return ""


def test_the_probe_spec_is_good(tmp_path):
    assert set(WHERE) == {node.what for node in spec_keys.NODES}
    assert loader_error(BASE, tmp_path) == ""
    assert list(validator().iter_errors(BASE)) == []


@pytest.mark.parametrize("node", spec_keys.NODES, ids=lambda n: n.what)
def test_an_unknown_key_is_rejected_by_both_with_the_same_key_list(node, tmp_path):
    document = copy.deepcopy(BASE)
    node_at(document, WHERE[node.what])["zz_unknown"] = 1
    message = loader_error(document, tmp_path)
    assert "unknown key 'zz_unknown'" in message and "allowed keys: " + ", ".join(node.allowed) in message
    assert list(validator().iter_errors(document))
    definition = schema.build() if node.what == "spec" else schema.build()["definitions"][
        node.what + "_node" if node in (spec_keys.EXTERNAL, spec_keys.ENUM_EXTERNAL) else node.what]
    assert tuple(definition["properties"]) == node.allowed


# Padding is told from a field by its `pad` key, so a padding without it is a field, not a padding;
# likewise a bitfield without `bits` and reserved space without `reserved` are fields.
REQUIRED = [(node, key) for node in spec_keys.NODES for key in node.required if node is not spec_keys.PADDING
            and (node, key) != (spec_keys.BITFIELD, "bits") and node is not spec_keys.RESERVED]


@pytest.mark.parametrize("node, key", REQUIRED, ids=lambda v: getattr(v, "what", v))
def test_a_missing_required_key_is_rejected_by_both(node, key, tmp_path):
    document = copy.deepcopy(BASE)
    target = node_at(document, WHERE[node.what])
    assert key in target, "the probe spec has every required key"
    del target[key]
    assert loader_error(document, tmp_path), f"the loader accepts a {node.what} without {key}"
    assert list(validator().iter_errors(document)), f"the schema accepts a {node.what} without {key}"
