"""`sdf.build` through the language server: progress, outputs, errors as diagnostics."""

import shutil

from lsprotocol import types as T

from ..conftest import SHARED
from .conftest import CLIENTS, change, edit, find, make_fixture, open_text

GOLDEN = SHARED / "golden"
SETTINGS = {
    "sdf": {
        "target": {"sdk": str(GOLDEN / "sdk"), "board": "qemu_virt_aarch64", "config": "debug"},
        "searchPaths": [str(GOLDEN / "elf" / "hello")],
    }
}
client = make_fixture(SETTINGS, clients=CLIENTS[:1])  # both clients report progress alike


async def test_build_writes_the_outputs_and_reports_progress(client, tmp_path):
    src = GOLDEN / "systems" / "hello" / "hello.system"
    sdf = tmp_path / "hello.system"
    shutil.copy(src, sdf)
    uri = sdf.as_uri()
    await open_text(client, uri, sdf.read_text())
    res = await client.workspace_execute_command_async(
        T.ExecuteCommandParams(command="sdf.build", arguments=[{"uri": uri}])
    )
    assert res["ok"], res
    assert res["outDir"] == str(tmp_path / "build" / "hello")
    names = {p.split("/")[-1] for p in res["files"]}
    assert {"capdl.json", "report.txt", "loader.img", "initialiser.elf"} <= names
    assert (tmp_path / "build" / "hello" / "report.txt").read_text() == (
        GOLDEN / "systems" / "hello" / "report.txt"
    ).read_text()
    window = client.capabilities.window
    if window and window.work_done_progress:
        (reports,) = [r for r in client.progress_reports.values() if r]
        assert isinstance(reports[0], T.WorkDoneProgressBegin) and isinstance(reports[-1], T.WorkDoneProgressEnd)
        assert any(isinstance(r, T.WorkDoneProgressReport) and r.percentage for r in reports)


async def test_build_errors_become_diagnostics(client, tmp_path):
    text = (GOLDEN / "systems" / "hello" / "hello.system").read_text().replace("hello.elf", "missing.elf")
    sdf = tmp_path / "hello.system"
    sdf.write_text(text)
    uri = sdf.as_uri()
    await open_text(client, uri, text)
    res = await client.workspace_execute_command_async(
        T.ExecuteCommandParams(command="sdf.build", arguments=[{"uri": uri, "outDir": str(tmp_path / "out")}])
    )
    assert not res["ok"] and "unable to find program image: 'missing.elf'" in res["errors"][0]
    assert not (tmp_path / "out").exists()
    for _ in range(20):
        diags = client.diagnostics.get(uri, [])
        if any(d.code == "BLD001" for d in diags):
            break
        await client.wait_for_notification(T.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    d = next(d for d in client.diagnostics[uri] if d.code == "BLD001")
    assert d.severity == T.DiagnosticSeverity.Error and d.range.start == find(text, '"missing.elf"', delta=1)
    # an edit clears it (the next build will say again)
    diags = await change(client, uri, 2, [edit(find(text, "missing"), find(text, "missing", delta=7), "hello")])
    assert not any(x.code == "BLD001" for x in diags)
