"""Files the server reads from disk: the workspace-symbol scan skips what is no regular file or
too large (and the server keeps answering), files an open SDF names are refused the same way,
and prefill files created or resized while a document is open count at the next edit, unsaved.

The server runs with a bounded address space, so a runaway read fails instead of swapping; a
FIFO left in the workspace is released before the session is shut down, so a server that blocked
on one fails the test instead of blocking it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from pathlib import Path

import pytest_lsp
from lsprotocol import types as T
from pytest_lsp import ClientServerConfig, LanguageClient

from .conftest import change, edit, find, open_text, pos, record_versions

MEMORY = 2 * 2**30
SERVE = (
    "import resource, sys\n"
    f"resource.setrlimit(resource.RLIMIT_AS, ({MEMORY}, {MEMORY}))\n"
    "from sdf_lsp.cli import main\n"
    "sys.exit(main(['serve']))\n"
)


@pytest_lsp.fixture(
    params=["visual-studio-code"], config=ClientServerConfig(server_command=[sys.executable, "-c", SERVE])
)
async def client(request, lsp_client: LanguageClient, tmp_path):
    record_versions(lsp_client)
    workspace = tmp_path / "ws"
    workspace.mkdir()
    lsp_client.workspace = workspace
    await lsp_client.initialize_session(
        T.InitializeParams(capabilities=pytest_lsp.client_capabilities(request.param), root_uri=workspace.as_uri())
    )
    yield
    for path in workspace.rglob("*"):
        if path.is_fifo():
            with contextlib.suppress(OSError):  # nobody waits on it
                os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
    await lsp_client.shutdown_session()


async def answered(request, what: str, seconds: float = 30.0):
    try:
        return await asyncio.wait_for(request, seconds)
    except TimeoutError:
        raise AssertionError(f"the server did not answer {what} in {seconds} s") from None


async def workspace_symbols(client: LanguageClient, query: str) -> set[tuple[str, str]]:
    found = await answered(
        client.workspace_symbol_async(T.WorkspaceSymbolParams(query=query)), f"workspace/symbol {query!r}"
    )
    return {(s.name, Path(s.location.uri.removeprefix("file://")).name) for s in found or ()}


async def test_the_workspace_scan_skips_what_is_no_sdf_to_read(client):
    ws: Path = client.workspace
    (ws / "a.system").write_text('<system><protection_domain name="alpha" /></system>\n')
    os.mkfifo(ws / "x.system")
    (ws / "zero.system").symlink_to("/dev/zero")
    (ws / "sub").mkdir()
    (ws / "sub" / "huge.system").touch()
    os.truncate(ws / "sub" / "huge.system", 100 * 2**20)  # sparse
    (ws / "sub" / "b.system").write_text('<system><memory_region name="beta" size="0x1000" /></system>\n')
    assert await workspace_symbols(client, "") == {("alpha", "a.system"), ("beta", "b.system")}
    assert await workspace_symbols(client, "alp") == {("alpha", "a.system")}  # from the cache, still in time
    # and the server goes on answering everything else
    uri = (ws / "a.system").as_uri()
    text = (ws / "a.system").read_text()
    await open_text(client, uri, text)
    symbols = await answered(
        client.text_document_document_symbol_async(
            T.DocumentSymbolParams(text_document=T.TextDocumentIdentifier(uri=uri))
        ),
        "documentSymbol",
    )
    assert [s.name for s in symbols] == ["alpha"]


PREFILLED = """<system>
    <memory_region name="m" prefill_path="data.bin" />
    <memory_region name="n" size="0x1000" prefill_path="data.bin" />
    <protection_domain name="p"><map mr="m" vaddr="0x1000000" /></protection_domain>
</system>
"""


def codes(diags) -> list[str]:
    return sorted(d.code for d in diags if d.code in ("MK-R4", "MK-R7"))


async def test_prefill_files_created_and_resized_while_open_count_without_a_save(client):
    ws: Path = client.workspace
    uri = (ws / "s.system").as_uri()
    diags = await open_text(client, uri, PREFILLED)
    assert codes(diags) == ["MK-R4", "MK-R4"]
    (ws / "data.bin").write_bytes(b"x" * 100)
    diags = await change(client, uri, 2, [edit(pos(0, 0), pos(0, 0), " ")])
    assert codes(diags) == []
    (ws / "data.bin").write_bytes(b"x" * 0x1800)
    diags = await change(client, uri, 3, [edit(pos(0, 0), pos(0, 1), "")])
    assert codes(diags) == ["MK-R7"]
    (ws / "data.bin").unlink()
    diags = await change(client, uri, 4, [edit(pos(0, 0), pos(0, 0), " ")])
    assert codes(diags) == ["MK-R4", "MK-R4"]


NAMING_A_FIFO = """<system>
    <memory_region name="m" size="0x1000" prefill_path="fifo.bin" />
    <protection_domain name="p"><program_image path="fifo.bin" /><map mr="m" vaddr="0x1000000" /></protection_domain>
    <protection_domain name="q"><program_image path="/dev/zero" /></protection_domain>
</system>
"""


async def test_an_sdf_naming_a_fifo_and_dev_zero_is_analysed_in_time(client):
    ws: Path = client.workspace
    os.mkfifo(ws / "fifo.bin")
    uri = (ws / "f.system").as_uri()
    diags = await open_text(client, uri, NAMING_A_FIFO)
    found = {(d.code, d.message) for d in diags if d.code in ("MK-R4", "SDF016")}
    assert found == {
        ("MK-R4", "failed to read file 'fifo.bin' at prefill_path on element 'memory_region'"),
        ("SDF016", f"'{ws / 'fifo.bin'}' is not a regular file (a FIFO)"),
        ("SDF016", "'/dev/zero' is not a regular file (a character device)"),
    }
    hover = await answered(
        client.text_document_hover_async(
            T.HoverParams(
                text_document=T.TextDocumentIdentifier(uri=uri), position=find(NAMING_A_FIFO, 'name="p"', delta=7)
            )
        ),
        "hover",
    )
    assert hover is not None
