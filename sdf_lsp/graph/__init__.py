"""Pictures of a system: the authority graph and the memory view, as DOT text (pure,
no Graphviz needed) and rendered to SVG or PNG through Graphviz."""

from __future__ import annotations

from sdf_lsp.analysis import Analysis
from sdf_lsp.graph.authority import authority_dot
from sdf_lsp.graph.memory import memory_dot
from sdf_lsp.graph.render import FORMATS, GraphError, GraphvizMissing, render
from sdf_lsp.layout.memory import memory_budget

VIEWS = ("authority", "memory")


def to_dot(analysis: Analysis, view: str = "authority", search_paths: tuple[str, ...] | list[str] = ()) -> str:
    """DOT text of one view of an analysed system. `search_paths` is where the memory view
    looks for program images (for their segments)."""
    if view not in VIEWS:
        raise ValueError(f"unknown view '{view}' (expected one of {', '.join(VIEWS)})")
    system = analysis.system
    if system is None:
        first = analysis.errors[0].message if analysis.errors else "the document has no <system> element"
        raise GraphError(f"nothing to draw: {first}")
    if view == "authority":
        return authority_dot(system)
    target = analysis.ctx.target
    layout = analysis.layout
    budget = layout.budget if layout is not None else None
    if budget is None and layout is not None:  # the microkit-2.3 dialect skips the budget check, not the figures
        budget = memory_budget(system, target, layout.cspaces, layout.endpoint_pds)
    return memory_dot(system, target, budget, tuple(search_paths))


__all__ = ["FORMATS", "VIEWS", "GraphError", "GraphvizMissing", "render", "to_dot"]
