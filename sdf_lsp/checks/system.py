"""Checks over the whole system (upstream `sdf::parse` after the elements are parsed: channels,
cap maps and the global checks of reference §3.6/§3.7), plus the places where upstream crashes
or accepts what its build rejects (§11).

Checks read the resolved system and the layout and write only diagnostics. Every check here is
near-linear: names go through the resolved tables, overlaps through one sorted sweep.
"""

from __future__ import annotations

from collections.abc import Callable

from sdf_lsp.diagnostics import ERROR, UNNECESSARY, WARNING, Diagnostic, Related, shorten
from sdf_lsp.layout import Layout
from sdf_lsp.layout.cspace import channel_id_users, child_id_users
from sdf_lsp.layout.ranges import Item, overlaps
from sdf_lsp.memo import Memo
from sdf_lsp.model.consts import IOVA_LIMIT, LARGE_PAGE, MAX_PDS, PD_MAX_ID
from sdf_lsp.model.lower import Context
from sdf_lsp.model.types import (
    ChannelEnd,
    Domains,
    IoAddressSpace,
    IoPort,
    Irq,
    Map,
    ProtectionDomain,
    Vcpu,
    VirtualMachine,
    span_of,
)
from sdf_lsp.model.values import pci_display
from sdf_lsp.resolve.system import System

Report = Callable[..., None]


