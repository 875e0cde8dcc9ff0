"""Diagnostics, hover, completion, definition and friends through a real LSP client."""

import pytest
from lsprotocol import types as T

from .conftest import EXAMPLES, change, edit, find, open_text

ECHO = (EXAMPLES / "echo" / "echo.system").read_text()
BROKEN = (EXAMPLES / "echo" / "echo_broken.system").read_text()
URI = (EXAMPLES / "echo" / "echo.system").as_uri()
BROKEN_URI = (EXAMPLES / "echo" / "echo_broken.system").as_uri()


async def test_capabilities(client):
    caps = client.init_result.capabilities
    assert caps.text_document_sync.change == T.TextDocumentSyncKind.Incremental
    for name in (
        "hover_provider",
        "definition_provider",
        "references_provider",
        "rename_provider",
        "document_symbol_provider",
        "workspace_symbol_provider",
        "folding_range_provider",
        "inlay_hint_provider",
        "code_action_provider",
        "document_highlight_provider",
        "document_link_provider",
        "completion_provider",
    ):
        assert getattr(caps, name), name
    assert set(caps.execute_command_provider.commands) >= {
        "sdf.showCSpace",
        "sdf.describeTarget",
        "sdf.showGraph",
        "sdf.build",
    }


async def test_diagnostics_on_open_with_codes_and_related(client):
    diags = await open_text(client, BROKEN_URI, BROKEN)
    errors = [d for d in diags if d.severity == T.DiagnosticSeverity.Error]
    assert len(errors) == 4
    by_code = {d.code: d for d in errors}
    assert by_code["MK-R7"].message == "size is not a multiple of the page size on element 'memory_region'"
    size = find(BROKEN, '"0x4100"', delta=1)
    assert by_code["MK-R7"].range.start == size
    ppc = by_code["MK-G9"]
    assert ppc.message.startswith("PPCs must be to protection domains of strictly higher priorities")
    assert ppc.related_information and len(ppc.related_information) == 2
    assert all(d.source == "sdf-lsp" for d in diags)
    clean = await open_text(client, URI, ECHO)
    assert [d for d in clean if d.severity == T.DiagnosticSeverity.Error] == []


async def test_hover_answers_markdown_for_the_range_it_covers(one_client):
    await open_text(one_client, URI, ECHO)
    at = find(ECHO, 'protection_domain name="client"', delta=26)
    h = await one_client.text_document_hover_async(
        T.HoverParams(text_document=T.TextDocumentIdentifier(uri=URI), position=at)
    )
    assert h.contents.kind == T.MarkupKind.Markdown
    assert h.contents.value.startswith("### protection domain `client`") and "CSpace" in h.contents.value
    assert (h.range.start, h.range.end) == (
        find(ECHO, '"client" priority', delta=1),
        find(ECHO, '"client" priority', delta=7),
    )
    nothing = await one_client.text_document_hover_async(
        T.HoverParams(text_document=T.TextDocumentIdentifier(uri=URI), position=find(ECHO, "<system>", delta=8))
    )
    assert nothing is None


async def test_completion_with_and_without_snippet_support(client):
    await open_text(client, URI, ECHO)
    items = await client.text_document_completion_async(
        T.CompletionParams(
            text_document=T.TextDocumentIdentifier(uri=URI), position=find(ECHO, '<end pd="uart_driver"', delta=9)
        )
    )
    assert {i.label for i in items.items} == {"uart_driver", "echo_server", "client"}
    assert items.items[0].text_edit.range.start == find(ECHO, '<end pd="uart_driver"', delta=9)
    items = await client.text_document_completion_async(
        T.CompletionParams(text_document=T.TextDocumentIdentifier(uri=URI), position=find(ECHO, "<irq irq"))
    )
    by_label = {i.label: i for i in items.items}
    assert {"map", "irq", "setvar", "cspace", "protection_domain"} <= set(by_label)
    item = client.capabilities.text_document.completion.completion_item
    if item and item.snippet_support:
        assert by_label["map"].insert_text_format == T.InsertTextFormat.Snippet
        assert by_label["map"].text_edit.new_text == '<map mr="${1}" vaddr="${2}" />'
    else:  # Neovim 0.7: plain text without tab stops
        assert by_label["map"].insert_text_format == T.InsertTextFormat.PlainText
        assert by_label["map"].text_edit.new_text == '<map mr="" vaddr="" />'


