"""The CSpace extensions: `<cspace>` with its caps and reserves in a PD (Microkit 2.3 has
`cap_tcb`, `cap_sc`, `cap_vspace`; upstream `CSpace::from_xml`), and the top-level
`<untyped>` and `<cnode>` declarations."""

from __future__ import annotations

from sdf_lsp import schema
from sdf_lsp.diagnostics import WARNING, shorten
from sdf_lsp.model import values
from sdf_lsp.model.consts import (
    CAP_MAP_MAX_SLOT,
    MICROKIT_CNODE_BITS,
    MICROKIT_ROOT_BITS,
    SLOT_BITS,
    SMALL_PAGE_BITS,
    WORD_BITS,
)
from sdf_lsp.model.lower.util import Lowering
from sdf_lsp.model.types import CapGrant, CNodeDecl, CSpace, ProtectionDomain, Reserve, Untyped, span_of
from sdf_lsp.syntax.tree import Element, Span

#: A root CNode from 2^12 slots (128 KiB), a declared CNode above 2^20 slots, gets a memory warning.
ROOT_CNODE_WARN_BITS = 12
CNODE_WARN_BITS = 20

# caps naming the PD whose object they grant
_PD_CAPS = ("cap_tcb", "cap_sc", "cap_vspace", "cap_notification")


def lower_cspace(lw: Lowering, el: Element, pd: ProtectionDomain, symbols: dict) -> CSpace:
    ext = lw.ctx.extended
    lw.check_attrs(el)
    cs = CSpace(el)
    if ext and el.has("size_bits"):
        r = lw.number(el, "size_bits")
        if r is not None:
            maxu = lw.target.max_untyped_bits
            if r < 1 or r + SLOT_BITS > maxu or WORD_BITS - MICROKIT_CNODE_BITS - r < 0:
                lw.report(
                    span_of(el, "size_bits"),
                    "CN001",
                    f"size_bits {r} of the root CNode of '{shorten(str(pd.name))}' must be at least 1 and at most "
                    f"{min(maxu - SLOT_BITS, WORD_BITS - MICROKIT_CNODE_BITS)}",
                )
            else:
                cs.size_bits = r
                if r >= ROOT_CNODE_WARN_BITS:
                    lw.report(
                        span_of(el, "size_bits"),
                        "CN005",
                        f"a root CNode of 2^{r} slots takes {values.human_size(1 << (r + SLOT_BITS))} of kernel memory",
                        severity=WARNING,
                    )
    if ext:
        cs.setvar_first_free_slot = lw.symbol(symbols, el, "setvar_first_free_slot")
        cs.setvar_size_bits = lw.symbol(symbols, el, "setvar_size_bits")
    for child in el.children:
        if not isinstance(child, Element):
            continue
        tag = child.local
        if tag.startswith("cap_"):
            kind = tag.removeprefix("cap_")
            known = schema.CAP_KINDS.get(tag)
            if tag == "cap_cspace" and ext:
                lw.report(
                    child.name_span,
                    "CS010",
                    "cap_cspace was removed upstream (seL4/microkit PR #556): granting another PD's CSpace breaks the static system model; share a dedicated <cnode> instead",
                )
                continue
            if known is None:
                lw.report(child.name_span, "CS007", f"Cap type: '{shorten(kind)}' is not supported")
                continue
            if known[1] == schema.EXTENDED and not ext:
                lw.ext_element(child, f"Cap type: '{kind}' is not supported")
                continue
            cs.caps.append(_cap(lw, child, known[0], pd, cs, symbols))
        elif tag == "reserve":
            if not ext:
                lw.ext_element(child, f"Element '{tag}' is not supported in a <cspace> element")
                continue
            cs.reserves.append(_reserve(lw, child, pd, symbols))
        else:
            lw.report(child.name_span, "CS008", f"Element '{shorten(tag)}' is not supported in a <cspace> element")
    return cs


