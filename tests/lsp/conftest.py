"""A real LSP client (pytest-lsp) talking to `python -m sdf_lsp serve` over stdio, once with
VS Code's and once with Neovim's client capabilities (`client`), or only with VS Code's
(`one_client`) for requests whose answer does not depend on them.

The features themselves are tested in-process under tests/ide; these tests check the
protocol around them: conversions, capabilities, commands, settings and robustness."""

import sys
from pathlib import Path

import pytest_lsp
from lsprotocol import types as T
from pytest_lsp import ClientServerConfig, LanguageClient

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"

CLIENTS = ["visual-studio-code", "neovim@v0.7.0"]


def make_fixture(init_options=None, clients=CLIENTS):
    @pytest_lsp.fixture(
        params=clients, config=ClientServerConfig(server_command=[sys.executable, "-m", "sdf_lsp", "serve"])
    )
    async def client(request, lsp_client: LanguageClient):
        record_versions(lsp_client)
        lsp_client.init_result = await lsp_client.initialize_session(
            T.InitializeParams(
                capabilities=pytest_lsp.client_capabilities(request.param),
                root_uri=EXAMPLES.as_uri(),
                initialization_options=init_options or {},
            )
        )
        yield
        await lsp_client.shutdown_session()

    return client


client = make_fixture()
one_client = make_fixture(clients=CLIENTS[:1])


def pos(line, ch):
    return T.Position(line=line, character=ch)


def find(text: str, needle: str, nth: int = 0, delta: int = 0) -> T.Position:
    """Position of the nth occurrence of `needle` (plus `delta` characters)."""
    at = -1
    for _ in range(nth + 1):
        at = text.index(needle, at + 1)
    at += delta
    line = text.count("\n", 0, at)
    return pos(line, at - (text.rfind("\n", 0, at) + 1))


async def open_text(client: LanguageClient, uri: str, text: str, version: int = 1, language_id: str = "sdf"):
    """Open a document and return the diagnostics published for it."""
    client.published.pop(uri, None)  # a re-opened document starts its versions again
    waiting = wait_version(client, uri, version)
    client.text_document_did_open(
        T.DidOpenTextDocumentParams(
            text_document=T.TextDocumentItem(uri=uri, language_id=language_id, version=version, text=text)
        )
    )
    return await waiting


async def change(client: LanguageClient, uri: str, version: int, changes: list, wait: bool = True):
    """Send one didChange; with `wait`, return the diagnostics published for `version`."""
    waiting = wait_version(client, uri, version) if wait else None
    client.text_document_did_change(
        T.DidChangeTextDocumentParams(
            text_document=T.VersionedTextDocumentIdentifier(uri=uri, version=version), content_changes=changes
        )
    )
    if waiting is not None:
        return await waiting


def edit(start: T.Position, end: T.Position, text: str) -> T.TextDocumentContentChangePartial:
    return T.TextDocumentContentChangePartial(range=T.Range(start=start, end=end), text=text)


def record_versions(client: LanguageClient):
    """Keep every publishDiagnostics with its version (pytest-lsp keeps only the last list), and
    accept the server's registrations as an editor does (`accept_registrations`)."""
    import asyncio

    client.published = {}
    client.published_event = asyncio.Event()
    fm = client.protocol.fm
    fm._features.pop(T.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS, None)

    @client.feature(T.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def on_publish(params: T.PublishDiagnosticsParams):
        client.diagnostics[params.uri] = params.diagnostics
        client.published.setdefault(params.uri, []).append((params.version, list(params.diagnostics)))
        client.published_event.set()

    accept_registrations(client)


def accept_registrations(client: LanguageClient):
    """Answer `client/registerCapability` as an editor does, keeping what was registered
    (`client.registrations`); pytest-lsp's client would refuse the request."""
    client.registrations = []

    @client.feature(T.CLIENT_REGISTER_CAPABILITY)
    def on_register(params: T.RegistrationParams):
        client.registrations.extend(params.registrations)


def wait_version(client: LanguageClient, uri: str, version: int, timeout: float = 30.0):
    """A task that finishes with the diagnostics published for `version` of `uri`."""
    import asyncio

    async def waiter():
        while True:
            for v, diags in reversed(client.published.get(uri, [])):
                if v == version:
                    return diags
            client.published_event.clear()
            await client.published_event.wait()

    return asyncio.ensure_future(asyncio.wait_for(waiter(), timeout))
