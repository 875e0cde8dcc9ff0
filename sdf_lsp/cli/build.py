"""`sdf-lsp build SYSTEM`: analyse one SDF and build it, as `microkit` does.

With microkit's options (`-o loader.img`, `-r report.txt`, `--capdl-json FILE`, the defaults
being microkit's: `loader.img` and `report.txt` in the working directory) each output goes to
the file named for it; with `--out-dir DIR` (or `[build] out-dir` in sdf-lsp.toml) every
output goes into one folder. Like microkit it prints a `WARNING:` line per unused memory
region and its closing `MICROKIT|...` summary on stdout (`-q` leaves them out); errors go to
stderr through the text printer, as `check` prints them. A silenced error still stops the build.
"""

from __future__ import annotations

import argparse
import os
import sys

from sdf_lsp.cli.load import UsageError, load, setup
from sdf_lsp.cli.printer import TextPrinter
from sdf_lsp.config import ENV_SDK
from sdf_lsp.diagnostics import ERROR

#: Upstream prints this warning itself; others stay in `check` and the editor.
UNUSED_REGION = "MK-W1"


def run(args: argparse.Namespace) -> int:
    """0: the build wrote its outputs; 1: the system or the build has errors."""
    from sdf_lsp.backend.build import MANIFEST, Named, build

    named_given = args.output or args.report or args.capdl_json
    if named_given and args.out_dir:
        raise UsageError(
            "--out-dir writes every output into one folder; -o, -r and --capdl-json name single files (as microkit's): "
            "use one or the other"
        )
    s = setup(args)
    file = args.system
    out_dir = args.out_dir or (None if named_given else s.out_dir)
    named = None
    if out_dir is None:
        named = Named(args.output or "loader.img", args.report or "report.txt", args.capdl_json)
        if os.path.isdir(named.image):
            hint = (
                f"; use --out-dir {named.image} to write every output into that folder"
                if os.path.isfile(os.path.join(named.image, MANIFEST))
                else ""
            )
            raise UsageError(f"-o names the image file (as microkit's -o), but '{named.image}' is a folder{hint}")
        paths = [os.path.abspath(p) for p in (named.image, named.report, named.capdl_json) if p]
        if len(set(paths)) != len(paths):
            raise UsageError("-o, -r and --capdl-json must name different files")
    elif s.config is not None and not args.out_dir and s.out_dir:
        out_dir = os.path.join(s.out_dir, os.path.splitext(os.path.basename(file))[0])  # one folder per system
    loaded = load(file, s)
    errors = TextPrinter(sys.stderr)
    if loaded.analysis is None:
        errors.report(loaded.source, loaded.diagnostics)
        return 1
    if s.target.sdk is None and not loaded.analysis.errors:
        print(f"sdf-lsp: {no_sdk(s.target.label)}", file=sys.stderr)
        return 1
    if not args.quiet:
        for d in loaded.diagnostics:
            if d.code == UNUSED_REGION and d.severity != ERROR:
                print(f"WARNING: {d.message}")
    show_progress = not args.quiet and sys.stderr.isatty()
    result = build(
        loaded.analysis,
        s.target,
        loaded.files,
        out_dir or "",
        args.image_type,
        progress=(lambda message, percent: print(f"[{percent:3d}%] {message}", file=sys.stderr))
        if show_progress
        else None,
        named=named,
    )
    # every error that stops the build is shown, silenced or not: the build cannot go on without it
    errors.report(loaded.source, result.errors)
    if not result.ok:
        return 1
    if not args.quiet:
        for line in result.summary:
            print(line)
        if named is None:
            written = ", ".join(os.path.relpath(f, result.out_dir) for f in result.files)
            print(f"built {file} ({s.target.label}) into {result.out_dir}: {written}")
    return 0


def no_sdk(label: str) -> str:
    """Why a target without SDK binaries cannot be built, and how to name an SDK."""
    return (
        f"building needs a Microkit SDK (its kernel, loader, monitor and initialiser), and the target {label} "
        f"has none: name one with --sdk DIR (or the {ENV_SDK} environment variable, or [target] sdk in "
        "sdf-lsp.toml) and a board of it with --board"
    )
