"""Formatting: a well-formed SDF laid out again, its meaning untouched.

One indentation step per nesting level, one element per line, attributes in their order on
the tag's line unless the line would be wider than `width` (then one per line, aligned under
the first), a single space before `/>`. What the formatter never rewrites: attribute values
(quotes as written), comments, processing instructions, the XML declaration, and the content
of an element that holds text (that content is kept exactly as written). Blank lines between
siblings are kept, at most one in a row; the line breaks are the document's own.

A comment (or processing instruction) written on the same line as its neighbour stays on that
line: `<!-- sdf-lsp: ignore CODE -->` applies to the element on its line (`sdf_lsp.suppress`),
so moving it would change what it silences.

A document with syntax errors is refused (`FormatRefused`): its tree is a guess, and laying
out a guess could change what the text means.

The layout of each top-level element is kept on its syntax block (`Block.features`), so
formatting a large system again after an edit lays out only the element the edit touched.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from sdf_lsp.syntax.scanner import Document, parse
from sdf_lsp.syntax.tree import FAST_ATTR, Element, Node

_BREAK = re.compile(r"\r\n|\r|\n")
_BLANK = re.compile(r"[ \t\r\n]*")
#: At most this many changed lines are matched line by line for minimal edits; more is one edit.
_DIFF_LINES = 20_000


@dataclass(frozen=True)
class FormatOptions:
    """`indent`: one indentation step (spaces or a tab); `width`: the widest a tag's line may be
    before its attributes go one per line; `tab_size`: how wide a tab counts for `width`."""

    indent: str = "    "
    width: int = 100
    tab_size: int = 4

    @classmethod
    def of(cls, tab_size: int = 4, insert_spaces: bool = True, width: int = 100) -> FormatOptions:
        tab_size = max(1, min(tab_size, 16))
        return cls(" " * tab_size if insert_spaces else "\t", max(1, width), tab_size)


DEFAULT = FormatOptions()


class FormatRefused(Exception):
    """The document cannot be formatted safely; `offset` is where the first problem is."""

    def __init__(self, message: str, offset: int = 0):
        super().__init__(message)
        self.message = message
        self.offset = offset


def format_text(text: str, options: FormatOptions = DEFAULT) -> str:
    """The formatted text; raises FormatRefused when the text has syntax errors."""
    return format_document(parse(text), options)


def refusal(doc: Document) -> FormatRefused | None:
    """Why a document cannot be formatted (None: it can)."""
    problems = doc.problems
    if problems:
        first = min(problems, key=lambda p: p.span.start)
        n = len(problems) - 1
        more = f" (and {n} more syntax error{'s' if n > 1 else ''})" if n else ""
        return FormatRefused(f"syntax error: {first.message}{more}", first.span.start)
    if doc.root is None:
        return FormatRefused("the document has no root element")
    return None


def format_document(doc: Document, options: FormatOptions = DEFAULT) -> str:
    """The formatted text of a scanned document; raises FormatRefused when it has syntax errors."""
    why = refusal(doc)
    if why is not None:
        raise why
    text = doc.text
    m = _BREAK.search(text)
    newline = m.group(0) if m is not None else "\n"
    f = _Formatter(text, options, newline)
    lines: list[str] = [""]
    f.sequence(doc.nodes, 0, lines, None)
    while lines and not lines[-1].strip():
        lines.pop()
    out = newline.join(lines) + newline
    return "\ufeff" + out if text.startswith("\ufeff") else out


def text_edits(old: str, new: str) -> list[tuple[int, int, str]]:
    """Edits (start, end, new text) in offsets of `old` that turn it into `new`: whole lines
    replaced, only where they differ (so an editor keeps its cursor and folds elsewhere)."""
    if old == new:
        return []
    a = old.splitlines(keepends=True)
    b = new.splitlines(keepends=True)
    head = 0
    while head < len(a) and head < len(b) and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < len(a) - head and tail < len(b) - head and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    mid_a, mid_b = a[head : len(a) - tail], b[head : len(b) - tail]
    starts = [0]
    for line in a:
        starts.append(starts[-1] + len(line))
    if len(mid_a) + len(mid_b) > _DIFF_LINES:
        return [(starts[head], starts[len(a) - tail], "".join(mid_b))]
    edits = []
    matcher = difflib.SequenceMatcher(None, mid_a, mid_b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            edits.append((starts[head + i1], starts[head + i2], "".join(mid_b[j1:j2])))
    return edits


def edits_in_range(old: str, new: str, start: int, end: int) -> list[tuple[int, int, str]]:
    """The edits turning `old` into its formatted text `new` that touch the lines of
    old[start:end] (range formatting). Formatting changes only white space (`same_but_space`),
    so the two texts are matched up by what is not white space and each run of white space that
    differs is one edit: any subset of them applies cleanly."""
    first = old.rfind("\n", 0, start) + 1
    last = old.find("\n", end)
    last = len(old) if last < 0 else last + 1
    if not same_but_space(old, new):  # never: the formatter only moves white space
        return [e for e in text_edits(old, new) if e[0] < last and e[1] > first]
    runs_new = _runs(new)
    out: list[tuple[int, int, str]] = []

    def wanted(pos: int) -> bool:
        return first <= pos < last or pos == last == len(old)

    at_new = 0
    taken = 0  # white-space characters of `old` before the current run
    for m in _SPACE.finditer(old):
        s, e = m.span()
        k = s - taken  # characters that are not white space before this run
        # runs of `new` placed before this one have none in `old`: an insertion each
        while at_new < len(runs_new) and runs_new[at_new][0] < k:
            kn, text = runs_new[at_new]
            at_new += 1
            if wanted(s - (k - kn)):
                out.append((s - (k - kn), s - (k - kn), text))
        if s >= last:
            return out
        taken += e - s
        text = ""
        if at_new < len(runs_new) and runs_new[at_new][0] == k:
            text = runs_new[at_new][1]
            at_new += 1
        if text != m.group(0) and e >= first:  # a run ending where the lines start is their indentation
            out.append((s, e, text))
    for kn, text in runs_new[at_new:]:  # after the last run of `old`
        if wanted(kn + taken):
            out.append((kn + taken, kn + taken, text))
    return out


_SPACE = re.compile(r"[ \t\r\n]+")


def same_but_space(a: str, b: str) -> bool:
    """The two texts are the same but for white space between what is not white space."""
    return _SPACE.sub("", a) == _SPACE.sub("", b)


def _runs(text: str) -> list[tuple[int, str]]:
    """Each run of white space with the number of other characters before it."""
    out = []
    taken = 0
    for m in _SPACE.finditer(text):
        s, e = m.span()
        out.append((s - taken, m.group(0)))
        taken += e - s
    return out


# -- the layout ---------------------------------------------------------------------------------
def _breaks(text: str, start: int, end: int) -> int:
    """How many line breaks text[start:end] holds."""
    n = text.count("\n", start, end)
    if text.find("\r", start, end) >= 0:
        n += text.count("\r", start, end) - text.count("\r\n", start, end)
    return n


#: Attributes written as the formatter writes them: one space before each, none around `=`.
_LOOSE = re.compile(r"[\t\r\n]|  | =|= ")


class _Formatter:
    def __init__(self, text: str, options: FormatOptions, newline: str):
        self.text = text
        self.options = options
        self.newline = newline
        self.key = (options, newline)

    def width_of(self, line: str) -> int:
        if "\t" not in line:
            return len(line)
        return len(line) + line.count("\t") * (self.options.tab_size - 1)

    def sequence(self, nodes: list[Node], level: int, lines: list[str], parent: Element | None) -> None:
        """Lay out sibling nodes (the children of `parent`, or the document's top level) at
        `level`, the first on a new line unless it is glued to the parent's start tag."""
        text = self.text
        indent = self.options.indent * level
        gap = -1  # line breaks before the next node (-1: nothing is between it and what it follows)
        prev_glues = False  # the node before is a comment or processing instruction
        first = True
        for node in nodes:
            kind = node.kind
            if kind == "text":
                start, end = node.start, node.end
                gap = max(gap, 0) + (_breaks(text, start, end) if end > start else 0)
                continue
            glues = kind == "comment" or kind == "pi"
            # on the line of what it follows (the node before, or the parent's start tag)
            same_line = gap <= 0 and not (first and parent is None)
            if same_line and (glues or prev_glues):
                if gap == 0:
                    lines[-1] += " "
            else:
                if not first and gap >= 2:
                    lines.append("")  # one blank line for a group of them
                if first and parent is None:
                    lines[-1] = indent
                else:
                    lines.append(indent)
                if kind == "element":
                    self.element_on_its_line(node, level, lines)  # type: ignore[arg-type]
                    first, prev_glues, gap = False, False, -1
                    continue
            if kind == "element":
                self.element(node, level, lines)  # type: ignore[arg-type]
            else:
                self.verbatim(text[node.start : node.end], lines)
            first, prev_glues, gap = False, glues, -1

    def element_on_its_line(self, el: Element, level: int, lines: list[str]) -> None:
        block = el.block
        if level != 1 or block.item is not el:
            self.element(el, level, lines)
            return
        # a top-level element on a line of its own: its layout is kept on its block
        feats = block.features
        if feats is None:
            feats = block.features = {}
        kept = feats.get("format")
        if kept is None or kept[0] != self.key:
            part = [lines[-1]]
            self.element(el, level, part)
            kept = feats["format"] = (self.key, self.newline.join(part))
        lines[-1] = kept[1]

    def verbatim(self, raw: str, lines: list[str]) -> None:
        """Append text as written (its line breaks become the document's)."""
        if "\n" not in raw and "\r" not in raw:
            lines[-1] += raw
            return
        pieces = _BREAK.split(raw)
        lines[-1] += pieces[0]
        lines.extend(pieces[1:])

    def element(self, el: Element, level: int, lines: list[str]) -> None:
        self.start_tag(el, lines)
        if el.self_closing:
            return
        text = self.text
        nested = False
        for c in el.children:
            if c.kind == "text":
                if c.cdata or not _BLANK.fullmatch(text, c.start, c.end):  # type: ignore[attr-defined]
                    # text content: kept exactly as written
                    self.verbatim(text[el.block.start + el.tag_end : el.eblock.start + el.end_tag_s], lines)
                    lines[-1] += f"</{el.name}>"
                    return
            else:
                nested = True
        if nested:
            self.sequence(el.children, level + 1, lines, el)
            lines.append(self.options.indent * level)
        lines[-1] += f"</{el.name}>"

    def start_tag(self, el: Element, lines: list[str]) -> None:
        close = " />" if el.self_closing else ">"
        text = self.text
        bs = el.block.start
        if el._attrs is None and not _LOOSE.search(text, bs + el.a_s, bs + el.a_e):
            # the scanner's fast path, attributes already one space apart: the tag as written
            one_line = f"<{el.name}{text[bs + el.a_s : bs + el.a_e]}{close}"
            attrs = None
        else:
            attrs = self.attributes(el)
            one_line = f"<{el.name}" + "".join(" " + a for a in attrs) + close
        prefix = lines[-1]
        cut = prefix.rfind(self.newline)
        if cut >= 0:
            prefix = prefix[cut + len(self.newline) :]
        if self.width_of(prefix) + len(one_line) <= self.options.width or "\t" in one_line:
            self.verbatim(one_line, lines)
            return
        if attrs is None:
            attrs = self.attributes(el)
        if len(attrs) < 2:
            self.verbatim(one_line, lines)
            return
        # one attribute per line, aligned under the first
        head = f"<{el.name}"
        lead = prefix[: len(prefix) - len(prefix.lstrip(" \t"))]
        align = lead + " " * (len(prefix) - len(lead) + len(head) + 1)
        self.verbatim(f"{head} {attrs[0]}", lines)
        for a in attrs[1:]:
            lines.append(align)
            self.verbatim(a, lines)
        lines[-1] += close

    def attributes(self, el: Element) -> list[str]:
        """Each attribute as `name="value"`: the value and its quotes exactly as written."""
        text = self.text
        bs = el.block.start
        if el._attrs is None:  # the scanner's fast path: read them from the tag, without Attribute objects
            out = []
            for m in FAST_ATTR.finditer(text, bs + el.a_s, bs + el.a_e):
                if m.group(2) is not None:
                    out.append(f'{m.group(1)}="{m.group(2)}"')
                else:
                    out.append(f"{m.group(1)}='{m.group(3)}'")
            return out
        out = []
        for a in el._attrs:
            quote = text[bs + a.vs - 1]
            out.append(f"{a.name}={quote}{text[bs + a.vs : bs + a.ve]}{quote}")
        return out
