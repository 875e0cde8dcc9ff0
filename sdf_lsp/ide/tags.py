"""Linked editing of an element's start and end tag names, and selection ranges (value ->
attribute -> start tag -> element -> enclosing elements -> `<system>`), from the syntax tree
alone: both answer at once from the newest text."""

from __future__ import annotations

from sdf_lsp.ide.locate import locate
from sdf_lsp.syntax.scanner import Document
from sdf_lsp.syntax.tree import Element, Node

#: What a tag name may become while it is edited (the XML name grammar, for the client).
TAG_NAME_PATTERN = r"[^\s<>/=\"'!?]+"


def linked_tag_names(doc: Document, offset: int) -> list[tuple[int, int]] | None:
    """The start tag's name and the end tag's name of the element whose tag name holds the
    offset (None: the offset is not in a tag name, or the element has no end tag)."""
    loc = locate(doc, offset)
    el = loc.element
    if el is None or loc.kind not in ("tag", "end-tag") or el.self_closing or el.end_tag_s < 0:
        return None
    start = el.block.start + el.s + 1
    end_start = el.eblock.start + el.end_tag_s + 2
    name = el.name
    if doc.text[end_start : end_start + len(name)] != name:
        return None
    pair = [(start, start + len(name)), (end_start, end_start + len(name))]
    if not any(s <= offset <= e for s, e in pair):
        return None  # in the end tag, but not in its name (`</` or `>`)
    return pair


def selection_ranges(doc: Document, offset: int) -> list[tuple[int, int]]:
    """Ranges around the offset, innermost first, each holding the one before it."""
    out: list[tuple[int, int]] = []

    def add(start: int, end: int) -> None:
        if end <= start:
            return
        if out and (start > out[-1][0] or end < out[-1][1]):
            return  # does not hold the range before it
        if not out or (start, end) != out[-1]:
            out.append((start, end))

    loc = locate(doc, offset)
    el = loc.element
    if el is None:
        node = _top_node_at(doc, offset)
        if node is not None:
            add(node.start, node.end)
        return out
    bs = el.block.start
    tag = (bs + el.s, bs + el.tag_end)
    if loc.kind in ("attr-value", "attr-name") and loc.attr is not None:
        a = loc.attr
        if loc.kind == "attr-value":
            add(bs + a.vs, bs + a.ve)
        else:
            add(bs + a.s, bs + a.s + len(a.name))
        add(bs + a.s, bs + a.e)
        add(*tag)
    elif loc.kind == "tag":
        add(bs + el.s + 1, bs + el.s + 1 + len(el.name))
        add(*tag)
    elif loc.kind == "in-tag":
        add(*tag)
    elif loc.kind == "end-tag":
        ets = el.end_tag_span
        if ets is not None:
            add(ets.start + 2, ets.start + 2 + len(el.name))
            add(ets.start, ets.end)
    else:
        node = _child_at(el, offset)
        if node is not None:
            add(node.start, node.end)
    while el is not None:
        add(el.start, el.end)
        el = el.parent
    return out


def _child_at(el: Element, offset: int) -> Node | None:
    """A comment or processing instruction of `el` holding the offset."""
    for c in el.children:
        if c.kind in ("comment", "pi") and c.start < offset < c.end:
            return c
    return None


def _top_node_at(doc: Document, offset: int) -> Node | None:
    for n in doc.nodes:
        if n.kind != "text" and n.start <= offset <= n.end:
            return n
    return None
