"""The resolved system: the lowered elements of one analysis plus everything derived from their
names — name tables, PD order, domains, region sizes and page sizes, who maps what, channel ends
per PD, which PDs need an endpoint. Built fresh for every analysis by `resolve()`; the lowered
objects it refers to (cached per syntax block) are never changed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property

from sdf_lsp.model.types import (
    Channel,
    ChannelEnd,
    CNodeDecl,
    Domain,
    Domains,
    IoAddressSpace,
    Map,
    MemoryRegion,
    ProtectionDomain,
    Untyped,
    VirtualMachine,
)
from sdf_lsp.resolve.access import PrefillInfo, ProgramInfo
from sdf_lsp.resolve.names import NameIndex, build_index
from sdf_lsp.syntax.tree import Element


@dataclass(frozen=True, slots=True)
class RegionFacts:
    """What a memory region amounts to once the whole system is known (the same object between
    analyses while the region, its prefill file and its page size do not change)."""

    size: int | None  # as declared, or the prefill file's length rounded up to the page size
    page_size: int  # after upstream's page-size optimisation (2 MiB where nothing stops it)
    prefill: PrefillInfo | None = None  # the prefill file, when the region names one

    @property
    def prefill_length(self) -> int | None:
        return self.prefill.length if self.prefill is not None else None

    @property
    def page_count(self) -> int | None:
        if self.size is None or not self.page_size:
            return None
        return self.size // self.page_size


#: Who maps a region: the PD or the VM whose `<map>` it is.
Owner = ProtectionDomain | VirtualMachine


@dataclass(eq=False)
class System:
    """The whole model of one analysis, in document order, with its name resolution."""

    root: Element
    root_pds: list[ProtectionDomain] = field(default_factory=list)
    pds: list[ProtectionDomain] = field(default_factory=list)  # flattened, pre-order (upstream's PD order)
    mrs: list[MemoryRegion] = field(default_factory=list)
    channels: list[Channel] = field(default_factory=list)
    io_spaces: list[IoAddressSpace] = field(default_factory=list)
    all_domains: list[Domains] = field(default_factory=list)
    untypeds: list[Untyped] = field(default_factory=list)
    cnodes: list[CNodeDecl] = field(default_factory=list)

    # -- filled by resolve() -------------------------------------------------------------
    domains: Domains | None = None  # the effective <domains> (the first that declares any)
    # the <domains> in force where each top-level PD is declared (None: no schedule yet)
    domains_at: dict[ProtectionDomain, Domains | None] = field(default_factory=dict)
    # name tables: the first definition wins; checks report the later ones
    pd_by_name: dict[str, ProtectionDomain] = field(default_factory=dict)
    mr_by_name: dict[str, MemoryRegion] = field(default_factory=dict)
    vm_by_name: dict[str, VirtualMachine] = field(default_factory=dict)
    untyped_by_name: dict[str, Untyped] = field(default_factory=dict)
    cnode_by_name: dict[str, CNodeDecl] = field(default_factory=dict)
    domain_by_name: dict[str, Domain] = field(default_factory=dict)
    io_space_by_name: dict[str, IoAddressSpace] = field(default_factory=dict)
    regions: dict[MemoryRegion, RegionFacts] = field(default_factory=dict)
    programs: dict[ProtectionDomain, ProgramInfo] = field(default_factory=dict)  # PDs with a program image
    pd_index: dict[ProtectionDomain, int] = field(default_factory=dict)
    # PD name -> [(its end, the other end)] of every valid channel, in document order
    channel_ends: dict[str, list[tuple[ChannelEnd, ChannelEnd]]] = field(default_factory=dict)
    endpoint_pds: set[ProtectionDomain] = field(default_factory=set)
    # the region names some map gives (a region no map names is unused)
    mapped_names: frozenset[str] = frozenset()
    # what per-PD results depend on of the regions (their memo key): the regions, sizes and page sizes
    regions_key: tuple = ()
    # a number that changes exactly when `regions_key` does (set by the analysis from its memo)
    regions_version: int = 0

    def vms(self) -> Iterator[tuple[ProtectionDomain, VirtualMachine]]:
        for pd in self.pds:
            if pd.vm is not None:
                yield pd, pd.vm

    def index(self, pd: ProtectionDomain) -> int:
        """The PD's place in upstream's order (the monitor's badges, object names of the build)."""
        return self.pd_index[pd]

    def region(self, mr: MemoryRegion) -> RegionFacts:
        return self.regions[mr]

    def uses(self, mr: MemoryRegion) -> list[tuple[Owner, Map]]:
        """The maps (of PDs, then VMs, in PD order) of the region a name resolves to; a later
        region with the same name has none."""
        if mr.name is None or self.mr_by_name.get(mr.name) is not mr:
            return []
        return self.uses_by_name.get(mr.name, [])

    def maps_of(self, mr: MemoryRegion) -> list[Map]:
        return [m for _, m in self.uses(mr)]

    @cached_property
    def uses_by_name(self) -> dict[str, list[tuple[Owner, Map]]]:
        """Every map by the region name it gives (made on first use: hover, pictures)."""
        out: dict[str, list[tuple[Owner, Map]]] = {}
        for pd in self.pds:
            for m in pd.maps:
                if m.mr is not None:
                    out.setdefault(m.mr, []).append((pd, m))
            if pd.vm is not None:
                for m in pd.vm.maps:
                    if m.mr is not None:
                        out.setdefault(m.mr, []).append((pd.vm, m))
        return out

    def region_named(self, name: str | None) -> tuple[MemoryRegion, RegionFacts] | None:
        mr = self.mr_by_name.get(name) if name is not None else None
        return (mr, self.regions[mr]) if mr is not None else None

    def size_of(self, mr: MemoryRegion) -> int | None:
        return self.regions[mr].size

    def page_size_of(self, mr: MemoryRegion) -> int:
        return self.regions[mr].page_size

    def needs_endpoint(self, pd: ProtectionDomain) -> bool:
        """Its input cap is an endpoint: it has children or a VM, is PPC'd into, or handles faults."""
        return pd in self.endpoint_pds

    def defines(self, table: dict, obj) -> bool:
        """`obj` is the definition its name resolves to (not a later duplicate)."""
        name = getattr(obj, "name", None)
        return name is not None and table.get(name) is obj

    @cached_property
    def names(self) -> NameIndex:
        """Definitions and references of every name in the document (built on first use)."""
        return build_index(self.root)
