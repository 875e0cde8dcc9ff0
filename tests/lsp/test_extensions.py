"""The extended dialect through the language server: a quick fix with several edits and a
deprecation tag, the dialect from the initialization options and from a settings change,
and the un-nest refactoring as a code action. Each family of codes (CS, FH, UT, UH, CN, EX)
is tested in-process in tests/ide/test_actions.py."""

from lsprotocol import types as T

from .conftest import CLIENTS, EXAMPLES, change, edit, find, make_fixture, open_text

EXT = (EXAMPLES / "extended" / "extended.system").read_text()
URI = "file:///tmp/ext.system"

strict_client = make_fixture({"sdf": {"dialect": "microkit-2.3"}}, clients=CLIENTS[:1])


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


async def test_uh_family(one_client):
    text = EXT.replace(
        '<memory_region name="shared_log" size="0x4000" />',
        '<memory_region name="shared_log" size="0x4000" receive_all_untypeds="true" />',
    )
    diags = await open_text(one_client, URI, text)
    d = next(d for d in diags if d.code == "UH006")
    assert d.severity == T.DiagnosticSeverity.Warning and list(d.tags) == [T.DiagnosticTag.Deprecated]
    after = await apply_first(one_client, text, d, 2)
    codes = {x.code for x in after}
    assert (
        "UH006" not in codes and "UH005" in codes
    )  # now the <cnode post_capdl_untypeds> form, with its authority hint


async def test_ex_family(strict_client):
    diags = await open_text(strict_client, URI, EXT)
    ex = [d for d in diags if d.code == "EX001"]
    assert any(d.message == "invalid XML element 'untyped' (an sdf-lsp extension)" for d in ex)
    assert any(d.message == "Cap type: 'notification' is not supported (an sdf-lsp extension)" for d in ex)
    t = await strict_client.workspace_execute_command_async(
        T.ExecuteCommandParams(command="sdf.describeTarget", arguments=[{}])
    )
    assert t["dialect"] == "microkit-2.3"


async def test_settings_change_reanalyses_and_bad_settings_are_reported(one_client):
    diags = await open_text(one_client, URI, EXT)
    assert not any(d.code == "EX001" for d in diags)
    one_client.workspace_did_change_configuration(
        T.DidChangeConfigurationParams(settings={"sdf": {"dialect": "microkit-2.3"}})
    )
    for _ in range(50):
        await one_client.wait_for_notification(T.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        if any(d.code == "EX001" for d in one_client.diagnostics[URI]):
            break
    assert any(d.code == "EX001" for d in one_client.diagnostics[URI])
    one_client.workspace_did_change_configuration(
        T.DidChangeConfigurationParams(settings={"sdf": {"target": {"board": "no_such_board"}}})
    )
    msg = await one_client.wait_for_notification(T.WINDOW_SHOW_MESSAGE)
    assert "no_such_board" in msg.message
    t = await one_client.workspace_execute_command_async(
        T.ExecuteCommandParams(command="sdf.describeTarget", arguments=[{}])
    )
    assert t["label"] == "qemu_virt_aarch64 (release)"  # the default target, and the server still answers


async def test_unnest_child_refactoring(one_client):
    from ..conftest import SHARED

    text = (SHARED / "corpus/microkit-examples/hierarchy__hierarchy.system").read_text()
    await open_text(one_client, URI, text)
    at = find(text, 'name="crasher"', delta=7)
    acts = await one_client.text_document_code_action_async(
        T.CodeActionParams(
            text_document=doc(text), range=T.Range(start=at, end=at), context=T.CodeActionContext(diagnostics=[])
        )
    )
    act = next(a for a in acts if a.title.startswith("Un-nest 'crasher'"))
    assert act.kind == T.CodeActionKind.RefactorRewrite and act.diagnostics is None
    edits = sorted(act.edit.changes[URI], key=lambda e: (e.range.start.line, e.range.start.character), reverse=True)
    diags = await change(one_client, URI, 2, [edit(e.range.start, e.range.end, e.new_text) for e in edits])
    assert not [d for d in diags if d.severity == T.DiagnosticSeverity.Error]
