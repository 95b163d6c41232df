"""Pure-Python rows next to the generated parsers in `make bench`: the runtime without its
compiled half, and the least any pure-Python code could cost.

The generated package runs on its compiled runtime (`_speedups.c`) when `pip install` could
build it; the goals of issue 21 are measured on that. These rows show the pure-Python
fallback beside it, and, for each goal, its floor: the hand-written code with only the change
the goal requires (the value is a construct Container; a view is an object with a property
per field) and nothing else: no bounds check, no error paths. No pure-Python parser or view
can cost less than its floor, so a goal below its floor needs compiled code.
"""
from __future__ import annotations


FLOOR_PARSE = "floor: hand-written, into the Container the goal requires"
FLOOR_READS = "floor: that Container, then 3 attribute reads"
FLOOR_NEW_VIEW = "floor: `View(buffer, offset).thread_id`, no bounds check"
FLOOR_VIEW = "floor: one-field read through a property"
FLOOR_NESTED = "floor: nested read, the inner view in a plain slot"
PURE_PARSE = "pure Python: `Msg.parse(data)`"
PURE_READS = "pure Python: parse, then 3 attribute reads"
PURE_NEW_VIEW = "pure Python: `MsgView(buffer, offset).thread_id`"
PURE_VIEW = "pure Python: `view.thread_id` (one field)"
PURE_NESTED = "pure Python: `view.ptregs.rip` (nested field)"


# ---- pure-Python floors


class FloorView:
    """A view reduced to what every view needs: the buffer and offset kept, a getter per field."""

    __slots__ = ("_buf", "_off")

    def __init__(self, buffer, offset=0):
        self._buf = buffer
        self._off = offset


def floor_view_type(name: str, size: int, fields: dict, nested: tuple = ()) -> type:
    """A FloorView subclass with one property per `fields` item (name -> an `unpack_from` whose
    format folds the field's offset in, as the runtime's do). `nested` names plain slots."""
    def getter(unpack):
        return property(lambda view: unpack(view._buf, view._off)[0])
    namespace = {"__slots__": nested, "SIZE": size}
    namespace.update((field, getter(unpack)) for field, unpack in fields.items())
    return type(name, (FloorView,), namespace)


def floor_rows(mod, names: dict, hand_msg, row) -> list:
    """Rows of the pure-Python floors (`row(struct, label, statement)` makes one)."""
    value_type, state = mod.MsgValue, names["state_of"]
    unpack = mod.Msg.format.unpack_from

    def container_msg(data):
        v = unpack(data)
        return value_type({"self": v[0], "ret_addr": v[1], "syshandler": v[2], "syshandler_stack": v[3],
                           "app_stack": v[4], "interrupt": v[5], "state": state(v[6], v[6]), "context": v[7],
                           "fault_jump": v[8], "err": v[9], "err_line": v[10], "debug": v[11],
                           "thread_id": v[12]})
    assert container_msg(names["data"]) == hand_msg(names["data"])
    names["container_msg"] = container_msg
    names["FloorMsg"] = floor_view_type("FloorMsg", 88, {"thread_id": names["reader"](80)})
    names["floor_msg"] = names["FloorMsg"](names["buffer"], names["offset"])
    regs = floor_view_type("FloorRegs", 216, {"rip": names["reader"](128, "Q")})
    context = floor_view_type("FloorContext", 3984, {}, ("ptregs",))(names["context_buffer"], names["offset"])
    context.ptregs = regs(names["context_buffer"], names["offset"] + 3592)
    names["floor_context"] = context
    return [
        row("Msg", FLOOR_PARSE, "container_msg(data)"),
        row("Msg", FLOOR_READS, "m = container_msg(data); m.state; m.thread_id; m.err"),
        row("Msg", FLOOR_NEW_VIEW, "FloorMsg(buffer, offset).thread_id"),
        row("Msg", FLOOR_VIEW, "floor_msg.thread_id"),
        row("ThreadContext", FLOOR_NESTED, "floor_context.ptregs.rip"),
    ]


def pure_rows(pure, names: dict, row) -> list:
    """The rows of the goals, timed on the pure-Python package `pure` (the same statements
    as the generated rows; `row(struct, label, statement)` makes one)."""
    names.update(PureMsg=pure.Msg, PureMsgView=pure.MsgView,
                 pure_view=pure.MsgView(names["buffer"], names["offset"]),
                 pure_context=pure.ThreadContextView(names["context_buffer"], names["offset"]))
    return [
        row("Msg", PURE_PARSE, "PureMsg.parse(data)"),
        row("Msg", PURE_READS, "m = PureMsg.parse(data); m.state; m.thread_id; m.err"),
        row("Msg", PURE_NEW_VIEW, "PureMsgView(buffer, offset).thread_id"),
        row("Msg", PURE_VIEW, "pure_view.thread_id"),
        row("ThreadContext", PURE_NESTED, "pure_context.ptregs.rip"),
    ]
