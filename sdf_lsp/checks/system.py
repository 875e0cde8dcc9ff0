"""Checks over the whole system (upstream `sdf::parse` after the elements are parsed:
flattening, channels, cap maps and the global checks of reference §3.6/§3.7), plus the
places where upstream crashes or accepts what its build rejects (§11).

Every check here is near-linear: names go through dicts, overlaps through sorting.
"""

from __future__ import annotations

from sdf_lsp.diagnostics import ERROR, UNNECESSARY, WARNING, Diagnostic, Related
from sdf_lsp.model.lower import PD_MAX_ID, Context
from sdf_lsp.model.types import Map, ProtectionDomain, System, span_of
from sdf_lsp.model.values import pci_display

MAX_PDS = 63
LARGE_PAGE = 0x200000


class Checker:
    def __init__(self, system: System, ctx: Context, files):
        self.sys = system
        self.ctx = ctx
        self.target = ctx.target
        self.files = files  # sdf_lsp.analysis.FileAccess
        self.diags: list[Diagnostic] = []

    def report(self, span, code, message, severity=ERROR, related=(), data=None, tags=()):
        self.diags.append(Diagnostic(span, severity, code, message, related, tags, data))

    def run(self) -> list[Diagnostic]:
        self.names()
        self.pd_domains()
        self.prefills()
        self.sys.mr_key = hash(tuple((id(mr), mr.size, mr.page_size) for mr in self.sys.mr_by_name.values()))
        self.child_ids()
        self.channel_refs()
        self.cap_refs()
        self.vms()
        self.irqs_and_channels()
        self.ioports()
        self.all_maps()
        self.io_spaces()
        self.phys_overlaps()
        self.unused_regions()
        self.setvar_regions()
        optimise_page_sizes(self.sys)
        return self.diags

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
        index_names(s.pds, s.pd_by_name, self.report, "MK-G3", "duplicate protection domain name '{}'.")
        for pd in s.pd_by_name.values():
            if pd.name == "monitor":
                self.report(
                    span_of(pd.el, "name"), "MK-G3", "the PD name 'monitor' is reserved for the Microkit Monitor."
                )
            elif len(pd.name.encode()) > 63:
                self.report(
                    span_of(pd.el, "name"),
                    "SDF015",
                    f"PD name is {len(pd.name.encode())} bytes long; the monitor keeps only the first 63",
                    severity=WARNING,
                )
        index_names(s.mrs, s.mr_by_name, self.report, "MK-G4", "duplicate memory region name '{}'.")

    def pd_domains(self):
        """P10: a PD's domain against the <domains> parsed before it (upstream's order)."""
        s = self.sys
        items = [(d.el.start, "domains", d) for d in s.all_domains] + [(pd.el.start, "pd", pd) for pd in s.root_pds]
        items.sort(key=lambda t: t[0])
        current = None  # the effective <domains> so far
        for _, kind, obj in items:
            if kind == "domains":
                if current is not None and current.domains:
                    self.report(
                        obj.el.name_span,
                        "MK-S2",
                        "domains must only be specified once on element 'domains'",
                        related=(Related(current.el.name_span, "first <domains>"),),
                    )
                    continue
                current = obj
                s.domains = obj
                for d in obj.domains:
                    if d.name is not None:
                        s.domain_by_name.setdefault(d.name, d)
                continue
            names = {d.name for d in current.domains} if current is not None and current.domains else None
            for pd in obj.walk():
                self.pd_domain(pd, names)

    def pd_domain(self, pd: ProtectionDomain, names):
        a = pd.el.attr("domain")
        if names is None:
            if a is not None:
                later = [d for d in self.sys.all_domains if d.el.start > pd.el.start and d.domains]
                msg = f"Specifying a domain '{a.value}' without declaring a domain schedule is not allowed: on element 'protection_domain'"
                rel = (
                    (Related(later[0].el.name_span, "<domains> comes after this PD; move it before"),) if later else ()
                )
                self.report(a.value_span, "MK-P10", msg, related=rel)
            elif any(d.el.start > pd.el.start and d.domains for d in self.sys.all_domains):
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
                f"domain '{a.value}' not declared in <domains>: on element 'protection_domain'",
                data={"fix": "nearest-name", "kind": "domain", "candidates": sorted(n for n in names if n is not None)},
            )

    def prefills(self):
        """R4/R7 for prefill files (upstream reads them while parsing)."""
        for mr in self.sys.mrs:
            if mr.prefill_path is None:
                continue
            span = span_of(mr.el, "prefill_path")
            found = self.files.prefill(mr.prefill_path)
            if found.error == "missing":
                self.report(
                    span, "MK-R4", f"unable to find prefill file: '{mr.prefill_path}' on element 'memory_region'"
                )
                continue
            if found.error == "unreadable":
                self.report(
                    span, "MK-R4", f"failed to read file '{mr.prefill_path}' at prefill_path on element 'memory_region'"
                )
                continue
            if found.length == 0:
                self.report(span, "MK-R4", f"prefill file '{mr.prefill_path}' is empty on element 'memory_region'")
                continue
            mr.prefill_len = found.length
            if mr.size_given:
                if mr.size is not None and found.length > mr.size:
                    self.report(
                        span_of(mr.el, "size"),
                        "MK-R7",
                        f"size of prefill file exceeds memory region size: {found.length:x} > {mr.size:x} on element 'memory_region'",
                        related=(Related(span, "the prefill file"),),
                    )
            else:
                ps = mr.page_size
                mr.size = -(-found.length // ps) * ps

    # -- hierarchy ---------------------------------------------------------------------
    def child_ids(self):
        for pd in self.sys.pds:
            if not pd.children and pd.vm is None:
                continue
            seen = {}
            for child in pd.children:
                if child.id is None:
                    continue
                if child.id > PD_MAX_ID:
                    self.report(
                        span_of(child.el, "id"),
                        "SDF005",
                        f"child id {child.id} must be between 0 and {PD_MAX_ID}: Microkit 2.3 accepts it but puts the child's TCB cap "
                        f"at Microkit slot {202 + child.id}, outside the child band, and the parent's fault() sees it modulo 256",
                    )
                if child.id in seen:
                    self.report(
                        span_of(child.el, "id"),
                        "MK-F1",
                        f"duplicate id: {child.id} in protection domain: '{pd.name}'",
                        related=(Related(span_of(seen[child.id].el, "id"), "first used here"),),
                        data={"fix": "next-free-id", "pd": pd.name, "space": "child"},
                    )
                else:
                    seen[child.id] = child
            if pd.vm is not None:
                for v in pd.vm.vcpus:
                    if v.id is not None and v.id in seen:
                        c = seen[v.id]
                        self.report(
                            span_of(c.el, "id"),
                            "MK-F2",
                            f"duplicate id: {v.id} clashes with virtual machine vcpu id in protection domain: '{pd.name}'",
                            related=(Related(span_of(v.el, "id"), "vCPU id"),),
                            data={"fix": "next-free-id", "pd": pd.name, "space": "child"},
                        )

    def channel_refs(self):
        by_name = self.sys.pd_by_name
        channel_symbols: dict[int, dict] = {}  # the lowered PDs' own symbol tables stay untouched
        for ch in self.sys.channels:
            for end in ch.ends:
                if end.pd is None:
                    continue
                pd = by_name.get(end.pd)
                if pd is None:
                    self.report(
                        span_of(end.el, "pd"),
                        "MK-H5",
                        f"invalid PD name '{end.pd}' on element 'end'",
                        data={"fix": "nearest-name", "kind": "pd"},
                    )
            if not ch.valid:
                continue
            for end in ch.ends:
                pd = by_name.get(end.pd) if end.pd else None
                if pd is None or end.setvar_id is None:
                    continue
                mine = channel_symbols.setdefault(id(pd), {})
                first = pd.symbols.get(end.setvar_id) or mine.get(end.setvar_id)
                if first is not None:
                    _, first_el, first_attr = first
                    self.report(
                        span_of(end.el, "setvar_id"),
                        "MK-H8",
                        f"setvar on symbol '{end.setvar_id}' already exists on element 'channel'",
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
                        f"unknown PD name '{cap.pd}'",
                        data={"fix": "nearest-name", "kind": "pd"},
                    )

    def vms(self):
        index_names([vm for _, vm in self.sys.vms()], {}, self.report, "MK-G5", "duplicate virtual machine name '{}'.")
        for pd, vm in self.sys.vms():
            if self.target.arch == "x86_64" and pd.children:
                self.report(
                    vm.el.name_span,
                    "MK-G5",
                    f"It is not possible for PD '{pd.name}' with a bound vCPU to have children on x86_64",
                    related=tuple(Related(c.el.name_span, "child") for c in pd.children[:3]),
                )
        total = sum(len(vm.vcpus) for _, vm in self.sys.vms())
        if total > 64:
            pd, vm = list(self.sys.vms())[-1]
            self.report(
                vm.el.name_span, "SDF013", f"the system has {total} vCPUs; the Microkit monitor has room for 64"
            )

    # -- ids -------------------------------------------------------------------------
    def irqs_and_channels(self):
        s = self.sys
        numbers = {}
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
        used: dict[int, dict[int, tuple]] = {}  # pd index -> id -> (span, what)
        for pd in s.pds:
            ids = used.setdefault(id(pd), {})
            for irq in pd.irqs:
                if irq.id is None:
                    continue
                if irq.id in ids:
                    self.report(
                        span_of(irq.el, "id"),
                        "MK-G7",
                        f"duplicate channel id: {irq.id} in protection domain: '{pd.name}'",
                        related=(Related(ids[irq.id][0], "first used here"),),
                        data={"fix": "next-free-id", "pd": pd.name, "space": "channel"},
                    )
                else:
                    ids[irq.id] = (span_of(irq.el, "id"), "irq")
        for ch in s.channels:
            if not ch.valid:
                continue
            a, b = ch.ends
            pa = s.pd_by_name.get(a.pd) if a.pd else None
            pb = s.pd_by_name.get(b.pd) if b.pd else None
            for end, pd in ((a, pa), (b, pb)):
                if pd is None or end.id is None:
                    continue
                ids = used[id(pd)]
                if end.id in ids:
                    self.report(
                        span_of(end.el, "id"),
                        "MK-G8",
                        f"duplicate channel id: {end.id} in protection domain: '{pd.name}'",
                        related=(Related(ids[end.id][0], "first used here"),),
                        data={"fix": "next-free-id", "pd": pd.name, "space": "channel"},
                    )
            if pa is not None and pb is not None:
                if a.pp and b.pp:
                    pass  # cannot ppc bidirectionally (H7) says it
                elif a.pp and pa.priority >= pb.priority:
                    self.ppc_priority(a, pa, pb)
                elif b.pp and pb.priority >= pa.priority:
                    self.ppc_priority(b, pb, pa)
                if self.target.arch == "x86_64":
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
                        f"both ends of a channel of '{pa.name}' with itself use id {a.id}; Microkit 2.3 accepts it but the ids must differ",
                        related=(Related(span_of(a.el, "id"), "the other end"),),
                    )
            for end, pd in ((a, pa), (b, pb)):
                if pd is not None and end.id is not None:
                    used[id(pd)].setdefault(end.id, (span_of(end.el, "id"), "channel"))

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
        ranges = []
        for pd in self.sys.pds:
            seen = {}
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
                    ranges.append((io.addr, io.addr + io.size, len(ranges), pd, io))
        ranges.sort(key=lambda r: (r[0], r[2]))
        best = None
        for r in ranges:
            if best is not None and r[0] < best[1]:
                later, earlier = (r, best) if r[2] > best[2] else (best, r)
                s, e, _, pd, io = later
                s2, e2, _, pd2, io2 = earlier
                self.report(
                    span_of(io.el, "addr"),
                    "MK-G12",
                    f"I/O port id: {io.id}, half-open range: [{s:#x}, {e:#x}) in protection domain: '{pd.name}' overlaps with "
                    f"I/O port id: {io2.id}, half-open range: [{s2:#x}, {e2:#x}) in protection domain: '{pd2.name}'",
                    related=(Related(span_of(io2.el, "addr"), "the other I/O port range"),),
                )
            if best is None or r[1] > best[1]:
                best = r

    # -- maps --------------------------------------------------------------------------
    def all_maps(self):
        """check_maps per PD and VM. A PD whose element and whose memory regions did not
        change since the last analysis reuses its result (the XL case: one edit, 24k maps)."""
        t = self.target
        mrs = self.sys.mr_by_name
        key = self.sys.mr_key
        for pd in self.sys.pds:
            if not pd.maps and pd.vm is None:
                continue
            memo = pd.memo.get("maps")
            if memo is not None and memo[0] == key and memo[1] == pd.name:
                self.diags.extend(memo[2])
                for mr, m in memo[3]:
                    mr.users.append(m)
                continue
            sub = Checker(self.sys, self.ctx, self.files)
            uses: list = []
            if pd.maps:
                check_maps(
                    sub,
                    pd.maps,
                    mrs,
                    t.pd_stack_bottom(pd.stack_size),
                    f"protection domain '{pd.name}'",
                    "map",
                    "vaddr",
                    uses,
                )
            if pd.vm is not None and pd.vm.maps:
                check_maps(
                    sub, pd.vm.maps, mrs, t.vm_map_max_vaddr(), f"virtual machine '{pd.vm.name}'", "map", "vaddr", uses
                )
            pd.memo["maps"] = (key, pd.name, sub.diags, uses)
            self.diags.extend(sub.diags)

    def io_spaces(self):
        s = self.sys
        enabled = [ios for ios in s.io_spaces if ios.enabled]
        index_names(enabled, {}, self.report, "MK-I3", "duplicate name '{}' on element 'io_address_space'")
        domain_ids, peripherals = {}, {}
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
        large = False
        for ios in s.io_spaces:
            for m in ios.iomaps:
                mr = s.mr_by_name.get(m.mr) if m.mr else None
                if mr is not None and mr.page_size_given and mr.page_size == LARGE_PAGE and not large:
                    large = True
                    self.report(
                        span_of(m.el, "mr"),
                        "MK-G14",
                        "currently seL4 does not have large page support for the IOMMU",
                        related=(Related(span_of(mr.el, "page_size"), "2 MiB pages"),),
                    )
        if large:
            return
        for ios in s.io_spaces:
            if ios.iomaps and ios.enabled:
                space = (
                    f"PCI device {pci_display(ios.peripheral)}" if ios.peripheral else f"io address space '{ios.name}'"
                )
                check_maps(self, ios.iomaps, s.mr_by_name, 1 << 39, space, "iomap", "iovaddr")

    def phys_overlaps(self):
        fixed = [
            (mr.phys_addr, mr.phys_addr + mr.size, i, mr)
            for i, mr in enumerate(self.sys.mrs)
            if mr.phys_addr is not None and mr.size is not None and mr.name is not None
        ]
        fixed.sort(key=lambda r: (r[0], r[2]))
        best = None
        for r in fixed:
            if best is not None and r[0] < best[1] and r[1] > r[0]:
                later, earlier = (r, best) if r[2] > best[2] else (best, r)
                s, e, _, mr = later
                s2, e2, _, other = earlier
                self.report(
                    span_of(mr.el, "phys_addr"),
                    "MK-G17",
                    f"memory region '{mr.name}' physical address range [{s:#x}..{e:#x}) overlaps with another memory region "
                    f"'{other.name}' [{s2:#x}..{e2:#x})",
                    related=(Related(span_of(other.el, "phys_addr"), f"'{other.name}'"),),
                )
            if best is None or r[1] > best[1]:
                best = r

    def unused_regions(self):
        s = self.sys
        for mr in s.mrs:
            if mr.name is None or s.mr_by_name.get(mr.name) is not mr:
                continue
            if not mr.users:
                if mr.prefill_bootinfo == "post_capdl_untypeds":
                    continue  # checked with the untyped hand-off (UH004)
                self.report(
                    span_of(mr.el, "name"),
                    "MK-W1",
                    f"unused memory region '{mr.name}'",
                    severity=WARNING,
                    tags=(UNNECESSARY,),
                )
            elif mr.size == 0:
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
                        f"setvar region_paddr names no memory region: '{sv.region_paddr}' (Microkit 2.3 accepts it and its build crashes)",
                        data={"fix": "nearest-name", "kind": "mr"},
                    )
                elif x86 and mr.phys_addr is None:
                    self.report(
                        span_of(sv.el, "region_paddr"),
                        "MK-G19",
                        f"setvar with 'region_paddr' for MR without a specified paddr is unsupported on x86-64 @ '{mr.name}'",
                        related=(Related(mr.el.name_span, f"memory region '{mr.name}'"),),
                    )


