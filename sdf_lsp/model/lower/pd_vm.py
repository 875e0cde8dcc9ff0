"""`<protection_domain>` (root and child PDs) and `<virtual_machine>` with its `<vcpu>`s
(upstream `ProtectionDomain::from_xml`, `VirtualMachine::from_xml`)."""

from __future__ import annotations

from sdf_lsp.diagnostics import WARNING, Related, shorten
from sdf_lsp.model.consts import (
    PD_DEFAULT_STACK_SIZE_BEFORE_2_1,
    PD_MAX_ID,
    PD_MAX_PRIORITY,
    PD_MAX_STACK_SIZE,
    PD_MIN_STACK_SIZE,
    SMALL_PAGE,
    U8_MAX,
    VCPU_MAX_ID,
)
from sdf_lsp.model.lower.cspace import lower_cspace
from sdf_lsp.model.lower.irq import lower_ioport, lower_irq
from sdf_lsp.model.lower.memory_region import lower_map
from sdf_lsp.model.lower.util import Lowering
from sdf_lsp.model.types import ProtectionDomain, Setvar, Vcpu, VirtualMachine, span_of
from sdf_lsp.syntax.tree import Element

_PD_MAP_SYMBOLS = ("setvar_vaddr", "setvar_size", "setvar_prefill_size")
_PD_MAP_SYMBOL_SET = frozenset(_PD_MAP_SYMBOLS)


def lower_pd(lw: Lowering, el: Element, parent: ProtectionDomain | None = None) -> ProtectionDomain:
    is_child = parent is not None
    lw.check_attrs(el, parent="protection_domain" if is_child else "system")
    name = lw.required(el, "name")
    pd = ProtectionDomain(el, name)
    pd.parent = parent
    if is_child:
        if not el.has("id"):
            lw.missing(el, "id")
        else:
            pd.id = lw.number(el, "id")
    _scheduling(lw, el, pd)
    pd.passive = lw.boolean(el, "passive", "MK-P6")
    if lw.accepts(el, "pp"):  # Microkit 1.4: PPC targets are marked on the PD, not on a channel end
        lw.boolean(el, "pp", "MK-P7", fallback=False)
    stack = lw.number(el, "stack_size", _default_stack_size(lw, el))
    pd.smc = lw.boolean(el, "smc", "MK-P8") if lw.accepts(el, "smc") else False
    if pd.smc:
        sa = el.attr("smc")
        span = sa.value_span if sa is not None else el.name_span  # smc="true" may be a default
        if lw.target.arm_smc is False:
            lw.value_error(
                el,
                "Using SMC support without ARM SMC forwarding support enabled in the kernel for this platform",
                "MK-P8",
                span,
            )
        elif lw.target.arm_smc is None:
            lw.report(span, "MK-P8", "ARM SMC forwarding support is not available for this architecture")
    cpu = _cpu(lw, el, lw.number(el, "cpu"), "MK-P9", _PD_CPU_AS_NUMBER) if lw.accepts(el, "cpu") else None
    pd.cpu = cpu if cpu is not None else lw.default(el, "cpu")
    pd.domain = el.get("domain") if lw.accepts(el, "domain") else None
    pd.stack_size = _stack_size(lw, el, stack)
    prio = lw.number(el, "priority")
    if prio is not None and prio > PD_MAX_PRIORITY:
        lw.value_error(el, f"priority must be between 0 and {PD_MAX_PRIORITY}", "MK-P13", span_of(el, "priority"))
        prio = PD_MAX_PRIORITY
    pd.priority = prio if prio is not None else lw.default(el, "priority")
    pd.fpu = lw.boolean(el, "fpu", "MK-P14") if lw.accepts(el, "fpu") else True
    if lw.ctx.extended:
        _fault_handler_attrs(lw, el, pd, is_child)
    _children(lw, el, pd)
    return pd


