"""Hover: what a PD, region, channel end, map or cap amounts to, numbers in every base,
and the schema's documentation of every element and attribute."""

from __future__ import annotations

from sdf_lsp import schema
from sdf_lsp.analysis import Analysis
from sdf_lsp.ide.env import Environment
from sdf_lsp.ide.locate import locate
from sdf_lsp.layout.cspace import CSpaceLayout, Slot, sub_cnode_guard
from sdf_lsp.layout.memory import PdCost
from sdf_lsp.model import values
from sdf_lsp.model.types import (
    CapGrant,
    ChannelEnd,
    CSpace,
    Irq,
    Map,
    MemoryRegion,
    ProtectionDomain,
    Reserve,
    VirtualMachine,
)
from sdf_lsp.resolve.names import NAME_KINDS, occurrences

NUMERIC = {"num", "dec"}


def hover(analysis: Analysis, offset: int, env: Environment | None = None) -> tuple[str, tuple[int, int]] | None:
    loc = locate(analysis.doc, offset)
    el = loc.element
    if el is None:
        return None
    if loc.kind in ("tag", "end-tag"):
        span = el.name_span if loc.kind == "tag" else el.end_tag_span
        text = element_hover(analysis, el)
        return (text, (span.start, span.end)) if text else None
    if loc.kind == "attr-name":
        a = loc.attr
        doc = attribute_doc(el, a.local, analysis.ctx.dialect)
        return (doc, (a.name_span.start, a.name_span.end)) if doc else None
    if loc.kind == "attr-value":
        a = loc.attr
        text = value_hover(analysis, el, a, env)
        return (text, (a.value_span.start, a.value_span.end)) if text else None
    return None


# -- documentation from the schema ---------------------------------------------------------
def _release_fact(item, dialect: str) -> str | None:
    """Which Microkit releases accept an upstream entry, when not all of them do; and whether the
    dialect in use does."""
    if item.dialect == schema.EXTENDED or (item.since == schema.OLDEST and item.until is None):
        return None
    note = schema.releases_note(item)
    if dialect != schema.EXTENDED and not schema.accepts(item, dialect):
        return f"{note}: **not in {dialect}**"
    return note


def element_doc(tag: str, dialect: str = schema.EXTENDED) -> str | None:
    e = schema.element(tag)
    if e is None:
        return None
    ext = " *(sdf-lsp extension)*" if e.dialect == schema.EXTENDED else ""
    release = _release_fact(e, dialect)
    return f"**<{e.name}>**{ext}\n\n" + (f"*{release}*\n\n" if release else "") + e.doc


def attribute_doc(el, name: str, dialect: str = schema.EXTENDED) -> str | None:
    e = schema.element(el.local)
    a = e.attr(name) if e else None
    if a is None:
        return None
    required = schema.is_required(a, dialect)
    bits = [f"**{a.name}**" + (" (required)" if required else "") + f" on `<{e.name}>`"]
    facts = []
    if a.type:
        facts.append(f"type: {_type_words(a.type)}")
    if a.default_text is not None:
        facts.append(f"default: `{a.default_text}`")
    if a.values:
        facts.append("values: " + ", ".join(f"`{v}`" for v in a.values + a.extended_values))
    arches = schema.arches_of(a, dialect)
    if arches:
        facts.append("only on " + ", ".join(arches))
    release = _release_fact(a, dialect)
    if release:
        facts.append(release)
    if a.dialect == schema.EXTENDED:
        facts.append("sdf-lsp extension")
    if a.deprecated:
        facts.append("deprecated")
    if facts:
        bits.append("; ".join(facts))
    bits.append(a.doc)
    return "\n\n".join(bits)


def _type_words(t: str) -> str:
    words = {
        "num": "number (decimal or 0x hex, `_` allowed)",
        "dec": "decimal integer",
        "bool": "`true` or `false`",
        "name": "name",
        "path": "file path on the search paths",
        "symbol": "ELF symbol (a word)",
        "perms": "`r`, `w`, `x` combination",
        "ioperms": "`r`, `w` or `rw`",
        "rights": "`r`, `w` or `rw`",
        "duration": "`<number> us` or `<number> ticks`",
        "pci": "PCI address `bus:device.function` (hex)",
        "enum": "one of the values",
    }
    if t.startswith("ref:"):
        from sdf_lsp.resolve.names import KIND_WORDS

        return f"name of a {KIND_WORDS.get(t[4:], t[4:])}"
    return words.get(t, t)


