"""Semantic tokens, in-process: what each name is, positions in every encoding, and the pieces
kept per block staying right while edits move them."""

from __future__ import annotations

import textwrap

from hypothesis import given
from hypothesis import strategies as st

from sdf_lsp.ide import tokens
from sdf_lsp.ide.format import format_text
from sdf_lsp.syntax.lines import LineIndex
from sdf_lsp.syntax.scanner import parse, reparse

from .fixture import ROOT_EXAMPLES


def decoded(text: str, encoding: str = "utf-16", start: int = 0, end: int | None = None) -> list[tuple[str, str, set]]:
    """(covered text, token type, modifiers) of every token of `text`."""
    lines = LineIndex(text)
    nums = tokens.numbers(tokens.segments(parse(text), lines, encoding, start, end))
    return _covered(text, lines, nums, encoding)


def _covered(text: str, lines: LineIndex, nums: list[int], encoding: str) -> list[tuple[str, str, set]]:
    assert len(nums) % 5 == 0
    out = []
    line = col = 0
    for i in range(0, len(nums), 5):
        dl, dc, length, kind, mods = nums[i : i + 5]
        line += dl
        col = col + dc if dl == 0 else dc
        s = lines.offset(line, col, encoding)
        e = lines.offset(line, col + length, encoding)
        names = {m for b, m in enumerate(tokens.TOKEN_MODIFIERS) if mods & (1 << b)}
        out.append((text[s:e], tokens.TOKEN_TYPES[kind], names))
    return out


SYSTEM = textwrap.dedent("""\
    <system>
        <memory_region name="buf" size="0x1000" />
        <untyped name="heap" size_bits="20" />
        <cnode name="slots" size_bits="6" />
        <domains><domain name="fast" /></domains>
        <protection_domain name="server" priority="200" domain="fast">
            <program_image path="server.elf" />
            <map mr="buf" vaddr="0x2000000" setvar_vaddr="buffer" />
            <irq irq="33" id="2" />
        </protection_domain>
        <protection_domain name="client" fault_handler="server" fault_id="0">
            <program_image path="client.elf" />
            <cspace><cap_untyped slot="1" untyped="heap" /><cap_cnode slot="2" cnode_name="slots" /></cspace>
        </protection_domain>
        <channel><end pd="client" id="0" /><end pd="server" id="1" setvar_id="ch" /></channel>
        <memory_region name="old" size="0x1000" receive_all_untypeds="true" />
    </system>
""")

DEF = {"declaration", "definition"}


def test_names_by_kind_definitions_and_references():
    assert decoded(SYSTEM) == [
        ("buf", "struct", DEF),
        ("heap", "type", DEF),
        ("slots", "enum", DEF),
        ("fast", "namespace", DEF),
        ("server", "class", DEF),
        ("fast", "namespace", set()),
        ("buf", "struct", set()),
        ("buffer", "variable", set()),
        ("2", "enumMember", {"declaration"}),
        ("client", "class", DEF),
        ("server", "class", set()),
        ("heap", "type", set()),
        ("slots", "enum", set()),
        ("client", "class", set()),
        ("0", "event", {"declaration"}),
        ("server", "class", set()),
        ("1", "event", {"declaration"}),
        ("ch", "variable", set()),
        ("old", "struct", DEF),
        ("receive_all_untypeds", "property", {"deprecated"}),
    ]


def test_the_legend_uses_standard_token_types():
    standard = {
        "namespace", "type", "class", "enum", "interface", "struct", "typeParameter", "parameter", "variable",
        "property", "enumMember", "event", "function", "method", "macro", "keyword", "modifier", "comment",
        "string", "number", "regexp", "operator", "decorator",
    }  # fmt: skip
    assert set(tokens.TOKEN_TYPES) <= standard
    assert set(tokens.TOKEN_MODIFIERS) <= {"declaration", "definition", "readonly", "static", "deprecated"}


