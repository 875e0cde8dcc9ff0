"""The formatter on every well-formed SDF of the shared corpus and the examples: the formatted
text formats to itself and has the same diagnostics (codes and messages) as the original."""

from __future__ import annotations

import pytest

from sdf_lsp.ide.format import FormatOptions, FormatRefused, edits_in_range, format_text, same_but_space
from sdf_lsp.syntax.scanner import parse
from tests.conftest import SHARED

from .fixture import ROOT_EXAMPLES, apply_edits, diagnostics_of

CORPORA = ("real", "microkit-examples", "generated")


def _files() -> list:
    out = [
        pytest.param(p, id=f"examples/{p.relative_to(ROOT_EXAMPLES)}") for p in sorted(ROOT_EXAMPLES.rglob("*.system"))
    ]
    for corpus in CORPORA:
        folder = SHARED / "corpus" / corpus
        out.extend(
            pytest.param(p, id=f"{corpus}/{p.relative_to(folder)}", marks=_slow(p))
            for p in sorted(folder.rglob("*.system"))
        )
    return out


def _slow(path) -> tuple:
    return (pytest.mark.slow,) if path.stat().st_size > 1 << 20 else ()


def test_the_corpus_is_there(shared):
    for corpus in CORPORA:
        assert any((shared / "corpus" / corpus).rglob("*.system")), corpus


@pytest.mark.parametrize("path", _files())
def test_formatting_keeps_the_meaning_and_is_idempotent(path):
    text = path.read_bytes().decode("utf-8", errors="replace")
    if parse(text).problems:
        with pytest.raises(FormatRefused):
            format_text(text)
        return
    out = format_text(text)
    assert format_text(out) == out
    assert same_but_space(text, out)  # only white space moves
    assert diagnostics_of(out) == diagnostics_of(text)
    if len(text) > 1 << 18:
        return  # the large generated systems: once is enough
    assert apply_edits(text, edits_in_range(text, out, 0, len(text))) == out
    # tabs and a narrow width: many tags wrap
    tabbed = format_text(text, FormatOptions.of(tab_size=2, insert_spaces=False, width=60))
    assert format_text(tabbed, FormatOptions.of(tab_size=2, insert_spaces=False, width=60)) == tabbed
    assert diagnostics_of(tabbed) == diagnostics_of(text)
