"""Integer constant expressions: parsed once into a small AST, evaluated per variant.

The grammar is C's integer subset: literals (decimal, octal with a leading 0 as in C, 0x,
0b, and 0o; `_` between digits; C's suffixes u, l, ll and their combinations), names of
constants, `sizeof(Struct)`, `alignof(Struct)`, `offsetof(Struct, field.sub)`,
unary - ~ !, the binary operators of C with C's precedence, and the conditional
`cond ? a : b` (lowest precedence, right-associative; only the chosen branch is
evaluated, as in C). Every value has a C type (int, unsigned int, long, unsigned long on
LP64, see `cint`) and every operator follows C: `~0xe7UL` is 0xffffffffffffff18, `-1 < 1u`
is 0. What C leaves undefined (signed overflow, division by zero, a shift past the width)
is an error rather than whatever one compiler happens to do.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Union

from . import cint
from .errors import Pos, fail

INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1


@dataclass(frozen=True)
class Num:
    value: int
    pos: Pos
    ctype: str = ""  # the literal's C type on LP64; "" for a number the spec gives as a YAML integer
    suffix: str = ""  # its C suffix, normalised (`ul`), and whether it was written in decimal:
    decimal: bool = True  # with the value, they give its type in either data model (`typed`)

    def __post_init__(self):
        if not self.ctype:  # a plain decimal number: int, else long (range checked by `parse`)
            object.__setattr__(self, "ctype", cint.type_of_value(abs(self.value)))

    def typed(self) -> str:
        """Its C type in the current data model (4294967296 is a long on LP64, a long long on ILP32)."""
        if self.value < 0:
            return self.ctype
        return cint.literal_type(self.value, self.suffix, self.decimal) or self.ctype


@dataclass(frozen=True)
class Ref:
    name: str
    pos: Pos


@dataclass(frozen=True)
class Unary:
    op: str
    operand: "Expr"
    pos: Pos


@dataclass(frozen=True)
class Binary:
    op: str
    left: "Expr"
    right: "Expr"
    pos: Pos


@dataclass(frozen=True)
class SizeOf:
    struct: str
    pos: Pos
    align: bool = False  # alignof rather than sizeof


@dataclass(frozen=True)
class OffsetOf:
    struct: str
    field: tuple  # dotted path of canonical field names
    pos: Pos


@dataclass(frozen=True)
class Cond:
    """`cond ? then : other`; `pos` is the position of the `?`."""

    cond: "Expr"
    then: "Expr"
    other: "Expr"
    pos: Pos


Expr = Union[Num, Ref, Unary, Binary, SizeOf, OffsetOf, Cond]

_BINARY_PRECEDENCE = {
    "||": 1, "&&": 2, "|": 3, "^": 4, "&": 5,
    "==": 6, "!=": 6, "<": 7, "<=": 7, ">": 7, ">=": 7,
    "<<": 8, ">>": 8, "+": 9, "-": 9, "*": 10, "/": 10, "%": 10,
}
_TOKEN = re.compile(
    r"\s*(?:(?P<num>[0-9][0-9A-Za-z_]*)"  # as C's preprocessor reads a number: checked by _literal
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op><<|>>|<=|>=|==|!=|&&|\|\||[-+*/%()&|^~!<>,.?:]))"
)
MAX_EXPR_LEN = 4096
MAX_EXPR_DEPTH = 100


def parse(source: "str | int", pos: Pos) -> Expr:
    """Parse an expression; `pos` is where its text starts in the spec."""
    if isinstance(source, bool) or not isinstance(source, (int, str)):
        raise fail(pos, f"expected an integer expression, got {type(source).__name__}")
    if isinstance(source, int):
        magnitude = abs(source)
        if source > INT64_MAX and cint.fits(source, cint.ULONG):
            raise fail(pos, f"integer literal {source} is too large for long",
                       f"write the string '{source}u': C reads a larger decimal as unsigned long "
                       "only with a u suffix")
        if magnitude > INT64_MAX + (source < 0):
            raise fail(pos, f"integer literal {source} does not fit in 64 bits")
        if magnitude > INT64_MAX:  # -9223372036854775808: C has no literal for its magnitude
            return Binary("-", Unary("-", Num(INT64_MAX, pos), pos), Num(1, pos), pos)
        if magnitude != source:
            return Unary("-", Num(magnitude, pos), pos)  # C reads -5 as the negation of 5
        return Num(source, pos)
    if len(source) > MAX_EXPR_LEN:
        raise fail(pos, f"expression longer than {MAX_EXPR_LEN} characters")
    return _Parser(source, pos).parse_all()


class _Parser:
    def __init__(self, text: str, pos: Pos):
        self.text = text
        self.base = pos
        self.tokens = self._tokenize()
        self.index = 0
        self.depth = 0

    def _tokenize(self) -> list:
        tokens, at = [], 0
        while at < len(self.text):
            if self.text[at:].strip() == "":
                break
            match = _TOKEN.match(self.text, at)
            if not match or match.end() == at:
                bad = len(self.text[at:]) - len(self.text[at:].lstrip()) + at
                raise fail(self.base.shifted(bad), f"unexpected character {self.text[bad]!r} in expression")
            kind = match.lastgroup
            start = match.start(kind)
            tokens.append((kind, match.group(kind), self.base.shifted(start)))
            at = match.end()
        tokens.append(("end", "", self.base.shifted(len(self.text))))
        return tokens

    def peek(self):
        return self.tokens[self.index]

    def take(self):
        token = self.tokens[self.index]
        self.index += 1
        return token

    def expect(self, text: str):
        kind, value, pos = self.take()
        if value != text or kind == "end" and text:
            found = "end of expression" if kind == "end" else repr(value)
            raise fail(pos, f"expected {text!r} in expression, found {found}")
        return pos

    def parse_all(self) -> Expr:
        expr = self.conditional()
        kind, value, pos = self.peek()
        if kind != "end":
            hint = "expressions are integers only; '.' only separates fields in offsetof" if value == "." else ""
            raise fail(pos, f"unexpected {value!r} in expression", hint)
        # Later stages hash and print the tree recursively, so bound its height, not just its text.
        if _height(expr) > MAX_EXPR_DEPTH:
            raise fail(self.base, f"expression nests more than {MAX_EXPR_DEPTH} operations",
                       "split it into named constants")
        return expr

    def conditional(self) -> Expr:
        """C's `?:`: below every binary operator, right-associative (`a ? b : c ? d : e`)."""
        cond = self.binary(0)
        kind, value, pos = self.peek()
        if kind != "op" or value != "?":
            return cond
        self.take()
        # Only a real `?` nests (parentheses are counted in `unary`), so `a ? b : c ? ...` chains
        # are bounded like parentheses are.
        self.depth += 1
        if self.depth > MAX_EXPR_DEPTH:
            raise fail(pos, "expression nested too deeply")
        try:
            then = self.conditional()
            kind, value, colon = self.peek()
            if kind != "op" or value != ":":
                found = "end of expression" if kind == "end" else repr(value)
                raise fail(colon, f"expected ':' of the conditional '?' in expression, found {found}",
                           "write cond ? a : b")
            self.take()
            return Cond(cond, then, self.conditional(), pos)
        finally:
            self.depth -= 1

    def binary(self, min_prec: int) -> Expr:
        left = self.unary()
        while True:
            kind, op, pos = self.peek()
            prec = _BINARY_PRECEDENCE.get(op) if kind == "op" else None
            if prec is None or prec < min_prec:
                return left
            self.take()
            right = self.binary(prec + 1)
            left = Binary(op, left, right, pos)

    def unary(self) -> Expr:
        self.depth += 1
        if self.depth > MAX_EXPR_DEPTH:
            raise fail(self.peek()[2], "expression nested too deeply")
        try:
            kind, value, pos = self.peek()
            if kind == "op" and value in ("-", "~", "!", "+"):
                self.take()
                return Unary(value, self.unary(), pos)
            return self.primary()
        finally:
            self.depth -= 1

    def primary(self) -> Expr:
        kind, value, pos = self.take()
        if kind == "num":
            return Num(*_literal(value, pos))
        if kind == "name" and value in ("sizeof", "alignof"):
            self.expect("(")
            name = self.name()
            self.expect(")")
            return SizeOf(name, pos, align=value == "alignof")
        if kind == "name" and value == "offsetof":
            self.expect("(")
            struct = self.name()
            self.expect(",")
            path = [self.name()]
            while self.peek()[1] == ".":
                self.take()
                path.append(self.name())
            self.expect(")")
            return OffsetOf(struct, tuple(path), pos)
        if kind == "name":
            return Ref(value, pos)
        if value == "(":
            inner = self.conditional()
            self.expect(")")
            return inner
        found = "end of expression" if kind == "end" else repr(value)
        raise fail(pos, f"expected a number, name or '(' in expression, found {found}")

    def name(self) -> str:
        kind, value, pos = self.take()
        if kind != "name":
            raise fail(pos, f"expected a name, found {value!r}" if value else "expected a name")
        return value


