"""The load-and-analyse step every command that takes a system shares.

`setup(args)` resolves what systems are checked against (target, dialect, search paths)
once per run; `load(file, setup)` reads and analyses one SDF. The result keeps the
analysis as `analyse()` made it: the program-image diagnostics, which need the files on
the search paths, are a separate list, and `Loaded.diagnostics` merges them in. The
files of every system of a run are read through one `ProgramImages`, so the analysis,
the program-image diagnostics and the build parse each program image once.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, field
from functools import cached_property

from sdf_lsp.analysis import Analysis, analyse
from sdf_lsp.cli.printer import Source
from sdf_lsp.diagnostics import ERROR, Diagnostic
from sdf_lsp.files import FileError, ProgramImages, read_sdf
from sdf_lsp.ide.env import Environment
from sdf_lsp.model.lower import Context
from sdf_lsp.syntax.lines import LineIndex
from sdf_lsp.syntax.tree import Block, Span
from sdf_lsp.target import Target

#: Code of the diagnostic for an SDF file that cannot be read.
UNREADABLE = "IO001"


class UsageError(Exception):
    """The command cannot run (exit status 2, the message on stderr, nothing on stdout)."""


@dataclass(frozen=True)
class Setup:
    """What every system of one run is analysed against."""

    target: Target
    ctx: Context
    search_paths: tuple[str, ...]  # the --search-path options, absolute
    images: ProgramImages = field(default_factory=ProgramImages, compare=False)  # parsed once per run

    def paths_for(self, file: str) -> list[str]:
        """Where `file`'s program images and prefill files are looked for: the search
        paths, then the file's own directory."""
        return [*self.search_paths, os.path.dirname(os.path.abspath(file))]


def setup(args: argparse.Namespace) -> Setup:
    """The run's target, context and search paths from the shared options (`args.add_system_options`).
    Raises UsageError for a target or SDK that cannot be used."""
    from sdf_lsp import schema
    from sdf_lsp.settings import resolve_dialect
    from sdf_lsp.target.listing import sdk_from_environment
    from sdf_lsp.target.load import TargetError, resolve_target, sdk_release

    def warn(msg: str) -> None:
        print(f"warning: {msg}", file=sys.stderr)

    # the SDK whose VERSION picks the dialect: --sdk, else $MICROKIT_SDK (unless --target is given)
    sdk = args.sdk or (None if args.target else sdk_from_environment())
    dialect, error = resolve_dialect(args.dialect, sdk_release(sdk, warn) if sdk else None, sdk)
    if error:
        raise UsageError(error)
    try:
        target = resolve_target(
            target_file=args.target,
            sdk=args.sdk,
            board=args.board,
            config=args.config,
            warn=warn,
            release=schema.release_of(dialect),
        )
    except TargetError as err:
        raise UsageError(str(err)) from None
    ctx = Context(target, dialect, not args.no_authority_hints)
    # relative search paths are taken from the working directory
    return Setup(target, ctx, tuple(os.path.abspath(p) for p in args.search_path))


@dataclass(frozen=True)
class Loaded:
    """One SDF file, read and analysed (or why it could not be read)."""

    file: str  # as the user gave it
    files: Environment  # what the analysis read through: search paths, prefill files, program images
    analysis: Analysis | None  # None when the file cannot be read
    unreadable: Diagnostic | None = None  # IO001, when it cannot

    @property
    def search_paths(self) -> list[str]:
        return self.files.search_paths

    @cached_property
    def source(self) -> Source:
        return Source(self.file, self.analysis.lines if self.analysis is not None else LineIndex(""))

    @cached_property
    def program_diagnostics(self) -> list[Diagnostic]:
        """What the program images on the search paths say (missing images, symbols); made
        on first use, from the images the analysis parsed."""
        if self.analysis is None:
            return []
        from sdf_lsp.ide.env_checks import program_diagnostics

        return program_diagnostics(self.analysis, self.files)

    @cached_property
    def diagnostics(self) -> list[Diagnostic]:
        """Every diagnostic of the file: the analysis's with the program-image ones merged in
        by position (a stable sort: at the same position the analysis's come first)."""
        if self.analysis is None:
            return [self.unreadable] if self.unreadable is not None else []
        extra = self.program_diagnostics
        if not extra:
            return list(self.analysis.diagnostics)
        return sorted([*self.analysis.diagnostics, *extra], key=_position)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == ERROR]


def _position(d: Diagnostic) -> tuple[int, int]:
    return d.span.start, d.span.end


def load(file: str, setup: Setup) -> Loaded:
    """Read and analyse one SDF file; a file that cannot be read is an IO001 error at its start."""
    files = Environment(setup.paths_for(file), setup.images)
    try:
        text, encoding_error = read_sdf(file)
    except FileError as err:
        return Loaded(file, files, None, Diagnostic(Span(Block(0, "head"), 0, 0), ERROR, UNREADABLE, str(err)))
    analysis = analyse(text, setup.ctx, files, encoding_error=encoding_error)
    return Loaded(file, files, analysis)
