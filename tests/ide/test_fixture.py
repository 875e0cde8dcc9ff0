"""The harness itself: markers, line ends, ranges shown as text, edits."""

import pytest

from .fixture import fixture, strip_markers, wrap


def test_markers_are_removed_and_give_offsets():
    assert strip_markers("ab$0cd") == ("abcd", 2, None)
    assert strip_markers("a$0bc$1d") == ("abcd", 1, 3)
    assert strip_markers("abcd") == ("abcd", None, None)
    with pytest.raises(AssertionError):
        strip_markers("a$0b$0c")
    with pytest.raises(AssertionError):
        strip_markers("a$1b")


def test_the_document_is_dedented_and_analysed_with_the_default_target():
    f = fixture(
        """
        <system>
            <memory_region name="m$0" size="0x1000" />
        </system>
        """
    )
    assert f.text.startswith("<system>\n    <memory_region")
    assert f.text[f.at - 1 : f.at + 1] == 'm"'
    assert f.analysis.ctx.target.label == "qemu_virt_aarch64 (release)"
    assert f.analysis.ctx.dialect == "extended"
    assert fixture("<system/>", dialect="microkit-2.3", board="x86_64_generic").analysis.ctx.target.arch == "x86_64"


def test_crlf_turns_every_line_end_and_keeps_offsets():
    f = fixture('<system>\n    <memory_region name="m$0" />\n</system>\n', crlf=True)
    assert f.text.count("\r\n") == 3 and "\n" not in f.text.replace("\r\n", "")
    assert f.text[f.at - 1] == "m"
    assert f.line_of(f.at) == 1


def test_marked_lines_and_apply():
    f = wrap('<memory_region name="a" size="0x1000" />\n<memory_region name="b" size="0x1000" />')
    a, b = f.offset_of('"a"', 1), f.offset_of('"b"', 1)
    assert f.marked_lines([(b, b + 1), (a, a + 1), (a, a + 1)]) == [
        '<memory_region name="«a»" size="0x1000" />',
        '<memory_region name="«b»" size="0x1000" />',
    ]
    assert f.marked_lines([(a, a)]) == ['<memory_region name="«»a" size="0x1000" />']
    assert f.apply([(b, b + 1, "bee"), (a, a + 1, "ay")]).count('"ay"') == 1
    with pytest.raises(AssertionError):
        f.apply([(a, a + 5, "x"), (a + 1, a + 2, "y")])


def test_the_selection_defaults_to_the_cursor():
    assert wrap("$0").selection == (13, 13)  # after `<system>` and the indent
    f = wrap("$0<memory_region name='a' />$1")
    assert f.covered(*f.selection) == "<memory_region name='a' />"
