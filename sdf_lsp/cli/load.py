"""The load-and-analyse step every command that takes a system shares.

`Setups(args)` resolves what systems are checked against (target, dialect, search paths,
which diagnostics count) once per `sdf-lsp.toml` a run meets: the command line, then the
environment (`MICROKIT_SDK`, `MICROKIT_BOARD`, `MICROKIT_CONFIG`), then the file, then the
defaults. `load(file, setup)` reads and analyses one SDF. The result keeps the analysis as
`analyse()` made it: the program-image diagnostics, which need the files on the search paths,
are a separate list, and `Loaded.diagnostics` merges them in and applies the suppression
comments and the setup's rules (`sdf_lsp.suppress`). The files of every system of a run are
read through one `ProgramImages`, so the analysis, the program-image diagnostics and the
build parse each program image once.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, field
from functools import cached_property

from sdf_lsp import schema, suppress
from sdf_lsp.analysis import Analysis, analyse
from sdf_lsp.cli.printer import Source
from sdf_lsp.config import (
    ChoiceError,
    ConfigFile,
    Layer,
    TargetChoice,
    choose_target,
    config_for,
    environment_layer,
    load_config,
    resolve_choice,
)
from sdf_lsp.diagnostics import ERROR, Diagnostic
from sdf_lsp.files import FileError, ProgramImages, decode, read_sdf
from sdf_lsp.ide.env import Environment
from sdf_lsp.model.lower import Context
from sdf_lsp.settings import resolve_dialect
from sdf_lsp.suppress import NO_RULES, Rules, Selection, parse_selectors
from sdf_lsp.syntax.lines import LineIndex
from sdf_lsp.syntax.tree import Block, Span
from sdf_lsp.target import Target
from sdf_lsp.target.load import sdk_release

#: Code of the diagnostic for an SDF file that cannot be read.
UNREADABLE = "IO001"
#: How standard input is named on the command line.
STDIN = "-"


class UsageError(Exception):
    """The command cannot run (exit status 2, the message on stderr, nothing on stdout)."""


@dataclass(frozen=True)
class Setup:
    """What every system under one `sdf-lsp.toml` (or under none) is analysed against."""

    target: Target
    ctx: Context
    search_paths: tuple[str, ...]  # --search-path (or the file's search-paths), absolute
    images: ProgramImages = field(default_factory=ProgramImages, compare=False)  # parsed once per run
    rules: Rules = NO_RULES  # which diagnostics count, and their severities
    cwd: str | None = None  # the working directory, searched after the search paths (as microkit does)
    config: ConfigFile | None = None
    choice: TargetChoice | None = None

    def paths_for(self, file: str) -> list[str]:
        """Where `file`'s program images and prefill files are looked for: the search paths,
        then the working directory, then the file's own directory (each once)."""
        paths = [*self.search_paths]
        if self.cwd is not None:
            paths.append(self.cwd)
        paths.append(os.path.dirname(os.path.abspath(file)))
        return list(dict.fromkeys(paths))

    @property
    def out_dir(self) -> str | None:
        return self.config.out_dir if self.config is not None else None

    def describe(self) -> str:
        """Which file and target a run used (for `-v`)."""
        where = self.config.path if self.config is not None else "no sdf-lsp.toml"
        chosen = self.choice.describe() if self.choice is not None else "the default target"
        notes = "".join(f"; {n}" for n in self.choice.notes) if self.choice is not None else ""
        return (
            f"{where}: target {self.target.label} ({self.target.source}: {chosen}{notes}), dialect {self.ctx.dialect}"
        )


def command_line_rules(args: argparse.Namespace) -> Rules:
    select = parse_selectors(getattr(args, "select", None) or ())
    ignore = parse_selectors(getattr(args, "ignore", None) or ())
    for code in (*select, *ignore):
        if not suppress.is_selector(code):
            raise UsageError(f"unknown diagnostic code '{code}' (see the codes in the README, or a prefix such as MK-)")
    if not select and not ignore:
        return NO_RULES
    return Rules((Selection(select or None, ignore),))


