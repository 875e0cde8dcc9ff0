"""Odd requests and broken frames: every request gets a result or an error (JSON-RPC),
notifications get nothing, and the server keeps answering afterwards."""

import pytest

from .jsonrpc import RawServer

pytestmark = pytest.mark.e2e

URI = "file:///tmp/sdf-lsp-robustness/odd.system"
TEXT = """<system>
    <memory_region name="m" size="0x1000" />
    <protection_domain name="a">
        <program_image path="a.elf" />
        <map mr="m" vaddr="0x400000" perms="rw" />
    </protection_domain>
    <channel><end pd="a" id="1" /><end pd="b" id="1" /></channel>
</system>
"""
DOC = {"uri": URI}
POS = {"line": 2, "character": 30}
RANGE = {"start": {"line": 0, "character": 0}, "end": {"line": 8, "character": 0}}
INVALID_PARAMS, INVALID_REQUEST, METHOD_NOT_FOUND, PARSE_ERROR = -32602, -32600, -32601, -32700


@pytest.fixture(scope="module")
def server():
    with RawServer() as s:
        s.initialize()
        s.open(URI, TEXT)
        yield s
        assert "Traceback" not in s.errors(), s.errors()


def alive(server: RawServer):
    """A well-formed request after the odd ones is answered properly."""
    answer = server.request("textDocument/documentSymbol", {"textDocument": DOC})
    assert {sym["name"] for sym in answer["result"]} >= {"m", "a"}, answer


def with_position(method: str, extra: dict):
    """Bad params of each kind for a request that takes a document and a position."""
    good = {"textDocument": DOC, "position": POS, **extra}
    return [
        (method, {**good, "position": {"line": -1, "character": 0}}),
        (method, {**good, "position": {"line": 0, "character": -5}}),
        (method, {**good, "position": {"line": 2**40, "character": 0}}),
        (method, {**good, "position": {"line": 0, "character": 2**40}}),
        (method, {**good, "position": "2:30"}),
        (method, {**good, "position": {"line": "two", "character": 0}}),
        (method, {k: v for k, v in good.items() if k != "textDocument"}),
        (method, {**good, "textDocument": URI}),
        (method, [URI, POS]),
        (method, 7),
        (method, None),
    ]


def with_range(method: str, extra: dict):
    good = {"textDocument": DOC, "range": RANGE, **extra}
    return [
        (method, {**good, "range": {"start": {"line": -1, "character": 0}, "end": POS}}),
        (method, {**good, "range": {"start": POS, "end": {"line": 2**40, "character": 0}}}),
        (method, {**good, "range": "0:0-8:0"}),
        (method, {k: v for k, v in good.items() if k != "textDocument"}),
        (method, [URI, RANGE]),
        (method, None),
    ]


