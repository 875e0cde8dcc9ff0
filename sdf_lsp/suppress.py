"""Which diagnostics a user sees: suppression comments, code selection and severity overrides.

Applied once, after the analysis, by the command line, the server and the build alike; the
checks themselves never look at it. Two sources:

* comments in the SDF: `<!-- sdf-lsp: ignore CODE[,CODE] -->` silences those codes on the
  next element and everything inside it (or, written after an element on the same line, on
  that element; after a start tag on its line, on that element), and
  `<!-- sdf-lsp: ignore-file CODE[,CODE] -->` anywhere silences them in the whole file. A
  suppression that silences nothing is a warning (`SUP001`), so is a code that names no
  diagnostic (`SUP002`) and a malformed directive (`SUP003`);
* `Rules`: `select`/`ignore` code selectors and per-code severities, from `sdf-lsp.toml` and
  the command line.

A selector is a code (`MK-W1`) or, when it is not a whole code, a prefix of codes (`MK-`,
`UT`), as ruff reads its rule selectors; the most specific selector that matches decides.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sdf_lsp.codes import CODES
from sdf_lsp.diagnostics import ERROR, HINT, INFORMATION, UNNECESSARY, WARNING, Diagnostic
from sdf_lsp.syntax.lines import LineIndex
from sdf_lsp.syntax.scanner import Document
from sdf_lsp.syntax.tree import Element, Node

#: What marks a suppression comment (checked in the text first: most files have none).
MARK = "sdf-lsp:"
UNUSED = "SUP001"
UNKNOWN_CODE = "SUP002"
MALFORMED = "SUP003"
SUPPRESSION_CODES = (UNUSED, UNKNOWN_CODE, MALFORMED)

#: Severity names a user may write (`information` is also `info`).
SEVERITIES = {"error": ERROR, "warning": WARNING, "information": INFORMATION, "info": INFORMATION, "hint": HINT}

_DIRECTIVE = re.compile(r"\s*sdf-lsp:\s*(?P<word>[\w-]*)(?P<rest>.*)", re.S)
_CODE = re.compile(r"[^\s,]+")


def is_selector(selector: str) -> bool:
    """A known code, or a prefix of at least one."""
    return selector in CODES or any(code.startswith(selector) for code in CODES)


def specificity(selector: str, code: str) -> int:
    """How closely `selector` names `code`: -1 when it does not match; a whole code matches only itself."""
    if selector == code:
        return len(selector) + 1  # the code itself beats any prefix of it
    if selector in CODES or not code.startswith(selector):
        return -1
    return len(selector)


def _best(selectors: Iterable[str], code: str) -> int:
    return max((specificity(s, code) for s in selectors), default=-1)


@dataclass(frozen=True)
class Selection:
    """One layer of `select` and `ignore` (the file's, then the command line's)."""

    select: tuple[str, ...] | None = None  # None: this layer selects nothing itself
    ignore: tuple[str, ...] = ()

    def decide(self, code: str) -> bool | None:
        """True: shown, False: hidden, None: this layer has nothing to say about `code`."""
        chosen = _best(self.select or (), code)
        hidden = _best(self.ignore, code)
        if hidden >= 0 and hidden >= chosen:
            return False
        if chosen >= 0:
            return True
        return False if self.select is not None else None


@dataclass(frozen=True)
class Rules:
    """Selection layers (later ones win) and severity overrides (the most specific selector wins)."""

    layers: tuple[Selection, ...] = ()
    severity: tuple[tuple[str, int], ...] = ()

    def shown(self, code: str) -> bool:
        shown = True
        for layer in self.layers:
            decision = layer.decide(code)
            if decision is not None:
                shown = decision
        return shown

    def severity_of(self, code: str, severity: int) -> int:
        best, chosen = -1, severity
        for selector, value in self.severity:
            s = specificity(selector, code)
            if s > best:
                best, chosen = s, value
        return chosen

    def then(self, other: Rules) -> Rules:
        """These rules with `other`'s on top (its selection applied after, its severities preferred)."""
        severity = dict(self.severity)
        severity.update(other.severity)
        return Rules(self.layers + other.layers, tuple(severity.items()))

    @property
    def empty(self) -> bool:
        return not self.layers and not self.severity


