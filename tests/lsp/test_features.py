"""Formatting, semantic tokens, linked editing, selection ranges, code lenses and completion
details through a real LSP client, on documents as users have them: comments in odd places,
half-typed elements, CRLF line ends, names outside ASCII."""

from __future__ import annotations

import asyncio

import pytest
from lsprotocol import types as T

from sdf_lsp.ide import tokens
from sdf_lsp.ide.format import FormatOptions, format_text
from sdf_lsp.syntax.lines import LineIndex

from .conftest import EXAMPLES, change, edit, find, open_text

DOC = (EXAMPLES / "unseen.system").as_uri()  # not on disk: only the editor has it

#: Written as people write: odd indentation, comments on the lines of elements, a name in Greek,
#: an emoji in a comment, attributes over several lines, CRLF line ends.
UNSEEN = (
    '<?xml version="1.0"?>\r\n'
    "<system>  <!-- 😀 the system -->\r\n"
    '<memory_region   name="δίαυλος" size="0x1000"/>\r\n'
    '      <memory_region name="spare" size="0x2000"/> <!-- sdf-lsp: ignore MK-W1 -->\r\n'
    '<protection_domain name="server" priority="200"\r\n'
    '        budget="1000"><program_image path="server.elf"/>\r\n'
    '  <map mr="δίαυλος" vaddr="0x2000000" perms="rw" setvar_vaddr="buffer"/>\r\n'
    "</protection_domain>\r\n"
    '<protection_domain name="client" priority="100"><program_image path="client.elf"/>\r\n'
    '<map mr="δίαυλος" vaddr="0x2000000"/></protection_domain>\r\n'
    '<channel><end pd="client" id="0" pp="true"/><end pd="server" id="1"/></channel>\r\n'
    "</system>\r\n"
)


def ident(uri: str = DOC) -> T.TextDocumentIdentifier:
    return T.TextDocumentIdentifier(uri=uri)


def apply(text: str, edits, encoding: str = "utf-16") -> str:
    lines = LineIndex(text)
    spans = []
    for e in edits:
        s = lines.offset(e.range.start.line, e.range.start.character, encoding)
        t = lines.offset(e.range.end.line, e.range.end.character, encoding)
        spans.append((s, t, e.new_text))
    for s, t, new in sorted(spans, reverse=True):
        text = text[:s] + new + text[t:]
    return text


async def test_capabilities(client):
    caps = client.init_result.capabilities
    assert caps.document_formatting_provider and caps.document_range_formatting_provider
    assert caps.linked_editing_range_provider and caps.selection_range_provider
    assert caps.code_lens_provider.resolve_provider is True
    st = caps.semantic_tokens_provider
    assert list(st.legend.token_types) == list(tokens.TOKEN_TYPES)
    assert list(st.legend.token_modifiers) == list(tokens.TOKEN_MODIFIERS)
    assert st.full.delta is True and st.range is True


async def test_formatting_gives_the_formatted_text(client):
    await open_text(client, DOC, UNSEEN)
    edits = await client.text_document_formatting_async(
        T.DocumentFormattingParams(text_document=ident(), options=T.FormattingOptions(tab_size=2, insert_spaces=True))
    )
    out = apply(UNSEEN, edits)
    assert out == format_text(UNSEEN, FormatOptions.of(tab_size=2))
    assert out.splitlines()[1:4] == [
        "<system> <!-- 😀 the system -->",
        '  <memory_region name="δίαυλος" size="0x1000" />',
        '  <memory_region name="spare" size="0x2000" /> <!-- sdf-lsp: ignore MK-W1 -->',
    ]
    assert "\r\n" in out and "\n" not in out.replace("\r\n", "")
    # formatted: nothing more to do
    await change(client, DOC, 2, [T.TextDocumentContentChangeWholeDocument(text=out)])
    again = await client.text_document_formatting_async(
        T.DocumentFormattingParams(text_document=ident(), options=T.FormattingOptions(tab_size=2, insert_spaces=True))
    )
    assert not again and again is not None


async def test_range_formatting_changes_only_the_lines_asked_for(one_client):
    await open_text(one_client, DOC, UNSEEN)
    at = find(UNSEEN, '<channel><end pd="client"')
    edits = await one_client.text_document_range_formatting_async(
        T.DocumentRangeFormattingParams(
            text_document=ident(),
            range=T.Range(start=at, end=at),
            options=T.FormattingOptions(tab_size=4, insert_spaces=False),
        )
    )
    out = apply(UNSEEN, edits)
    assert out.split("\r\n")[:10] == UNSEEN.split("\r\n")[:10]  # the lines before it are as they were
    assert '\t<channel>\r\n\t\t<end pd="client" id="0" pp="true" />\r\n' in out


