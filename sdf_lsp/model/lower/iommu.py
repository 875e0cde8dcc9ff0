"""`<io_address_space>` and its `<iomap>`s (upstream `SysIOAddressSpace::from_xml`, `SysIOMap::from_xml`)."""

from __future__ import annotations

from sdf_lsp.diagnostics import shorten
from sdf_lsp.model import values
from sdf_lsp.model.consts import IOVA_LIMIT
from sdf_lsp.model.lower.util import Lowering
from sdf_lsp.model.types import IoAddressSpace, IoMap, span_of
from sdf_lsp.syntax.tree import Element

# why a peripheral id cannot be parsed on an arch without PCI device identifiers
_NO_DEVICE_IDS = {
    "aarch64": "IOMMU device identifiers are not supported on AArch64",
    "riscv64": "IOMMU device identifiers are not supported on RISC-V (64-bit)",
}


def lower_io_space(lw: Lowering, el: Element) -> IoAddressSpace:
    if not lw.target.iommu:
        lw.report(el.name_span, "MK-I1", "io address space requires seL4 to be built with IOMMU support")
        return IoAddressSpace(el, el.get("name"), None, None, enabled=False)
    lw.check_attrs(el)
    name = lw.required(el, "name")
    domain_id = None
    if lw.arch == "x86_64":
        if not el.has("domain_id"):
            lw.missing(el, "domain_id")
        else:
            domain_id = lw.number(el, "domain_id")
    pci = None
    pa = el.attr("peripheral_id")
    if pa is None:
        lw.missing(el, "peripheral_id")
    else:
        err = _NO_DEVICE_IDS.get(lw.arch)
        if err is None:
            try:
                pci = values.parse_pci(pa.value)
            except values.SdfValueError as e:
                err = str(e)
        if err:
            lw.value_error(
                el, f"failed to parse device peripheral_id '{shorten(pa.value)}': {err}", "MK-I5", pa.value_span
            )
    ios = IoAddressSpace(el, name, pci, domain_id)
    for child in el.children:
        if not isinstance(child, Element):
            continue
        if child.local != "iomap":
            lw.report(child.name_span, "MK-I7", f"invalid XML element '{shorten(child.local)}'")
            continue
        ios.iomaps.append(_iomap(lw, child))
    return ios


def _iomap(lw: Lowering, el: Element) -> IoMap:
    lw.check_attrs(el)
    mr = lw.required(el, "mr")
    iova = None
    if not el.has("iovaddr"):
        lw.missing(el, "iovaddr")
    else:
        iova = lw.number(el, "iovaddr")
        if iova is not None and iova > IOVA_LIMIT - 1:
            lw.value_error(
                el,
                f"iovaddr ({iova:#x}) must be less than {IOVA_LIMIT:#x}",
                "MK-I9",
                span_of(el, "iovaddr"),
            )
            iova = None
    perms = el.get("perms", lw.default(el, "perms"))
    if not perms or any(c not in "rw" for c in perms):
        lw.value_error(
            el,
            "perms for io mapped memory must only be a combination of 'r' and 'w'",
            "MK-I10",
            span_of(el, "perms"),
            data={"fix": "enum", "values": ["r", "w", "rw"]},
        )
        perms = lw.default(el, "perms")
    return IoMap(el, mr, iova, perms)