_LITERAL = re.compile(r"(?P<digits>0[xX][0-9A-Fa-f_]*|0[bB][0-9_]*|0[oO][0-9_]*|[0-9][0-9_]*)(?P<suffix>[A-Za-z_0-9]*)")
_BASES = {"x": (16, "0123456789abcdefABCDEF", "hexadecimal"), "b": (2, "01", "binary"), "o": (8, "01234567", "octal")}


def _literal(text: str, pos: Pos) -> tuple:
    """(value, pos, C type) of an integer literal, read as C reads it: `010` is 8, `08` is an
    error, `0xffffffff` is an unsigned int and `2147483648` a long (C11 6.4.4.1)."""
    match = _LITERAL.fullmatch(text)
    digits, suffix = match["digits"], match["suffix"]
    if suffix not in cint.SUFFIXES:
        raise fail(pos, f"invalid integer literal {text!r}",
                   "write a decimal, 0x hexadecimal, 0b binary or 0-prefixed octal integer, "
                   "with an optional C suffix: u, l, ll, ul, ull (any case, but not lL)")
    base, allowed, word = 10, "0123456789", "decimal"
    body = digits
    if len(digits) > 1 and digits[0] == "0" and digits[1] in "xXbBoO":
        base, allowed, word = _BASES[digits[1].lower()]
        body = digits[2:]
    elif len(digits) > 1 and digits[0] == "0":
        base, allowed, word = 8, "01234567", "octal"
        body = digits[1:]
    bad = next((ch for ch in body if ch not in allowed and ch != "_"), None)
    if bad is not None:
        hint = "C reads a number that starts with 0 as octal; drop the leading zeros" if word == "octal" \
            and digits[1:2] not in ("o", "O") else ""
        raise fail(pos, f"invalid digit '{bad}' in {word} literal {text!r}", hint)
    if not body.replace("_", "") or "__" in body or body.endswith("_") or (body.startswith("_") and base == 10):
        raise fail(pos, f"invalid integer literal {text!r}",
                   "digits are needed, and '_' only between two of them")
    value = int(body.replace("_", ""), base)
    ctype = cint.literal_type(value, suffix, base == 10)
    if ctype is None and cint.fits(value, cint.ULONG):
        # gcc reads it as unsigned long with a warning; C11 gives it no type at all.
        raise fail(pos, f"integer literal {text!r} is too large for long",
                   "add a u suffix to make it unsigned long, as C requires")
    if ctype is None:
        raise fail(pos, f"integer literal {text!r} does not fit in 64 bits")
    return value, pos, ctype, cint.SUFFIXES[suffix], base == 10


