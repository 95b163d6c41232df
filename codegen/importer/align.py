"""Alignment attributes where the DWARF does not record them: Debian's gcc 12 for riscv64 and
mips64el writes no DW_AT_alignment for an unnamed struct or union declared `aligned(N)` (nor
for the member of that type), so the import would be refused there as a layout no spec
explains. On such an arch the compiler is asked instead: a member is user-aligned when
`__alignof__` of the member is more than that of its type, and a type when `_Alignof` of it
is more than its members ask for. An anonymous member has no name to ask with: its `aligned(N)`
is read from its size instead, when only that alignment rounds its members up to it."""
from __future__ import annotations

import functools
import io
from dataclasses import replace

from ..primitives import ARCHS
from . import probe
from .model import Aggregate, ImportFailure, Named
from .probe import Header

# What those gccs leave out: the alignment of an unnamed struct declared `aligned(N)`.
_WITNESS = "struct layoutgen_w { char c; struct { char d; } __attribute__((aligned(16))) m; } layoutgen_w;\n"


@functools.lru_cache(maxsize=None)
def records_alignment(arch: str) -> bool:
    """Whether the arch's gcc writes DW_AT_alignment (asked once per arch and process)."""
    from elftools.elf.elffile import ELFFile
    data, stderr = probe.compile_object(arch, _WITNESS, [])
    if data is None:
        raise ImportFailure(f"the alignment witness does not compile on {arch}: {stderr.strip()}")
    dwarf = ELFFile(io.BytesIO(data)).get_dwarf_info()
    return any("DW_AT_alignment" in die.attributes
               for unit in dwarf.iter_CUs() for die in unit.iter_DIEs())


def fill(header: Header, arch: str, decls: dict, defines: tuple, include_dirs: tuple) -> dict:
    """`decls` with the alignments the compiler reports, on an arch whose DWARF omits them,
    stated as gcc states them elsewhere: a member is user-aligned when it says `aligned` or
    its struct type is, and a type when it says `aligned` or one of its members is."""
    if records_alignment(arch):
        return decls
    asks = {key: _named_members(decl) for key, decl in decls.items() if isinstance(decl, Aggregate)}
    expressions = []
    for key, names in asks.items():
        expressions.append(f"_Alignof({key})")
        for name in names:
            member = f"((({key} *)0)->{name})"
            expressions += [f"__alignof__{member}", f"__alignof__(__typeof__{member})"]
    try:
        answers = iter(probe.values(header, arch, expressions, defines, include_dirs))
    except ImportFailure:  # a member name the header also defines as a macro: keep what DWARF says
        return decls
    told = {key: (next(answers), {name: (next(answers), next(answers)) for name in names})
            for key, names in asks.items()}
    filled = dict(decls)

    def settle(key: str, seen: tuple = ()) -> Aggregate:
        """The declaration of `key` with its alignments, its members' types settled first."""
        decl = filled[key]
        if key in seen or key not in told or decl is not decls[key]:
            return decl
        type_align, members = told[key]
        user = {name: have for name, (have, natural) in members.items() if have > natural}
        for name, ref in _member_types(decl):
            inner = settle(ref.key, seen + (key,)) if ref.key in filled else None
            if inner is not None and inner.align and name in members:
                user.setdefault(name, members[name][0])
        declared = _inline_aligned(_with_members(decl, user), members, arch)
        wanted = max([have for have, _ in members.values()] + _bitfield_aligns(declared, arch), default=1)
        if type_align > wanted or (user and type_align > 1):
            declared = replace(declared, align=type_align)
        filled[key] = declared
        return declared

    for key in told:
        settle(key)
    return filled


def _member_types(agg: Aggregate):
    """(name, Named) for the named members whose type is a struct or union."""
    for member in agg.members:
        if member.inline is not None:
            yield from _member_types(member.inline)
        elif member.bits is None and member.name and isinstance(member.type, Named):
            yield member.name, member.type


def _named_members(agg: Aggregate) -> list:
    """The members C names through the type (an anonymous member's own too), bitfields left out."""
    names = []
    for member in agg.members:
        if member.inline is not None:
            names += _named_members(member.inline)
        elif member.bits is None and member.name:
            names.append(member.name)
    return names


def _with_members(agg: Aggregate, user: dict) -> Aggregate:
    members = tuple(replace(m, inline=_with_members(m.inline, user)) if m.inline is not None
                    else replace(m, align=m.align or user.get(m.name)) if m.name in user else m
                    for m in agg.members)
    return replace(agg, members=members)


def _bitfield_aligns(agg: Aggregate, arch: str) -> list:
    """What the named bitfields ask of the type's alignment: their type's alignment."""
    found = []
    for member in agg.members:
        if member.inline is not None:
            found += _bitfield_aligns(member.inline, arch)
        elif member.bits is not None and member.size:
            found.append(ARCHS[arch].int_align(member.size))
    return found


def _inline_aligned(agg: Aggregate, members: dict, arch: str) -> Aggregate:
    """`agg` with `aligned(N)` on each anonymous member (as gcc states it elsewhere: on the
    member and its type) whose DWARF size its members' end reaches only when rounded up to N,
    the least such power of two past what its members ask for. A wrong guess is still caught:
    the import proves its spec against the DWARF."""
    found = []
    for member in agg.members:
        if member.inline is not None and member.inline.align is None:
            inline = _inline_aligned(member.inline, members, arch)
            natural = _natural_align(inline, members, arch)
            end = max((m.offset + m.size for m in inline.members), default=0)
            wanted = natural
            while -(-end // wanted) * wanted < inline.size:
                wanted *= 2
            if wanted > natural and -(-end // wanted) * wanted == inline.size and member.offset % wanted == 0:
                member = replace(member, align=wanted, inline=replace(inline, align=wanted))
            else:
                member = replace(member, inline=inline)
        found.append(member)
    return replace(agg, members=tuple(found))


def _natural_align(agg: Aggregate, members: dict, arch: str) -> int:
    """What an aggregate's members ask of its alignment: the compiler's answer for the named
    ones, their type's for bitfields, and an anonymous member's own."""
    asks = [1]
    for member in agg.members:
        if member.inline is not None:
            asks.append(member.align or member.inline.align or _natural_align(member.inline, members, arch))
        elif member.bits is not None and member.size:
            asks.append(ARCHS[arch].int_align(member.size))
        elif member.name in members:
            asks.append(members[member.name][0])
    return max(asks)
