"""Lowering one top-level element to the model, with the checks upstream makes while
parsing it (`from_xml` in sdf.rs), in its order and with its messages — but every
error is reported, not just the first, each at the most precise range.

Lowering depends only on the element and the `Context` (target and dialect), so its
result can be cached per block. Checks that need the whole system live in
`sdf_lsp.checks`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sdf_lsp import schema
from sdf_lsp.diagnostics import ERROR, WARNING, Diagnostic, Related
from sdf_lsp.model import values
from sdf_lsp.model.types import (
    CapGrant,
    Channel,
    ChannelEnd,
    CNodeDecl,
    CSpace,
    Domain,
    Domains,
    IoAddressSpace,
    IoMap,
    IoPort,
    Irq,
    Map,
    MemoryRegion,
    ProtectionDomain,
    Reserve,
    ScheduleEntry,
    Setvar,
    Untyped,
    Vcpu,
    VirtualMachine,
    span_of,
)
from sdf_lsp.syntax.tree import Element, Span
from sdf_lsp.target import Target

EXT_SUFFIX = " (an sdf-lsp extension)"
PD_MAX_ID = 61
CAP_MAP_MAX_SLOT = 128
IOVA_LIMIT = 1 << 39


@dataclass(frozen=True)
class Context:
    target: Target
    dialect: str = schema.EXTENDED
    authority_hints: bool = True

    @property
    def extended(self) -> bool:
        return self.dialect == schema.EXTENDED


class Lowerer:
    """Collects diagnostics while lowering; one instance per top-level element."""

    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.target = ctx.target
        self.arch = ctx.target.arch
        self.diags: list[Diagnostic] = []

    # -- reporting -------------------------------------------------------------------
    def report(self, span: Span, code: str, message: str, severity: int = ERROR, related=(), data=None, tags=()):
        self.diags.append(Diagnostic(span, severity, code, message, related, tags, data))

    def ve(
        self,
        el: Element,
        msg: str,
        code: str,
        span: Span | None = None,
        related=(),
        data=None,
        on: Element | None = None,
    ):
        """upstream `value_error`: `{msg} on element '{tag}'` (tag of `on`, default `el`)."""
        tag = (on or el).local
        self.report(span or el.name_span, code, f"{msg} on element '{tag}'", related=related, data=data)

    def missing(self, el: Element, attr: str, code: str = "MK-MISSING"):
        self.report(
            el.name_span,
            code,
            f"Missing required attribute '{attr}' on element '{el.local}'",
            data={"fix": "add-attribute", "attr": attr},
        )

    def required(self, el: Element, attr: str) -> str | None:
        v = el.get(attr)
        if v is None:
            self.missing(el, attr)
        return v

    def number(self, el: Element, attr: str, default=None, on: Element | None = None):
        """An SDF number (`sdf_parse_number`): NUM error text on failure."""
        v = el.get(attr)
        if v is None:
            return default
        try:
            return values.sdf_number(v)
        except values.ValueError_ as err:
            tag = (on or el).local
            self.report(span_of(el, attr), "MK-NUM", f"failed to parse integer '{v}' on element '{tag}': {err}")
            return None

    def decimal(self, el: Element, attr: str, signed: bool = True, default=None):
        """A decimal-only attribute that upstream parses with `unwrap()` (a crash on anything else)."""
        v = el.get(attr)
        if v is None:
            return default
        try:
            return values.rust_int(v, signed=signed)
        except values.ValueError_:
            hint = ""
            if v.replace("_", "").startswith("0x") or "_" in v:
                hint = " (hex and '_' are not accepted here)"
            kind = "a decimal integer" if signed else "a non-negative decimal integer"
            self.report(
                span_of(el, attr),
                "SDF001",
                f"'{attr}' on element '{el.local}' must be {kind}, got '{v}'{hint}; the Microkit 2.3 tool crashes on this value",
            )
            return None

    def boolean(self, el: Element, attr: str, default: bool, code: str, msg: str | None = None) -> bool:
        raw = el.get(attr)
        if raw is None:
            return default
        v = values.parse_bool(raw)
        if v is None:
            self.ve(
                el,
                msg or f"{attr} must be 'true' or 'false'",
                code,
                span_of(el, attr),
                data={"fix": "enum", "values": ["true", "false"]},
            )
            return default
        return v

    def check_attrs(self, el: Element, allowed, elem_name: str | None = None):
        """ATTR: every attribute outside the allow-list (upstream reports the first only).
        Extension attributes in the microkit-2.3 dialect are EX001."""
        elem_name = elem_name or el.local
        for name, _ in el.raw:
            if name in allowed or name == "xmlns" or name.startswith("xmlns:"):
                continue
            if ":" in name and name.rpartition(":")[2] in allowed:
                continue
            a = next(a for a in el.attrs if a.name == name)
            msg = f"invalid attribute '{a.local}' on element '{el.local}'"
            if not self.ctx.extended and schema.is_extension_attr(elem_name, a.local):
                self.report(a.name_span, "EX001", msg + EXT_SUFFIX, tags=())
            else:
                self.report(a.name_span, "MK-ATTR", msg, data={"fix": "remove-attribute", "attr": a.name})

    def symbol(
        self,
        pd_symbols: dict,
        el: Element,
        attr: str,
        code: str = "MK-SETVAR",
        on: Element | None = None,
        kind: str = "",
    ):
        """Register a setvar symbol of a PD; a duplicate is upstream's `setvar on symbol ... already exists`."""
        sym = el.get(attr)
        if sym is None:
            return None
        if sym in pd_symbols:
            _, first_el, first_attr = pd_symbols[sym]
            self.ve(
                el,
                f"setvar on symbol '{sym}' already exists",
                code,
                span_of(el, attr),
                related=(Related(span_of(first_el, first_attr), "first set here"),),
                on=on,
            )
        else:
            pd_symbols[sym] = (kind or attr, el, attr)
        return sym

    def ext_element(self, el: Element, upstream_msg: str, code: str = "EX001"):
        """An extension element used in the microkit-2.3 dialect."""
        self.report(el.name_span, code, upstream_msg + EXT_SUFFIX)

    # -- <protection_domain> ---------------------------------------------------------
    def pd(self, el: Element, parent: ProtectionDomain | None = None) -> ProtectionDomain:
        is_child = parent is not None
        ctx = self.ctx
        allowed = set(
            schema.allowed_attrs(
                "protection_domain", parent="protection_domain" if is_child else "system", dialect=ctx.dialect
            )
        )
        if ctx.extended:
            # on a child these are FH002, not an unknown attribute
            allowed |= {"fault_handler", "fault_id"}
        self.check_attrs(el, allowed)
        name = self.required(el, "name")
        pd = ProtectionDomain(el, name)
        pd.parent = parent
        if is_child:
            if not el.has("id"):
                self.missing(el, "id")
            else:
                pd.id = self.number(el, "id")
        budget = self.number(el, "budget", 1000)
        period = self.number(el, "period", budget)
        if budget is not None and period is not None and budget > period:
            self.ve(
                el,
                f"budget ({budget}) must be less than, or equal to, period ({period})",
                "MK-P5",
                span_of(el, "budget") if el.has("budget") else span_of(el, "period"),
                related=(Related(span_of(el, "period"), "period"),) if el.has("period") else (),
            )
        pd.budget = budget if budget is not None else 1000
        pd.period = period if period is not None else pd.budget
        pd.passive = self.boolean(el, "passive", False, "MK-P6")
        stack = self.number(el, "stack_size", 0x2000)
        pd.smc = self.boolean(el, "smc", False, "MK-P8")
        if pd.smc:
            sa = el.attr("smc")
            if self.target.arm_smc is False:
                self.ve(
                    el,
                    "Using SMC support without ARM SMC forwarding support enabled in the kernel for this platform",
                    "MK-P8",
                    sa.value_span,
                )
            elif self.target.arm_smc is None:
                self.report(sa.value_span, "MK-P8", "ARM SMC forwarding support is not available for this architecture")
        cpu = self.number(el, "cpu", 0)
        if cpu is not None:
            if cpu > 255:
                self.report(
                    span_of(el, "cpu"),
                    "SDF002",
                    f"cpu core must be between 0 and 255, got {cpu} (the Microkit 2.3 tool crashes on this value) on element 'protection_domain'",
                )
                cpu = None
            elif cpu >= self.target.num_cores:
                self.ve(
                    el, f"cpu core must be less than {self.target.num_cores}, got {cpu}", "MK-P9", span_of(el, "cpu")
                )
        pd.cpu = cpu if cpu is not None else 0
        pd.domain = el.get("domain")
        if stack is not None:
            if stack < 0x1000 or stack > 0x1000000:
                self.ve(
                    el,
                    "stack size must be between 0x1000 bytes and 0x1000000 bytes",
                    "MK-P11",
                    span_of(el, "stack_size"),
                )
            elif stack % 0x1000:
                self.ve(
                    el,
                    "stack size must be aligned to the smallest page size, 4096 bytes",
                    "MK-P12",
                    span_of(el, "stack_size"),
                    data={"fix": "round-up", "to": 0x1000},
                )
            else:
                pd.stack_size = stack
        prio = self.number(el, "priority", 0)
        if prio is not None and prio > 254:
            self.ve(el, "priority must be between 0 and 254", "MK-P13", span_of(el, "priority"))
            prio = 254
        pd.priority = prio if prio is not None else 0
        pd.fpu = self.boolean(el, "fpu", True, "MK-P14")
        if ctx.extended:
            self.fault_handler_attrs(el, pd, is_child)

        symbols = pd.symbols
        program_images = 0
        cspace_seen = False
        vm_seen = False
        max_vaddr = self.target.pd_stack_bottom(pd.stack_size)
        for child in el.children:
            if child.kind != "element":
                continue
            tag = child.local
            if tag == "program_image":
                self.check_attrs(child, {"path", "path_for_symbols"})
                program_images += 1
                if program_images > 1:
                    self.ve(el, "program_image must only be specified once", "MK-C2", child.name_span)
                    continue
                pd.program_image = self.required(child, "path")
                pd.path_for_symbols = child.get("path_for_symbols")
                pd.program_image_el = child
            elif tag == "map":
                m = self.map(child, max_vaddr, in_pd=True)
                for attr in ("setvar_vaddr", "setvar_size", "setvar_prefill_size"):
                    setattr(m, attr, self.symbol(symbols, child, attr))
                m.owner = pd
                pd.maps.append(m)
            elif tag == "irq":
                irq = self.irq(child, symbols)
                if irq is not None:
                    pd.irqs.append(irq)
            elif tag == "ioport":
                io = self.ioport(child, el, symbols)
                if io is not None:
                    pd.ioports.append(io)
            elif tag == "setvar":
                self.check_attrs(child, {"symbol", "region_paddr"})
                sym = self.required(child, "symbol")
                region = self.required(child, "region_paddr")
                if sym is not None and region is not None:
                    self.symbol(symbols, child, "symbol", kind="region_paddr")
                pd.setvars.append(Setvar(child, sym, region))
            elif tag == "protection_domain":
                sub = self.pd(child, pd)
                pd.children.append(sub)
                if child.has("setvar_id"):
                    sub.setvar_id = self.symbol(symbols, child, "setvar_id", kind="child id")
            elif tag == "virtual_machine":
                if not self.target.hypervisor:
                    self.ve(
                        el,
                        "seL4 has not been built as a hypervisor, virtual machines are disabled",
                        "MK-C22",
                        child.name_span,
                    )
                    continue
                if vm_seen:
                    self.ve(el, "virtual_machine must only be specified once", "MK-C23", child.name_span)
                    continue
                vm_seen = True
                pd.vm = self.vm(child, pd)
            elif tag == "cspace":
                if cspace_seen:
                    self.ve(el, "cspace must only be specified once", "CS009", child.name_span)
                    continue
                cspace_seen = True
                pd.cspace = self.cspace(child, pd, symbols)
            else:
                self.report(child.name_span, "MK-P16", f"Invalid XML element '{tag}'")
        if program_images == 0:
            self.report(
                el.name_span,
                "MK-P17",
                f"missing 'program_image' element on protection_domain: '{name or ''}'",
                data={"fix": "add-program-image", "pd": name},
            )
        return pd

    def fault_handler_attrs(self, el: Element, pd: ProtectionDomain, is_child: bool):
        fh = el.attr("fault_handler")
        fid = el.attr("fault_id")
        if fh is None and fid is None:
            return
        if is_child:
            self.report(
                (fh or fid).name_span,
                "FH002",
                "child PDs are faulted to their parent; remove fault_handler or un-nest the PD",
            )
            return
        if fh is not None:
            pd.fault_handler = fh.value
        if fid is not None:
            v = self.number(el, "fault_id")
            if v is not None and v > PD_MAX_ID:
                self.report(fid.value_span, "FH003", f"fault_id {v} of '{pd.name}' must be between 0 and {PD_MAX_ID}")
                v = None
            pd.fault_id = v
        if fh is not None and fid is None:
            self.report(
                fh.name_span,
                "FH003",
                "fault_handler needs a fault_id on element 'protection_domain'",
                data={"fix": "add-attribute", "attr": "fault_id"},
            )
        elif fid is not None and fh is None:
            self.report(
                fid.name_span,
                "FH003",
                "fault_id needs a fault_handler on element 'protection_domain'",
                data={"fix": "add-attribute", "attr": "fault_handler"},
            )

    # -- <map> -------------------------------------------------------------------------
    def map(self, el: Element, max_vaddr: int, in_pd: bool) -> Map:
        allowed = {"mr", "vaddr", "perms", "cached"}
        if in_pd:
            allowed |= {"setvar_vaddr", "setvar_size", "setvar_prefill_size"}
        self.check_attrs(el, allowed)
        mr = self.required(el, "mr")
        vaddr = None
        if not el.has("vaddr"):
            self.missing(el, "vaddr")
        else:
            vaddr = self.number(el, "vaddr")
            if vaddr is not None and vaddr >= max_vaddr:
                self.ve(el, f"vaddr ({vaddr:#x}) must be less than {max_vaddr:#x}", "MK-M4", span_of(el, "vaddr"))
                vaddr = None
        perms = el.get("perms", "rw")
        if perms.strip("rwx"):
            self.ve(
                el,
                "perms must only be a combination of 'r', 'w', and 'x'",
                "MK-M5",
                span_of(el, "perms"),
                data={"fix": "enum", "values": ["r", "rw", "rx", "rwx"]},
            )
            perms = "".join(c for c in perms if c in "rwx")
        elif perms and not perms.strip("w"):
            self.ve(
                el,
                "perms must not be 'w', write-only mappings are not allowed",
                "MK-M6",
                span_of(el, "perms"),
                data={"fix": "enum", "values": ["rw"]},
            )
        cached = self.boolean(el, "cached", True, "MK-M7")
        return Map(el, mr, vaddr, perms, cached)

    # -- <irq> -------------------------------------------------------------------------
    def irq(self, el: Element, symbols: dict) -> Irq | None:
        if not el.has("id"):
            self.missing(el, "id")
            irq_id = None
        else:
            irq_id = self.decimal(el, "id")
            if irq_id is not None:
                if irq_id > PD_MAX_ID:
                    self.ve(el, "id must be < 62", "MK-C8", span_of(el, "id"))
                    irq_id = None
                elif irq_id < 0:
                    self.ve(el, "id must be >= 0", "MK-C8", span_of(el, "id"))
                    irq_id = None
        setvar_id = self.symbol(symbols, el, "setvar_id")
        x86 = self.arch == "x86_64"
        if el.has("irq"):
            if x86:
                self.ve(el, "ARM and RISC-V IRQs are not supported on x86", "MK-C10", el.attr("irq").name_span)
                return None
            self.check_attrs(el, {"irq", "id", "setvar_id", "trigger"})
            number = self.decimal(el, "irq", signed=False)
            trigger = self.enum(el, "trigger", ("level", "edge"), "trigger must be either 'level' or 'edge'", "MK-C11")
            return Irq(el, irq_id, "arm", number, trigger=trigger or "level", setvar_id=setvar_id)
        if el.has("pin"):
            if not x86:
                self.ve(el, "x86 I/O APIC IRQ isn't supported on ARM and RISC-V", "MK-C12", el.attr("pin").name_span)
                return None
            self.check_attrs(el, {"id", "setvar_id", "ioapic", "pin", "trigger", "polarity", "vector"})
            ioapic = self.decimal(el, "ioapic", default=0)
            if ioapic is not None and ioapic < 0:
                self.ve(el, "ioapic must be >= 0", "MK-C14", span_of(el, "ioapic"))
            pin = self.decimal(el, "pin")
            if pin is not None and pin < 0:
                self.ve(el, "pin must be >= 0", "MK-C14", span_of(el, "pin"))
            trigger = self.enum(el, "trigger", ("level", "edge"), "trigger must be either 'level' or 'edge'", "MK-C14")
            polarity = self.enum(el, "polarity", ("low", "high"), "polarity must be either 'low' or 'high'", "MK-C14")
            vector = self.vector(el)
            return Irq(
                el,
                irq_id,
                "ioapic",
                vector,
                trigger=trigger or "level",
                ioapic=ioapic or 0,
                pin=pin,
                polarity=polarity or "high",
                vector=vector,
                setvar_id=setvar_id,
            )
        if el.has("pcidev"):
            if not x86:
                self.ve(el, "x86 MSI IRQ isn't supported on ARM and RISC-V", "MK-C15", el.attr("pcidev").name_span)
                return None
            self.check_attrs(el, {"id", "setvar_id", "pcidev", "handle", "vector"})
            pci = None
            try:
                pci = values.parse_pci(el.get("pcidev"))
            except values.ValueError_ as err:
                self.ve(el, str(err), "MK-C16", span_of(el, "pcidev"))
            handle = None
            if not el.has("handle"):
                self.missing(el, "handle")
            else:
                handle = self.decimal(el, "handle")
                if handle is not None and handle < 0:
                    self.ve(el, "handle must be >= 0", "MK-C16", span_of(el, "handle"))
            vector = self.vector(el)
            return Irq(el, irq_id, "msi", vector, vector=vector, pcidev=pci, handle=handle, setvar_id=setvar_id)
        self.missing(el, "pin" if x86 else "irq")
        return None

    def vector(self, el: Element) -> int | None:
        if not el.has("vector"):
            self.missing(el, "vector")
            return None
        v = self.decimal(el, "vector")
        if v is not None and not 0 <= v <= 107:
            self.ve(el, "vector must be within [0..107]", "MK-C14", span_of(el, "vector"))
            return None
        return v

    def enum(self, el: Element, attr: str, allowed: tuple[str, ...], msg: str, code: str) -> str | None:
        v = el.get(attr)
        if v is None:
            return None
        if v not in allowed:
            self.ve(el, msg, code, span_of(el, attr), data={"fix": "enum", "values": list(allowed)})
            return None
        return v

    # -- <ioport> ----------------------------------------------------------------------
    def ioport(self, el: Element, pd_el: Element, symbols: dict) -> IoPort | None:
        if self.arch != "x86_64":
            self.ve(pd_el, "I/O Ports are only available on x86", "MK-C18", el.name_span)
            return None
        self.check_attrs(el, {"id", "setvar_id", "setvar_addr", "addr", "size"})
        io_id = None
        if not el.has("id"):
            self.missing(el, "id")
        else:
            io_id = self.decimal(el, "id")
            if io_id is not None and io_id > PD_MAX_ID:
                self.ve(el, "id must be < 62", "MK-C19", span_of(el, "id"))
                io_id = None
            elif io_id is not None and io_id < 0:
                self.ve(el, "id must be >= 0", "MK-C19", span_of(el, "id"))
                io_id = None
        setvar_id = self.symbol(symbols, el, "setvar_id")
        addr = None
        if not el.has("addr"):
            self.missing(el, "addr")
        else:
            addr = self.number(el, "addr")
        setvar_addr = self.symbol(symbols, el, "setvar_addr")
        size = None
        if not el.has("size"):
            self.missing(el, "size")
        else:
            size = self.decimal(el, "size")
            if size is not None and size <= 0:
                self.ve(el, "size must be > 0", "MK-C19", span_of(el, "size"))
                size = None
        return IoPort(el, io_id, addr, size, setvar_id, setvar_addr)

    # -- <virtual_machine> -------------------------------------------------------------
    def vm(self, el: Element, pd: ProtectionDomain) -> VirtualMachine:
        aarch64 = self.arch == "aarch64"
        self.check_attrs(el, {"name", "budget", "period", "priority"} if aarch64 else {"name"})
        name = self.required(el, "name")
        vm = VirtualMachine(el, name, pd=pd)
        if aarch64:
            budget = self.number(el, "budget", 1000)
            period = self.number(el, "period", budget)
            prio = self.number(el, "priority", 0)
            if budget is not None and period is not None and budget > period:
                self.ve(
                    el,
                    f"budget ({budget}) must be less than, or equal to, period ({period})",
                    "MK-V3",
                    span_of(el, "budget") if el.has("budget") else span_of(el, "period"),
                )
            vm.budget = budget if budget is not None else 1000
            vm.period = period if period is not None else vm.budget
            if prio is not None and prio > 254:
                self.report(
                    span_of(el, "priority"),
                    "SDF008",
                    f"virtual machine priority {prio} is above 254; Microkit 2.3 stores it as {prio & 0xFF} (truncated to 8 bits)",
                )
            vm.priority = (prio or 0) & 0xFF
        seen_ids: dict[int, Element] = {}
        max_vaddr = self.target.vm_map_max_vaddr()
        for child in el.children:
            if child.kind != "element":
                continue
            if child.local == "vcpu":
                self.check_attrs(child, {"id", "setvar_id", "cpu"})
                vid = None
                if not child.has("id"):
                    self.missing(child, "id")
                else:
                    vid = self.decimal(child, "id", signed=False)
                    if vid is not None and vid > PD_MAX_ID:
                        self.ve(child, "id must be < 62", "MK-V5", span_of(child, "id"))
                        vid = None
                if vid is not None:
                    if vid in seen_ids:
                        self.report(
                            span_of(child, "id"),
                            "MK-V6",
                            f"duplicate vcpu id {vid} in virtual machine '{name}'",
                            related=(Related(span_of(seen_ids[vid], "id"), "first used here"),),
                        )
                    else:
                        seen_ids[vid] = child
                cpu = self.number(child, "cpu", pd.cpu, on=el)
                if cpu is not None and child.has("cpu"):
                    if cpu > 255:
                        self.report(
                            span_of(child, "cpu"),
                            "SDF002",
                            f"cpu core must be between 0 and 255, got {cpu} (the Microkit 2.3 tool crashes on this value) on element 'vcpu'",
                        )
                        cpu = None
                    elif cpu >= self.target.num_cores:
                        self.ve(
                            child,
                            f"cpu core must be less than {self.target.num_cores}, got {cpu}",
                            "MK-V7",
                            span_of(child, "cpu"),
                        )
                if child.has("setvar_id"):
                    self.report(
                        child.attr("setvar_id").name_span,
                        "SDF011",
                        "setvar_id on <vcpu> is accepted but never applied by Microkit 2.3 (it reads the attribute from <virtual_machine>)",
                        severity=WARNING,
                    )
                vm.vcpus.append(Vcpu(child, vid, cpu if cpu is not None else pd.cpu))
            elif child.local == "map":
                m = self.map(child, max_vaddr, in_pd=False)
                m.owner = vm
                vm.maps.append(m)
            else:
                self.report(child.name_span, "MK-V9", f"invalid XML element '{child.local}'")
        if not vm.vcpus:
            self.report(el.name_span, "MK-V10", f"missing 'vcpu' element on virtual_machine: '{name or ''}'")
        elif self.arch == "x86_64" and len(vm.vcpus) > 1:
            self.report(
                vm.vcpus[1].el.name_span,
                "SDF006",
                f"a virtual machine on x86_64 has exactly one vCPU; '{name}' has {len(vm.vcpus)} (the Microkit 2.3 build crashes)",
            )
        return vm

    # -- <cspace> ----------------------------------------------------------------------
    def cspace(self, el: Element, pd: ProtectionDomain, symbols: dict) -> CSpace:
        ext = self.ctx.extended
        self.check_attrs(el, set(schema.allowed_attrs("cspace", dialect=self.ctx.dialect)))
        cs = CSpace(el)
        if ext and el.has("size_bits"):
            r = self.number(el, "size_bits")
            if r is not None:
                maxu = self.target.max_untyped_bits
                if r < 1 or r + 5 > maxu or 64 - 9 - r < 0:
                    self.report(
                        span_of(el, "size_bits"),
                        "CN001",
                        f"size_bits {r} of the root CNode of '{pd.name}' must be at least 1 and at most {min(maxu - 5, 55)}",
                    )
                else:
                    cs.size_bits = r
                    if r >= 12:
                        self.report(
                            span_of(el, "size_bits"),
                            "CN005",
                            f"a root CNode of 2^{r} slots takes {values.human_size(1 << (r + 5))} of kernel memory",
                            severity=WARNING,
                        )
        if ext:
            cs.setvar_first_free_slot = self.symbol(symbols, el, "setvar_first_free_slot")
            cs.setvar_size_bits = self.symbol(symbols, el, "setvar_size_bits")
        for child in el.children:
            if child.kind != "element":
                continue
            tag = child.local
            if tag.startswith("cap_"):
                kind = tag[4:]
                known = schema.CAP_KINDS.get(tag)
                if tag == "cap_cspace" and ext:
                    self.report(
                        child.name_span,
                        "CS010",
                        "cap_cspace was removed upstream (seL4/microkit PR #556): granting another PD's CSpace breaks the static system model; share a dedicated <cnode> instead",
                    )
                    continue
                if known is None:
                    self.report(child.name_span, "CS007", f"Cap type: '{kind}' is not supported")
                    continue
                if known[1] == schema.EXTENDED and not ext:
                    self.ext_element(child, f"Cap type: '{kind}' is not supported")
                    continue
                cap = self.cap(child, tag, known[0], pd, cs, symbols)
                if cap is not None:
                    cs.caps.append(cap)
            elif tag == "reserve":
                if not ext:
                    self.ext_element(child, f"Element '{tag}' is not supported in a <cspace> element")
                    continue
                cs.reserves.append(self.reserve(child, pd, cs, symbols))
            else:
                self.report(child.name_span, "CS008", f"Element '{tag}' is not supported in a <cspace> element")
        return cs

    def slot_checks(self, el: Element, slot: int, pd: ProtectionDomain, cs: CSpace) -> bool:
        """The slot rules of the extension table (one code per situation)."""
        span = span_of(el, "slot")
        if slot == 0:
            self.ve(
                el,
                "The destination slot 0 has been reserved for Microkit CNode",
                "CS001",
                span,
                data={"fix": "free-slot"},
            )
            return False
        if not self.ctx.extended:
            if slot >= CAP_MAP_MAX_SLOT:
                self.ve(el, "There are only 128 destination cspace slots available.", "CS004", span)
                return False
            if slot >= 64:
                self.cs003(span, slot)
                return False
            return True
        if cs.size_bits is None and 64 <= slot < 128:
            self.cs003(span, slot)
            return False
        r = cs.root_bits
        if slot >= 1 << r:
            self.report(
                span,
                "CS002",
                f"slot {slot} is outside the root CNode of '{pd.name}' ({1 << r} slots, size_bits={r})",
                data={"fix": "raise-size-bits", "min_bits": max(r + 1, slot.bit_length())},
            )
            return False
        return True

    def cs003(self, span: Span, slot: int):
        self.report(
            span,
            "CS003",
            f"slot {slot} is accepted by the Microkit 2.3.0 parser but lies outside its 64-slot root CNode; "
            "microkit_cspace_root_slot_to_cptr() returns seL4_CapNull",
            data={"fix": "free-slot"},
        )

    def cap(self, el: Element, tag: str, kind: str, pd: ProtectionDomain, cs: CSpace, symbols: dict) -> CapGrant | None:
        ext = self.ctx.extended
        allowed = set(schema.allowed_attrs(tag, dialect=self.ctx.dialect))
        self.check_attrs(el, allowed, tag)
        cap = CapGrant(el, tag, kind, None, holder=pd)
        if tag in ("cap_tcb", "cap_sc", "cap_vspace", "cap_notification"):
            cap.pd = self.required(el, "pd")
        elif tag == "cap_untyped":
            cap.untyped = self.required(el, "untyped")
        elif tag == "cap_cnode":
            cap.cnode = self.required(el, "cnode_name")
        elif tag == "cap_smc":
            if not el.has("function_id"):
                self.missing(el, "function_id")
            else:
                cap.function_id = self.number(el, "function_id")
                if cap.function_id == 0:
                    self.report(
                        span_of(el, "function_id"),
                        "CS015",
                        "function_id 0 yields an unrestricted SMC cap (any function ID)",
                        severity=WARNING,
                    )
            if self.target.arm_smc is None:
                self.report(el.name_span, "CS014", "ARM SMC forwarding support is not available for this architecture")
            elif self.target.arm_smc is False:
                self.report(
                    el.name_span,
                    "CS014",
                    "Using SMC support without ARM SMC forwarding support enabled in the kernel for this platform",
                )
        if tag == "cap_notification":
            ba = el.attr("badge")
            if ba is not None:
                try:
                    cap.badge = values.sdf_number(ba.value)
                except values.ValueError_ as err:
                    self.report(
                        ba.value_span,
                        "CS017",
                        f"badge '{ba.value}' on element 'cap_notification' is not a valid word: {err}",
                    )
            ra = el.attr("rights")
            if ra is not None:
                if not ra.value or any(c not in "rw" for c in ra.value):
                    self.report(
                        ra.value_span,
                        "CS017",
                        f"rights '{ra.value}' on element 'cap_notification' must be 'r', 'w' or 'rw'",
                        data={"fix": "enum", "values": ["w", "r", "rw"]},
                    )
                else:
                    cap.rights = ra.value
        if not el.has("slot"):
            self.report(
                el.name_span,
                "MK-MISSING",
                f"Missing required attribute 'slot' on element '{tag}'",
                data={"fix": "free-slot"},
            )
        else:
            slot = self.number(el, "slot")
            if slot is not None and self.slot_checks(el, slot, pd, cs):
                cap.slot = slot
        if ext:
            cap.setvar_slot = self.symbol(symbols, el, "setvar_slot")
            cap.setvar_cptr = self.symbol(symbols, el, "setvar_cptr")
        return cap

    def reserve(self, el: Element, pd: ProtectionDomain, cs: CSpace, symbols: dict) -> Reserve:
        self.check_attrs(el, set(schema.allowed_attrs("reserve", dialect=self.ctx.dialect)))
        res = Reserve(el, None, None, holder=pd)
        if el.has("slot"):
            slot = self.number(el, "slot")
            if slot == 0:
                self.ve(el, "The destination slot 0 has been reserved for Microkit CNode", "CS001", span_of(el, "slot"))
            elif slot is not None:
                res.slot = slot
        if not el.has("count"):
            self.missing(el, "count")
        else:
            count = self.number(el, "count")
            if count == 0:
                self.report(span_of(el, "count"), "CN002", "a <reserve> needs a count of at least 1")
            elif count is not None:
                res.count = count
        res.setvar_slot = self.symbol(symbols, el, "setvar_slot")
        res.setvar_cptr = self.symbol(symbols, el, "setvar_cptr")
        if not el.has("slot") and not el.has("setvar_slot") and not el.has("setvar_cptr"):
            self.report(
                el.name_span,
                "CN010",
                "<reserve> without slot and without setvar_slot: the program cannot find the reserved slots",
                severity=WARNING,
                data={"fix": "add-attribute", "attr": "setvar_slot"},
            )
        return res

    # -- <memory_region> ---------------------------------------------------------------
    def mr(self, el: Element) -> MemoryRegion:
        ext = self.ctx.extended
        self.check_attrs(el, set(schema.allowed_attrs("memory_region", dialect=self.ctx.dialect)))
        name = self.required(el, "name")
        page_size_given = el.has("page_size")
        page_size = self.number(el, "page_size", 0x1000)
        if page_size is not None and page_size not in self.target.page_sizes:
            self.ve(
                el,
                f"page size {page_size:#x} not supported",
                "MK-R3",
                span_of(el, "page_size"),
                data={"fix": "enum", "values": [hex(p) for p in self.target.page_sizes]},
            )
            page_size = None
        ps = page_size or 0x1000
        bootinfo = el.get("prefill_bootinfo")
        if bootinfo is not None and bootinfo not in schema.BOOTINFO_TYPES:
            if bootinfo == "post_capdl_untypeds" and ext:
                pass
            elif bootinfo == "post_capdl_untypeds":
                self.report(
                    span_of(el, "prefill_bootinfo"),
                    "EX001",
                    f"BootInfoMap type: '{bootinfo}' is not supported on element 'memory_region'" + EXT_SUFFIX,
                )
                bootinfo = None
            else:
                self.ve(
                    el,
                    f"BootInfoMap type: '{bootinfo}' is not supported",
                    "MK-R5",
                    span_of(el, "prefill_bootinfo"),
                    data={"fix": "enum", "values": list(schema.BOOTINFO_TYPES)},
                )
                bootinfo = None
        prefill_path = el.get("prefill_path")
        if prefill_path is not None and el.has("prefill_bootinfo"):
            self.ve(
                el,
                "prefill_path and prefill_bootinfo cannot be both specified",
                "MK-R6",
                span_of(el, "prefill_bootinfo"),
            )
        size = None
        size_given = el.has("size")
        if size_given:
            size = self.number(el, "size")
            if size is not None and size % ps:
                self.ve(
                    el,
                    "size is not a multiple of the page size",
                    "MK-R7",
                    span_of(el, "size"),
                    data={"fix": "round-up", "to": ps},
                )
                size = None  # unusable: checks that need the size skip this region
        elif prefill_path is None and not el.has("prefill_bootinfo"):
            self.ve(
                el,
                "size must be specified if memory region is not prefilled",
                "MK-R8",
                el.name_span,
                data={"fix": "add-attribute", "attr": "size"},
            )
        elif el.has("prefill_bootinfo"):
            size = ps
        phys = None
        if el.has("phys_addr"):
            phys = self.number(el, "phys_addr")
            if phys is not None and phys % ps:
                self.ve(el, "phys_addr is not aligned to the page size", "MK-R9", span_of(el, "phys_addr"))
        mr = MemoryRegion(el, name, size, ps, page_size_given, phys, prefill_path, bootinfo, size_given=size_given)
        if ext and el.has("receive_all_untypeds"):
            v = self.boolean(el, "receive_all_untypeds", False, "UH006")
            if v:
                mr.receive_all_untypeds = True
                self.report(
                    el.attr("receive_all_untypeds").name_span,
                    "UH006",
                    'receive_all_untypeds is deprecated (PR #436): declare <cnode post_capdl_untypeds="true"> and '
                    'give this region prefill_bootinfo="post_capdl_untypeds"',
                    severity=WARNING,
                    tags=(2,),
                    data={"fix": "receive-all-untypeds"},
                )
        return mr

    # -- <channel> ---------------------------------------------------------------------
    def channel(self, el: Element) -> Channel:
        self.check_attrs(el, set())
        ends = []
        for child in el.children:
            if child.kind != "element":
                continue
            if child.local != "end":
                self.report(child.name_span, "MK-H2", f"invalid XML element '{child.local}'")
                continue
            self.check_attrs(child, {"pd", "id", "pp", "notify", "setvar_id"})
            pd = self.required(child, "pd")
            end_id = None
            if not child.has("id"):
                self.missing(child, "id")
            else:
                end_id = self.decimal(child, "id")
                if end_id is not None and end_id > PD_MAX_ID:
                    self.ve(child, "id must be < 62", "MK-H3", span_of(child, "id"))
                    end_id = None
                elif end_id is not None and end_id < 0:
                    self.ve(child, "id must be >= 0", "MK-H3", span_of(child, "id"))
                    end_id = None
            notify = self.boolean(child, "notify", True, "MK-H4")
            pp = self.boolean(child, "pp", False, "MK-H4")
            ends.append(ChannelEnd(child, pd, end_id, notify, pp, child.get("setvar_id")))
        if len(ends) != 2:
            self.ve(el, "exactly two end elements must be specified", "MK-H6", el.name_span)
        elif ends[0].pp and ends[1].pp:
            self.ve(
                el,
                "cannot ppc bidirectionally",
                "MK-H7",
                span_of(ends[1].el, "pp"),
                related=(Related(span_of(ends[0].el, "pp"), 'the other end also has pp="true"'),),
            )
        return Channel(el, ends)

    # -- <io_address_space> ------------------------------------------------------------
    def io_space(self, el: Element) -> IoAddressSpace:
        if not self.target.iommu:
            self.report(el.name_span, "MK-I1", "io address space requires seL4 to be built with IOMMU support")
            return IoAddressSpace(el, el.get("name"), None, None, enabled=False)
        x86 = self.arch == "x86_64"
        self.check_attrs(el, {"name", "peripheral_id", "domain_id"})
        name = self.required(el, "name")
        domain_id = None
        if x86:
            if not el.has("domain_id"):
                self.missing(el, "domain_id")
            else:
                domain_id = self.number(el, "domain_id")
        pci = None
        pa = el.attr("peripheral_id")
        if pa is None:
            self.missing(el, "peripheral_id")
        else:
            err = None
            if self.arch == "aarch64":
                err = "IOMMU device identifiers are not supported on AArch64"
            elif self.arch == "riscv64":
                err = "IOMMU device identifiers are not supported on RISC-V (64-bit)"
            else:
                try:
                    pci = values.parse_pci(pa.value)
                except values.ValueError_ as e:
                    err = str(e)
            if err:
                self.ve(el, f"failed to parse device peripheral_id '{pa.value}': {err}", "MK-I5", pa.value_span)
        ios = IoAddressSpace(el, name, pci, domain_id)
        for child in el.children:
            if child.kind != "element":
                continue
            if child.local != "iomap":
                self.report(child.name_span, "MK-I7", f"invalid XML element '{child.local}'")
                continue
            self.check_attrs(child, {"mr", "iovaddr", "perms"})
            mr = self.required(child, "mr")
            iova = None
            if not child.has("iovaddr"):
                self.missing(child, "iovaddr")
            else:
                iova = self.number(child, "iovaddr")
                if iova is not None and iova > IOVA_LIMIT - 1:
                    self.ve(
                        child,
                        f"iovaddr ({iova:#x}) must be less than {IOVA_LIMIT:#x}",
                        "MK-I9",
                        span_of(child, "iovaddr"),
                    )
                    iova = None
            perms = child.get("perms", "rw")
            if not perms or any(c not in "rw" for c in perms):
                self.ve(
                    child,
                    "perms for io mapped memory must only be a combination of 'r' and 'w'",
                    "MK-I10",
                    span_of(child, "perms"),
                    data={"fix": "enum", "values": ["r", "w", "rw"]},
                )
                perms = "rw"
            ios.iomaps.append(IoMap(child, mr, iova, perms))
        return ios

    # -- <domains> ---------------------------------------------------------------------
    def domains(self, el: Element) -> Domains:
        t = self.target
        self.check_attrs(el, set())
        doms = Domains(el)
        if t.num_cores != 1:
            self.report(el.name_span, "MK-D2", "The domain scheduler is not supported in multicore builds of seL4")
        by_name: dict[str, Domain] = {}
        by_id: dict[int, Domain] = {}
        schedules = []
        for child in el.children:
            if child.kind != "element":
                continue
            if child.local == "domain":
                self.check_attrs(child, {"name", "id"})
                name = self.required(child, "name")
                did = None
                if child.has("id"):
                    did = self.number(child, "id")
                    if did is not None and did >= t.num_domains:
                        self.ve(
                            child,
                            f"domain id {did} should be less than the configured KernelNumDomains value of {t.num_domains}",
                            "MK-D3",
                            span_of(child, "id"),
                        )
                        did = None
                d = Domain(child, name, did)
                if name is not None and name in by_name:
                    prev = by_name[name]
                    prev_s = f"Some({prev.id})" if prev.id is not None else "None"
                    self.ve(
                        child,
                        f"Each <domain>'s name element must be unique found existing domain '{name}' with id '{prev_s}'",
                        "MK-D4",
                        span_of(child, "name"),
                        related=(Related(span_of(prev.el, "name"), "first declared here"),),
                    )
                    continue
                if did is not None and did in by_id:
                    other = by_id[did]
                    self.ve(
                        child,
                        f"Each <domain>'s id element must be unique found existing domain '{other.name}' with id '{did}'",
                        "MK-D5",
                        span_of(child, "id"),
                        related=(Related(span_of(other.el, "id"), "first used here"),),
                    )
                    continue
                if name is not None:
                    by_name[name] = d
                if did is not None:
                    by_id[did] = d
                doms.domains.append(d)
            elif child.local == "domain_schedule":
                schedules.append(child)
                if len(schedules) > 1:
                    self.ve(child, "The <domain_schedule> element can only appear once", "MK-D6", child.name_span)
            else:
                self.report(child.name_span, "MK-D7", f"invalid XML element as child of <domains> '{child.local}'")
        if not schedules:
            self.ve(el, "The <domain_schedule> element must appear once", "MK-D8", el.name_span)
        # ids for domains without one: the smallest unused id, in document order (upstream: HashMap order)
        used = set(by_id)
        next_id = 0
        for d in doms.domains:
            if d.id is not None:
                d.assigned = d.id
                continue
            while next_id in used:
                next_id += 1
            if next_id > t.num_domains:
                self.ve(el, f"Number of domains exceeds {t.num_domains}", "MK-D9", d.el.name_span)
                break
            if next_id == t.num_domains:
                self.report(
                    d.el.name_span,
                    "SDF007",
                    f"domain '{d.name}' would get id {next_id}, but ids must be less than KernelNumDomains ({t.num_domains}); "
                    "Microkit 2.3 accepts this and the kernel rejects it",
                )
            d.assigned = next_id
            used.add(next_id)
        if schedules:
            self.schedule(schedules[0], doms, by_name)
        return doms

    def schedule(self, el: Element, doms: Domains, by_name: dict):
        t = self.target
        self.check_attrs(el, {"index_shift", "start_index"})
        doms.schedule_el = el
        start = self.number(el, "start_index", 0)
        shift = self.number(el, "index_shift")
        doms.start_index = start or 0
        doms.index_shift = shift
        for child in el.children:
            if child.kind != "element":
                continue
            if child.local == "schedule_entry":
                self.check_attrs(child, {"domain", "duration"})
                dname = self.required(child, "domain")
                duration = self.required(child, "duration")
                entry = ScheduleEntry(child, dname)
                if dname is not None and dname not in by_name:
                    self.ve(child, f"domain '{dname}' does not exist,", "MK-D12", span_of(child, "domain"))
                if duration is not None:
                    span = span_of(child, "duration")
                    if " " not in duration:
                        self.ve(
                            child,
                            f"The duration '{duration}' must contain a value and a unit, e.g. '1000 us'",
                            "MK-D13",
                            span,
                        )
                    else:
                        num_s, unit = duration.split(" ", 1)
                        try:
                            v = values.sdf_number(num_s)
                        except values.ValueError_ as err:
                            self.report(
                                span, "MK-NUM", f"failed to parse integer '{num_s}' on element 'schedule_entry': {err}"
                            )
                            v = None
                        if v == 0:
                            self.ve(child, f"The duration '{duration}' must be non-zero", "MK-D14", span)
                        if unit not in ("us", "ticks"):
                            self.ve(
                                child, f"The duration '{duration}' must be in either 'ticks' or 'us'", "MK-D15", span
                            )
                        else:
                            entry.duration, entry.unit = v, unit
                doms.schedule.append(entry)
            elif child.local == "schedule_end_marker":
                self.check_attrs(child, set())
                doms.schedule.append(ScheduleEntry(child, None, end_marker=True))
            else:
                self.report(
                    child.name_span, "MK-D17", f"invalid XML element as child of <domain_schedule> '{child.local}'"
                )
        n = len(doms.schedule)
        if n >= t.num_domain_schedules:
            self.report(
                el.name_span,
                "MK-D18",
                f"More than configured KernelNumDomainSchedules {t.num_domain_schedules} number of <schedule_entry> elements found",
            )
        if start is not None and start >= n:
            self.ve(
                el,
                f"schedule_start_index '{start}' is greater than the length of the schedule '{n}'",
                "MK-D19",
                span_of(el, "start_index"),
            )
        if shift is not None and shift + n >= t.num_domain_schedules:
            self.ve(
                el,
                f"schedule_index_shift '{doms.start_index}' on top of the schedule length '{n}' would exceed than the configured "
                f"KernelNumDomainSchedules {t.num_domain_schedules}",
                "MK-D20",
                span_of(el, "index_shift"),
            )

    # -- extension top-level elements --------------------------------------------------
    def untyped(self, el: Element) -> Untyped:
        self.check_attrs(el, set(schema.allowed_attrs("untyped")))
        name = self.required(el, "name")
        has_size, has_bits = el.has("size"), el.has("size_bits")
        bits = None
        if has_size == has_bits:
            self.report(
                el.name_span,
                "UT001",
                f"untyped '{name}' needs exactly one of size and size_bits",
                data={"fix": "add-attribute", "attr": "size"} if not has_size else None,
            )
        if has_size:
            size = self.number(el, "size")
            if size is not None:
                if size == 0 or size & (size - 1):
                    lo = 1 << (size.bit_length() - 1) if size else 0
                    hi = 1 << size.bit_length()
                    self.report(
                        span_of(el, "size"),
                        "UT002",
                        f"untyped size {size:#x} is not a power of two (nearest: {lo:#x} / {hi:#x})",
                        data={"fix": "power-of-two", "values": [hex(v) for v in (lo, hi) if v]},
                    )
                else:
                    bits = size.bit_length() - 1
        elif has_bits:
            bits = self.number(el, "size_bits")
        span = span_of(el, "size_bits" if has_bits else "size")
        if bits is not None:
            lo, hi = self.target.min_untyped_bits, self.target.max_untyped_bits
            if bits < lo or bits > hi:
                self.report(
                    span,
                    "UT003",
                    f"untyped '{name}' of 2^{bits} bytes is outside seL4's limits on {self.arch} (2^{lo} .. 2^{hi})",
                )
                bits = None
            elif bits < 12:
                self.report(
                    span,
                    "UT004",
                    f"untyped '{name}' of 2^{bits} bytes cannot back a single page frame",
                    severity=WARNING,
                )
        phys = self.number(el, "phys_addr") if el.has("phys_addr") else None
        if phys is not None and bits is not None and phys % (1 << bits):
            self.report(span_of(el, "phys_addr"), "UT005", f"phys_addr {phys:#x} is not 2^{bits}-aligned")
        device = None
        if el.has("device"):
            device = self.boolean(el, "device", False, "UT007")
            if device and phys is None:
                self.report(
                    span_of(el, "device"),
                    "UT007",
                    f"untyped '{name}' with device=\"true\" needs a phys_addr",
                    data={"fix": "add-attribute", "attr": "phys_addr"},
                )
        return Untyped(el, name, bits, phys, device)

    def cnode(self, el: Element) -> CNodeDecl:
        self.check_attrs(el, set(schema.allowed_attrs("cnode")))
        name = self.required(el, "name")
        bits = None
        if not el.has("size_bits"):
            self.missing(el, "size_bits")
        else:
            bits = self.number(el, "size_bits")
            maxu = self.target.max_untyped_bits
            if bits is not None and (bits < 1 or bits + 5 > maxu):
                self.report(
                    span_of(el, "size_bits"),
                    "CN006",
                    f"size_bits {bits} of CNode '{name}' must be between 1 and {maxu - 5}",
                )
                bits = None
            elif bits is not None and bits > 20:
                self.report(
                    span_of(el, "size_bits"),
                    "CN005",
                    f"CNode '{name}' of 2^{bits} slots takes {values.human_size(1 << (bits + 5))} of kernel memory",
                    severity=WARNING,
                )
        post = self.boolean(el, "post_capdl_untypeds", False, "CN006")
        return CNodeDecl(el, name, bits, post)


def lower_item(el: Element, ctx: Context):
    """Lower one child of `<system>`: (kind, model object or None, diagnostics)."""
    lw = Lowerer(ctx)
    tag = el.local
    obj = None
    if tag == "protection_domain":
        obj = lw.pd(el)
    elif tag == "memory_region":
        obj = lw.mr(el)
    elif tag == "channel":
        obj = lw.channel(el)
    elif tag == "io_address_space":
        obj = lw.io_space(el)
    elif tag == "domains":
        obj = lw.domains(el)
    elif tag == "virtual_machine":
        lw.report(el.name_span, "MK-S1", "virtual machine must be a child of a protection domain")
    elif tag in ("untyped", "cnode"):
        if ctx.extended:
            obj = lw.untyped(el) if tag == "untyped" else lw.cnode(el)
        else:
            lw.ext_element(el, f"invalid XML element '{tag}'")
    else:
        lw.report(el.name_span, "MK-S3", f"invalid XML element '{tag}'")
    return tag, obj, lw.diags
