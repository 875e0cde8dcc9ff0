"""The command line's one argument parser.

The options that say what a system is checked against (target, search paths, dialect) are
shared option groups, so every command that loads a system spells them the same way.
"""

from __future__ import annotations

import argparse

from sdf_lsp import __version__, schema
from sdf_lsp.cli.printer import FORMATS

#: Exit status of a command that cannot run (usage, unusable target or SDK), as argparse's own.
USAGE_ERROR = 2


def add_target_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("target")
    g.add_argument("--target", metavar="FILE", help="kernel target JSON file")
    g.add_argument("--board", help="board name (built-in table, or inside --sdk)")
    g.add_argument("--config", help="release (default), debug, benchmark, smp-release, smp-debug, smp-benchmark")
    g.add_argument("--sdk", metavar="DIR", help="Microkit SDK directory (needs --board)")


def add_search_path_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("search paths")
    g.add_argument(
        "--search-path",
        action="append",
        default=[],
        metavar="DIR",
        help="where program images and prefill files are found (repeatable)",
    )


def add_dialect_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("dialect")
    g.add_argument(
        "--dialect",
        choices=schema.DIALECTS,
        default=None,
        help="extended (Microkit 2.3 plus the extensions), or one Microkit release's own rules; default: the "
        "release of the SDK (--sdk, else $MICROKIT_SDK) if older than 2.3, else extended",
    )
    g.add_argument(
        "--no-authority-hints", action="store_true", help="leave out the information diagnostics on authority"
    )


def add_system_options(p: argparse.ArgumentParser) -> None:
    """Everything `load.Setup` reads: target, search paths and dialect."""
    add_target_options(p)
    add_search_path_options(p)
    add_dialect_options(p)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="sdf-lsp", description="Checker, language server and image backend for seL4 Microkit SDF files."
    )
    p.add_argument("--version", action="version", version=f"sdf-lsp {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    c = sub.add_parser("check", help="check SDF files and print every diagnostic")
    add_system_options(c)
    c.add_argument("--format", choices=tuple(FORMATS), default="text")
    c.add_argument(
        "-v", "--verbose", action="store_true", help="text format: also print information and hint diagnostics"
    )
    c.add_argument("files", nargs="+", metavar="FILE")

    s = sub.add_parser("serve", help="run the language server (stdio)")
    s.add_argument("--stdio", action="store_true", help="talk over stdin/stdout (the default; editors often add it)")
    s.add_argument("--tcp", metavar="HOST:PORT", help="listen on TCP instead of stdio")
    s.add_argument("--log-file", help="write the server log here")

    b = sub.add_parser("build", help="build the system: capDL spec, report, patched images and the bootable image")
    add_system_options(b)
    b.add_argument("system", metavar="SYSTEM")
    b.add_argument("-o", "--output", required=True, metavar="OUTDIR")
    b.add_argument("--image-type", choices=("binary", "elf", "uimage"), help="loader image format (default per arch)")
    b.add_argument("--initial-task-size", type=int, help=argparse.SUPPRESS)

    g = sub.add_parser("graph", help="draw the system: authority graph or memory view")
    add_system_options(g)
    g.add_argument("system", metavar="SYSTEM")
    g.add_argument("--view", choices=("authority", "memory"), default="authority")
    g.add_argument("--format", choices=("svg", "dot", "png"), default=None)
    g.add_argument("-o", "--output", required=True, metavar="FILE")
    return p
