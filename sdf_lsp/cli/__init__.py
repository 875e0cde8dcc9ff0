"""Command line: `sdf-lsp check | build | graph | format | serve`.

`args` parses, `load` reads and analyses a system, `printer` shows diagnostics; each
command is a module with `run(args) -> exit status`. The rest of the package never
imports this one.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import sys

from sdf_lsp.cli.args import USAGE_ERROR, parse

#: Each command's module (imported when the command runs, so `serve` never loads the checker's
#: command code and `check` never loads the server).
COMMANDS = {name: f"sdf_lsp.cli.{name}" for name in ("check", "build", "graph", "format", "serve")}


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except BrokenPipeError:  # `sdf-lsp check ... | head`
        sys.stderr.close()
        return 0


def _main(argv: list[str] | None) -> int:
    args = parse(argv)
    command = importlib.import_module(COMMANDS[args.command])
    if args.command == "serve":
        return command.run(args)
    collecting = gc.isenabled()
    gc.disable()  # a one-shot run: the cyclic collector would only re-scan the trees being built
    try:
        return _run(command, args)
    finally:
        if collecting:
            gc.enable()


def _run(command, args: argparse.Namespace) -> int:
    from sdf_lsp.cli.load import UsageError
    from sdf_lsp.config import ConfigError

    try:
        return command.run(args)
    except ConfigError as err:
        # one diagnostic on the configuration file, in the form editors' error formats read
        print(f"{err.path}:{err.line or 1}:{err.column or 1}: error: {err.message}", file=sys.stderr)
        raise SystemExit(USAGE_ERROR) from None
    except UsageError as err:
        # like argparse's own usage errors: a message on stderr and exit status 2
        print(f"sdf-lsp: {err}", file=sys.stderr)
        raise SystemExit(USAGE_ERROR) from None


__all__ = ["USAGE_ERROR", "main"]
