"""Pictures of a system: the authority graph and the memory view, as DOT text (pure,
no Graphviz needed) and rendered to SVG or PNG through Graphviz."""

from __future__ import annotations

from sdf_lsp.analysis import Analysis
from sdf_lsp.graph.authority import authority_dot
from sdf_lsp.graph.memory import memory_dot
from sdf_lsp.graph.render import FORMATS, GraphError, GraphvizMissing, render

VIEWS = ("authority", "memory")


def to_dot(analysis: Analysis, view: str = "authority") -> str:
    """DOT text of one view of an analysed system (program images as the analysis found them)."""
    if view not in VIEWS:
        raise ValueError(f"unknown view '{view}' (expected one of {', '.join(VIEWS)})")
    system = analysis.system
    if system is None:
        first = analysis.errors[0].message if analysis.errors else "the document has no <system> element"
        raise GraphError(f"nothing to draw: {first}")
    if view == "authority":
        return authority_dot(system)
    budget = analysis.layout.budget if analysis.layout is not None else None
    return memory_dot(system, analysis.ctx.target, budget)


__all__ = ["FORMATS", "VIEWS", "GraphError", "GraphvizMissing", "render", "to_dot"]