async def test_definition_references_and_highlight(one_client):
    await open_text(one_client, URI, ECHO)
    res = await one_client.text_document_definition_async(
        T.DefinitionParams(
            text_document=T.TextDocumentIdentifier(uri=URI), position=find(ECHO, '<end pd="echo_server"', delta=10)
        )
    )
    assert [(r.uri, r.range.start) for r in res] == [(URI, find(ECHO, 'name="echo_server"', delta=6))]
    res = await one_client.text_document_definition_async(
        T.DefinitionParams(
            text_document=T.TextDocumentIdentifier(uri=URI), position=find(ECHO, '<end pd="client" id="1"', delta=2)
        )
    )
    assert res[0].range.start == find(ECHO, '<end pd="echo_server" id="0"', delta=26)
    at = find(ECHO, 'name="tx_ring"', delta=7)
    refs = await one_client.text_document_references_async(
        T.ReferenceParams(
            text_document=T.TextDocumentIdentifier(uri=URI),
            position=at,
            context=T.ReferenceContext(include_declaration=True),
        )
    )
    assert len(refs) == 3 and all(r.uri == URI for r in refs)
    hl = await one_client.text_document_document_highlight_async(
        T.DocumentHighlightParams(text_document=T.TextDocumentIdentifier(uri=URI), position=at)
    )
    assert sorted(h.kind for h in hl) == [
        T.DocumentHighlightKind.Read,
        T.DocumentHighlightKind.Read,
        T.DocumentHighlightKind.Write,
    ]


async def test_rename_and_a_refused_rename(one_client):
    await open_text(one_client, URI, ECHO)
    at = find(ECHO, 'name="tx_ring"', delta=7)
    prepared = await one_client.text_document_prepare_rename_async(
        T.PrepareRenameParams(text_document=T.TextDocumentIdentifier(uri=URI), position=at)
    )
    assert prepared.placeholder == "tx_ring" and prepared.range.start == find(ECHO, 'name="tx_ring"', delta=6)
    ed = await one_client.text_document_rename_async(
        T.RenameParams(text_document=T.TextDocumentIdentifier(uri=URI), position=at, new_name="tx_queue")
    )
    assert len(ed.changes[URI]) == 3 and all(e.new_text == "tx_queue" for e in ed.changes[URI])
    with pytest.raises(Exception, match="already taken"):
        await one_client.text_document_rename_async(
            T.RenameParams(text_document=T.TextDocumentIdentifier(uri=URI), position=at, new_name="rx_ring")
        )


async def test_document_symbols_folding_inlay(one_client):
    await open_text(one_client, URI, ECHO)
    syms = await one_client.text_document_document_symbol_async(
        T.DocumentSymbolParams(text_document=T.TextDocumentIdentifier(uri=URI))
    )
    kinds = {s.name: s.kind for s in syms}
    assert kinds["uart_driver"] == T.SymbolKind.Class and kinds["tx_ring"] == T.SymbolKind.Struct
    assert kinds["client:1 ↔ echo_server:0"] == T.SymbolKind.Event
    folds = await one_client.text_document_folding_range_async(
        T.FoldingRangeParams(text_document=T.TextDocumentIdentifier(uri=URI))
    )
    assert (folds[0].start_line, folds[0].end_line, folds[0].kind) == (1, 4, T.FoldingRangeKind.Comment)
    assert len(folds) == 7 and folds[1].kind == T.FoldingRangeKind.Region
    hints = await one_client.text_document_inlay_hint_async(
        T.InlayHintParams(
            text_document=T.TextDocumentIdentifier(uri=URI),
            range=T.Range(start=T.Position(line=0, character=0), end=T.Position(line=60, character=0)),
        )
    )
    peer = next(h for h in hints if h.label == "→ echo_server:0")
    assert peer.position == find(ECHO, '<end pd="client" id="1"', delta=23) and peer.padding_left


async def test_quick_fix_nearest_name_removes_error(client):
    diags = await open_text(client, BROKEN_URI, BROKEN)
    d = next(d for d in diags if d.code == "MK-MAP1")
    acts = await client.text_document_code_action_async(
        T.CodeActionParams(
            text_document=T.TextDocumentIdentifier(uri=BROKEN_URI),
            range=d.range,
            context=T.CodeActionContext(diagnostics=[d]),
        )
    )
    fix = next(a for a in acts if a.title == "Change to 'echo_buffer'")
    assert fix.kind == T.CodeActionKind.QuickFix and fix.is_preferred and fix.diagnostics[0].code == "MK-MAP1"
    te = fix.edit.changes[BROKEN_URI][0]
    diags = await change(client, BROKEN_URI, 2, [edit(te.range.start, te.range.end, te.new_text)])
    assert not any(x.code == "MK-MAP1" for x in diags)


