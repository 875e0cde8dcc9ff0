"""`sdf-lsp build`: analyse one SDF and build it; diagnostics are printed as `check` prints them."""

from __future__ import annotations

import os
import sys

from sdf_lsp.diagnostics import SEVERITY_NAMES


def cmd_build(args) -> int:
    """Exit 0 when the build wrote its outputs, 1 when the system or the build has errors."""
    from sdf_lsp.backend.build import build
    from sdf_lsp.cli import check_file, diagnostic_json, resolve_target_from_args
    from sdf_lsp.model.lower import Context

    target = resolve_target_from_args(args)
    ctx = Context(target, args.dialect, not args.no_authority_hints)
    file = args.system
    search_paths = [os.path.abspath(p) for p in args.search_path] + [os.path.dirname(os.path.abspath(file))]
    _, analysis, err = check_file(file, ctx, search_paths)
    if err is not None:
        print(f"{file}:1:1: error: {err} [IO001]", file=sys.stderr)
        return 1
    result = build(
        analysis,
        target,
        search_paths,
        args.output,
        args.image_type,
        progress=lambda message, percent: print(f"[{percent:3d}%] {message}", file=sys.stderr),
    )
    for d in result.errors:
        r = diagnostic_json(file, analysis, d)
        start = r["range"]["start"]
        print(
            f"{file}:{start['line'] + 1}:{start['character'] + 1}: {SEVERITY_NAMES[d.severity]}: {d.message} [{d.code}]",
            file=sys.stderr,
        )
        for rel in r.get("related", ()):
            rs = rel["range"]["start"]
            print(f"    {file}:{rs['line'] + 1}:{rs['character'] + 1}: note: {rel['message']}", file=sys.stderr)
    if not result.ok:
        return 1
    written = ", ".join(os.path.relpath(f, result.out_dir) for f in result.files)
    print(f"built {file} ({target.label}) into {result.out_dir}: {written}")
    return 0
