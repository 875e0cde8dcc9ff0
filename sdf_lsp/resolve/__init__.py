"""Step two of the analysis: resolve the lowered elements into one `System`.

Reads only what lowering produced (and the files the SDF names, through `FileAccess`);
reports nothing. Checks read what it resolved and say what is wrong with it.
"""

from __future__ import annotations

from sdf_lsp.memo import Memo
from sdf_lsp.model.consts import LARGE_PAGE
from sdf_lsp.model.types import ChannelEnd, Domains, MemoryRegion, ProtectionDomain
from sdf_lsp.resolve.access import FileAccess, NoFiles, PrefillInfo, ProgramInfo, Segment
from sdf_lsp.resolve.names import KIND_WORDS, NameIndex
from sdf_lsp.resolve.system import RegionFacts, System
from sdf_lsp.syntax.tree import Element

__all__ = [
    "KIND_WORDS",
    "FileAccess",
    "NameIndex",
    "NoFiles",
    "PrefillInfo",
    "ProgramInfo",
    "RegionFacts",
    "Segment",
    "System",
    "resolve",
]


def resolve(
    root: Element, items: list[tuple[str, object]], files: FileAccess | None = None, memo: Memo | None = None
) -> System:
    """The resolved system of the lowered top-level elements `items` ((tag, object), document order).
    `memo` keeps what did not change from the last analysis of the same document."""
    files = files or NoFiles()
    memo = memo if memo is not None else Memo()
    s = System(root)
    lists: dict[str, list] = {
        "protection_domain": s.root_pds,
        "memory_region": s.mrs,
        "channel": s.channels,
        "io_address_space": s.io_spaces,
        "domains": s.all_domains,
        "untyped": s.untypeds,
        "cnode": s.cnodes,
    }
    for kind, obj in items:  # lowering gives each kind its own model class
        group = lists.get(kind)
        if group is not None:
            group.append(obj)
    for root_pd in s.root_pds:
        for pd in root_pd.walk():
            s.pd_index[pd] = len(s.pds)
            s.pds.append(pd)
    _name_tables(s)
    _domains(s)
    _regions(s, files, memo)
    _channels(s, memo)
    for pd in s.pds:
        if pd.program_image:
            s.programs[pd] = files.program(pd.program_image)
    return s


def _first_wins(objects, table: dict) -> None:
    for obj in objects:
        if obj.name is not None:
            table.setdefault(obj.name, obj)


def _name_tables(s: System) -> None:
    """The names of everything but regions (whose table `_regions` keeps between analyses)."""
    _first_wins(s.pds, s.pd_by_name)
    _first_wins((vm for _, vm in s.vms()), s.vm_by_name)
    _first_wins(s.untypeds, s.untyped_by_name)
    _first_wins(s.cnodes, s.cnode_by_name)
    _first_wins((ios for ios in s.io_spaces if ios.enabled), s.io_space_by_name)


def _domains(s: System) -> None:
    """Upstream parses `<domains>` and the PDs in document order: a PD sees the schedule declared
    before it, and only the first `<domains>` that declares any domain counts."""
    items: list[tuple[int, object]] = [(d.el.start, d) for d in s.all_domains]
    items += [(pd.el.start, pd) for pd in s.root_pds]
    items.sort(key=lambda t: t[0])
    current: Domains | None = None
    for _, obj in items:
        if isinstance(obj, Domains):
            if current is not None and current.domains:
                continue  # a second <domains>: ignored (MK-S2)
            current = obj
            s.domains = obj
            for d in obj.domains:
                if d.name is not None:
                    s.domain_by_name.setdefault(d.name, d)
        elif isinstance(obj, ProtectionDomain):
            s.domains_at[obj] = current if current is not None and current.domains else None


