"""`sdf-lsp check FILE...`: every diagnostic of each file, as the `check` contract says.

A FILE may be `-` (the SDF on standard input, named by `--stdin-filename`) or a folder (every
`*.system` below it, in sorted order, leaving out hidden folders and build outputs). Each file
is checked under its own `sdf-lsp.toml` (`load.Setups`)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator

from sdf_lsp.cli.load import STDIN, Loaded, Setup, Setups, UsageError, load, load_stdin
from sdf_lsp.cli.printer import FORMATS, TextPrinter, use_color
from sdf_lsp.diagnostics import ERROR, WARNING
from sdf_lsp.files import system_files as find_system_files


def system_files(folder: str, skip: set[str]) -> Iterator[str]:
    """Every `*.system` below `folder`, sorted (`sdf_lsp.files.system_files`)."""
    yield from find_system_files(folder, skip)


def expand(args: argparse.Namespace, setups: Setups) -> list[str]:
    """The files to check: folders expanded, `-` kept (once)."""
    out: list[str] = []
    for file in args.files:
        if file == STDIN:
            if STDIN in out:
                raise UsageError("standard input ('-') can be checked only once")
            out.append(file)
        elif os.path.isdir(file):
            found = list(system_files(file, out_dirs(file, setups)))
            if not found:
                print(f"warning: no *.system files under {file}", file=sys.stderr)
            out.extend(found)
        else:
            out.append(file)
    if args.stdin_filename and STDIN not in out:
        raise UsageError("--stdin-filename names the SDF read from '-', but no FILE is '-'")
    return out


def out_dirs(folder: str, setups: Setups) -> set[str]:
    """The build output folder the folder's `sdf-lsp.toml` names, if any."""
    out_dir = setups.for_file(os.path.join(folder, "x.system")).out_dir
    return {out_dir} if out_dir else set()


def run(args: argparse.Namespace) -> int:
    """0: no file has an error; 1: some file has one (an unreadable file included)."""
    setups = Setups(args)
    files = expand(args, setups)
    for file in files:  # every sdf-lsp.toml first: one that cannot be used stops the run before any output
        setups.for_file(_config_name(file, args, setups))
    color = use_color(args.color, sys.stdout)
    printer = FORMATS[args.format](sys.stdout, verbose=args.verbose, color=color)
    described: set[int] = set()
    errors = warnings = 0
    for file in files:
        loaded = _load(file, args, setups, described)
        shown = [d for d in loaded.diagnostics if not args.quiet or d.severity == ERROR]
        errors += sum(d.severity == ERROR for d in shown)
        warnings += sum(d.severity == WARNING for d in shown)
        printer.report(loaded.source, shown)
    printer.close()
    if isinstance(printer, TextPrinter) and not args.quiet:
        _summary(printer, files, setups)
    if args.exit_zero:
        return 0
    return 1 if errors or (args.warnings_as_errors and warnings) else 0


def _config_name(file: str, args: argparse.Namespace, setups: Setups) -> str:
    """The path whose folder's sdf-lsp.toml applies to `file`."""
    if file != STDIN:
        return file
    return args.stdin_filename or os.path.join(setups.cwd, STDIN)


def _load(file: str, args: argparse.Namespace, setups: Setups, described: set[int]) -> Loaded:
    s = setups.for_file(_config_name(file, args, setups))
    if args.verbose and id(s) not in described:
        described.add(id(s))
        print(f"sdf-lsp: {s.describe()}", file=sys.stderr)
    if file == STDIN:
        return load_stdin(args.stdin_filename, s, sys.stdin.buffer.read())
    return load(file, s)


def _summary(printer: TextPrinter, files: list[str], setups: Setups) -> None:
    hidden = printer.hidden
    note = f"; {hidden} information diagnostic{'s' if hidden != 1 else ''} not shown (--verbose)" if hidden else ""
    if not printer.shown and files:
        labels = sorted({s.target.label for s in setups.used()})
        shown = ", ".join(files) if len(files) <= 5 else f"{len(files)} files"
        print(f"{shown}: no problems ({', '.join(labels)}){note}", file=sys.stderr)
    elif note:
        print(note[2:], file=sys.stderr)


__all__ = ["Setup", "expand", "run", "system_files"]
