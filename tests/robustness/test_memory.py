"""The server keeps nothing per message: the resident memory after 10,000 didChange
notifications stays where it was (measured from /proc, after the server's idle collection)."""

import time

import pytest

from .jsonrpc import RawServer

pytestmark = pytest.mark.e2e

URI = "file:///tmp/sdf-lsp-robustness/typing.system"
GROWTH_LIMIT_KIB = 8 * 1024  # what a leak of ~1 KiB per notification would exceed


def type_and_erase(server: RawServer, first_version: int, count: int) -> int:
    """`count` notifications that insert and delete one character; returns the next version."""
    version = first_version
    for _ in range(count):
        insert = version % 2 == 0
        server.notify(
            "textDocument/didChange",
            {
                "textDocument": {"uri": URI, "version": version},
                "contentChanges": [
                    {
                        "range": {
                            "start": {"line": 1, "character": 0},
                            "end": {"line": 1, "character": 0 if insert else 1},
                        },
                        "text": "a" if insert else "",
                    }
                ],
            },
        )
        version += 1
    # a request is answered from the analysis of the newest text: every notification was handled
    assert "result" in server.request("textDocument/documentSymbol", {"textDocument": {"uri": URI}}, timeout=120)
    time.sleep(1.5)  # the server collects replaced syntax trees once edits pause
    server.request("textDocument/documentSymbol", {"textDocument": {"uri": URI}})
    return version


def test_ten_thousand_notifications_keep_memory_flat():
    with RawServer() as server:
        server.initialize()
        server.open(URI, "<system>\n</system>\n")
        version = type_and_erase(server, 2, 1_000)  # warm up: imports, caches, first allocations
        before = server.rss_kib()
        type_and_erase(server, version, 10_000)
        after = server.rss_kib()
        print(f"resident memory: {before} KiB after 1,000 notifications, {after} KiB after 10,000 more")
        assert after - before < GROWTH_LIMIT_KIB, (before, after)
        server.drain()
        assert not [m for m in server.seen if m.get("method") == "window/showMessage"]
