"""Reading the SVG that Graphviz draws: nodes and edges by their ids and classes."""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from sdf_lsp.analysis import Analysis, analyse
from sdf_lsp.files import SearchPathFiles
from sdf_lsp.model.lower import Context
from sdf_lsp.target import Target, default_target, load_target_file
from tests.conftest import SHARED, require

NS = {"svg": "http://www.w3.org/2000/svg"}
EXAMPLES = SHARED / "corpus" / "microkit-examples"
GENERATED = SHARED / "corpus" / "generated"
LARGEST = GENERATED / "stress_63pds_xl_12k_regions.system"


def require_graphviz():
    try:
        import graphviz  # noqa: F401

        binding = True
    except ImportError:
        binding = False
    require(
        binding and shutil.which("dot") is not None,
        "Graphviz is not installed (scripts/apt-graph.txt, scripts/requirements-graph.txt)",
    )


def corpus_target(path: Path) -> Target:
    """The target a corpus file names in its folder's expected.json (else the default)."""
    expected = path.parent / "expected.json"
    if expected.is_file():
        for case in json.loads(expected.read_text()):
            if case["file"] == path.name and case.get("config"):
                return load_target_file(path.parent / "targets" / f"{case['config']}.json")
    return default_target()


def analyse_file(
    path: Path, target: Target | None = None, dialect: str = "extended", search_paths: tuple[str, ...] = ()
) -> Analysis:
    files = SearchPathFiles([*search_paths, str(path.parent)])
    return analyse(path.read_text(), Context(target or corpus_target(path), dialect), files)


def analyse_text(text: str, dialect: str = "extended") -> Analysis:
    return analyse(text, Context(default_target(), dialect))


@dataclass
class Item:
    id: str
    classes: set[str]
    text: str  # every text the item draws, joined by newlines
    el: etree._Element
    tail: str | None = None  # edges: ids of the nodes at the ends
    head: str | None = None


@dataclass
class Svg:
    nodes: dict[str, Item] = field(default_factory=dict)
    edges: dict[str, Item] = field(default_factory=dict)
    clusters: dict[str, Item] = field(default_factory=dict)

    def with_class(self, cls: str) -> list[Item]:
        return [i for i in (*self.nodes.values(), *self.edges.values()) if cls in i.classes]


def _text(el) -> str:
    return "\n".join(t.text or "" for t in el.iterfind(".//svg:text", NS))


def parse_svg(data: bytes) -> Svg:
    root = etree.fromstring(data)
    out = Svg()
    by_name: dict[str, str] = {}
    edges = []
    for g in root.iterfind(".//svg:g", NS):
        classes = set((g.get("class") or "").split())
        title = g.findtext("svg:title", default="", namespaces=NS)
        item = Item(g.get("id"), classes, _text(g), g)
        if "node" in classes:
            by_name[title] = item.id
            out.nodes[item.id] = item
        elif "edge" in classes:
            edges.append((title, item))
        elif "cluster" in classes:
            out.clusters[item.id] = item
    for title, item in edges:
        tail, head = title.split("->")
        item.tail, item.head = by_name[tail.split(":")[0]], by_name[head.split(":")[0]]
        out.edges[item.id] = item
    return out


def bbox(item: Item) -> tuple[float, float, float, float]:
    """The box around every point the item draws (polygons and paths)."""
    nums = []
    for el in item.el.iter():
        for attr in ("points", "d"):
            if el.get(attr):
                nums.extend(float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", el.get(attr)))
    xs, ys = nums[0::2], nums[1::2]
    return min(xs), min(ys), max(xs), max(ys)


def inside(inner: Item, outer: Item) -> bool:
    a, b = bbox(inner), bbox(outer)
    return a[0] >= b[0] and a[1] >= b[1] and a[2] <= b[2] and a[3] <= b[3]
