"""Free text from a spec (its docs, and the spec's path in banners) printed as data in every output.

A spec is untrusted input: its prose must never end a comment or a string, start a directive,
or form a link or a tag. One function per kind of output; each is total (any `str` in, text
that is safe in that place out) and changes ordinary text as little as it can, so docs read
as written. `Prose` marks a doc in the IR so that a template refuses one printed raw
(`targets/common.py` sets Jinja's `finalize` to check).

Shared rules: the text is one line (a whitespace run with a line break or other non-space
whitespace in it becomes one space; paragraph breaks survive where the output wraps), and a
character that is not printable (controls, line and paragraph separators, bidi overrides, lone
surrogates, unassigned code points) is shown as its Python escape (`\\n`, `\\x00`, `\\u202e`),
so no output ever holds an invisible or line-breaking character that came from a spec.
"""
from __future__ import annotations

import re
import textwrap
from xml.sax.saxutils import escape as _xml_escape


class Prose(str):
    """A doc from a spec: free text that must pass through one of this module's escapes
    before it reaches an output. String operations return a plain `str`, so the targets
    call the escapes explicitly; the marker catches a doc handed to a template as is."""

    __slots__ = ()


# ---- shared pieces ---------------------------------------------------------


def _escape_char(char: str) -> str:
    code = ord(char)
    if char in "\n\r\t":
        return {"\n": "\\n", "\r": "\\r", "\t": "\\t"}[char]
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def printable(text: str, backslash: bool = False) -> str:
    """`text` with every non-printable character as its Python escape; with `backslash`,
    backslashes are doubled too, so the result is exactly a Python string literal's body
    (without its quotes) and reads back unambiguously."""
    if text.isprintable() and not (backslash and "\\" in text):
        return text  # the common case, and the loop below would give it back unchanged
    out = []
    for char in text:
        if char == "\\":
            out.append("\\\\" if backslash else char)
        elif char == " " or char.isprintable():
            out.append(char)
        else:
            out.append(_escape_char(char))
    return "".join(out)


def label(text: str) -> str:
    """A file name as banners print it: one line of printable characters, repr-style."""
    return printable(text, backslash=True)


def one_line(text: str) -> str:
    """Whitespace runs (newlines and every other Unicode line break included) as one space."""
    return " ".join(str(text).split())


_WHITESPACE = re.compile(r"\s+")


def _flat(text: str) -> str:
    """One line, trimmed: a whitespace run that holds anything but plain spaces (a line break,
    a tab, a Unicode separator) becomes one space; runs of spaces stay as written."""
    return _WHITESPACE.sub(lambda run: run[0] if not run[0].strip(" ") else " ", str(text)).strip()


_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


def wrap(text: str, width: int) -> list:
    """Paragraphs (split at blank lines, however many) wrapped to `width`, a "" line between
    paragraphs. Words are never broken, so an escape is never split across lines."""
    lines = []
    for paragraph in _PARAGRAPH_BREAK.split(str(text).strip()):
        if paragraph.strip():
            lines += textwrap.wrap(one_line(paragraph), width, break_long_words=False, break_on_hyphens=False)
            lines.append("")
    return lines[:-1]


# ---- C and assembly --------------------------------------------------------


def c_comment(text: str) -> str:
    """One line of text safe inside a C block comment: no `*/` (it would end the comment),
    no `/*` (gcc -Wcomment), no `??` (a trigraph under -std=c11: `??/` is a backslash), no
    line break and nothing unprintable. The offsets header is preprocessed assembly, so the
    same text is safe there too (cpp removes the comment before the assembler runs)."""
    text = printable(_flat(text))
    text = re.sub(r"\*(?=/)", "* ", text)
    text = re.sub(r"/(?=\*)", "/ ", text)
    return re.sub(r"\?(?=\?)", "? ", text)