BAD = [
    *with_position("textDocument/hover", {}),
    *with_position("textDocument/completion", {}),
    *with_position("textDocument/definition", {}),
    *with_position("textDocument/references", {"context": {"includeDeclaration": True}}),
    *with_position("textDocument/rename", {"newName": "b"}),
    *with_position("textDocument/prepareRename", {}),
    *with_position("textDocument/documentHighlight", {}),
    ("textDocument/references", {"textDocument": DOC, "position": POS}),  # no context
    ("textDocument/documentSymbol", {}),
    ("textDocument/documentSymbol", {"textDocument": URI}),
    ("textDocument/documentSymbol", [DOC]),
    ("textDocument/documentSymbol", None),
    ("textDocument/foldingRange", {"textDocument": []}),
    *with_range("textDocument/codeAction", {"context": {"diagnostics": []}}),
    ("textDocument/codeAction", {"textDocument": DOC, "range": RANGE}),  # no context
    ("textDocument/codeAction", {"textDocument": DOC, "range": RANGE, "context": {"diagnostics": "none"}}),
    *with_range("textDocument/inlayHint", {}),
    ("workspace/executeCommand", None),
    ("workspace/executeCommand", {}),
    ("workspace/executeCommand", ["sdf.describeTarget"]),
    ("workspace/executeCommand", {"command": "sdf.noSuchCommand"}),
    ("workspace/executeCommand", {"command": "sdf.showCSpace", "arguments": "a"}),
    ("workspace/executeCommand", {"command": "sdf.showCSpace", "arguments": [{"uri": 5}]}),
    ("workspace/executeCommand", {"command": "sdf.showCSpace", "arguments": [{"uri": URI, "pd": ["a"]}]}),
    ("workspace/executeCommand", {"command": "sdf.showCSpace", "arguments": [{"uri": URI, "position": "2:30"}]}),
    (
        "workspace/executeCommand",
        {"command": "sdf.showCSpace", "arguments": [{"uri": URI, "position": {"line": -1, "character": 0}}]},
    ),
    (
        "workspace/executeCommand",
        {"command": "sdf.showCSpace", "arguments": [{"uri": URI, "position": {"line": 2**40, "character": 0}}]},
    ),
    ("workspace/executeCommand", {"command": "sdf.showCSpace", "arguments": [[URI]]}),
    ("workspace/executeCommand", {"command": "sdf.build", "arguments": [{"uri": 42}]}),
    ("workspace/executeCommand", {"command": "sdf.build", "arguments": [{"uri": URI, "outDir": 5}]}),
    ("workspace/executeCommand", {"command": "sdf.showGraph", "arguments": [{"uri": URI, "view": 7}]}),
    ("workspace/executeCommand", {"command": "sdf.documentText", "arguments": [{"uri": []}]}),
]


@pytest.mark.parametrize(("method", "params"), BAD, ids=[f"{i}-{m.split('/')[-1]}" for i, (m, _) in enumerate(BAD)])
def test_bad_params_are_answered_with_invalid_params(server, method, params):
    message = {"jsonrpc": "2.0", "id": server.next_id(), "method": method}
    if params is not None:
        message["params"] = params
    server.send(message)
    answer = server.wait_for(lambda m: m.get("id") == message["id"] and "method" not in m, 30, method)
    assert answer.get("error", {}).get("code") == INVALID_PARAMS, answer
    assert answer["error"]["message"]
    alive(server)


FAR = [{"line": 10**6, "character": 0}, {"line": 2, "character": 10**6}, {"line": 2**31 - 1, "character": 2**31 - 1}]
FAR_RANGES = [{"start": p, "end": q} for p in FAR for q in FAR] + [
    {"start": FAR[0], "end": {"line": 0, "character": 0}}
]


@pytest.mark.parametrize("where", FAR, ids=["far-line", "far-character", "max"])
def test_positions_beyond_the_document_are_answered(server, where):
    for method, extra in [
        ("textDocument/hover", {}),
        ("textDocument/completion", {}),
        ("textDocument/definition", {}),
        ("textDocument/references", {"context": {"includeDeclaration": True}}),
        ("textDocument/documentHighlight", {}),
        ("textDocument/prepareRename", {}),
        ("textDocument/rename", {"newName": "b"}),
    ]:
        answer = server.request(method, {"textDocument": DOC, "position": where, **extra})
        # a rename where there is no name is refused (RequestFailed)
        assert "result" in answer or (method.endswith("rename") and answer["error"]["code"] == -32803), answer
    answer = server.request(
        "workspace/executeCommand", {"command": "sdf.showCSpace", "arguments": [{"uri": URI, "position": where}]}
    )
    assert "result" in answer or answer["error"]["code"] == -32803, answer  # RequestFailed: no PD there
    assert "Traceback" not in server.errors(), server.errors()


def test_ranges_beyond_the_document_are_answered(server):
    for rng in FAR_RANGES:
        for method, extra in [
            ("textDocument/codeAction", {"context": {"diagnostics": []}}),
            ("textDocument/inlayHint", {}),
        ]:
            answer = server.request(method, {"textDocument": DOC, "range": rng, **extra})
            assert "result" in answer, (method, rng, answer)
    assert "Traceback" not in server.errors(), server.errors()


