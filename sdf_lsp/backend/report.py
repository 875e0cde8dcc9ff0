"""`report.txt`: upstream's report (`report.rs`), then one section per extension construct.

Upstream's sections come first and unchanged (IRQs, TCBs, CNodes, architecture
details, every object with its simulated physical address), so a system
without extensions gets the tool's report byte for byte.  Untypeds, CNodes,
granted caps and reserved slots follow, each only when the system has some.
"""

from __future__ import annotations

from sdf_lsp.backend.alloc import Allocation
from sdf_lsp.backend.builder import BuiltSpec
from sdf_lsp.backend.spec import human_name, object_kind, physical_size_bits
from sdf_lsp.layout import Layout
from sdf_lsp.model.values import human_size
from sdf_lsp.resolve.system import System
from sdf_lsp.target import Target

_TCB_SLOTS = {
    0: "CSpace",
    1: "VSpace",
    4: "IPC Buffer",
    5: "Fault Endpoint",
    6: "Scheduling Context",
    8: "Notification",
    9: "VCpu",
    10: "x86 EPT PML4",
}
_TRIGGERS = {0: "level", 1: "edge"}
#: Cap kinds that only the extended dialect grants (upstream's cap_tcb/cap_sc/cap_vspace are in its CNode section).
EXTENSION_GRANTS = ("Smc", "Notification", "Untyped", "CNode")


def _rights(r: dict) -> str:
    names = [
        n
        for key, n in (("read", "Read"), ("write", "Write"), ("grant", "Grant"), ("grant_reply", "Grant Reply"))
        if r[key]
    ]
    return ", ".join(names)


def render(built: BuiltSpec, allocation: Allocation | None, target: Target, system: System, layout: Layout) -> str:
    """The whole report text."""
    objects = built.spec.objects
    kinds = [object_kind(named["object"]) for named in objects]
    out: list[str] = ["# Initial Task (CapDL Initialiser) Details\n", "\n# IRQ Details\n"]
    w = out.append

    def name(i: int) -> str:
        return objects[i]["name"]

    for irq in built.spec.irqs:
        handler = objects[irq["handler"]]
        kind = object_kind(handler["object"])
        extra = handler["object"][kind]["extra"]
        w(f"\t- IRQ: '{handler['name']}'\n")
        if kind == "ArmIrq":
            w(
                f"\t\t* Number: {irq['irq']}\n\t\t* Trigger: {_TRIGGERS[extra['trigger']]}\n\t\t* CPU: {extra['target']}\n"
            )
        elif kind == "RiscvIrq":
            w(f"\t\t* Number: {irq['irq']}\n\t\t* Trigger: {_TRIGGERS[extra['trigger']]}\n")
        elif kind == "IrqMsi":
            w(
                f"\t\t* Vector: {irq['irq']}\n\t\t* PCI Bus: {extra['pci_bus']}\n\t\t* PCI Device: {extra['pci_dev']}\n"
                f"\t\t* PCI Function: {extra['pci_func']}\n\t\t* Handle: {extra['handle']}\n"
            )
        else:
            w(
                f"\t\t* Vector: {irq['irq']}\n\t\t* IOAPIC: {extra['ioapic']}\n\t\t* Pin: {extra['pin']}\n"
                f"\t\t* Trigger: {'level' if extra['level'] else 'edge'}\n"
                f"\t\t* Polarity: {'high' if extra['polarity'] else 'low'}\n"
            )
        w("\n")

    w("\n# TCB Details\n")
    for named, kind in zip(objects, kinds, strict=True):
        if kind != "Tcb":
            continue
        tcb = named["object"]["Tcb"]
        x = tcb["extra"]
        w(
            f"\t- TCB: '{named['name']}'\n\t\t* IP: {x['ip']:#x}\n\t\t* SP: {x['sp']:#x}\n"
            f"\t\t* IPC Buffer: {x['ipc_buffer_addr']:#x}\n"
            f"\t\t* Priority: {x['prio']}\n\t\t* CPU Affinity: {x['affinity']}\n\t\t* Bound Objects:\n"
        )
        for entry in tcb["slots"]:
            w(f"\t\t\t-> {_TCB_SLOTS[entry['slot']]}: '{name(_target(entry))}'\n")
        w("\n")

    w("\n# CNode Details\n")
    for named, kind in zip(objects, kinds, strict=True):
        if kind != "CNode":
            continue
        w(f"\t- CNode: '{named['name']}'\n")
        for entry in named["object"]["CNode"]["slots"]:
            kind, body = next(iter(entry["cap"].items()))
            w(f"\t\t* Slot: {entry['slot']}\n\t\t\t-> Object: '{name(body['object'])}'\n")
            if kind in ("Endpoint", "Notification", "Frame"):
                w(f"\t\t\t-> Rights: {_rights(body['rights'])}\n")
            if kind in ("Endpoint", "Notification"):
                w(f"\t\t\t-> Badge: {body['badge']:#x}\n")
        w("\n")

    w("\n# Architecture Specific Details\n")
    if target.arch == "aarch64" and "ArmSmc" in kinds:
        w("ARM SMC access is granted to userspace.\n")
    elif target.arch == "x86_64":
        for named, kind in zip(objects, kinds, strict=True):
            if kind == "IOPorts":
                io = named["object"]["IOPorts"]
                w(
                    f"\t- {human_name(named['object'], target)}: '{named['name']}'\n"
                    f"\t\t* Start Port: {io['start_port']:#x}\n\t\t* End Port: {io['end_port']:#x}\n"
                )

    x86 = target.arch == "x86_64"
    w("\n# Kernel Objects Details: ID, Type, Name" + ("\n" if x86 else ", Physical Address\n"))
    labels: dict[tuple[str, int], str] = {}  # human_name by kind and size: the same for many objects
    for i, named in enumerate(objects):
        obj = named["object"]
        size = physical_size_bits(obj, target)
        if size == 0:
            continue
        label = labels.get((kinds[i], size))
        if label is None:
            label = labels[kinds[i], size] = human_name(obj, target)
        if x86:
            w(f"\t{i} - {label}: '{named['name']}'\n")
            continue
        paddr = allocation.paddrs[i] if allocation is not None else None
        where = f"0x{paddr:012x}" if paddr is not None else "<Cannot be allocated/Previous fatal error>"
        w(f"\t{i} - {label}: '{named['name']}' @ {where}\n")

    out.extend(extension_sections(built, allocation, system, layout))
    return "".join(out)


