"""The extended hierarchy model through the language server: one diagnostic, hover and
quick fix per family of codes (CS, FH, UT, UH, CN, EX)."""

from lsprotocol import types as T

from .conftest import EXAMPLES, change, edit, find, make_fixture, open_text

EXT = (EXAMPLES / "extended" / "extended.system").read_text()
URI = "file:///tmp/ext.system"

strict_client = make_fixture({"sdf": {"dialect": "microkit-2.3"}})


def doc(text: str) -> T.TextDocumentIdentifier:
    return T.TextDocumentIdentifier(uri=URI)


async def fixes(client, diag):
    acts = await client.text_document_code_action_async(
        T.CodeActionParams(text_document=doc(""), range=diag.range, context=T.CodeActionContext(diagnostics=[diag]))
    )
    return [a for a in acts if diag.code in {d.code for d in a.diagnostics or []}]


async def apply_first(client, text, diag, version):
    acts = await fixes(client, diag)
    assert acts, f"no quick fix for {diag.code}"
    edits = sorted(acts[0].edit.changes[URI], key=lambda e: (e.range.start.line, e.range.start.character), reverse=True)
    return await change(client, URI, version, [edit(e.range.start, e.range.end, e.new_text) for e in edits])


async def test_extended_example_is_clean_and_hover_shows_cspace(client):
    diags = await open_text(client, URI, EXT)
    assert not [d for d in diags if d.severity == T.DiagnosticSeverity.Error]
    h = await client.text_document_hover_async(
        T.HoverParams(text_document=doc(EXT), position=find(EXT, '<cspace size_bits="7"', delta=2))
    )
    assert "CSpace of `allocator`" in h.contents.value and "| 16 | `0x2000000000000000` |" in h.contents.value
    h = await client.text_document_hover_async(
        T.HoverParams(text_document=doc(EXT), position=find(EXT, 'name="scheduler"', delta=8))
    )
    assert "CSpace:" in h.contents.value and "root CNode 6/64" in h.contents.value
    h = await client.text_document_hover_async(
        T.HoverParams(text_document=doc(EXT), position=find(EXT, '<cap_untyped slot="2"', delta=3))
    )
    assert "untyped `alloc_dma`" in h.contents.value and "0x400000000000000" in h.contents.value
    hints = await client.text_document_inlay_hint_async(
        T.InlayHintParams(
            text_document=doc(EXT),
            range=T.Range(start=T.Position(line=0, character=0), end=T.Position(line=200, character=0)),
        )
    )
    labels = [h.label for h in hints]
    assert " slots 4..11" in labels and "cptr 0x200000000000000" in labels


async def test_cs_family(client):
    text = EXT.replace('<cap_sc  slot="2" pd="worker_a"', '<cap_sc  slot="0" pd="worker_a"')
    diags = await open_text(client, URI, text)
    d = next(d for d in diags if d.code == "CS001")
    assert d.message == "The destination slot 0 has been reserved for Microkit CNode on element 'cap_sc'"
    after = await apply_first(client, text, d, 2)
    assert not any(x.code == "CS001" for x in after)


async def test_fh_family(client):
    text = EXT.replace('fault_handler="pager" fault_id="1"', 'fault_handler="pager" fault_id="0"')
    diags = await open_text(client, URI, text)
    d = next(d for d in diags if d.code == "FH004")
    assert d.message == "fault id 0 of handler 'pager' used by 'client_b' and 'client_a'"
    h = await client.text_document_hover_async(
        T.HoverParams(text_document=doc(text), position=find(text, 'name="client_a"', delta=8))
    )
    assert "faults go to `pager`" in h.contents.value
    after = await apply_first(client, text, d, 2)
    assert not any(x.code == "FH004" for x in after)


async def test_ut_family(client):
    text = EXT.replace('size="0x100000"', 'size="0x180000"')
    diags = await open_text(client, URI, text)
    d = next(d for d in diags if d.code == "UT002")
    assert d.message == "untyped size 0x180000 is not a power of two (nearest: 0x100000 / 0x200000)"
    after = await apply_first(client, text, d, 2)
    assert not any(x.code == "UT002" for x in after)
    completion = await client.text_document_completion_async(
        T.CompletionParams(text_document=doc(text), position=find(EXT, 'size_bits="21"', delta=11))
    )
    assert "21" in [i.label for i in completion.items]