def _slot_checks(lw: Lowering, el: Element, slot: int, pd: ProtectionDomain, cs: CSpace) -> bool:
    """The slot rules of the extension table (one code per situation)."""
    span = span_of(el, "slot")
    if slot == 0:
        lw.value_error(
            el,
            "The destination slot 0 has been reserved for Microkit CNode",
            "CS001",
            span,
            data={"fix": "free-slot"},
        )
        return False
    microkit_slots = 1 << MICROKIT_ROOT_BITS
    if not lw.ctx.extended:
        if slot >= CAP_MAP_MAX_SLOT:
            lw.value_error(el, f"There are only {CAP_MAP_MAX_SLOT} destination cspace slots available.", "CS004", span)
            return False
        if slot >= microkit_slots:
            _cs003(lw, span, slot)
            return False
        return True
    if cs.size_bits is None and microkit_slots <= slot < CAP_MAP_MAX_SLOT:
        _cs003(lw, span, slot)
        return False
    r = cs.root_bits
    if slot >= 1 << r:
        lw.report(
            span,
            "CS002",
            f"slot {slot} is outside the root CNode of '{shorten(str(pd.name))}' ({1 << r} slots, size_bits={r})",
            data={"fix": "raise-size-bits", "min_bits": max(r + 1, slot.bit_length())},
        )
        return False
    return True


def _cs003(lw: Lowering, span: Span, slot: int):
    lw.report(
        span,
        "CS003",
        f"slot {slot} is accepted by the Microkit 2.3.0 parser but lies outside its {1 << MICROKIT_ROOT_BITS}-slot root CNode; "
        "microkit_cspace_root_slot_to_cptr() returns seL4_CapNull",
        data={"fix": "free-slot"},
    )


def _cap(lw: Lowering, el: Element, kind: str, pd: ProtectionDomain, cs: CSpace, symbols: dict) -> CapGrant:
    tag = el.local
    lw.check_attrs(el)
    cap = CapGrant(el, tag, kind, None, holder=pd)
    if tag in _PD_CAPS:
        cap.pd = lw.required(el, "pd")
    elif tag == "cap_untyped":
        cap.untyped = lw.required(el, "untyped")
    elif tag == "cap_cnode":
        cap.cnode = lw.required(el, "cnode_name")
    elif tag == "cap_smc":
        _smc(lw, el, cap)
    if tag == "cap_notification":
        _notification(lw, el, cap)
    if not el.has("slot"):
        lw.report(
            el.name_span,
            "MK-MISSING",
            f"Missing required attribute 'slot' on element '{tag}'",
            data={"fix": "free-slot"},
        )
    else:
        slot = lw.number(el, "slot")
        if slot is not None and _slot_checks(lw, el, slot, pd, cs):
            cap.slot = slot
    if lw.ctx.extended:
        cap.setvar_slot = lw.symbol(symbols, el, "setvar_slot")
        cap.setvar_cptr = lw.symbol(symbols, el, "setvar_cptr")
    return cap


def _smc(lw: Lowering, el: Element, cap: CapGrant):
    if not el.has("function_id"):
        lw.missing(el, "function_id")
    else:
        cap.function_id = lw.number(el, "function_id")
        if cap.function_id == 0:
            lw.report(
                span_of(el, "function_id"),
                "CS015",
                "function_id 0 yields an unrestricted SMC cap (any function ID)",
                severity=WARNING,
            )
    if lw.target.arm_smc is None:
        lw.report(el.name_span, "CS014", "ARM SMC forwarding support is not available for this architecture")
    elif lw.target.arm_smc is False:
        lw.report(
            el.name_span,
            "CS014",
            "Using SMC support without ARM SMC forwarding support enabled in the kernel for this platform",
        )


def _notification(lw: Lowering, el: Element, cap: CapGrant):
    ba = el.attr("badge")
    if ba is not None:
        try:
            cap.badge = values.sdf_number(ba.value)
        except values.SdfValueError as err:
            lw.report(
                ba.value_span,
                "CS017",
                f"badge '{shorten(ba.value)}' on element 'cap_notification' is not a valid word: {err}",
            )
    ra = el.attr("rights")
    if ra is not None:
        if not ra.value or any(c not in "rw" for c in ra.value):
            lw.report(
                ra.value_span,
                "CS017",
                f"rights '{shorten(ra.value)}' on element 'cap_notification' must be 'r', 'w' or 'rw'",
                data={"fix": "enum", "values": ["w", "r", "rw"]},
            )
        else:
            cap.rights = ra.value


