"""The one way the command line shows diagnostics.

Every command prints diagnostics through a `Printer`; one subclass per output format
(`FORMATS`). The rules they share live here once:

* text positions are 1-based `line:column`, the column counted in code points, the
  same from every command (`place`);
* JSON ranges are LSP ranges: 0-based, characters in UTF-16 code units, end exclusive
  (the `check` contract; `json_range`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar, TextIO

from sdf_lsp.diagnostics import ERROR, HINT, INFORMATION, SEVERITY_NAMES, Diagnostic
from sdf_lsp.syntax.lines import LineIndex
from sdf_lsp.syntax.tree import Span


@dataclass(frozen=True)
class Source:
    """A file as diagnostics name it: its path as the user gave it and its text's lines."""

    file: str
    lines: LineIndex


def place(source: Source, offset: int) -> str:
    """`file:line:col` of an offset, 1-based, the column in code points."""
    line, col = source.lines.position(offset, "utf-32")
    return f"{source.file}:{line + 1}:{col + 1}"


def text_lines(source: Source, d: Diagnostic) -> list[str]:
    """`file:line:col: severity: message [code]`, then one indented `note:` line per related place."""
    out = [f"{place(source, d.span.start)}: {SEVERITY_NAMES[d.severity]}: {d.message} [{d.code}]"]
    out += [f"    {place(source, r.span.start)}: note: {r.message}" for r in d.related if r.span is not None]
    return out


def json_range(source: Source, span: Span) -> dict[str, Any]:
    sl, sc = source.lines.position(span.start)
    el, ec = source.lines.position(span.end)
    return {"start": {"line": sl, "character": sc}, "end": {"line": el, "character": ec}}


def json_object(source: Source, d: Diagnostic) -> dict[str, Any]:
    """One diagnostic of the `check` contract's JSON list."""
    out: dict[str, Any] = {
        "file": source.file,
        "range": json_range(source, d.span),
        "severity": SEVERITY_NAMES[d.severity],
        "code": d.code,
        "message": d.message,
    }
    if d.related:
        out["related"] = [
            {"file": source.file, "range": json_range(source, r.span), "message": r.message}
            for r in d.related
            if r.span is not None
        ]
    return out


class Printer:
    """Writes diagnostics to `out` in one format: `report` once per file, then `close`.

    Counts what it was given, so a command can tell the user what it left out and
    choose its exit status. `verbose` is for formats read by people, which may leave
    out information and hint diagnostics without it; formats read by programs take all.
    """

    name: ClassVar[str]

    def __init__(self, out: TextIO, *, verbose: bool = True):
        self.out = out
        self.verbose = verbose
        self.reported = 0
        self.errors = 0

    def report(self, source: Source, diagnostics: Iterable[Diagnostic]) -> None:
        for d in diagnostics:
            self.reported += 1
            if d.severity == ERROR:
                self.errors += 1
            self.write(source, d)

    def write(self, source: Source, d: Diagnostic) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Called once after the last `report` (formats that are one document write it here)."""


class TextPrinter(Printer):
    """One line per diagnostic (`text_lines`). Without `verbose`, information and hint
    diagnostics are counted in `hidden` but not written."""

    name = "text"

    def __init__(self, out: TextIO, *, verbose: bool = True):
        super().__init__(out, verbose=verbose)
        self.shown = 0
        self.hidden = 0

    def write(self, source: Source, d: Diagnostic) -> None:
        if not self.verbose and d.severity in (INFORMATION, HINT):
            self.hidden += 1
            return
        self.shown += 1
        print("\n".join(text_lines(source, d)), file=self.out)


class JsonPrinter(Printer):
    """One JSON list of every diagnostic of every file (`json_object`), written by `close`."""

    name = "json"

    def __init__(self, out: TextIO, *, verbose: bool = True):
        super().__init__(out, verbose=verbose)
        self.objects: list[dict[str, Any]] = []

    def write(self, source: Source, d: Diagnostic) -> None:
        self.objects.append(json_object(source, d))

    def close(self) -> None:
        json.dump(self.objects, self.out, indent=None)
        self.out.write("\n")


#: Every output format by its `--format` name.
FORMATS: dict[str, type[Printer]] = {p.name: p for p in (TextPrinter, JsonPrinter)}