def _scheduling(lw: Lowering, el: Element, pd: ProtectionDomain):
    budget = lw.number(el, "budget")
    period = lw.number(el, "period", budget)  # the table: period defaults to the budget
    if budget is not None and period is not None and budget > period:
        lw.value_error(
            el,
            f"budget ({budget}) must be less than, or equal to, period ({period})",
            "MK-P5",
            span_of(el, "budget") if el.has("budget") else span_of(el, "period"),
            related=(Related(span_of(el, "period"), "period"),) if el.has("period") else (),
        )
    pd.budget = budget if budget is not None else lw.default(el, "budget")
    pd.period = period if period is not None else pd.budget


#: The first release whose "cpu core must be less than" message gives a PD's (a vCPU's) core as
#: a number; before it, as upstream's `CpuCore` prints it (`cpu02`).
_PD_CPU_AS_NUMBER = (2, 2)
_VCPU_CPU_AS_NUMBER = (2, 3)


def _cpu(lw: Lowering, el: Element, cpu: int | None, code: str, as_number_since: tuple[int, int]) -> int | None:
    """A core number: above U8_MAX upstream crashes (SDF002), at or above the kernel's cores it rejects it."""
    if cpu is None:
        return None
    if cpu > U8_MAX:
        lw.report(
            span_of(el, "cpu"),
            "SDF002",
            f"cpu core must be between 0 and {U8_MAX}, got {cpu} (the Microkit {lw.ctx.release_text} tool crashes "
            f"on this value) on element '{el.local}'",
        )
        return None
    if cpu >= lw.target.num_cores:
        got = str(cpu) if lw.release >= as_number_since else f"cpu{cpu:02}"
        lw.value_error(el, f"cpu core must be less than {lw.target.num_cores}, got {got}", code, span_of(el, "cpu"))
    return cpu


def _stack_size(lw: Lowering, el: Element, stack: int | None) -> int:
    if stack is not None:
        if stack < PD_MIN_STACK_SIZE or stack > PD_MAX_STACK_SIZE:
            lw.value_error(
                el,
                f"stack size must be between {PD_MIN_STACK_SIZE:#x} bytes and {PD_MAX_STACK_SIZE:#x} bytes",
                "MK-P11",
                span_of(el, "stack_size"),
            )
        elif stack % SMALL_PAGE:
            lw.value_error(
                el,
                f"stack size must be aligned to the smallest page size, {SMALL_PAGE} bytes",
                "MK-P12",
                span_of(el, "stack_size"),
                data={"fix": "round-up", "to": SMALL_PAGE},
            )
        else:
            return stack
    return _default_stack_size(lw, el)


def _default_stack_size(lw: Lowering, el: Element) -> int:
    return lw.default(el, "stack_size") if lw.release >= (2, 1) else PD_DEFAULT_STACK_SIZE_BEFORE_2_1


