"""`sdf-lsp graph SYSTEM [target options] [--view authority|memory] [--format svg|dot|png] -o FILE`."""

from __future__ import annotations

import argparse
import os
import sys

from sdf_lsp.cli import USAGE_ERROR, _search_paths, check_file, resolve_target_from_args
from sdf_lsp.graph import GraphError, GraphvizMissing, render, to_dot
from sdf_lsp.model.lower import Context

SUFFIX_FORMATS = {".svg": "svg", ".png": "png", ".dot": "dot", ".gv": "dot"}


def output_format(args: argparse.Namespace) -> str:
    """`--format`, else the output file's suffix, else svg."""
    if args.format:
        return args.format
    return SUFFIX_FORMATS.get(os.path.splitext(args.output)[1].lower(), "svg")


def cmd_graph(args: argparse.Namespace) -> int:
    """0: written; 1: the SDF cannot be read or has nothing to draw; 2: the command cannot run."""
    fmt = output_format(args)
    target = resolve_target_from_args(args)
    ctx = Context(target, args.dialect, not args.no_authority_hints)
    search_paths = _search_paths(args, args.system)
    _, analysis, err = check_file(args.system, ctx, search_paths)
    if err is not None:
        print(f"sdf-lsp: {err}", file=sys.stderr)
        return 1
    try:
        dot = to_dot(analysis, args.view)
    except GraphError as e:
        line, col = analysis.lines.position(analysis.errors[0].span.start) if analysis.errors else (0, 0)
        print(f"{args.system}:{line + 1}:{col + 1}: {e}", file=sys.stderr)
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
