"""Inlay hints (the outline and folding ranges, which need no analysis, are in `outline.py`)."""

from __future__ import annotations

from dataclasses import dataclass

from sdf_lsp.analysis import Analysis
from sdf_lsp.model import values


def _known(value) -> str:
    """A value for a label: `?` while it is still being typed (never `None`)."""
    return "?" if value is None or value == "" else str(value)


@dataclass
class Hint:
    offset: int
    label: str
    tooltip: str | None = None


def inlay_hints(analysis: Analysis, start: int, end: int) -> list[Hint]:
    """Peers of channel ends, sizes in human units, page counts, CPtrs and auto-placed reserves."""
    s = analysis.system
    if s is None:
        return []
    out: list[Hint] = []

    def within(el) -> bool:
        return el.start < end and el.end > start

    for ch in s.channels:
        if not ch.valid or not within(ch.el):
            continue
        a, b = ch.ends
        for end_, other in ((a, b), (b, a)):
            ida = end_.el.attr("id")
            if ida is not None and other.pd is not None:
                out.append(
                    Hint(ida.value_span.end + 1, f"→ {other.pd}:{_known(other.id)}", "the other end of the channel")
                )
    for mr in s.mrs:
        if not within(mr.el):
            continue
        a = mr.el.attr("size")
        facts = s.region(mr)
        if a is not None and facts.size is not None and facts.size >= 1024:
            pages = facts.page_count or 0
            out.append(
                Hint(a.value_span.end + 1, f"{values.human_size(facts.size)}, {pages} page{'s' if pages != 1 else ''}")
            )
    lay_of = analysis.layout.cspace if analysis.layout else None
    for pd in s.pds:
        if pd.cspace is None or lay_of is None or not within(pd.cspace.el):
            continue
        lay = lay_of(pd)
        for cap in pd.cspace.caps:
            a = cap.el.attr("slot")
            if a is not None and cap.slot is not None:
                out.append(Hint(a.value_span.end + 1, f"cptr {lay.cptr(cap.slot):#x}"))
        for r in pd.cspace.reserves:
            placed = lay.reserve_start(r)
            if placed is None or r.count is None:
                continue
            if r.slot is None:
                out.append(Hint(r.el.name_span.end, f" slots {placed}..{placed + r.count - 1}", "placed automatically"))
    out.sort(key=lambda h: h.offset)
    return [h for h in out if start <= h.offset <= end]