def _children(lw: Lowering, el: Element, pd: ProtectionDomain):
    symbols = pd.symbols
    program_images = 0
    cspace_seen = False
    vm_seen = False
    max_vaddr = lw.pd_map_max_vaddr(pd.stack_size)
    for child in el.children:
        if not isinstance(child, Element):
            continue
        tag = child.local
        if tag == "program_image":
            lw.check_attrs(child)
            program_images += 1
            if program_images > 1:
                lw.value_error(el, "program_image must only be specified once", "MK-C2", child.name_span)
                continue
            pd.program_image = lw.required(child, "path")
            pd.path_for_symbols = child.get("path_for_symbols") if lw.accepts(child, "path_for_symbols") else None
            pd.program_image_el = child
        elif tag == "map":
            m = lower_map(lw, child, max_vaddr, parent="protection_domain")
            if child.prefixed or any(n in _PD_MAP_SYMBOL_SET for n, _ in child.raw):  # (most maps set none)
                for attr in _PD_MAP_SYMBOLS:
                    setattr(m, attr, lw.symbol(symbols, child, attr) if lw.accepts(child, attr) else None)
            pd.maps.append(m)
        elif tag == "irq":
            irq = lower_irq(lw, child, symbols)
            if irq is not None:
                pd.irqs.append(irq)
        elif tag == "ioport":
            if lw.other_release_element(child, f"Invalid XML element '{tag}'"):
                continue
            io = lower_ioport(lw, child, el, symbols)
            if io is not None:
                pd.ioports.append(io)
        elif tag == "setvar":
            if lw.arch == "x86_64" and lw.release < (2, 2):
                # Microkit 2.1 rejects every setvar on x86_64 while parsing the PD (2.2 only those
                # of regions without phys_addr, after parsing)
                lw.value_error(
                    el,
                    "setvar with 'region_paddr' for MR without a specified paddr is unsupported on x86_64",
                    "MK-G19",
                    child.name_span,
                )
            lw.check_attrs(child)
            sym = lw.required(child, "symbol")
            region = lw.required(child, "region_paddr")
            if sym is not None and region is not None:
                lw.symbol(symbols, child, "symbol", kind="region_paddr")
            pd.setvars.append(Setvar(child, sym, region))
        elif tag == "protection_domain":
            sub = lower_pd(lw, child, pd)
            pd.children.append(sub)
            if child.has("setvar_id") and lw.accepts(child, "setvar_id"):
                sub.setvar_id = lw.symbol(symbols, child, "setvar_id", kind="child id")
        elif tag == "virtual_machine":
            if not lw.target.hypervisor and lw.release >= (2, 1):  # 1.4 and 2.0 do not check
                machines = "machiens" if lw.release == (2, 1) else "machines"  # 2.1's spelling
                lw.value_error(
                    el,
                    f"seL4 has not been built as a hypervisor, virtual {machines} are disabled",
                    "MK-C22",
                    child.name_span,
                )
                continue
            if vm_seen:
                lw.value_error(el, "virtual_machine must only be specified once", "MK-C23", child.name_span)
                continue
            vm_seen = True
            pd.vm = lower_vm(lw, child, pd)
        elif tag == "cspace":
            if lw.other_release_element(child, f"Invalid XML element '{tag}'"):
                continue
            if cspace_seen:
                lw.value_error(el, "cspace must only be specified once", "CS009", child.name_span)
                continue
            cspace_seen = True
            pd.cspace = lower_cspace(lw, child, pd, symbols)
        else:
            lw.report(child.name_span, "MK-P16", f"Invalid XML element '{shorten(tag)}'")
    if program_images == 0:
        lw.report(
            el.name_span,
            "MK-P17",
            f"missing 'program_image' element on protection_domain: '{shorten(pd.name or '')}'",
            data={"fix": "add-program-image", "pd": pd.name},
        )


def _fault_handler_attrs(lw: Lowering, el: Element, pd: ProtectionDomain, is_child: bool):
    fh = el.attr("fault_handler")
    fid = el.attr("fault_id")
    given = fh or fid
    if given is None:
        return
    if is_child:
        lw.report(
            given.name_span,
            "FH002",
            "child PDs are faulted to their parent; remove fault_handler or un-nest the PD",
        )
        return
    if fh is not None:
        pd.fault_handler = fh.value
    if fid is not None:
        v = lw.number(el, "fault_id")
        if v is not None and v > PD_MAX_ID:
            lw.report(
                fid.value_span,
                "FH003",
                f"fault_id {v} of '{shorten(str(pd.name))}' must be between 0 and {PD_MAX_ID}",
            )
            v = None
        pd.fault_id = v
    if fh is not None and fid is None:
        lw.report(
            fh.name_span,
            "FH003",
            "fault_handler needs a fault_id on element 'protection_domain'",
            data={"fix": "add-attribute", "attr": "fault_id"},
        )
    elif fid is not None and fh is None:
        lw.report(
            fid.name_span,
            "FH003",
            "fault_id needs a fault_handler on element 'protection_domain'",
            data={"fix": "add-attribute", "attr": "fault_handler"},
        )


