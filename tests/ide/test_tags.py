"""Linked editing of tag names and selection ranges, in-process."""

from __future__ import annotations

import pytest

from sdf_lsp.ide.tags import linked_tag_names, selection_ranges

from .fixture import fixture, wrap


def linked(marked: str) -> list[str] | None:
    f = fixture(marked)
    pair = linked_tag_names(f.analysis.doc, f.at)
    return None if pair is None else f.marked_lines(pair)


@pytest.mark.parametrize(
    "marked",
    [
        "<system><chan$0nel><end pd='a' id='0' /></channel></system>",
        "<system><channel$0><end pd='a' id='0' /></channel></system>",
        "<system><$0channel><end pd='a' id='0' /></channel></system>",
        "<system><channel><end pd='a' id='0' /></chan$0nel></system>",
        "<system><channel><end pd='a' id='0' /></channel$0></system>",
    ],
)
def test_start_and_end_tag_names_are_linked(marked):
    assert linked(marked) == ["<system><«channel»><end pd='a' id='0' /></«channel»></system>"]


def test_an_end_tag_with_space_before_its_bracket():
    assert linked("<system><channel></chan$0nel  ></system>") == ["<system><«channel»></«channel»  ></system>"]


def test_the_root_across_lines_and_crlf():
    f = fixture("<sys$0tem>\n  <channel></channel>\n</system>\n", crlf=True)
    assert f.marked_lines(linked_tag_names(f.analysis.doc, f.at)) == ["<«system»>", "</«system»>"]


@pytest.mark.parametrize(
    "marked",
    [
        "<system><end$0 pd='a' id='0' /></system>",  # self-closing
        "<system><channel><end pd='a' id='0' />$0</channel></system>",  # content
        "<system><channel><end p$0d='a' id='0' /></channel></system>",  # an attribute
        "<system><channel><end pd='a' id='0' /><$0/channel></system>",  # `</`, not the name
        "<system><prot$0ection_domain name='p'></system>",  # no end tag (half-typed)
    ],
)
def test_nothing_is_linked_elsewhere(marked):
    assert linked(marked) is None


def test_multi_byte_tag_names():
    assert linked("<system><grö$0ße></größe></system>") == ["<system><«größe»></«größe»></system>"]


def chain(f) -> list[str]:
    return [f.covered(s, e) for s, e in selection_ranges(f.analysis.doc, f.at)]


def test_value_attribute_tag_element_and_up_to_system():
    f = wrap("""
        <protection_domain name="p">
            <map mr="bu$0f" vaddr="0x2000000" />
        </protection_domain>
    """)
    got = chain(f)
    assert got[:4] == ["buf", 'mr="buf"', '<map mr="buf" vaddr="0x2000000" />', got[3]]
    assert got[3].startswith('<protection_domain name="p">') and got[3].endswith("</protection_domain>")
    assert got[4].startswith("<system>") and got[4].endswith("</system>")
    assert len(got) == 5


def test_tag_names_attribute_names_end_tags_and_comments():
    f = wrap('<protection_domain name="p"><!-- a com$0ment --></protection_domain>')
    assert chain(f)[:2] == ["<!-- a comment -->", '<protection_domain name="p"><!-- a comment --></protection_domain>']
    f = wrap('<protection_domain na$0me="p"></protection_domain>')
    assert chain(f)[:3] == ["name", 'name="p"', '<protection_domain name="p">']
    f = wrap('<protection_domain name="p"></protection_do$0main>')
    assert chain(f)[:3] == ["protection_domain", "</protection_domain>", f.covered(*_element(f))]
    f = wrap('<memory_re$0gion name="m" size="0x1000" />')
    assert chain(f)[:2] == ["memory_region", '<memory_region name="m" size="0x1000" />']


def test_half_typed_documents_still_give_a_chain():
    f = fixture('<system>\n  <protection_domain name="p">\n    <map mr="$0\n')
    got = chain(f)
    assert got[-1].startswith("<system>") and got[-2].startswith("<protection_domain")
    assert all(len(a) <= len(b) for a, b in zip(got, got[1:], strict=False))


def test_outside_the_root():
    f = fixture("<!-- he$0ad -->\n<system />\n")
    assert chain(f) == ["<!-- head -->"]


def _element(f) -> tuple[int, int]:
    el = f.analysis.doc.root.elements[0]
    return el.start, el.end
