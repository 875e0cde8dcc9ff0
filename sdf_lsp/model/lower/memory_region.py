"""`<memory_region>` and `<map>` (upstream `SysMemoryRegion::from_xml`, `SysMap::from_xml`)."""

from __future__ import annotations

from sdf_lsp import schema
from sdf_lsp.diagnostics import DEPRECATED, WARNING, shorten
from sdf_lsp.model.consts import SMALL_PAGE
from sdf_lsp.model.lower.util import EXT_SUFFIX, Lowering
from sdf_lsp.model.types import Map, MemoryRegion, span_of
from sdf_lsp.syntax.tree import Element

# `prefill_bootinfo` values only the extended dialect accepts (`post_capdl_untypeds`)
_EXTENDED_BOOTINFO = schema.BY_NAME["memory_region"].attr_map["prefill_bootinfo"].extended_values


#: How many lowered maps a context keeps by their text (then it starts again).
MAP_CACHE_LIMIT = 200_000


def lower_map(lw: Lowering, el: Element, max_vaddr: int | None, parent: str) -> Map:
    """A `<map>` in a PD or a VM (`parent`); the caller registers a PD map's setvar symbols.
    `max_vaddr` None: the release bounds no `vaddr` (Microkit 1.4).

    A map's lowering depends on its text, its parent and the address bound alone: one lowered
    before from the same text without a diagnostic is copied (a large PD that is edited keeps its
    thousands of maps)."""
    key = None if el.prefixed else ("map", parent, max_vaddr, el.name, tuple(el.raw))
    cache = lw.ctx.cache
    if key is not None:
        seen = cache.get(key)
        if seen is not None:
            return Map(el, seen.mr, seen.vaddr, seen.perms, seen.cached)
    reported = len(lw.diags)
    m = _lower_map(lw, el, max_vaddr, parent)
    if key is not None and len(lw.diags) == reported:
        if len(cache) >= MAP_CACHE_LIMIT:
            cache.clear()
        cache[key] = m
    return m


def _lower_map(lw: Lowering, el: Element, max_vaddr: int | None, parent: str) -> Map:
    lw.check_attrs(el, parent=parent)
    mr = lw.required(el, "mr")
    vaddr = None
    if not el.has("vaddr"):
        lw.missing(el, "vaddr")
    else:
        vaddr = lw.number(el, "vaddr")
        if vaddr is not None and max_vaddr is not None and vaddr >= max_vaddr:
            lw.value_error(el, f"vaddr ({vaddr:#x}) must be less than {max_vaddr:#x}", "MK-M4", span_of(el, "vaddr"))
            vaddr = None
    perms = el.get("perms", lw.default(el, "perms"))
    if perms.strip("rwx"):
        lw.value_error(
            el,
            "perms must only be a combination of 'r', 'w', and 'x'",
            "MK-M5",
            span_of(el, "perms"),
            data={"fix": "enum", "values": ["r", "rw", "rx", "rwx"]},
        )
        perms = "".join(c for c in perms if c in "rwx")
    elif perms and not perms.strip("w"):
        lw.value_error(
            el,
            "perms must not be 'w', write-only mappings are not allowed",
            "MK-M6",
            span_of(el, "perms"),
            data={"fix": "enum", "values": ["rw"]},
        )
    cached = lw.boolean(el, "cached", "MK-M7")
    return Map(el, mr, vaddr, perms, cached)


def lower_mr(lw: Lowering, el: Element) -> MemoryRegion:
    ext = lw.ctx.extended
    lw.check_attrs(el)
    name = lw.required(el, "name")
    page_size_given = el.has("page_size")
    page_size = lw.number(el, "page_size", SMALL_PAGE)  # the declared size; the checks may pick large pages
    if page_size is not None and page_size not in lw.target.page_sizes:
        lw.value_error(
            el,
            f"page size {page_size:#x} not supported",
            "MK-R3",
            span_of(el, "page_size"),
            data={"fix": "enum", "values": [hex(p) for p in lw.target.page_sizes]},
        )
        page_size = None
    ps = page_size or SMALL_PAGE
    has_bootinfo = el.has("prefill_bootinfo") and lw.accepts(el, "prefill_bootinfo")
    bootinfo = _bootinfo(lw, el, ext) if has_bootinfo else None
    prefill_path = el.get("prefill_path") if lw.accepts(el, "prefill_path") else None
    if prefill_path is not None and has_bootinfo:
        lw.value_error(
            el,
            "prefill_path and prefill_bootinfo cannot be both specified",
            "MK-R6",
            span_of(el, "prefill_bootinfo"),
        )
    size = None
    size_given = el.has("size")
    if size_given:
        size = lw.number(el, "size")
        if size is not None and size % ps:
            lw.value_error(
                el,
                "size is not a multiple of the page size",
                "MK-R7",
                span_of(el, "size"),
                data={"fix": "round-up", "to": ps},
            )
            size = None  # unusable: checks that need the size skip this region
    elif lw.release < (2, 2):  # a region is prefilled from Microkit 2.2 on; before, `size` is required
        lw.missing(el, "size")
    elif prefill_path is None and not has_bootinfo:
        lw.value_error(
            el,
            "size must be specified if memory region is not prefilled",
            "MK-R8",
            el.name_span,
            data={"fix": "add-attribute", "attr": "size"},
        )
    elif has_bootinfo:
        size = ps
    phys = None
    if el.has("phys_addr"):
        phys = lw.number(el, "phys_addr")
        if phys is not None and phys % ps:
            lw.value_error(el, "phys_addr is not aligned to the page size", "MK-R9", span_of(el, "phys_addr"))
    mr = MemoryRegion(el, name, size, ps, page_size_given, phys, prefill_path, bootinfo, size_given=size_given)
    if ext and el.has("receive_all_untypeds"):
        if lw.boolean(el, "receive_all_untypeds", "UH006", fallback=False):
            mr.receive_all_untypeds = True
            lw.report(
                el.present("receive_all_untypeds").name_span,
                "UH006",
                'receive_all_untypeds is deprecated (PR #436): declare <cnode post_capdl_untypeds="true"> and '
                'give this region prefill_bootinfo="post_capdl_untypeds"',
                severity=WARNING,
                tags=(DEPRECATED,),
                data={"fix": "receive-all-untypeds"},
            )
    return mr


def _bootinfo(lw: Lowering, el: Element, ext: bool) -> str | None:
    bootinfo = el.get("prefill_bootinfo")
    if bootinfo is None or bootinfo in schema.BOOTINFO_TYPES:
        return bootinfo
    if bootinfo in _EXTENDED_BOOTINFO:
        if ext:
            return bootinfo
        lw.report(
            span_of(el, "prefill_bootinfo"),
            "EX001",
            f"BootInfoMap type: '{bootinfo}' is not supported on element 'memory_region'" + EXT_SUFFIX,
        )
        return None
    lw.value_error(
        el,
        f"BootInfoMap type: '{shorten(bootinfo)}' is not supported",
        "MK-R5",
        span_of(el, "prefill_bootinfo"),
        data={"fix": "enum", "values": list(schema.BOOTINFO_TYPES)},
    )
    return None