async def test_commands(one_client):
    await open_text(one_client, URI, ECHO)
    t = await one_client.workspace_execute_command_async(
        T.ExecuteCommandParams(command="sdf.describeTarget", arguments=[{}])
    )
    assert t["label"] == "qemu_virt_aarch64 (release)" and t["source"] == "default" and t["arch"] == "aarch64"
    table = await one_client.workspace_execute_command_async(
        T.ExecuteCommandParams(command="sdf.showCSpace", arguments=[{"uri": URI, "pd": "client"}])
    )
    assert "CSpace of `client`" in table and "| 75 |" in table  # PPC endpoint to echo_server at 74 + 1


async def test_workspace_symbols(one_client):
    res = await one_client.workspace_symbol_async(T.WorkspaceSymbolParams(query="echo_serv"))
    assert any(s.name == "echo_server" for s in res)


async def test_show_graph(one_client):
    import shutil

    from ..conftest import require

    require(shutil.which("dot") is not None, "Graphviz (dot) is not installed")
    await open_text(one_client, URI, ECHO)
    svg = await one_client.workspace_execute_command_async(
        T.ExecuteCommandParams(command="sdf.showGraph", arguments=[{"uri": URI, "view": "authority"}])
    )
    assert svg.lstrip().startswith("<?xml") and 'id="pd:echo_server"' in svg
    svg = await one_client.workspace_execute_command_async(
        T.ExecuteCommandParams(command="sdf.showGraph", arguments=[{"uri": URI, "view": "memory"}])
    )
    assert "<svg" in svg


async def test_junk_and_odd_requests_never_kill_the_server(one_client):
    uri = "file:///tmp/junk.system"
    junk = (
        "\x00\x01<system><<<<protection_domain name='a'\n" + "é" * 50 + "</" * 20 + "<!DOCTYPE x [<!ENTITY a 'b'>]>&a;"
    )
    diags = await open_text(one_client, uri, junk)
    assert diags
    far = T.Position(line=10_000, character=10_000)
    ident = T.TextDocumentIdentifier(uri=uri)
    await one_client.text_document_hover_async(T.HoverParams(text_document=ident, position=far))
    await one_client.text_document_completion_async(T.CompletionParams(text_document=ident, position=far))
    await one_client.text_document_document_symbol_async(T.DocumentSymbolParams(text_document=ident))
    await one_client.text_document_code_action_async(
        T.CodeActionParams(
            text_document=ident, range=T.Range(start=far, end=far), context=T.CodeActionContext(diagnostics=[])
        )
    )
    await one_client.text_document_hover_async(
        T.HoverParams(text_document=T.TextDocumentIdentifier(uri="file:///not/open.system"), position=far)
    )
    diags = await change(one_client, uri, 2, [T.TextDocumentContentChangeWholeDocument(text=ECHO)])
    assert not [d for d in diags if d.severity == T.DiagnosticSeverity.Error]


def test_tcp_transport():
    import socket
    import subprocess
    import sys
    import time

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "sdf_lsp", "serve", "--tcp", f"127.0.0.1:{port}"])
    try:
        for _ in range(100):
            try:
                conn = socket.create_connection(("127.0.0.1", port), timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        body = b'{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"capabilities":{}}}'
        conn.sendall(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        data = b""
        while b'"result"' not in data:
            chunk = conn.recv(65536)
            assert chunk
            data += chunk
        assert b'"sdf-lsp"' in data
        conn.close()
    finally:
        proc.kill()
        proc.wait()


def test_stdin_that_is_a_file(tmp_path):
    """Messages read from a file (not a pipe the event loop can watch): read by a thread instead,
    answered all the same, and the end of the file ends the server."""
    import json
    import subprocess
    import sys

    from ..stdio_lsp import frame

    messages = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}}},
        {"jsonrpc": "2.0", "method": "initialized", "params": {}},
        {"jsonrpc": "2.0", "id": 2, "method": "shutdown"},
        {"jsonrpc": "2.0", "method": "exit"},
    ]
    framed = tmp_path / "messages"
    framed.write_bytes(b"".join(frame(m) for m in messages))
    with framed.open("rb") as stdin:
        done = subprocess.run(
            [sys.executable, "-m", "sdf_lsp", "serve"], stdin=stdin, capture_output=True, timeout=60, check=False
        )
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    bodies = [json.loads(part.split(b"\r\n\r\n", 1)[1]) for part in done.stdout.split(b"Content-Length: ")[1:]]
    answers = {m["id"]: m for m in bodies if "id" in m and "method" not in m}
    assert answers[1]["result"]["serverInfo"]["name"] == "sdf-lsp" and "result" in answers[2]
