"""What the tools share: choosing archs, parameter combinations and structs by any of their
names, and spelling a member's type the way the spec writes it or the way the generated C
header declares it."""
from __future__ import annotations

from .. import layout_types as lay
from ..ir import Spec, Variant, value_label
from ..primitives import PRIMITIVES
from ..targets.c_spelling import reserved_name
from ..targets.c_spelling import struct_type as c_struct_type  # `struct sysmsg`, or a system type like `siginfo_t`


class ToolError(Exception):
    """Bad input to a tool (unknown arch or struct, a short file): one line, exit 2."""


def choose_archs(spec: Spec, arch) -> tuple:
    """The archs a command covers: the one asked for, or every arch of the spec."""
    if arch is None:
        return spec.archs
    if arch not in spec.archs:
        raise ToolError(f"unknown arch '{arch}' (the spec has: {', '.join(spec.archs)})")
    return (arch,)


def parse_params(spec: Spec, texts) -> dict:
    """`--param NAME=VALUE` options -> {name: value}. A value is a number (`65536`, `0x10000`)
    or its label in combination keys (`64k`); it must be one the spec declares."""
    chosen: dict = {}
    for text in texts or ():
        name, equals, value_text = text.partition("=")
        name, value_text = name.strip(), value_text.strip()
        if not equals or not name or not value_text:
            raise ToolError(f"--param wants NAME=VALUE, e.g. page_size=65536 (got '{text}')")
        param = spec.param(name)
        if param is None:
            declared = f"the spec's parameters: {', '.join(p.name for p in spec.params)}" if spec.params \
                else "the spec has no parameters"
            raise ToolError(f"unknown parameter '{name}' ({declared})")
        value = next((v for v in param.values
                      if value_text in (str(v), value_label(v)) or _number(value_text) == v), None)
        if value is None:
            raise ToolError(f"{name}={value_text} is not a declared value "
                            f"({name}: {', '.join(str(v) for v in param.values)})")
        if chosen.get(name, value) != value:
            raise ToolError(f"--param {name} given twice ({chosen[name]} and {value})")
        chosen[name] = value
    return chosen


def _number(text: str):
    try:
        return int(text, 0)
    except ValueError:
        return None


def choose_variants(spec: Spec, archs: tuple, params: dict, every: bool = False) -> tuple:
    """The combinations a command covers on `archs`: each parameter fixed by `params`
    takes that value; every other one its default, or each of its values with `every`."""
    return tuple(v for v in spec.combinations if v.arch in archs
                 and all(v.param(name) == value for name, value in params.items())
                 and (every or all(name in v.defaults for name, _ in v.params if name not in params)))


def describe(variant: Variant) -> str:
    """A combination as the tools name it: `arm64` without parameters,
    `arm64_64k (page_size = 65536)` with them."""
    if not variant.params:
        return variant.key
    return f"{variant.key} ({', '.join(f'{name} = {value}' for name, value in variant.params)})"


def find_struct(spec: Spec, layout: lay.Layout, name: str) -> str:
    """The canonical name of the struct called `name` in the spec, in C, or by its system type."""
    for decl in spec.structs:
        if decl.anonymous:
            continue  # no name in C: it is reported inline, inside its parent
        spellings = {decl.names.canonical, decl.names.c, c_struct_type(spec, decl.names.canonical)}
        if name in spellings:
            if decl.names.canonical not in layout.structs:
                raise ToolError(f"struct {decl.names.canonical} does not exist on {layout.variant.arch}")
            return decl.names.canonical
    known = ", ".join(s.names.canonical for s in spec.structs if not s.anonymous)
    raise ToolError(f"unknown struct '{name}' (the spec has: {known})")


def c_member(spec: Spec, slot, pad_names: dict) -> tuple:
    """(type, name, array suffix) of a member as the generated C header declares it;
    `pad_names` comes from `c_pad_names`."""
    if isinstance(slot, lay.PadSlot):
        return "uint8_t", pad_names[slot], f"[{slot.size}]"
    if isinstance(slot, lay.ReservedSlot):
        return "uint8_t", reserved_name(slot), f"[{slot.size}]"
    dims = _dims(slot)
    if slot.struct is not None:
        return c_struct_type(spec, slot.struct), slot.field.names.c, dims
    if slot.scalar.is_pointer:
        target = slot.scalar.pointer_to
        return (c_struct_type(spec, target) if target else "void") + " *", slot.field.names.c, dims
    return slot.scalar.c_type, slot.field.names.c, dims


def spec_type(slot: lay.FieldSlot) -> str:
    """A field's type as the spec language writes it, with array lengths evaluated: `u8[3584]`."""
    if slot.struct is not None:
        base = slot.struct
    elif slot.scalar.is_pointer:
        base = f"ptr({slot.scalar.pointer_to or ''})"
    elif slot.scalar.enum is not None:
        base = slot.scalar.enum
    else:
        base = slot.scalar.prim
    order = f" ({slot.scalar.order}-endian)" if slot.scalar is not None and slot.scalar.order else ""
    return base + _dims(slot) + order


def _dims(slot) -> str:
    """`[3][4]`; a flexible array's first pair of brackets is empty: `[][4]`."""
    if isinstance(slot, lay.FlexSlot):
        return "[]" + "".join(f"[{length}]" for length in slot.dims)
    return "".join(f"[{length}]" for length in slot.shape)


def bit_type(field: lay.BitFieldSlot) -> str:
    """A bitfield's type as the spec writes it, with its width: `u32:3`, `Color:2`."""
    return f"{field.scalar.enum or field.scalar.prim}:{field.bits}"


def bit_place(field: lay.BitFieldSlot) -> str:
    """Where a bitfield's bits are, as byte:bit from the struct's start: `4:3..5:1`."""
    last = field.first_bit + field.bits - 1
    return f"{field.first_bit // 8}:{field.first_bit % 8}..{last // 8}:{last % 8}"


def c_pad_names(struct_layout: lay.StructLayout) -> dict:
    """PadSlot -> its C member name: its own `c:` name, or `_pad<N>` counting every explicit
    padding of the struct in order, as the C target names them."""
    names, index = {}, 0
    for slot in struct_layout.slots:
        if isinstance(slot, lay.PadSlot):
            names[slot] = slot.padding.c_name or f"_pad{index}"
            index += 1
    return names
