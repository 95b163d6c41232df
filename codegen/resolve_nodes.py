"""Reading one loaded YAML node for the resolver: its shape, checked against what the spec
grammar expects there, with an error at the node when it is something else.

Every reader of a spec section builds on these, so one node kind is refused in one wording
everywhere (`... must be a mapping`, `unknown key ... (hint: allowed keys: ...)`).
"""
from __future__ import annotations

from typing import Callable, Optional

from . import expr as ex
from . import grammar
from . import spec_keys as keys
from .errors import Pos, fail
from .escape import Prose
from .ir import Names
from .load import Map, Scalar, Seq

_MAX_COMPARED = 2000  # fuzzy matching costs this many comparisons per problem


def expect_map(node, what: str) -> Map:
    if not isinstance(node, Map):
        raise fail(node.pos, f"{what} must be a mapping")
    return node


def expect_seq(node, what: str) -> Seq:
    if not isinstance(node, Seq):
        raise fail(node.pos, f"{what} must be a list")
    return node


def check_keys(node: Map, allowed: tuple, required: tuple, what: str, at: Optional[Pos] = None) -> None:
    """`at` is where a missing key is reported: the declaration's name when it has one."""
    for key, key_pos, _ in node.items():
        if key not in allowed:
            raise fail(key_pos, f"unknown key '{key}' in {what}",
                       "allowed keys: " + ", ".join(allowed))
    for key in required:
        if node.get(key) is None:
            raise fail(at or node.pos, f"{what} is missing the required key '{key}'")


def string(node, what: str, default: str = "") -> str:
    if node is None:
        return default
    if not isinstance(node, Scalar) or not isinstance(node.value, str):
        hint = ""
        if isinstance(node, Scalar) and isinstance(node.value, bool):
            hint = f"YAML reads an unquoted yes/no/on/off/true/false as {str(node.value).lower()}; quote it"
        raise fail(node.pos, f"{what} must be a string, not {_kind(node)}", hint)
    return node.value


def _kind(node) -> str:
    if isinstance(node, Map):
        return "a mapping"
    if isinstance(node, Seq):
        return "a list"
    return {bool: "a boolean", int: "a number", float: "a number", type(None): "empty"}.get(
        type(node.value), f"a {type(node.value).__name__}")


def ident(node, what: str, limit: int = grammar.MAX_NAME_LEN) -> str:
    return grammar.ident(string(node, what), node.pos, what, limit)


def unique_choices(items, what: str, allowed, hint_word: str) -> tuple:
    """Strings from `allowed`, each at most once, in the order written."""
    chosen = []
    for item in items:
        value = string(item, what)
        if value not in allowed:
            raise fail(item.pos, f"unknown {what} '{value}'", f"{hint_word}: " + ", ".join(allowed))
        if value in chosen:
            raise fail(item.pos, f"{what} '{value}' is listed twice")
        chosen.append(value)
    return tuple(chosen)


def boolean(node, what: str) -> bool:
    if node is None:
        return False
    if not isinstance(node, Scalar) or not isinstance(node.value, bool):
        raise fail(node.pos, f"{what} must be true or false")
    return node.value


def expression(node, what: str) -> ex.Expr:
    if not isinstance(node, Scalar) or isinstance(node.value, bool) or not isinstance(node.value, (int, str)):
        raise fail(node.pos, f"{what} must be an integer or an expression")
    return ex.parse(node.value, node.text_pos)


def target_overrides(node: Map) -> dict:
    """The per-language spellings a node gives (`c: other_name`), by target."""
    return {target: ident(node.get(target), f"'{target}' name") for target in keys.TARGETS
            if node.get(target) is not None}


def node_names(node: Map, canonical: str, rule: Callable[..., dict]) -> Names:
    """`asm:` (structs and fields only; other nodes refuse the key) spells the node in offsets-header macros."""
    asm = ident(node.get("asm"), "'asm' name") if node.get("asm") is not None else ""
    return Names(canonical=canonical, asm=asm, **rule(canonical, target_overrides(node)))


def prose(node) -> Prose:
    """A `doc:`: free text, marked so that no output prints it without its escape."""
    return Prose(string(node, "doc"))


def did_you_mean(name: str, known) -> str:
    """A hint naming the closest known name, or nothing when none is close."""
    import difflib  # imported here: only a spec with an unknown name needs it
    if len(known) > _MAX_COMPARED:
        return ""  # a spec this big gets no suggestions rather than a slow error report
    close = difflib.get_close_matches(name, sorted(known), n=1)
    return f"did you mean '{close[0]}'?" if close else ""