def start(expr: Expr) -> Pos:
    """Where an expression's text begins; a Binary node's own position is its operator's."""
    while isinstance(expr, (Binary, Cond)):
        expr = expr.left if isinstance(expr, Binary) else expr.cond
    return expr.pos


def _height(expr: Expr) -> int:
    deepest, stack = 0, [(expr, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(node, Unary):
            stack.append((node.operand, depth + 1))
        elif isinstance(node, Binary):
            stack.extend(((node.left, depth + 1), (node.right, depth + 1)))
        elif isinstance(node, Cond):
            stack.extend(((node.cond, depth + 1), (node.then, depth + 1), (node.other, depth + 1)))
    return deepest


def references(expr: Expr):
    """Yield every Ref, SizeOf and OffsetOf node of an expression."""
    stack = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, Unary):
            stack.append(node.operand)
        elif isinstance(node, Binary):
            stack.extend((node.right, node.left))
        elif isinstance(node, Cond):
            stack.extend((node.other, node.then, node.cond))
        elif not isinstance(node, Num):
            yield node


def render(expr: Expr, name_of: Callable[[str], str] = lambda n: n) -> str:
    """Print an expression back as text (for comments in generated files)."""
    if isinstance(expr, Num):
        return cint.spelling(expr.value, expr.ctype)
    if isinstance(expr, Ref):
        return name_of(expr.name)
    if isinstance(expr, SizeOf):
        return f"{'alignof' if expr.align else 'sizeof'}({expr.struct})"
    if isinstance(expr, OffsetOf):
        return f"offsetof({expr.struct}, {'.'.join(expr.field)})"
    if isinstance(expr, Unary):
        return f"{expr.op}{render(expr.operand, name_of)}"
    if isinstance(expr, Cond):
        return f"({render(expr.cond, name_of)} ? {render(expr.then, name_of)} : {render(expr.other, name_of)})"
    return f"({render(expr.left, name_of)} {expr.op} {render(expr.right, name_of)})"


def evaluate(expr: Expr, lookup: Callable) -> int:
    """The value of an expression under C's rules; see `evaluate_typed`."""
    return evaluate_typed(expr, lookup)[0]


def evaluate_typed(expr: Expr, lookup: Callable) -> tuple:
    """(value, C type) of an expression; `lookup` answers Ref, SizeOf and OffsetOf nodes with
    a value or a (value, C type) pair (a bare value of a name is typed as a decimal literal).

    Operands are evaluated left to right, without recursion, so that a constant defined
    through a chain of other constants costs a few stack frames per link, whatever the
    shape of each expression.
    """
    values, todo = [], [(expr, False)]
    while todo:
        node, operands_done = todo.pop()
        if isinstance(node, Num):
            values.append((node.value, node.typed()))
        elif isinstance(node, Unary) and not operands_done:
            todo.extend(((node, True), (node.operand, False)))
        elif isinstance(node, Binary) and not operands_done and node.op in ("&&", "||"):
            todo.extend(((_Decide(node), True), (node.left, False)))
        elif isinstance(node, Binary) and not operands_done:
            todo.extend(((node, True), (node.right, False), (node.left, False)))
        elif isinstance(node, _Decide) and (node.right or bool(values[-1][0]) == (node.logical.op == "||")):
            values[-1] = (int(bool(values[-1][0])), cint.INT)  # the right operand decides, or C skips it
        elif isinstance(node, _Decide):
            values.pop()
            todo.extend(((_Decide(node.logical, right=True), True), (node.logical.right, False)))
        elif isinstance(node, Cond) and not operands_done:
            todo.extend(((node, True), (node.cond, False)))
        elif isinstance(node, Cond):
            chosen, other = (node.then, node.other) if values.pop()[0] else (node.other, node.then)
            todo.append((_ConvertTo(node, other), True))
            todo.append((chosen, False))  # only the chosen branch is evaluated
        elif isinstance(node, _ConvertTo):
            # C gives `c ? a : b` the common type of both branches, whichever is chosen.
            value, ctype = values.pop()
            result = cint.common(ctype, type_of(node.other, lookup))
            values.append((cint.convert_checked(value, result, node.cond.pos), result))
        elif isinstance(node, Unary):
            values.append(cint.unary(node.op, *values.pop(), node.pos))
        elif isinstance(node, Binary):
            right = values.pop()
            values.append(cint.binary(node.op, values.pop(), right, node.pos))
        else:
            values.append(_looked_up(node, lookup(node)))
    return values[0]


@dataclass(frozen=True)
class _ConvertTo:
    """Evaluation step: convert the chosen branch of `cond` to the type it shares with `other`."""

    cond: Cond
    other: Expr


@dataclass(frozen=True)
class _Decide:
    """Evaluation step of `&&` / `||`: after the left operand (or, with `right`, the right one)."""

    logical: Binary
    right: bool = False


def _looked_up(node, answer) -> tuple:
    if isinstance(answer, tuple):
        return answer
    if isinstance(node, (SizeOf, OffsetOf)):
        return answer, cint.size_t()
    for ctype in (cint.INT, cint.LONG, cint.LLONG, cint.ULONG, cint.ULLONG):
        if cint.fits(answer, ctype):
            return answer, ctype
    raise fail(node.pos, f"value {answer} of {node.name} does not fit in 64 bits")


def type_of(expr: Expr, lookup: Callable) -> str:
    """The C type of an expression without evaluating it (C types a `?:` branch not taken);
    only names are looked up, since a constant's type is that of its value."""
    if isinstance(expr, Num):
        return expr.typed()
    if isinstance(expr, (SizeOf, OffsetOf)):
        return cint.size_t()
    if isinstance(expr, Ref):
        return _looked_up(expr, lookup(expr))[1]
    if isinstance(expr, Unary):
        return cint.INT if expr.op == "!" else cint.promote(type_of(expr.operand, lookup))
    if isinstance(expr, Cond):
        return cint.common(type_of(expr.then, lookup), type_of(expr.other, lookup))
    if expr.op in cint.INT_RESULT:
        return cint.INT
    left = cint.promote(type_of(expr.left, lookup))
    return left if expr.op in ("<<", ">>") else cint.common(left, cint.promote(type_of(expr.right, lookup)))



