"""Random incremental edits over LSP (pytest-lsp's client, the real server): after each
sequence, the diagnostics the server published for the edited document equal those of a
fresh open of the same text, and equal what `sdf-lsp check --format json` prints for it.
At least 2,000 edits by default; SDF_LSP_ROBUSTNESS_EDITS (and SDF_LSP_ROBUSTNESS_SECONDS)
run longer."""

import asyncio
import json
import subprocess
import sys
import time

import pytest
import pytest_lsp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lsprotocol import types as T
from pygls.protocol import default_converter
from pytest_lsp import ClientServerConfig

from ..lsp.conftest import open_text, record_versions, wait_version
from .edits import (
    LSP_EDITS,
    LSP_SECONDS,
    apply,
    concrete,
    corpus,
    from_check,
    from_lsp,
    lsp_position,
    notification,
    read,
    representable,
)

pytestmark = pytest.mark.e2e

SERVER = ClientServerConfig(server_command=[sys.executable, "-m", "sdf_lsp", "serve"])
CONVERTER = default_converter()
FILES = corpus(max_size=40_000)


@pytest.fixture(scope="module")
def lsp(tmp_path_factory):
    """One server for the whole run, driven from this test's own event loop (hypothesis
    calls the property synchronously)."""
    folder = tmp_path_factory.mktemp("edits")
    loop = asyncio.new_event_loop()
    client = loop.run_until_complete(SERVER.start())
    record_versions(client)
    loop.run_until_complete(
        client.initialize_session(
            T.InitializeParams(
                capabilities=pytest_lsp.client_capabilities("visual-studio-code"), root_uri=folder.as_uri()
            )
        )
    )
    yield loop, client, folder
    loop.run_until_complete(client.shutdown_session())
    loop.run_until_complete(client.stop())
    loop.close()


def published(diagnostics) -> list[tuple]:
    return from_lsp([CONVERTER.unstructure(d) for d in diagnostics])


async def edit_and_compare(client, folder, n: int, start: str, steps) -> tuple[str, list, int]:
    """Open `start`, send the steps, and compare with a fresh open; returns the final text,
    its diagnostics and the number of changes sent."""
    uri = (folder / f"edited-{n}.system").as_uri()
    text = start
    await open_text(client, uri, text)
    version, sent = 1, 0
    waited = True
    for changes, wait in steps:
        version += 1
        content = []
        for plan in changes:
            start_, end, new = representable(text, concrete(text, plan))
            content.append(
                T.TextDocumentContentChangePartial(
                    range=T.Range(
                        start=T.Position(**lsp_position(text, start_)), end=T.Position(**lsp_position(text, end))
                    ),
                    text=new,
                )
            )
            text = apply(text, (start_, end, new))
            sent += 1
        waiting = wait_version(client, uri, version) if wait else None
        client.text_document_did_change(
            T.DidChangeTextDocumentParams(
                text_document=T.VersionedTextDocumentIdentifier(uri=uri, version=version), content_changes=content
            )
        )
        if waiting is not None:
            await waiting  # the server analysed this version: the next edit starts from its caches
        waited = wait
    after_edits = await wait_version(client, uri, version) if not waited else client.published[uri][-1][1]
    server_copy = await client.workspace_execute_command_async(
        T.ExecuteCommandParams(command="sdf.documentText", arguments=[{"uri": uri}])
    )
    assert server_copy == {"version": version, "text": text}
    fresh_uri = (folder / f"fresh-{n}.system").as_uri()
    fresh = await open_text(client, fresh_uri, text)
    for u in (uri, fresh_uri):
        client.text_document_did_close(T.DidCloseTextDocumentParams(text_document=T.TextDocumentIdentifier(uri=u)))
    got, want = published(after_edits), published(fresh)
    assert got == want, (
        f"only after the edits: {sorted(set(got) - set(want))[:3]}; "
        f"only in a fresh open: {sorted(set(want) - set(got))[:3]}"
    )
    return text, want, sent


def check_json(paths: list) -> dict[str, list]:
    """`sdf-lsp check --format json` over many files at once, by file."""
    out: dict[str, list] = {str(p): [] for p in paths}
    for i in range(0, len(paths), 200):
        chunk = [str(p) for p in paths[i : i + 200]]
        run = subprocess.run(
            [sys.executable, "-m", "sdf_lsp", "check", "--format", "json", *chunk],
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert run.returncode in (0, 1), run.stderr[-3000:]
        for d in json.loads(run.stdout):
            out[d["file"]].append(d)
    return out


def test_edits_over_lsp_equal_a_fresh_open_and_check(lsp):
    loop, client, folder = lsp
    done = {"edits": 0, "sequences": 0}
    finals: dict = {}  # path of the final text -> diagnostics the server published for it
    deadline = time.monotonic() + LSP_SECONDS if LSP_SECONDS else None

    @settings(
        max_examples=100,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(st.sampled_from(FILES), st.lists(st.tuples(notification, st.booleans()), min_size=1, max_size=25))
    def sequence(path, steps):
        if done["edits"] >= LSP_EDITS or (deadline and time.monotonic() > deadline):
            return
        n = done["sequences"]
        text, diagnostics, sent = loop.run_until_complete(edit_and_compare(client, folder, n, read(path), steps))
        final = folder / f"final-{n}.system"
        final.write_bytes(text.encode("utf-8"))
        finals[final] = diagnostics
        done["edits"] += sent
        done["sequences"] += 1

    while done["edits"] < LSP_EDITS and not (deadline and time.monotonic() > deadline):
        sequence()
    print(f"{done['edits']} edits over LSP in {done['sequences']} sequences")

    # what `check` prints for every final text equals what the server published for it
    printed = check_json(list(finals))
    for path, diagnostics in finals.items():
        want = from_check(printed[str(path)])
        assert diagnostics == want, (
            f"{path.name}: only in the server: {sorted(set(diagnostics) - set(want))[:3]}; "
            f"only from check: {sorted(set(want) - set(diagnostics))[:3]}"
        )
