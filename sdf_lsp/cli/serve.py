"""`sdf-lsp serve [--tcp HOST:PORT] [--log-file FILE]`: the language server."""

from __future__ import annotations

import argparse


def run(args: argparse.Namespace) -> int:
    from sdf_lsp.server import run as serve

    return serve(tcp=args.tcp, log_file=args.log_file)
