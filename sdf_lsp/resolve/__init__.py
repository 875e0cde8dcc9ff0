"""Step two of the analysis: resolve the lowered elements into one `System`.

Reads only what lowering produced (and the files the SDF names, through `FileAccess`);
reports nothing. Checks read what it resolved and say what is wrong with it.
"""

from __future__ import annotations

from sdf_lsp.model.consts import LARGE_PAGE
from sdf_lsp.model.types import (
    Channel,
    CNodeDecl,
    Domains,
    IoAddressSpace,
    MemoryRegion,
    ProtectionDomain,
    Untyped,
)
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


def resolve(root: Element, items: list[tuple[str, object]], files: FileAccess | None = None) -> System:
    """The resolved system of the lowered top-level elements `items` ((tag, object), document order)."""
    files = files or NoFiles()
    s = System(root)
    for kind, obj in items:
        if kind == "protection_domain" and isinstance(obj, ProtectionDomain):
            s.root_pds.append(obj)
        elif kind == "memory_region" and isinstance(obj, MemoryRegion):
            s.mrs.append(obj)
        elif kind == "channel" and isinstance(obj, Channel):
            s.channels.append(obj)
        elif kind == "io_address_space" and isinstance(obj, IoAddressSpace):
            s.io_spaces.append(obj)
        elif kind == "domains" and isinstance(obj, Domains):
            s.all_domains.append(obj)
        elif kind == "untyped" and isinstance(obj, Untyped):
            s.untypeds.append(obj)
        elif kind == "cnode" and isinstance(obj, CNodeDecl):
            s.cnodes.append(obj)
    for root_pd in s.root_pds:
        for pd in root_pd.walk():
            s.pd_index[pd] = len(s.pds)
            s.pds.append(pd)
    _name_tables(s)
    _domains(s)
    _regions(s, files)
    _channels(s)
    for pd in s.pds:
        if pd.program_image:
            s.programs[pd] = files.program(pd.program_image)
    return s


def _first_wins(objects, table: dict) -> None:
    for obj in objects:
        if obj.name is not None:
            table.setdefault(obj.name, obj)


def _name_tables(s: System) -> None:
    _first_wins(s.pds, s.pd_by_name)
    _first_wins(s.mrs, s.mr_by_name)
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


def _regions(s: System, files: FileAccess) -> None:
    regions = s.regions
    for mr in s.mrs:
        size = mr.declared_size
        prefill = None
        if mr.prefill_path is not None:
            prefill = files.prefill(mr.prefill_path)
            if not mr.size_given and prefill.error is None and prefill.length:
                size = -(-prefill.length // mr.page_size) * mr.page_size
        regions[mr] = RegionFacts(size, mr.page_size, prefill)
    # the maps of every region, by name (the hot loop on large systems: plain dict lookups)
    by_name = {name: regions[mr].maps for name, mr in s.mr_by_name.items()}
    for pd in s.pds:
        for m in pd.maps:
            users = by_name.get(m.mr)  # type: ignore[arg-type]
            if users is not None:
                users.append(m)
        if pd.vm is not None:
            for m in pd.vm.maps:
                users = by_name.get(m.mr)  # type: ignore[arg-type]
                if users is not None:
                    users.append(m)
    iomapped = {m.mr for ios in s.io_spaces for m in ios.iomaps}
    for mr, facts in regions.items():
        if not mr.page_size_given and _takes_large_pages(mr, facts, iomapped):
            facts.page_size = LARGE_PAGE
    s.regions_key = tuple((mr, s.regions[mr].size, s.regions[mr].page_size) for mr in s.mr_by_name.values())


def _takes_large_pages(mr: MemoryRegion, facts: RegionFacts, iomapped: set) -> bool:
    """Upstream raises a region's pages to 2 MiB when nothing stops it (reference §4)."""
    size = facts.size
    if mr.page_size_given or mr.name in iomapped or size is None or size == 0:
        return False
    if size % LARGE_PAGE or (mr.phys_addr is not None and mr.phys_addr % LARGE_PAGE):
        return False
    return all(m.vaddr is None or m.vaddr % LARGE_PAGE == 0 for m in facts.maps)


def _channels(s: System) -> None:
    by_name = s.pd_by_name
    for pd in s.pds:
        if pd.children or pd.vm is not None:
            s.endpoint_pds.add(pd)
        if pd.fault_handler and pd.fault_handler in by_name:
            s.endpoint_pds.add(by_name[pd.fault_handler])
    for ch in s.channels:
        if not ch.valid:
            continue
        a, b = ch.ends
        if a.pd is not None:
            s.channel_ends.setdefault(a.pd, []).append((a, b))
        if b.pd is not None:
            s.channel_ends.setdefault(b.pd, []).append((b, a))
        if a.pp and b.pd in by_name:
            s.endpoint_pds.add(by_name[b.pd])
        if b.pp and a.pd in by_name:
            s.endpoint_pds.add(by_name[a.pd])
