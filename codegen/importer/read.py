"""One arch's DWARF -> model declarations: the named types and every type they reach."""
from __future__ import annotations

import io
import os
from collections import deque

from ..check import dwarf as check_dwarf
from ..check.base_types import ENCODINGS, QUALIFIERS, name_of, strip
from .model import (Aggregate, Array, Enum, EnumType, ImportFailure, Member, Named, Pointer, Prim,
                    Unsupported, typeof_key, typeof_parts)

AGGREGATE_TAGS = {"DW_TAG_structure_type": "struct", "DW_TAG_union_type": "union"}
TAGS = {**AGGREGATE_TAGS, "DW_TAG_enumeration_type": "enum"}
_INTEGERS = {("signed", n): f"i{n * 8}" for n in (1, 2, 4, 8, 16)}
_INTEGERS.update({("unsigned", n): f"u{n * 8}" for n in (1, 2, 4, 8, 16)})
_INTEGERS.update({("signed_char", 1): "i8", ("unsigned_char", 1): "u8", ("boolean", 1): "bool8"})
# The byte order a C type states: the kernel's sparse annotations, and the two typedefs POSIX
# defines for network byte order (<netinet/in.h>: sin_port and sin_addr "shall be in network byte
# order"; inet_addr returns an in_addr_t in it). Anything else glibc declares as a plain integer
# (sin6_flowinfo, in6_addr's words), so a spec must add `endian: big` for it by hand.
BIG_ENDIAN_TYPEDEFS = frozenset({"__be16", "__be32", "__be64", "__sum16",  # __sum16: a checksum in network order
                                 "in_port_t", "in_addr_t"})


class Unit:
    """The top-level declarations of one compiled probe, by the name C gives them."""

    def __init__(self, data: bytes, arch: str):
        from elftools.elf.elffile import ELFFile
        self.arch = arch
        self.by_key = {}
        self.files = {}  # CU offset -> the paths DW_AT_decl_file indexes
        dwarf = ELFFile(io.BytesIO(data)).get_dwarf_info()
        for unit in dwarf.iter_CUs():
            self.files[unit.cu_offset] = _file_names(dwarf, unit)
            for die in unit.get_top_DIE().iter_children():
                key = _top_key(die)
                if key and key not in self.by_key:
                    self.by_key[key] = die

    def declared_in(self, key: str):
        """The real path of the file that declares a top-level type (None when DWARF does not say)."""
        die = self.by_key.get(key)
        index = die.attributes.get("DW_AT_decl_file") if die is not None else None
        names = self.files.get(die.cu.cu_offset, []) if die is not None else []
        return names[index.value] if index is not None and index.value < len(names) else None

    def find(self, spelling: str) -> str:
        """The key of a type asked for as `struct x`, `union x`, `enum x` or a bare name (a
        struct, union or enum tag, or a typedef, tried in that order)."""
        words = spelling.split()
        if len(words) == 2 and words[0] in ("struct", "union", "enum"):
            candidates = [" ".join(words)]
        elif len(words) == 1:
            candidates = [f"struct {spelling}", f"union {spelling}", f"enum {spelling}", spelling]
        else:
            raise ImportFailure(f"--type {spelling!r}: write a tag (`struct x`, `union x`, `enum x`) or a name")
        for candidate in candidates:
            die = self.by_key.get(candidate)
            if die is not None:
                target = strip(die)
                if target.tag in TAGS and name_of(target) and candidate == spelling and die.tag == "DW_TAG_typedef":
                    return f"{TAGS[target.tag]} {name_of(target)}"  # a typedef of a tagged type: use the tag
                if target.tag in TAGS:
                    return candidate
                raise ImportFailure(f"type {spelling} on {self.arch} is not a struct, union or enum "
                                    f"(it is {check_dwarf._spelling(target)[0]})")
        raise ImportFailure(f"type {spelling} does not exist on {self.arch}")