NO_RULES = Rules()


# ------------------------------------------------------------------------ comments


@dataclass
class _Code:
    code: str
    start: int  # the code's offsets in the text, for SUP001/SUP002
    end: int
    used: bool = False


@dataclass
class Suppression:
    """One `sdf-lsp: ignore` comment: what it silences, where (`region`; None: the whole file)."""

    comment: Node
    codes: list[_Code]
    region: tuple[int, int] | None
    whole_file: bool = False
    problems: list[Diagnostic] = field(default_factory=list)

    def covers(self, offset: int) -> bool:
        if self.whole_file:
            return True
        return self.region is not None and self.region[0] <= offset < self.region[1]


def _comment_at(doc: Document, offset: int) -> Node | None:
    """The comment holding `offset`, if any (descends from the block that holds it)."""
    block = doc.block_at(offset)
    nodes: Sequence[Node] = [block.item] if block.kind == "item" and block.item is not None else doc.nodes
    while True:
        hit = next((n for n in nodes if n.start <= offset < n.end), None)
        if hit is None:
            return None
        if hit.kind == "comment":
            return hit
        if not isinstance(hit, Element):
            return None
        nodes = hit.children


def _siblings(doc: Document, node: Node) -> list[Node]:
    parent = getattr(node, "parent", None)  # set by the scanner on every node
    return parent.children if isinstance(parent, Element) else doc.nodes


def _is_blank(node: Node) -> bool:
    return node.kind == "text" and node.is_blank  # type: ignore[attr-defined]


def _target(doc: Document, lines: LineIndex, comment: Node) -> Element | None:
    """The element an `ignore` comment applies to (see the module docstring)."""
    siblings = _siblings(doc, comment)
    i = next(k for k, n in enumerate(siblings) if n is comment)
    line = lines.line_of(comment.start)
    after = next((n for n in siblings[i + 1 :] if not _is_blank(n) and n.kind != "comment"), None)
    before = next((n for n in reversed(siblings[:i]) if not _is_blank(n)), None)
    if isinstance(after, Element) and lines.line_of(after.start) == lines.line_of(comment.end):
        return after  # `<!-- sdf-lsp: ignore X --><el/>`: the element right after it
    if isinstance(before, Element) and lines.line_of(before.end) == line:
        return before  # `<el/> <!-- sdf-lsp: ignore X -->`
    parent = getattr(comment, "parent", None)
    if before is None and isinstance(parent, Element) and lines.line_of(parent.block.start + parent.tag_end) == line:
        return parent  # `<protection_domain ...> <!-- sdf-lsp: ignore X -->`
    if before is not None and lines.line_of(before.end) == line:
        return None  # follows something that is not an element on its line
    return after if isinstance(after, Element) else None


def suppressions(doc: Document, lines: LineIndex) -> list[Suppression]:
    """Every `sdf-lsp:` comment of the document, in order."""
    text = doc.text
    out: list[Suppression] = []
    seen: set[int] = set()
    at = text.find(MARK)
    while at >= 0:
        comment = _comment_at(doc, at)
        if comment is not None and id(comment) not in seen:
            seen.add(id(comment))
            s = _parse(doc, lines, comment)
            if s is not None:
                out.append(s)
        at = text.find(MARK, at + len(MARK))
    return out


