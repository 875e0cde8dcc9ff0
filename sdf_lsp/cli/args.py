"""The command line's one argument parser.

The options that say what a system is checked against (target, search paths, dialect) are
shared option groups, so every command that loads a system spells them the same way. They
spell them as the Microkit tool does where it has them (`--board`, `--config`, several
directories after one `--search-path`).
"""

from __future__ import annotations

import argparse
import os

from sdf_lsp import __version__, schema
from sdf_lsp.cli.printer import FORMATS

#: Exit status of a command that cannot run (usage, unusable target or SDK), as argparse's own.
USAGE_ERROR = 2


def add_target_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("target (else $MICROKIT_BOARD, $MICROKIT_CONFIG, $MICROKIT_SDK, then sdf-lsp.toml)")
    g.add_argument("--target", metavar="FILE", help="kernel target JSON file")
    g.add_argument("--board", help="board name (built-in table, or inside the SDK)")
    g.add_argument("--config", help="release (default), debug, benchmark, smp-release, smp-debug, smp-benchmark")
    g.add_argument("--sdk", metavar="DIR", help="Microkit SDK directory (else $MICROKIT_SDK)")


def add_search_path_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("search paths")
    g.add_argument(
        "--search-path",
        action="extend",
        nargs="*",
        default=[],
        metavar="DIR",
        help="where program images and prefill files are found, before the working directory and the "
        "SDF's folder; several after one flag (as microkit takes them) and repeatable",
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


def add_diagnostic_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("which diagnostics count")
    g.add_argument(
        "--select",
        action="append",
        default=[],
        metavar="CODE[,CODE]",
        help="show only these codes or code prefixes (MK-, UT); replaces the file's select",
    )
    g.add_argument(
        "--ignore",
        action="append",
        default=[],
        metavar="CODE[,CODE]",
        help="never show these codes or code prefixes; adds to the file's ignore",
    )
    g.add_argument("--warnings-as-errors", action="store_true", help="exit status 1 when there is any warning")
    g.add_argument(
        "--exit-zero", action="store_true", help="exit status 0 even with errors (2 still when it cannot run)"
    )


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="sdf-lsp", description="Checker, language server and image backend for seL4 Microkit SDF files."
    )
    p.add_argument("--version", action="version", version=f"sdf-lsp {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    c = sub.add_parser(
        "check",
        help="check SDF files and print every diagnostic",
        description="Check SDF files. FILE may be '-' (standard input) or a folder (every *.system below it).",
    )
    add_system_options(c)
    add_diagnostic_options(c)
    out = c.add_argument_group("output")
    out.add_argument("--format", choices=tuple(FORMATS), default="text")
    out.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="text format: also print information and hint diagnostics; say which sdf-lsp.toml and target were used",
    )
    out.add_argument("-q", "--quiet", action="store_true", help="only errors, and no summary")
    out.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="colour the text format (auto: on a terminal, unless NO_COLOR is set)",
    )
    out.add_argument(
        "--stdin-filename", metavar="PATH", help="the name of the SDF read from '-': for messages and sdf-lsp.toml"
    )
    c.add_argument("files", nargs="*", metavar="FILE")

    s = sub.add_parser("serve", help="run the language server (stdio)")
    s.add_argument("--stdio", action="store_true", help="talk over stdin/stdout (the default; editors often add it)")
    s.add_argument("--tcp", metavar="HOST:PORT", help="listen on TCP instead of stdio")
    s.add_argument("--log-file", help="write the server log here")

    b = sub.add_parser(
        "build",
        help="build the system: capDL spec, report, patched images and the bootable image",
        description="Build a system as microkit does: the image to -o (default loader.img), the report to -r "
        "(default report.txt), the capDL spec to --capdl-json; or every output into one folder with --out-dir.",
    )
    add_system_options(b)
    b.add_argument("system", nargs="?", metavar="SYSTEM")
    b.add_argument("-o", "--output", metavar="FILE", help="the bootable image (microkit: default loader.img)")
    b.add_argument("-r", "--report", metavar="FILE", help="the report (microkit: default report.txt)")
    b.add_argument("--capdl-json", metavar="FILE", help="the capDL spec as JSON")
    b.add_argument(
        "--out-dir",
        metavar="DIR",
        help="write every output (capdl.json, report.txt, patched ELFs, initialiser, loader.img) into this folder",
    )
    b.add_argument("--image-type", choices=("binary", "elf", "uimage"), help="loader image format (default per arch)")
    b.add_argument("-q", "--quiet", action="store_true", help="print only errors (no warnings, no summary)")
    b.add_argument("--initial-task-size", type=int, help=argparse.SUPPRESS)

    f = sub.add_parser(
        "format",
        help="lay out SDF files: one element per line, an indentation step per level",
        description="Format SDF files in place (atomically). FILE may be '-' (standard input, written to standard "
        "output) or a folder (every *.system below it). The layout comes from sdf-lsp.toml's [format] (indent, "
        "width), else 4 spaces and 100 columns. A file with syntax errors is left alone.",
    )
    f.add_argument("--check", action="store_true", help="change nothing; exit status 1 when a file would change")
    f.add_argument("--diff", action="store_true", help="change nothing; print each change as a unified diff")
    f.add_argument("--indent", type=_format_indent, metavar="N|tab", help="spaces per level (1-16) or 'tab'")
    f.add_argument("--width", type=_format_width, metavar="N", help="a longer tag puts one attribute per line")
    f.add_argument("-q", "--quiet", action="store_true", help="no summary")
    f.add_argument("--stdin-filename", metavar="PATH", help="the name of the SDF read from '-': for its sdf-lsp.toml")
    f.add_argument("files", nargs="+", metavar="FILE")

    g = sub.add_parser("graph", help="draw the system: authority graph or memory view")
    add_system_options(g)
    g.add_argument("system", nargs="?", metavar="SYSTEM")
    g.add_argument("--view", choices=("authority", "memory"), default="authority")
    g.add_argument("--format", choices=("svg", "dot", "png"), default=None)
    g.add_argument("-o", "--output", required=True, metavar="FILE")
    p.set_defaults(_subparsers={"check": c, "build": b, "graph": g})
    return p


