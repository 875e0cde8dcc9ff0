#!/usr/bin/env python3
"""Time `sdf-lsp graph` on the largest generated system and a typical one, both views.

    .venv/bin/python benchmarks/bench_graph.py [--repeat N] [--system FILE]...

Times are the median of N runs in milliseconds, in-process: analyse = the whole check the
graph starts from, dot = building the DOT text, svg = Graphviz laying it out and drawing
SVG, cli = `sdf-lsp graph -o FILE.svg` as a user runs it (process start-up included).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GENERATED = ROOT.parent / "shared" / "corpus" / "generated"
sys.path.insert(0, str(ROOT))

from sdf_lsp.analysis import analyse
from sdf_lsp.files import SearchPathFiles
from sdf_lsp.graph import VIEWS, render, to_dot
from sdf_lsp.model.lower import Context
from sdf_lsp.target import default_target, load_target_file

DEFAULT = [GENERATED / "stress_63pds_xl_12k_regions.system", GENERATED / "sddf_odroidc4_vswitch_i2c_12clients.system"]


def median_ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def target_args(path: Path) -> list[str]:
    """The target its folder's expected.json names, as CLI options."""
    expected = path.parent / "expected.json"
    if expected.is_file():
        for case in json.loads(expected.read_text()):
            if case["file"] == path.name and case.get("config"):
                return ["--target", str(path.parent / "targets" / f"{case['config']}.json")]
    return []


def main() -> int:
    import gc

    gc.disable()  # as the command line does for one-shot runs
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument(
        "--system", type=Path, action="append", help="an SDF to time (repeatable; default: two generated ones)"
    )
    args = ap.parse_args()
    print(f"{'system':44} {'view':9} {'analyse':>8} {'dot':>8} {'svg':>8} {'cli':>8} {'KiB svg':>8}")
    for path in args.system or DEFAULT:
        targs = target_args(path)
        target = load_target_file(targs[1]) if targs else default_target()
        text = path.read_text()
        ctx = Context(target)
        files = SearchPathFiles([str(path.parent)])
        analyse_ms = median_ms(lambda: analyse(text, ctx, files), args.repeat)
        analysis = analyse(text, ctx, files)
        for view in VIEWS:
            dot = to_dot(analysis, view)
            dot_ms = median_ms(lambda: to_dot(analysis, view), args.repeat)
            svg_ms = median_ms(lambda: render(dot), args.repeat)
            size = len(render(dot)) / 1024
            with tempfile.TemporaryDirectory() as tmp:
                cmd = [
                    sys.executable,
                    "-m",
                    "sdf_lsp",
                    "graph",
                    *targs,
                    "--view",
                    view,
                    str(path),
                    "-o",
                    f"{tmp}/g.svg",
                ]
                cli_ms = median_ms(
                    lambda: subprocess.run(cmd, capture_output=True, check=True), max(1, args.repeat // 2)
                )
            print(
                f"{path.name[:44]:44} {view:9} {analyse_ms:8.1f} {dot_ms:8.1f} {svg_ms:8.1f} {cli_ms:8.1f} {size:8.0f}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
