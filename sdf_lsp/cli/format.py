"""`sdf-lsp format [--check] [--diff] FILE|DIR|-...`: lay out SDF files (`sdf_lsp.ide.format`).

Each file is rewritten in place, atomically (a temporary file beside it, renamed over it), only
when its layout changes; `-` reads standard input and writes the result to standard output.
`--check` and `--diff` change nothing: `--check` names each file that would change, `--diff`
prints the change as a unified diff. The layout comes from the file's `sdf-lsp.toml`
(`[format] indent`, `width`), else 4 spaces and 100 columns; `--indent` and `--width` win over
the file. A file with syntax errors is left alone, with a message naming the first error.

Exit status: 0 when every file is formatted (or, with `--check` / `--diff`, already is); 1 when
a file would change (`--check`, `--diff`) or cannot be formatted (unreadable, syntax errors);
2 when the command cannot run (usage, an unusable sdf-lsp.toml)."""

from __future__ import annotations

import argparse
import contextlib
import difflib
import os
import stat
import sys
import tempfile

from sdf_lsp.cli.check import system_files
from sdf_lsp.cli.load import STDIN, UsageError
from sdf_lsp.cli.printer import Source, place
from sdf_lsp.config import ConfigFile, config_for, load_config
from sdf_lsp.files import FileError, decode, read_sdf
from sdf_lsp.ide.format import FormatOptions, FormatRefused, format_text
from sdf_lsp.syntax.lines import LineIndex


def options(args: argparse.Namespace, config: ConfigFile | None) -> FormatOptions:
    """The command line's `--indent`/`--width`, else the file's `[format]`, else the defaults."""
    indent: int | str = 4
    width = 100
    if config is not None:
        indent = config.format_indent if config.format_indent is not None else indent
        width = config.format_width if config.format_width is not None else width
    if args.indent is not None:
        indent = args.indent
    if args.width is not None:
        width = args.width
    if indent == "tab":
        return FormatOptions.of(insert_spaces=False, width=width)
    return FormatOptions.of(tab_size=int(indent), width=width)


def expand(files: list[str]) -> list[str]:
    out: list[str] = []
    for file in files:
        if file == STDIN:
            if STDIN in out:
                raise UsageError("standard input ('-') can be formatted only once")
            out.append(file)
        elif os.path.isdir(file):
            found = list(system_files(file, set()))
            if not found:
                print(f"warning: no *.system files under {file}", file=sys.stderr)
            out.extend(found)
        else:
            out.append(file)
    return out


class _Configs:
    """The sdf-lsp.toml of each file, each read once (one that cannot be used stops the run)."""

    def __init__(self):
        self._by_path: dict[str | None, ConfigFile | None] = {}

    def for_file(self, path: str) -> ConfigFile | None:
        found = config_for(path)
        if found not in self._by_path:
            self._by_path[found] = load_config(found) if found is not None else None
        return self._by_path[found]


def run(args: argparse.Namespace) -> int:
    files = expand(args.files)
    if args.stdin_filename and STDIN not in files:
        raise UsageError("--stdin-filename names the SDF read from '-', but no FILE is '-'")
    configs = _Configs()
    cwd = os.getcwd()
    for file in files:  # every sdf-lsp.toml first: one that cannot be used stops the run before any change
        configs.for_file((args.stdin_filename or os.path.join(cwd, STDIN)) if file == STDIN else file)
    failed = changed = unchanged = 0
    for file in files:
        name = (args.stdin_filename or STDIN) if file == STDIN else file
        where = (args.stdin_filename or os.path.join(cwd, STDIN)) if file == STDIN else file
        opts = options(args, configs.for_file(where))
        try:
            if file == STDIN:
                text, encoding_error = decode(sys.stdin.buffer.read())
            else:
                text, encoding_error = read_sdf(file)
        except FileError as err:
            print(f"{name}:1:1: error: {err}", file=sys.stderr)
            failed += 1
            continue
        if encoding_error:
            print(f"{name}:1:1: error: cannot format: {encoding_error}", file=sys.stderr)
            failed += 1
            continue
        try:
            out = format_text(text, opts)
        except FormatRefused as err:
            print(
                f"{place(Source(name, LineIndex(text)), err.offset)}: error: cannot format: {err.message}",
                file=sys.stderr,
            )
            failed += 1
            continue
        if out == text:
            unchanged += 1
        else:
            changed += 1
        if args.diff and out != text:
            sys.stdout.writelines(difflib.unified_diff(_lines(text), _lines(out), name, f"{name} (formatted)"))
        if args.check and out != text:
            print(f"would reformat {name}", file=sys.stderr)
        if args.check or args.diff:
            continue
        if file == STDIN:
            sys.stdout.buffer.write(out.encode("utf-8"))
            sys.stdout.buffer.flush()
        elif out != text:
            try:
                write_atomically(file, out)
            except OSError as err:
                print(f"{name}:1:1: error: cannot write the formatted file: {err.strerror or err}", file=sys.stderr)
                changed -= 1
                failed += 1
    if files != [STDIN] and not args.quiet:
        _summary(changed, unchanged, failed, args.check or args.diff)
    if failed or ((args.check or args.diff) and changed):
        return 1
    return 0


def _lines(text: str) -> list[str]:
    """Lines with their ends, the last one ended (a unified diff line per line)."""
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith(("\n", "\r")):
        lines[-1] += "\n\\ No newline at end of file\n"
    return lines


def _summary(changed: int, unchanged: int, failed: int, dry: bool) -> None:
    def files(n: int) -> str:
        return f"{n} file{'s' if n != 1 else ''}"

    parts = []
    if changed:
        parts.append(f"{files(changed)} {'would be reformatted' if dry else 'reformatted'}")
    if unchanged:
        parts.append(f"{files(unchanged)} {'already formatted' if dry else 'left unchanged'}")
    if failed:
        parts.append(f"{files(failed)} could not be formatted")
    if parts:
        print(", ".join(parts), file=sys.stderr)


def write_atomically(path: str, text: str) -> None:
    """Replace the file's content: a temporary file beside it (with its permissions), renamed over
    it, so a reader sees the old file or the new one, never half of one. A symbolic link is
    followed: the file it points to is replaced, the link stays."""
    real = os.path.realpath(path)
    mode = stat.S_IMODE(os.stat(real).st_mode)
    folder, base = os.path.split(real)
    fd, tmp = tempfile.mkstemp(prefix=f".{base}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(text.encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, real)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


__all__ = ["run", "write_atomically"]
