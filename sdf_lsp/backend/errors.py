"""Build failures as diagnostics: each one has a span in the SDF and a stable code.

Messages are upstream's where upstream has the check (minus its `Error: ` /
`ERROR: ` prefix, as the check contract says), so that a build in the editor
and a build with the Microkit tool say the same thing.
"""

from __future__ import annotations

from sdf_lsp.diagnostics import ERROR, Diagnostic, Related
from sdf_lsp.syntax.tree import Span

#: Codes of the build's own diagnostics.
PROGRAM_NOT_FOUND = "BLD001"  # unable to find program image
SYMBOLS_NOT_FOUND = "BLD002"  # unable to find program image for symbols
BAD_ELF = "BLD003"  # failed to parse ELF
SYMBOL_PATCH = "BLD004"  # a symbol to patch is missing or ambiguous
SYMBOL_SIZE = "BLD005"  # setvar to a symbol that is not one word
MAP_OVERLAP = "BLD006"  # a map overlaps an ELF segment or the stack
MAP_FAILED = "BLD007"  # a page-table slot is already filled
OUT_OF_MEMORY = "BLD008"  # the simulated allocation ran out of untyped memory
PADDR_OUTSIDE = "BLD009"  # an object's fixed paddr is in no untyped
NO_SDK = "BLD010"  # the target lacks what a build needs (SDK binaries, RAM map)
UNSUPPORTED = "BLD011"  # a construct the pinned capDL initialiser cannot express
OUTPUT = "BLD012"  # the output directory cannot be written
PLACEMENT = "BLD013"  # tool-placed memory regions do not fit or do not settle


class BuildError(Exception):
    """The build cannot go on; `diagnostics` say why and where."""

    def __init__(self, diagnostics: list[Diagnostic]):
        super().__init__("; ".join(d.message for d in diagnostics))
        self.diagnostics = diagnostics


def problem(span: Span, code: str, message: str, related: tuple[Related, ...] = ()) -> Diagnostic:
    return Diagnostic(span, ERROR, code, message, related)


def fail(span: Span, code: str, message: str, related: tuple[Related, ...] = ()) -> BuildError:
    """A `BuildError` with one diagnostic (to raise)."""
    return BuildError([problem(span, code, message, related)])
