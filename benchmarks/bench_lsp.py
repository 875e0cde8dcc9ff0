#!/usr/bin/env python3
"""The language server as an editor sees it: a real server process over stdio.

    .venv/bin/python benchmarks/bench_lsp.py [--edits N] [FILE...]

For each file: open (full analysis), then N keystrokes inside one PD, each timed from
`didChange` to the `publishDiagnostics` of that version (incremental re-scan and
re-analysis); a whole-document replacement (full re-analysis) for comparison; hover
and completion latency; and the server's resident memory afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

from lsprotocol import types as T
from pygls.lsp.client import LanguageClient

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT))

from sdf_lsp.syntax.lines import LineIndex

DEFAULT_FILES = [
    ROOT / "examples/echo/echo.system",
    SHARED / "corpus/generated/sddf_qemu_virt_aarch64_io_26clients.system",
    SHARED / "corpus/generated/stress_63pds_dense_mesh.system",
    SHARED / "corpus/generated/stress_63pds_xl_12k_regions.system",
]


class Client(LanguageClient):
    def __init__(self):
        super().__init__("bench", "0")
        self.waiters: dict[tuple[str, int], asyncio.Future] = {}

        @self.feature(T.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def on_diags(params: T.PublishDiagnosticsParams):
            fut = self.waiters.pop((params.uri, params.version), None)
            if fut is not None and not fut.done():
                fut.set_result(len(params.diagnostics))

    def expect(self, uri: str, version: int) -> asyncio.Future:
        fut = asyncio.get_event_loop().create_future()
        self.waiters[(uri, version)] = fut
        return fut


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def bench_file(path: Path, edits: int) -> dict:
    client = Client()
    await client.start_io(sys.executable, "-m", "sdf_lsp", "serve")
    await client.initialize_async(
        T.InitializeParams(capabilities=T.ClientCapabilities(), root_uri=path.parent.as_uri())
    )
    client.initialized(T.InitializedParams())
    uri = path.as_uri()
    text = path.read_text()
    out = {"file": path.name, "lines": text.count("\n") + 1}

    fut = client.expect(uri, 1)
    t0 = time.perf_counter()
    client.text_document_did_open(
        T.DidOpenTextDocumentParams(text_document=T.TextDocumentItem(uri=uri, language_id="sdf", version=1, text=text))
    )
    await fut
    out["open"] = (time.perf_counter() - t0) * 1000

    # keystrokes: rewrite the priority of a PD in the middle of the file, one at a time
    at = text.index('priority="', text.index("<protection_domain", len(text) // 2)) + len('priority="')
    lines = LineIndex(text)
    line, ch = lines.position(at)
    times = []
    version = 1
    for i in range(edits):
        version += 1
        p = T.Position(line=line, character=ch)
        q = T.Position(line=line, character=ch + 1)
        fut = client.expect(uri, version)
        t0 = time.perf_counter()
        client.text_document_did_change(
            T.DidChangeTextDocumentParams(
                text_document=T.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=[
                    T.TextDocumentContentChangePartial(range=T.Range(start=p, end=q), text=str((i % 9) + 1))
                ],
            )
        )
        await fut
        times.append((time.perf_counter() - t0) * 1000)
    # the debounce delay is part of what a user waits for; report it separately
    out["edit"] = statistics.median(times)

    full = []
    for _ in range(3):
        version += 1
        fut = client.expect(uri, version)
        t0 = time.perf_counter()
        client.text_document_did_change(
            T.DidChangeTextDocumentParams(
                text_document=T.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=[T.TextDocumentContentChangeWholeDocument(text=text)],
            )
        )
        await fut
        full.append((time.perf_counter() - t0) * 1000)
    out["full"] = statistics.median(full)

    hov = []
    comp = []
    pos = T.Position(line=line, character=ch)
    for _ in range(10):
        t0 = time.perf_counter()
        await client.text_document_hover_async(
            T.HoverParams(text_document=T.TextDocumentIdentifier(uri=uri), position=pos)
        )
        hov.append((time.perf_counter() - t0) * 1000)
        end_at = text.index('<end pd="', len(text) // 2) + len('<end pd="')
        el, ec = LineIndex(text).position(end_at)
        t0 = time.perf_counter()
        await client.text_document_completion_async(
            T.CompletionParams(
                text_document=T.TextDocumentIdentifier(uri=uri), position=T.Position(line=el, character=ec)
            )
        )
        comp.append((time.perf_counter() - t0) * 1000)
    out["hover"] = statistics.median(hov)
    out["completion"] = statistics.median(comp)
    await asyncio.sleep(2.0)  # the server collects replaced trees when edits pause
    out["rss"] = rss_mb(client._server.pid)
    out["peak"] = rss_mb(client._server.pid, "VmHWM")
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    return out


async def main_async(files, edits):
    print(
        f"{'file':46} {'lines':>6} {'open':>8} {'edit':>8} {'full':>8} {'speedup':>8} {'hover':>7} {'compl':>7} {'RSS MB':>7} {'peak':>6}"
    )
    for f in files:
        r = await bench_file(Path(f).resolve(), edits)
        print(
            f"{r['file']:46} {r['lines']:6d} {r['open']:8.1f} {r['edit']:8.1f} {r['full']:8.1f} "
            f"{r['full'] / r['edit']:7.1f}x {r['hover']:7.1f} {r['completion']:7.1f} {r['rss']:7.0f} {r['peak']:6.0f}"
        )
    print(
        "(ms; edit = keystroke to its diagnostics, including the server's debounce; full = the whole text replaced;\n"
        " RSS = resident memory 2 s after the last edit, peak = its high-water mark)"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--edits", type=int, default=20)
    ap.add_argument("files", nargs="*", default=DEFAULT_FILES)
    args = ap.parse_args()
    asyncio.run(main_async(args.files, args.edits))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
