"""The system's memory budget: what the build will carve out of the board's RAM.

An estimate made before any ELF is read (program images are counted by the build,
not here): memory regions without `phys_addr`, non-device untypeds, and per PD its
kernel objects (TCB, SC, endpoint/notification/reply, VSpace and page tables, CNodes,
IPC buffer, stack).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sdf_lsp.layout.cspace import CSpaceLayout
from sdf_lsp.model.types import ProtectionDomain, System
from sdf_lsp.target import Target

SC_BYTES = 256


@dataclass
class PdCost:
    pd: ProtectionDomain
    kernel_objects: int  # TCB, SC, EP/notification/reply, VSpace, page tables
    cnodes: int
    ipc_and_stack: int

    @property
    def total(self) -> int:
        return self.kernel_objects + self.cnodes + self.ipc_and_stack


@dataclass
class MemoryBudget:
    ram: int | None  # bytes of normal memory on the board (None: unknown)
    regions: int  # memory regions without phys_addr
    untypeds: int  # non-device untypeds
    pds: list[PdCost] = field(default_factory=list)

    @property
    def kernel_objects(self) -> int:
        return sum(c.total for c in self.pds)

    @property
    def total(self) -> int:
        return self.regions + self.untypeds + self.kernel_objects

    def biggest(self, n: int = 3) -> list[tuple[str, int]]:
        return sorted(((f"PD '{c.pd.name}'", c.total) for c in self.pds), key=lambda t: -t[1])[:n]


def _chunks(ranges: list[tuple[int, int]], shift: int) -> int:
    """How many 2^shift-aligned chunks the ranges touch together."""
    spans = sorted((s >> shift, (e - 1) >> shift) for s, e in ranges if e > s)
    count = 0
    cur_s = cur_e = None
    for s, e in spans:
        if cur_e is not None and s <= cur_e + 1:
            cur_e = max(cur_e, e)
        else:
            if cur_e is not None:
                count += cur_e - cur_s + 1
            cur_s, cur_e = s, e
    if cur_e is not None:
        count += cur_e - cur_s + 1
    return count


def page_table_bytes(ranges: list[tuple[int, int]], target: Target) -> int:
    """Page tables below the VSpace root for the given virtual ranges (one table per
    2^(12+9k)-aligned chunk at each level under the root)."""
    levels = (
        3
        if target.arch == "aarch64" and target.hypervisor and (target.arm_pa_size_bits or 40) == 40
        else (3 if target.arch == "riscv64" else 4)
    )
    pt = 1 << target.object_bits("page_table")
    total = 0
    for level in range(1, levels):  # tables under the root: chunks of 2MiB, 1GiB, (512GiB)
        total += _chunks(ranges, 12 + 9 * level) * pt
    return total


def pd_cost(pd: ProtectionDomain, system: System, target: Target, lay: CSpaceLayout, needs_ep: bool) -> PdCost:
    bits = target.object_bits
    objs = (1 << bits("tcb")) + SC_BYTES + (1 << bits("notification")) + (1 << bits("reply")) + (1 << bits("vspace"))
    if needs_ep:
        objs += 1 << bits("endpoint")
    memo = pd.memo.get("page_tables")
    if memo is not None and memo[0] == system.mr_key:
        tables = memo[1]
    else:
        ranges = [(0x200000, 0x400000)]  # the program image (typical link address)
        stack_top = target.pd_stack_top()
        ranges.append((stack_top - pd.stack_size, target.ipc_buffer_vaddr + 0x1000))
        for m in pd.maps:
            mr = system.mr_by_name.get(m.mr) if m.mr else None
            if mr is not None and m.vaddr is not None and mr.size:
                ranges.append((m.vaddr, m.vaddr + mr.size))
        tables = page_table_bytes(ranges, target)
        pd.memo["page_tables"] = (system.mr_key, tables)
    objs += tables
    if pd.vm is not None:
        vcpu_bits = target.object_sizes.get("vcpu", 12)
        for _ in pd.vm.vcpus:
            objs += (1 << vcpu_bits) + (1 << bits("tcb")) + SC_BYTES + (1 << 14) + 0x1000
        vm_ranges = []
        for m in pd.vm.maps:
            mr = system.mr_by_name.get(m.mr) if m.mr else None
            if mr is not None and m.vaddr is not None and mr.size:
                vm_ranges.append((m.vaddr, m.vaddr + mr.size))
        objs += (1 << bits("vspace")) + page_table_bytes(vm_ranges, target)
    return PdCost(pd, objs, lay.memory, 0x1000 + pd.stack_size)


def memory_budget(system: System, target: Target, layouts: dict, ep_pds: set[int]) -> MemoryBudget:
    regions = sum(
        mr.size or 0
        for mr in system.mrs
        if mr.phys_addr is None and mr.name is not None and system.mr_by_name.get(mr.name) is mr
    )
    untypeds = 0
    ram = target.ram_bytes
    for ut in system.untypeds:
        if ut.size_bits is None:
            continue
        if is_device_untyped(ut, target) is False:
            untypeds += 1 << ut.size_bits
    budget = MemoryBudget(ram, regions, untypeds)
    for pd in system.pds:
        budget.pds.append(pd_cost(pd, system, target, layouts[id(pd)], id(pd) in ep_pds))
    return budget


def in_ram(start: int, end: int, target: Target) -> bool | None:
    if target.normal_regions is None:
        return None
    return any(r.start <= start and end <= r.end for r in target.normal_regions)


def is_device_untyped(ut, target: Target) -> bool | None:
    """`device` as given, else inferred: device iff the fixed range is outside RAM."""
    if ut.device is not None:
        return ut.device
    if ut.phys_addr is None or ut.size_bits is None:
        return False
    inside = in_ram(ut.phys_addr, ut.phys_addr + (1 << ut.size_bits), target)
    return None if inside is None else not inside
