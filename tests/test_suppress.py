"""Suppression comments and code selection (`sdf_lsp.suppress`), on real analyses."""

from __future__ import annotations

import pytest

from sdf_lsp.analysis import analyse
from sdf_lsp.diagnostics import ERROR, WARNING
from sdf_lsp.model.lower import Context
from sdf_lsp.suppress import NO_RULES, Rules, Selection, apply, is_selector, parse_selectors, specificity
from sdf_lsp.target.load import default_target

CTX = Context(default_target())
PD = '<protection_domain name="p"><program_image path="p.elf" /><map mr="m" vaddr="0x2000000" /></protection_domain>'


def codes_of(text: str, rules: Rules = NO_RULES) -> list[str]:
    a = analyse(text, CTX)
    return [d.code for d in apply(a.doc, a.lines, a.diagnostics, rules)]


def system(*body: str) -> str:
    return "<system>\n" + "\n".join(body) + "\n</system>\n"


UNUSED = '    <memory_region name="unused" size="0x1000" />'  # MK-W1 (a warning, as upstream)


def test_the_region_warns_without_a_comment():
    assert codes_of(system(PD, '<memory_region name="m" size="0x1000" />', UNUSED)) == ["MK-W1"]


@pytest.mark.parametrize(
    "lines",
    [
        ["    <!-- sdf-lsp: ignore MK-W1 -->", UNUSED],  # the line before
        ["    <!-- sdf-lsp: ignore MK-W1 -->", "    <!-- another comment -->", UNUSED],  # comments between
        [UNUSED + " <!-- sdf-lsp: ignore MK-W1 -->"],  # after it on its line
        ['    <!-- sdf-lsp: ignore MK-W1 --><memory_region name="unused" size="0x1000" />'],  # right before it
        ["    <!-- sdf-lsp: ignore MK-W1,MK-R7 -->", UNUSED, "<!-- sdf-lsp: ignore-file MK-R7 -->"],
        ["    <!-- sdf-lsp: ignore MK- -->", UNUSED],  # a prefix
        ["<!-- sdf-lsp: ignore-file MK-W1 -->", UNUSED],
    ],
)
def test_a_comment_silences_the_code_on_its_element(lines):
    got = codes_of(system(PD, '<memory_region name="m" size="0x1000" />', *lines))
    assert "MK-W1" not in got
    assert [c for c in got if c != "SUP001"] == []


def test_a_comment_applies_to_its_element_only():
    text = system(
        PD,
        '<memory_region name="m" size="0x1000" />',
        "    <!-- sdf-lsp: ignore MK-W1 -->",
        UNUSED,
        '    <memory_region name="unused2" size="0x1000" />',
    )
    assert codes_of(text) == ["MK-W1"]


def test_a_comment_after_a_start_tag_applies_to_that_element():
    text = system(
        '<protection_domain name="p"> <!-- sdf-lsp: ignore MK-MAP1 -->',
        '    <program_image path="p.elf" /><map mr="nope" vaddr="0x2000000" />',
        "</protection_domain>",
    )
    assert codes_of(text) == []


def test_a_suppression_that_silences_nothing_is_a_warning():
    text = system(PD, '<memory_region name="m" size="0x1000" />', "    <!-- sdf-lsp: ignore MK-R7 -->", UNUSED)
    a = analyse(text, CTX)
    got = apply(a.doc, a.lines, a.diagnostics)
    assert [d.code for d in got] == ["SUP001", "MK-W1"]
    sup = got[0]
    assert sup.severity == WARNING and text[sup.span.start : sup.span.end] == "MK-R7"
    assert "silences nothing" in sup.message


def test_an_unknown_code_and_a_malformed_directive_are_warnings():
    text = system(PD, '<memory_region name="m" size="0x1000" />', "<!-- sdf-lsp: ignore NOPE42 -->", UNUSED)
    assert codes_of(text) == ["SUP002", "MK-W1"]
    assert codes_of(
        system(PD, '<memory_region name="m" size="0x1000" />', "<!-- sdf-lsp: ignroe MK-W1 -->", UNUSED)
    ) == [
        "SUP003",
        "MK-W1",
    ]
    assert codes_of(system("<!-- sdf-lsp: ignore -->", PD, '<memory_region name="m" size="0x1000" />')) == ["SUP003"]


def test_an_error_can_be_silenced():
    text = system("<!-- sdf-lsp: ignore MK-MAP1 -->", PD)
    a = analyse(text, CTX)
    assert [d.code for d in a.errors] == ["MK-MAP1"]  # the analysis keeps it: the build still fails
    assert apply(a.doc, a.lines, a.diagnostics) == []


def test_comments_about_something_else_are_left_alone():
    text = system("<!-- see sdf-lsp: the docs -->", "<!-- plain -->", PD, '<memory_region name="m" size="0x1000" />')
    assert codes_of(text) == []


def test_selectors_codes_and_prefixes():
    assert is_selector("MK-W1") and is_selector("MK-") and is_selector("UT") and not is_selector("ZZ9")
    assert specificity("MK-G1", "MK-G1") > specificity("MK-G", "MK-G1") > specificity("MK-", "MK-G1") >= 0
    assert specificity("MK-G1", "MK-G10") == -1  # a whole code matches only itself
    assert parse_selectors(["MK-W1,UT", " CS011 "]) == ("MK-W1", "UT", "CS011")


def test_rules_layers_and_severities():
    text = system(PD, '<memory_region name="m" size="0x1000" />', UNUSED)
    assert codes_of(text, Rules((Selection(None, ("MK-",)),))) == []
    assert codes_of(text, Rules((Selection(("UT",), ()),))) == []
    # a more specific select wins over a broader ignore; a later layer wins over an earlier one
    assert codes_of(text, Rules((Selection(("MK-W1",), ("MK-",)),))) == ["MK-W1"]
    assert codes_of(text, Rules((Selection(None, ("MK-W1",)), Selection(("MK-",), ())))) == ["MK-W1"]
    a = analyse(text, CTX)
    [d] = apply(a.doc, a.lines, a.diagnostics, Rules(severity=(("MK-", WARNING), ("MK-W1", ERROR))))
    assert d.code == "MK-W1" and d.severity == ERROR
    assert a.diagnostics[0].severity == WARNING  # the analysis is not changed