def index_names(objects, table: dict, report, code: str, message: str):
    """First definition of each name into `table`; every later one is reported."""
    for obj in objects:
        name = obj.name
        if name is None:
            continue
        first = table.get(name)
        if first is None:
            table[name] = obj
        else:
            report(
                span_of(obj.el, "name"),
                code,
                message.format(name),
                related=(Related(span_of(first.el, "name"), "first defined here"),),
                data={"fix": "rename"},
            )


def check_maps(
    checker: Checker, maps, mrs: dict, max_addr: int, space: str, element: str, addr_name: str, uses: list | None = None
):
    """upstream `check_maps` for one address space: unknown MR, alignment, overflow, bounds, overlaps.
    Records in `uses` which region each map uses."""
    rng = "virtual address range" if element == "map" else "io address range"
    intervals = []
    for i, m in enumerate(maps):
        if m.mr is None:
            continue
        mr = mrs.get(m.mr)
        if mr is None:
            checker.report(
                span_of(m.el, "mr"),
                "MK-MAP1",
                f"invalid memory region name '{m.mr}' on '{element}'",
                data={"fix": "nearest-name", "kind": "mr"},
            )
            continue
        if element == "map":  # iomaps do not count as uses (upstream W1)
            mr.users.append(m)
            if uses is not None:
                uses.append((mr, m))
        addr = m.vaddr if element == "map" else m.iovaddr
        if addr is None or mr.size is None:
            continue
        if addr % mr.page_size:
            checker.report(
                span_of(m.el, addr_name),
                "MK-MAP2",
                f"invalid {addr_name} alignment on '{element}'",
                related=(Related(mr.el.name_span, f"'{mr.name}' has {mr.page_size:#x}-byte pages"),),
                data={"fix": "round-up", "to": mr.page_size},
            )
            continue
        end = addr + mr.size
        if end > (1 << 64) - 1:
            checker.report(
                span_of(m.el, addr_name), "MK-MAP3", f"{element} for '{mr.name}' has address range that overflows"
            )
            continue
        if end > max_addr:
            checker.report(
                span_of(m.el, addr_name),
                "MK-MAP4",
                f"{element} for '{mr.name}' has {rng} [{addr:#x}..{end:#x}) which exceeds valid address space [0x0..{max_addr:#x})",
            )
            continue
        intervals.append((addr, end, i, m, mr))
    intervals.sort(key=lambda r: (r[0], r[2]))
    best = None
    for r in intervals:
        if best is not None and r[0] < best[1] and r[1] > r[0]:
            later, earlier = (r, best) if r[2] > best[2] else (best, r)
            s, e, _, m, mr = later
            s2, e2, _, m2, mr2 = earlier
            checker.report(
                span_of(m.el, addr_name),
                "MK-MAP5",
                f"map for '{mr.name}' has {rng} [{s:#x}..{e:#x}) which overlaps with map for '{mr2.name}' [{s2:#x}..{e2:#x}) in {space}",
                related=(Related(span_of(m2.el, addr_name), f"map for '{mr2.name}'"),),
            )
        if best is None or r[1] > best[1]:
            best = r


def optimise_page_sizes(system: System):
    """Upstream raises an MR's pages to 2 MiB when nothing stops it (reference §4)."""
    iomapped = {m.mr for ios in system.io_spaces for m in ios.iomaps}
    for mr in system.mrs:
        mr.optimised_page_size = mr.page_size
        if mr.page_size_given or mr.name in iomapped or mr.size is None or mr.size == 0:
            continue
        if mr.size % LARGE_PAGE or (mr.phys_addr is not None and mr.phys_addr % LARGE_PAGE):
            continue
        if all(m.vaddr is None or m.vaddr % LARGE_PAGE == 0 for m in mr.users if isinstance(m, Map)):
            mr.optimised_page_size = LARGE_PAGE
