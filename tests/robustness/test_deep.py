"""100,000 nested elements: `check` prints a "nesting too deep" diagnostic and the server
answers every feature, never a RecursionError. Bounded by subprocess timeouts."""

import json
import subprocess
import sys

import pytest

from sdf_lsp.syntax.scanner import MAX_DEPTH

from .jsonrpc import RawServer

pytestmark = pytest.mark.e2e

LEVELS = 100_000
TIMEOUT = 300  # seconds for one check or one answer (a hang fails, a slow machine does not)


def nested_pds(levels: int, closed: bool = True) -> str:
    inner = '<program_image path="p.elf" /><map mr="m" vaddr="0x200000" perms="rw" />'
    opens = "".join(f'\n<protection_domain name="pd{i}" priority="1">' for i in range(levels))
    ends = "</protection_domain>" * levels if closed else ""
    return f'<system>\n<memory_region name="m" size="0x1000" />{opens}{inner}{ends}\n</system>\n'


CASES = {
    "pds": nested_pds(LEVELS),
    "pds-unclosed": nested_pds(LEVELS, closed=False),
    "unknown-elements": "<system>" + "<a>" * LEVELS + "</a>" * LEVELS + "</system>",
    "truncated": "<system>" + "<a><!-- x -->" * LEVELS,
    "at-the-limit": nested_pds(MAX_DEPTH - 1),  # the deepest tree that is built whole
}


@pytest.mark.parametrize("name", CASES)
def test_check(tmp_path, name):
    path = tmp_path / f"{name}.system"
    path.write_text(CASES[name])
    run = subprocess.run(
        [sys.executable, "-m", "sdf_lsp", "check", "--format", "json", str(path)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    assert run.returncode == 1, run.stderr
    codes = {d["code"] for d in json.loads(run.stdout)}
    assert ("XML005" in codes) == (name != "at-the-limit"), codes


@pytest.mark.parametrize("name", CASES)
def test_server(name):
    text = CASES[name]
    uri = f"file:///tmp/sdf-lsp-robustness/{name}.system"
    lines = text.count("\n")
    deep = {"line": min(lines, MAX_DEPTH + 2), "character": 20}
    doc = {"uri": uri}
    everything = {"start": {"line": 0, "character": 0}, "end": {"line": lines + 1, "character": 0}}
    with RawServer() as server:
        server.initialize()
        server.open(uri, text)
        published = server.wait_for(
            lambda m: m.get("method") == "textDocument/publishDiagnostics", TIMEOUT, "the diagnostics"
        )
        codes = {d["code"] for d in published["params"]["diagnostics"]}
        assert ("XML005" in codes) == (name != "at-the-limit"), codes
        for method, params in [
            ("textDocument/hover", {"textDocument": doc, "position": deep}),
            ("textDocument/completion", {"textDocument": doc, "position": deep}),
            ("textDocument/definition", {"textDocument": doc, "position": deep}),
            (
                "textDocument/references",
                {"textDocument": doc, "position": deep, "context": {"includeDeclaration": True}},
            ),
            ("textDocument/documentHighlight", {"textDocument": doc, "position": deep}),
            ("textDocument/documentSymbol", {"textDocument": doc}),
            ("textDocument/foldingRange", {"textDocument": doc}),
            ("textDocument/documentLink", {"textDocument": doc}),
            ("textDocument/inlayHint", {"textDocument": doc, "range": everything}),
            ("textDocument/codeAction", {"textDocument": doc, "range": everything, "context": {"diagnostics": []}}),
            ("workspace/symbol", {"query": "pd"}),
            ("workspace/executeCommand", {"command": "sdf.showCSpace", "arguments": [{"uri": uri, "position": deep}]}),
        ]:
            answer = server.request(method, params, timeout=TIMEOUT)
            # showCSpace may refuse (RequestFailed) where there is no PD
            assert "result" in answer or answer["error"]["code"] == -32803, (method, answer)
        # an edit deep inside is analysed too
        server.notify(
            "textDocument/didChange",
            {
                "textDocument": {"uri": uri, "version": 2},
                "contentChanges": [{"range": {"start": deep, "end": deep}, "text": "<!-- -->"}],
            },
        )
        assert "result" in server.request("textDocument/documentSymbol", {"textDocument": doc}, timeout=TIMEOUT)
        assert "Traceback" not in server.errors(), server.errors()[-3000:]