def test_multi_byte_names_crlf_and_every_encoding():
    text = '<system>\r\n  <memory_region name="😀buf" size="0x1000" /><memory_region name="größe" size="0x1000" />\r\n</system>'
    for encoding in ("utf-16", "utf-8", "utf-32"):
        assert decoded(text, encoding) == [("😀buf", "struct", DEF), ("größe", "struct", DEF)], encoding


def test_comments_half_typed_elements_and_values_over_lines():
    text = textwrap.dedent("""\
        <system>
            <!-- <memory_region name="not_a_name" /> -->
            <protection_domain name="p"<!-- odd -->
            <memory_region name="m
        x" size="0x1000" />
            <map mr="m" vaddr=
        </system>
    """)
    found = decoded(text)
    assert ("not_a_name", "struct", DEF) not in found
    assert ("p", "class", DEF) in found
    assert all("\n" not in covered for covered, _, _ in found)  # a token never spans lines


def test_range_requests_give_the_blocks_in_the_range():
    start = SYSTEM.index('<protection_domain name="client"')
    end = SYSTEM.index("</protection_domain>", start)
    names = [t[0] for t in decoded(SYSTEM, start=start, end=end)]
    assert names == ["client", "server", "heap", "slots"]


def test_examples_tokens_cover_every_definition():
    text = (ROOT_EXAMPLES / "echo" / "echo.system").read_text()
    found = decoded(text)
    defs = [t[0] for t in found if t[2] == DEF]
    assert defs == ["uart_regs", "tx_ring", "rx_ring", "echo_buffer", "uart_driver", "echo_server", "client"]


def test_delta_of_an_edit_is_one_small_edit():
    old_doc = parse(SYSTEM)
    lines = LineIndex(SYSTEM)
    old = tokens.segments(old_doc, lines, "utf-16")
    at = SYSTEM.index('    <protection_domain name="client"')
    insert = '    <memory_region name="more" size="0x1000" />\n'
    text = SYSTEM[:at] + insert + SYSTEM[at:]
    new_doc = reparse(old_doc, text, at, at, len(insert))
    new = tokens.segments(new_doc, lines.edited(text, at, at, len(insert)), "utf-16")
    start, deleted, data = tokens.delta(old, new)
    assert deleted == 0 and len(data) == 5  # only the new region's token
    assert tokens.numbers(new) == tokens.numbers(old)[:start] + data + tokens.numbers(old)[start:]
    assert tokens.delta(new, new) is None


# -- kept pieces under random edits ------------------------------------------------------------------
BASE = format_text(SYSTEM)
_INSERTS = st.sampled_from(
    [
        "\n",
        " ",
        "x",
        "<",
        '"',
        "<!-- c -->",
        '<memory_region name="n" size="0x1000" />',
        "\r\n",
        "ö😀",
        "</system>",
        "/>",
    ]
)


@given(st.lists(st.tuples(st.floats(0, 1), st.integers(0, 12), _INSERTS), min_size=1, max_size=12))
def test_kept_tokens_are_what_a_fresh_scan_gives(edits):
    text = BASE
    doc = parse(text)
    lines = LineIndex(text)
    sent = tokens.segments(doc, lines, "utf-16")
    for where, cut, insert in edits:
        start = int(where * len(text))
        end = min(len(text), start + cut)
        new = text[:start] + insert + text[end:]
        doc = reparse(doc, new, start, end, len(insert))
        lines = lines.edited(new, start, end, len(insert))
        text = new
        segs = tokens.segments(doc, lines, "utf-16")
        fresh = tokens.numbers(tokens.segments(parse(text), LineIndex(text), "utf-16"))
        assert tokens.numbers(segs) == fresh
        change = tokens.delta(sent, segs)
        if change is not None:
            s, n, data = change
            before = tokens.numbers(sent)
            assert before[:s] + data + before[s + n :] == fresh
        sent = segs
