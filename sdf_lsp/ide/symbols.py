"""Outline (document symbols), folding ranges and inlay hints."""

from __future__ import annotations

from dataclasses import dataclass, field

from sdf_lsp.analysis import Analysis
from sdf_lsp.model import values
from sdf_lsp.model.types import ProtectionDomain


@dataclass
class Symbol:
    name: str
    detail: str
    kind: str  # pd vm mr channel domain untyped cnode io
    start: int
    end: int
    sel_start: int
    sel_end: int
    children: list[Symbol] = field(default_factory=list)


def _known(value) -> str:
    """A value for a label: `?` while it is still being typed (never `None`)."""
    return "?" if value is None or value == "" else str(value)


def _name_range(el) -> tuple[int, int]:
    a = el.attr("name")
    span = a.value_span if a is not None else el.name_span
    return span.start, span.end


def document_symbols(analysis: Analysis) -> list[Symbol]:
    s = analysis.system
    if s is None:
        return []

    def pd_symbol(pd: ProtectionDomain) -> Symbol:
        ss, se = _name_range(pd.el)
        detail = f"priority {_known(pd.priority)}" + (f", child id {_known(pd.id)}" if pd.parent is not None else "")
        sym = Symbol(pd.name or "(unnamed PD)", detail, "pd", pd.el.start, pd.el.end, ss, se)
        for c in pd.children:
            sym.children.append(pd_symbol(c))
        if pd.vm is not None:
            vs, ve = _name_range(pd.vm.el)
            sym.children.append(
                Symbol(
                    pd.vm.name or "(unnamed VM)",
                    f"{len(pd.vm.vcpus)} vCPU(s)",
                    "vm",
                    pd.vm.el.start,
                    pd.vm.el.end,
                    vs,
                    ve,
                )
            )
        return sym

    out: list[tuple[int, Symbol]] = []
    for pd in s.root_pds:
        out.append((pd.el.start, pd_symbol(pd)))
    for mr in s.mrs:
        ss, se = _name_range(mr.el)
        size = s.size_of(mr)
        detail = values.human_size(size) if size is not None else ""
        out.append((mr.el.start, Symbol(mr.name or "(unnamed region)", detail, "mr", mr.el.start, mr.el.end, ss, se)))
    for ch in s.channels:
        ends = [f"{_known(e.pd)}:{_known(e.id)}" for e in ch.ends]
        name = " ↔ ".join(ends) if ends else "channel"
        ns = ch.el.name_span
        out.append((ch.el.start, Symbol(name, "channel", "channel", ch.el.start, ch.el.end, ns.start, ns.end)))
    for doms in s.all_domains:
        ns = doms.el.name_span
        sym = Symbol(
            "domains", f"{len(doms.domains)} domain(s)", "domain", doms.el.start, doms.el.end, ns.start, ns.end
        )
        for d in doms.domains:
            ds, de = _name_range(d.el)
            sym.children.append(
                Symbol(d.name or "?", f"id {_known(d.assigned)}", "domain", d.el.start, d.el.end, ds, de)
            )
        out.append((doms.el.start, sym))
    for ut in s.untypeds:
        ss, se = _name_range(ut.el)
        out.append(
            (
                ut.el.start,
                Symbol(
                    ut.name or "?",
                    f"2^{ut.size_bits} bytes" if ut.size_bits else "",
                    "untyped",
                    ut.el.start,
                    ut.el.end,
                    ss,
                    se,
                ),
            )
        )
    for cn in s.cnodes:
        ss, se = _name_range(cn.el)
        out.append(
            (
                cn.el.start,
                Symbol(
                    cn.name or "?",
                    f"2^{cn.size_bits} slots" if cn.size_bits else "",
                    "cnode",
                    cn.el.start,
                    cn.el.end,
                    ss,
                    se,
                ),
            )
        )
    for ios in s.io_spaces:
        ss, se = _name_range(ios.el)
        out.append((ios.el.start, Symbol(ios.name or "?", "I/O address space", "io", ios.el.start, ios.el.end, ss, se)))
    out.sort(key=lambda t: t[0])
    return [sym for _, sym in out]


def folding_ranges(analysis: Analysis) -> list[tuple[int, int, str]]:
    """(start line, end line, kind) of every element or comment spanning lines."""
    doc = analysis.doc
    lines = analysis.lines
    out = []
    stack = list(doc.nodes)
    while stack:
        n = stack.pop()
        if n.kind not in ("element", "comment"):
            continue
        a, b = lines.line_of(n.start), lines.line_of(max(n.start, n.end - 1))
        if b > a:
            out.append((a, b, "comment" if n.kind == "comment" else "region"))
        if n.kind == "element":
            stack.extend(n.children)
    out.sort()
    return out


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
