"""The editor under an sdf-lsp.toml: the same diagnostics as `sdf-lsp check`, a broken file
reported on the file, the silence quick fix, and microkit's search order."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types as T
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.lsp.conftest import CLIENTS, open_text, record_versions, wait_version

WORKSPACE = Path(os.environ.get("TMPDIR", "/tmp")) / f"sdf-lsp-config-test-{os.getpid()}"

SYSTEM = (
    "<system>\n"
    '    <memory_region name="m" size="0x1000" />\n'
    '    <memory_region name="spare" size="0x1000" />\n'
    '    <memory_region name="spare2" size="0x1000" />\n'
    "    <!-- sdf-lsp: ignore MK-W1 -->\n"
    '    <memory_region name="quiet" size="0x1000" />\n'
    '    <protection_domain name="p" priority="300">\n'
    '        <program_image path="p.elf" />\n'
    '        <map mr="m" vaddr="0x2000000" />\n'
    "    </protection_domain>\n"
    "    <!-- sdf-lsp: ignore MK-R7 -->\n"
    '    <memory_region name="nothing_to_silence" size="0x1000" />\n'
    '    <untyped name="u" size_bits="11" />\n'
    "</system>\n"
)
CONFIG = (
    '[target]\nboard = "odroidc4"\nconfig = "debug"\n'
    '[diagnostics]\nignore = ["UT009"]\n[diagnostics.severity]\n"MK-W1" = "error"\n'
)


@pytest.fixture(scope="module", autouse=True)
def remove_workspace():
    yield
    shutil.rmtree(WORKSPACE, ignore_errors=True)


def setup_workspace() -> Path:
    ws = WORKSPACE
    for sub in ("good", "broken", "paths/sub"):
        (ws / sub).mkdir(parents=True, exist_ok=True)
    (ws / "good" / "sdf-lsp.toml").write_text(CONFIG)
    (ws / "good" / "s.system").write_text(SYSTEM)
    (ws / "broken" / "sdf-lsp.toml").write_text('[target]\nboard = "odroidc4"\ncolour = "red"\n')
    (ws / "broken" / "s.system").write_text(SYSTEM)
    return ws


@pytest_lsp.fixture(
    params=CLIENTS[:1], config=ClientServerConfig(server_command=[sys.executable, "-m", "sdf_lsp", "serve"])
)
async def client(request, lsp_client: LanguageClient):
    ws = setup_workspace()
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


def check_json(path: Path) -> list[dict]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MICROKIT_")}
    p = subprocess.run(
        [sys.executable, "-m", "sdf_lsp", "check", "--format", "json", str(path)],
        capture_output=True,
        text=True,
        env=env,
        cwd=WORKSPACE,
    )
    assert p.returncode in (0, 1), p.stderr
    return json.loads(p.stdout)


def as_tuples(diags) -> list[tuple]:
    return sorted(
        (
            d.code,
            int(d.severity),
            d.range.start.line,
            d.range.start.character,
            d.range.end.line,
            d.range.end.character,
            d.message,
        )
        for d in diags
    )


SEVERITY = {"error": 1, "warning": 2, "information": 3, "hint": 4}


async def test_check_and_the_editor_agree_under_an_sdf_lsp_toml(client: LanguageClient):
    path = WORKSPACE / "good" / "s.system"
    diags = await open_text(client, path.as_uri(), SYSTEM)
    cli = [
        (d["code"], SEVERITY[d["severity"]], d["range"]["start"]["line"], d["range"]["start"]["character"],
         d["range"]["end"]["line"], d["range"]["end"]["character"], d["message"])
        for d in check_json(path)
    ]  # fmt: skip
    assert as_tuples(diags) == sorted(cli)
    codes = [d.code for d in diags]
    assert codes.count("MK-W1") == 3 and all(d.severity == 1 for d in diags if d.code == "MK-W1")  # the file's severity
    assert "UT009" not in codes and "SUP001" in codes  # the file's ignore; the comment that silences nothing
    t = await client.workspace_execute_command_async(
        T.ExecuteCommandParams(command="sdf.describeTarget", arguments=[{"uri": path.as_uri()}])
    )
    assert (t["board"], t["config"], t["configFile"]) == ("odroidc4", "debug", str(WORKSPACE / "good" / "sdf-lsp.toml"))


async def test_a_broken_file_is_one_diagnostic_on_it(client: LanguageClient):
    path = WORKSPACE / "broken" / "s.system"
    toml_uri = (WORKSPACE / "broken" / "sdf-lsp.toml").as_uri()
    diags = await open_text(client, path.as_uri(), SYSTEM)
    assert "MK-W1" in {d.code for d in diags} and all(d.code != "UT009" or d.severity == 2 for d in diags)
    [problem] = client.diagnostics[toml_uri]
    assert problem.severity == T.DiagnosticSeverity.Error and problem.range.start.line == 2
    assert "unknown key 'colour' in [target]" in problem.message
    t = await client.workspace_execute_command_async(
        T.ExecuteCommandParams(command="sdf.describeTarget", arguments=[{"uri": path.as_uri()}])
    )
    assert t["board"] == "qemu_virt_aarch64" and t["configFile"] is None  # the server goes on with the defaults
    # fixed on disk: the next analysis reads it again, and the problem is cleared
    (WORKSPACE / "broken" / "sdf-lsp.toml").write_text('[target]\nboard = "odroidc4"\n')
    client.workspace_did_change_watched_files(
        T.DidChangeWatchedFilesParams(changes=[T.FileEvent(uri=toml_uri, type=T.FileChangeType.Changed)])
    )
    for _ in range(100):
        if len(client.diagnostics[toml_uri]) == 0:
            break
        await asyncio.sleep(0.05)
    assert len(client.diagnostics[toml_uri]) == 0
    (WORKSPACE / "broken" / "sdf-lsp.toml").write_text('[target]\nboard = "odroidc4"\ncolour = "red"\n')


async def test_silence_quick_fix(client: LanguageClient):
    path = WORKSPACE / "good" / "s.system"
    uri = path.as_uri()
    diags = await open_text(client, uri, SYSTEM)
    w = next(d for d in diags if d.code == "UT004")  # a warning
    acts = await client.text_document_code_action_async(
        T.CodeActionParams(
            text_document=T.TextDocumentIdentifier(uri=uri),
            range=w.range,
            context=T.CodeActionContext(diagnostics=[w]),
        )
    )
    titles = [a.title for a in acts]
    assert f"Silence {w.code} here" in titles and f"Silence {w.code} in this file" in titles
    here = next(a for a in acts if a.title == f"Silence {w.code} here")
    [edit] = here.edit.changes[uri]
    assert edit.new_text.strip() == f"<!-- sdf-lsp: ignore {w.code} -->"
    lines = SYSTEM.split("\n")
    assert edit.range.start == edit.range.end and edit.range.start.character == 0
    lines.insert(edit.range.start.line, edit.new_text.rstrip("\n"))
    new = "\n".join(lines)
    waiting = wait_version(client, uri, 2)
    client.text_document_did_change(
        T.DidChangeTextDocumentParams(
            text_document=T.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[T.TextDocumentContentChangeWholeDocument(text=new)],
        )
    )
    after = await waiting
    assert len([d for d in after if d.code == w.code]) == len([d for d in diags if d.code == w.code]) - 1
    errors = [d for d in diags if d.severity == T.DiagnosticSeverity.Error]
    if errors:  # an error is fixed, not silenced: no action offers it
        acts = await client.text_document_code_action_async(
            T.CodeActionParams(
                text_document=T.TextDocumentIdentifier(uri=uri),
                range=errors[0].range,
                context=T.CodeActionContext(diagnostics=[errors[0]]),
            )
        )
        assert not any(a.title.startswith("Silence") for a in acts or [])


async def test_the_workspace_folder_is_searched_before_the_document_folder(client: LanguageClient):
    text = SYSTEM.replace('name="m" size="0x1000"', 'name="m" size="0x1000" prefill_path="fill.bin"')
    (WORKSPACE / "fill.bin").write_bytes(b"x" * 10)
    (WORKSPACE / "paths" / "sub" / "fill.bin").write_bytes(b"x" * 0x2000)  # too large for the region
    diags = await open_text(client, (WORKSPACE / "paths" / "sub" / "s.system").as_uri(), text)
    assert "MK-R7" not in {d.code for d in diags}
    (WORKSPACE / "fill.bin").unlink()
    diags = await open_text(client, (WORKSPACE / "paths" / "sub" / "t.system").as_uri(), text)
    assert "MK-R7" in {d.code for d in diags}
