"""No label the editor shows says `None`: outline, inlay hints and hovers of half-typed
documents (every attribute value of the examples emptied in turn, and a truncated end)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sdf_lsp.analysis import analyse
from sdf_lsp.ide import hover, outline, symbols
from sdf_lsp.model.lower import Context
from sdf_lsp.target import default_target

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(ROOT.glob("examples/*/*.system"))
NONE = re.compile(r"\bNone\b")


def variants(text: str):
    """The text itself, each attribute value emptied, and each `<end ...>` cut after `pd="`."""
    yield text
    for m in re.finditer(r'="([^"]*)"', text):
        yield text[: m.start(1)] + text[m.end(1) :]
    for m in re.finditer(r'<end pd="', text):
        yield text[: m.end()] + '">' + text[m.end() :]


def labels(analysis) -> list[str]:
    out = []

    def walk(sym):
        out.extend([sym.name, sym.detail])
        for c in sym.children:
            walk(c)

    for sym in outline.document_symbols(analysis.doc):
        walk(sym)
    out.extend(h.label for h in symbols.inlay_hints(analysis, 0, len(analysis.lines.text)))
    return out


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_no_none_in_outline_and_inlay_hints(path):
    ctx = Context(default_target())
    for text in variants(path.read_text()):
        a = analyse(text, ctx)
        bad = [label for label in labels(a) if NONE.search(label or "")]
        assert not bad, (bad, text)


def test_half_typed_channel_end_in_outline():
    text = (
        '<system><protection_domain name="a"><program_image path="a.elf"/></protection_domain>'
        '<channel><end pd="" id="1"/><end pd="a"/></channel></system>'
    )
    a = analyse(text, Context(default_target()))
    names = [s.name for s in outline.document_symbols(a.doc)]
    assert "?:1 ↔ a:?" in names, names


@pytest.mark.parametrize("path", EXAMPLES[:1], ids=lambda p: p.name)
def test_no_none_in_hovers(path):
    ctx = Context(default_target())
    for text in list(variants(path.read_text()))[::7]:
        a = analyse(text, ctx)
        for m in re.finditer(r"<(\w+)|\s(\w+)=", text):
            found = hover.hover(a, m.start() + 2)
            if found is not None:
                assert not NONE.search(found[0]), (found[0], text)
