"""Each PD's CSpace, slot by slot (reference §6 and the extension formulas), and the id spaces
that decide which slot a channel, IRQ, child or vCPU takes.

Two CNodes: the root CNode (2^R slots, R = `<cspace size_bits>` or 6) whose slot 0 holds the
Microkit CNode (512 slots, guard 64 - 9 - R), then the `<cspace>` caps and reserves. Computed
once per analysis; checks, hover, inlay hints, completion and the build read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sdf_lsp.layout.ranges import first_fit, merge_ranges
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
    PD_MAX_ID,
    PPC_BADGE,
    REPLY_CAP,
    SLOT_BITS,
    SMC_CAP,
    TCB_CAP,
    VSPACE_CAP,
)
from sdf_lsp.model.types import CapGrant, ChannelEnd, Irq, ProtectionDomain, Reserve, Vcpu
from sdf_lsp.resolve.system import System

#: The capDL cap each `<cspace>` grant becomes (a VSpace is a root page table).
GRANT_CAPS = {
    "Tcb": "Tcb",
    "Sc": "SchedContext",
    "VSpace": "PageTable",
    "Notification": "Notification",
    "Smc": "ArmSmc",
    "Untyped": "Untyped",
    "CNode": "CNode",
}
#: Rights as the spec gives them: endpoints read, write and grant; notifications read and write.
ENDPOINT_RIGHTS = "RWG"
NOTIFICATION_RIGHTS = "RW"


@dataclass(slots=True)
class Slot:
    """One filled slot: which cap the build puts there and what it names.

    `cap` is the capDL cap type; `ref` is what the cap's object belongs to: a PD (its endpoint,
    notification, VSpace, TCB or SC), None for the monitor's fault endpoint, an `Irq`, a `Vcpu`, an
    `IoPort`, or the `CapGrant`/`Reserve` element of a root-CNode slot."""

    index: int
    label: str  # what the slot holds, for people
    cap: (
        str | None
    )  # Endpoint Notification PageTable Reply Tcb SchedContext ArmSmc IrqHandler VCpu IOPorts CNode Untyped; None: reserved
    el: object = None  # the syntax element that put it there (None: implicit)
    cptr: int = 0
    ref: object = None
    badge: int = 0
    rights: str = ""  # R, W, G of the cap ("" where the cap has no rights)


def sub_cnode_guard(root_bits: int, size_bits: int) -> int:
    """Guard of a granted `<cnode>`'s cap in a root CNode of 2^root_bits slots: together they
    resolve all 64 bits of a CPtr."""
    return 64 - root_bits - size_bits


@dataclass(slots=True)
class CSpaceLayout:
    pd: ProtectionDomain
    root_bits: int
    root: list[Slot] = field(default_factory=list)  # caps and reserved slots (one Slot per reserve)
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
            assert self._inputs is not None
            self._microkit = microkit_cnode(self.pd, *self._inputs)
        return self._microkit

    @property
    def root_capacity(self) -> int:
        return 1 << self.root_bits

    @property
    def guard(self) -> int:
        """Guard of the Microkit CNode's cap in root slot 0."""
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

    def reserve_start(self, r: Reserve) -> int | None:
        """The first slot a reserve got (its own, or the one placed for it)."""
        for start, _, res in self.reserves:
            if res is r:
                return start
        return None


# -- id spaces -----------------------------------------------------------------------------
def channel_id_users(system: System, pd: ProtectionDomain) -> list[tuple[int, Irq | ChannelEnd]]:
    """Who uses which id of `pd`'s channel space (the IRQs, then its channel ends in channel
    order): ids select the notification, PPC and IRQ slots of its Microkit CNode."""
    out: list[tuple[int, Irq | ChannelEnd]] = [(irq.id, irq) for irq in pd.irqs if irq.id is not None]
    if pd.name is not None:
        out += [(end.id, end) for end, _ in system.channel_ends.get(pd.name, ()) if end.id is not None]
    return out


