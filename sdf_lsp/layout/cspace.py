"""Each PD's CSpace, slot by slot (reference §6 and the extension formulas).

Two CNodes: the root CNode (2^R slots, R = `<cspace size_bits>` or 6) whose slot 0
holds the Microkit CNode (512 slots, guard 64 - 9 - R), then the `<cspace>` caps and
reserves. Computed once per analysis; checks, hover, inlay hints and the build read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sdf_lsp.model.consts import (
    BASE_IOPORT_CAP,
    BASE_IRQ_CAP,
    BASE_OUTPUT_ENDPOINT_CAP,
    BASE_OUTPUT_NOTIFICATION_CAP,
    BASE_PD_TCB_CAP,
    BASE_VCPU_CAP,
    BASE_VM_TCB_CAP,
    FAULT_BADGE,
    FAULT_EP_CAP,
    INPUT_CAP,
    MICROKIT_CNODE_BITS,
    MICROKIT_ROOT_BITS,
    MONITOR_EP_CAP,
    PPC_BADGE,
    REPLY_CAP,
    SLOT_BITS,
    SMC_CAP,
    TCB_CAP,
    VSPACE_CAP,
)
from sdf_lsp.model.types import CapGrant, ProtectionDomain, Reserve, System


@dataclass(slots=True)
class Slot:
    index: int
    label: str  # what the slot holds, for people
    kind: str  # endpoint notification vspace reply tcb sc smc irq vcpu ioport cnode untyped reserve
    el: object = None  # the syntax element that put it there (None: implicit)
    cptr: int = 0
    ref: object = None  # the model object the cap refers to (peer PD, IRQ, child, vCPU, grant, reserve...)
    badge: int = 0  # the cap's badge (endpoint and notification caps)


@dataclass(slots=True)
class CSpaceLayout:
    pd: ProtectionDomain
    root_bits: int
    root: list[Slot] = field(
        default_factory=list
    )  # caps and reserved slots (a reserve gives one Slot per slot range start)
    reserves: list[tuple[int, int, Reserve]] = field(default_factory=list)  # (first slot, count, element), placed
    root_used: int = 1  # slot 0 included
    first_free: int | None = None
    sub_cnodes: int = 0  # bytes of granted <cnode>s
    _microkit: list[Slot] | None = None
    _inputs: tuple | None = None  # what the Microkit CNode is computed from, on first use

    @property
    def microkit(self) -> list[Slot]:
        """The Microkit CNode's filled slots (computed when first asked for)."""
        if self._microkit is None:
            self._microkit = microkit_cnode(self.pd, *self._inputs)
        return self._microkit

    @property
    def root_capacity(self) -> int:
        return 1 << self.root_bits

    @property
    def guard(self) -> int:
        return 64 - MICROKIT_CNODE_BITS - self.root_bits

    def cptr(self, root_slot: int) -> int:
        return root_slot << (64 - self.root_bits)

    @property
    def memory(self) -> int:
        """Kernel memory of the PD's CNodes (bytes): root + Microkit CNode + granted CNodes."""
        return (1 << (self.root_bits + SLOT_BITS)) + (1 << (MICROKIT_CNODE_BITS + SLOT_BITS)) + self.sub_cnodes

    def microkit_slot(self, index: int) -> Slot | None:
        for s in self.microkit:
            if s.index == index:
                return s
        return None


def channel_ends_by_pd(system: System) -> dict[str, list]:
    """PD name -> [(its end, the other end)] over all valid channels, in document order."""
    out: dict[str, list] = {}
    for ch in system.channels:
        if not ch.valid:
            continue
        a, b = ch.ends
        if a.pd is not None:
            out.setdefault(a.pd, []).append((a, b))
        if b.pd is not None:
            out.setdefault(b.pd, []).append((b, a))
    return out


def needs_endpoint(system: System) -> set[int]:
    """ids of PDs whose input cap is an endpoint: children, a VM, a PPC callee, or a fault handler."""
    out = set()
    by_name = system.pd_by_name
    for pd in system.pds:
        if pd.children or pd.vm is not None:
            out.add(id(pd))
        if pd.fault_handler and pd.fault_handler in by_name:
            out.add(id(by_name[pd.fault_handler]))
    for ch in system.channels:
        if not ch.valid:
            continue
        a, b = ch.ends
        if a.pp and b.pd in by_name:
            out.add(id(by_name[b.pd]))
        if b.pp and a.pd in by_name:
            out.add(id(by_name[a.pd]))
    return out


