"""The keys each kind of spec node may carry, and the kind of value each key takes.

One table for two readers: `resolve` rejects unknown and missing keys with these
lists, and `layoutgen schema` (`tools/schema.py`) turns the same table into the JSON
Schema editors validate against, so the two cannot disagree about which keys exist.
Key order is the order error messages list them in.
"""
from __future__ import annotations

from dataclasses import dataclass

TARGETS = ("c", "go", "python")
_NAMES = {target: "ident" for target in TARGETS}  # a per-language spelling of the node's name


@dataclass(frozen=True)
class Node:
    what: str  # the schema definition this node becomes
    keys: dict  # key -> kind of value (see tools/schema.py for the kinds)
    required: tuple = ()

    @property
    def allowed(self) -> tuple:
        return tuple(self.keys)


SPEC = Node("spec", {
    "layoutgen": "version", "name": "ident", "doc": "text", "archs": "spec_archs", "targets": "spec_targets",
    "constants": "constants", "enums": "enums", "structs": "structs", "unions": "unions", "regions": "regions",
    "asserts": "asserts", "params": "params", "external_constants": "header_path", "version": "package_version",
    "sides": "sides", "cacheline_size": "expr",
}, ("layoutgen", "name", "archs"))

CONSTANT = Node("constant", {
    "value": "constant_value", "doc": "text", "type": "prim", "go_type": "go_type", "c_ifndef": "bool",
    "targets": "targets", "arch": "archs", "external": "header_path", **_NAMES,
}, ("value",))

ENUM = Node("enum", {
    "type": "enum_base", "doc": "text", "values": "enum_values", "arch": "archs", "go_accessors": "accessors",
    "go_nosplit": "accessors", "go_untyped": "bool", "asm_prefix": "asm_prefix", "external": "enum_external",
    **_NAMES,
}, ("type", "values"))

# An enum whose values a system header defines (as enum constants or macros): C uses the
# header's, the layout test asserts each against it, Python and Go get the spec's.
ENUM_EXTERNAL = Node("enum_external", {"include": "header_path"}, ("include",))

ENUM_VALUE = Node("enum_value", {"name": "ident", "value": "expr", "doc": "text", **_NAMES}, ("name",))

STRUCT = Node("struct", {
    "doc": "text", "fields": "fields", "variants": "variants", "align": "struct_align", "packed": "packed",
    "endian": "endian", "external": "external", "arch": "archs", "extensible": "extensible", **_NAMES, "asm": "ident",
    "writer": "writer", "cacheline": "cacheline_mode",
})

# A union takes the keys of a struct but `extensible` and `cacheline` (its alternatives share
# their bytes, so there is nothing to keep apart); its fields are all at offset 0.
UNION = Node("union", {key: kind for key, kind in STRUCT.keys.items() if key not in ("extensible", "cacheline")})

# The kernel's convention for a struct that grows at its tail (perf_event_attr, clone_args):
# an unsigned field carries the struct's size as the writer knew it; zero means absent.
EXTENSIBLE = Node("extensible", {"size_field": "ident"}, ("size_field",))

EXTERNAL = Node("external", {"c_type": "c_type", "include": "header_path"}, ("c_type", "include"))

VARIANT = Node("variant", {"arch": "archs", "fields": "fields"}, ("arch", "fields"))

PADDING = Node("padding", {"pad": "expr", "doc": "text", "c": "ident", "arch": "archs"}, ("pad",))

FIELD = Node("field", {
    "name": "ident", "type": "type", "doc": "text", "align": "align", "endian": "endian", "arch": "archs", **_NAMES,
    "asm": "ident", "writer": "writer", "atomic": "bool",
}, ("name", "type"))

# Bytes kept for fields a later version adds: zeros now, and room the ABI diff accepts a field in.
RESERVED = Node("reserved", {"reserved": "expr", "doc": "text", "c": "ident", "arch": "archs"}, ("reserved",))

# A member with `bits` is a bitfield; without a name it is padding bits (or, 0 bits wide,
# a break to the next storage unit).
BITFIELD = Node("bitfield", {
    "name": "ident", "type": "type", "bits": "expr", "doc": "text", "arch": "archs", **_NAMES, "asm": "ident",
    "writer": "writer",
}, ("type", "bits"))

# An anonymous (unnamed) struct or union member: `{union: [fields...]}` or `{struct: [...]}`;
# its fields are reached as the parent's own, as in C11.
ANONYMOUS = Node("anonymous", {"union": "fields", "struct": "fields", "doc": "text", "arch": "archs",
                               "packed": "packed", "align": "struct_align"})

REGION = Node("region", {"doc": "text", "size": "expr", "parts": "region_parts", "holds": "struct_name"},
              ("size",))

# `count` and `stride` make a part an array: `count` structs of `holds`, one every `stride` bytes.
REGION_PART = Node("region_part", {**REGION.keys, "name": "ident", "offset": "expr", "count": "expr", "stride": "expr"},
                   ("name", "offset", "size"))

# A spec-level parameter (a second variant axis): its allowed values and the default one;
# `c` is the macro a C includer defines to pick a value.
PARAM = Node("param", {"values": "param_values", "default": "integer", "doc": "text", "c": "ident"},
             ("values", "default"))

ASSERT = Node("assert", {"expr": "expr", "doc": "text"}, ("expr",))

NODES = (SPEC, CONSTANT, ENUM, ENUM_EXTERNAL, ENUM_VALUE, STRUCT, UNION, EXTERNAL, EXTENSIBLE, VARIANT, PADDING, RESERVED, FIELD, BITFIELD, ANONYMOUS,
         REGION, REGION_PART, ASSERT, PARAM)
