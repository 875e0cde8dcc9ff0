"""`sdf-lsp serve [--stdio | --tcp HOST:PORT] [--log-file FILE]`: the language server."""

from __future__ import annotations

import argparse


def run(args: argparse.Namespace) -> int:
    from sdf_lsp.server import run as serve

    if args.stdio and args.tcp:
        raise SystemExit("sdf-lsp serve: --stdio and --tcp exclude each other")

    return serve(tcp=args.tcp, log_file=args.log_file)
