"""The "Silence CODE here / in this file" quick fix: the comment it inserts silences the code."""

from __future__ import annotations

from sdf_lsp.analysis import analyse
from sdf_lsp.ide.actions import silence
from sdf_lsp.model.lower import Context
from sdf_lsp.suppress import apply
from sdf_lsp.target.load import default_target

CTX = Context(default_target())
TEXT = (
    '<?xml version="1.0"?>\n'
    "<system>\n"
    '    <memory_region name="m" size="0x1000" />\n'
    '    <memory_region name="a" size="0x1000" /><memory_region name="b" size="0x1000" />\n'
    '    <protection_domain name="p"><program_image path="p.elf" /><map mr="m" vaddr="0x2000000" /></protection_domain>\n'
    "</system>\n"
)


def edited(text: str, fix) -> str:
    for start, end, new in sorted(fix.edits, reverse=True):
        text = text[:start] + new + text[end:]
    return text


def shown(text: str) -> list[str]:
    a = analyse(text, CTX)
    return [d.code for d in apply(a.doc, a.lines, a.diagnostics)]


def test_silence_here_on_its_own_line_and_inline():
    assert shown(TEXT) == ["MK-W1", "MK-W1"]
    a = analyse(TEXT, CTX)
    first, second = (d for d in a.diagnostics if d.code == "MK-W1")
    fix = silence(a, first.span.start, "MK-W1")
    assert fix.title == "Silence MK-W1 here"
    text = edited(TEXT, fix)
    assert '    <!-- sdf-lsp: ignore MK-W1 -->\n    <memory_region name="a"' in text
    assert shown(text) == ["MK-W1"]
    a = analyse(text, CTX)
    [left] = [d for d in apply(a.doc, a.lines, a.diagnostics) if d.code == "MK-W1"]
    text = edited(text, silence(a, left.span.start, "MK-W1"))
    assert '<!-- sdf-lsp: ignore MK-W1 --> <memory_region name="b"' in text  # not first on its line: right before it
    assert shown(text) == []


def test_a_second_code_joins_the_comment_there():
    text = TEXT.replace(
        '    <memory_region name="a"', '    <!-- sdf-lsp: ignore UT004 -->\n    <memory_region name="a"'
    )
    a = analyse(text, CTX)
    first = next(d for d in a.diagnostics if d.code == "MK-W1")
    text = edited(text, silence(a, first.span.start, "MK-W1"))
    assert "<!-- sdf-lsp: ignore UT004,MK-W1 -->" in text
    assert shown(text) == ["SUP001", "MK-W1"]  # UT004 silences nothing there


def test_silence_in_this_file():
    a = analyse(TEXT, CTX)
    first = next(d for d in a.diagnostics if d.code == "MK-W1")
    fix = silence(a, first.span.start, "MK-W1", whole_file=True)
    text = edited(TEXT, fix)
    assert text.startswith(
        '<?xml version="1.0"?>\n<!-- sdf-lsp: ignore-file MK-W1 -->\n<system>'
    )  # after the declaration
    assert shown(text) == []
    a = analyse(text, CTX)
    text = edited(text, silence(a, 0, "UT004", whole_file=True))
    assert "<!-- sdf-lsp: ignore-file MK-W1,UT004 -->" in text
