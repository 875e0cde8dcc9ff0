#!/usr/bin/env python3
"""Formatting and semantic tokens on the generated corpus, as the server makes them.

    .venv/bin/python benchmarks/bench_features.py [--repeat N] [--only NAME]

Times are the median of N runs, in milliseconds, in-process. The server answers both from the
syntax tree it keeps, so the scan is not timed except in `format text`:

* format: the whole document laid out from a fresh tree (every block's layout made);
* format edit: laid out again after a one-line edit (each untouched block keeps its layout);
* format text: `sdf-lsp format` on the text (scan included);
* tokens: every semantic token from a fresh tree;
* tokens edit / delta: after the same edit, the full list again and the delta to the last one.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT))

from sdf_lsp.ide import tokens
from sdf_lsp.ide.format import format_document, format_text
from sdf_lsp.syntax.lines import LineIndex
from sdf_lsp.syntax.scanner import parse, reparse


def median_ms(fn, repeat: int, setup=None) -> float:
    times = []
    for _ in range(repeat):
        arg = setup() if setup is not None else None
        gc.collect()  # untimed: free the previous run's trees
        t0 = time.perf_counter()
        fn(arg)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def edited(text: str):
    """A fresh tree, its lines, and the tree and lines after one inserted region in the middle."""
    doc = parse(text)
    lines = LineIndex(text)
    items = doc.items
    at = items[len(items) // 2].start if items else len(text)
    insert = '<memory_region name="bench_extra" size="0x1000" />\n    '
    new = text[:at] + insert + text[at:]
    return doc, lines, at, insert, new


def main() -> int:
    gc.set_threshold(50_000, 20, 20)  # as the server runs
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--only", help="only the files whose name holds this")
    args = ap.parse_args()
    files = [ROOT / "examples/echo/echo.system"] + sorted((SHARED / "corpus/generated").glob("*.system"))
    if args.only:
        files = [f for f in files if args.only in f.name]
    cols = ("format", "fmt edit", "fmt text", "tokens", "tok edit", "delta")
    print(f"{'file':44} {'lines':>6} " + " ".join(f"{c:>9}" for c in cols) + f"   (ms, median of {args.repeat})")
    for f in files:
        text = f.read_text()
        n_lines = text.count("\n") + 1

        def fresh():
            return parse(text)

        def after_edit(with_tokens: bool):
            doc, lines, at, insert, new = edited(text)
            format_document(doc)
            old = tokens.segments(doc, lines, "utf-16") if with_tokens else None
            doc2 = reparse(doc, new, at, at, len(insert))
            return doc2, lines.edited(new, at, at, len(insert)), old

        fmt = median_ms(lambda d: format_document(d), args.repeat, fresh)
        fmt_edit = median_ms(lambda s: format_document(s[0]), args.repeat, lambda: after_edit(False))
        fmt_text = median_ms(lambda _: format_text(text), args.repeat)
        tok = median_ms(
            lambda s: tokens.data_json(tokens.segments(s[0], s[1], "utf-16")),
            args.repeat,
            lambda: (fresh(), LineIndex(text)),
        )

        def tokens_again(s):
            return tokens.data_json(tokens.segments(s[0], s[1], "utf-16"))

        def delta(s):
            return tokens.delta(s[2], tokens.segments(s[0], s[1], "utf-16"))

        tok_edit = median_ms(tokens_again, args.repeat, lambda: after_edit(True))
        tok_delta = median_ms(delta, args.repeat, lambda: after_edit(True))
        name = f.stem if len(f.stem) <= 44 else f.stem[:41] + "..."
        row = (fmt, fmt_edit, fmt_text, tok, tok_edit, tok_delta)
        print(f"{name:44} {n_lines:>6} " + " ".join(f"{v:>9.1f}" for v in row), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