def child_id_users(system: System, pd: ProtectionDomain) -> list[tuple[int, ProtectionDomain | Vcpu]]:
    """Who uses which id of `pd`'s child space: its children, its VM's vCPUs, then the PDs whose
    faults it handles (a child's TCB slot, a vCPU's TCB slot and a fault badge share it)."""
    out: list[tuple[int, ProtectionDomain | Vcpu]] = [(c.id, c) for c in pd.children if c.id is not None]
    if pd.vm is not None:
        out += [(v.id, v) for v in pd.vm.vcpus if v.id is not None]
    if pd.name is not None and system.pd_by_name.get(pd.name) is pd:
        out += [
            (other.fault_id, other)
            for other in system.pds
            if other.fault_handler == pd.name
            and other.fault_id is not None
            and other.parent is None
            and other is not pd
        ]
    return out


def lowest_free_id(used: set[int], limit: int = PD_MAX_ID) -> int | None:
    for i in range(limit + 1):
        if i not in used:
            return i
    return None


# -- the Microkit CNode ----------------------------------------------------------------------
def microkit_cnode(pd: ProtectionDomain, system: System, arch: str, config: str | None) -> list[Slot]:
    """The Microkit CNode's filled slots; `cap`, `ref` and `badge` say what each cap is, for the build."""
    by_name = system.pd_by_name
    index = system.index(pd)
    slots: list[Slot] = []
    own = f"'{pd.name}'"
    if system.needs_endpoint(pd):
        slots.append(Slot(INPUT_CAP, f"endpoint of {own} (input cap)", "Endpoint", ref=pd, rights=ENDPOINT_RIGHTS))
    else:
        slots.append(
            Slot(INPUT_CAP, f"notification of {own} (input cap)", "Notification", ref=pd, rights=NOTIFICATION_RIGHTS)
        )
    handler = by_name.get(pd.fault_handler) if pd.parent is None and pd.fault_handler else None
    if pd.parent is not None:
        badge = FAULT_BADGE | (pd.id or 0)
        label = f"fault endpoint: parent '{pd.parent.name}', badge 1<<62 | {pd.id}"
        slots.append(Slot(FAULT_EP_CAP, label, "Endpoint", ref=pd.parent, badge=badge, rights=ENDPOINT_RIGHTS))
    elif handler is not None:
        badge = FAULT_BADGE | (pd.fault_id or 0)
        label = f"fault endpoint: handler '{pd.fault_handler}', badge 1<<62 | {pd.fault_id}"
        el = pd.el.attr("fault_handler")
        slots.append(Slot(FAULT_EP_CAP, label, "Endpoint", el, ref=handler, badge=badge, rights=ENDPOINT_RIGHTS))
    else:
        label = f"fault endpoint: monitor, badge {index + 1}"
        slots.append(Slot(FAULT_EP_CAP, label, "Endpoint", badge=index + 1, rights=ENDPOINT_RIGHTS))
    slots.append(Slot(VSPACE_CAP, f"VSpace of {own}", "PageTable", ref=pd))
    slots.append(Slot(REPLY_CAP, "reply object", "Reply", ref=pd))
    if pd.passive:
        label = f"monitor endpoint, badge {index + 1} (passive)"
        el = pd.el.attr("passive")
        slots.append(Slot(MONITOR_EP_CAP, label, "Endpoint", el, badge=index + 1, rights=ENDPOINT_RIGHTS))
    if config == "benchmark":
        slots.append(Slot(TCB_CAP, f"TCB of {own} (benchmark config)", "Tcb", ref=pd))
    if pd.smc:
        slots.append(Slot(SMC_CAP, "ARM SMC", "ArmSmc", pd.el.attr("smc")))
    for end, other in system.channel_ends.get(pd.name, ()) if pd.name is not None else ():
        if end.id is None or other.id is None:
            continue
        peer = by_name.get(other.pd) if other.pd is not None else None
        if end.notify:
            label = f"notification of '{other.pd}', badge 1<<{other.id} (channel {end.id})"
            slot = Slot(BASE_OUTPUT_NOTIFICATION_CAP + end.id, label, "Notification", end.el, ref=peer)
            slot.badge, slot.rights = 1 << other.id, NOTIFICATION_RIGHTS
            slots.append(slot)
        if end.pp:
            label = f"endpoint of '{other.pd}', badge 1<<63 | {other.id} (PPC, channel {end.id})"
            slot = Slot(BASE_OUTPUT_ENDPOINT_CAP + end.id, label, "Endpoint", end.el, ref=peer)
            slot.badge, slot.rights = PPC_BADGE | other.id, ENDPOINT_RIGHTS
            slots.append(slot)
    for irq in pd.irqs:
        if irq.id is not None:
            what = f"IRQ {irq.number}" if irq.number is not None else "IRQ"
            slots.append(
                Slot(BASE_IRQ_CAP + irq.id, f"{what} handler (channel {irq.id})", "IrqHandler", irq.el, ref=irq)
            )
    for child in pd.children:
        if child.id is not None:
            label = f"TCB of child '{child.name}' (id {child.id})"
            slots.append(Slot(BASE_PD_TCB_CAP + child.id, label, "Tcb", child.el, ref=child))
    if pd.vm is not None:
        for v in pd.vm.vcpus:
            if v.id is None:
                continue
            if arch != "x86_64":
                slots.append(Slot(BASE_VM_TCB_CAP + v.id, f"TCB of vCPU {v.id} of '{pd.vm.name}'", "Tcb", v.el, ref=v))
            slots.append(Slot(BASE_VCPU_CAP + v.id, f"vCPU {v.id} of '{pd.vm.name}'", "VCpu", v.el, ref=v))
    for io in pd.ioports:
        if io.id is not None:
            label = f"I/O ports {io.addr:#x}+{io.size}" if io.addr is not None and io.size else "I/O ports"
            slots.append(Slot(BASE_IOPORT_CAP + io.id, label, "IOPorts", io.el, ref=io))
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


