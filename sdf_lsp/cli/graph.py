"""`sdf-lsp graph SYSTEM [--view authority|memory] [--format svg|dot|png] -o FILE`."""

from __future__ import annotations

import argparse
import os
import sys

from sdf_lsp.cli.args import USAGE_ERROR
from sdf_lsp.cli.load import load, setup
from sdf_lsp.cli.printer import TextPrinter, place

SUFFIX_FORMATS = {".svg": "svg", ".png": "png", ".dot": "dot", ".gv": "dot"}


def output_format(args: argparse.Namespace) -> str:
    """`--format`, else the output file's suffix, else svg."""
    if args.format:
        return args.format
    return SUFFIX_FORMATS.get(os.path.splitext(args.output)[1].lower(), "svg")


def run(args: argparse.Namespace) -> int:
    """0: written; 1: the SDF cannot be read or has nothing to draw; 2: the command cannot run."""
    from sdf_lsp.graph import GraphError, GraphvizMissing, render, to_dot

    fmt = output_format(args)
    loaded = load(args.system, setup(args))
    analysis = loaded.analysis
    if analysis is None:
        TextPrinter(sys.stderr).report(loaded.source, loaded.diagnostics)
        return 1
    try:
        dot = to_dot(analysis, args.view)
    except GraphError as e:
        # nothing to draw: say so at the first error, which is why
        at = analysis.errors[0].span.start if analysis.errors else 0
        print(f"{place(loaded.source, at)}: {e}", file=sys.stderr)
        return 1
    try:
        data = dot.encode("utf-8") if fmt == "dot" else render(dot, fmt)
    except GraphvizMissing as e:
        print(f"sdf-lsp: cannot draw {fmt}: {e}; `--format dot` needs no Graphviz", file=sys.stderr)
        return USAGE_ERROR
    except GraphError as e:
        print(f"sdf-lsp: {e}", file=sys.stderr)
        return 1
    try:
        with open(args.output, "wb") as fh:
            fh.write(data)
    except OSError as e:
        print(f"sdf-lsp: cannot write '{args.output}': {e.strerror or e}", file=sys.stderr)
        return USAGE_ERROR
    errors = len(analysis.errors)
    note = f" (the system has {errors} error{'s' if errors != 1 else ''}: drew what resolves)" if errors else ""
    print(f"sdf-lsp: wrote {args.view} view to {args.output}{note}", file=sys.stderr)
    return 0
