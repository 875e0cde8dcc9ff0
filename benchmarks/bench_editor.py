#!/usr/bin/env python3
"""The language server under the load a real editor puts on it.

    .venv/bin/python benchmarks/bench_editor.py [--rounds N] [--keys K] [--replacements R] [FILE...]

A real server process over stdio; for each file: open it, then N rounds of typing. A round types
K characters 80 ms apart at the end of a protection domain's *name* in the middle of the file (which
breaks, then restores, every reference to that PD), then deletes them again the same way. Like VS
Code, the client sends `textDocument/codeAction` (the cursor), `documentHighlight` and `inlayHint`
(the 60 visible lines) after each keystroke without waiting, and `documentSymbol`, `foldingRange`
and `documentLink` once typing pauses for 200 ms. Printed per file: the time from the last
keystroke of a round to the diagnostics of that version (p50 and max over rounds), and every
request's latency (p50 / p95 / max), plus hover and completion right after each of R
whole-document replacements.

The client is a plain JSON-RPC reader and writer, as an editor's is: a message counts as arrived
once its JSON is read and decoded (converting results into Python objects, as pygls' client does,
takes longer than the server for the outline of a 44k-line system, and no editor does it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT))

from sdf_lsp.syntax.lines import LineIndex

DEFAULT_FILES = [
    SHARED / "corpus/generated/sddf_qemu_virt_aarch64_io_26clients.system",
    SHARED / "corpus/generated/stress_63pds_dense_mesh.system",
    SHARED / "corpus/generated/stress_63pds_xl_12k_regions.system",
]
KEY_GAP = 0.080  # seconds between keystrokes
PAUSE = 0.200  # typing pause after which an editor asks for the outline, folding and links
VISIBLE_LINES = 60


class Client:
    """A language client over a server process's stdio: requests, notifications, and the
    diagnostics published per (uri, version) with the time they arrived."""

    def __init__(self) -> None:
        self.proc: asyncio.subprocess.Process | None = None
        self.pending: dict[int, tuple[asyncio.Future, float]] = {}
        self.next_id = 0
        self.published: dict[tuple[str, int], float] = {}
        self.waiters: dict[tuple[str, int], asyncio.Future] = {}
        self.reader: asyncio.Task | None = None

    async def start(self, cmd: list[str]) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            *cmd, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, limit=1 << 20
        )
        self.reader = asyncio.ensure_future(self._read())

    def _write(self, message: dict) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        body = json.dumps(message).encode()
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    def notify(self, method: str, params: dict | None) -> None:
        self._write({"jsonrpc": "2.0", "method": method, "params": params})

    async def request(self, method: str, params: dict | None) -> tuple[float, object]:
        """Send a request and wait for its answer: (milliseconds until it arrived, result)."""
        self.next_id += 1
        fut = asyncio.get_running_loop().create_future()
        self.pending[self.next_id] = (fut, time.perf_counter())
        self._write({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params})
        return await fut

    async def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        out = self.proc.stdout
        while True:
            length = None
            while True:
                line = await out.readline()
                if not line:
                    return
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
                elif line in (b"\r\n", b"\n") and length is not None:
                    break
            msg = json.loads(await out.readexactly(length))
            now = time.perf_counter()
            if "method" not in msg:  # a response
                fut, t0 = self.pending.pop(msg["id"])
                if not fut.done():
                    fut.set_result(((now - t0) * 1000, msg.get("result")))
            elif "id" in msg:  # the server's request (configuration, progress, registration)
                items = (msg.get("params") or {}).get("items")
                self._write({"jsonrpc": "2.0", "id": msg["id"], "result": [None] * len(items) if items else None})
            elif msg["method"] == "textDocument/publishDiagnostics":
                key = (msg["params"]["uri"], msg["params"].get("version"))
                self.published.setdefault(key, now)
                fut = self.waiters.pop(key, None)
                if fut is not None and not fut.done():
                    fut.set_result(None)

    def diagnostics_of(self, uri: str, version: int) -> asyncio.Future:
        fut = asyncio.get_running_loop().create_future()
        if (uri, version) in self.published:
            fut.set_result(None)
        else:
            self.waiters[(uri, version)] = fut
        return fut

    async def stop(self) -> None:
        assert self.proc is not None
        await self.request("shutdown", None)
        self.notify("exit", None)
        await self.proc.wait()
        if self.reader is not None:
            self.reader.cancel()


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


async def timed(latencies: dict[str, list[float]], name: str, coro) -> None:
    ms, _ = await coro
    latencies.setdefault(name, []).append(ms)


def pos(line: int, character: int) -> dict:
    return {"line": line, "character": character}


async def bench_file(path: Path, rounds: int, keys: int, server: list[str], replacements: int = 10) -> dict:
    client = Client()
    await client.start(server)
    caps = {
        "textDocument": {
            "documentSymbol": {"hierarchicalDocumentSymbolSupport": True},
            "publishDiagnostics": {"versionSupport": True},
        }
    }
    await client.request("initialize", {"processId": None, "capabilities": caps, "rootUri": path.parent.as_uri()})
    client.notify("initialized", {})
    uri = path.as_uri()
    doc = {"uri": uri}
    text = path.read_text()
    result: dict = {"file": path.name, "lines": text.count("\n") + 1}
    version = 1
    opened = client.diagnostics_of(uri, version)
    t0 = time.perf_counter()
    client.notify(
        "textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "sdf", "version": 1, "text": text}}
    )
    await opened
    result["open"] = (time.perf_counter() - t0) * 1000

    # the end of a PD's name in the middle of the file
    start = text.index("<protection_domain", len(text) // 2)
    at = text.index('"', text.index('name="', start) + len('name="'))
    lines = LineIndex(text)
    line, col = lines.position(at)
    visible = {"start": pos(max(0, line - VISIBLE_LINES // 2), 0), "end": pos(line + VISIBLE_LINES // 2, 0)}
    latencies: dict[str, list[float]] = {}
    last_key: list[float] = []
    pending: list[asyncio.Future] = []

    def keystroke(new_col: int, insert: str | None) -> None:
        nonlocal version
        version += 1
        end = new_col if insert is not None else new_col + 1
        change = {"range": {"start": pos(line, new_col), "end": pos(line, end)}, "text": insert or ""}
        client.notify(
            "textDocument/didChange",
            {"textDocument": {"uri": uri, "version": version}, "contentChanges": [change]},
        )
        cursor = pos(line, new_col + (1 if insert is not None else 0))
        for name, params in (
            (
                "codeAction",
                {"textDocument": doc, "range": {"start": cursor, "end": cursor}, "context": {"diagnostics": []}},
            ),
            ("documentHighlight", {"textDocument": doc, "position": cursor}),
            ("inlayHint", {"textDocument": doc, "range": visible}),
        ):
            pending.append(
                asyncio.ensure_future(timed(latencies, name, client.request(f"textDocument/{name}", params)))
            )

    async def pause_requests() -> None:
        await asyncio.sleep(PAUSE)
        await asyncio.gather(
            *(
                timed(latencies, name, client.request(f"textDocument/{name}", {"textDocument": doc}))
                for name in ("documentSymbol", "foldingRange", "documentLink")
            )
        )

    for _ in range(rounds):
        for typing in (True, False):
            for k in range(keys):
                if typing:
                    keystroke(col + k, "x")
                else:
                    keystroke(col + keys - 1 - k, None)
                t_key = time.perf_counter()
                if k < keys - 1:
                    await asyncio.sleep(KEY_GAP)
            await client.diagnostics_of(uri, version)
            last_key.append((client.published[(uri, version)] - t_key) * 1000)
            await pause_requests()
            await asyncio.gather(*pending)
            pending.clear()

    # hover and completion right after the whole text is replaced by a different one: an edit
    # undone by a revert of the file, then made again by a formatter or a client without
    # incremental sync (the PD's name changes each time, as in the rounds above)
    edited = text[:at] + "x" * keys + text[at:]
    for i in range(replacements):
        version += 1
        client.notify(
            "textDocument/didChange",
            {"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"text": text if i % 2 else edited}]},
        )
        await timed(
            latencies,
            "hover after replace",
            client.request("textDocument/hover", {"textDocument": doc, "position": pos(line, col - 1)}),
        )
        await timed(
            latencies,
            "completion after replace",
            client.request("textDocument/completion", {"textDocument": doc, "position": pos(line, col)}),
        )
        await client.diagnostics_of(uri, version)
    result["last_key"] = last_key
    result["latencies"] = latencies
    await client.stop()
    return result


async def main_async(files: list[Path], rounds: int, keys: int, server: list[str], replacements: int) -> None:
    print(f"{'file':44} {'lines':>6} {'open':>7} {'key→diag p50':>13} {'max':>7}   requests p50 / p95 / max (ms)")
    for f in files:
        r = await bench_file(Path(f).resolve(), rounds, keys, server, replacements)
        every = [v for name, vs in r["latencies"].items() if "after replace" not in name for v in vs]
        print(
            f"{r['file'][:44]:44} {r['lines']:6d} {r['open']:7.0f} {statistics.median(r['last_key']):13.0f} "
            f"{max(r['last_key']):7.0f}   all {percentile(every, 50):.0f} / {percentile(every, 95):.0f} / {max(every):.0f}"
        )
        for name, vs in sorted(r["latencies"].items()):
            print(
                f"{'':44} {'':6} {'':7} {'':13} {'':7}   {name:24} {percentile(vs, 50):6.0f} / {percentile(vs, 95):6.0f} / {max(vs):6.0f}"
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5, help="rounds of typing and deleting (default 5)")
    ap.add_argument("--keys", type=int, default=10, help="characters per round (default 10)")
    ap.add_argument(
        "--replacements", type=int, default=10, help="whole-text replacements, each followed by a hover (default 10)"
    )
    ap.add_argument(
        "--server",
        default=f"{sys.executable} -m sdf_lsp serve",
        help="the command that starts the server (default: this Python's sdf_lsp)",
    )
    ap.add_argument("files", nargs="*", type=Path, default=DEFAULT_FILES)
    args = ap.parse_args()
    asyncio.run(main_async(args.files, args.rounds, args.keys, args.server.split(), args.replacements))


if __name__ == "__main__":
    main()