def test_requests_on_a_document_that_is_not_open(server):
    other = {"uri": "file:///tmp/sdf-lsp-robustness/never-opened.system"}
    for method, params in [
        ("textDocument/hover", {"textDocument": other, "position": POS}),
        ("textDocument/documentSymbol", {"textDocument": other}),
        ("textDocument/inlayHint", {"textDocument": other, "range": RANGE}),
    ]:
        assert "result" in server.request(method, params)


def test_edits_beyond_the_document_are_clamped(server):
    uri = "file:///tmp/sdf-lsp-robustness/clamped.system"
    server.open(uri, "<system>\n</system>\n")
    far = {"line": 10**6, "character": 10**6}
    server.notify(
        "textDocument/didChange",
        {
            "textDocument": {"uri": uri, "version": 2},
            "contentChanges": [
                {"range": {"start": far, "end": far}, "text": "<!-- end -->"},
                {"range": {"start": {"line": 1, "character": 10**6}, "end": far}, "text": "\n"},
                {"range": {"start": far, "end": {"line": 0, "character": 0}}, "text": ""},  # end before start
            ],
        },
    )
    answer = server.request("workspace/executeCommand", {"command": "sdf.documentText", "arguments": [{"uri": uri}]})
    # the comment went to the end of the text, the second change replaced it (from the end of
    # line 1) by a line break, the third (end before start) inserted nothing
    assert answer["result"] == {"version": 2, "text": "<system>\n</system>\n"}


def test_notifications_with_bad_params_are_dropped_quietly(server):
    server.drain()
    server.seen.clear()
    for method, params in [
        ("textDocument/didChange", {"textDocument": {"uri": URI}, "contentChanges": "x"}),
        ("textDocument/didChange", {"textDocument": {"uri": URI, "version": 9}, "contentChanges": [{"range": 1}]}),
        ("textDocument/didChange", [1, 2]),
        ("textDocument/didOpen", {"textDocument": {"uri": URI}}),
        ("textDocument/didClose", {}),
        ("textDocument/didSave", None),
        ("workspace/didChangeConfiguration", 5),
        ("$/cancelRequest", {"id": [1]}),
        ("$/setTrace", {"value": "loud"}),
    ]:
        server.notify(method, params)
    alive(server)
    server.drain()
    assert not [m for m in server.seen if "id" in m and "method" not in m], server.seen
    assert not [m for m in server.seen if m.get("method") == "window/showMessage"], server.seen
    # the document was not changed by any of them
    answer = server.request("workspace/executeCommand", {"command": "sdf.documentText", "arguments": [{"uri": URI}]})
    assert answer["result"] == {"version": 1, "text": TEXT}


def test_broken_frames(server):
    def error_for_null_id(code):
        answer = server.wait_for(lambda m: "error" in m and m.get("id", "absent") is None, 30, f"error {code}")
        assert answer["error"]["code"] == code, answer
        assert "id" in answer and answer["id"] is None

    # not JSON at all
    server.frame(b'{"jsonrpc": "2.0", "id": 1000, "method": "textDocument/hov')
    error_for_null_id(PARSE_ERROR)
    alive(server)
    # not UTF-8
    server.frame(b'{"jsonrpc": "2.0", "id": 1001, "method": "\xff\xfe"}')
    error_for_null_id(PARSE_ERROR)
    alive(server)
    # absurdly nested
    server.frame(b"[" * 100_000 + b"]" * 100_000)
    error_for_null_id(PARSE_ERROR)
    alive(server)
    # JSON, but not a JSON-RPC message
    for body in (b"[]", b"[1, 2]", b"42", b'"hello"', b"null"):
        server.frame(body)
        error_for_null_id(INVALID_REQUEST)
    alive(server)
    # an id that JSON-RPC does not allow: answered with a null id
    server.send({"jsonrpc": "2.0", "id": {"a": 1}, "method": "textDocument/hover", "params": {}})
    error_for_null_id(INVALID_REQUEST)
    server.send({"jsonrpc": "2.0", "id": 1.5, "method": "shutdown"})
    error_for_null_id(INVALID_REQUEST)
    # a request without "jsonrpc": "2.0", or whose method is not a string: answered with its id
    for message in (
        {"id": 1002, "method": "textDocument/hover", "params": {}},
        {"jsonrpc": "1.0", "id": 1003, "method": "textDocument/hover", "params": {}},
        {"jsonrpc": "2.0", "id": 1004, "method": 12},
    ):
        server.send(message)
        answer = server.wait_for(lambda m, i=message["id"]: m.get("id") == i, 30, str(message))
        assert answer["error"]["code"] == INVALID_REQUEST, answer
    alive(server)


