#!/usr/bin/env python3
"""Time `sdf-lsp build` of the largest generated system on the built-in qemu_virt_aarch64 board.

    .venv/bin/python benchmarks/bench_build.py [--repeat N] [--system FILE] [--config release|debug] [--out DIR] [--cpu]

Program images are stand-ins written for the run (one small ELF per `program_image`, with the
symbols its PDs patch); the monitor, the capDL initialiser and the kernel/loader facts are the
golden SDK fixture's, attached to the built-in board.  Times are the median of N runs in
milliseconds, in-process; the build's own phases are timed separately from the analysis.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT))

from sdf_lsp.analysis import analyse
from sdf_lsp.backend import build
from sdf_lsp.files import SearchPathFiles
from sdf_lsp.model.lower import Context
from sdf_lsp.target import SdkFiles, builtin_target, load_sdk
from tests.backend.standin import write_standins

DEFAULT = SHARED / "corpus/generated/stress_63pds_xl_12k_regions.system"
SDK = SHARED / "golden/sdk"


def target_with_standin_sdk(config: str):
    """The built-in board with the golden fixture's monitor, initialiser and kernel/loader facts."""
    fixture = load_sdk(SDK, "qemu_virt_aarch64", config).sdk
    return replace(
        builtin_target("qemu_virt_aarch64", config),
        sdk=SdkFiles(
            monitor_elf=fixture.monitor_elf,
            initialiser_elf=fixture.initialiser_elf,
            kernel_facts=fixture.kernel_facts,
            loader_facts=fixture.loader_facts,
        ),
    )


def main() -> int:
    import gc

    gc.disable()  # as the command line does for one-shot runs
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--system", type=Path, default=DEFAULT)
    ap.add_argument("--config", default="release")
    ap.add_argument("--profile", action="store_true", help="print the 25 most expensive functions of one build")
    ap.add_argument(
        "--out", type=Path, help="also keep the outputs of the first run in this folder (to compare builds)"
    )
    ap.add_argument(
        "--cpu",
        action="store_true",
        help="time with the process's CPU clock (steadier on a busy machine) instead of the wall clock",
    )
    args = ap.parse_args()
    clock = time.process_time if args.cpu else time.perf_counter
    target = target_with_standin_sdk(args.config)
    text = args.system.read_text()
    ctx = Context(target)
    files = SearchPathFiles([str(args.system.parent)])
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        analysis = analyse(text, ctx, files)
        if analysis.errors:
            print(f"{args.system.name}: {len(analysis.errors)} errors, first: {analysis.errors[0].message}")
            return 1
        write_standins(analysis, tmp_path / "elf")
        files = SearchPathFiles([str(tmp_path / "elf"), str(args.system.parent)], files.images)
        phases: dict[str, list[float]] = {}
        analyse_ms, build_ms, result = [], [], None
        for i in range(args.repeat):
            t0 = clock()
            analysis = analyse(text, ctx, files)
            t1 = clock()
            last = [t1, None]

            def progress(message: str, percent: int, last=last):
                """Charge the time since the previous message to the phase that message began."""
                now = clock()
                if last[1] is not None:
                    phases.setdefault(last[1], []).append((now - last[0]) * 1000)
                last[:] = [now, message]

            result = build(analysis, target, files, str(tmp_path / f"out{i}"), progress=progress)
            t2 = clock()
            if not result.ok:
                print(f"build failed: {result.errors[0].message}")
                return 1
            analyse_ms.append((t1 - t0) * 1000)
            build_ms.append((t2 - t1) * 1000)
        if args.profile:
            prof = cProfile.Profile()
            prof.runcall(build, analysis, target, files, str(tmp_path / "profiled"))
            pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
        spec_objects = (tmp_path / "out0" / "report.txt").read_text().count(" @ 0x")
        if args.out is not None:
            shutil.rmtree(args.out, ignore_errors=True)
            shutil.copytree(tmp_path / "out0", args.out)
        sizes = {Path(f).name: Path(f).stat().st_size for f in result.files if "/elf/" not in f}
    pds, mrs = len(analysis.system.pds), len(analysis.system.mrs)
    print(
        f"{args.system.name}: {pds} PDs, {mrs} memory regions, {spec_objects} kernel objects placed "
        f"({target.label}, stand-in programs)"
    )
    kind = "CPU ms" if args.cpu else "ms"
    print(f"{'phase':68} {kind + ' (median of ' + str(args.repeat) + ')':>22}")
    print(f"{'analysis (parse, model, checks, layout)':68} {statistics.median(analyse_ms):22.0f}")
    for message, times in phases.items():
        print(f"{'  build: ' + message:68} {statistics.median(times):22.0f}")
    print(f"{'build total':68} {statistics.median(build_ms):22.0f}")
    print(
        f"{'analysis + build':68} {statistics.median(a + b for a, b in zip(analyse_ms, build_ms, strict=True)):22.0f}"
    )
    print("outputs: " + ", ".join(f"{name} {size / 1e6:.1f} MB" for name, size in sizes.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
