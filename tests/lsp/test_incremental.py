"""Many incremental edits: the server's text and diagnostics always equal a fresh open."""

import sys

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lsprotocol import types as T

from sdf_lsp.syntax.lines import LineIndex

from ..conftest import SHARED
from ..stdio_lsp import StdioServer, frame
from .conftest import EXAMPLES, change, edit, open_text, pos

ECHO = (EXAMPLES / "echo" / "echo.system").read_text()
URI = "file:///tmp/incremental.system"
FRESH = "file:///tmp/fresh.system"


def key(diags):
    return sorted(
        (d.range.start.line, d.range.start.character, d.range.end.line, d.range.end.character, d.code, d.message)
        for d in diags
    )


async def server_text(client, uri):
    res = await client.workspace_execute_command_async(
        T.ExecuteCommandParams(command="sdf.documentText", arguments=[{"uri": uri}])
    )
    return res["text"]


async def fresh_diagnostics(client, text, version):
    diags = await open_text(client, FRESH, text, version)
    client.text_document_did_close(T.DidCloseTextDocumentParams(text_document=T.TextDocumentIdentifier(uri=FRESH)))
    return diags


def position_of(text, offset):
    line, ch = LineIndex(text).position(offset)
    return pos(line, ch)


async def test_typing_a_pd_character_by_character(client):
    text = ECHO
    await open_text(client, URI, text)
    at = text.index("    <channel>")
    snippet = '    <protection_domain name="typed" priority="10">\n        <program_image path="typed.elf" />\n    </protection_domain>\n'
    version = 1
    for ch in snippet:
        version += 1
        p = position_of(text, at)
        text = text[:at] + ch + text[at:]
        at += 1
        await change(client, URI, version, [edit(p, p, ch)], wait=False)
    diags = await change(client, URI, version + 1, [])
    assert await server_text(client, URI) == text
    assert key(diags) == key(await fresh_diagnostics(client, text, 1))


async def test_delete_half_and_paste_back(client):
    text = ECHO
    await open_text(client, URI, text)
    half = len(text) // 2
    removed = text[half:]
    d1 = await change(client, URI, 2, [edit(position_of(text, half), position_of(text, len(text)), "")])
    assert d1, "a truncated document is an error"
    assert await server_text(client, URI) == text[:half]
    p = position_of(text[:half], half)
    d2 = await change(client, URI, 3, [edit(p, p, removed)])
    assert await server_text(client, URI) == text
    assert key(d2) == key(await fresh_diagnostics(client, text, 1))


async def test_stale_versions_are_never_published(client):
    text = ECHO
    await open_text(client, URI, text)
    at = text.index('priority="', text.index('name="client"')) + len('priority="')
    for v in range(2, 12):
        new = f"{v % 10}00"
        await change(client, URI, v, [edit(position_of(text, at), position_of(text, at + 3), new)], wait=False)
        text = text[:at] + new + text[at + 3 :]
    await change(client, URI, 12, [])
    versions = [v for v, _ in client.published[URI]]
    assert versions == sorted(versions) and versions[-1] == 12
    assert len(versions) < 12  # debounced: not one analysis per keystroke
    assert await server_text(client, URI) == text


async def test_the_same_text_again_is_published_for_its_new_version(client):
    """A whole-text replacement with the text already analysed (an editor's revert of an unchanged
    file) publishes that analysis for the new version; one that undoes an edit still pending is
    analysed as any other edit."""
    text = ECHO.replace('priority="', 'priority="x', 1)
    d1 = await open_text(client, URI, text)
    assert d1, "the priority is not a number"
    d2 = await change(client, URI, 2, [T.TextDocumentContentChangeWholeDocument(text=text)])
    assert key(d2) == key(d1)
    await change(client, URI, 3, [edit(pos(0, 0), pos(0, 0), "<")], wait=False)
    d4 = await change(client, URI, 4, [T.TextDocumentContentChangeWholeDocument(text=text)])
    assert key(d4) == key(d1)
    assert await server_text(client, URI) == text
    versions = [v for v, _ in client.published[URI]]
    assert versions == sorted(versions) and versions[-1] == 4