def microkit_cnode(
    pd: ProtectionDomain, system: System, arch: str, config: str | None, ep_pds: set[int], ends: dict
) -> list[Slot]:
    """The Microkit CNode's filled slots; `ref`/`badge` say what each cap is, for the build."""
    by_name = system.pd_by_name
    slots: list[Slot] = []
    own = f"'{pd.name}'"
    if id(pd) in ep_pds:
        slots.append(Slot(INPUT_CAP, f"endpoint of {own} (input cap)", "endpoint", ref=pd))
    else:
        slots.append(Slot(INPUT_CAP, f"notification of {own} (input cap)", "notification", ref=pd))
    if pd.parent is not None:
        slots.append(
            Slot(
                FAULT_EP_CAP,
                f"fault endpoint: parent '{pd.parent.name}', badge 1<<62 | {pd.id}",
                "endpoint",
                ref=pd.parent,
                badge=FAULT_BADGE | (pd.id or 0),
            )
        )
    elif pd.fault_handler and pd.fault_handler in by_name:
        slots.append(
            Slot(
                FAULT_EP_CAP,
                f"fault endpoint: handler '{pd.fault_handler}', badge 1<<62 | {pd.fault_id}",
                "endpoint",
                pd.el.attr("fault_handler"),
                ref=by_name[pd.fault_handler],
                badge=FAULT_BADGE | (pd.fault_id or 0),
            )
        )
    else:
        slots.append(
            Slot(FAULT_EP_CAP, f"fault endpoint: monitor, badge {pd.index + 1}", "endpoint", badge=pd.index + 1)
        )
    slots.append(Slot(VSPACE_CAP, f"VSpace of {own}", "vspace", ref=pd))
    slots.append(Slot(REPLY_CAP, "reply object", "reply", ref=pd))
    if pd.passive:
        slots.append(
            Slot(
                MONITOR_EP_CAP,
                f"monitor endpoint, badge {pd.index + 1} (passive)",
                "endpoint",
                pd.el.attr("passive"),
                badge=pd.index + 1,
            )
        )
    if config == "benchmark":
        slots.append(Slot(TCB_CAP, f"TCB of {own} (benchmark config)", "tcb", ref=pd))
    if pd.smc:
        slots.append(Slot(SMC_CAP, "ARM SMC", "smc", pd.el.attr("smc")))
    for end, other in ends.get(pd.name, ()):
        if end.id is None or other.id is None:
            continue
        peer = by_name.get(other.pd)
        if end.notify:
            slots.append(
                Slot(
                    BASE_OUTPUT_NOTIFICATION_CAP + end.id,
                    f"notification of '{other.pd}', badge 1<<{other.id} (channel {end.id})",
                    "notification",
                    end.el,
                    ref=peer,
                    badge=1 << other.id,
                )
            )
        if end.pp:
            slots.append(
                Slot(
                    BASE_OUTPUT_ENDPOINT_CAP + end.id,
                    f"endpoint of '{other.pd}', badge 1<<63 | {other.id} (PPC, channel {end.id})",
                    "endpoint",
                    end.el,
                    ref=peer,
                    badge=PPC_BADGE | other.id,
                )
            )
    for irq in pd.irqs:
        if irq.id is not None:
            what = f"IRQ {irq.number}" if irq.number is not None else "IRQ"
            slots.append(Slot(BASE_IRQ_CAP + irq.id, f"{what} handler (channel {irq.id})", "irq", irq.el, ref=irq))
    for child in pd.children:
        if child.id is not None:
            slots.append(
                Slot(
                    BASE_PD_TCB_CAP + child.id,
                    f"TCB of child '{child.name}' (id {child.id})",
                    "tcb",
                    child.el,
                    ref=child,
                )
            )
    if pd.vm is not None:
        for v in pd.vm.vcpus:
            if v.id is None:
                continue
            if arch != "x86_64":
                slots.append(Slot(BASE_VM_TCB_CAP + v.id, f"TCB of vCPU {v.id} of '{pd.vm.name}'", "tcb", v.el, ref=v))
            slots.append(Slot(BASE_VCPU_CAP + v.id, f"vCPU {v.id} of '{pd.vm.name}'", "vcpu", v.el, ref=v))
    for io in pd.ioports:
        if io.id is not None:
            slots.append(
                Slot(
                    BASE_IOPORT_CAP + io.id,
                    f"I/O ports {io.addr:#x}+{io.size}" if io.addr is not None and io.size else "I/O ports",
                    "ioport",
                    io.el,
                    ref=io,
                )
            )
    slots.sort(key=lambda s: s.index)
    for s in slots:
        s.cptr = s.index
    return slots