class Checker:
    def __init__(self, system: System, layout: Layout, ctx: Context, memo: Memo | None = None):
        self.sys = system
        self.layout = layout
        self.ctx = ctx
        self.target = ctx.target
        self.release = ctx.release
        self.memo = memo or Memo()
        self.diags: list[Diagnostic] = []

    def report(self, span, code, message, severity=ERROR, related=(), data=None, tags=()):
        self.diags.append(Diagnostic(span, severity, code, message, related, tags, data))

    def run(self) -> list[Diagnostic]:
        self.names()
        self.pd_domains()
        self.regions()
        self.child_ids()
        self.channel_refs()
        self.cap_refs()
        self.vms()
        self.irqs_and_channels()
        self.ioports()
        self.all_maps()
        self.io_spaces()
        self.unused_regions()
        self.setvar_regions()
        return self.diags

    def regions(self):
        """The checks that read the memory regions alone (names, prefill files, fixed addresses):
        kept while the regions are the same (an edit elsewhere does not repeat them)."""
        key = (self.ctx, self.sys.regions_version)
        kept = self.memo.get("region checks", "system", key)
        if kept is Memo.MISSING:
            sub = Checker(self.sys, self.layout, self.ctx, self.memo)
            report_duplicates(
                self.sys.mrs, self.sys.mr_by_name, sub.report, "MK-G4", "duplicate memory region name '{}'."
            )
            sub.prefills()
            sub.phys_overlaps()
            kept = self.memo.put("region checks", "system", key, sub.diags)
        self.diags.extend(kept)

    # -- names -----------------------------------------------------------------------
    def names(self):
        s = self.sys
        if not s.pds:
            span = s.root.name_span
            self.report(span, "MK-G1", "at least one protection domain must be defined", data={"fix": "add-pd"})
        if len(s.pds) > MAX_PDS:
            extra = s.pds[MAX_PDS]
            self.report(
                extra.el.name_span,
                "MK-G2",
                f"too many protection domains ({len(s.pds)}) defined. Maximum is {MAX_PDS}.",
            )
        report_duplicates(s.pds, s.pd_by_name, self.report, "MK-G3", "duplicate protection domain name '{}'.")
        for pd in s.pd_by_name.values():
            if pd.name == "monitor" and self.release >= (2, 1):
                self.report(
                    span_of(pd.el, "name"), "MK-G3", "the PD name 'monitor' is reserved for the Microkit Monitor."
                )
            elif pd.name is not None and len(pd.name.encode()) > 63:
                self.report(
                    span_of(pd.el, "name"),
                    "SDF015",
                    f"PD name is {len(pd.name.encode())} bytes long; the monitor keeps only the first 63",
                    severity=WARNING,
                )

    def pd_domains(self):
        """P10: a PD's domain against the <domains> parsed before it (upstream's order).
        Domains came with Microkit 2.3; before it `domain` is an invalid attribute."""
        if self.release < (2, 3):
            return
        s = self.sys
        first: Domains | None = None
        for doms in sorted(s.all_domains, key=lambda d: d.el.start):
            if first is not None:
                self.report(
                    doms.el.name_span,
                    "MK-S2",
                    "domains must only be specified once on element 'domains'",
                    related=(Related(first.el.name_span, "first <domains>"),),
                )
            elif doms.domains:
                first = doms
        for root_pd in s.root_pds:
            scope = s.domains_at.get(root_pd)
            names = {d.name for d in scope.domains} if scope is not None else None
            for pd in root_pd.walk():
                self.pd_domain(pd, names)

    def pd_domain(self, pd: ProtectionDomain, names: set[str | None] | None):
        a = pd.el.attr("domain")
        if names is None:
            later = [d for d in self.sys.all_domains if d.el.start > pd.el.start and d.domains]
            if a is not None:
                msg = (
                    f"Specifying a domain '{shorten(a.value)}' without declaring a domain schedule is not allowed: "
                    "on element 'protection_domain'"
                )
                rel = (
                    (Related(later[0].el.name_span, "<domains> comes after this PD; move it before"),) if later else ()
                )
                self.report(a.value_span, "MK-P10", msg, related=rel)
            elif later:
                self.report(
                    pd.el.name_span,
                    "SDF017",
                    f"PD '{pd.name}' comes before <domains>, so Microkit 2.3 gives it no domain; move <domains> before it",
                    severity=WARNING,
                )
            return
        if a is None:
            self.report(
                pd.el.name_span,
                "MK-MISSING",
                "Missing required attribute 'domain' on element 'protection_domain'",
                data={"fix": "add-attribute", "attr": "domain"},
            )
        elif a.value not in names:
            self.report(
                a.value_span,
                "MK-P10",
                f"domain '{shorten(a.value)}' not declared in <domains>: on element 'protection_domain'",
                data={"fix": "nearest-name", "kind": "domain", "candidates": sorted(n for n in names if n)},
            )

    def prefills(self):
        """R4/R7 for prefill files (upstream reads them while parsing)."""
        for mr in self.sys.mrs:
            facts = self.sys.region(mr)
            found = facts.prefill
            if found is None or mr.prefill_path is None:
                continue
            span = span_of(mr.el, "prefill_path")
            path = shorten(mr.prefill_path)
            if found.error == "missing":
                self.report(span, "MK-R4", f"unable to find prefill file: '{path}' on element 'memory_region'")
            elif found.error == "unreadable":
                self.report(span, "MK-R4", f"failed to read file '{path}' at prefill_path on element 'memory_region'")
            elif found.length == 0:
                self.report(span, "MK-R4", f"prefill file '{path}' is empty on element 'memory_region'")
            elif mr.size_given and mr.declared_size is not None and (found.length or 0) > mr.declared_size:
                self.report(
                    span_of(mr.el, "size"),
                    "MK-R7",
                    f"size of prefill file exceeds memory region size: {found.length:x} > {mr.declared_size:x} on element 'memory_region'",
                    related=(Related(span, "the prefill file"),),
                )

    # -- hierarchy ---------------------------------------------------------------------
    def child_ids(self):
        for pd in self.sys.pds:
            if not pd.children and pd.vm is None:
                continue
            seen: dict[int, ProtectionDomain] = {}
            for id_, obj in child_id_users(self.sys, pd):
                if isinstance(obj, ProtectionDomain) and obj.parent is pd:
                    if id_ > PD_MAX_ID:
                        self.report(span_of(obj.el, "id"), "SDF005", self._child_id_message(id_))
                    if id_ in seen:
                        self.report(
                            span_of(obj.el, "id"),
                            "MK-F1",
                            f"duplicate id: {id_} in protection domain: '{pd.name}'",
                            related=(Related(span_of(seen[id_].el, "id"), "first used here"),),
                            data={"fix": "next-free-id", "pd": pd.name, "space": "child"},
                        )
                    else:
                        seen[id_] = obj
                elif isinstance(obj, Vcpu) and id_ in seen:
                    self.report(
                        span_of(seen[id_].el, "id"),
                        "MK-F2",
                        f"duplicate id: {id_} clashes with virtual machine vcpu id in protection domain: '{pd.name}'",
                        related=(Related(span_of(obj.el, "id"), "vCPU id"),),
                        data={"fix": "next-free-id", "pd": pd.name, "space": "child"},
                    )

    def _child_id_message(self, id_: int) -> str:
        if self.release < (2, 3):
            return (
                f"child id {id_} must be between 0 and {PD_MAX_ID}: Microkit {self.ctx.release_text} accepts it, "
                f"but a PD's fault() tells its children apart by ids 0..{PD_MAX_ID} only"
            )
        return (
            f"child id {id_} must be between 0 and {PD_MAX_ID}: Microkit 2.3 accepts it but puts the child's TCB cap "
            f"at Microkit slot {202 + id_}, outside the child band, and the parent's fault() sees it modulo 256"
        )

    def channel_refs(self):
        by_name = self.sys.pd_by_name
        channel_symbols: dict[ProtectionDomain, dict] = {}  # the lowered PDs' own symbol tables stay untouched
        for ch in self.sys.channels:
            for end in ch.ends:
                if end.pd is not None and end.pd not in by_name:
                    self.report(
                        span_of(end.el, "pd"),
                        "MK-H5",
                        f"invalid PD name '{shorten(end.pd)}' on element 'end'",
                        data={"fix": "nearest-name", "kind": "pd"},
                    )
            if not ch.valid:
                continue
            for end in ch.ends:
                pd = by_name.get(end.pd) if end.pd else None
                if pd is None or end.setvar_id is None:
                    continue
                mine = channel_symbols.setdefault(pd, {})
                first = pd.symbols.get(end.setvar_id) or mine.get(end.setvar_id)
                if first is not None:
                    _, first_el, first_attr = first
                    self.report(
                        span_of(end.el, "setvar_id"),
                        "MK-H8",
                        f"setvar on symbol '{shorten(end.setvar_id)}' already exists on element 'channel'",
                        related=(Related(span_of(first_el, first_attr), "first set here"),),
                    )
                else:
                    mine[end.setvar_id] = ("channel id", end.el, "setvar_id")

    def cap_refs(self):
        s = self.sys
        for pd in s.pds:
            if pd.cspace is None:
                continue
            for cap in pd.cspace.caps:
                if cap.pd is not None and cap.pd not in s.pd_by_name:
                    self.report(
                        span_of(cap.el, "pd"),
                        "CS006",
                        f"unknown PD name '{shorten(cap.pd)}'",
                        data={"fix": "nearest-name", "kind": "pd"},
                    )

    def vms(self):
        s = self.sys
        if self.release >= (2, 1):
            report_duplicates(
                (vm for _, vm in s.vms()), s.vm_by_name, self.report, "MK-G5", "duplicate virtual machine name '{}'."
            )
        else:
            self.equal_vms()
        for pd, vm in s.vms():
            if self.target.arch == "x86_64" and pd.children and self.release >= (2, 3):
                self.report(
                    vm.el.name_span,
                    "MK-G5",
                    f"It is not possible for PD '{pd.name}' with a bound vCPU to have children on x86_64",
                    related=tuple(Related(c.el.name_span, "child") for c in pd.children[:3]),
                )
        total = sum(len(vm.vcpus) for _, vm in s.vms())
        if total > 64:
            _, vm = list(s.vms())[-1]
            self.report(
                vm.el.name_span, "SDF013", f"the system has {total} vCPUs; the Microkit monitor has room for 64"
            )

    def equal_vms(self):
        """Microkit 1.4 and 2.0 compare whole virtual machines, not names: two VMs of one name
        clash only when everything else is equal too (no maps, the same vCPUs and scheduling)."""
        seen: list[VirtualMachine] = []
        for _, vm in self.sys.vms():
            for other in seen:
                if vm.name is not None and _same_vm(vm, other):
                    self.report(
                        span_of(vm.el, "name"),
                        "MK-G5",
                        f"duplicate virtual machine name '{shorten(vm.name)}'.",
                        related=(Related(span_of(other.el, "name"), "first defined here"),),
                        data={"fix": "rename"},
                    )
                    break
            seen.append(vm)

    # -- ids -------------------------------------------------------------------------
    def irqs_and_channels(self):
        s = self.sys
        numbers: dict[int, tuple[ProtectionDomain, Irq]] = {}
        for pd in s.pds:
            for irq in pd.irqs:
                if irq.number is None:
                    continue
                if irq.number in numbers:
                    other_pd, other = numbers[irq.number]
                    attr = "irq" if irq.kind == "arm" else "vector"
                    self.report(
                        span_of(irq.el, attr),
                        "MK-G6",
                        f"duplicate irq: {irq.number} in protection domain: '{pd.name}'",
                        related=(Related(span_of(other.el, attr), f"also used in '{other_pd.name}'"),),
                    )
                else:
                    numbers[irq.number] = (pd, irq)
        for pd in s.pds:
            seen: dict[int, Irq | ChannelEnd] = {}
            for id_, obj in channel_id_users(s, pd):
                first = seen.get(id_)
                if first is None:
                    seen[id_] = obj
                    continue
                if isinstance(obj, ChannelEnd) and isinstance(first, ChannelEnd) and _same_channel(s, first, obj):
                    continue  # both ends of a channel of a PD with itself: SDF010 says it
                self.report(
                    span_of(obj.el, "id"),
                    "MK-G7" if isinstance(obj, Irq) else "MK-G8",
                    f"duplicate channel id: {id_} in protection domain: '{pd.name}'",
                    related=(Related(span_of(first.el, "id"), "first used here"),),
                    data={"fix": "next-free-id", "pd": pd.name, "space": "channel"},
                )
        for ch in s.channels:
            if not ch.valid:
                continue
            a, b = ch.ends
            pa = s.pd_by_name.get(a.pd) if a.pd else None
            pb = s.pd_by_name.get(b.pd) if b.pd else None
            if pa is None or pb is None:
                continue
            if a.pp and b.pp:
                pass  # cannot ppc bidirectionally (H7) says it
            elif a.pp and pa.priority >= pb.priority:
                self.ppc_priority(a, pa, pb)
            elif b.pp and pb.priority >= pa.priority:
                self.ppc_priority(b, pb, pa)
            if self.target.arch == "x86_64" and self.release >= (2, 3):
                for end, caller, callee in ((a, pa, pb), (b, pb, pa)):
                    if end.pp and callee.vm is not None:
                        self.report(
                            span_of(end.el, "pp"),
                            "MK-G10",
                            f"It is not possible to PPC to PD '{callee.name}' with a bound vCPU from PD '{caller.name}' on x86_64",
                        )
            if pa is pb and a.id is not None and a.id == b.id:
                self.report(
                    span_of(b.el, "id"),
                    "SDF010",
                    f"both ends of a channel of '{pa.name}' with itself use id {a.id}; Microkit {self.ctx.release_text} "
                    "accepts it but the ids must differ",
                    related=(Related(span_of(a.el, "id"), "the other end"),),
                )

    def ppc_priority(self, end, caller: ProtectionDomain, callee: ProtectionDomain):
        self.report(
            span_of(end.el, "pp"),
            "MK-G9",
            "PPCs must be to protection domains of strictly higher priorities; channel with PPC exists from pd "
            f"{caller.name} (priority: {caller.priority}) to pd {callee.name} (priority: {callee.priority})",
            related=(
                Related(span_of(callee.el, "priority"), f"priority of '{callee.name}'"),
                Related(span_of(caller.el, "priority"), f"priority of '{caller.name}'"),
            ),
        )

    def ioports(self):
        ranges: list[Item[tuple[ProtectionDomain, IoPort]]] = []
        for pd in self.sys.pds:
            seen: dict[int, IoPort] = {}
            for io in pd.ioports:
                if io.id is not None:
                    if io.id in seen:
                        self.report(
                            span_of(io.el, "id"),
                            "MK-G11",
                            f"duplicate I/O port id: {io.id} in protection domain: '{pd.name}'",
                            related=(Related(span_of(seen[io.id].el, "id"), "first used here"),),
                        )
                    else:
                        seen[io.id] = io
                if io.addr is not None and io.size is not None:
                    ranges.append(Item(io.addr, io.addr + io.size, len(ranges), (pd, io)))
        inclusive = self.release < (2, 2)  # Microkit 2.1 words the ranges inclusively

        def describe(item: Item, io: IoPort, pd: ProtectionDomain) -> str:
            if inclusive:
                return f"I/O port id: {io.id}, inclusive range: [{item.start:#x}, {item.end - 1:#x}] in protection domain: '{pd.name}'"
            return f"I/O port id: {io.id}, half-open range: [{item.start:#x}, {item.end:#x}) in protection domain: '{pd.name}'"

        for later, earlier in overlaps(ranges, skip_empty=False):
            pd, io = later.value
            pd2, io2 = earlier.value
            self.report(
                span_of(io.el, "addr"),
                "MK-G12",
                f"{describe(later, io, pd)} overlaps with {describe(earlier, io2, pd2)}",
                related=(Related(span_of(io2.el, "addr"), "the other I/O port range"),),
            )

    # -- maps --------------------------------------------------------------------------
    def all_maps(self):
        """check_maps per PD and VM. A PD whose element and whose memory regions did not
        change since the last analysis reuses its result (the XL case: one edit, 24k maps)."""
        t = self.target
        s = self.sys
        for pd in s.pds:
            if not pd.maps and pd.vm is None:
                continue
            key = (s.regions_version, pd.name)
            kept = self.memo.get("maps", pd, key)
            if kept is Memo.MISSING:
                # a PD whose element was lowered again (a new object) but whose maps say the same: the
                # checks found nothing before, so they find nothing now (results with diagnostics are
                # not kept this way: their ranges belong to the elements they were made for)
                # (not the names: only a result without diagnostics is reused, and only names say where)
                content = (
                    self.ctx,
                    s.regions_version,
                    pd.stack_size,
                    _map_content(pd.maps),
                    _map_content(pd.vm.maps) if pd.vm else None,
                )
                diags = self.memo.get("clean maps", s.index(pd), content)
                if diags is Memo.MISSING:
                    sub = Checker(s, self.layout, self.ctx, self.memo)
                    bounded = self.release >= (2, 3)  # earlier releases bound only `vaddr` (while parsing)
                    if pd.maps:
                        where = f"protection domain '{pd.name}'"
                        bound = t.pd_stack_bottom(pd.stack_size) if bounded else None
                        check_maps(sub.report, s, pd.maps, bound, where, "map", "vaddr")
                    if pd.vm is not None and pd.vm.maps and self.release >= (2, 0):  # 1.4 checks no VM map
                        where = f"virtual machine '{pd.vm.name}'"
                        check_maps(
                            sub.report, s, pd.vm.maps, t.vm_map_max_vaddr() if bounded else None, where, "map", "vaddr"
                        )
                    diags = sub.diags
                kept = self.memo.put("maps", pd, key, (diags, content))
            diags, content = kept
            if not diags:  # kept for when the PD is lowered again
                self.memo.put("clean maps", s.index(pd), content, diags)
            self.diags.extend(diags)

    def io_spaces(self):
        s = self.sys
        enabled = [ios for ios in s.io_spaces if ios.enabled]
        report_duplicates(
            enabled, s.io_space_by_name, self.report, "MK-I3", "duplicate name '{}' on element 'io_address_space'"
        )
        domain_ids: dict[int, IoAddressSpace] = {}
        peripherals: dict[tuple[int, int, int], IoAddressSpace] = {}
        for ios in enabled:
            if ios.domain_id is not None:
                if ios.domain_id in domain_ids:
                    self.report(
                        span_of(ios.el, "domain_id"),
                        "MK-I4",
                        "reusing a domain id is forbidden on element 'io_address_space'",
                        related=(Related(span_of(domain_ids[ios.domain_id].el, "domain_id"), "first used here"),),
                    )
                else:
                    domain_ids[ios.domain_id] = ios
            if ios.peripheral is not None:
                if ios.peripheral in peripherals:
                    self.report(
                        span_of(ios.el, "peripheral_id"),
                        "MK-I6",
                        f"duplicate device peripheral_id 'PCI device {pci_display(ios.peripheral)}' on element 'io_address_space'",
                        related=(Related(span_of(peripherals[ios.peripheral].el, "peripheral_id"), "first used here"),),
                    )
                else:
                    peripherals[ios.peripheral] = ios
        for ios in s.io_spaces:
            for m in ios.iomaps:
                mr = s.mr_by_name.get(m.mr) if m.mr else None
                if mr is not None and mr.page_size_given and mr.page_size == LARGE_PAGE:
                    self.report(
                        span_of(m.el, "mr"),
                        "MK-G14",
                        "currently seL4 does not have large page support for the IOMMU",
                        related=(Related(span_of(mr.el, "page_size"), "2 MiB pages"),),
                    )
                    return
        for ios in s.io_spaces:
            if ios.iomaps and ios.enabled:
                space = (
                    f"PCI device {pci_display(ios.peripheral)}" if ios.peripheral else f"io address space '{ios.name}'"
                )
                check_maps(self.report, s, ios.iomaps, IOVA_LIMIT, space, "iomap", "iovaddr")

    def phys_overlaps(self):
        s = self.sys
        fixed = []
        for i, mr in enumerate(s.mrs):
            size = s.size_of(mr)
            if mr.phys_addr is not None and size is not None and mr.name is not None:
                fixed.append(Item(mr.phys_addr, mr.phys_addr + size, i, mr))
        for later, earlier in overlaps(fixed):
            mr, other = later.value, earlier.value
            self.report(
                span_of(mr.el, "phys_addr"),
                "MK-G17",
                f"memory region '{mr.name}' physical address range [{later.start:#x}..{later.end:#x}) overlaps with another memory region "
                f"'{other.name}' [{earlier.start:#x}..{earlier.end:#x})",
                related=(Related(span_of(other.el, "phys_addr"), f"'{other.name}'"),),
            )

    def unused_regions(self):
        s = self.sys
        key = (self.ctx, s.regions_version, self.memo.version("mapped names", s.mapped_names))
        kept = self.memo.get("unused regions", "system", key)
        if kept is Memo.MISSING:
            sub = Checker(s, self.layout, self.ctx, self.memo)
            sub._unused_regions()
            kept = self.memo.put("unused regions", "system", key, sub.diags)
        self.diags.extend(kept)

    def _unused_regions(self):
        s = self.sys
        for mr in s.mr_by_name.values():  # each name once, in document order
            facts = s.regions[mr]
            if mr.name not in s.mapped_names:
                if self.release < (2, 0):
                    continue  # Microkit 1.4 does not warn
                if mr.prefill_bootinfo == "post_capdl_untypeds":
                    continue  # checked with the untyped hand-off (UH004)
                self.report(
                    span_of(mr.el, "name"),
                    "MK-W1",
                    f"unused memory region '{mr.name}'",
                    severity=WARNING,
                    tags=(UNNECESSARY,),
                )
            elif facts.size == 0 and self.release >= (2, 3):
                self.report(
                    span_of(mr.el, "size"),
                    "SDF009",
                    f"memory region '{mr.name}' has size 0 but is mapped; the Microkit 2.3 build crashes on it",
                )

    def setvar_regions(self):
        s = self.sys
        x86 = self.target.arch == "x86_64"
        for pd in s.pds:
            for m in pd.maps:
                if m.setvar_prefill_size is None or m.mr is None:
                    continue
                mr = s.mr_by_name.get(m.mr)
                if mr is not None and mr.prefill_path is None:
                    self.report(
                        span_of(m.el, "setvar_prefill_size"),
                        "MK-G18",
                        f"'setvar_prefill_size' used for MR without a `prefill_path` @ '{mr.name}'",
                        related=(Related(mr.el.name_span, f"memory region '{mr.name}'"),),
                    )
            for sv in pd.setvars:
                if sv.region_paddr is None:
                    continue
                mr = s.mr_by_name.get(sv.region_paddr)
                if mr is None:
                    self.report(
                        span_of(sv.el, "region_paddr"),
                        "SDF004",
                        f"setvar region_paddr names no memory region: '{shorten(sv.region_paddr)}' "
                        + (
                            "(Microkit 2.3 accepts it and its build crashes)"
                            if self.release >= (2, 3)
                            else f"(Microkit {self.ctx.release_text} accepts it)"
                        ),
                        data={"fix": "nearest-name", "kind": "mr"},
                    )
                elif x86 and mr.phys_addr is None and self.release >= (2, 2):  # 2.1: while parsing the PD
                    self.report(
                        span_of(sv.el, "region_paddr"),
                        "MK-G19",
                        f"setvar with 'region_paddr' for MR without a specified paddr is unsupported on x86-64 @ '{mr.name}'",
                        related=(Related(mr.el.name_span, f"memory region '{mr.name}'"),),
                    )