def _parse(doc: Document, lines: LineIndex, comment: Node) -> Suppression | None:
    body: str = comment.value  # type: ignore[attr-defined]
    m = _DIRECTIVE.match(body)
    if m is None:
        return None  # `sdf-lsp:` somewhere inside a comment about something else
    base = comment.start + 4  # after `<!--`
    word, rest = m["word"], m["rest"]
    rest_at = base + m.start("rest")
    span = doc.span(comment.start, comment.end)
    if word not in ("ignore", "ignore-file"):
        d = Diagnostic(
            span,
            WARNING,
            MALFORMED,
            f"unknown sdf-lsp directive '{word}': expected 'ignore CODE[,CODE]' or 'ignore-file CODE[,CODE]'",
        )
        return Suppression(comment, [], None, problems=[d])
    codes = [_Code(c.group(), rest_at + c.start(), rest_at + c.end()) for c in _CODE.finditer(rest)]
    if not codes:
        d = Diagnostic(
            span, WARNING, MALFORMED, f"'sdf-lsp: {word}' names no code: write 'sdf-lsp: {word} CODE[,CODE]'"
        )
        return Suppression(comment, [], None, problems=[d])
    problems = []
    known = []
    for c in codes:
        if is_selector(c.code):
            known.append(c)
        else:
            problems.append(
                Diagnostic(doc.span(c.start, c.end), WARNING, UNKNOWN_CODE, f"unknown diagnostic code '{c.code}'")
            )
    if word == "ignore-file":
        return Suppression(comment, known, None, whole_file=True, problems=problems)
    target = _target(doc, lines, comment)
    region = (target.start, target.end) if target is not None else None
    return Suppression(comment, known, region, problems=problems)


# ------------------------------------------------------------------------ the filter


def _copy(d: Diagnostic, severity: int) -> Diagnostic:
    return Diagnostic(d.span, severity, d.code, d.message, d.related, d.tags, d.data)


def apply(
    doc: Document | None, lines: LineIndex | None, diagnostics: Sequence[Diagnostic], rules: Rules = NO_RULES
) -> list[Diagnostic]:
    """The diagnostics a user sees, in position order: the suppression comments of `doc` (with
    their own warnings), then `rules`. Returns the input list unchanged when nothing applies."""
    found = suppressions(doc, lines) if doc is not None and lines is not None and MARK in doc.text else []
    if not found and rules.empty:
        return list(diagnostics)
    kept: list[Diagnostic] = []
    for d in diagnostics:
        silenced = False
        for s in found:
            if not s.covers(d.span.start):
                continue
            for c in s.codes:
                if specificity(c.code, d.code) >= 0:
                    c.used = True
                    silenced = True
        if not silenced:
            kept.append(d)
    extra: list[Diagnostic] = []
    for s in found:
        extra.extend(s.problems)
        for c in s.codes:
            if c.used:
                continue
            where = "in this file" if s.whole_file else "on the element it applies to"
            if not s.whole_file and s.region is None:
                where = "(it applies to no element: put it on the line before one, or after one on its line)"
            extra.append(
                Diagnostic(
                    doc.span(c.start, c.end),  # type: ignore[union-attr]
                    WARNING,
                    UNUSED,
                    f"'sdf-lsp: ignore' of '{c.code}' silences nothing: no {c.code} diagnostic {where}",
                    tags=(UNNECESSARY,),
                )
            )
    if extra:
        kept = sorted([*kept, *extra], key=lambda d: (d.span.start, d.span.end))
    if rules.empty:
        return kept
    out = []
    for d in kept:
        if not rules.shown(d.code):
            continue
        severity = rules.severity_of(d.code, d.severity)
        out.append(d if severity == d.severity else _copy(d, severity))
    return out


def parse_selectors(values: Iterable[str]) -> tuple[str, ...]:
    """`CODE[,CODE]` arguments (repeatable) as one tuple of selectors."""
    return tuple(s for v in values for s in (p.strip() for p in v.split(",")) if s)


__all__ = [
    "NO_RULES",
    "SEVERITIES",
    "SUPPRESSION_CODES",
    "Rules",
    "Selection",
    "Suppression",
    "apply",
    "is_selector",
    "parse_selectors",
    "specificity",
    "suppressions",
]
