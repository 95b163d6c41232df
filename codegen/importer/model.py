"""What `import` reads from one arch's debug info, before any spec naming: frozen and plain.

A type is identified by its C spelling (its `key`): `struct sysmsg`, `union sigval`,
`enum thread_state`, a typedef name such as `siginfo_t`, or, for a named member of an unnamed
struct type, `__typeof__(((struct tcphdr *)0)->un)`: each is a valid `external.c_type`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Union


_TYPEOF_HEAD, _TYPEOF_MID = "__typeof__(((", " *)0)->"


def typeof_key(root: str, path: str) -> str:
    """The key of the unnamed type of member `path` (dotted) of the named type `root`."""
    return f"{_TYPEOF_HEAD}{root}{_TYPEOF_MID}{path})"


def typeof_parts(key: str):
    """(root, path) of a `typeof_key`; None for a named type's key."""
    if not key.startswith(_TYPEOF_HEAD):
        return None
    root, path = key[len(_TYPEOF_HEAD):-1].split(_TYPEOF_MID)
    return root, path


def root_of(key: str) -> str:
    """The named type a key is declared in: itself, or a `typeof_key`'s root."""
    parts = typeof_parts(key)
    return parts[0] if parts else key


class ImportFailure(Exception):
    """Bad input to `import`: one line, exit status 2."""


@dataclass(frozen=True)
class Prim:
    name: str  # a primitive of codegen/primitives.py: u8 ... i128, bool8
    endian: Optional[str] = None  # "big" for the kernel's __be16/__be32/__be64


@dataclass(frozen=True)
class Named:
    key: str  # a struct or union


@dataclass(frozen=True)
class EnumType:
    key: str


@dataclass(frozen=True)
class Pointer:
    target: Optional[str]  # the key of a struct or union pointed to; None for anything else


@dataclass(frozen=True)
class Array:
    element: "TypeRef"
    dims: tuple  # lengths, outermost first; 0 is GNU C's zero-length array
    flexible: bool = False  # the outermost dimension is C99's `[]`


@dataclass(frozen=True)
class Unsupported:
    what: str  # the C type the spec language has no spelling for, e.g. "float"


TypeRef = Union[Prim, Named, EnumType, Pointer, Array, Unsupported]


@dataclass(frozen=True)
class Member:
    name: Optional[str]  # None: an anonymous struct or union member
    offset: int  # bytes from the start of the enclosing declaration
    type: TypeRef
    size: int
    bit: Optional[int] = None  # a bitfield's first bit, from the start of the enclosing declaration
    bits: Optional[int] = None
    align: Optional[int] = None  # `__attribute__((aligned(N)))` on the member
    inline: Optional["Aggregate"] = None  # an anonymous member's own declaration


@dataclass(frozen=True)
class Aggregate:
    key: str
    kind: str  # "struct" or "union"
    size: int
    align: Optional[int]  # `__attribute__((aligned(N)))` on the type, from DW_AT_alignment
    members: tuple  # of Member
    shape: object = None  # check.dwarf.Shape of a named declaration, to prove the spec against


@dataclass(frozen=True)
class Enum:
    key: str
    size: int
    signed: bool
    values: tuple  # of (C name, value)


@dataclass(frozen=True)
class Macro:
    name: str
    value: int
