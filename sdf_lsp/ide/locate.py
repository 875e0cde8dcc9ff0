"""What is at an offset: the innermost element, and which part of its tags."""

from __future__ import annotations

from dataclasses import dataclass

from sdf_lsp.syntax.scanner import Document
from sdf_lsp.syntax.tree import Attribute, Element


@dataclass
class Location:
    kind: str  # "tag" (start-tag name), "end-tag", "attr-name", "attr-value", "in-tag" (between attributes), "content", "none"
    element: Element | None = None  # the element whose tag the offset is in, or that contains it
    attr: Attribute | None = None
    offset: int = 0


def element_at(doc: Document, offset: int) -> Element | None:
    """Innermost element whose range contains the offset."""
    root = doc.root
    if root is None:
        return None
    if not (root.start <= offset <= root.end or (not root.closed and offset >= root.start)):
        return None
    el = root
    while True:
        nxt = None
        kids = el.children
        # children are in order: binary search by start
        lo, hi = 0, len(kids) - 1
        while lo <= hi:
            mid = (lo + hi) // 2
            c = kids[mid]
            if c.start > offset:
                hi = mid - 1
            elif c.end < offset:
                lo = mid + 1
            else:
                # prefer an element (text nodes touch their neighbours)
                for cand in (
                    kids[mid],
                    kids[mid - 1] if mid > 0 else None,
                    kids[mid + 1] if mid + 1 < len(kids) else None,
                ):
                    if (
                        cand is not None
                        and cand.kind == "element"
                        and cand.start < offset
                        and (offset < cand.end or (offset == cand.end and not cand.closed))
                    ):
                        nxt = cand
                        break
                break
        if nxt is None:
            return el
        el = nxt


def locate(doc: Document, offset: int) -> Location:
    el = element_at(doc, offset)
    if el is None:
        return Location("none", None, None, offset)
    bs = el.block.start
    tag_start, tag_end = bs + el.s, bs + el.tag_end
    if tag_start < offset <= tag_start + 1 + len(el.name):
        return Location("tag", el, None, offset)
    if tag_start < offset < tag_end or (
        offset == tag_end and not doc.text.startswith(">", tag_end - 1) and not doc.text.startswith("/>", tag_end - 2)
    ):
        for a in el.attrs:
            if bs + a.s <= offset <= bs + a.s + len(a.name):
                return Location("attr-name", el, a, offset)
            if a.quoted and bs + a.vs <= offset <= bs + a.ve:
                return Location("attr-value", el, a, offset)
            if not a.quoted and a.vs != a.ve and bs + a.vs <= offset <= bs + a.ve:
                return Location("attr-value", el, a, offset)
        return Location("in-tag", el, None, offset)
    ets = el.end_tag_span
    if ets is not None and ets.start < offset <= ets.end:
        return Location("end-tag", el, None, offset)
    return Location("content", el, None, offset)