def _reserve(lw: Lowering, el: Element, pd: ProtectionDomain, symbols: dict) -> Reserve:
    lw.check_attrs(el)
    res = Reserve(el, None, None, holder=pd)
    if el.has("slot"):
        slot = lw.number(el, "slot")
        if slot == 0:
            lw.value_error(
                el, "The destination slot 0 has been reserved for Microkit CNode", "CS001", span_of(el, "slot")
            )
        elif slot is not None:
            res.slot = slot
    if not el.has("count"):
        lw.missing(el, "count")
    else:
        count = lw.number(el, "count")
        if count == 0:
            lw.report(span_of(el, "count"), "CN002", "a <reserve> needs a count of at least 1")
        elif count is not None:
            res.count = count
    res.setvar_slot = lw.symbol(symbols, el, "setvar_slot")
    res.setvar_cptr = lw.symbol(symbols, el, "setvar_cptr")
    if not el.has("slot") and not el.has("setvar_slot") and not el.has("setvar_cptr"):
        lw.report(
            el.name_span,
            "CN010",
            "<reserve> without slot and without setvar_slot: the program cannot find the reserved slots",
            severity=WARNING,
            data={"fix": "add-attribute", "attr": "setvar_slot"},
        )
    return res


# -- top-level <untyped> and <cnode> ---------------------------------------------------
def lower_untyped(lw: Lowering, el: Element) -> Untyped:
    lw.check_attrs(el)
    name = lw.required(el, "name")
    has_size, has_bits = el.has("size"), el.has("size_bits")
    bits = None
    if has_size == has_bits:
        lw.report(
            el.name_span,
            "UT001",
            f"untyped '{shorten(str(name))}' needs exactly one of size and size_bits",
            data={"fix": "add-attribute", "attr": "size"} if not has_size else None,
        )
    if has_size:
        size = lw.number(el, "size")
        if size is not None:
            if size == 0 or size & (size - 1):
                lo = 1 << (size.bit_length() - 1) if size else 0
                hi = 1 << size.bit_length()
                lw.report(
                    span_of(el, "size"),
                    "UT002",
                    f"untyped size {size:#x} is not a power of two (nearest: {lo:#x} / {hi:#x})",
                    data={"fix": "power-of-two", "values": [hex(v) for v in (lo, hi) if v]},
                )
            else:
                bits = size.bit_length() - 1
    elif has_bits:
        bits = lw.number(el, "size_bits")
    span = span_of(el, "size_bits" if has_bits else "size")
    if bits is not None:
        lo, hi = lw.target.min_untyped_bits, lw.target.max_untyped_bits
        if bits < lo or bits > hi:
            lw.report(
                span,
                "UT003",
                f"untyped '{shorten(str(name))}' of 2^{bits} bytes is outside seL4's limits on {lw.arch} (2^{lo} .. 2^{hi})",
            )
            bits = None
        elif bits < SMALL_PAGE_BITS:
            lw.report(
                span,
                "UT004",
                f"untyped '{shorten(str(name))}' of 2^{bits} bytes cannot back a single page frame",
                severity=WARNING,
            )
    phys = lw.number(el, "phys_addr") if el.has("phys_addr") else None
    if phys is not None and bits is not None and phys % (1 << bits):
        lw.report(span_of(el, "phys_addr"), "UT005", f"phys_addr {phys:#x} is not 2^{bits}-aligned")
    device = None
    if el.has("device"):
        device = lw.boolean(el, "device", "UT007", fallback=False)
        if device and phys is None:
            lw.report(
                span_of(el, "device"),
                "UT007",
                f"untyped '{shorten(str(name))}' with device=\"true\" needs a phys_addr",
                data={"fix": "add-attribute", "attr": "phys_addr"},
            )
    return Untyped(el, name, bits, phys, device)


def lower_cnode(lw: Lowering, el: Element) -> CNodeDecl:
    lw.check_attrs(el)
    name = lw.required(el, "name")
    bits = None
    if not el.has("size_bits"):
        lw.missing(el, "size_bits")
    else:
        bits = lw.number(el, "size_bits")
        maxu = lw.target.max_untyped_bits
        if bits is not None and (bits < 1 or bits + SLOT_BITS > maxu):
            lw.report(
                span_of(el, "size_bits"),
                "CN006",
                f"size_bits {bits} of CNode '{shorten(str(name))}' must be between 1 and {maxu - SLOT_BITS}",
            )
            bits = None
        elif bits is not None and bits > CNODE_WARN_BITS:
            lw.report(
                span_of(el, "size_bits"),
                "CN005",
                f"CNode '{shorten(str(name))}' of 2^{bits} slots takes {values.human_size(1 << (bits + SLOT_BITS))} of kernel memory",
                severity=WARNING,
            )
    post = lw.boolean(el, "post_capdl_untypeds", "CN006", fallback=False)
    return CNodeDecl(el, name, bits, post)
