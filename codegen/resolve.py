"""Stage 2: turn loaded YAML nodes into the IR, checking every rule that does not need a layout.

Checks here: the shape of every node (unknown keys are errors, with the allowed list),
types and names that exist, identifiers valid and not reserved in any target, names
that collide after a target's naming rule, containment cycles between structs and
reference cycles between constants.

This module reads the spec's top-level keys and drives the section readers, collecting their
errors; each concern has a module of its own:
  resolve_nodes      the shape of one YAML node (mapping, list, string, allowed keys)
  resolve_scope      archs, sides and declared type names; arch lists and type references
  resolve_constants  parameters, constants and enums
  resolve_structs    structs and unions as a whole (fields or variants, flexible arrays)
  resolve_members    fields, bitfields, padding, reserved space, anonymous members
  resolve_options    packing, alignment and byte order
  resolve_writers    sides, writers, atomics and cacheline modes
  resolve_regions    regions and their parts
  resolve_checks     checks of the whole spec: references, cycles, names
"""
from __future__ import annotations

import hashlib
from functools import partial
from typing import Callable

from . import grammar, limits
from . import resolve_checks as checks
from . import resolve_writers as writers
from . import spec_keys as keys
from .errors import Problems, SpecError, fail
from .ir import Assert, Spec
from .load import Map, Scalar
from .resolve_constants import constant, enum, param
from .resolve_members import Members
from .resolve_nodes import check_keys, expect_map, expect_seq, expression, ident, prose, string
from .resolve_regions import region
from .resolve_scope import Scope, arch_list, target_name
from .resolve_structs import struct, union

TARGETS = keys.TARGETS
FORMAT_VERSION = 1
_SECTIONS = ("constants", "enums", "structs", "unions", "regions")


def resolve(root: Map, file: str, data: bytes) -> Spec:
    digest = hashlib.sha256(data).hexdigest()
    return _Resolver(root, file, digest).run()


class _Resolver:
    """One spec's resolution: reads each declaration in turn and keeps the problems found,
    so that one run reports several of them."""

    def __init__(self, root: Map, file: str, digest: str):
        self.root = root
        self.file = file
        self.digest = digest
        self.problems = Problems()

    def guarded(self, step: Callable, *args):
        """Run one step, recording its error and carrying on so the user sees several at once."""
        try:
            return step(*args)
        except SpecError as error:
            self.problems.take(error)
            checks.stop_early(self.problems)
            return None

    def run(self) -> Spec:
        root = self.root
        check_keys(root, keys.SPEC.allowed, keys.SPEC.required, "the spec")
        version = root.get("layoutgen")
        # An exact int: YAML's `true` and `1.0` compare equal to 1 in Python.
        if not isinstance(version, Scalar) or type(version.value) is not int or version.value != FORMAT_VERSION:
            raise fail(version.pos, f"unsupported spec format {getattr(version, 'value', None)!r}",
                       f"this layoutgen reads `layoutgen: {FORMAT_VERSION}`")
        name = ident(root.get("name"), "spec name", grammar.MAX_SPEC_NAME_LEN)
        archs = arch_list(root.get("archs"))
        sides = writers.side_names(root.get("sides"))
        version = root.get("version")
        version = "0" if version is None else grammar.package_version(getattr(version, "value", None), version.pos)
        targets = frozenset(TARGETS)
        if root.get("targets") is not None:
            targets = frozenset(target_name(item) for item in expect_seq(root.get("targets"), "targets").items)
            if not targets:
                raise fail(root.get("targets").pos, "targets must name at least one target",
                           "known: " + ", ".join(TARGETS))
        scope, sections = _scope(root, archs, sides)
        params = ()
        if root.get("params") is not None:
            params = self.each(expect_map(root.get("params"), "params"), partial(param, name))
            limits.combinations(archs, params)
        constants = self.each(sections["constants"], partial(constant, scope))
        enums = self.each(sections["enums"], partial(enum, scope))
        members = Members(scope)
        structs = (self.each(sections["structs"], partial(struct, members))
                   + self.each(sections["unions"], partial(union, members)) + tuple(members.hidden))
        regions = self.each(sections["regions"], lambda n, p, v: region(scope, n, p, v, top=True))
        asserts = ()
        if root.get("asserts") is not None:
            asserts = tuple(a for a in (self.guarded(_assertion, item)
                                        for item in expect_seq(root.get("asserts"), "asserts").items) if a)
        self.problems.raise_if_any()
        spec = Spec(name=name, doc=prose(root.get("doc")), file=self.file, digest=self.digest,
                    archs=archs, constants=constants, enums=enums, structs=structs,
                    regions=regions, asserts=asserts, targets=targets, params=params, version=version,
                    sides=sides, cacheline_size=(expression(root.get("cacheline_size"), "cacheline_size")
                                                 if root.get("cacheline_size") is not None else None))
        checks.check_spec(spec)
        return spec

    def each(self, section: Map, build: Callable) -> tuple:
        built = (self.guarded(build, key, key_pos, value) for key, key_pos, value in section.items())
        return tuple(item for item in built if item is not None)


def _scope(root: Map, archs: tuple, sides: tuple) -> tuple:
    """(Scope, {section key: its mapping}): the names every declaration is read against."""
    external_constants = None  # the header that owns every C constant, if the spec names one
    if root.get("external_constants") is not None:
        owner = root.get("external_constants")
        external_constants = grammar.include(string(owner, "external_constants"), owner.text_pos)
    sections = {key: expect_map(root.get(key), key) if root.get(key) is not None else Map((), root.pos)
                for key in _SECTIONS}
    plain = frozenset(sections["structs"].keys())
    scope = Scope(archs=archs, sides=sides, struct_names=plain | frozenset(sections["unions"].keys()),
                  plain_struct_names=plain, enum_names=frozenset(sections["enums"].keys()),
                  external_constants=external_constants)
    return scope, sections


def _assertion(node) -> Assert:
    """An `asserts:` item: an expression that must hold on every variant, with an optional doc."""
    if isinstance(node, Scalar):
        node = Map((("expr", node.pos, node),), node.pos)
    node = expect_map(node, "an assert")
    check_keys(node, keys.ASSERT.allowed, keys.ASSERT.required, "an assert")
    source = node.get("expr")
    return Assert(expr=expression(source, "expr"), doc=prose(node.get("doc")),
                  source=str(source.value), pos=source.text_pos)