# a system larger than a change the server applies as it comes (LARGE_CHANGE)
PADDED = ECHO.replace(
    "</system>", "".join(f'<memory_region name="pad{i}" size="0x1000" />\n' for i in range(2000)) + "</system>"
)


def whole_range(text):
    return T.Range(start=pos(0, 0), end=position_of(text, len(text)))


async def test_a_whole_range_change_of_a_large_system_equals_a_fresh_open(client):
    """VS Code sends a revert as one change over the whole range: the server diffs it first."""
    await open_text(client, URI, PADDED)
    new = PADDED.replace('name="client"', 'name="cliet"', 1).replace('name="pad7"', 'name="pad7x"')
    diags = await change(client, URI, 2, [edit(pos(0, 0), position_of(PADDED, len(PADDED)), new)])
    assert await server_text(client, URI) == new
    assert key(diags) == key(await fresh_diagnostics(client, new, 1))
    assert diags, "the PD client is gone"


def test_a_whole_range_change_keeps_the_blocks_it_does_not_touch():
    from types import SimpleNamespace

    from sdf_lsp.ide.env import Environment
    from sdf_lsp.model.lower import Context
    from sdf_lsp.server import LARGE_CHANGE, OpenDocument, apply_changes
    from sdf_lsp.target import default_target

    assert len(PADDED) > LARGE_CHANGE
    doc = OpenDocument(URI, PADDED, 1, Context(default_target()), Environment([]))
    blocks = doc.session.doc.blocks
    new = PADDED.replace('name="pad7"', 'name="pad7x"')
    apply_changes(SimpleNamespace(encoding="utf-16"), doc, [edit(pos(0, 0), position_of(PADDED, len(PADDED)), new)])
    assert doc.session.text == new
    kept = sum(b in blocks for b in doc.session.doc.blocks)
    assert kept >= len(blocks) - 3