def _format_indent(raw: str) -> int | str:
    """`format --indent`: a number of spaces (1 to 16) or `tab`, as `[format] indent`."""
    if raw == "tab":
        return raw
    if raw.isdigit() and 1 <= int(raw) <= 16:
        return int(raw)
    raise argparse.ArgumentTypeError(f"expected a number of spaces from 1 to 16, or 'tab', got {raw!r}")


def _format_width(raw: str) -> int:
    if raw.isdigit() and 20 <= int(raw) <= 1000:
        return int(raw)
    raise argparse.ArgumentTypeError(f"expected a number of columns from 20 to 1000, got {raw!r}")


def _is_system_file(value: str) -> bool:
    """A value after `--search-path` that is surely the SDF, not a folder."""
    return value.endswith(".system") or (os.path.exists(value) and not os.path.isdir(value))


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    """The parsed command line. `--search-path` takes every value up to the next option, as
    microkit does; a value there that is an SDF file (`*.system`, or any file) is taken as the
    system instead, so `--search-path build x.system` means what it says."""
    p = parser()
    args = p.parse_args(argv)
    sub = getattr(args, "_subparsers", {}).get(args.command)
    if sub is None:
        return args
    moved = [v for v in args.search_path if _is_system_file(v)]
    args.search_path = [v for v in args.search_path if v not in moved]
    if args.command == "check":
        args.files = [*args.files, *moved]
        if not args.files:
            sub.error("the following arguments are required: FILE (a file, a folder, or - for standard input)")
        return args
    if args.system is None and moved:
        args.system, moved = moved[0], moved[1:]
    if moved:
        sub.error(f"unrecognized arguments: {' '.join(moved)}")
    if args.system is None:
        sub.error("the following arguments are required: SYSTEM")
    return args