def _map_content(maps: list[Map]) -> tuple:
    """What the map checks read of the maps of one address space (not which elements they are)."""
    return tuple((m.mr, m.vaddr) for m in maps)


def _same_channel(s: System, a: ChannelEnd, b: ChannelEnd) -> bool:
    ends = s.channel_ends.get(a.pd or "", ())
    return any(end is a and other is b for end, other in ends)


def report_duplicates(objects, table: dict, report: Report, code: str, message: str):
    """Every object whose name resolves to an earlier definition (the first one wins)."""
    for obj in objects:
        name = obj.name
        if name is None:
            continue
        first = table.get(name)
        if first is not None and first is not obj:
            report(
                span_of(obj.el, "name"),
                code,
                message.format(shorten(name)),
                related=(Related(span_of(first.el, "name"), "first defined here"),),
                data={"fix": "rename"},
            )


def _same_vm(a: VirtualMachine, b: VirtualMachine) -> bool:
    return (
        a.name == b.name
        and not a.maps
        and not b.maps
        and [v.id for v in a.vcpus] == [v.id for v in b.vcpus]
        and (a.budget, a.period, a.priority) == (b.budget, b.period, b.priority)
    )


def check_maps(report: Report, s: System, maps, max_addr: int | None, space: str, element: str, addr_name: str):
    """upstream `check_maps` for one address space: unknown MR, alignment, overflow, bounds, overlaps
    (`max_addr` None: neither overflow nor bounds, as before Microkit 2.3)."""
    rng = "virtual address range" if element == "map" else "io address range"
    intervals: list[Item] = []
    for i, m in enumerate(maps):
        if m.mr is None:
            continue
        mr = s.mr_by_name.get(m.mr)
        if mr is None:
            report(
                span_of(m.el, "mr"),
                "MK-MAP1",
                f"invalid memory region name '{shorten(m.mr)}' on '{element}'",
                data={"fix": "nearest-name", "kind": "mr"},
            )
            continue
        addr = m.vaddr if isinstance(m, Map) else m.iovaddr
        size = s.size_of(mr)
        if addr is None or size is None:
            continue
        if addr % mr.page_size:
            report(
                span_of(m.el, addr_name),
                "MK-MAP2",
                f"invalid {addr_name} alignment on '{element}'",
                related=(Related(mr.el.name_span, f"'{mr.name}' has {mr.page_size:#x}-byte pages"),),
                data={"fix": "round-up", "to": mr.page_size},
            )
            continue
        end = addr + size
        if max_addr is not None and end > (1 << 64) - 1:
            report(span_of(m.el, addr_name), "MK-MAP3", f"{element} for '{mr.name}' has address range that overflows")
            continue
        if max_addr is not None and end > max_addr:
            report(
                span_of(m.el, addr_name),
                "MK-MAP4",
                f"{element} for '{mr.name}' has {rng} [{addr:#x}..{end:#x}) which exceeds valid address space [0x0..{max_addr:#x})",
            )
            continue
        intervals.append(Item(addr, end, i, (m, mr)))
    for later, earlier in overlaps(intervals):
        m, mr = later.value
        m2, mr2 = earlier.value
        report(
            span_of(m.el, addr_name),
            "MK-MAP5",
            f"map for '{mr.name}' has {rng} [{later.start:#x}..{later.end:#x}) which overlaps with map for '{mr2.name}' "
            f"[{earlier.start:#x}..{earlier.end:#x}) in {space}",
            related=(Related(span_of(m2.el, addr_name), f"map for '{mr2.name}'"),),
        )
