"""Code lenses: above each protection domain its references, its root CNode's use (`slots
7/64`) and the memory it costs; above each memory region its mappings.

`places` lists where lenses go (cheap: one per PD, one per region); `lenses` says what the
lenses of one place show, so a client asks only for the lenses it displays."""

from __future__ import annotations

from dataclasses import dataclass, field

from sdf_lsp.analysis import Analysis
from sdf_lsp.model.values import human_size
from sdf_lsp.syntax.tree import Element

PD_LENSES = 3  # references, CSpace, memory
MR_LENSES = 1  # mappings


@dataclass(frozen=True)
class Place:
    kind: str  # "pd" | "mr"
    name: str
    start: int  # the name the lenses sit above
    end: int

    @property
    def count(self) -> int:
        return PD_LENSES if self.kind == "pd" else MR_LENSES


@dataclass
class Lens:
    title: str
    action: str  # "references" (targets), "cspace" (the PD's CSpace), "" (nothing to run)
    at: int  # where the name is (the position a references view opens at)
    targets: list[tuple[int, int]] = field(default_factory=list)


def _name_span(el: Element) -> tuple[int, int]:
    a = el.attr("name")
    span = a.value_span if a is not None and a.ve > a.vs else el.name_span
    return span.start, span.end


def places(analysis: Analysis) -> list[Place]:
    """Each protection domain (nested ones too) and memory region with a name of its own (the
    first of a duplicated name), in document order."""
    s = analysis.system
    if s is None:
        return []
    out = []
    for pd in s.pds:
        if pd.name and s.pd_by_name.get(pd.name) is pd:
            out.append(Place("pd", pd.name, *_name_span(pd.el)))
    for mr in s.mrs:
        if mr.name and s.mr_by_name.get(mr.name) is mr:
            out.append(Place("mr", mr.name, *_name_span(mr.el)))
    out.sort(key=lambda p: p.start)
    return out


def lenses(analysis: Analysis, kind: str, name: str) -> list[Lens] | None:
    """The lenses of one place (None: there is no such PD or region in this analysis)."""
    s = analysis.system
    if s is None:
        return None
    if kind == "pd":
        pd = s.pd_by_name.get(name)
        if pd is None:
            return None
        at = _name_span(pd.el)[0]
        refs = [(a.value_span.start, a.value_span.end) for a in analysis.names.references.get(("pd", name), [])]
        out = [Lens(_count(len(refs), "reference"), "references", at, refs)]
        cs = analysis.layout.cspace(pd) if analysis.layout is not None else None
        out.append(Lens(f"slots {cs.root_used}/{cs.root_capacity}" if cs else "slots ?", "cspace", at))
        cost = analysis.layout.budget.by_pd.get(pd) if analysis.layout is not None else None
        if cost is None:
            memory = "memory ?"
        else:
            memory = f"memory {human_size(cost.total)}" + ("" if cost.exact else " + program image")
        out.append(Lens(memory, "", at))
        return out
    if kind == "mr":
        mr = s.mr_by_name.get(name)
        if mr is None:
            return None
        at = _name_span(mr.el)[0]
        maps = []
        for m in s.maps_of(mr):
            a = m.el.attr("mr")
            span = a.value_span if a is not None else m.el.name_span
            maps.append((span.start, span.end))
        return [Lens(_count(len(maps), "mapping") if maps else "not mapped", "references", at, maps)]
    return None


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