# -- numbers ---------------------------------------------------------------------------------
def number_hover(raw: str, decimal_only: bool = False) -> str | None:
    try:
        v = values.rust_int(raw) if decimal_only else values.sdf_number(raw)
    except values.SdfValueError:
        return None
    out = f"`{v}` = `{v:#x}`"
    if v >= 1024:
        out += f" = {values.human_size(v)}"
    if v and v & (v - 1) == 0:
        out += f" = 2^{v.bit_length() - 1}"
    return out


# -- model summaries ---------------------------------------------------------------------------
def element_hover(analysis: Analysis, el) -> str | None:
    obj = analysis.model_of(el)
    doc = element_doc(el.local, analysis.ctx.dialect)
    summary = None
    if isinstance(obj, ProtectionDomain):
        summary = pd_summary(analysis, obj)
    elif isinstance(obj, MemoryRegion):
        summary = mr_summary(analysis, obj)
    elif isinstance(obj, tuple):
        summary = end_summary(analysis, *obj)
    elif isinstance(obj, Map):
        summary = map_summary(analysis, obj)
    elif isinstance(obj, CapGrant):
        summary = cap_summary(analysis, obj)
    elif isinstance(obj, Reserve):
        summary = reserve_summary(analysis, obj)
    elif isinstance(obj, CSpace):
        pd = analysis.model_of(el.parent)
        lay = analysis.layout.cspace(pd) if analysis.layout and isinstance(pd, ProtectionDomain) else None
        summary = cspace_table(lay) if lay else None
    elif isinstance(obj, Irq):
        summary = irq_summary(analysis, obj)
    elif isinstance(obj, VirtualMachine):
        summary = vm_summary(obj)
    parts = [p for p in (summary, doc) if p]
    return "\n\n---\n\n".join(parts) if parts else None


def _pd_named(analysis: Analysis, name: str | None) -> ProtectionDomain | None:
    s = analysis.system
    return s.pd_by_name.get(name) if s is not None and name else None


def pd_summary(analysis: Analysis, pd: ProtectionDomain) -> str:
    lines = [f"### protection domain `{pd.name}`"]
    sched = f"priority **{pd.priority}**, budget {pd.budget} µs / period {pd.period} µs"
    if pd.passive:
        sched += ", **passive**"
    lines.append(sched + f", cpu {pd.cpu}, stack {values.human_size(pd.stack_size)}")
    if pd.program_image:
        lines.append(f"program image `{pd.program_image}`")
    if pd.parent is not None:
        lines.append(f"child **{pd.id}** of `{pd.parent.name}` (its faults go to the parent)")
    elif pd.fault_handler:
        lines.append(f"faults go to `{pd.fault_handler}` as fault id {pd.fault_id}")
    if pd.children:
        lines.append("children: " + ", ".join(f"`{c.name}` (id {c.id})" for c in pd.children))
    if pd.vm is not None:
        lines.append(f"virtual machine `{pd.vm.name}` with vCPUs " + ", ".join(str(v.id) for v in pd.vm.vcpus))
    chans = []
    for ch in analysis.system.channels if analysis.system else ():
        if not ch.valid:
            continue
        a, b = ch.ends
        for end, other in ((a, b), (b, a)):
            if end.pd == pd.name:
                arrows = []
                if end.notify:
                    arrows.append("notifies")
                if end.pp:
                    arrows.append("PPCs")
                rel = " and ".join(arrows) if arrows else "receives from"
                chans.append(f"| {end.id} | `{_cell(str(other.pd))}` | {other.id} | {rel} |")
    if chans:
        lines.append("| id | peer | peer id | this PD |\n|---|---|---|---|\n" + "\n".join(chans))
    if pd.irqs:
        lines.append("IRQs: " + ", ".join(f"{i.number} → channel {i.id}" for i in pd.irqs))
    if pd.maps:
        shown = pd.maps[:8]
        ms = ", ".join(f"`{m.mr}` @ {m.vaddr:#x} ({m.perms or 'none'})" for m in shown if m.vaddr is not None)
        more = f" and {len(pd.maps) - len(shown)} more" if len(pd.maps) > len(shown) else ""
        lines.append(f"maps ({len(pd.maps)}): {ms}{more}")
    lay = analysis.layout.cspace(pd) if analysis.layout else None
    if lay is not None:
        lines.append(cspace_summary_line(lay))
        lines.append(used_slots_table(lay))
    cost = analysis.layout.budget.by_pd.get(pd) if analysis.layout else None
    if cost is not None:
        lines.append(memory_line(cost))
    return "\n\n".join(lines)


