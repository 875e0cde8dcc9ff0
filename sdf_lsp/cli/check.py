"""`sdf-lsp check FILE...`: every diagnostic of each file, as the `check` contract says."""

from __future__ import annotations

import argparse
import sys

from sdf_lsp.cli.load import load, setup
from sdf_lsp.cli.printer import FORMATS, TextPrinter


def run(args: argparse.Namespace) -> int:
    """0: no file has an error; 1: some file has one (an unreadable file included)."""
    s = setup(args)
    printer = FORMATS[args.format](sys.stdout, verbose=args.verbose)
    for file in args.files:
        loaded = load(file, s)
        printer.report(loaded.source, loaded.diagnostics)
    printer.close()
    if isinstance(printer, TextPrinter):
        hidden = printer.hidden
        note = f"; {hidden} information diagnostic{'s' if hidden != 1 else ''} not shown (--verbose)" if hidden else ""
        if not printer.shown:
            print(f"{', '.join(args.files)}: no problems ({s.target.label}){note}", file=sys.stderr)
        elif note:
            print(note[2:], file=sys.stderr)
    return 1 if printer.errors else 0
