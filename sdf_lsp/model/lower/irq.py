"""`<irq>` in its three variants (ARM/RISC-V `irq`, x86 I/O APIC `pin`, x86 MSI `pcidev`)
and x86 `<ioport>` (upstream `SysIrq::from_xml`, `IOPort::from_xml`)."""

from __future__ import annotations

from sdf_lsp.diagnostics import shorten
from sdf_lsp.model import values
from sdf_lsp.model.consts import PD_MAX_ID, X86_IRQ_VECTOR_MAX
from sdf_lsp.model.lower.util import Lowering
from sdf_lsp.model.types import IoPort, Irq, span_of
from sdf_lsp.syntax.tree import Element


def _id(lw: Lowering, el: Element, code: str) -> int | None:
    """A channel-like id: decimal, 0..PD_MAX_ID."""
    if not el.has("id"):
        lw.missing(el, "id")
        return None
    v = lw.decimal(el, "id")
    if v is not None:
        if v > PD_MAX_ID:
            lw.value_error(el, f"id must be < {PD_MAX_ID + 1}", code, span_of(el, "id"))
            return None
        if v < 0:
            lw.value_error(el, "id must be >= 0", code, span_of(el, "id"))
            return None
    return v


def lower_irq(lw: Lowering, el: Element, symbols: dict) -> Irq | None:
    """The variant is chosen by the first of `irq`, `pin`, `pcidev` present (before Microkit
    2.1, which has only ARM/RISC-V IRQs, `irq` is required)."""
    if lw.release < (2, 1) and not el.has("irq"):
        lw.check_attrs(el, variant="arm")
        lw.missing(el, "irq")
        _id(lw, el, "MK-C8")
        return None
    irq_id = _id(lw, el, "MK-C8")
    setvar_id = lw.symbol(symbols, el, "setvar_id") if lw.accepts(el, "setvar_id") else None
    x86 = lw.arch == "x86_64"
    if el.has("irq"):
        if x86:
            lw.value_error(el, "ARM and RISC-V IRQs are not supported on x86", "MK-C10", el.present("irq").name_span)
            return None
        lw.check_attrs(el, variant="arm")
        number = lw.decimal(el, "irq", signed=False)
        trigger = lw.enum(el, "trigger", "trigger must be either 'level' or 'edge'", "MK-C11")
        return Irq(el, irq_id, "arm", number, trigger=trigger, setvar_id=setvar_id)
    if el.has("pin"):
        if not x86:
            lw.value_error(
                el, "x86 I/O APIC IRQ isn't supported on ARM and RISC-V", "MK-C12", el.present("pin").name_span
            )
            return None
        return _ioapic(lw, el, irq_id, setvar_id)
    if el.has("pcidev"):
        if not x86:
            lw.value_error(
                el, "x86 MSI IRQ isn't supported on ARM and RISC-V", "MK-C15", el.present("pcidev").name_span
            )
            return None
        return _msi(lw, el, irq_id, setvar_id)
    lw.missing(el, "pin" if x86 else "irq")
    return None


def _ioapic(lw: Lowering, el: Element, irq_id: int | None, setvar_id: str | None) -> Irq:
    lw.check_attrs(el, variant="ioapic")
    ioapic = lw.decimal(el, "ioapic")
    if ioapic is not None and ioapic < 0:
        lw.value_error(el, "ioapic must be >= 0", "MK-C14", span_of(el, "ioapic"))
    pin = lw.decimal(el, "pin")
    if pin is not None and pin < 0:
        lw.value_error(el, "pin must be >= 0", "MK-C14", span_of(el, "pin"))
    trigger = lw.enum(el, "trigger", "trigger must be either 'level' or 'edge'", "MK-C14")
    polarity = lw.enum(el, "polarity", "polarity must be either 'low' or 'high'", "MK-C14")
    vector = _vector(lw, el)
    return Irq(
        el,
        irq_id,
        "ioapic",
        vector,
        trigger=trigger,
        ioapic=ioapic if ioapic is not None else lw.default(el, "ioapic"),
        pin=pin,
        polarity=polarity,
        vector=vector,
        setvar_id=setvar_id,
    )


def _msi(lw: Lowering, el: Element, irq_id: int | None, setvar_id: str | None) -> Irq:
    lw.check_attrs(el, variant="msi")
    pci = None
    if lw.release < (2, 3):
        pci = _pci_before_2_3(lw, el)
    else:
        try:
            pci = values.parse_pci(el.get("pcidev"))
        except values.SdfValueError as err:
            lw.value_error(el, str(err), "MK-C16", span_of(el, "pcidev"))
    handle = None
    if not el.has("handle"):
        lw.missing(el, "handle")
    else:
        handle = lw.decimal(el, "handle")
        if handle is not None and handle < 0:
            lw.value_error(el, "handle must be >= 0", "MK-C16", span_of(el, "handle"))
    vector = _vector(lw, el)
    return Irq(el, irq_id, "msi", vector, vector=vector, pcidev=pci, handle=handle, setvar_id=setvar_id)


def _pci_before_2_3(lw: Lowering, el: Element) -> tuple[int, int, int] | None:
    """Microkit 2.1 and 2.2's `pcidev`: three signed hex parts, each non-negative (no upper bounds)."""
    text = el.get("pcidev") or ""
    span = span_of(el, "pcidev")
    try:
        parts = values.split_pci_before_2_3(text)
    except values.SdfValueError:
        lw.report(
            span,
            "SDF018",
            f"every part of pcidev '{shorten(text)}' must be a hexadecimal number; the Microkit {lw.ctx.release_text} "
            "tool crashes on this value",
        )
        return None
    if len(parts) != 3:
        lw.report(span, "MK-C16", f"failed to parse PCI address '{shorten(text)}' on element 'irq'")
        return None
    for what, v in zip(("bus", "device", "function"), parts, strict=True):
        if v < 0:
            lw.value_error(el, f"PCI {what} must be >= 0", "MK-C16", span)
            return None
    bus, dev, fn = parts
    return bus, dev, fn


def _vector(lw: Lowering, el: Element) -> int | None:
    if not el.has("vector"):
        lw.missing(el, "vector")
        return None
    v = lw.decimal(el, "vector")
    if lw.release < (2, 3):  # no upper bound before Microkit 2.3
        if v is not None and v < 0:
            lw.value_error(el, "vector must be >= 0", "MK-C14", span_of(el, "vector"))
            return None
        return v
    if v is not None and not 0 <= v <= X86_IRQ_VECTOR_MAX:
        lw.value_error(el, f"vector must be within [0..{X86_IRQ_VECTOR_MAX}]", "MK-C14", span_of(el, "vector"))
        return None
    return v


def lower_ioport(lw: Lowering, el: Element, pd_el: Element, symbols: dict) -> IoPort | None:
    if lw.arch != "x86_64":
        lw.value_error(pd_el, "I/O Ports are only available on x86", "MK-C18", el.name_span)
        return None
    lw.check_attrs(el)
    io_id = _id(lw, el, "MK-C19")
    setvar_id = lw.symbol(symbols, el, "setvar_id")
    addr = None
    if not el.has("addr"):
        lw.missing(el, "addr")
    else:
        addr = lw.number(el, "addr")
    setvar_addr = lw.symbol(symbols, el, "setvar_addr")
    size = None
    if not el.has("size"):
        lw.missing(el, "size")
    else:
        size = lw.decimal(el, "size")
        if size is not None and size <= 0:
            lw.value_error(el, "size must be > 0", "MK-C19", span_of(el, "size"))
            size = None
    return IoPort(el, io_id, addr, size, setvar_id, setvar_addr)