edits = st.lists(
    st.tuples(
        st.integers(0, 2000),
        st.integers(0, 30),
        st.sampled_from(
            [
                "",
                "<",
                ">",
                "/>",
                '"',
                "x",
                "\n",
                '<map mr="tx_ring" vaddr="0x5000000" />',
                "</protection_domain>",
                "é",
                "😀",
                ' id="3"',
            ]
        ),
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(batch=edits)
async def test_random_edits_equal_fresh_open(client, batch):
    text = ECHO
    await open_text(client, URI, text)
    version = 1
    for start, length, ins in batch:
        a = min(start, len(text))
        b = min(len(text), a + length)
        version += 1
        await change(client, URI, version, [edit(position_of(text, a), position_of(text, b), ins)], wait=False)
        text = text[:a] + ins + text[b:]
    diags = await change(client, URI, version + 1, [])
    assert await server_text(client, URI) == text
    assert key(diags) == key(await fresh_diagnostics(client, text, 1))
    client.text_document_did_close(T.DidCloseTextDocumentParams(text_document=T.TextDocumentIdentifier(uri=URI)))


def test_a_request_sent_with_an_edit_is_answered_before_the_edit_is_published():
    """A hover that arrives with an edit waits for that edit's analysis and is answered as soon as
    it is done, before its diagnostics are published (the editor asked for it; the squiggles follow).
    The edit and the hover are written at once, as an editor sends them while the user types."""
    text = (SHARED / "corpus/generated/sddf_qemu_virt_aarch64_io_26clients.system").read_text()
    uri = "file:///tmp/request-with-edit.system"
    server = StdioServer([sys.executable, "-m", "sdf_lsp", "serve"])
    try:
        server.initialize(None)
        server.open(uri, text)
        name = text.index('name="', text.index("<protection_domain", len(text) // 2)) + len('name="')
        end = text.index('"', name)
        for version in range(2, 6):
            line, ch = LineIndex(text).position(end)
            p = {"line": line, "character": ch}
            text = text[:end] + "x" + text[end:]
            end += 1
            change = {
                "jsonrpc": "2.0",
                "method": "textDocument/didChange",
                "params": {
                    "textDocument": {"uri": uri, "version": version},
                    "contentChanges": [{"range": {"start": p, "end": p}, "text": "x"}],
                },
            }
            at = position_of(text, name)
            hover = {
                "jsonrpc": "2.0",
                "id": f"hover{version}",
                "method": "textDocument/hover",
                "params": {"textDocument": {"uri": uri}, "position": {"line": at.line, "character": at.character}},
            }
            server.proc.stdin.write(b"".join(frame(m) for m in (change, hover)))
            server.proc.stdin.flush()
            order, answer = [], None
            while len(order) < 2:
                msg = server.messages.get(timeout=60)
                if msg.get("id") == f"hover{version}":
                    order.append("hover")
                    answer = msg["result"]
                elif msg.get("method") == "textDocument/publishDiagnostics" and msg["params"]["uri"] == uri:
                    order.append(f"diagnostics of version {msg['params']['version']}")
            assert order == ["hover", f"diagnostics of version {version}"]
            assert text[name:end] in answer["contents"]["value"]  # the newest text's analysis
    finally:
        assert server.close() == 0


def test_syntax_requests_are_answered_as_soon_as_they_are_read():
    """The requests answered from the syntax tree alone are plain functions, which pygls runs and
    answers the moment each is read: an outline is not held back by the folding and link requests
    an editor sends with it (nor they by it)."""
    import inspect

    from sdf_lsp.server import server

    features = server.protocol.fm.features
    syntax = [
        T.TEXT_DOCUMENT_DOCUMENT_SYMBOL,
        T.TEXT_DOCUMENT_FOLDING_RANGE,
        T.TEXT_DOCUMENT_DOCUMENT_LINK,
        T.TEXT_DOCUMENT_DOCUMENT_HIGHLIGHT,
        T.TEXT_DOCUMENT_SELECTION_RANGE,
        T.TEXT_DOCUMENT_LINKED_EDITING_RANGE,
        T.TEXT_DOCUMENT_FORMATTING,
        T.TEXT_DOCUMENT_RANGE_FORMATTING,
        T.TEXT_DOCUMENT_SEMANTIC_TOKENS_FULL,
        T.TEXT_DOCUMENT_SEMANTIC_TOKENS_FULL_DELTA,
        T.TEXT_DOCUMENT_SEMANTIC_TOKENS_RANGE,
    ]
    assert [m for m in syntax if inspect.iscoroutinefunction(features[m])] == []
    assert inspect.iscoroutinefunction(features[T.TEXT_DOCUMENT_HOVER])  # it waits for the newest analysis


async def test_the_outline_is_made_ahead_after_an_open_even_while_the_user_types(monkeypatch):
    """After an open, each block's outline is made between the editor's messages, in the newest
    text's positions: an edit meanwhile does not stop it, and what it made is what a request gives."""
    import asyncio

    from sdf_lsp import server as module
    from sdf_lsp.server import OpenDocument, SdfLanguageServer, document_symbols_json

    monkeypatch.setattr(module, "WARM_SLICE", 0.0)  # one block at a time
    ls = SdfLanguageServer()
    text = (SHARED / "corpus/generated/sddf_qemu_virt_aarch64_io_26clients.system").read_text()
    doc = OpenDocument("file:///tmp/warm.system", text, 1, ls.ctx, ls.environment("file:///tmp/warm.system"))
    ls.docs[doc.uri] = doc
    doc.session.analyse()
    warm = asyncio.ensure_future(ls._warm(doc))
    for _ in range(40):  # the first blocks are made
        await asyncio.sleep(0)
    at = text.index("<protection_domain", len(text) // 2)
    kept = {id(b) for b in doc.session.doc.items}
    doc.session.edit(at, at, "\n\n")  # typed meanwhile: every block after it moves two lines down
    await warm
    elements = [b for b in doc.session.doc.items if b.item is not None and b.item.kind == "element"]
    assert all("symbols_json" in b.features for b in elements if id(b) in kept)  # (the edit's are made when asked)
    made = document_symbols_json(ls, doc)
    for b in elements:
        b.features.pop("symbols_json", None)
    assert document_symbols_json(ls, doc) == made
