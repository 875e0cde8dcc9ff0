"""A document with a cursor, analysed in-process, for testing the editor features.

A test writes the document with markers: `$0` is the cursor, `$0`...`$1` a selection.
`fixture()` removes them, analyses the text (by default on `qemu_virt_aarch64` release in
the extended dialect, as the server does without settings) and keeps the offsets, so a
test calls a feature at the cursor and compares its answer:

    f = fixture('<system><memory_region name="b$0uf" size="0x1000" /></system>')
    text, covered = f.hover()

Ranges in answers are compared as text: `covered` is the text a range spans, and
`marked_lines` shows every line holding a range with the range in «».
"""

from __future__ import annotations

import functools
import textwrap
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lsprotocol import types as lsp

from sdf_lsp import suppress
from sdf_lsp.analysis import Analysis, analyse
from sdf_lsp.diagnostics import Diagnostic
from sdf_lsp.files import SearchPathFiles
from sdf_lsp.ide import actions, completion, hover, navigation
from sdf_lsp.ide.env import Environment
from sdf_lsp.ide.outline import Symbol, document_symbols
from sdf_lsp.ide.symbols import Hint, inlay_hints
from sdf_lsp.model.lower import Context
from sdf_lsp.target.load import builtin_target
from sdf_lsp.target.model import Target

CURSOR, SELECTION_END = "$0", "$1"
OPEN, CLOSE = "«", "»"


@functools.cache
def target(board: str = "qemu_virt_aarch64", config: str = "release") -> Target:
    return builtin_target(board, config)


@dataclass
class Fixture:
    text: str
    cursor: int | None
    selection_end: int | None
    analysis: Analysis
    env: Environment
    paths: list[str] = field(default_factory=list)

    # -- positions ---------------------------------------------------------------------
    @property
    def at(self) -> int:
        assert self.cursor is not None, "the document has no $0 marker"
        return self.cursor

    @property
    def selection(self) -> tuple[int, int]:
        return self.at, self.selection_end if self.selection_end is not None else self.at

    def covered(self, start: int, end: int) -> str:
        assert 0 <= start <= end <= len(self.text), (start, end)
        return self.text[start:end]

    def offset_of(self, needle: str, delta: int = 0, nth: int = 0) -> int:
        at = -1
        for _ in range(nth + 1):
            at = self.text.index(needle, at + 1)
        return at + delta

    def line_of(self, offset: int) -> int:
        return self.analysis.lines.line_of(offset)

    def marked_lines(self, ranges: Iterable[Sequence[int]]) -> list[str]:
        """Every line that holds a range, stripped, with each range between « and »."""
        text = self.text
        spans = sorted({(r[0], r[1]) for r in ranges})
        inserts: dict[int, list[tuple[int, int, str]]] = {}
        for s, e in spans:
            assert 0 <= s <= e <= len(text), (s, e)
            marks = [(s, 1, OPEN + CLOSE)] if s == e else [(s, 2, OPEN), (e, 0, CLOSE)]
            inserts.setdefault(self.line_of(s), []).extend(marks)
        lines = self.analysis.lines
        out = []
        for line in sorted(inserts):
            start = lines.starts[line]
            end = lines.starts[line + 1] if line + 1 < len(lines.starts) else len(text)
            chunk = text[start:end]
            for off, _, mark in sorted(inserts[line], key=lambda t: (t[0], t[1]), reverse=True):
                chunk = chunk[: off - start] + mark + chunk[off - start :]
            out.append(chunk.strip())
        return out

    def apply(self, edits: Iterable[tuple[int, int, str]]) -> str:
        """The text after edits (start, end, new text), which must not overlap."""
        text = self.text
        last = len(text) + 1
        for s, e, new in sorted(edits, key=lambda t: (t[0], t[1]), reverse=True):
            assert s <= e <= last, f"overlapping edits at {s}..{e}"
            text = text[:s] + new + text[e:]
            last = s
        return text

    # -- diagnostics ---------------------------------------------------------------------
    def diagnostics(self, code: str | None = None) -> list[Diagnostic]:
        return [d for d in self.analysis.diagnostics if code is None or d.code == code]

    def codes(self) -> set[str]:
        return {d.code for d in self.analysis.diagnostics}

    def diagnostic(self, code: str) -> Diagnostic:
        found = self.diagnostics(code)
        assert found, f"no {code} among {sorted(self.codes())}"
        return found[0]

    # -- features at the cursor ------------------------------------------------------------
    def hover(self) -> tuple[str, str] | None:
        """(Markdown, the text the hover's range covers)."""
        found = hover.hover(self.analysis, self.at, self.env)
        if found is None:
            return None
        text, (s, e) = found
        return text, self.covered(s, e)

    def hover_text(self) -> str:
        found = self.hover()
        assert found is not None, "no hover"
        return found[0]

    def completion(self, snippets: bool = True, encoding: str = "utf-16") -> list[lsp.CompletionItem]:
        return completion.completion(self.analysis, self.at, self.env, encoding=encoding, snippets=snippets)

    def labels(self, **kw) -> list[str]:
        return [i.label for i in self.completion(**kw)]

    def item(self, label: str, **kw) -> lsp.CompletionItem:
        items = self.completion(**kw)
        for i in items:
            if i.label == label:
                return i
        raise AssertionError(f"no completion {label!r} among {[i.label for i in items]}")

    def edit_range(self, item: lsp.CompletionItem, encoding: str = "utf-16") -> str:
        """The text a completion item's edit replaces."""
        assert isinstance(item.text_edit, lsp.TextEdit)
        r = item.text_edit.range
        lines = self.analysis.lines
        s = lines.offset(r.start.line, r.start.character, encoding)
        e = lines.offset(r.end.line, r.end.character, encoding)
        return self.covered(s, e)

    def definition(self) -> list[navigation.Target]:
        return navigation.definition(self.analysis, self.at, self.env)

    def references(self, include_declaration: bool = True) -> list[tuple[int, int]]:
        return navigation.references(self.analysis, self.at, include_declaration)

    def highlights(self) -> list[tuple[int, int, bool]]:
        return navigation.highlights(self.analysis.doc, self.at)

    def rename(self, new_name: str) -> str:
        return self.apply(navigation.rename(self.analysis, self.at, new_name))

    def fixes(self) -> list[actions.Fix]:
        return actions.quick_fixes(self.analysis, *self.selection)

    def symbols(self) -> list[Symbol]:
        return document_symbols(self.analysis.doc)

    def hints(self, start: int = 0, end: int | None = None) -> list[Hint]:
        return inlay_hints(self.analysis, start, len(self.text) if end is None else end)