class Setups:
    """The setup of each `sdf-lsp.toml` a run meets, made on first use."""

    def __init__(self, args: argparse.Namespace, warn=None):
        self.args = args
        self.images = ProgramImages()
        self.cwd = os.getcwd()
        self.warn = warn or (lambda msg: print(f"warning: {msg}", file=sys.stderr))
        self.rules = command_line_rules(args)
        self.command_line = Layer(
            "the command line", file=args.target, sdk=args.sdk, board=args.board, config=args.config
        )
        self._by_config: dict[str | None, Setup] = {}

    def for_file(self, file: str) -> Setup:
        """The setup of an SDF file (a name for standard input is looked up the same way)."""
        path = config_for(file)
        hit = self._by_config.get(path)
        if hit is None:
            hit = self._by_config[path] = self._make(path)
        return hit

    def used(self) -> list[Setup]:
        return list(self._by_config.values())

    def _make(self, path: str | None) -> Setup:
        args = self.args
        config = load_config(path) if path is not None else None  # ConfigError: exit 2
        layers = [self.command_line, environment_layer()]
        if config is not None:
            layers.append(config.layer())
        choice = choose_target(layers)
        # the dialect: as chosen (the command line, else the file), else the release of the SDK in use
        chosen = args.dialect or (config.dialect if config is not None else None)
        release = sdk_release(choice.sdk, self.warn) if choice.sdk else None
        dialect, dialect_error = resolve_dialect(chosen, release, choice.sdk)
        if dialect_error:
            raise UsageError(dialect_error)
        try:
            target = resolve_choice(choice, self.warn, schema.release_of(dialect))
        except ChoiceError as err:
            if config is not None and err.origin == config.path:
                raise config.error(err.key, f"[target] {err.key}: {err}") from None
            origin = "" if err.origin == "the command line" else f"{err.origin}: "
            raise UsageError(f"{origin}{err}") from None
        if args.search_path:  # relative search paths are taken from the working directory
            paths = tuple(os.path.abspath(p) for p in args.search_path)
        else:
            paths = config.search_paths or () if config is not None else ()
        rules = (config.rules if config is not None else NO_RULES).then(self.rules)
        ctx = Context(target, dialect, not args.no_authority_hints)
        return Setup(target, ctx, paths, self.images, rules, self.cwd, config, choice)


def setup(args: argparse.Namespace, file: str | None = None) -> Setup:
    """The setup for one system file (its `sdf-lsp.toml`, the command line and the environment).
    Raises UsageError (or ConfigError) when the target or the file cannot be used."""
    return Setups(args).for_file(file if file is not None else args.system)


@dataclass(frozen=True)
class Loaded:
    """One SDF file, read and analysed (or why it could not be read)."""

    file: str  # as the user gave it
    files: Environment  # what the analysis read through: search paths, prefill files, program images
    analysis: Analysis | None  # None when the file cannot be read
    unreadable: Diagnostic | None = None  # IO001, when it cannot
    rules: Rules = NO_RULES

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
    def all_diagnostics(self) -> list[Diagnostic]:
        """Every diagnostic of the file, none silenced: the analysis's with the program-image
        ones merged in by position (a stable sort: at the same position the analysis's come first)."""
        if self.analysis is None:
            return [self.unreadable] if self.unreadable is not None else []
        extra = self.program_diagnostics
        if not extra:
            return list(self.analysis.diagnostics)
        return sorted([*self.analysis.diagnostics, *extra], key=_position)

    @cached_property
    def diagnostics(self) -> list[Diagnostic]:
        """The diagnostics the user sees: `all_diagnostics` less what suppression comments and the
        rules silence, with the rules' severities."""
        a = self.analysis
        return suppress.apply(a.doc if a else None, a.lines if a else None, self.all_diagnostics, self.rules)

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
        return Loaded(
            file, files, None, Diagnostic(Span(Block(0, "head"), 0, 0), ERROR, UNREADABLE, str(err)), setup.rules
        )
    analysis = analyse(text, setup.ctx, files, encoding_error=encoding_error)
    return Loaded(file, files, analysis, rules=setup.rules)


def load_stdin(name: str | None, setup: Setup, data: bytes) -> Loaded:
    """Analyse an SDF given on standard input; `name` (`--stdin-filename`) is how messages name it
    and where its folder is, else `-` in the working directory."""
    path = name or os.path.join(setup.cwd or os.getcwd(), STDIN)
    files = Environment(setup.paths_for(path), setup.images)
    text, encoding_error = decode(data)
    analysis = analyse(text, setup.ctx, files, encoding_error=encoding_error)
    return Loaded(name or STDIN, files, analysis, rules=setup.rules)
