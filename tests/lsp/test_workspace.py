"""Diagnostics of the whole workspace: every `*.system` under the workspace folder is checked in
the background, so closed files have their diagnostics; the editor's copy of an open document
wins over the disk copy; files changed on disk (`workspace/didChangeWatchedFiles`) are checked
again; `sdf.workspace.check: false` turns it off."""

from __future__ import annotations

import asyncio
import shutil
import sys
import tempfile
from pathlib import Path

import pytest_lsp
from lsprotocol import types as T
from pytest_lsp import ClientServerConfig, LanguageClient

from .conftest import CLIENTS, EXAMPLES, change, open_text, record_versions

ECHO = (EXAMPLES / "echo" / "echo.system").read_text()
BROKEN = (EXAMPLES / "echo" / "echo_broken.system").read_text()
ERRORS = 4  # the deliberate mistakes of echo_broken.system


def make_workspace(root: Path) -> Path:
    ws = root / "ws"
    (ws / "sub").mkdir(parents=True)
    (ws / "a.system").write_text(ECHO)
    (ws / "sub" / "b.system").write_text(BROKEN)
    for skipped in (".hidden", "build", "node_modules", "out"):
        (ws / skipped).mkdir()
        (ws / skipped / "c.system").write_text(BROKEN)
    (ws / "out" / ".sdf-lsp-build.json").write_text("{}")  # a folder a build wrote
    (ws / "notes.txt").write_text(BROKEN)
    return ws


@pytest_lsp.fixture(
    params=CLIENTS, config=ClientServerConfig(server_command=[sys.executable, "-m", "sdf_lsp", "serve"])
)
async def client(request, lsp_client: LanguageClient):
    root = Path(tempfile.mkdtemp(prefix="sdf-lsp-ws-"))
    ws = make_workspace(root)
    lsp_client.ws = ws
    lsp_client.caps_name = request.param
    record_versions(lsp_client)
    await lsp_client.initialize_session(
        T.InitializeParams(
            capabilities=pytest_lsp.client_capabilities(request.param),
            root_uri=ws.as_uri(),
            workspace_folders=[T.WorkspaceFolder(uri=ws.as_uri(), name="ws")],
        )
    )
    yield
    await lsp_client.shutdown_session()
    shutil.rmtree(root, ignore_errors=True)


async def published(client: LanguageClient, uri: str, count: int | None = None):
    """The diagnostics last published from disk (version None) for `uri`, once there are `count`
    publications of it (or any, when `count` is None)."""

    async def waiter():
        while True:
            got = [d for v, d in client.published.get(uri, []) if v is None]
            if got and (count is None or len(got) >= count):
                return got[-1]
            client.published_event.clear()
            await client.published_event.wait()

    return await asyncio.wait_for(waiter(), 30.0)


def errors(diags) -> list[str]:
    return sorted(d.code for d in diags if d.severity == T.DiagnosticSeverity.Error)


def watched(client: LanguageClient, path: Path, kind: T.FileChangeType):
    client.workspace_did_change_watched_files(
        T.DidChangeWatchedFilesParams(changes=[T.FileEvent(uri=path.as_uri(), type=kind)])
    )


async def test_closed_files_have_their_diagnostics(client):
    ws = client.ws
    assert len(errors(await published(client, (ws / "sub" / "b.system").as_uri()))) == ERRORS
    assert errors(await published(client, (ws / "a.system").as_uri())) == []
    await asyncio.sleep(0.5)  # everything the check found is published by now: nothing from skipped folders
    assert {Path(u.removeprefix("file://")).name for u in client.published} == {"a.system", "b.system"}
    if client.caps_name == "visual-studio-code":  # it registers watchers dynamically
        (reg,) = client.registrations
        assert reg.method == T.WORKSPACE_DID_CHANGE_WATCHED_FILES
        assert [w["globPattern"] for w in reg.register_options["watchers"]] == ["**/*.system"]


async def test_the_open_copy_wins_and_closing_brings_back_the_disk_copy(client):
    b = (client.ws / "sub" / "b.system").as_uri()
    await published(client, b)
    fixed = BROKEN.replace('size="0x4100"', 'size="0x4000"')
    diags = await open_text(client, b, fixed)
    assert len(errors(diags)) == ERRORS - 1
    # the file changes on disk while it is open: nothing is published from disk
    (client.ws / "sub" / "b.system").write_text(BROKEN + "\n")
    before = len(client.published[b])
    watched(client, client.ws / "sub" / "b.system", T.FileChangeType.Changed)
    await change(client, b, 2, [T.TextDocumentContentChangeWholeDocument(text=fixed + " ")])
    await asyncio.sleep(0.5)
    assert all(v is not None for v, _ in client.published[b][before:])
    # closed: the disk copy's diagnostics replace the editor's
    n = sum(v is None for v, _ in client.published[b])
    client.text_document_did_close(T.DidCloseTextDocumentParams(text_document=T.TextDocumentIdentifier(uri=b)))
    assert len(errors(await published(client, b, n + 1))) == ERRORS


async def test_files_changed_created_and_deleted_on_disk(client):
    ws = client.ws
    a = ws / "a.system"
    await published(client, a.as_uri())
    a.write_text(BROKEN)
    watched(client, a, T.FileChangeType.Changed)
    assert len(errors(await published(client, a.as_uri(), 2))) == ERRORS
    new = ws / "sub" / "new.system"
    new.write_text(BROKEN.replace("<system>", "<system><oops/>"))
    watched(client, new, T.FileChangeType.Created)
    assert len(errors(await published(client, new.as_uri()))) > ERRORS
    new.unlink()
    watched(client, new, T.FileChangeType.Deleted)
    assert await published(client, new.as_uri(), 2) == []


async def test_an_sdf_lsp_toml_change_checks_every_file_again(client):
    ws = client.ws
    b = (ws / "sub" / "b.system").as_uri()
    await published(client, b)
    (ws / "sdf-lsp.toml").write_text('[diagnostics]\nignore = ["MK-"]\n')
    watched(client, ws / "sdf-lsp.toml", T.FileChangeType.Created)
    assert len(errors(await published(client, b, 2))) < ERRORS


async def test_turned_off_the_disk_diagnostics_are_taken_back(client):
    ws = client.ws
    b = (ws / "sub" / "b.system").as_uri()
    await published(client, b)
    client.workspace_did_change_configuration(
        T.DidChangeConfigurationParams(settings={"sdf": {"workspace": {"check": False}}})
    )
    assert await published(client, b, 2) == []
    # and nothing comes back when a file changes
    watched(client, ws / "sub" / "b.system", T.FileChangeType.Changed)
    await asyncio.sleep(0.5)
    assert len([v for v, _ in client.published[b] if v is None]) == 2
