"""C names -> spec names. Every name read from the header passes the spec grammar here; one
that does not is refused (named in the error), never written into the spec."""
from __future__ import annotations

from .. import grammar, naming
from .model import ImportFailure, typeof_parts


def checked(name: str, what: str) -> str:
    if not isinstance(name, str) or not grammar.IDENT.fullmatch(name) or len(name) > grammar.MAX_NAME_LEN:
        raise ImportFailure(f"{what} {name!r} is not a name the spec language accepts (an ASCII identifier "
                            f"of at most {grammar.MAX_NAME_LEN} characters)")
    return name


def camel(name: str) -> str:
    return "".join(word[:1].upper() + word[1:] for word in naming.words(name))


def type_name(key: str, renames: dict) -> str:
    """`struct thread_context` -> ThreadContext, `epoll_data_t` -> EpollData,
    `__typeof__(((struct tcphdr *)0)->un)` -> TcphdrUn; `--name` picks another."""
    bare = key.split()[-1]
    if key in renames or bare in renames:
        return renames.get(key) or renames[bare]
    parts = typeof_parts(key)
    if parts:
        stem = type_name(parts[0], renames) + "".join(camel(part) for part in parts[1].split("."))
    else:
        stem = camel(bare[:-2] if bare.endswith("_t") and len(bare) > 2 else bare)
    if not stem or not stem[0].isupper():
        stem = "T" + stem
    return checked(stem, f"the spec name for {key}")


def c_tag(key: str) -> str:
    """The identifier C declares a type by: the tag or the typedef name."""
    return checked(key.split()[-1], "type name")


def c_type(key: str) -> str:
    """A key as `external.c_type`: the grammar's C type name (a `typeof_key` of checked names)."""
    if not grammar.C_TYPE.fullmatch(key):
        raise ImportFailure(f"{key!r} is not a C type name the spec language accepts")
    return key


def field(c_name: str) -> dict:
    """A member's spec name and the overrides that keep the header's spelling in every target."""
    checked(c_name, "member name")
    canonical = c_name.lstrip("_") or "field"
    if canonical[0].isdigit():
        canonical = "m" + canonical
    entry = {"name": canonical}
    if canonical != c_name:
        entry["c"] = c_name
    if canonical in naming.PYTHON_RESERVED:
        entry["python"] = canonical + "_"
    return entry


def enum_value(enum_c: str, c_name: str) -> dict:
    """`THREAD_STATE_NONE` of enum thread_state -> NONE (C adds the enum's prefix back)."""
    checked(c_name, "enum value")
    prefix = enum_c.upper() + "_"
    rest = c_name[len(prefix):]
    if c_name.startswith(prefix) and rest and not rest[0].isdigit():
        return {"name": rest}
    return {"name": c_name, "c": c_name}


def constant(name: str) -> str:
    checked(name, "macro")
    if name != name.upper():
        raise ImportFailure(f"macro {name} is not UPPER_SNAKE_CASE, as spec constants are; leave it out of --macro")
    return name
