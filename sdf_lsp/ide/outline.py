"""The outline (document symbols), folding ranges and file links of a document, from its syntax
tree alone, so that they answer at once from the newest text, without waiting for an analysis.

Each is made per top-level block, with offsets relative to the block, and kept on the block
(`Block.features`): a block the last edit did not touch keeps its results, wherever the edit
moved it. `document_symbols`, `folding_ranges` and `link_places` give them in absolute offsets.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

from sdf_lsp.model import values
from sdf_lsp.syntax.scanner import Document
from sdf_lsp.syntax.tree import Block, Comment, Element, Node


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

    def moved(self, by: int) -> Symbol:
        return Symbol(
            self.name,
            self.detail,
            self.kind,
            self.start + by,
            self.end + by,
            self.sel_start + by,
            self.sel_end + by,
            [c.moved(by) for c in self.children],
        )


def known(value: object) -> str:
    """A value for a label: `?` while it is still being typed (never `None`)."""
    return "?" if value is None or value == "" else str(value)


# -- per block ---------------------------------------------------------------------------------
def _features(block: Block) -> dict:
    if block.features is None:
        block.features = {}
    return block.features


def block_symbols(block: Block) -> list[Symbol]:
    """The outline of one top-level block, offsets relative to the block (kept on the block)."""
    feats = _features(block)
    syms = feats.get("symbols")
    if syms is None:
        item = block.item
        sym = _symbol(item, block.start) if isinstance(item, Element) else None
        syms = feats["symbols"] = [sym] if sym is not None else []
    return syms


def block_folds(block: Block) -> list[tuple[int, int, bool]]:
    """(start, end, is a comment) of every element and comment of a block that spans lines,
    relative to the block (one-line elements, most of them, are left out once)."""
    feats = _features(block)
    folds = feats.get("folds")
    if folds is None:
        base = block.start
        src, off = block.src, block.src_start
        folds = feats["folds"] = []
        stack: list[Node] = [block.item] if block.item is not None else []
        while stack:
            n = stack.pop()
            if isinstance(n, Element):
                s, e = n.start - base, n.end - base
                if _breaks(src, off + s, off + e - 1):
                    folds.append((s, e, False))
                    stack.extend(n.children)  # a one-line element holds no multi-line one
            elif isinstance(n, Comment):
                s, e = n.start - base, n.end - base
                if _breaks(src, off + s, off + e - 1):
                    folds.append((s, e, True))
    return folds


def _breaks(text: str, start: int, end: int) -> bool:
    return text.find("\n", start, end) >= 0 or text.find("\r", start, end) >= 0


LINK_ATTRIBUTES = {"program_image": ("path", "path_for_symbols"), "memory_region": ("prefill_path",)}


def block_links(block: Block) -> list[tuple[int, int, str]]:
    """(start, end, the path as written) of every file a block names, relative to it."""
    feats = _features(block)
    links = feats.get("links")
    if links is None:
        base = block.start
        links = feats["links"] = []
        stack = [block.item] if isinstance(block.item, Element) else []
        while stack:
            el = stack.pop()
            for name in LINK_ATTRIBUTES.get(el.local, ()):
                a = el.attr(name)
                if a is not None and a.value:
                    span = a.value_span
                    links.append((span.start - base, span.end - base, a.value))
            if el.local == "protection_domain":
                stack.extend(el.elements)
    return links


# -- the document ----------------------------------------------------------------------------------
def document_symbols(doc: Document) -> list[Symbol]:
    out: list[Symbol] = []
    for b in doc.items:
        if b.item is not None and b.item.kind == "element":
            out.extend(s.moved(b.start) for s in block_symbols(b))
    return out


def folding_ranges(doc: Document, line_of) -> list[tuple[int, int, str]]:
    """(start line, end line, kind) of every element or comment spanning lines."""
    out = []

    def add(start: int, end: int, comment: bool) -> None:
        a, b = line_of(start), line_of(max(start, end - 1))
        if b > a:
            out.append((a, b, "comment" if comment else "region"))

    for n in doc.nodes:  # the root and what lies outside it
        if isinstance(n, (Element, Comment)):
            add(n.start, n.end, isinstance(n, Comment))
    for b in doc.items:
        base = b.start
        for s, e, comment in block_folds(b):
            add(base + s, base + e, comment)
    out.sort()
    return out


def link_places(doc: Document) -> list[tuple[int, int, str]]:
    out = []
    for b in doc.items:
        base = b.start
        out.extend((base + s, base + e, path) for s, e, path in block_links(b))
    return out


# -- symbols of elements ---------------------------------------------------------------------------
def _name_range(el: Element) -> tuple[int, int]:
    a = el.attr("name")
    span = a.value_span if a is not None else el.name_span
    return span.start, span.end


def _size(raw: str | None) -> str:
    if raw is None:
        return ""
    try:
        return values.human_size(values.sdf_number(raw))
    except values.SdfValueError:
        return ""


def _symbol(el: Element, base: int) -> Symbol | None:
    tag = el.local
    start, end = el.start - base, el.end - base
    ss, se = (x - base for x in _name_range(el))
    name = el.get("name")
    if tag == "protection_domain":
        return _pd(el, base, top=True)
    if tag == "memory_region":
        detail = _size(el.get("size")) or ("prefilled" if el.get("prefill_path") else "")
        return Symbol(name or "(unnamed region)", detail, "mr", start, end, ss, se)
    if tag == "channel":
        ends = [f"{known(e.get('pd'))}:{known(e.get('id'))}" for e in el.elements if e.local == "end"]
        ns = el.name_span
        return Symbol(" ↔ ".join(ends) or "channel", "channel", "channel", start, end, ns.start - base, ns.end - base)
    if tag == "domains":
        return _domains(el, base)
    if tag == "untyped":
        bits = el.get("size_bits")
        if bits is None and el.get("size") is not None:
            try:
                size = values.sdf_number(el.get("size") or "")
                bits = str(size.bit_length() - 1) if size and size & (size - 1) == 0 else None
            except values.SdfValueError:
                bits = None
        return Symbol(name or "?", f"2^{bits} bytes" if bits else "", "untyped", start, end, ss, se)
    if tag == "cnode":
        bits = el.get("size_bits")
        return Symbol(name or "?", f"2^{bits} slots" if bits else "", "cnode", start, end, ss, se)
    if tag == "io_address_space":
        return Symbol(name or "?", "I/O address space", "io", start, end, ss, se)
    return None


def _pd(el: Element, base: int, top: bool) -> Symbol:
    ss, se = (x - base for x in _name_range(el))
    detail = f"priority {known(el.get('priority', '0'))}" + ("" if top else f", child id {known(el.get('id'))}")
    sym = Symbol(el.get("name") or "(unnamed PD)", detail, "pd", el.start - base, el.end - base, ss, se)
    for child in el.elements:
        if child.local == "protection_domain":
            sym.children.append(_pd(child, base, top=False))
        elif child.local == "virtual_machine":
            vs, ve = (x - base for x in _name_range(child))
            vcpus = sum(1 for c in child.elements if c.local == "vcpu")
            name = child.get("name") or "(unnamed VM)"
            sym.children.append(Symbol(name, f"{vcpus} vCPU(s)", "vm", child.start - base, child.end - base, vs, ve))
    return sym


def _domains(el: Element, base: int) -> Symbol:
    ns = el.name_span
    doms = [d for d in el.elements if d.local == "domain"]
    sym = Symbol(
        "domains", f"{len(doms)} domain(s)", "domain", el.start - base, el.end - base, ns.start - base, ns.end - base
    )
    explicit = set()
    for d in doms:
        with contextlib.suppress(values.SdfValueError):
            explicit.add(values.rust_int(d.get("id") or "", signed=False))
    next_id = 0
    for d in doms:
        raw = d.get("id")
        if raw is not None:
            shown = raw
        else:  # as upstream assigns them: the smallest unused id, in document order
            while next_id in explicit:
                next_id += 1
            shown = str(next_id)
            explicit.add(next_id)
        ds, de = (x - base for x in _name_range(d))
        sym.children.append(
            Symbol(d.get("name") or "?", f"id {known(shown)}", "domain", d.start - base, d.end - base, ds, de)
        )
    return sym