def test_unknown_methods(server):
    for method in ("sdf/noSuchThing", "$/noSuchThing", "textDocument/documentColor"):
        answer = server.request(method, {"textDocument": DOC})
        assert answer["error"]["code"] == METHOD_NOT_FOUND, answer
    server.drain()
    server.seen.clear()
    server.notify("sdf/noSuchNotification", {"x": 1})
    server.notify("$/noSuchNotification", None)
    alive(server)
    server.drain()
    assert not [m for m in server.seen if "id" in m and "method" not in m], server.seen


def test_a_frame_with_a_short_content_length():
    """The frame's tail is left in the stream: the server reports a parse error, finds the
    next frame's header behind the debris and answers the requests that follow."""
    with RawServer() as s:
        s.initialize()
        s.open(URI, TEXT)
        body = (
            b'{"jsonrpc": "2.0", "id": 77, "method": "textDocument/documentSymbol", "params": {"textDocument": {"uri": "%s"}}}'
            % URI.encode()
        )
        s.frame(body, len(body) - 20)
        answer = s.wait_for(lambda m: "error" in m, 30, "the parse error")
        assert answer["error"]["code"] == PARSE_ERROR
        alive(s)
        assert "Traceback" not in s.errors()


def test_a_frame_with_a_long_content_length():
    """The server reads into the next frames; once the count is reached it is back in step,
    and a client that repeats its request gets an answer."""
    with RawServer() as s:
        s.initialize()
        s.open(URI, TEXT)
        body = b'{"jsonrpc": "2.0", "method": "$/noSuchNotification"}'
        s.frame(body, len(body) + 300)
        answered = False
        for _ in range(8):
            msg_id = s.next_id()
            s.send(
                {
                    "jsonrpc": "2.0",
                    "id": msg_id,
                    "method": "textDocument/documentSymbol",
                    "params": {"textDocument": DOC},
                }
            )
            try:
                answer = s.wait_for(lambda m, i=msg_id: m.get("id") == i, 2, "documentSymbol")
            except AssertionError:
                continue
            assert "result" in answer
            answered = True
            break
        assert answered
        alive(s)


def test_a_huge_content_length_is_refused_not_read_into_memory():
    with RawServer() as s:
        s.initialize()
        s.frame(b"{}", 1 << 40)
        answer = s.wait_for(lambda m: "error" in m, 30, "the refusal")
        assert answer["error"]["code"] == INVALID_REQUEST and answer["id"] is None
        assert s.rss_kib() < 500_000
        s.proc.stdin.close()  # the server skips what it refused until the stream ends
        assert s.proc.wait(timeout=30) is not None


def test_requests_after_shutdown_are_refused_and_exit_ends_the_server():
    with RawServer() as s:
        s.initialize()
        assert s.request("shutdown")["result"] is None
        answer = s.request("textDocument/hover", {"textDocument": DOC, "position": POS})
        assert answer["error"]["code"] == INVALID_REQUEST
        s.notify("exit", None)
        assert s.proc.wait(timeout=30) == 0
