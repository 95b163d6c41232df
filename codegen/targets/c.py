"""C target: `<name>.h` (types), `<name>_offsets.h` (#define lines for assembly) and
`<name>_layout_test.c` (a _Static_assert for every layout fact, compiled per arch).

Declarations are rendered once per arch; text that is the same on every arch is
emitted plain, and text that differs goes under `#if defined(<arch macro>)`. This module
renders the three files and merges the per-arch text; what goes in each is in `c_header`,
`c_offsets` and `c_asserts`, the spellings they share in `c_spelling`, the names they define
in `c_names`, and writers and cache lines in `c_lines`.
"""
from __future__ import annotations

from .. import escape as esc
from ..primitives import ARCHS
from . import c_asserts, c_header, c_names, c_offsets
from .c_spelling import arch_condition, combo_condition, params_condition
from .common import Context, render_template, then_change


def render(ctx: Context) -> dict:
    name = ctx.spec.name
    c_names.check(ctx.spec, ctx.combinations)
    common = {
        "banner": ctx.banner(esc.c_comment),
        "guard_macro": c_names.guard_macro(ctx.spec),
        "archs": [(arch, ARCHS[arch].c_negation) for arch in ctx.spec.archs],
        "spec_name": name,
        "params": [(p.c_macro, p.default, p.values) for p in ctx.spec.params],
    }
    header_path, offsets_path = f"c/{name}.h", f"c/{name}_offsets.h"
    return {
        header_path: render_template(
            "c/header.h.j2", **common, includes=c_header.includes(ctx.spec), then_change=then_change(ctx.spec, header_path),
            doc=esc.c_comment_lines(ctx.spec.doc), page_checks=c_header.page_checks(ctx),
            sections=[("Constants", _merge(ctx, c_header.constants)),
                      ("Enums", _merge(ctx, c_header.enums)),
                      ("Structs", _merge(ctx, c_header.structs))]),
        offsets_path: render_template(
            "c/offsets.h.j2", **common, then_change=then_change(ctx.spec, offsets_path),
            sections=[("Constants", _merge(ctx, c_offsets.asm_constants)),
                      ("Enum values", _merge(ctx, c_offsets.asm_enums)),
                      ("Sizes and offsets", _merge(ctx, c_offsets.offset_macros))]
            + [("Region arrays", chunks) for chunks in [_merge(ctx, c_offsets.region_macros)] if chunks]),
        f"c/{name}_layout_test.c": render_template(
            "c/layout_test.c.j2", **common, header=f"{name}.h", offsets=f"{name}_offsets.h",
            blocks=[(combo_condition(ctx.spec, layout.variant), c_asserts.layout_facts(ctx, layout))
                    for layout in ctx.combinations.values()],
            shadowed=c_asserts.system_member_names(ctx.spec)),
    }


# ---- merging per-arch text -------------------------------------------------


def _merge(ctx: Context, produce) -> list:
    """Run `produce(ctx, layout)` per combination -> [(key, lines)]; group into plain or #if chunks.

    Returns a list of (conditions, lines) where conditions is [] for text shared by every
    combination, or a list of (C condition, lines) for an #if/#elif chain. Without spec
    parameters a combination is an arch and the condition `defined(<arch macro>)`.
    """
    combos = ctx.combinations
    per_combo = {key: dict(produce(ctx, layout)) for key, layout in combos.items()}
    keys = dict.fromkeys(key for combo in combos for key in per_combo[combo])  # first-seen order, O(1) lookups
    chunks = []
    for key in keys:
        texts = {combo: per_combo[combo].get(key) for combo in combos}
        present = [combo for combo in combos if texts[combo] is not None]
        if len(present) == len(combos) and all(texts[c] == texts[present[0]] for c in present):
            chunks.append(([], texts[present[0]]))
        else:
            chunks.append((_conditions(ctx, texts), []))
    return chunks


def _conditions(ctx: Context, texts: dict) -> list:
    """The #if/#elif branches for text that differs between combinations, as few as possible:
    by parameter values alone when every arch agrees, by arch alone when every parameter
    value agrees, else one branch per combination."""
    variants = {key: layout.variant for key, layout in ctx.combinations.items()}
    if ctx.spec.params:
        by_point, by_arch = {}, {}
        for key, variant in variants.items():
            by_point.setdefault(variant.params, set()).add(_frozen(texts[key]))
            by_arch.setdefault(variant.arch, set()).add(_frozen(texts[key]))
        if all(len(found) == 1 and None not in found for found in by_point.values()):
            seen, result = set(), []
            for key, variant in variants.items():
                if variant.params not in seen:
                    seen.add(variant.params)
                    result.append((params_condition(ctx.spec, variant), texts[key]))
            return result
        if all(len(found) == 1 for found in by_arch.values()):
            seen, result = set(), []
            for key, variant in variants.items():
                if variant.arch not in seen and texts[key] is not None:
                    seen.add(variant.arch)
                    result.append((arch_condition(variant.arch), texts[key]))
            return result
    return [(combo_condition(ctx.spec, variants[key]), texts[key]) for key in variants if texts[key] is not None]


def _frozen(lines):
    return None if lines is None else tuple(lines)