def _file_names(dwarf, unit) -> list:
    """DW_AT_decl_file's table: DWARF 5 counts from 0, DWARF 2-4 from 1 (entry 0 unused)."""
    program = dwarf.line_program_for_CU(unit)
    if program is None:
        return []
    dirs = [d.decode("utf-8", "replace") for d in program.header["include_directory"]]
    version = program.header["version"]
    names = [] if version >= 5 else [None]
    for entry in program.header["file_entry"]:
        index = entry.dir_index if version >= 5 else entry.dir_index - 1
        folder = dirs[index] if 0 <= index < len(dirs) else ""
        names.append(os.path.realpath(os.path.join(folder, entry.name.decode("utf-8", "replace"))))
    return names


def _top_key(die):
    name = name_of(die)
    if not name or "DW_AT_declaration" in die.attributes:
        return None
    if die.tag in TAGS:
        return f"{TAGS[die.tag]} {name}"
    if die.tag == "DW_TAG_typedef" and "DW_AT_type" in die.attributes:
        return name
    return None


class Reader:
    """Reads the declarations reached from the named types, breadth first."""

    def __init__(self, unit: Unit):
        self.unit = unit
        self.decls = {}  # key -> Aggregate or Enum, in the order they were reached
        self.queue = deque()
        self.dies = {}  # key -> DIE of the type itself (under typedefs)

    def read(self, keys) -> dict:
        for key in keys:
            self._want(key, strip(self.unit.by_key[key]))
        while self.queue:
            key = self.queue.popleft()
            die = self.dies[key]
            self.decls[key] = self._enum(key, die) if die.tag == "DW_TAG_enumeration_type" else self._aggregate(key, die)
        return self.decls

    def _want(self, key: str, die) -> None:
        if key not in self.dies:
            self.dies[key] = die
            self.queue.append(key)

    # ---- declarations ------------------------------------------------------

    def _aggregate(self, key: str, die, path: str = "", inline: bool = False) -> Aggregate:
        """A declaration; `inline` for an anonymous member's, whose members C names as the parent's."""
        members = tuple(self._member(child, key, path) for child in die.iter_children() if child.tag == "DW_TAG_member")
        align = die.attributes.get("DW_AT_alignment")
        size = die.attributes.get("DW_AT_byte_size")
        return Aggregate(key, AGGREGATE_TAGS[die.tag], size.value if size else 0, align.value if align else None,
                         members, None if inline else check_dwarf._shape(die))

    def _member(self, child, owner: str, path: str) -> Member:
        name = name_of(child)
        kind = child.get_DIE_from_attribute("DW_AT_type")
        align = child.attributes.get("DW_AT_alignment")
        align = align.value if align else None
        offset, size = check_dwarf._member_offset(child), check_dwarf._size(kind)
        if name is None and strip(kind).tag in AGGREGATE_TAGS and not name_of(strip(kind)):
            inline = self._aggregate(owner, strip(kind), path, inline=True)
            return Member(None, offset, Named(owner), size, align=align, inline=inline)
        member_path = f"{path}.{name}" if path else name
        ref = self.type_ref(kind, owner, member_path)
        if "DW_AT_bit_size" in child.attributes:
            bit = check_dwarf._first_bit(child, size)
            return Member(name, offset, ref, size, bit, child.attributes["DW_AT_bit_size"].value, align)
        return Member(name, offset, ref, size, align=align)

    def _enum(self, key: str, die) -> Enum:
        values = tuple((name_of(v), v.attributes["DW_AT_const_value"].value)
                       for v in die.iter_children() if v.tag == "DW_TAG_enumerator")
        signed = False
        if "DW_AT_type" in die.attributes:
            base = strip(die.get_DIE_from_attribute("DW_AT_type"))
            encoding = base.attributes.get("DW_AT_encoding")
            signed = ENCODINGS.get(encoding.value if encoding else 0, "") in ("signed", "signed_char")
        else:
            signed = any(value < 0 for _, value in values)
        return Enum(key, die.attributes["DW_AT_byte_size"].value, signed, values)

    # ---- types -------------------------------------------------------------

    def type_ref(self, die, owner: str, member_path: str):
        """The model type of a member's DWARF type; named aggregates and enums it reaches are queued."""
        typedef, big = None, False
        while die.tag in QUALIFIERS and "DW_AT_type" in die.attributes:
            if die.tag == "DW_TAG_typedef":
                typedef = typedef or name_of(die)
                big = big or name_of(die) in BIG_ENDIAN_TYPEDEFS
            die = die.get_DIE_from_attribute("DW_AT_type")
        if die.tag == "DW_TAG_base_type":
            prim = self._base(die)
            return Prim(prim.name, "big") if big and isinstance(prim, Prim) else prim
        if die.tag == "DW_TAG_pointer_type":
            return Pointer(self._pointee(die))
        if die.tag == "DW_TAG_array_type":
            return self._array(die, owner, member_path)
        if die.tag in TAGS:
            key = self._key_of(die, typedef, owner, member_path)
            if key is None:  # an anonymous enum: only its integer type can be named
                return self._enum_base(die)
            self._want(key, die)
            return EnumType(key) if die.tag == "DW_TAG_enumeration_type" else Named(key)
        return Unsupported(check_dwarf._spelling(die)[0] if die.tag != "DW_TAG_subroutine_type" else "a function")

    def _key_of(self, die, typedef, owner: str, member_path: str):
        name = name_of(die)
        if name:
            return f"{TAGS[die.tag]} {name}"
        if typedef:
            return typedef
        if die.tag == "DW_TAG_enumeration_type":
            return None
        root, prefix = typeof_parts(owner) or (owner, "")
        return typeof_key(root, f"{prefix}.{member_path}" if prefix else member_path)

    def _base(self, die):
        encoding = die.attributes.get("DW_AT_encoding")
        kind = ENCODINGS.get(encoding.value if encoding else -1, "other")
        size = die.attributes["DW_AT_byte_size"].value
        if name_of(die) == "char":
            return Prim("u8")  # plain char: signed on amd64, unsigned on arm64; check accepts u8 for both
        prim = _INTEGERS.get((kind, size))
        return Prim(prim) if prim else Unsupported(name_of(die) or kind)

    def _enum_base(self, die):
        if "DW_AT_type" in die.attributes:
            return self.type_ref(die.get_DIE_from_attribute("DW_AT_type"), "", "")
        size = die.attributes["DW_AT_byte_size"].value
        return Prim(f"u{size * 8}")

    def _pointee(self, die):
        if "DW_AT_type" not in die.attributes:
            return None
        target = strip(die.get_DIE_from_attribute("DW_AT_type"))
        name = name_of(target)
        if target.tag in AGGREGATE_TAGS and name:
            return f"{AGGREGATE_TAGS[target.tag]} {name}"
        return None  # typed pointers name a tagged struct or union; anything else is ptr()

    def _array(self, die, owner: str, member_path: str):
        subranges = [s for s in die.iter_children() if s.tag == "DW_TAG_subrange_type"]
        dims, flexible = [], False
        for index, sub in enumerate(subranges):
            if "DW_AT_count" in sub.attributes:
                dims.append(sub.attributes["DW_AT_count"].value)
            elif "DW_AT_upper_bound" in sub.attributes:
                lower = sub.attributes.get("DW_AT_lower_bound")
                dims.append(sub.attributes["DW_AT_upper_bound"].value + 1 - (lower.value if lower else 0))
            elif index == 0:
                flexible = True
            else:
                return Unsupported("an array with an unknown inner length")
        element_die = die.get_DIE_from_attribute("DW_AT_type")
        if element_die.tag in AGGREGATE_TAGS and not name_of(element_die):
            return Unsupported(f"an array of an unnamed {AGGREGATE_TAGS[element_die.tag]}")  # C cannot name the element
        element = self.type_ref(element_die, owner, member_path)
        if isinstance(element, Array):  # an array of an array typedef: one array of more dimensions
            if element.flexible:
                return Unsupported("an array of flexible arrays")
            return Array(element.element, tuple(dims) + element.dims, flexible)
        return Array(element, tuple(dims), flexible)


def read(data: bytes, arch: str, spellings) -> tuple:
    """(the keys of the named types, {key: declaration}) for one arch."""
    unit = Unit(data, arch)
    keys = [unit.find(s) for s in spellings]
    return keys, Reader(unit).read(keys)

