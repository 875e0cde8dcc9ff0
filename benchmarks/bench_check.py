#!/usr/bin/env python3
"""Full check of every generated corpus file (and a small one) next to lxml's bare parse.

    .venv/bin/python benchmarks/bench_check.py [--repeat N]

Times are the median of N runs, in milliseconds, in-process (no interpreter start-up):
scan = the error-tolerant scanner alone, check = scan + model + every check + layout,
cli = `sdf-lsp check` as a user runs it (process start-up included).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from lxml import etree

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT))

from sdf_lsp.analysis import analyse
from sdf_lsp.model.lower import Context
from sdf_lsp.syntax.scanner import parse
from sdf_lsp.target.load import default_target


def median_ms(fn, repeat: int) -> float:
    import gc

    times = []
    for _ in range(repeat):
        gc.collect()  # untimed: free the previous run's trees
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main() -> int:
    import gc

    gc.disable()  # as `sdf-lsp check` and the server do while analysing
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    ctx = Context(default_target())
    files = [ROOT / "examples/echo/echo.system"] + sorted((SHARED / "corpus/generated").glob("*.system"))
    print(f"{'file':48} {'lines':>6} {'lxml':>8} {'scan':>8} {'check':>8} {'cli':>8}   (ms, median of {args.repeat})")
    for f in files:
        text = f.read_text()
        data = text.encode()
        lx = median_ms(lambda: etree.fromstring(data, etree.XMLParser(huge_tree=True)), args.repeat)
        scan = median_ms(lambda: parse(text), args.repeat)
        check = median_ms(lambda: analyse(text, ctx), args.repeat)
        cli = median_ms(
            lambda: subprocess.run(
                [sys.executable, "-m", "sdf_lsp", "check", "--format", "json", str(f)], capture_output=True, check=False
            ),
            max(1, args.repeat // 2),
        )
        print(f"{f.name:48} {text.count(chr(10)) + 1:6d} {lx:8.1f} {scan:8.1f} {check:8.1f} {cli:8.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