async def test_uh_family(client):
    text = EXT.replace(
        '<memory_region name="shared_log" size="0x4000" />',
        '<memory_region name="shared_log" size="0x4000" receive_all_untypeds="true" />',
    )
    diags = await open_text(client, URI, text)
    d = next(d for d in diags if d.code == "UH006")
    assert d.severity == T.DiagnosticSeverity.Warning and list(d.tags) == [T.DiagnosticTag.Deprecated]
    after = await apply_first(client, text, d, 2)
    codes = {x.code for x in after}
    assert (
        "UH006" not in codes and "UH005" in codes
    )  # now the <cnode post_capdl_untypeds> form, with its authority hint


async def test_cn_family(client):
    text = EXT.replace('<reserve slot="16" count="16"', '<reserve slot="120" count="16"')
    diags = await open_text(client, URI, text)
    d = next(d for d in diags if d.code == "CN002")
    assert d.message == "reserve [120..136) exceeds the root CNode of 'allocator' (size_bits=7, 128 slots)"
    after = await apply_first(client, text, d, 2)
    assert not any(x.code == "CN002" for x in after)


async def test_ex_family(strict_client):
    diags = await open_text(strict_client, URI, EXT)
    ex = [d for d in diags if d.code == "EX001"]
    assert any(d.message == "invalid XML element 'untyped' (an sdf-lsp extension)" for d in ex)
    assert any(d.message == "Cap type: 'notification' is not supported (an sdf-lsp extension)" for d in ex)
    t = await strict_client.workspace_execute_command_async(
        T.ExecuteCommandParams(command="sdf.describeTarget", arguments=[{}])
    )
    assert t["dialect"] == "microkit-2.3"


async def test_settings_change_reanalyses_and_bad_settings_are_reported(client):
    diags = await open_text(client, URI, EXT)
    assert not any(d.code == "EX001" for d in diags)
    client.workspace_did_change_configuration(
        T.DidChangeConfigurationParams(settings={"sdf": {"dialect": "microkit-2.3"}})
    )
    for _ in range(50):
        await client.wait_for_notification(T.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        if any(d.code == "EX001" for d in client.diagnostics[URI]):
            break
    assert any(d.code == "EX001" for d in client.diagnostics[URI])
    client.workspace_did_change_configuration(
        T.DidChangeConfigurationParams(settings={"sdf": {"target": {"board": "no_such_board"}}})
    )
    msg = await client.wait_for_notification(T.WINDOW_SHOW_MESSAGE)
    assert "no_such_board" in msg.message
    t = await client.workspace_execute_command_async(
        T.ExecuteCommandParams(command="sdf.describeTarget", arguments=[{}])
    )
    assert t["label"] == "qemu_virt_aarch64 (release)"  # the default target, and the server still answers


async def test_unnest_child_refactoring(client):
    from ..conftest import SHARED

    text = (SHARED / "corpus/microkit-examples/hierarchy__hierarchy.system").read_text()
    await open_text(client, URI, text)
    at = find(text, 'name="crasher"', delta=7)
    acts = await client.text_document_code_action_async(
        T.CodeActionParams(
            text_document=doc(text), range=T.Range(start=at, end=at), context=T.CodeActionContext(diagnostics=[])
        )
    )
    act = next(a for a in acts if a.title.startswith("Un-nest 'crasher'"))
    edits = sorted(act.edit.changes[URI], key=lambda e: (e.range.start.line, e.range.start.character), reverse=True)
    diags = await change(client, URI, 2, [edit(e.range.start, e.range.end, e.new_text) for e in edits])
    assert not [d for d in diags if d.severity == T.DiagnosticSeverity.Error]
    h = await client.text_document_hover_async(
        T.HoverParams(text_document=doc(text), position=find(text, 'name="restarter"', delta=7))
    )
    assert "root CNode 2/64" in h.contents.value  # the parent now holds the TCB cap in its root CNode
