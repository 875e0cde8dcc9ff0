"""Server commands the editors build on: the target's state for the status bar, the boards
to pick from, the graph as DOT, a build without an SDK; SDF016 in the editor's words; the
server's log lines (levels, no traceback for a refused request)."""

import os
import sys

from lsprotocol import types as T

from ..conftest import SHARED
from ..stdio_lsp import StdioServer
from .conftest import EXAMPLES, make_fixture, open_text

GOLDEN = SHARED / "golden"
ECHO = EXAMPLES / "echo" / "echo.system"

client = make_fixture()
bad_board = make_fixture({"sdf": {"target": {"board": "no_such_board"}}})
found_one = make_fixture({"sdf": {"searchPaths": [str(GOLDEN / "elf" / "hello")]}})


async def command(client, name, args=None):
    return await client.workspace_execute_command_async(T.ExecuteCommandParams(command=name, arguments=[args or {}]))


async def test_describe_target_keeps_its_keys_and_adds_problem_and_sdk(client):
    t = await command(client, "sdf.describeTarget")
    assert {"label", "arch", "board", "config", "source"} <= set(t)
    assert t["source"] == "default" and t["problem"] is None and t["sdk"] is None


async def test_a_setting_that_fell_back_is_described(bad_board):
    t = await command(bad_board, "sdf.describeTarget")
    assert t["source"] == "default" and "unknown board 'no_such_board'" in t["problem"]


async def test_list_boards(client):
    boards = await command(client, "sdf.listBoards")
    by_name = {b["board"]: b for b in boards}
    assert by_name["qemu_virt_aarch64"]["source"] == "builtin"
    assert by_name["qemu_virt_aarch64"]["configs"][:3] == ["release", "debug", "benchmark"]
    assert by_name["qemu_virt_riscv64"]["arch"] == "riscv64"
    sdk = await command(client, "sdf.listBoards", {"sdk": str(GOLDEN / "sdk")})
    assert sdk[0] == {"board": "qemu_virt_aarch64", "source": "sdk", "configs": ["release", "debug"], "arch": "aarch64"}
    assert len(sdk) == len(boards) + 1


async def test_graph_as_dot_and_svg(client):
    await open_text(client, ECHO.as_uri(), ECHO.read_text())
    dot = await command(client, "sdf.showGraph", {"uri": ECHO.as_uri(), "view": "authority", "format": "dot"})
    assert dot.lstrip().startswith("digraph") and "uart_driver" in dot
    svg = await command(client, "sdf.showGraph", {"uri": ECHO.as_uri(), "view": "memory"})
    assert "<svg" in svg


async def test_build_without_an_sdk_says_which_setting(client, tmp_path):
    await open_text(client, ECHO.as_uri(), ECHO.read_text())
    res = await command(client, "sdf.build", {"uri": ECHO.as_uri(), "outDir": str(tmp_path / "out")})
    assert res["ok"] is False and res["needsSdk"] is True
    assert "sdf.target.sdk" in res["errors"][0] and "--sdk" not in res["errors"][0]
    assert not (tmp_path / "out").exists()


async def test_missing_program_images_only_when_some_are_found(client, found_one, tmp_path):
    diags = await open_text(client, ECHO.as_uri(), ECHO.read_text())
    assert not [d for d in diags if d.code == "SDF016"]  # none is built: nothing to say
    text = (
        '<system><protection_domain name="a"><program_image path="hello.elf"/></protection_domain>'
        '<protection_domain name="b"><program_image path="helo.elf"/></protection_domain></system>'
    )
    uri = (tmp_path / "two.system").as_uri()
    diags = await open_text(found_one, uri, text)
    (d,) = [d for d in diags if d.code == "SDF016"]
    assert d.severity == T.DiagnosticSeverity.Information and "'helo.elf'" in d.message
    assert "sdf.searchPaths" in d.message and "sdf-lsp build" not in d.message and "--search-path" not in d.message


def test_log_lines_carry_their_level_and_refusals_are_one_line(tmp_path):
    env = dict(os.environ, SDF_LSP_LOG_LEVEL="INFO")
    server = StdioServer([sys.executable, "-m", "sdf_lsp", "serve"], cwd=tmp_path, env=env)
    try:
        server.initialize(EXAMPLES.as_uri())
        text = ECHO.read_text()
        server.open(ECHO.as_uri(), text)
        line = text[: text.index('name="client"')].count("\n")
        ch = text.splitlines()[line].index('name="client"') + 7
        res = server.request(
            "textDocument/rename",
            {
                "textDocument": {"uri": ECHO.as_uri()},
                "position": {"line": line, "character": ch},
                "newName": "echo_server",
            },
        )
        assert res["error"]["code"] == -32803, res
        res = server.request(
            "workspace/executeCommand",
            {
                "command": "sdf.showCSpace",
                "arguments": [{"uri": ECHO.as_uri(), "position": {"line": 0, "character": 0}}],
            },
        )
        assert "protection domain" in res["error"]["message"], res
    finally:
        server.close()
    log = server.stderr.decode()
    assert "Traceback" not in log, log
    refused = [ln for ln in log.splitlines() if "request refused" in ln]
    assert len(refused) == 2 and all(ln.startswith("INFO ") for ln in refused), log
    assert all(ln.split(" ", 1)[0] in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL") for ln in log.splitlines()), log
