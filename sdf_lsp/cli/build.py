"""`sdf-lsp build SYSTEM -o OUTDIR`: analyse one SDF and build it; its errors go to stderr
through the text printer, as `check` prints them."""

from __future__ import annotations

import argparse
import os
import sys

from sdf_lsp.cli.load import load, setup
from sdf_lsp.cli.printer import TextPrinter


def run(args: argparse.Namespace) -> int:
    """0: the build wrote its outputs; 1: the system or the build has errors."""
    from sdf_lsp.backend.build import build

    s = setup(args)
    file = args.system
    loaded = load(file, s)
    errors = TextPrinter(sys.stderr)
    if loaded.analysis is None:
        errors.report(loaded.source, loaded.diagnostics)
        return 1
    result = build(
        loaded.analysis,
        s.target,
        loaded.files,
        args.output,
        args.image_type,
        progress=lambda message, percent: print(f"[{percent:3d}%] {message}", file=sys.stderr),
    )
    errors.report(loaded.source, result.errors)
    if not result.ok:
        return 1
    written = ", ".join(os.path.relpath(f, result.out_dir) for f in result.files)
    print(f"built {file} ({s.target.label}) into {result.out_dir}: {written}")
    return 0