def memory_line(cost: PdCost) -> str:
    """What the build allocates for a PD, by kind (as `layout.memory` counts it)."""
    size = values.human_size
    parts = [
        f"kernel objects {size(cost.objects)}",
        f"VSpace and {cost.page_tables} page table{'s' if cost.page_tables != 1 else ''} {size(cost.vspace)}",
        f"CNodes {size(cost.cnodes)}",
        f"IPC buffer and stack {size(cost.ipc_and_stack)}",
    ]
    if cost.vm:
        parts.append(f"VM {size(cost.vm)}")
    if cost.image is not None:
        parts.append(f"program image {size(cost.image)}")
    head = f"memory: **{size(cost.total)}**" if cost.exact else f"memory: about **{size(cost.total)}**"
    tail = "" if cost.exact else " (program image not found: its frames are not counted and its page tables estimated)"
    return f"{head} = " + " + ".join(parts) + tail


def _rights(slot: Slot) -> str:
    return slot.rights or "–"


def _cell(text: str) -> str:
    """Text for a Markdown table cell (a `|` in it would start another cell)."""
    return text.replace("|", "\\|")


def used_slots_table(lay: CSpaceLayout) -> str:
    """The filled slots of both CNodes in one table (the PD hover; the full tables are on `<cspace>`)."""
    rows = [f"| root {s.index} | `{s.cptr:#x}` | {_rights(s)} | {_cell(s.label)} |" for s in lay.root]
    rows += [f"| {s.index} | `{s.cptr:#x}` | {_rights(s)} | {_cell(s.label)} |" for s in lay.microkit]
    return "| slot | CPtr | rights | holds |\n|---:|---|---|---|\n" + "\n".join(rows)


def cspace_summary_line(lay: CSpaceLayout) -> str:
    free = lay.first_free if lay.first_free is not None else "none"
    return (
        f"CSpace: Microkit CNode {len(lay.microkit)}/512 slots, root CNode {lay.root_used}/{lay.root_capacity} "
        f"(size_bits {lay.root_bits}), first free root slot {free}, {values.human_size(lay.memory)} of CNodes"
    )


def cspace_table(lay: CSpaceLayout) -> str:
    """The whole CSpace of a PD as Markdown (hover on <cspace> and the showCSpace command)."""
    pd = lay.pd
    out = [
        f"### CSpace of `{pd.name}`",
        cspace_summary_line(lay),
        f"Microkit CNode at root slot 0, guard {lay.guard}; a root slot *s* has CPtr `s << {64 - lay.root_bits}`.",
        "**Root CNode**\n\n| slot | CPtr | rights | holds |\n|---:|---|---|---|",
    ]
    out[-1] += "".join(f"\n| {s.index} | `{s.cptr:#x}` | {_rights(s)} | {_cell(s.label)} |" for s in lay.root)
    out.append(
        "**Microkit CNode**\n\n| slot | rights | holds |\n|---:|---|---|"
        + "".join(f"\n| {s.index} | {_rights(s)} | {_cell(s.label)} |" for s in lay.microkit)
    )
    return "\n\n".join(out)


