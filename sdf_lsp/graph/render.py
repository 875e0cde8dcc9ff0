"""Running Graphviz: the only part of the graph package that needs the `dot` program."""

from __future__ import annotations

FORMATS = ("svg", "png")

# What to install, by platform: the Python binding is a declared dependency, the program is not on PyPI.
INSTALL_DOT = (
    "install Graphviz (Debian/Ubuntu: `sudo apt install graphviz`; Fedora: `sudo dnf install graphviz`; "
    "Arch: `sudo pacman -S graphviz`; macOS: `brew install graphviz`; Windows: `winget install graphviz`; "
    "or conda: `conda install -c conda-forge graphviz`)"
)


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
        raise GraphvizMissing(
            "the Python package 'graphviz' is not installed (`pip install graphviz`, or reinstall sdf-lsp)"
        ) from None
    try:
        return graphviz.pipe("dot", fmt, dot.encode("utf-8"), quiet=True)
    except graphviz.ExecutableNotFound:
        raise GraphvizMissing(f"Graphviz's `dot` program was not found on PATH: {INSTALL_DOT}") from None
    except graphviz.CalledProcessError as err:
        detail = (err.stderr or b"").decode("utf-8", "replace").strip()
        raise GraphError(f"Graphviz failed: {detail or err}") from None
