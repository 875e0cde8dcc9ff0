"""The one way the command line shows diagnostics.

Every command prints diagnostics through a `Printer`; one subclass per output format
(`FORMATS`). The rules they share live here once:

* text positions are 1-based `line:column`, the column counted in code points, the
  same from every command (`place`), in the form gcc prints and editors' error formats
  read (`file:line:col: severity: message`, related places as unindented `note:` lines);
* JSON ranges are LSP ranges: 0-based, characters in UTF-16 code units, end exclusive
  (the `check` contract; `json_range`);
* SARIF 2.1.0 regions and GitHub workflow commands are 1-based; SARIF columns count UTF-16
  code units (its default `columnKind`), GitHub's code points, as the text form.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar, TextIO
from urllib.parse import quote

from sdf_lsp import __version__
from sdf_lsp.codes import CODES
from sdf_lsp.diagnostics import ERROR, HINT, INFORMATION, SEVERITY_NAMES, WARNING, Diagnostic
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


#: ANSI styles of the text form on a terminal, as gcc colours its messages.
_STYLE = {
    "place": "\x1b[1m",
    ERROR: "\x1b[1;31m",
    WARNING: "\x1b[1;35m",
    INFORMATION: "\x1b[1;36m",
    HINT: "\x1b[1;36m",
    "note": "\x1b[1;36m",
    "code": "\x1b[2m",
}
_RESET = "\x1b[0m"


def _paint(text: str, style: str | int, color: bool) -> str:
    return f"{_STYLE[style]}{text}{_RESET}" if color else text


def text_lines(source: Source, d: Diagnostic, color: bool = False) -> list[str]:
    """`file:line:col: severity: message [code]`, then one `file:line:col: note: ...` line per related place."""
    severity = SEVERITY_NAMES[d.severity]
    out = [
        f"{_paint(place(source, d.span.start) + ':', 'place', color)} {_paint(severity + ':', d.severity, color)} "
        f"{d.message} {_paint(f'[{d.code}]', 'code', color)}"
    ]
    out += [
        f"{_paint(place(source, r.span.start) + ':', 'place', color)} {_paint('note:', 'note', color)} {r.message}"
        for r in d.related
        if r.span is not None
    ]
    return out


def use_color(choice: str, out: TextIO, environ=None) -> bool:
    """`--color`: always, never, or auto (a terminal, and neither NO_COLOR nor TERM=dumb)."""
    env = os.environ if environ is None else environ
    if choice in ("always", "never"):
        return choice == "always"
    if env.get("NO_COLOR") or env.get("TERM") == "dumb":
        return False
    isatty = getattr(out, "isatty", None)
    return bool(isatty and isatty())


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

    def __init__(self, out: TextIO, *, verbose: bool = True, color: bool = False):
        self.out = out
        self.verbose = verbose
        self.color = color
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

    def __init__(self, out: TextIO, *, verbose: bool = True, color: bool = False):
        super().__init__(out, verbose=verbose, color=color)
        self.shown = 0
        self.hidden = 0

    def write(self, source: Source, d: Diagnostic) -> None:
        if not self.verbose and d.severity in (INFORMATION, HINT):
            self.hidden += 1
            return
        self.shown += 1
        print("\n".join(text_lines(source, d, self.color)), file=self.out)


class JsonPrinter(Printer):
    """One JSON list of every diagnostic of every file (`json_object`), written by `close`."""

    name = "json"

    def __init__(self, out: TextIO, *, verbose: bool = True, color: bool = False):
        super().__init__(out, verbose=verbose, color=color)
        self.objects: list[dict[str, Any]] = []

    def write(self, source: Source, d: Diagnostic) -> None:
        self.objects.append(json_object(source, d))

    def close(self) -> None:
        json.dump(self.objects, self.out, indent=None)
        self.out.write("\n")


# --------------------------------------------------------------------------- SARIF

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_SARIF_LEVELS = {ERROR: "error", WARNING: "warning", INFORMATION: "note", HINT: "note"}


def sarif_uri(file: str) -> str:
    """A file as a SARIF `artifactLocation.uri`: a relative reference for a relative path
    (code scanning resolves it against the checkout), a `file:` URI for an absolute one."""
    if os.path.isabs(file):
        return "file://" + quote(file.replace(os.sep, "/"))
    return quote(file.replace(os.sep, "/"))


def sarif_region(source: Source, span) -> dict[str, int]:
    """1-based lines and columns (UTF-16 code units, SARIF's default), end column exclusive."""
    sl, sc = source.lines.position(span.start)
    el, ec = source.lines.position(span.end)
    return {"startLine": sl + 1, "startColumn": sc + 1, "endLine": el + 1, "endColumn": ec + 1}


def sarif_location(source: Source, span) -> dict[str, Any]:
    return {
        "physicalLocation": {
            "artifactLocation": {"uri": sarif_uri(source.file)},
            "region": sarif_region(source, span),
        }
    }


class SarifPrinter(Printer):
    """One SARIF 2.1.0 log: a run of sdf-lsp whose rules are every diagnostic code (`codes.CODES`)."""

    name = "sarif"

    def __init__(self, out: TextIO, *, verbose: bool = True, color: bool = False):
        super().__init__(out, verbose=verbose, color=color)
        self.rules = list(CODES)
        self.index = {code: i for i, code in enumerate(self.rules)}
        self.results: list[dict[str, Any]] = []

    def write(self, source: Source, d: Diagnostic) -> None:
        if d.code not in self.index:  # a code without a table entry still gets a rule
            self.index[d.code] = len(self.rules)
            self.rules.append(d.code)
        result: dict[str, Any] = {
            "ruleId": d.code,
            "ruleIndex": self.index[d.code],
            "level": _SARIF_LEVELS[d.severity],
            "message": {"text": d.message},
            "locations": [sarif_location(source, d.span)],
        }
        related = [
            {"id": i, **sarif_location(source, r.span), "message": {"text": r.message}}
            for i, r in enumerate((r for r in d.related if r.span is not None), 1)
        ]
        if related:
            result["relatedLocations"] = related
        self.results.append(result)

    def close(self) -> None:
        rules = [
            {"id": code, "shortDescription": {"text": CODES.get(code, code)}, "helpUri": HELP_URI}
            for code in self.rules
        ]
        log = {
            "$schema": SARIF_SCHEMA,
            "version": "2.1.0",
            "runs": [
                {
                    "tool": {
                        "driver": {
                            "name": "sdf-lsp",
                            "version": __version__,
                            "informationUri": INFORMATION_URI,
                            "rules": rules,
                        }
                    },
                    "columnKind": "utf16CodeUnits",
                    "results": self.results,
                }
            ],
        }
        json.dump(log, self.out, indent=1)
        self.out.write("\n")


INFORMATION_URI = "https://github.com/sdf-lsp/sdf-lsp"
HELP_URI = f"{INFORMATION_URI}#diagnostics"


# --------------------------------------------------------------------------- GitHub

_GITHUB_COMMANDS = {ERROR: "error", WARNING: "warning", INFORMATION: "notice", HINT: "notice"}


def github_data(text: str) -> str:
    """A workflow command's message, escaped as GitHub's toolkit does (`escapeData`)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def github_property(text: str) -> str:
    """A workflow command's property value (`escapeProperty`): `:` and `,` too."""
    return github_data(text).replace(":", "%3A").replace(",", "%2C")


def github_line(source: Source, d: Diagnostic) -> str:
    """`::error file=F,line=L,col=C,endLine=..,endColumn=..,title=CODE::message` (1-based, code points)."""
    sl, sc = source.lines.position(d.span.start, "utf-32")
    el, ec = source.lines.position(d.span.end, "utf-32")
    props = {
        "file": source.file,
        "line": str(sl + 1),
        "col": str(sc + 1),
        "endLine": str(el + 1),
        "endColumn": str(ec + 1),
        "title": d.code,
    }
    message = d.message
    for r in d.related:
        if r.span is not None:
            message += f"\n{place(source, r.span.start)}: note: {r.message}"
    head = ",".join(f"{k}={github_property(v)}" for k, v in props.items())
    return f"::{_GITHUB_COMMANDS[d.severity]} {head}::{github_data(message)}"


class GithubPrinter(Printer):
    """GitHub Actions workflow commands: each diagnostic becomes an annotation on the pull request.
    Without `verbose`, information and hint diagnostics are left out, as in the text form."""

    name = "github"

    def write(self, source: Source, d: Diagnostic) -> None:
        if not self.verbose and d.severity in (INFORMATION, HINT):
            return
        print(github_line(source, d), file=self.out)


#: Every output format by its `--format` name.
FORMATS: dict[str, type[Printer]] = {p.name: p for p in (TextPrinter, JsonPrinter, SarifPrinter, GithubPrinter)}
