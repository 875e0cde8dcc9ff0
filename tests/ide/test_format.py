"""The formatter, in-process: layout rules, what it never rewrites, refusals and edits."""

from __future__ import annotations

import textwrap

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sdf_lsp.ide.format import (
    FormatOptions,
    FormatRefused,
    edits_in_range,
    format_text,
    same_but_space,
    text_edits,
)

from .fixture import ROOT_EXAMPLES, apply_edits, diagnostics_of


def fmt(text: str, **kw) -> str:
    return format_text(textwrap.dedent(text).lstrip("\n"), FormatOptions(**kw) if kw else FormatOptions())


def test_one_element_per_line_one_indent_step_per_level():
    out = fmt("""
        <?xml version="1.0"?>
        <system><memory_region name="a" size="0x1000"/><protection_domain name="p" priority="1">
              <program_image path="p.elf"/>
        <map mr="a" vaddr="0x200000"    perms="rw"/></protection_domain></system>
    """)
    assert out == textwrap.dedent("""\
        <?xml version="1.0"?>
        <system>
            <memory_region name="a" size="0x1000" />
            <protection_domain name="p" priority="1">
                <program_image path="p.elf" />
                <map mr="a" vaddr="0x200000" perms="rw" />
            </protection_domain>
        </system>
    """)
    assert format_text(out) == out


def test_values_quotes_and_numbers_are_never_rewritten():
    out = fmt("""
        <system>
          <memory_region name = 'a'   size="0x1_000" phys_addr="4096"/>
          <protection_domain name="p&amp;q" priority=" 7 "><program_image path='x y.elf'/></protection_domain>
        </system>
    """)
    assert '<memory_region name=\'a\' size="0x1_000" phys_addr="4096" />' in out
    assert '<protection_domain name="p&amp;q" priority=" 7 ">' in out
    assert "<program_image path='x y.elf' />" in out


def test_tabs_and_other_indent_widths():
    text = '<system><protection_domain name="p"><program_image path="p.elf"/></protection_domain></system>'
    assert format_text(text, FormatOptions.of(tab_size=2)).splitlines()[2] == '    <program_image path="p.elf" />'
    tabbed = format_text(text, FormatOptions.of(tab_size=8, insert_spaces=False))
    assert tabbed.splitlines()[1:3] == ['\t<protection_domain name="p">', '\t\t<program_image path="p.elf" />']


def test_long_tags_put_one_attribute_per_line_aligned_under_the_first():
    text = (
        '<system><protection_domain name="a_rather_long_name" priority="100" budget="2000" period="10000" '
        'passive="true" stack_size="0x4000"><program_image path="p.elf"/></protection_domain></system>'
    )
    out = format_text(text).splitlines()
    assert out[1] == '    <protection_domain name="a_rather_long_name"'
    assert out[2] == '                       priority="100"'
    assert out[6] == '                       stack_size="0x4000">'
    assert format_text(text, FormatOptions(width=200)).splitlines()[1].endswith('stack_size="0x4000">')
    # tabs count as tab_size columns for the width, and alignment keeps the tabs
    tabbed = format_text(text, FormatOptions.of(tab_size=4, insert_spaces=False, width=40)).splitlines()
    assert tabbed[1] == '\t<protection_domain name="a_rather_long_name"'
    assert tabbed[2] == "\t" + " " * 19 + 'priority="100"'
    # a single attribute never wraps
    one = format_text(f'<system><memory_region name="{"x" * 120}" /></system>').splitlines()[1]
    assert one == f'    <memory_region name="{"x" * 120}" />'


def test_blank_lines_between_elements_are_kept_at_most_one():
    out = fmt("""
        <system>


            <memory_region name="a" size="0x1000" />



            <memory_region name="b" size="0x1000" />
            <memory_region name="c" size="0x1000" />


        </system>
    """)
    assert out.splitlines() == [
        "<system>",
        '    <memory_region name="a" size="0x1000" />',
        "",
        '    <memory_region name="b" size="0x1000" />',
        '    <memory_region name="c" size="0x1000" />',
        "</system>",
    ]


def test_comments_stay_on_the_line_of_their_neighbours():
    out = fmt("""
        <!-- head -->
        <system> <!-- after the start tag -->
        <memory_region name="a" size="0x1000" />   <!-- sdf-lsp: ignore MK-W1 -->
        <!-- sdf-lsp: ignore UT012 --> <memory_region name="b" size="0x1000" />
          <!--
             a comment over
             several lines
          -->
        <protection_domain name="p"><!-- inside --><program_image path="p.elf" /></protection_domain>
        </system>
        <!-- tail -->
    """)
    assert out.splitlines() == [
        "<!-- head -->",
        "<system> <!-- after the start tag -->",
        '    <memory_region name="a" size="0x1000" /> <!-- sdf-lsp: ignore MK-W1 -->',
        '    <!-- sdf-lsp: ignore UT012 --> <memory_region name="b" size="0x1000" />',
        "    <!--",
        "     a comment over",
        "     several lines",
        "  -->",
        '    <protection_domain name="p"><!-- inside --><program_image path="p.elf" />',
        "    </protection_domain>",
        "</system>",
        "<!-- tail -->",
    ]
    assert format_text(out) == out