def mr_summary(analysis: Analysis, mr: MemoryRegion) -> str:
    lines = [f"### memory region `{mr.name}`"]
    facts = analysis.system.region(mr) if analysis.system is not None else None
    if facts is None:
        return lines[0]
    size = facts.size
    if size is not None:
        ps = facts.page_size
        lines.append(
            f"size {size:#x} = {values.human_size(size)}, {size // ps if ps else 0} page(s) of {values.human_size(ps)}"
            + ("" if mr.page_size_given or ps == mr.page_size else " (raised to 2 MiB pages by the tool)")
        )
    if mr.phys_addr is not None:
        lines.append(f"physical address {mr.phys_addr:#x}")
    elif mr.prefill_bootinfo is None:
        lines.append("physical address chosen by the tool")
    if mr.prefill_path:
        length = facts.prefill_length
        lines.append(f"prefilled from `{mr.prefill_path}`" + (f" ({length} bytes)" if length else ""))
    if mr.prefill_bootinfo:
        lines.append(f"filled with boot information `{mr.prefill_bootinfo}`")
    uses = analysis.system.uses(mr) if analysis.system is not None else []
    if uses:
        rows = []
        for owner, m in uses:
            who = f"PD `{owner.name}`" if isinstance(owner, ProtectionDomain) else f"VM `{owner.name}`"
            end = f"{m.vaddr + size:#x}" if m.vaddr is not None and size else "?"
            rows.append(
                f"| {who} | {m.vaddr:#x}..{end} | {m.perms or '-'} | {'yes' if m.cached else 'no'} |"
                if m.vaddr is not None
                else f"| {who} | ? | {m.perms} | |"
            )
        lines.append("| mapped by | vaddr | perms | cached |\n|---|---|---|---|\n" + "\n".join(rows))
    else:
        lines.append("not mapped by any PD or VM")
    return "\n\n".join(lines)


def end_summary(analysis: Analysis, ch, end: ChannelEnd) -> str:
    if not ch.valid:
        return f"channel end of `{end.pd}` (the channel needs exactly two ends)"
    other = ch.ends[1] if ch.ends[0] is end else ch.ends[0]
    lines = [f"### channel end: `{end.pd}` id {end.id} ↔ `{other.pd}` id {other.id}"]
    rights = []
    if end.notify:
        rights.append(f"`{end.pd}` may notify `{other.pd}` (`microkit_notify({end.id})`)")
    if other.notify:
        rights.append(f"`{other.pd}` may notify `{end.pd}` (`microkit_notify({other.id})`)")
    if end.pp:
        rights.append(f"`{end.pd}` may call `{other.pd}` (`microkit_ppcall({end.id}, ...)`)")
    if other.pp:
        rights.append(f"`{other.pd}` may call `{end.pd}` (`microkit_ppcall({other.id}, ...)`)")
    lines.append(
        "\n".join(f"- {r}" for r in rights) if rights else "no notifications and no PPC: the channel grants nothing"
    )
    return "\n\n".join(lines)


def map_summary(analysis: Analysis, m: Map) -> str:
    s = analysis.system
    hit = s.region_named(m.mr) if s is not None else None
    if hit is None or m.vaddr is None or hit[1].size is None:
        return f"map of `{m.mr}`"
    size, ps = hit[1].size, hit[1].page_size
    return (
        f"### map of `{m.mr}`\n\n{m.vaddr:#x}..{m.vaddr + size:#x} ({values.human_size(size)}, "
        f"{size // ps} page(s) of {values.human_size(ps)}), perms `{m.perms or 'none'}`, {'cached' if m.cached else 'uncached'}"
    )


def cap_summary(analysis: Analysis, cap: CapGrant) -> str:
    lay = analysis.layout.cspace(cap.holder) if analysis.layout else None
    what = {
        "Tcb": f"the TCB of `{cap.pd}`",
        "Sc": f"the scheduling context of `{cap.pd}`",
        "VSpace": f"the VSpace of `{cap.pd}`",
        "Notification": f"the notification of `{cap.pd}` (rights `{cap.rights}`, badge {cap.badge:#x})",
        "Smc": f"an ARM SMC cap (function id {cap.function_id:#x})"
        if cap.function_id is not None
        else "an ARM SMC cap",
        "Untyped": f"untyped `{cap.untyped}`",
        "CNode": f"CNode `{cap.cnode}`",
    }[cap.kind]
    out = f"### {cap.tag} → {what}\n\nin root slot {cap.slot} of `{cap.holder.name}`"
    if lay is not None and cap.slot is not None:
        out += f"; CPtr `{lay.cptr(cap.slot):#x}` (`{cap.slot} << {64 - lay.root_bits}`)"
        if cap.kind == "CNode" and analysis.system and cap.cnode in analysis.system.cnode_by_name:
            b = analysis.system.cnode_by_name[cap.cnode].size_bits
            if b is not None:
                guard = sub_cnode_guard(lay.root_bits, b)
                out += f"; its slot *i* has CPtr `{lay.cptr(cap.slot):#x} | i` (guard {guard})"
    return out


