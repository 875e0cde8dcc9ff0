#!/usr/bin/env python3
"""The language server under the load a real editor puts on it.

    .venv/bin/python benchmarks/bench_editor.py [--rounds N] [--keys K] [FILE...]

A real server process over stdio; for each file: open it, then N rounds of typing. A round types
K characters 80 ms apart at the end of a protection domain's *name* in the middle of the file (which
breaks, then restores, every reference to that PD), then deletes them again the same way. Like VS
Code, the client sends `textDocument/codeAction` (the cursor), `documentHighlight` and `inlayHint`
(the 60 visible lines) after each keystroke without waiting, and `documentSymbol`, `foldingRange`
and `documentLink` once typing pauses for 200 ms. Printed per file: the time from the last
keystroke of a round to the diagnostics of that version (p50 and max over rounds), and every
request's latency (p50 / p95 / max), plus hover and completion right after a whole-document
replacement.
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
    SHARED / "corpus/generated/sddf_qemu_virt_aarch64_io_26clients.system",
    SHARED / "corpus/generated/stress_63pds_dense_mesh.system",
    SHARED / "corpus/generated/stress_63pds_xl_12k_regions.system",
]
KEY_GAP = 0.080  # seconds between keystrokes
PAUSE = 0.200  # typing pause after which an editor asks for the outline, folding and links
VISIBLE_LINES = 60


class Client(LanguageClient):
    def __init__(self):
        super().__init__("bench-editor", "0")
        self.published: dict[tuple[str, int], float] = {}
        self.waiters: dict[tuple[str, int], asyncio.Future] = {}

        @self.feature(T.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def on_diags(params: T.PublishDiagnosticsParams):
            key = (params.uri, params.version)
            self.published[key] = time.perf_counter()
            fut = self.waiters.pop(key, None)
            if fut is not None and not fut.done():
                fut.set_result(None)

        @self.feature(T.WINDOW_LOG_MESSAGE)
        def on_log(params):
            pass

    def diagnostics_of(self, uri: str, version: int) -> asyncio.Future:
        fut = asyncio.get_event_loop().create_future()
        if (uri, version) in self.published:
            fut.set_result(None)
        else:
            self.waiters[(uri, version)] = fut
        return fut


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


async def timed(latencies: dict[str, list[float]], name: str, coro) -> None:
    t0 = time.perf_counter()
    await coro
    latencies.setdefault(name, []).append((time.perf_counter() - t0) * 1000)


async def bench_file(path: Path, rounds: int, keys: int, server: list[str]) -> dict:
    client = Client()
    await client.start_io(*server)
    caps = T.ClientCapabilities(
        text_document=T.TextDocumentClientCapabilities(
            document_symbol=T.DocumentSymbolClientCapabilities(hierarchical_document_symbol_support=True),
            publish_diagnostics=T.PublishDiagnosticsClientCapabilities(version_support=True),
        )
    )
    await client.initialize_async(T.InitializeParams(capabilities=caps, root_uri=path.parent.as_uri()))
    client.initialized(T.InitializedParams())
    uri = path.as_uri()
    doc = T.TextDocumentIdentifier(uri=uri)
    text = path.read_text()
    result = {"file": path.name, "lines": text.count("\n") + 1}
    version = 1
    opened = client.diagnostics_of(uri, version)
    t0 = time.perf_counter()
    client.text_document_did_open(
        T.DidOpenTextDocumentParams(text_document=T.TextDocumentItem(uri=uri, language_id="sdf", version=1, text=text))
    )
    await opened
    result["open"] = (time.perf_counter() - t0) * 1000

    # the end of a PD's name in the middle of the file
    start = text.index("<protection_domain", len(text) // 2)
    at = text.index('"', text.index('name="', start) + len('name="'))
    lines = LineIndex(text)
    line, col = lines.position(at)
    visible = T.Range(
        start=T.Position(line=max(0, line - 30), character=0), end=T.Position(line=line + 30, character=0)
    )
    latencies: dict[str, list[float]] = {}
    last_key: list[float] = []
    pending: list[asyncio.Task] = []

    def keystroke(new_col: int, insert: str | None) -> None:
        nonlocal version
        version += 1
        if insert is not None:
            change = T.TextDocumentContentChangePartial(
                range=T.Range(
                    start=T.Position(line=line, character=new_col), end=T.Position(line=line, character=new_col)
                ),
                text=insert,
            )
        else:
            change = T.TextDocumentContentChangePartial(
                range=T.Range(
                    start=T.Position(line=line, character=new_col), end=T.Position(line=line, character=new_col + 1)
                ),
                text="",
            )
        client.text_document_did_change(
            T.DidChangeTextDocumentParams(
                text_document=T.VersionedTextDocumentIdentifier(uri=uri, version=version), content_changes=[change]
            )
        )
        cursor = T.Position(line=line, character=new_col + (1 if insert is not None else 0))
        pending.append(
            asyncio.ensure_future(
                timed(
                    latencies,
                    "codeAction",
                    client.text_document_code_action_async(
                        T.CodeActionParams(
                            text_document=doc,
                            range=T.Range(start=cursor, end=cursor),
                            context=T.CodeActionContext(diagnostics=[]),
                        )
                    ),
                )
            )
        )
        pending.append(
            asyncio.ensure_future(
                timed(
                    latencies,
                    "documentHighlight",
                    client.text_document_document_highlight_async(
                        T.DocumentHighlightParams(text_document=doc, position=cursor)
                    ),
                )
            )
        )
        pending.append(
            asyncio.ensure_future(
                timed(
                    latencies,
                    "inlayHint",
                    client.text_document_inlay_hint_async(T.InlayHintParams(text_document=doc, range=visible)),
                )
            )
        )

    async def pause_requests() -> None:
        await asyncio.sleep(PAUSE)
        await asyncio.gather(
            timed(
                latencies,
                "documentSymbol",
                client.text_document_document_symbol_async(T.DocumentSymbolParams(text_document=doc)),
            ),
            timed(
                latencies,
                "foldingRange",
                client.text_document_folding_range_async(T.FoldingRangeParams(text_document=doc)),
            ),
            timed(
                latencies,
                "documentLink",
                client.text_document_document_link_async(T.DocumentLinkParams(text_document=doc)),
            ),
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

    # hover and completion right after the whole text is replaced (a revert)
    for _ in range(3):
        version += 1
        client.text_document_did_change(
            T.DidChangeTextDocumentParams(
                text_document=T.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=[T.TextDocumentContentChangeWholeDocument(text=text)],
            )
        )
        await timed(
            latencies,
            "hover after replace",
            client.text_document_hover_async(
                T.HoverParams(text_document=doc, position=T.Position(line=line, character=col - 1))
            ),
        )
        await timed(
            latencies,
            "completion after replace",
            client.text_document_completion_async(
                T.CompletionParams(text_document=doc, position=T.Position(line=line, character=col))
            ),
        )
        await client.diagnostics_of(uri, version)
    result["last_key"] = last_key
    result["latencies"] = latencies
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    return result


async def main_async(files: list[Path], rounds: int, keys: int, server: list[str]) -> None:
    print(f"{'file':44} {'lines':>6} {'open':>7} {'key→diag p50':>13} {'max':>7}   requests p50 / p95 / max (ms)")
    for f in files:
        r = await bench_file(Path(f).resolve(), rounds, keys, server)
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
        "--server",
        default=f"{sys.executable} -m sdf_lsp serve",
        help="the command that starts the server (default: this Python's sdf_lsp)",
    )
    ap.add_argument("files", nargs="*", type=Path, default=DEFAULT_FILES)
    args = ap.parse_args()
    asyncio.run(main_async(args.files, args.rounds, args.keys, args.server.split()))


if __name__ == "__main__":
    main()