def strip_markers(marked: str) -> tuple[str, int | None, int | None]:
    cursor = marked.find(CURSOR)
    text = marked.replace(CURSOR, "", 1) if cursor >= 0 else marked
    end = text.find(SELECTION_END)
    text = text.replace(SELECTION_END, "", 1) if end >= 0 else text
    assert CURSOR not in text and SELECTION_END not in text, "one $0 and at most one $1"
    assert end < 0 or cursor >= 0, "$1 needs a $0 before it"
    return text, (cursor if cursor >= 0 else None), (end if end >= 0 else None)


def fixture(
    marked: str,
    *,
    board: str = "qemu_virt_aarch64",
    config: str = "release",
    dialect: str = "extended",
    paths: Sequence[str | Path] = (),
    crlf: bool = False,
    dedent: bool = True,
) -> Fixture:
    """Analyse `marked` (dedented, first blank line dropped; `crlf` turns line ends into CRLF)
    with files and program images found on `paths`, as the server does for a document."""
    if dedent:
        marked = textwrap.dedent(marked).removeprefix("\n")
    if crlf:
        marked = marked.replace("\r\n", "\n").replace("\n", "\r\n")
    text, cursor, end = strip_markers(marked)
    search = [str(p) for p in paths]
    ctx = Context(target(board, config), dialect)
    analysis = analyse(text, ctx, SearchPathFiles(search))
    return Fixture(text, cursor, end, analysis, Environment(search), search)


def wrap(body: str, **kw) -> Fixture:
    """`body` inside `<system>` (indented by four spaces)."""
    inner = textwrap.indent(textwrap.dedent(body).strip("\n"), "    ")
    return fixture(f"<system>\n{inner}\n</system>\n", **kw)


ROOT_EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def apply_edits(text: str, edits: Iterable[tuple[int, int, str]]) -> str:
    """`text` after non-overlapping edits (start, end, new text)."""
    last = len(text) + 1
    for s, e, new in sorted(edits, key=lambda t: (t[0], t[1]), reverse=True):
        assert s <= e <= last, f"overlapping edits at {s}..{e}"
        text = text[:s] + new + text[e:]
        last = s
    return text


def diagnostics_of(text: str, board: str = "qemu_virt_aarch64", dialect: str = "extended") -> Counter:
    """The (code, message) of every diagnostic a user sees of `text` (suppression comments applied)."""
    a = analyse(text, Context(target(board), dialect))
    return Counter((d.code, d.message) for d in suppress.apply(a.doc, a.lines, a.diagnostics, suppress.NO_RULES))