def cap_label(cap: CapGrant) -> str:
    if cap.kind in ("Tcb", "Sc", "VSpace"):
        return {"Tcb": "TCB", "Sc": "SC", "VSpace": "VSpace"}[cap.kind] + f" of '{cap.pd}'"
    if cap.kind == "Notification":
        return f"notification of '{cap.pd}' ({cap.rights}, badge {cap.badge:#x})"
    if cap.kind == "Smc":
        return f"SMC, function id {cap.function_id:#x}" if cap.function_id is not None else "SMC"
    if cap.kind == "Untyped":
        return f"untyped '{cap.untyped}'"
    return f"CNode '{cap.cnode}'"


def merge_ranges(intervals) -> list[tuple[int, int]]:
    """Half-open ranges sorted, with overlapping and touching ones joined."""
    out: list[list[int]] = []
    for s, e in sorted(intervals):
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return [(s, e) for s, e in out]


def first_fit(used: list[tuple[int, int]], count: int, lowest: int = 1) -> int:
    """Lowest start >= `lowest` of `count` consecutive slots outside `used` (intervals)."""
    start = lowest
    for s, e in merge_ranges(used):
        if e <= start:
            continue
        if s >= start + count:
            break
        start = max(start, e)
    return start


def place_reserves(reserves: list[Reserve], used: list[tuple[int, int]]) -> list[tuple[int, int, Reserve]]:
    """Explicit reserves where they say; then auto reserves in document order, each at the
    lowest slot >= 1 where `count` consecutive slots are free of every cap, explicit
    reserve and earlier auto reserve (the extension's rule)."""
    placed = []
    used = list(used)
    for r in reserves:
        r.placed = None
        if r.slot is not None and r.count is not None:
            placed.append((r.slot, r.count, r))
            used.append((r.slot, r.slot + r.count))
            r.placed = r.slot
    for r in reserves:
        if r.slot is not None or r.count is None:
            continue
        start = first_fit(used, r.count)
        r.placed = start
        placed.append((start, r.count, r))
        used.append((start, start + r.count))
    return placed


def cspace_layout(
    pd: ProtectionDomain, system: System, arch: str, config: str | None, ep_pds: set[int], ends: dict
) -> CSpaceLayout:
    cs = pd.cspace
    bits = cs.root_bits if cs is not None else MICROKIT_ROOT_BITS
    lay = CSpaceLayout(pd, bits)
    lay._inputs = (system, arch, config, ep_pds, ends)
    root = [Slot(0, f"Microkit CNode of '{pd.name}' (512 slots, guard {lay.guard})", "cnode", None, 0, ref=pd)]
    used = [(0, 1)]
    if cs is not None:
        for cap in cs.caps:
            if cap.slot is None:
                continue
            root.append(
                Slot(cap.slot, cap_label(cap), cap.kind.lower(), cap.el, lay.cptr(cap.slot), ref=cap, badge=cap.badge)
            )
            used.append((cap.slot, cap.slot + 1))
            if cap.kind == "CNode" and cap.cnode in system.cnode_by_name:
                b = system.cnode_by_name[cap.cnode].size_bits
                if b is not None:
                    lay.sub_cnodes += 1 << (b + SLOT_BITS)
        lay.reserves = place_reserves(cs.reserves, used)
        for start, count, r in lay.reserves:
            root.append(
                Slot(
                    start,
                    f"reserved: {count} empty slot{'s' if count != 1 else ''} [{start}..{start + count})",
                    "reserve",
                    r.el,
                    lay.cptr(start),
                    ref=r,
                )
            )
            used.append((start, start + count))
    root.sort(key=lambda s: s.index)
    lay.root = root
    merged = merge_ranges(used)
    lay.root_used = sum(e - s for s, e in merged)
    free = first_fit(merged, 1)
    lay.first_free = free if free < lay.root_capacity else None
    return lay


def system_cspaces(system: System, arch: str, config: str | None, ep_pds: set[int]) -> dict[int, CSpaceLayout]:
    ends = channel_ends_by_pd(system)
    return {id(pd): cspace_layout(pd, system, arch, config, ep_pds, ends) for pd in system.pds}