def c_comment_lines(text: str, width: int = 88) -> list:
    """A doc wrapped into lines for a C block comment, each made safe by `c_comment`."""
    return [c_comment(line) for line in wrap(text, width)]


_C_STRING_PLAIN = re.compile(r"[\x20\x21\x23-\x3e\x40-\x5b\x5d-\x7e]*")


def c_string(text: str) -> str:
    """The body of a C string literal (between the quotes) that spells `text`: quotes and
    backslashes escaped, `?` escaped (no trigraph), every non-printable or non-ASCII character
    as an octal escape of its UTF-8 bytes."""
    if _C_STRING_PLAIN.fullmatch(text):
        return text  # printable ASCII with no quote, backslash or `?`: nothing to escape
    out = []
    for byte in text.encode("utf-8", "backslashreplace"):
        char = chr(byte)
        if char in '"\\?':
            out.append("\\" + char)
        elif 0x20 <= byte < 0x7F:
            out.append(char)
        else:
            out.append(f"\\{byte:03o}")
    return "".join(out)


# ---- Python ----------------------------------------------------------------


def python_docstring(text: str) -> str:
    """A docstring's body on one line: reads back as `text` (whitespace collapsed). Backslashes
    are doubled and non-printables escaped (so no escape changes the meaning), and a quote is
    escaped where it could join others into a closing `\"\"\"` or end the line, so the
    docstring never closes early and never ends in a backslash or a quote."""
    text = printable(_flat(text), backslash=True)
    return re.sub(r'"(?="|$)', '\\\\"', text)


# PEP 263: `coding:` or `coding=` in a comment on a file's first two lines picks the encoding the
# file is read in (`coding:utf_7` would turn `+AAo-` later in the file into a newline).
_PY_CODING = re.compile(r"(coding)(?=[:=])", re.IGNORECASE)


def python_comment(text: str) -> str:
    """Text for after `# `: one line (no character Python's tokenizer could end a line at),
    nothing unprintable, and no encoding declaration (a space goes after `coding`), since the
    banner's comments are a module's first lines."""
    return _PY_CODING.sub(r"\1 ", printable(_flat(text)))


def python_comment_lines(text: str, width: int = 88) -> list:
    return [python_comment(line) for line in wrap(text, width)]


# ---- Go --------------------------------------------------------------------

# What a comment line could be taken for after `// `: an old-style build constraint (`// +build`),
# a directive (`//go:build`, `//line`, `//export`, `//extern`, any `//name:arg`), a cgo line, or a
# doc-comment link definition (`[Text]: URL`, which gofmt would move to the comment's end).
_GO_LINE_START = re.compile(r"\+build|#cgo|go:|line |export |extern |[a-z0-9]+:[a-z0-9]|\[[^\]]*\]:")
# What gofmt rewrites in a doc comment's text (and godoc shows so): `` and '' as curly quotes.
_GO_QUOTES = (("``", "\u201c"), ("''", "\u201d"))
_GO_NOT_IN_HEADING = set(";:!?+*/=[]{}_^\u00b0&\u00a7~%#@<\">\\")


def go_comment(text: str) -> str:
    """Text for after `// `: one line, nothing unprintable, and never the start of a directive,
    build constraint or link definition (such a line gets a leading backslash, which none of
    them starts with). `` and '' are written as the curly quotes gofmt would make of them, so
    a doc comment is printed as gofmt prints it."""
    text = printable(_flat(text))
    for pair, quote in _GO_QUOTES:
        text = text.replace(pair, quote)
    return "\\" + text if _GO_LINE_START.match(text) else text


def go_comment_lines(text: str, width: int = 76) -> list:
    """A doc wrapped for `// ` lines ("" for a paragraph break, printed as `//`). A one-line
    paragraph between two others that Go would take for an old-style heading is written as
    the `# Heading` gofmt would rewrite it to."""
    lines = [go_comment(line) for line in wrap(text, width)]
    for index in range(1, len(lines) - 2):
        if lines[index - 1] == lines[index + 1] == "" and _go_old_heading(lines[index]):
            lines[index] = "# " + lines[index]
    return lines