async def test_a_document_with_syntax_errors_is_not_formatted(one_client):
    half = UNSEEN.replace('<map mr="δίαυλος" vaddr="0x2000000"/>', '<map mr="δίαυλος" vaddr=')
    await open_text(one_client, DOC, half)
    one_client.messages.clear()
    edits = await one_client.text_document_formatting_async(
        T.DocumentFormattingParams(text_document=ident(), options=T.FormattingOptions(tab_size=4, insert_spaces=True))
    )
    assert not edits
    for _ in range(50):
        if one_client.messages:
            break
        await asyncio.sleep(0.1)
    (msg,) = one_client.messages
    assert msg.type == T.MessageType.Warning
    assert msg.message.startswith("sdf-lsp: unseen.system is left as it is: syntax error:")
    assert "(line 10," in msg.message


def decode(text: str, data: list[int]) -> list[tuple[str, str, int]]:
    lines = LineIndex(text)
    out = []
    line = col = 0
    for i in range(0, len(data), 5):
        dl, dc, length, kind, mods = data[i : i + 5]
        line += dl
        col = col + dc if dl == 0 else dc
        s = lines.offset(line, col)
        out.append((text[s : lines.offset(line, col + length)], tokens.TOKEN_TYPES[kind], mods))
    return out


async def test_semantic_tokens_full_and_delta(client):
    await open_text(client, DOC, UNSEEN)
    full = await client.text_document_semantic_tokens_full_async(T.SemanticTokensParams(text_document=ident()))
    found = decode(UNSEEN, full.data)
    assert found[:3] == [("δίαυλος", "struct", 3), ("spare", "struct", 3), ("server", "class", 3)]
    assert ("δίαυλος", "struct", 0) in found and ("buffer", "variable", 0) in found
    assert ("0", "event", 1) in found
    # an edit: a region renamed, a PD typed half-way
    at = find(UNSEEN, '"spare"', delta=1)
    text = UNSEEN.replace('"spare"', '"spore"', 1).replace("</system>", '<protection_domain name="new"\r\n</system>')
    end = find(UNSEEN, "</system>")
    await change(
        client,
        DOC,
        2,
        [
            edit(end, end, '<protection_domain name="new"\r\n'),
            edit(at, T.Position(line=at.line, character=at.character + 5), "spore"),
        ],
    )
    delta = await client.text_document_semantic_tokens_full_delta_async(
        T.SemanticTokensDeltaParams(text_document=ident(), previous_result_id=full.result_id)
    )
    assert delta.result_id != full.result_id
    data = list(full.data)
    for e in sorted(delta.edits, key=lambda e: -e.start):
        data[e.start : e.start + e.delete_count] = e.data or []
    assert sum(len(e.data or []) for e in delta.edits) <= 15  # not the whole document again
    fresh = await client.text_document_semantic_tokens_full_async(T.SemanticTokensParams(text_document=ident()))
    assert data == list(fresh.data)
    assert ("spore", "struct", 3) in decode(text, data) and ("new", "class", 3) in decode(text, data)
    # a delta against tokens the server no longer has is the whole list
    stale = await client.text_document_semantic_tokens_full_delta_async(
        T.SemanticTokensDeltaParams(text_document=ident(), previous_result_id="no-such-result")
    )
    assert list(stale.data) == data


async def test_semantic_tokens_of_a_range(one_client):
    await open_text(one_client, DOC, UNSEEN)
    start, end = find(UNSEEN, "<channel>"), find(UNSEEN, "</channel>")
    found = await one_client.text_document_semantic_tokens_range_async(
        T.SemanticTokensRangeParams(text_document=ident(), range=T.Range(start=start, end=end))
    )
    lines = LineIndex(UNSEEN)
    first = lines.offset(start.line, 0)
    # positions are absolute: decode against the whole text
    assert [t[:2] for t in decode(UNSEEN, found.data)] == [
        ("client", "class"),
        ("0", "event"),
        ("server", "class"),
        ("1", "event"),
    ]
    assert first > 0


