"""Running Graphviz: the only part of the graph package that needs the `dot` program."""

from __future__ import annotations

FORMATS = ("svg", "png")


class GraphError(Exception):
    """A graph cannot be made (the document has no system, or Graphviz failed)."""


class GraphvizMissing(GraphError):
    """Graphviz (the Python binding or the `dot` program) is not installed."""


def render(dot: str, fmt: str = "svg") -> bytes:
    """Lay out and draw DOT text with Graphviz's `dot`."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown image format '{fmt}' (expected one of {', '.join(FORMATS)})")
    try:
        import graphviz
    except ImportError:
        raise GraphvizMissing("the Python package 'graphviz' is not installed (pip install graphviz)") from None
    try:
        return graphviz.pipe("dot", fmt, dot.encode("utf-8"), quiet=True)
    except graphviz.ExecutableNotFound:
        raise GraphvizMissing(
            "Graphviz's 'dot' program was not found on PATH (Debian: apt-get install graphviz)"
        ) from None
    except graphviz.CalledProcessError as err:
        detail = (err.stderr or b"").decode("utf-8", "replace").strip()
        raise GraphError(f"Graphviz failed: {detail or err}") from None
