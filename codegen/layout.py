"""Stage 3: layout, a pure function of (Spec, Variant) -> Layout, cached per combination.

The entry points are here; the work is split by concern next to this module:
`layout_types` (the laid-out result every target reads), `layout_walk` (walking nested and
anonymous members), `layout_engine` (placing members by C's rules, constants and enums),
`layout_bits` (bitfields, GCC's rule per arch), `layout_regions` (regions and their parts),
and `cachelines` (writer groups and cache lines).
"""
from __future__ import annotations

from functools import wraps

from .errors import Problem, SpecError, fail
from .ir import Spec, Variant, applies
from .layout_engine import Engine
from .layout_regions import Regions
from .layout_types import Layout


def per_variant(function):
    """Cache `function(spec, variant_or_layout)` in `spec.memo`: it runs once per spec object and
    variant. For facts a target asks for once per struct or field but that depend only on the
    combination (its constants, its natural layouts), so asking stays O(1). The result is shared:
    callers must not mutate it."""
    @wraps(function)
    def cached(spec: Spec, at):
        key = (function.__module__, function.__qualname__, at if isinstance(at, Variant) else at.variant)
        if key not in spec.memo:
            spec.memo[key] = function(spec, at)
        return spec.memo[key]
    return cached


@per_variant
def natural_structs(spec: Spec, variant: Variant) -> dict:
    """Struct layouts by the bare natural rules, ignoring every `packed` and `align` key.

    Languages with no packing or over-alignment (Go) lay structs out this way; a target
    compares these with the real layout to prove it can express a struct as declared.
    """
    engine = Engine(spec, variant, natural=True)
    return {s.names.canonical: engine.struct(s.names.canonical)
            for s in spec.structs if applies(s.archs, variant)}


def layout_all(spec: Spec) -> dict:
    """Layouts of the default combination of each arch, keyed by arch."""
    return {variant.arch: layout(spec, variant) for variant in spec.variants}


def with_combinations(spec: Spec, layouts: dict) -> dict:
    """`layouts` (keyed by arch) with each arch's layout replaced by all its parameter
    combinations, keyed by `Variant.key`; unchanged for a spec without parameters."""
    if not spec.params:
        return layouts
    return {v.key: layout(spec, v) for v in spec.combinations if v.arch in layouts}


def layout_combinations(spec: Spec) -> dict:
    """Layouts of every (arch, parameter values) combination, keyed by `Variant.key`
    (`arm64`, `arm64_64k`); the default combination of each arch comes first. Laying each
    out runs its region checks and asserts. Without parameters: the same as `layout_all`."""
    return {variant.key: layout(spec, variant) for variant in spec.combinations}


@per_variant
def layout(spec: Spec, variant: Variant) -> Layout:
    if not variant.params:
        return _layout(spec, variant)
    try:
        return _layout(spec, variant)
    except SpecError as error:
        # Name the combination in every problem that does not already, so a rule that only
        # breaks at 64K pages says so (`... (on arm64_64k: page_size = 65536)`).
        values = ", ".join(f"{name} = {value}" for name, value in variant.params)
        raise SpecError([p if f"on {variant.key}" in p.message
                         else Problem(p.pos, f"{p.message} (on {variant.key}: {values})", p.hint)
                         for p in error.problems]) from None


def _layout(spec: Spec, variant: Variant) -> Layout:
    engine = Engine(spec, variant)
    typed = {c.names.canonical: engine.typed_constant(c.names.canonical)
             for c in spec.constants if applies(c.archs, variant)}
    constants = {name: value for name, (value, _) in typed.items()}
    structs = {s.names.canonical: engine.struct(s.names.canonical)
               for s in spec.structs if applies(s.archs, variant)}
    enums = {e.names.canonical: engine.enum(e) for e in spec.enums if applies(e.archs, variant)}
    placer = Regions(engine.eval, engine.struct_for, variant.key)
    regions = tuple(r for top in spec.regions for r in placer.place(top, (), 0, None))
    for assertion in spec.asserts:
        if not engine.eval(assertion.expr):
            raise fail(assertion.pos, f"assert failed on {variant.key}: {assertion.source}",
                       assertion.doc)
    return Layout(spec, variant, constants, structs, enums, regions,
                  {name: ctype for name, (_, ctype) in typed.items()})