def _go_old_heading(line: str) -> bool:
    """go/doc/comment's test for an old-style heading line (the neighbours are checked by the caller)."""
    if not (line[:1].isalpha() and line[:1].isupper() and line[-1:].isalnum()):
        return False
    if _GO_NOT_IN_HEADING & set(line):
        return False
    if any(not (rest == "s" or rest.startswith("s ")) for rest in line.split("'")[1:]):
        return False  # an apostrophe only in a possessive 's
    return all(rest and not rest.startswith(" ") for rest in line.split(".")[1:])


# ---- Markdown, HTML and XML ------------------------------------------------

# Markdown punctuation that could open emphasis, a link or an image (`!` and `(` only matter
# after a `[`), strike through, end a table cell, or escape what follows (`\\`); `_` only at a
# word's edge, where it can open or close emphasis. A backtick is handled with code spans.
_MD_INLINE = re.compile(r"([\\*\[\]|~]|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z]))")
# What starts a block (heading, list item, setext underline) where it opens a line; a quote's
# `>` is an entity already.
_MD_BLOCK_START = re.compile(r"^(?:([#+\-=])|(\d+)([.)]))")
_BACKTICKS = re.compile(r"`+")


def _code_spans(text: str) -> list:
    """`text` cut into (is a code span, piece), pairing backtick runs as CommonMark does: a run
    opens a span closed by the next run of the same length; a run with no partner is text."""
    pieces, at, runs = [], 0, list(_BACKTICKS.finditer(text))
    index = 0
    while index < len(runs):
        opening = runs[index]
        partner = next((j for j in range(index + 1, len(runs))
                        if len(runs[j][0]) == len(opening[0])), None)
        if partner is None:
            index += 1
            continue
        pieces.append((False, text[at:opening.start()]))
        pieces.append((True, text[opening.start():runs[partner].end()]))
        at, index = runs[partner].end(), partner + 1
    pieces.append((False, text[at:]))
    return pieces


def _md_text(text: str) -> str:
    text = _MD_INLINE.sub(r"\\\1", text).replace("`", "\\`")
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def markdown(text: str, cell: bool = False) -> str:
    """Prose as Markdown on one line, plain text but for its code spans (a `code span` is kept:
    its content is literal to Markdown, so nothing forms inside it). Elsewhere HTML's `<`, `>`
    and `&` become entities (no tag, comment or autolink can form) and Markdown punctuation is
    backslash-escaped (no link, image, emphasis or table-cell break can form); a
    `javascript:` link therefore cannot exist, as no link can. With `cell`, a `|` inside a code
    span is escaped too, as a table cell needs."""
    pieces = []
    for is_code, piece in _code_spans(printable(_flat(text))):
        pieces.append((piece.replace("|", "\\|") if cell else piece) if is_code else _md_text(piece))
    text = "".join(pieces)
    return _MD_BLOCK_START.sub(lambda m: "\\" + m[1] if m[1] else m[2] + "\\" + m[3], text)


def markdown_cell(text: str) -> str:
    """Prose in a Markdown table cell: `markdown` with every `|` escaped."""
    return markdown(text, cell=True)


def markdown_paragraphs(text: str) -> str:
    """A doc as Markdown paragraphs: its lines kept (each made safe by `markdown`, so none
    starts a block), runs of blank lines as one paragraph break."""
    lines = [markdown(line) for line in str(text).strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines))


def html_comment(text: str) -> str:
    """Text inside `<!-- -->`: `>` is escaped, so `-->` (or `--!>`) cannot end the comment."""
    return printable(_flat(text)).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def xml(text: str) -> str:
    """Character data of an XML (SVG) element: `&`, `<`, `>` escaped and nothing unprintable
    (XML forbids most control characters outright)."""
    return _xml_escape(printable(_flat(text)))
