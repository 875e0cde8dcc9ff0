"""Lowering one top-level element to the model, with the checks upstream makes while
parsing it (`from_xml` in sdf.rs), in its order and with its messages — but every
error is reported, not just the first, each at the most precise range.

Lowering depends only on the element and the `Context` (target and dialect), so its
result can be cached per block. Checks that need the whole system live in
`sdf_lsp.checks`. The modules follow upstream's parser: `pd_vm` (protection domains,
virtual machines), `memory_region` (regions, maps), `irq` (IRQs, I/O ports), `channels`,
`iommu` (I/O address spaces), `domains`, `cspace` (the CSpace extensions, `<untyped>`,
`<cnode>`), and `util` (reporting and value readers).
"""

from __future__ import annotations

from collections.abc import Callable

from sdf_lsp import schema
from sdf_lsp.diagnostics import Diagnostic, shorten
from sdf_lsp.model.lower.channels import lower_channel
from sdf_lsp.model.lower.cspace import lower_cnode, lower_untyped
from sdf_lsp.model.lower.domains import lower_domains
from sdf_lsp.model.lower.iommu import lower_io_space
from sdf_lsp.model.lower.memory_region import lower_mr
from sdf_lsp.model.lower.pd_vm import lower_pd
from sdf_lsp.model.lower.util import Context, Lowering
from sdf_lsp.syntax.tree import Element

__all__ = ["Context", "Lowering", "lower_item", "unsupported_target"]

_LOWER: dict[str, Callable[[Lowering, Element], object]] = {
    "protection_domain": lower_pd,
    "memory_region": lower_mr,
    "channel": lower_channel,
    "io_address_space": lower_io_space,
    "domains": lower_domains,
}
_EXTENSIONS: dict[str, Callable[[Lowering, Element], object]] = {
    "untyped": lower_untyped,
    "cnode": lower_cnode,
}


#: The first release with x86_64 targets.
X86_SINCE = (2, 1)


def unsupported_target(ctx: Context) -> str | None:
    """Why the dialect's release cannot check against the target at all (None: it can)."""
    if ctx.target.arch == "x86_64" and ctx.release < X86_SINCE:
        return (
            f"Microkit {ctx.release_text} has no x86_64 targets (they came with Microkit "
            f"{schema.release_text(X86_SINCE)}): choose a newer SDK or dialect, or an AArch64 or RISC-V board"
        )
    return None


def _unknown_element(ctx: Context, tag: str) -> str:
    # Microkit 1.4 capitalised this message (and said it of a top-level <virtual_machine> too)
    return f"{'Invalid' if ctx.release < (2, 0) else 'invalid'} XML element '{shorten(tag)}'"


def lower_item(el: Element, ctx: Context) -> tuple[str, object, list[Diagnostic]]:
    """Lower one child of `<system>`: (kind, model object or None, diagnostics)."""
    lw = Lowering(ctx)
    tag = el.local
    obj = None
    lower = _LOWER.get(tag)
    if lower is not None:
        if not lw.other_release_element(el, _unknown_element(ctx, tag)):
            obj = lower(lw, el)
    elif tag in _EXTENSIONS:
        if ctx.extended:
            obj = _EXTENSIONS[tag](lw, el)
        else:
            lw.ext_element(el, _unknown_element(ctx, tag))
    elif tag == "virtual_machine" and ctx.release >= (2, 0):
        lw.report(el.name_span, "MK-S1", "virtual machine must be a child of a protection domain")
    else:
        lw.report(el.name_span, "MK-S3", _unknown_element(ctx, tag))
    return tag, obj, lw.diags
