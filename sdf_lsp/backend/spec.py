"""The capDL spec under construction, in the JSON form of the Microkit tool's `capdl.json`.

Objects and caps are plain dicts shaped exactly as serde writes rust-sel4's
`Spec<Fill<ElfContent>>`, so the same value is written out as `capdl.json` and
handed to `sdf_lsp.image` for packing.  Caps refer to objects by index; the
indices are those of creation order until `Spec.finish` sorts the objects as
upstream does and renumbers every reference.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from json.encoder import encode_basestring_ascii

from sdf_lsp.target import Target

#: seL4_SlotBits: a CNode of 2^b slots takes 2^(b + 5) bytes.
SLOT_BITS = 5
#: Microkit gives every scheduling context 2^8 bytes (`PD_SCHEDCONTEXT_EXTRA_SIZE`).
SCHED_CONTEXT_BITS = 8


def rights(read: bool, write: bool, grant: bool = False) -> dict:
    return {"read": read, "write": write, "grant": grant, "grant_reply": False}


# ----------------------------------------------------------------------------- caps


def cap(kind: str, obj: int) -> dict:
    """A cap that carries only its object (`Tcb`, `SchedContext`, `PageTable`, `Reply`, ...)."""
    return {kind: {"object": obj}}


def endpoint_cap(obj: int, badge: int, read: bool = True, write: bool = True, grant: bool = True) -> dict:
    return {"Endpoint": {"object": obj, "badge": badge, "rights": rights(read, write, grant)}}


def notification_cap(obj: int, badge: int, read: bool = True, write: bool = True) -> dict:
    return {"Notification": {"object": obj, "badge": badge, "rights": rights(read, write)}}


def cnode_cap(obj: int, guard_size: int, guard: int = 0) -> dict:
    return {"CNode": {"object": obj, "guard": guard, "guard_size": guard_size}}


def frame_cap(obj: int, read: bool, write: bool, execute: bool, cached: bool) -> dict:
    return {"Frame": {"object": obj, "rights": rights(read, write), "cached": cached, "executable": execute}}


def cap_object(c: dict) -> int:
    return next(iter(c.values()))["object"]


def cte(slot: int, c: dict) -> dict:
    """A cap table entry holding its own copy of `c` (object references are renumbered in place)."""
    return {"slot": slot, "cap": {kind: dict(body) for kind, body in c.items()}}


# -------------------------------------------------------------------------- objects


def frame(size_bits: int, paddr: int | None, entries: list | None = None) -> dict:
    return {"Frame": {"size_bits": size_bits, "paddr": paddr, "init": {"entries": entries or []}}}


def cnode(size_bits: int, slots: list | None = None) -> dict:
    return {"CNode": {"size_bits": size_bits, "slots": slots or []}}


def page_table(level: int, is_root: bool, x86_ept: bool = False) -> dict:
    return {"PageTable": {"x86_ept": x86_ept, "is_root": is_root, "level": level, "slots": []}}


def sched_context(period: int, budget: int, badge: int) -> dict:
    return {
        "SchedContext": {"size_bits": SCHED_CONTEXT_BITS, "extra": {"period": period, "budget": budget, "badge": badge}}
    }


def tcb(
    slots: list,
    *,
    ipc_buffer_addr: int,
    affinity: int,
    prio: int,
    fpu_disabled: bool,
    resume: bool,
    domain: int | None,
    ip: int,
    sp: int,
) -> dict:
    return {
        "Tcb": {
            "slots": slots,
            "extra": {
                "ipc_buffer_addr": ipc_buffer_addr,
                "affinity": affinity,
                "prio": prio,
                "max_prio": prio,
                "fpu_disabled": fpu_disabled,
                "resume": resume,
                "domain": domain,
                "ip": ip,
                "sp": sp,
                "gprs": [],
                "master_fault_ep": None,
            },
        }
    }


def object_kind(obj) -> str:
    """The variant name of an object (`"Endpoint"`, `"Frame"`, ...)."""
    return obj if isinstance(obj, str) else next(iter(obj))


def object_slots(obj) -> list | None:
    """The cap table of an object that has one."""
    if isinstance(obj, str):
        return None
    body = next(iter(obj.values()))
    return body.get("slots") if isinstance(body, dict) else None


def object_paddr(obj) -> int | None:
    if isinstance(obj, str):
        return None
    kind, body = next(iter(obj.items()))
    return body.get("paddr") if kind in ("Frame", "Untyped") else None


def physical_size_bits(obj, target: Target) -> int:
    """log2 of the bytes an object takes out of untyped memory (0: no memory), as upstream's
    `capdl_obj_physical_size_bits`."""
    kind = object_kind(obj)
    bits = target.object_bits
    if kind == "Endpoint":
        return bits("endpoint")
    if kind == "Notification":
        return bits("notification")
    if kind == "Reply":
        return bits("reply")
    if kind == "VCpu":
        return bits("vcpu")
    body = obj[kind] if not isinstance(obj, str) else None
    if kind == "CNode":
        return body["size_bits"] + SLOT_BITS
    if kind == "Tcb":
        return bits("tcb")
    if kind in ("Frame", "SchedContext", "Untyped"):
        return body["size_bits"]
    if kind == "PageTable":
        return bits("vspace") if body["is_root"] else bits("page_table")
    return 0


def human_name(obj, target: Target) -> str:
    """The object type as the report names it."""
    kind = object_kind(obj)
    if kind == "Frame":
        size = obj["Frame"]["size_bits"]
        if size == target.object_bits("small_page"):
            return "Page(4 KiB)"
        if size == target.object_bits("large_page"):
            return "Page(2 MiB)"
        return f"Page(2^{size} bytes)"
    return {
        "Tcb": "TCB",
        "VCpu": "VCPU",
        "ArmIrq": "ARM IRQ",
        "IrqMsi": "x86 MSI IRQ",
        "IrqIOApic": "x86 IOAPIC IRQ",
        "RiscvIrq": "RISC-V IRQ",
        "IOPorts": "x86 I/O Ports",
        "ArmSmc": "ARM SMC",
        "Irq": "IRQ",
    }.get(kind, kind)


# ----------------------------------------------------------------------------- spec


@dataclass(frozen=True)
class Owner:
    """What an object is made for (a PD, a memory region, ...), to say who uses the memory."""

    label: str  # e.g. "PD 'client'"
    el: object = None  # its syntax element


@dataclass
class Spec:
    """A capDL spec being built: named objects (creation order), IRQs, domain schedule.

    `owner` is the `Owner` that objects added from now on are made for; `owners`
    keeps it per object.
    """

    objects: list[dict] = field(default_factory=list)  # {"name", "object"}
    irqs: list[dict] = field(default_factory=list)  # {"irq", "handler"}
    domain_schedule: list[dict] | None = None
    domain_set_start: int | None = None
    domain_idx_shift: int | None = None
    owner: Owner | None = None
    owners: list[Owner | None] = field(default_factory=list)

    def add(self, name: str, obj) -> int:
        """Add a root object; its index until `finish`."""
        self.objects.append({"name": name, "object": obj})
        self.owners.append(self.owner)
        return len(self.objects) - 1

    def body(self, obj_id: int) -> dict:
        """The variant payload of an object (e.g. the `Frame` dict)."""
        obj = self.objects[obj_id]["object"]
        return next(iter(obj.values()))

    def insert(self, obj_id: int, slot: int, c: dict) -> None:
        """Put a cap into the cap table of object `obj_id`."""
        self.body(obj_id)["slots"].append(cte(slot, c))

    def finish(self, target: Target) -> list[int]:
        """Sort as upstream (fixed `paddr` first by address, then by size descending, then
        by name), renumber every reference, sort IRQs and CNode slots.  Returns the new
        index of each old index."""
        keyed = []
        for old, named in enumerate(self.objects):
            obj = named["object"]
            paddr = object_paddr(obj)
            keyed.append(
                ((0, paddr) if paddr is not None else (1, 0), -physical_size_bits(obj, target), named["name"], old)
            )
        keyed.sort()
        new_of_old = [0] * len(self.objects)
        for new, key in enumerate(keyed):
            new_of_old[key[3]] = new
        self.objects = [self.objects[key[3]] for key in keyed]
        self.owners = [self.owners[key[3]] for key in keyed]
        for named in self.objects:
            slots = object_slots(named["object"])
            if not slots:
                continue
            for entry in slots:
                body = next(iter(entry["cap"].values()))
                body["object"] = new_of_old[body["object"]]
            if object_kind(named["object"]) == "CNode":
                slots.sort(key=lambda e: e["slot"])
        for irq in self.irqs:
            irq["handler"] = new_of_old[irq["handler"]]
        self.irqs.sort(key=lambda e: e["irq"])
        return new_of_old

    def to_json(self) -> dict:
        """The spec as `capdl.json` holds it (before packaging)."""
        return {
            "objects": self.objects,
            "irqs": self.irqs,
            "domain_schedule": self.domain_schedule,
            "domain_set_start": self.domain_set_start,
            "domain_idx_shift": self.domain_idx_shift,
            "asid_slots": [],
            "root_objects": {"start": 0, "end": len(self.objects)},
            "untyped_covers": [],
            "cached_orig_cap_slots": None,
            "log_level": None,
        }


def dump_json(spec_json) -> str:
    """`capdl.json` text: exactly `json.dumps(spec_json, indent=2)` (serde_json's pretty format, no
    final newline), written without the standard library's pure-Python indenting encoder, which
    takes seconds for a large system."""
    out: list[str] = []
    w = out.append
    newlines = ["\n" + "  " * depth for depth in range(64)]

    def scalar(v) -> str:
        if v is None:
            return "null"
        if v is True:
            return "true"
        if v is False:
            return "false"
        if type(v) is int:
            return int.__repr__(v)
        if type(v) is str:
            return encode_basestring_ascii(v)
        return json.dumps(v)

    def emit(v, depth: int) -> None:
        inner = newlines[depth + 1]
        if type(v) is dict:
            if not v:
                w("{}")
                return
            sep = "{" + inner
            for key, x in v.items():
                w(sep + encode_basestring_ascii(key) + ": ")
                sep = "," + inner
                if type(x) is dict or type(x) is list:
                    emit(x, depth + 1)
                else:
                    w(scalar(x))
            w(newlines[depth] + "}")
        elif not v:
            w("[]")
        elif all(type(x) is int for x in v):
            w("[" + inner + ("," + inner).join(map(int.__repr__, v)) + newlines[depth] + "]")
        else:
            sep = "[" + inner
            for x in v:
                w(sep)
                sep = "," + inner
                if type(x) is dict or type(x) is list:
                    emit(x, depth + 1)
                else:
                    w(scalar(x))
            w(newlines[depth] + "]")

    if type(spec_json) is dict or type(spec_json) is list:
        emit(spec_json, 0)
    else:
        w(scalar(spec_json))
    return "".join(out)