async def test_linked_editing_of_tag_names(client):
    await open_text(client, DOC, UNSEEN)
    at = find(UNSEEN, '<protection_domain name="client"', delta=5)
    found = await client.text_document_linked_editing_range_async(
        T.LinkedEditingRangeParams(text_document=ident(), position=at)
    )
    lines = LineIndex(UNSEEN)
    got = [
        UNSEEN[lines.offset(r.start.line, r.start.character) : lines.offset(r.end.line, r.end.character)]
        for r in found.ranges
    ]
    assert got == ["protection_domain", "protection_domain"]
    assert found.ranges[1].start.line == found.ranges[0].start.line + 1  # the end tag on the next line
    assert found.word_pattern
    nothing = await client.text_document_linked_editing_range_async(
        T.LinkedEditingRangeParams(text_document=ident(), position=find(UNSEEN, "<memory_region", delta=3))
    )
    assert nothing is None  # self-closing


async def test_selection_ranges_grow_to_the_system(client):
    await open_text(client, DOC, UNSEEN)
    at = find(UNSEEN, 'setvar_vaddr="buffer"', delta=16)
    (sel,) = await client.text_document_selection_range_async(
        T.SelectionRangeParams(text_document=ident(), positions=[at])
    )
    lines = LineIndex(UNSEEN)
    got = []
    while sel is not None:
        r = sel.range
        got.append(UNSEEN[lines.offset(r.start.line, r.start.character) : lines.offset(r.end.line, r.end.character)])
        sel = sel.parent
    assert got[:3] == [
        "buffer",
        'setvar_vaddr="buffer"',
        '<map mr="δίαυλος" vaddr="0x2000000" perms="rw" setvar_vaddr="buffer"/>',
    ]
    assert got[3].startswith('<protection_domain name="server"') and got[4].startswith("<system>")
    assert len(got) == 5


async def test_code_lenses_resolve_to_references_cspace_and_memory(client):
    await open_text(client, DOC, UNSEEN)
    found = await client.text_document_code_lens_async(T.CodeLensParams(text_document=ident()))
    assert all(lens.command is None for lens in found)  # what they show comes with resolve
    lines = LineIndex(UNSEEN)
    at = {}
    for lens in found:
        r = lens.range
        at.setdefault(
            UNSEEN[lines.offset(r.start.line, r.start.character) : lines.offset(r.end.line, r.end.character)], []
        ).append(lens)
    assert sorted(at) == ["client", "server", "spare", "δίαυλος"]
    assert len(at["server"]) == 3 and len(at["δίαυλος"]) == 1
    refs, cspace, memory = [await client.code_lens_resolve_async(lens) for lens in at["server"]]
    assert refs.command.title == "1 reference" and refs.command.command == "editor.action.showReferences"
    uri, position, locations = refs.command.arguments
    assert uri == DOC and position == {"line": 4, "character": 25}
    assert [loc["range"]["start"] for loc in locations] == [
        {
            "line": find(UNSEEN, '<end pd="server"', delta=9).line,
            "character": find(UNSEEN, '<end pd="server"', delta=9).character,
        }
    ]
    assert cspace.command.title == "slots 1/64"
    assert cspace.command.command == "sdf.showCSpace" and list(cspace.command.arguments) == [
        {"uri": DOC, "pd": "server"}
    ]
    assert memory.command.title.startswith("memory ") and memory.command.command == ""
    (maps,) = [await client.code_lens_resolve_async(lens) for lens in at["δίαυλος"]]
    assert maps.command.title == "2 mappings" and len(maps.command.arguments[2]) == 2
    # the CSpace lens runs a server command that answers
    table = await client.workspace_execute_command_async(
        T.ExecuteCommandParams(command=cspace.command.command, arguments=cspace.command.arguments)
    )
    assert "CSpace of `server`" in table


async def test_a_lens_of_a_name_gone_since_resolves_to_nothing(one_client):
    await open_text(one_client, DOC, UNSEEN)
    (lens, *_) = await one_client.text_document_code_lens_async(T.CodeLensParams(text_document=ident()))
    await change(one_client, DOC, 2, [T.TextDocumentContentChangeWholeDocument(text="<system />\r\n")])
    gone = await one_client.code_lens_resolve_async(lens)
    assert gone.command.title == "" and gone.command.command == ""


@pytest.mark.parametrize(
    "needle, delta, label, detail",
    [('<map mr="δίαυλος" vaddr="0x2000000"/>', 9, "spare", "0x2000 (8 KiB) anywhere in RAM")],
)
async def test_completion_items_carry_details(one_client, needle, delta, label, detail):
    await open_text(one_client, DOC, UNSEEN)
    found = await one_client.text_document_completion_async(
        T.CompletionParams(text_document=ident(), position=find(UNSEEN, needle, delta=delta))
    )
    item = next(i for i in found.items if i.label == label)
    assert item.detail == detail
    assert "not mapped yet" in item.documentation.value
