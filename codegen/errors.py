"""Problems found in a spec, each tied to the place the user wrote it."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Pos:
    """A point in a spec file. `path` is the YAML path, e.g. `structs.Msg.fields[3].type`."""

    file: str
    line: int
    col: int
    path: str = ""

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"

    def at(self, path: str) -> "Pos":
        return Pos(self.file, self.line, self.col, path)

    def shifted(self, cols: int) -> "Pos":
        return Pos(self.file, self.line, self.col + cols, self.path)


@dataclass(frozen=True)
class Problem:
    pos: Pos
    message: str
    hint: str = ""

    def __str__(self) -> str:
        text = f"{self.pos}: {self.message}"
        if self.hint:
            text += f" (hint: {self.hint})"
        return escape(text)


def escape(text: str) -> str:
    """`text` with every character that is not printable written as Python would (`\\x1b`,
    `\\u202e`, `\\n`): a spec's names and its file's path reach the message, and a terminal
    escape, a bidi control or a newline in them must not redraw a CI log or split the line."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


class SpecError(Exception):
    """Raised with one or more problems; the CLI prints them and exits 2."""

    def __init__(self, problems: "list[Problem] | Problem"):
        if isinstance(problems, Problem):
            problems = [problems]
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def fail(pos: Pos, message: str, hint: str = "") -> "SpecError":
    """Build (not raise) a single-problem error, so callers write `raise fail(...)`."""
    return SpecError(Problem(pos, message, hint))


@dataclass
class Problems:
    """Collects problems from a stage that can keep going after the first one."""

    items: list = field(default_factory=list)

    def add(self, pos: Pos, message: str, hint: str = "") -> None:
        self.items.append(Problem(pos, message, hint))

    def take(self, error: SpecError) -> None:
        self.items.extend(error.problems)

    def raise_if_any(self) -> None:
        if self.items:
            raise SpecError(sorted(self.items, key=lambda p: (p.pos.line, p.pos.col)))