def grant_rights(cap: CapGrant) -> str:
    if cap.kind == "Notification":
        return "".join(r for r, flag in (("R", "r" in cap.rights), ("W", "w" in cap.rights)) if flag)
    return ""


def place_reserves(reserves: list[Reserve], used: list[tuple[int, int]]) -> list[tuple[int, int, Reserve]]:
    """Explicit reserves where they say; then auto reserves in document order, each at the
    lowest slot >= 1 where `count` consecutive slots are free of every cap, explicit
    reserve and earlier auto reserve (the extension's rule)."""
    placed = []
    used = list(used)
    for r in reserves:
        if r.slot is not None and r.count is not None:
            placed.append((r.slot, r.count, r))
            used.append((r.slot, r.slot + r.count))
    for r in reserves:
        if r.slot is not None or r.count is None:
            continue
        start = first_fit(used, r.count)
        placed.append((start, r.count, r))
        used.append((start, start + r.count))
    return placed


def cspace_layout(pd: ProtectionDomain, system: System, arch: str, config: str | None) -> CSpaceLayout:
    cs = pd.cspace
    bits = cs.root_bits if cs is not None else MICROKIT_ROOT_BITS
    lay = CSpaceLayout(pd, bits)
    lay._inputs = (system, arch, config)
    label = f"Microkit CNode of '{pd.name}' (512 slots, guard {lay.guard})"
    root = [Slot(0, label, "CNode", None, 0, ref=pd)]
    used = [(0, 1)]
    if cs is not None:
        for cap in cs.caps:
            if cap.slot is None:
                continue
            slot = Slot(cap.slot, cap_label(cap), GRANT_CAPS[cap.kind], cap.el, lay.cptr(cap.slot), ref=cap)
            slot.badge, slot.rights = cap.badge, grant_rights(cap)
            root.append(slot)
            used.append((cap.slot, cap.slot + 1))
            if cap.kind == "CNode" and cap.cnode in system.cnode_by_name:
                b = system.cnode_by_name[cap.cnode].size_bits
                if b is not None:
                    lay.sub_cnodes += 1 << (b + SLOT_BITS)
        lay.reserves = place_reserves(cs.reserves, used)
        for start, count, r in lay.reserves:
            label = f"reserved: {count} empty slot{'s' if count != 1 else ''} [{start}..{start + count})"
            root.append(Slot(start, label, None, r.el, lay.cptr(start), ref=r))
            used.append((start, start + count))
    root.sort(key=lambda s: s.index)
    lay.root = root
    merged = merge_ranges(used)
    lay.root_used = sum(e - s for s, e in merged)
    free = first_fit(merged, 1)
    lay.first_free = free if free < lay.root_capacity else None
    return lay


def system_cspaces(system: System, arch: str, config: str | None) -> dict[ProtectionDomain, CSpaceLayout]:
    return {pd: cspace_layout(pd, system, arch, config) for pd in system.pds}