# -- <virtual_machine> -----------------------------------------------------------------
def lower_vm(lw: Lowering, el: Element, pd: ProtectionDomain) -> VirtualMachine:
    lw.check_attrs(el)
    name = lw.required(el, "name")
    vm = VirtualMachine(el, name, pd=pd)
    if lw.arch == "aarch64" or lw.release < (2, 3):  # 2.3 gives VMs scheduling parameters on AArch64 only
        budget = lw.number(el, "budget")
        period = lw.number(el, "period", budget)  # the table: period defaults to the budget
        prio = lw.number(el, "priority")
        if budget is not None and period is not None and budget > period:
            lw.value_error(
                el,
                f"budget ({budget}) must be less than, or equal to, period ({period})",
                "MK-V3",
                span_of(el, "budget") if el.has("budget") else span_of(el, "period"),
            )
        vm.budget = budget if budget is not None else lw.default(el, "budget")
        vm.period = period if period is not None else vm.budget
        if prio is not None and prio > PD_MAX_PRIORITY:
            lw.report(
                span_of(el, "priority"),
                "SDF008",
                f"virtual machine priority {prio} is above {PD_MAX_PRIORITY}; Microkit {lw.ctx.release_text} stores it "
                f"as {prio & U8_MAX} (truncated to 8 bits)",
            )
        vm.priority = (prio if prio is not None else lw.default(el, "priority")) & U8_MAX
    seen_ids: dict[int, Element] = {}
    max_vaddr = lw.vm_map_max_vaddr()
    for child in el.children:
        if not isinstance(child, Element):
            continue
        if child.local == "vcpu":
            if vm.vcpus and lw.release < (2, 0):  # Microkit 1.4: one vCPU per virtual machine
                lw.value_error(el, "vcpu must only be specified once", "MK-V4", child.name_span)
                continue
            vm.vcpus.append(_vcpu(lw, child, el, pd, seen_ids))
        elif child.local == "map":
            m = lower_map(lw, child, max_vaddr, parent="virtual_machine")
            vm.maps.append(m)
        else:
            lw.report(child.name_span, "MK-V9", f"invalid XML element '{shorten(child.local)}'")
    if not vm.vcpus:
        lw.report(el.name_span, "MK-V10", f"missing 'vcpu' element on virtual_machine: '{shorten(name or '')}'")
    elif lw.arch == "x86_64" and len(vm.vcpus) > 1 and lw.release >= (2, 3):
        lw.report(
            vm.vcpus[1].el.name_span,
            "SDF006",
            f"a virtual machine on x86_64 has exactly one vCPU; '{shorten(str(name))}' has {len(vm.vcpus)} (the Microkit 2.3 build crashes)",
        )
    return vm


def _vcpu(lw: Lowering, el: Element, vm_el: Element, pd: ProtectionDomain, seen_ids: dict[int, Element]) -> Vcpu:
    lw.check_attrs(el)
    vid = None
    if not el.has("id"):
        lw.missing(el, "id")
    else:
        vid = lw.decimal(el, "id", signed=False)
        if vid is not None and vid > VCPU_MAX_ID:
            lw.value_error(el, f"id must be < {VCPU_MAX_ID + 1}", "MK-V5", span_of(el, "id"))
            vid = None
    if vid is not None:
        if vid in seen_ids:
            lw.report(
                span_of(el, "id"),
                "MK-V6",
                f"duplicate vcpu id {vid} in virtual machine '{shorten(str(vm_el.get('name')))}'",
                related=(Related(span_of(seen_ids[vid], "id"), "first used here"),),
            )
        else:
            seen_ids[vid] = el
    # a vCPU runs on its PD's core unless it names one; a bad number is reported on the VM
    # a vCPU without `cpu` runs on its PD's core (2.3) or on core 0 (before)
    default_cpu = pd.cpu if lw.release >= (2, 3) else 0
    cpu = lw.number(el, "cpu", default_cpu, on=vm_el) if lw.accepts(el, "cpu") else default_cpu
    if cpu is not None and el.has("cpu") and lw.accepts(el, "cpu"):
        cpu = _cpu(lw, el, cpu, "MK-V7", _VCPU_CPU_AS_NUMBER)
    if el.has("setvar_id") and lw.accepts(el, "setvar_id"):
        lw.report(
            el.present("setvar_id").name_span,
            "SDF011",
            f"setvar_id on <vcpu> is accepted but never applied by Microkit {lw.ctx.release_text} (it reads the "
            "attribute from <virtual_machine>)",
            severity=WARNING,
        )
    return Vcpu(el, vid, cpu if cpu is not None else default_cpu)