def _target(entry: dict) -> int:
    return next(iter(entry["cap"].values()))["object"]


def extension_sections(built: BuiltSpec, allocation: Allocation | None, system: System, layout: Layout) -> list[str]:
    """The report's sections on the extension constructs (none for an upstream system)."""
    objects = built.spec.objects
    out: list[str] = []

    def where(i: int) -> str:
        paddr = allocation.paddrs[i] if allocation is not None else None
        return f" @ 0x{paddr:012x}" if paddr is not None else ""

    if built.untyped_objects:
        out.append("\n# Untyped Details\n")
        for ut in system.untypeds:
            i = built.untyped_objects.get(ut.name)
            if i is None:
                continue
            body = objects[i]["object"]["Untyped"]
            holders = [pd.name for pd, g, _ in built.grants if g.kind == "Untyped" and g.untyped == ut.name]
            out.append(
                f"\t- Untyped: '{objects[i]['name']}'{where(i)}\n\t\t* Size: {human_size(1 << body['size_bits'])} "
                f"(2^{body['size_bits']} bytes)\n"
            )
            if body["paddr"] is not None:
                out.append(f"\t\t* Fixed Physical Address: {body['paddr']:#x}\n")
            granted = ", ".join(f"'{h}'" for h in holders) or "(nobody)"
            out.append(f"\t\t* Granted To: {granted}\n\n")
    if built.cnode_objects:
        out.append("\n# Extension CNode Details\n")
        for cn in system.cnodes:
            i = built.cnode_objects.get(cn.name)
            if i is None:
                continue
            holders = [(pd.name, g.slot) for pd, g, _ in built.grants if g.kind == "CNode" and g.cnode == cn.name]
            out.append(
                f"\t- CNode: '{objects[i]['name']}'{where(i)}\n"
                f"\t\t* Slots: {1 << cn.size_bits} (size_bits {cn.size_bits}), slot 0 refers to itself\n"
            )
            for holder, slot in holders:
                out.append(f"\t\t* Granted To: '{holder}' in root slot {slot}\n")
            out.append("\n")
    grants = [(pd, g, obj) for pd, g, obj in built.grants if g.kind in EXTENSION_GRANTS]
    if grants:
        out.append("\n# Granted Cap Details\n")
        for pd, g, target_obj in grants:
            lay = layout.cspace(pd)
            out.append(
                f"\t- PD: '{pd.name}' root slot {g.slot} (CPtr {lay.cptr(g.slot):#x})\n"
                f"\t\t* Cap: {g.kind} -> '{objects[target_obj]['name']}'\n"
            )
            if g.kind == "Notification":
                out.append(f"\t\t* Badge: {g.badge:#x}\n\t\t* Rights: {g.rights}\n")
            out.append("\n")
    reserved = [(pd, lay) for pd in system.pds if (lay := layout.cspace(pd)).reserves]
    if reserved:
        out.append("\n# Reserved Slot Details\n")
        for pd, lay in reserved:
            out.append(
                f"\t- PD: '{pd.name}' (root CNode of {lay.root_capacity} slots, first free slot "
                f"{lay.first_free if lay.first_free is not None else 'none'})\n"
            )
            for start, count, _ in lay.reserves:
                out.append(f"\t\t* Slots: [{start}..{start + count}) (CPtr {lay.cptr(start):#x}), left empty\n")
            out.append("\n")
    return out