def test_text_content_is_kept_as_written():
    text = '<system>\n<memory_region name="a" size="0x1000">  some\n   text </memory_region>\n</system>\n'
    out = format_text(text)
    assert '    <memory_region name="a" size="0x1000">  some\n   text </memory_region>' in out
    cdata = "<system><channel><![CDATA[ ]]><end pd='a' id='0'/></channel></system>"
    assert "<channel><![CDATA[ ]]><end pd='a' id='0'/></channel>" in format_text(cdata)


def test_empty_elements_and_self_closing_tags():
    out = fmt("""
        <system>
            <channel>
            </channel>
            <cspace/>
        </system>
    """)
    assert out.splitlines()[1:3] == ["    <channel></channel>", "    <cspace />"]


def test_crlf_bom_and_declaration_are_kept():
    text = (
        '\ufeff<?xml version="1.0" encoding="UTF-8"?>\r\n<system>\r\n<memory_region name="ä" size="0x1000"/></system>'
    )
    out = format_text(text)
    assert out == (
        '\ufeff<?xml version="1.0" encoding="UTF-8"?>\r\n<system>\r\n'
        '    <memory_region name="ä" size="0x1000" />\r\n</system>\r\n'
    )


def test_multi_byte_names_count_as_one_column_each():
    name = "数据" * 20  # 40 characters, 120 UTF-8 bytes
    text = f'<system><protection_domain name="{name}" priority="10" budget="100"><program_image path="p" /></protection_domain></system>'
    assert format_text(text).splitlines()[1].endswith('budget="100">')  # 4 + 79 characters: fits in 100


@pytest.mark.parametrize(
    "text, problem",
    [
        ('<system><memory_region name="a" size="0x1000"></system>', "is not closed"),
        ('<system><memory_region name="a size="0x1000" /></system>', "quote"),
        ("<system><protection_domain name='p'>", "ends before"),
        ("", "empty"),
        ("<!DOCTYPE system><system/>", "DTD"),
    ],
)
def test_documents_with_syntax_errors_are_refused(text, problem):
    with pytest.raises(FormatRefused) as err:
        format_text(text)
    assert problem in err.value.message


def test_edits_replace_only_the_lines_that_change():
    old = '<system>\n    <memory_region name="a" size="0x1000"/>\n    <memory_region name="b" size="0x1000" />\n</system>\n'
    new = format_text(old)
    edits = text_edits(old, new)
    assert len(edits) == 1
    assert old[edits[0][0] : edits[0][1]] == '    <memory_region name="a" size="0x1000"/>\n'
    assert apply_edits(old, edits) == new
    assert text_edits(new, new) == []


def test_range_formatting_touches_only_the_lines_of_the_range():
    old = '<system>\n<memory_region name="a" size="0x1000"/>\n<memory_region name="b" size="0x1000"/>\n</system>\n'
    at = old.index('name="b"')
    edits = edits_in_range(old, format_text(old), at, at)
    assert apply_edits(old, edits) == (
        '<system>\n<memory_region name="a" size="0x1000"/>\n    <memory_region name="b" size="0x1000" />\n</system>\n'
    )


def test_examples_format_to_themselves_and_keep_their_diagnostics():
    for path in ROOT_EXAMPLES.rglob("*.system"):
        text = path.read_text()
        out = format_text(text)
        assert format_text(out) == out, path
        assert diagnostics_of(out) == diagnostics_of(text), path


# -- random layouts of one system ---------------------------------------------------------------
ECHO = (ROOT_EXAMPLES / "echo" / "echo_broken.system").read_text()
_SPACES = st.sampled_from(["", " ", "  ", "\n", "\n\n\n", "\t", "\r\n", " \n  "])


@given(st.data())
def test_any_layout_formats_to_a_fixed_point_with_the_same_diagnostics(data):
    # white space between tags and around attributes, chosen at random (never inside values)
    parts = ECHO.replace("> <", "><").split("><")
    out = []
    for i, part in enumerate(parts):
        if i:
            out.append(">" + data.draw(_SPACES) + "<")
        out.append(part.replace('" ', '"' + data.draw(st.sampled_from([" ", "  ", "\n\t", " \r\n "]))))
    text = "".join(out)
    formatted = format_text(text)
    assert format_text(formatted) == formatted
    assert same_but_space(text, formatted)
    assert diagnostics_of(formatted) == diagnostics_of(text)
    assert apply_edits(text, text_edits(text, formatted)) == formatted
    # range formatting: the whole text gives the formatted text, a part of it a text that formats the same
    assert apply_edits(text, edits_in_range(text, formatted, 0, len(text))) == formatted
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, len(text)))
    part = apply_edits(text, edits_in_range(text, formatted, start, end))
    assert format_text(part) == formatted
    # the lines before the range are as they were (but for white space ending the one before it)
    before = text[: text.rfind("\n", 0, start) + 1].rstrip(" \t\r\n")
    assert part.startswith(before)
