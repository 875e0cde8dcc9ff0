"""The system's memory budget: what the build will carve out of the board's RAM.

Per PD: its kernel objects (TCB, SC, notification, reply, endpoint when it needs one, the VSpace
root and every page table below it), its CNodes, its IPC buffer and stack, its program image's
frames and its VM's objects — counted as the build makes them (`sdf_lsp.backend.builder`), with
the same page-table geometry (`sdf_lsp.layout.paging`). The program image's segments come from
the resolved system when the image was found; without it the image's frames are unknown and
its page tables are estimated for an image at upstream's usual link address. Plus memory
regions without `phys_addr` and non-device untypeds. The monitor is not counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sdf_lsp.layout.cspace import CSpaceLayout
from sdf_lsp.layout.paging import Paging, PagingError
from sdf_lsp.memo import Memo
from sdf_lsp.model.consts import MICROKIT_CNODE_BITS, SCHED_CONTEXT_BITS, SLOT_BITS
from sdf_lsp.model.types import Map, ProtectionDomain, Untyped
from sdf_lsp.resolve.system import System
from sdf_lsp.target import Target

#: Where an unknown program image is assumed to be (upstream's linker script starts at 2 MiB).
ASSUMED_IMAGE = (0x200000, 0x400000)


@dataclass
class PdCost:
    pd: ProtectionDomain
    objects: int  # TCB, SC, notification, reply, endpoint
    vspace: int  # the VSpace root and the page tables below it
    page_tables: int  # how many tables below the root
    cnodes: int
    ipc_and_stack: int
    image: int | None  # frames of the program image (None: the image was not found)
    vm: int = 0  # the VM's vCPUs (TCB, SC, vCPU, CNode, IPC buffer) and its address space

    @property
    def kernel_objects(self) -> int:
        return self.objects + self.vspace + self.vm

    @property
    def total(self) -> int:
        return self.kernel_objects + self.cnodes + self.ipc_and_stack + (self.image or 0)

    @property
    def exact(self) -> bool:
        """The program image was read, so every figure is what the build will allocate."""
        return self.image is not None or not self.pd.program_image


@dataclass
class MemoryBudget:
    ram: int | None  # bytes of normal memory on the board (None: unknown)
    regions: int  # memory regions without phys_addr
    untypeds: int  # non-device untypeds
    pds: list[PdCost] = field(default_factory=list)
    by_pd: dict[ProtectionDomain, PdCost] = field(default_factory=dict)

    @property
    def kernel_objects(self) -> int:
        return sum(c.total for c in self.pds)

    @property
    def total(self) -> int:
        return self.regions + self.untypeds + self.kernel_objects

    def biggest(self, n: int = 3) -> list[tuple[str, int]]:
        return sorted(((f"PD '{c.pd.name}'", c.total) for c in self.pds), key=lambda t: -t[1])[:n]


def _pages(start: int, end: int, page: int) -> tuple[int, int]:
    return start - start % page, -(-end // page) * page


def map_ranges(system: System, maps: list[Map]) -> list[tuple[int, int, int]]:
    """(start, end, page size) of every map that the build can make."""
    out = []
    for m in maps:
        hit = system.region_named(m.mr)
        if hit is None or m.vaddr is None:
            continue
        facts = hit[1]
        if not facts.size or not facts.page_size or m.vaddr % facts.page_size:
            continue
        out.append((m.vaddr, m.vaddr + facts.size, facts.page_size))
    return out


def _tables(paging: Paging, ranges: list[tuple[int, int, int]]) -> int:
    try:
        return paging.tables_below_root(ranges)
    except PagingError:
        return 0


def pd_cost(
    pd: ProtectionDomain, system: System, target: Target, lay: CSpaceLayout, paging: Paging, memo: Memo
) -> PdCost:
    bits = target.object_bits
    page = 1 << bits("small_page")
    objects = (1 << bits("tcb")) + (1 << SCHED_CONTEXT_BITS) + (1 << bits("notification")) + (1 << bits("reply"))
    if system.needs_endpoint(pd):
        objects += 1 << bits("endpoint")
    program = system.programs.get(pd)
    ranges: list[tuple[int, int, int]] = []
    image: int | None = None
    if program is not None and program.found:
        image = 0
        for seg in program.segments:
            if seg.memsz:
                start, end = _pages(seg.vaddr, seg.vaddr + seg.memsz, page)
                ranges.append((start, end, page))
                image += end - start
    elif pd.program_image:
        ranges.append((*ASSUMED_IMAGE, page))
    ipc = target.ipc_buffer_vaddr
    ranges.append((ipc, ipc + page, page))
    ranges.append((target.pd_stack_bottom(pd.stack_size), target.pd_stack_top(), page))
    key = (system.regions_version, program)
    kept = memo.get("page_tables", pd, key)
    if kept is Memo.MISSING:
        # by what the tables are made from: a PD lowered again with the same maps keeps its count
        content = (target, key, pd.stack_size, tuple((m.mr, m.vaddr) for m in pd.maps))
        tables = memo.get("page_tables of", system.index(pd), content)
        if tables is Memo.MISSING:
            ranges += map_ranges(system, pd.maps)
            tables = _tables(paging, ranges)
        kept = memo.put("page_tables", pd, key, (tables, content))
    tables, content = kept
    memo.put("page_tables of", system.index(pd), content, tables)  # kept for when the PD is lowered again
    vspace = (1 << bits("vspace")) + tables * (1 << bits("page_table"))
    vm = 0
    if pd.vm is not None:
        x86 = target.arch == "x86_64"
        per_vcpu = 1 << bits("vcpu", 12)  # a RISC-V hypervisor kernel's size is not in the built-in table
        if not x86:
            per_vcpu += (1 << bits("tcb")) + (1 << SCHED_CONTEXT_BITS) + (1 << (MICROKIT_CNODE_BITS + SLOT_BITS)) + page
        vm = per_vcpu * len(pd.vm.vcpus)
        vm_key = (target, system.regions_version, tuple((m.mr, m.vaddr) for m in pd.vm.maps))
        vm_tables = memo.get("vm_page_tables", system.index(pd), vm_key)
        if vm_tables is Memo.MISSING:
            vm_tables = _tables(paging, map_ranges(system, pd.vm.maps))
        memo.put("vm_page_tables", system.index(pd), vm_key, vm_tables)
        vm += (1 << bits("vspace")) + vm_tables * (1 << bits("page_table"))
    return PdCost(pd, objects, vspace, tables, lay.memory, page + pd.stack_size, image, vm)


def memory_budget(
    system: System, target: Target, layouts: dict[ProtectionDomain, CSpaceLayout], memo: Memo | None = None
) -> MemoryBudget:
    memo = memo or Memo()
    regions = memo.get("region bytes", "system", system.regions_key)
    if regions is Memo.MISSING:  # (the regions and their facts are what they were: kept)
        facts = system.regions
        regions = sum(facts[mr].size or 0 for mr in system.mr_by_name.values() if mr.phys_addr is None)
        memo.put("region bytes", "system", system.regions_key, regions)
    untypeds = 0
    for ut in system.untypeds:
        if ut.size_bits is None:
            continue
        if is_device_untyped(ut, target) is False:
            untypeds += 1 << ut.size_bits
    budget = MemoryBudget(target.ram_bytes, regions, untypeds)
    paging = Paging(target)
    for pd in system.pds:
        cost = pd_cost(pd, system, target, layouts[pd], paging, memo)
        budget.pds.append(cost)
        budget.by_pd[pd] = cost
    return budget


def in_ram(start: int, end: int, target: Target) -> bool | None:
    if target.normal_regions is None:
        return None
    return any(r.start <= start and end <= r.end for r in target.normal_regions)


def is_device_untyped(ut: Untyped, target: Target) -> bool | None:
    """`device` as given, else inferred: device iff the fixed range is outside RAM."""
    if ut.device is not None:
        return ut.device
    if ut.phys_addr is None or ut.size_bits is None:
        return False
    inside = in_ram(ut.phys_addr, ut.phys_addr + (1 << ut.size_bits), target)
    return None if inside is None else not inside
