"""A small DOT writer: quoting, unique SVG ids and a node/edge budget.

Node names are short generated ones (`n0`, `n1`, ...) so that names from the SDF never
need DOT escaping in edge statements; what a reader (or a test, or a webview) looks for
is the node's `id` and `class`, which Graphviz copies into the SVG.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

FAST_LAYOUT_EDGES = 120


class Html(str):
    """An HTML-like label: written between `<` and `>` instead of quotes."""


def quote(value: str) -> str:
    """A DOT string whose text survives Graphviz's escString expansion unchanged
    (a newline becomes a centred line break)."""
    value = value.replace("\\", "\\\\").replace('"', '\\"').replace("\r", "").replace("\n", "\\n")
    return f'"{value}"'


def html(text: str) -> str:
    """Text for inside an HTML-like label."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _attrs(attrs: dict[str, object]) -> str:
    parts = []
    for key, value in attrs.items():
        if value is None:
            continue
        if isinstance(value, Html):
            parts.append(f"{key}=<{value}>")
        elif isinstance(value, bool):
            parts.append(f"{key}={'true' if value else 'false'}")
        else:
            parts.append(f"{key}={quote(str(value))}")
    return ", ".join(parts)


@dataclass
class Edge:
    """An edge waiting for the budget: drawn in `rank` order, lower first."""

    rank: int
    what: str  # the category named in the note when some are left out
    tail: str
    head: str
    id: str
    cls: str
    attrs: dict[str, object] = field(default_factory=dict)


class Dot:
    """One `digraph` under construction. Nodes and clusters are written as they come;
    edges are collected and written by `text`, the most important ones first, up to
    `max_edges`, so a huge system yields a readable picture and a note of what is missing."""

    def __init__(self, graph: dict[str, object], node: dict[str, object], edge: dict[str, object], max_edges: int):
        self.head = [f"graph [{_attrs(graph)}];", f"node [{_attrs(node)}];", f"edge [{_attrs(edge)}];"]
        self.body: list[str] = []
        self.edges: list[Edge] = []
        self.max_edges = max_edges
        self.omitted: Counter[str] = Counter()
        self.totals: Counter[str] = Counter()
        self._ids: set[str] = set()
        self._count = 0
        self._depth = 1

    def unique(self, id_: str) -> str:
        """`id_`, or `id_~2`, `id_~3`... when taken (duplicate names in a broken document)."""
        if id_ not in self._ids:
            self._ids.add(id_)
            return id_
        n = 2
        while f"{id_}~{n}" in self._ids:
            n += 1
        self._ids.add(f"{id_}~{n}")
        return f"{id_}~{n}"

    def _line(self, text: str):
        self.body.append("  " * self._depth + text)

    def node(self, id_: str, cls: str, **attrs: object) -> str:
        """Declare a node; returns its DOT name."""
        name = f"n{self._count}"
        self._count += 1
        self._line(f"{name} [{_attrs({'id': self.unique(id_), 'class': cls, **attrs})}];")
        return name

    def open_cluster(self, id_: str, cls: str, **attrs: object):
        self._line(f"subgraph cluster_{self._count} {{")
        self._count += 1
        self._depth += 1
        self._line(f"graph [{_attrs({'id': self.unique(id_), 'class': cls, **attrs})}];")

    def close_cluster(self):
        self._depth -= 1
        self._line("}")

    def edge(self, rank: int, what: str, tail: str, head: str, id_: str, cls: str, **attrs: object):
        self.totals[what] += 1
        self.edges.append(Edge(rank, what, tail, head, id_, cls, attrs))

    def skip(self, what: str, count: int = 1, total: int | None = None):
        """Count things left out before the budget (e.g. an edge whose end was not drawn)
        for the note; `total` is how many of them there are, by default `count`."""
        self.totals[what] += count if total is None else total
        self.omitted[what] += count

    def chosen(self) -> list[Edge]:
        """The edges within the budget (stable within a rank); counts what is left out."""
        ordered = sorted(self.edges, key=lambda e: e.rank)
        for e in ordered[self.max_edges :]:
            self.omitted[e.what] += 1
        return ordered[: self.max_edges]

    def text(self, edges: list[Edge]) -> str:
        out = ["digraph sdf {"]
        out.extend("  " + line for line in self.head)
        if len(edges) > FAST_LAYOUT_EDGES:
            # dot's crossing minimisation grows much faster than the edge count: bound it
            out.append("  graph [mclimit=0.3, nslimit=2, nslimit1=2, searchsize=20, remincross=false];")
        out.extend(self.body)
        for e in edges:
            out.append(f"  {e.tail} -> {e.head} [{_attrs({'id': self.unique(e.id), 'class': e.cls, **e.attrs})}];")
        out.append("}")
        return "\n".join(out) + "\n"

    def finish(self, note_limit: str) -> str:
        """The DOT text; a note node says what the budget left out."""
        edges = self.chosen()
        if self.omitted:
            lines = [f"{n} of {self.totals[what]} {what} not drawn" for what, n in sorted(self.omitted.items())]
            self.node(
                "note:omitted",
                "note omitted",
                shape="note",
                style="filled",
                fillcolor="#fff4c2",
                label="\n".join([*lines, note_limit]),
            )
        return self.text(edges)
