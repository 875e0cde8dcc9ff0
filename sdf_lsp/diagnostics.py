"""Diagnostics: what every check produces. Plain data, no protocol types."""

from __future__ import annotations

from sdf_lsp.syntax.tree import Span

ERROR = 1
WARNING = 2
INFORMATION = 3
HINT = 4

SEVERITY_NAMES = {ERROR: "error", WARNING: "warning", INFORMATION: "information", HINT: "hint"}

# LSP diagnostic tags
UNNECESSARY = 1
DEPRECATED = 2


class Related:
    __slots__ = ("span", "message", "uri")

    def __init__(self, span: Span | None, message: str, uri: str | None = None):
        self.span = span
        self.message = message
        self.uri = uri  # None: the same document


class Diagnostic:
    """A finding at a span. `data` carries what a quick fix needs (JSON-able)."""

    __slots__ = ("span", "severity", "code", "message", "related", "tags", "data")

    def __init__(self, span: Span, severity: int, code: str, message: str, related=(), tags=(), data=None):
        self.span = span
        self.severity = severity
        self.code = code
        self.message = message
        self.related: tuple[Related, ...] = tuple(related)
        self.tags = tuple(tags)
        self.data = data

    def __repr__(self) -> str:
        return f"Diagnostic({SEVERITY_NAMES[self.severity]} {self.code} @{self.span.start}-{self.span.end}: {self.message})"


#: The longest user value a message quotes whole.
QUOTE_LIMIT = 80


def shorten(value: str, limit: int = QUOTE_LIMIT) -> str:
    """A user's value as a message quotes it: whole when short, else its head and tail with
    the number of characters left out, so a 5-million-digit number makes a short message."""
    if len(value) <= limit:
        return value
    keep = (limit - 20) // 2
    return f"{value[:keep]}…[{len(value) - 2 * keep} more characters]…{value[-keep:]}"