def _regions(s: System, files: FileAccess, memo: Memo) -> None:
    """Each region's size and page size. Unchanged regions keep their facts between analyses: only
    prefill files (stat'ed each time) and the regions that may take 2 MiB pages are looked at again."""
    mrs = tuple(s.mrs)
    version = memo.version("region objects", mrs)
    kept = memo.get("regions", "system", version)
    if kept is Memo.MISSING:
        base = {mr: RegionFacts(mr.declared_size, mr.page_size) for mr in mrs}
        prefilled = tuple(mr for mr in mrs if mr.prefill_path is not None)
        candidates = tuple(mr for mr in mrs if _may_take_large_pages(mr))
        by_name: dict[str, MemoryRegion] = {}
        _first_wins(mrs, by_name)
        kept = memo.put("regions", "system", version, (base, prefilled, candidates, by_name))
    base, prefilled, candidates, by_name = kept
    s.mr_by_name = by_name
    regions = s.regions = dict(base)
    changed: list[tuple[MemoryRegion, RegionFacts]] = []
    for mr in prefilled:
        prefill = files.prefill(mr.prefill_path)
        size = mr.declared_size
        if not mr.size_given and prefill.error is None and prefill.length:
            size = -(-prefill.length // mr.page_size) * mr.page_size
        regions[mr] = facts = RegionFacts(size, mr.page_size, prefill)
        changed.append((mr, facts))
    per_pd = tuple(_mapped_names(pd, memo) for pd in s.pds)
    maps_version = memo.version("mapped names of each pd", per_pd)  # equal sets when a PD is lowered again as it was
    kept_names = memo.get("mapped names", "system", maps_version)
    if kept_names is Memo.MISSING:
        mapped: set[str] = set()
        unaligned: set[str] = set()  # regions some map puts at an address that is not 2 MiB-aligned
        for names, odd in per_pd:
            mapped |= names
            unaligned |= odd
        kept_names = memo.put("mapped names", "system", maps_version, (frozenset(mapped), frozenset(unaligned)))
    s.mapped_names, small = kept_names
    if candidates:
        # the IOMMU has no large pages
        io_mapped = {m.mr for ios in s.io_spaces for m in ios.iomaps if m.mr is not None}
        for mr in candidates:
            facts = regions[mr]
            if mr.name not in small and mr.name not in io_mapped and _takes_large_pages(mr, facts):
                regions[mr] = facts = RegionFacts(facts.size, LARGE_PAGE, facts.prefill)
                changed.append((mr, facts))
    s.regions_key = (version, tuple(changed))


def _mapped_names(pd: ProtectionDomain, memo: Memo) -> tuple[frozenset[str], frozenset[str]]:
    """The region names a PD's (and its VM's) maps give, and those of them it maps at an address
    that is not 2 MiB-aligned — kept with the (unchanged) PD."""
    kept = memo.get("mapped names", pd, None)
    if kept is Memo.MISSING:
        maps = pd.maps + (pd.vm.maps if pd.vm is not None else [])
        names = frozenset(m.mr for m in maps if m.mr is not None)
        unaligned = frozenset(m.mr for m in maps if m.mr is not None and m.vaddr is not None and m.vaddr % LARGE_PAGE)
        kept = memo.put("mapped names", pd, None, (names, unaligned))
    return kept


def _may_take_large_pages(mr: MemoryRegion) -> bool:
    """Whether upstream's optimisation could give the region 2 MiB pages (its maps decide)."""
    if mr.page_size_given:
        return False
    if mr.prefill_path is not None:
        return True  # its size comes from the file
    size = mr.declared_size
    if not size or size % LARGE_PAGE:
        return False
    return mr.phys_addr is None or mr.phys_addr % LARGE_PAGE == 0


def _takes_large_pages(mr: MemoryRegion, facts: RegionFacts) -> bool:
    """Upstream raises a region's pages to 2 MiB when nothing stops it (reference §4): its own size
    and address here; the caller has checked that every map of it is 2 MiB-aligned."""
    size = facts.size
    if mr.page_size_given or size is None or size == 0:
        return False
    return not (size % LARGE_PAGE or (mr.phys_addr is not None and mr.phys_addr % LARGE_PAGE))


def _channels(s: System, memo: Memo) -> None:
    """Channel ends per PD name (kept while the channels do not change), and which PDs need an
    endpoint: parents, VMMs, fault handlers and PPC callees."""
    channels = tuple(s.channels)
    version = memo.version("channel objects", channels)
    kept = memo.get("channel ends", "system", version)
    if kept is Memo.MISSING:
        ends: dict[str, list[tuple[ChannelEnd, ChannelEnd]]] = {}
        callees: set[str] = set()
        for ch in channels:
            if not ch.valid:
                continue
            a, b = ch.ends
            if a.pd is not None:
                ends.setdefault(a.pd, []).append((a, b))
            if b.pd is not None:
                ends.setdefault(b.pd, []).append((b, a))
            if a.pp and b.pd is not None:
                callees.add(b.pd)
            if b.pp and a.pd is not None:
                callees.add(a.pd)
        kept = memo.put("channel ends", "system", version, (ends, frozenset(callees)))
    s.channel_ends, callees = kept
    by_name = s.pd_by_name
    for pd in s.pds:
        if pd.children or pd.vm is not None:
            s.endpoint_pds.add(pd)
        if pd.fault_handler and pd.fault_handler in by_name:
            s.endpoint_pds.add(by_name[pd.fault_handler])
    for name in callees:
        if name in by_name:
            s.endpoint_pds.add(by_name[name])
