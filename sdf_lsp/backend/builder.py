"""The capDL spec of a system, object by object as upstream `capdl/builder.rs` makes it.

Objects are created per PD in global order (monitor first), every CNode is
filled from the analysis' CSpace layout (`sdf_lsp.layout.cspace`), and the
spec is finally sorted as upstream sorts it.  Creation order only matters
inside one address space (page-table slots keep insertion order), so the
PDs' objects are made first and their CNodes and TCBs filled afterwards,
when every cap's object exists.

Mapping order per address space, as the tool does it: the monitor maps its
ELF, its stack and its IPC buffer; a PD maps its ELF, its memory regions, its
IPC buffer and its stack.

Extension objects: `<untyped>` becomes an `Untyped` object, `<cnode>` an empty
CNode whose slot 0 refers to itself, granted caps go into root CNode slots,
a `fault_handler` gets the handler's endpoint badged `1 << 62 | fault_id`;
reserved slots stay empty.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sdf_lsp.backend import errors as E
from sdf_lsp.backend import spec as S
from sdf_lsp.backend.memory import AddressSpace, MapError, Paging
from sdf_lsp.backend.spec import Spec
from sdf_lsp.elf import ElfImage
from sdf_lsp.layout import Layout
from sdf_lsp.layout.cspace import Slot, sub_cnode_guard
from sdf_lsp.model.consts import FAULT_BADGE, FAULT_EP_CAP, MICROKIT_CNODE_BITS, MICROKIT_ROOT_BITS, MONITOR_PRIORITY
from sdf_lsp.model.types import CapGrant, Irq, MemoryRegion, ProtectionDomain, Vcpu, span_of
from sdf_lsp.resolve.system import System
from sdf_lsp.target import Target

MONITOR = "monitor"
_IRQ_HANDLER_CAPS = {
    "ArmIrq": "ArmIrqHandler",
    "RiscvIrq": "RiscvIrqHandler",
    "IrqIOApic": "IrqIOApicHandler",
    "IrqMsi": "IrqMsiHandler",
}
MONITOR_STACK_SIZE = 0x1000
BUDGET_DEFAULT = 1000

# Where the monitor keeps its caps (monitor/src/main.c uses the same constants).
MON_FAULT_EP_CAP = 1
MON_REPLY_CAP = 2
MON_BASE_PD_TCB_CAP = 10
MON_BASE_VM_TCB_CAP = MON_BASE_PD_TCB_CAP + 64
MON_BASE_SCHED_CONTEXT_CAP = MON_BASE_VM_TCB_CAP + 64
MON_BASE_NOTIFICATION_CAP = MON_BASE_SCHED_CONTEXT_CAP + 64

# Slots of a TCB's cap table that the capDL initialiser binds (rust-sel4 `cap_table.rs`).
TCB_CSPACE, TCB_VSPACE, TCB_IPC_BUFFER, TCB_FAULT_EP, TCB_SC, TCB_BOUND_NTFN, TCB_VCPU, TCB_X86_EPT = (
    0,
    1,
    4,
    5,
    6,
    8,
    9,
    10,
)

#: `prefill_bootinfo` values and rust-sel4's `FillEntryContentBootInfoId` variants.
BOOTINFO_IDS = {
    "x86_vbe": "X86Vbe",
    "x86_mbmmap": "X86Mbmmap",
    "x86_acpi_rsdp": "X86AcpiRsdp",
    "x86_framebuffer": "X86FrameBuffer",
    "x86_tsc_freq": "X86TscFreq",
    "fdt": "Fdt",
}
_TRIGGERS = {"level": 0, "edge": 1}


@dataclass
class PdObjects:
    """The objects made for one PD (indices before sorting)."""

    tcb: int
    vspace: int
    ipcbuf: int
    sc: int
    ntfn: int
    reply: int
    ep: int | None = None
    irqs: dict[int, int] = field(default_factory=dict)  # id(irq) -> handler object
    ioports: dict[int, int] = field(default_factory=dict)  # id(ioport) -> object
    vcpus: dict[int, tuple[int, int]] = field(default_factory=dict)  # id(vcpu) -> (TCB, vCPU)
    tcb_slots: list[dict] = field(default_factory=list)  # caps bound to the TCB besides CSpace/VSpace/IPC buffer


@dataclass
class BuiltSpec:
    """A finished spec and what the report says about the objects the extensions made."""

    spec: Spec
    untyped_objects: dict[str, int]  # <untyped> name -> object (final index)
    cnode_objects: dict[str, int]  # <cnode> name -> object (final index)
    grants: list[tuple[ProtectionDomain, CapGrant, int]]  # holder, grant, object it refers to (final index)


class SpecBuilder:
    def __init__(
        self,
        system: System,
        layout: Layout,
        target: Target,
        elfs: list[ElfImage],
        mr_paddr: dict[str, int | None],
        prefills: dict[str, bytes],
    ):
        self.sys = system
        self.layout = layout
        self.target = target
        self.elfs = elfs  # PDs in global order, then the monitor
        self.mr_paddr = mr_paddr
        self.prefills = prefills
        self.spec = Spec()
        self.paging = Paging(target)
        self.page = 1 << target.object_bits("small_page")
        self.small_bits = target.object_bits("small_page")
        self.pd_objs: dict[int, PdObjects] = {}
        self.mr_frames: dict[str, list[int]] = {}
        self.untypeds: dict[str, int] = {}
        self.cnodes: dict[str, int] = {}
        self.grants: list[tuple[ProtectionDomain, CapGrant, int]] = []
        self.arm_smc: int | None = None
        self.mon_cnode = -1
        self.mon_fault_ep = -1
        self.mon_vcpu_count = 0

    # ------------------------------------------------------------------ whole spec

    def build(self) -> BuiltSpec:
        self.monitor()
        self.memory_regions()
        self.extension_objects()
        if self.target.arch == "aarch64" and self.target.arm_smc and self.wants_smc():
            self.spec.owner = None
            self.arm_smc = self.spec.add("arm_smc", "ArmSmc")
        for pd in self.sys.pds:
            self.pd_objs[id(pd)] = self.pd(pd)
        for pd in self.sys.pds:
            self.cspace(pd)
            self.tcb(pd)
        self.domain_schedule()
        new = self.spec.finish(self.target)
        return BuiltSpec(
            self.spec,
            {n: new[i] for n, i in self.untypeds.items()},
            {n: new[i] for n, i in self.cnodes.items()},
            [(pd, grant, new[obj]) for pd, grant, obj in self.grants],
        )

    def wants_smc(self) -> bool:
        return any(
            pd.smc or (pd.cspace is not None and any(c.kind == "Smc" for c in pd.cspace.caps)) for pd in self.sys.pds
        )

    # ---------------------------------------------------------------------- monitor

    def monitor(self):
        t = self.target
        spec = self.spec
        spec.owner = S.Owner("the monitor")
        vspace = AddressSpace(spec, self.paging, MONITOR)
        elf = self.elfs[-1]
        self.map_elf(vspace, MONITOR, len(self.elfs) - 1, elf)
        self.mon_fault_ep = spec.add(f"ep_fault_{MONITOR}", "Endpoint")
        reply = spec.add(f"reply_{MONITOR}", "Reply")
        sc = spec.add(f"sched_context_{MONITOR}", S.sched_context(BUDGET_DEFAULT, BUDGET_DEFAULT, 0))
        self.mon_cnode = spec.add(
            f"cnode_{MONITOR}",
            S.cnode(
                MICROKIT_CNODE_BITS,
                [
                    S.cte(MON_FAULT_EP_CAP, S.endpoint_cap(self.mon_fault_ep, 0)),
                    S.cte(MON_REPLY_CAP, S.cap("Reply", reply)),
                ],
            ),
        )
        stack = spec.add(f"frame_{MONITOR}_stack", S.frame(self.small_bits, None))
        stack_bottom = t.pd_stack_bottom(MONITOR_STACK_SIZE)
        self.map(
            vspace, S.frame_cap(stack, True, True, False, True), self.page, stack_bottom, "the stack of the monitor"
        )
        ipcbuf = spec.add(f"frame_ipcbuf_{MONITOR}", S.frame(self.small_bits, None))
        ipcbuf_cap = S.frame_cap(ipcbuf, True, True, False, True)
        self.map(vspace, ipcbuf_cap, self.page, t.ipc_buffer_vaddr, "the IPC buffer of the monitor")
        spec.add(
            f"tcb_{MONITOR}",
            S.tcb(
                [
                    S.cte(TCB_VSPACE, S.cap("PageTable", vspace.root)),
                    S.cte(TCB_IPC_BUFFER, ipcbuf_cap),
                    S.cte(TCB_CSPACE, S.cnode_cap(self.mon_cnode, t.cap_address_bits - MICROKIT_CNODE_BITS)),
                    S.cte(TCB_SC, S.cap("SchedContext", sc)),
                ],
                ipc_buffer_addr=t.ipc_buffer_vaddr,
                affinity=0,
                prio=MONITOR_PRIORITY,
                fpu_disabled=False,
                resume=True,
                domain=0,
                ip=elf.entry,
                sp=t.pd_stack_top(),
            ),
        )

    # ----------------------------------------------------------------------- memory

    def memory_regions(self):
        for mr in self.sys.mrs:
            if mr.name is None or self.sys.mr_by_name.get(mr.name) is not mr:
                continue
            self.spec.owner = S.Owner(f"memory region '{mr.name}'", mr.el)
            facts = self.sys.region(mr)
            page = facts.page_size
            bits = page.bit_length() - 1
            base = self.mr_paddr.get(mr.name)
            data = self.prefills.get(mr.name)
            frames = []
            for i in range(facts.page_count or 0):
                paddr = base + i * page if base is not None else None
                frame = S.frame(bits, paddr, self.fill(mr, data, i, page))
                frames.append(self.spec.add(f"frame_mr_{mr.name}_{i:09}", frame))
            self.mr_frames[mr.name] = frames

    @staticmethod
    def fill(mr: MemoryRegion, data: bytes | None, index: int, page: int) -> list:
        if mr.prefill_bootinfo in BOOTINFO_IDS:
            return [
                {
                    "range": {"start": 0, "end": page},
                    "content": {"BootInfo": {"id": BOOTINFO_IDS[mr.prefill_bootinfo], "offset": index * page}},
                }
            ]
        if not data:
            return []
        chunk = data[index * page : (index + 1) * page]
        if not chunk:
            return []
        return [
            {"range": {"start": 0, "end": len(chunk)}, "content": {"Data": {"BytesContent": {"bytes": list(chunk)}}}}
        ]

    def map_elf(self, vspace: AddressSpace, name: str, elf_id: int, elf: ElfImage):
        """One 4 KiB frame per page of every loadable segment, filled by reference to the ELF's bytes."""
        page = self.page
        seq = 0
        for seg_idx, seg in enumerate(elf.segments):
            if seg.memsz == 0:
                continue
            base, end = seg.vaddr, seg.vaddr + seg.memsz
            cur = base - base % page
            while cur < end:
                dest = base - cur if cur < base else 0
                offset = cur + dest - base
                length = min(page - dest, seg.memsz - offset)
                entries = [
                    {
                        "range": {"start": dest, "end": dest + length},
                        "content": {
                            "Data": {
                                "ElfContent": {
                                    "elf_id": elf_id,
                                    "elf_seg_idx": seg_idx,
                                    "elf_seg_data_range": {"start": offset, "end": offset + length},
                                }
                            }
                        },
                    }
                ]
                frame = self.spec.add(f"frame_elf_{name}_{seq:09}", S.frame(self.small_bits, None, entries))
                self.map(
                    vspace,
                    S.frame_cap(frame, seg.readable, seg.writable, seg.executable, True),
                    page,
                    cur,
                    f"the program image of '{name}'",
                )
                seq += 1
                cur += page

    def map(self, vspace: AddressSpace, frame_cap: dict, page: int, vaddr: int, what: str):
        try:
            vspace.map_page(frame_cap, page, vaddr)
        except MapError as err:
            raise E.fail(self.sys.root.name_span, E.MAP_FAILED, f"failed to map {what}: {err}") from None

    def map_region(self, vspace: AddressSpace, m, owner: str):
        frames = self.mr_frames[m.mr]
        page = self.sys.page_size_of(self.sys.mr_by_name[m.mr])
        read, write, execute, cached = m.read, m.write, m.execute, m.cached
        try:
            vspace.map_pages([S.frame_cap(f, read, write, execute, cached) for f in frames], page, m.vaddr)
        except MapError as err:
            raise E.fail(
                span_of(m.el, "vaddr"), E.MAP_FAILED, f"failed to map MR '{m.mr}' to '{owner}': {err}"
            ) from None

    # ------------------------------------------------------------------ extensions

    def extension_objects(self):
        for ut in self.sys.untypeds:
            if ut.name is not None and self.sys.untyped_by_name.get(ut.name) is ut:
                self.spec.owner = S.Owner(f"untyped '{ut.name}'", ut.el)
                obj = {"Untyped": {"size_bits": ut.size_bits, "paddr": ut.phys_addr}}
                self.untypeds[ut.name] = self.spec.add(f"untyped_{ut.name}", obj)
        holder_bits = {}  # <cnode> name -> root bits of the PD it is granted to
        for pd in self.sys.pds:
            for c in pd.cspace.caps if pd.cspace is not None else ():
                if c.kind == "CNode":
                    holder_bits.setdefault(c.cnode, pd.cspace.root_bits)
        for cn in self.sys.cnodes:
            if cn.name is not None and self.sys.cnode_by_name.get(cn.name) is cn:
                self.spec.owner = S.Owner(f"CNode '{cn.name}'", cn.el)
                obj = self.spec.add(f"subcnode_{cn.name}", S.cnode(cn.size_bits))
                # slot 0 refers to the CNode itself, with the guard of the holder's cap (a Retype destination)
                guard = sub_cnode_guard(holder_bits.get(cn.name, MICROKIT_ROOT_BITS), cn.size_bits)
                self.spec.insert(obj, 0, S.cnode_cap(obj, guard))
                self.cnodes[cn.name] = obj

    # -------------------------------------------------------------------------- PDs

    def pd(self, pd: ProtectionDomain) -> PdObjects:
        t = self.target
        spec = self.spec
        name = pd.name
        spec.owner = S.Owner(f"PD '{name}'", pd.el)
        index = self.sys.index(pd)
        elf = self.elfs[index]
        vspace = AddressSpace(spec, self.paging, name)
        self.map_elf(vspace, name, index, elf)
        stack_bottom = t.pd_stack_bottom(pd.stack_size)
        for m in pd.maps:
            self.check_map(pd, m, elf, stack_bottom)
            self.map_region(vspace, m, name)
        ipcbuf = spec.add(f"frame_ipcbuf_{name}", S.frame(self.small_bits, None))
        self.map(
            vspace,
            S.frame_cap(ipcbuf, True, True, False, True),
            self.page,
            t.ipc_buffer_vaddr,
            f"the IPC buffer of '{name}'",
        )
        for i in range(pd.stack_size // self.page):
            frame = spec.add(f"frame_{name}_stack_{i:09}", S.frame(self.small_bits, None))
            self.map(
                vspace,
                S.frame_cap(frame, True, True, False, True),
                self.page,
                stack_bottom + i * self.page,
                f"the stack of '{name}'",
            )
        objs = PdObjects(
            tcb=spec.add(
                f"tcb_{name}",
                S.tcb(
                    [],
                    ipc_buffer_addr=t.ipc_buffer_vaddr,
                    affinity=pd.cpu,
                    prio=pd.priority,
                    fpu_disabled=not pd.fpu,
                    resume=True,
                    domain=self.domain_id(pd),
                    ip=elf.entry,
                    sp=t.pd_stack_top(),
                ),
            ),
            vspace=vspace.root,
            ipcbuf=ipcbuf,
            sc=spec.add(f"sched_context_{name}", S.sched_context(pd.period, pd.budget, 0x100 + index)),
            ntfn=spec.add(f"ntfn_{name}", "Notification"),
            reply=spec.add(f"reply_{name}", "Reply"),
        )
        if self.sys.needs_endpoint(pd):
            objs.ep = spec.add(f"ep_{name}", "Endpoint")
        for irq in pd.irqs:
            objs.irqs[id(irq)] = self.irq(pd, irq, objs.ntfn)
        for io in pd.ioports:
            objs.ioports[id(io)] = spec.add(
                f"ioports_0x{io.addr:x}_{name}", {"IOPorts": {"start_port": io.addr, "end_port": io.addr + io.size - 1}}
            )
        if pd.vm is not None:
            self.vm(pd, objs)
        return objs

    def check_map(self, pd: ProtectionDomain, m, elf: ElfImage, stack_bottom: int):
        page = self.sys.page_size_of(self.sys.mr_by_name[m.mr])
        start, end = m.vaddr, m.vaddr + page * len(self.mr_frames[m.mr])
        stack_top = self.target.pd_stack_top()
        if start < stack_top and stack_bottom < end:
            raise E.fail(
                span_of(m.el, "vaddr"),
                E.MAP_OVERLAP,
                f"mapping MR '{m.mr}' to PD '{pd.name}' with vaddr [{start:#x}..{end:#x}) "
                f"will overlap with the stack at [{stack_bottom:#x}..{stack_top:#x})",
            )
        for seg in elf.segments:
            seg_end = seg.vaddr + -(-seg.memsz // self.page) * self.page
            if start < seg_end and seg.vaddr < end:
                raise E.fail(
                    span_of(m.el, "vaddr"),
                    E.MAP_OVERLAP,
                    f"mapping MR '{m.mr}' to PD '{pd.name}' with vaddr [{start:#x}..{end:#x}) "
                    f"will overlap with an ELF segment at [{seg.vaddr:#x}..{seg_end:#x})",
                )

    def domain_id(self, pd: ProtectionDomain) -> int | None:
        if pd.domain is None:
            return None
        d = self.sys.domain_by_name.get(pd.domain)
        return d.assigned if d is not None else None

    def irq(self, pd: ProtectionDomain, irq: Irq, ntfn: int) -> int:
        arch = self.target.arch
        if irq.kind == "ioapic":
            obj = {
                "IrqIOApic": {
                    "slots": [],
                    "extra": {
                        "ioapic": irq.ioapic,
                        "pin": irq.pin,
                        "level": 1 if irq.trigger == "level" else 0,
                        "polarity": 1 if irq.polarity == "high" else 0,
                    },
                }
            }
        elif irq.kind == "msi":
            bus, dev, func = irq.pcidev
            obj = {
                "IrqMsi": {
                    "slots": [],
                    "extra": {"handle": irq.handle, "pci_bus": bus, "pci_dev": dev, "pci_func": func},
                }
            }
        elif arch == "riscv64":
            obj = {"RiscvIrq": {"slots": [], "extra": {"trigger": _TRIGGERS[irq.trigger]}}}
        else:
            obj = {"ArmIrq": {"slots": [], "extra": {"trigger": _TRIGGERS[irq.trigger], "target": pd.cpu}}}
        handler = self.spec.add(f"irq_{irq.number}_{pd.name}", obj)
        self.spec.irqs.append({"irq": irq.number, "handler": handler})
        self.spec.insert(handler, 0, S.notification_cap(ntfn, 1 << irq.id))
        return handler

    def vm(self, pd: ProtectionDomain, objs: PdObjects):
        t = self.target
        spec = self.spec
        vm = pd.vm
        x86 = t.arch == "x86_64"
        vspace = AddressSpace(spec, self.paging, vm.name, x86_ept=x86)
        for m in vm.maps:
            self.map_region(vspace, m, vm.name)
        if x86:
            for v in vm.vcpus:
                vcpu = spec.add(f"vcpu_{vm.name}_{v.id}", "VCpu")
                objs.vcpus[id(v)] = (objs.tcb, vcpu)
                objs.tcb_slots.append(S.cte(TCB_VCPU, S.cap("VCpu", vcpu)))
            objs.tcb_slots.append(S.cte(TCB_X86_EPT, S.cap("PageTable", vspace.root)))
            return
        for idx, v in enumerate(vm.vcpus):
            label = f"{vm.name}_{v.id}"
            cnode = spec.add(f"cnode_{label}", S.cnode(MICROKIT_CNODE_BITS))
            ipcbuf = spec.add(f"frame_ipcbuf_{label}", S.frame(self.small_bits, None))
            sc = spec.add(f"sched_context_{label}", S.sched_context(vm.period, vm.budget, 0x100 + idx))
            vcpu = spec.add(f"vcpu_{label}", "VCpu")
            tcb = spec.add(
                f"tcb_{label}",
                S.tcb(
                    [
                        S.cte(TCB_VSPACE, S.cap("PageTable", vspace.root)),
                        S.cte(TCB_CSPACE, S.cnode_cap(cnode, t.cap_address_bits - MICROKIT_CNODE_BITS)),
                        S.cte(TCB_IPC_BUFFER, S.frame_cap(ipcbuf, True, True, False, True)),
                        S.cte(TCB_FAULT_EP, S.endpoint_cap(objs.ep, FAULT_BADGE | v.id)),
                        S.cte(TCB_SC, S.cap("SchedContext", sc)),
                        S.cte(TCB_VCPU, S.cap("VCpu", vcpu)),
                    ],
                    ipc_buffer_addr=0,
                    affinity=v.cpu or 0,
                    prio=vm.priority & 0xFF,
                    fpu_disabled=False,
                    resume=False,
                    domain=self.domain_id(pd),
                    ip=0,
                    sp=0,
                ),
            )
            objs.vcpus[id(v)] = (tcb, vcpu)
            spec.insert(self.mon_cnode, MON_BASE_VM_TCB_CAP + self.mon_vcpu_count, S.cap("Tcb", tcb))
            self.mon_vcpu_count += 1

    # ------------------------------------------------------------- CNodes and TCBs

    def cspace(self, pd: ProtectionDomain):
        """Both CNodes of a PD, slot by slot from its layout."""
        lay = self.layout.cspace(pd)
        objs = self.pd_objs[id(pd)]
        self.spec.owner = S.Owner(f"PD '{pd.name}'", pd.el)
        microkit = [S.cte(slot.index, self.microkit_cap(pd, objs, slot)) for slot in lay.microkit]
        cnode = self.spec.add(f"cnode_{pd.name}", S.cnode(MICROKIT_CNODE_BITS, microkit))
        root = []
        for slot in lay.root:
            if slot.index == 0:
                root.append(S.cte(0, S.cnode_cap(cnode, lay.guard)))
            elif isinstance(slot.ref, CapGrant):
                c = self.grant_cap(slot.ref, lay.root_bits)
                root.append(S.cte(slot.index, c))
                self.grants.append((pd, slot.ref, S.cap_object(c)))
        root_cnode = self.spec.add(f"cnode_{pd.name}_root", S.cnode(lay.root_bits, root))
        objs.tcb_slots.append(S.cte(TCB_CSPACE, S.cnode_cap(root_cnode, 0)))
        objs.tcb_slots.append(S.cte(TCB_FAULT_EP, self.microkit_cap(pd, objs, lay.microkit_slot(FAULT_EP_CAP))))
        index = self.sys.index(pd)
        self.spec.insert(self.mon_cnode, MON_BASE_PD_TCB_CAP + index, S.cap("Tcb", objs.tcb))
        if pd.passive:
            self.spec.insert(self.mon_cnode, MON_BASE_SCHED_CONTEXT_CAP + index, S.cap("SchedContext", objs.sc))
            self.spec.insert(self.mon_cnode, MON_BASE_NOTIFICATION_CAP + index, S.notification_cap(objs.ntfn, 0))

    def microkit_cap(self, pd: ProtectionDomain, objs: PdObjects, slot: Slot) -> dict:
        """The cap of a Microkit CNode slot: the layout says which cap it is and whose object it names."""
        cap, ref = slot.cap, slot.ref
        if cap == "Endpoint":
            target = self.mon_fault_ep if ref is None else self.pd_objs[id(ref)].ep
            return S.endpoint_cap(target, slot.badge)
        if cap == "Notification":
            return S.notification_cap(self.pd_objs[id(ref)].ntfn, slot.badge)
        if cap == "PageTable":
            return S.cap("PageTable", objs.vspace)
        if cap == "Reply":
            return S.cap("Reply", objs.reply)
        if cap == "ArmSmc":
            return S.cap("ArmSmc", self.arm_smc)
        if cap == "Tcb":
            return S.cap("Tcb", objs.vcpus[id(ref)][0] if isinstance(ref, Vcpu) else self.pd_objs[id(ref)].tcb)
        if cap == "VCpu":
            return S.cap("VCpu", objs.vcpus[id(ref)][1])
        if cap == "IrqHandler":
            handler = objs.irqs[id(ref)]
            return S.cap(_IRQ_HANDLER_CAPS[S.object_kind(self.spec.objects[handler]["object"])], handler)
        if cap == "IOPorts":
            return S.cap("IOPorts", objs.ioports[id(ref)])
        raise AssertionError(f"no Microkit CNode cap {cap!r}")

    def grant_cap(self, grant: CapGrant, root_bits: int) -> dict:
        """The cap a `<cspace>` element puts into a root CNode slot."""
        src = self.sys.pd_by_name.get(grant.pd) if grant.pd is not None else None
        if grant.kind == "Tcb":
            return S.cap("Tcb", self.pd_objs[id(src)].tcb)
        if grant.kind == "Sc":
            return S.cap("SchedContext", self.pd_objs[id(src)].sc)
        if grant.kind == "VSpace":
            return S.cap("PageTable", self.pd_objs[id(src)].vspace)
        if grant.kind == "Notification":
            return S.notification_cap(self.pd_objs[id(src)].ntfn, grant.badge, "r" in grant.rights, "w" in grant.rights)
        if grant.kind == "Smc":
            return S.cap("ArmSmc", self.arm_smc)
        if grant.kind == "Untyped":
            return S.cap("Untyped", self.untypeds[grant.untyped])
        cnode = self.cnodes[grant.cnode]
        return S.cnode_cap(cnode, sub_cnode_guard(root_bits, self.sys.cnode_by_name[grant.cnode].size_bits))

    def tcb(self, pd: ProtectionDomain):
        objs = self.pd_objs[id(pd)]
        slots = [
            S.cte(TCB_VSPACE, S.cap("PageTable", objs.vspace)),
            S.cte(TCB_IPC_BUFFER, S.frame_cap(objs.ipcbuf, True, True, False, True)),
            S.cte(TCB_SC, S.cap("SchedContext", objs.sc)),
            S.cte(TCB_BOUND_NTFN, S.notification_cap(objs.ntfn, 0)),
            *objs.tcb_slots,
        ]
        slots.sort(key=lambda e: e["slot"])
        self.spec.body(objs.tcb)["slots"] = slots

    # ---------------------------------------------------------------------- domains

    def domain_schedule(self):
        doms = self.sys.domains
        if doms is None:
            return
        entries = []
        for e in doms.schedule:
            if e.end_marker:
                entries.append({"domain": 0, "duration": "EndMarker"})
                continue
            d = self.sys.domain_by_name[e.domain]
            entries.append({"domain": d.assigned, "duration": {"Us" if e.unit == "us" else "Ticks": e.duration}})
        self.spec.domain_schedule = entries
        self.spec.domain_set_start = doms.start_index
        self.spec.domain_idx_shift = doms.index_shift


def build_spec(
    system: System,
    layout: Layout,
    target: Target,
    elfs: list[ElfImage],
    mr_paddr: dict[str, int | None],
    prefills: dict[str, bytes],
) -> BuiltSpec:
    """The sorted capDL spec of `system` with its (patched) program images `elfs` (monitor last)."""
    return SpecBuilder(system, layout, target, elfs, mr_paddr, prefills).build()