def reserve_summary(analysis: Analysis, r: Reserve) -> str:
    lay = analysis.layout.cspace(r.holder) if analysis.layout else None
    start = lay.reserve_start(r) if lay is not None else None
    if lay is None or start is None or r.count is None:
        return "reserved root slots"
    out = f"### reserve: root slots {start}..{start + r.count - 1} of `{r.holder.name}` stay empty"
    if r.slot is None:
        out += " (placed automatically)"
    return out + f"\n\nfirst CPtr `{lay.cptr(start):#x}`"


def irq_summary(analysis: Analysis, irq: Irq) -> str:
    if irq.kind == "arm":
        return f"### IRQ {irq.number} ({irq.trigger})\n\ndelivered as channel {irq.id}: `notified({irq.id})`, acknowledged with `microkit_irq_ack({irq.id})`"
    return f"### x86 {irq.kind} IRQ, vector {irq.vector}\n\ndelivered as channel {irq.id}"


def vm_summary(vm: VirtualMachine) -> str:
    return (
        f"### virtual machine `{vm.name}`\n\n{len(vm.vcpus)} vCPU(s), priority {vm.priority}, "
        f"budget {vm.budget} µs / period {vm.period} µs, {len(vm.maps)} map(s)"
    )


# -- attribute values ------------------------------------------------------------------------
def value_hover(analysis: Analysis, el, a, env: Environment | None) -> str | None:
    e = schema.element(el.local)
    spec = e.attr(a.local) if e else None
    kind = spec.type if spec else None
    if kind in NUMERIC or (kind is None and a.value[:1].isdigit()):
        return number_hover(a.value, decimal_only=kind == "dec")
    if kind == "name" or (kind and kind.startswith("ref:")):
        target = _named_object(analysis, el, a)
        if target is not None:
            return element_hover(analysis, target)
        return None
    if kind == "symbol":
        return symbol_hover(analysis, el, a, env)
    if kind == "path" and env is not None:
        full = env.find(a.value)
        return f"`{a.value}` → `{full}`" if full else f"`{a.value}` is not on the search paths"
    if a.local == "duration":
        num = a.value.split(" ", 1)[0]
        return number_hover(num)
    return None


def _named_object(analysis: Analysis, el, a):
    """The element a name attribute defines or refers to (the first definition)."""
    kind = NAME_KINDS.kind_of(a)
    if kind is None:
        return None
    s = analysis.system
    table = _TABLES.get(kind)
    if s is not None and table is not None:  # the resolved names: one look-up
        obj = getattr(s, table).get(a.value)
        return obj.el if obj is not None else None
    defs = occurrences(analysis.doc.root, kind, a.value)
    return defs[0].element if defs and NAME_KINDS.is_definition(defs[0]) else None


#: The resolved system's table of each kind of name.
_TABLES = {
    "pd": "pd_by_name",
    "mr": "mr_by_name",
    "vm": "vm_by_name",
    "untyped": "untyped_by_name",
    "cnode": "cnode_by_name",
    "domain": "domain_by_name",
    "ios": "io_space_by_name",
}


def symbol_pd(analysis: Analysis, el) -> ProtectionDomain | None:
    """The PD whose program image holds the symbol a setvar* attribute names."""
    node = el
    if el.local == "protection_domain" and el.parent is not None and el.parent.local == "protection_domain":
        node = el.parent  # a child's setvar_id lives in the parent's image
    if el.local == "end":
        return _pd_named(analysis, el.get("pd"))
    while node is not None and node.local != "protection_domain":
        node = node.parent
    obj = analysis.model_of(node) if node is not None else None
    return obj if isinstance(obj, ProtectionDomain) else None


def symbol_hover(analysis: Analysis, el, a, env: Environment | None) -> str | None:
    pd = symbol_pd(analysis, el)
    if pd is None or env is None or not pd.program_image:
        return f"symbol `{a.value}`"
    img, problem = env.elf(pd.path_for_symbols or pd.program_image)
    if img is None:
        return f"symbol `{a.value}` in `{pd.program_image}` ({problem})"
    try:
        vaddr, size = img.find_symbol(a.value)
    except Exception as err:  # ElfError: missing or ambiguous
        return f"symbol `{a.value}`: {err} in `{pd.program_image}`"
    note = "" if size == 8 else " — **the tool patches only 8-byte words**"
    return f"symbol `{a.value}` in `{pd.program_image}`: address {vaddr:#x}, {size} bytes{note}"
