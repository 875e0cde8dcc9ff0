"""Checks of the extended hierarchy model (`design/extensions.md`) and the layout they read.

Dialects: the upstream cspace checks (CS001/3/4/5/6/7/8/9) apply in both; everything
else here applies only to the `extended` dialect. In `microkit-2.3` the extension
constructs were already reported as EX001 by the lowering and never reach the model.
"""

from __future__ import annotations

import math

from sdf_lsp.checks.system import report_duplicates
from sdf_lsp.diagnostics import ERROR, INFORMATION, UNNECESSARY, WARNING, Diagnostic, Related, shorten
from sdf_lsp.layout import Layout
from sdf_lsp.layout.cspace import CSpaceLayout, child_id_users
from sdf_lsp.layout.memory import MemoryBudget, in_ram, is_device_untyped
from sdf_lsp.model.lower import Context
from sdf_lsp.model.types import CapGrant, ProtectionDomain, span_of
from sdf_lsp.model.values import human_size
from sdf_lsp.resolve.system import System
from sdf_lsp.syntax.tree import Element


class ExtensionChecker:
    def __init__(self, system: System, layout: Layout, ctx: Context):
        self.sys = system
        self.layout = layout
        self.ctx = ctx
        self.target = ctx.target
        self.diags: list[Diagnostic] = []

    def report(self, span, code, message, severity=ERROR, related=(), data=None, tags=()):
        self.diags.append(Diagnostic(span, severity, code, message, related, tags, data))

    def hint(self, span, code, message, related=()):
        if self.ctx.authority_hints:
            self.report(span, code, message, INFORMATION, related)

    def run(self) -> list[Diagnostic]:
        s = self.sys
        ext = self.ctx.extended
        if ext:
            self.declarations()
        for pd in s.pds:
            lay = self.layout.cspace(pd)
            if lay is not None:
                self.slots(pd, lay)
        if ext:
            self.caps()
            self.fault_handlers()
            self.untypeds()
            self.cnodes()
            self.budget(self.layout.budget)
        return self.diags

    # -- names of the extension declarations -------------------------------------------
    def declarations(self):
        s = self.sys
        report_duplicates(s.untypeds, s.untyped_by_name, self.report, "UT015", "duplicate untyped name '{}'")
        report_duplicates(s.cnodes, s.cnode_by_name, self.report, "CN006", "duplicate CNode name '{}'")

    # -- root CNode slots ----------------------------------------------------------------
    def slots(self, pd, lay: CSpaceLayout):
        cs = pd.cspace
        if cs is None:
            return
        by_slot: dict[int, list] = {}
        for cap in cs.caps:
            if cap.slot is not None:
                by_slot.setdefault(cap.slot, []).append(cap)
        for slot, caps in by_slot.items():
            if len(caps) < 2:
                continue
            related = tuple(Related(c.el.name_span, f"type {c.kind} from '{_source(c)}'") for c in caps)
            for c in caps[1:]:
                self.report(
                    span_of(c.el, "slot"),
                    "CS005",
                    f"overlapping user caps in slot {slot} of protection domain '{pd.name}'",
                    related=related,
                    data={"fix": "free-slot"},
                )
        if not self.ctx.extended:
            return
        cap_ranges = sorted(((c.slot, c) for c in cs.caps if c.slot is not None), key=lambda t: t[0])
        cap = lay.root_capacity
        res = sorted(lay.reserves, key=lambda t: (t[0], t[1]))
        for start, count, r in lay.reserves:
            end = start + count
            if r.slot is not None and end > cap:
                self.report(
                    span_of(r.el, "count"),
                    "CN002",
                    f"reserve [{start}..{end}) exceeds the root CNode of '{pd.name}' (size_bits={lay.root_bits}, {cap} slots)",
                    data={"fix": "raise-size-bits", "min_bits": max(lay.root_bits + 1, (end - 1).bit_length())},
                )
            for slot, c in cap_ranges:
                if start <= slot < end:
                    self.report(
                        r.el.name_span,
                        "CN004",
                        f"reserve [{start}..{end}) of '{pd.name}' overlaps the {c.tag} in slot {slot}",
                        related=(Related(span_of(c.el, "slot"), f"{c.tag} in slot {slot}"),),
                    )
                    break
        # explicit reserves overlapping each other (auto ones are placed around everything)
        explicit = sorted(((s_, n, r) for s_, n, r in res if r.slot is not None), key=lambda t: t[0])
        for (s1, n1, r1), (s2, n2, r2) in zip(explicit, explicit[1:], strict=False):
            if s2 < s1 + n1:
                self.report(
                    r2.el.name_span,
                    "CN004",
                    f"reserve [{s2}..{s2 + n2}) of '{pd.name}' overlaps reserve [{s1}..{s1 + n1})",
                    related=(Related(r1.el.name_span, "the other reserve"),),
                )
        needed = max([s_ + n for s_, n, _ in lay.reserves] + [0])
        if needed > cap or lay.root_used > cap:
            need = max(needed, lay.root_used)
            self.report(
                cs.el.name_span,
                "CN003",
                f"root CNode of '{pd.name}' needs {need} slots but has {cap}",
                data={"fix": "raise-size-bits", "min_bits": max(lay.root_bits + 1, (need - 1).bit_length())},
            )
        if lay.root_bits != 6:
            for el_ in [c.el for c in cs.caps] + [r.el for r in cs.reserves]:
                a = el_.attr("setvar_slot")
                if a is not None:
                    self.report(
                        a.name_span,
                        "CN013",
                        "microkit_cspace_root_slot_to_cptr() assumes a 64-slot root CNode; use setvar_cptr",
                        severity=WARNING,
                        data={"fix": "rename-attribute", "from": "setvar_slot", "to": "setvar_cptr"},
                    )

    # -- grants ----------------------------------------------------------------------
    def caps(self):
        s = self.sys
        for pd in s.pds:
            if pd.cspace is None:
                continue
            seen: dict[tuple[str, str], CapGrant] = {}
            for cap in pd.cspace.caps:
                if cap.kind in ("Tcb", "Sc", "VSpace", "Notification") and cap.pd:
                    key = (cap.kind, cap.pd)
                    if key in seen and seen[key].slot != cap.slot:  # the same slot is CS005
                        self.report(
                            cap.el.name_span,
                            "CS011",
                            f"Duplicate cap mapping of type '{cap.kind}'. Src PD: '{cap.pd}', dest PD: '{pd.name}'.",
                            severity=WARNING,
                            related=(Related(seen[key].el.name_span, "first granted here"),),
                        )
                    elif key not in seen:
                        seen[key] = cap
                src = s.pd_by_name.get(cap.pd) if cap.pd else None
                if src is None:
                    continue
                if src is not pd and cap.kind == "Tcb":
                    self.hint(
                        span_of(cap.el, "pd"),
                        "CS012",
                        f"holder of pd '{src.name}''s TCB can suspend it, rewrite its registers and replace its CSpace/VSpace: "
                        f"'{src.name}' is not isolated from '{pd.name}'",
                    )
                elif src is not pd and cap.kind == "VSpace":
                    self.hint(
                        span_of(cap.el, "pd"),
                        "CS012",
                        f"holder of pd '{src.name}''s VSpace can map and unmap its memory: '{src.name}' is not isolated from '{pd.name}'",
                    )
                elif cap.kind == "Sc" and src.passive:
                    self.report(
                        span_of(cap.el, "pd"),
                        "CS013",
                        f"'{src.name}' is passive: this is the SC that is bound to its notification after init",
                        severity=INFORMATION,
                    )
                elif cap.kind == "Notification" and src is not pd and "r" in cap.rights:
                    self.report(
                        span_of(cap.el, "rights"),
                        "CS016",
                        f"granting Wait on '{src.name}''s notification lets '{pd.name}' consume its signals",
                        severity=WARNING,
                    )

    def fault_handlers(self):
        s = self.sys
        handlers: list[ProtectionDomain] = []
        for pd in s.pds:
            if pd.fault_handler is None:
                continue
            a = pd.el.attr("fault_handler")
            assert a is not None  # lowering sets fault_handler from it
            h = s.pd_by_name.get(pd.fault_handler)
            if h is None:
                self.report(
                    a.value_span,
                    "FH001",
                    f"unknown PD name '{shorten(pd.fault_handler)}'",
                    data={"fix": "nearest-name", "kind": "pd"},
                )
                continue
            if h is pd:
                self.report(a.value_span, "FH001", "a PD cannot be its own fault handler")
                continue
            if h not in handlers:
                handlers.append(h)
            if self.target.arch == "x86_64" and h.vm is not None:
                self.report(
                    a.value_span,
                    "FH005",
                    f"It is not possible for PD '{h.name}' with a bound vCPU to handle the faults of other PDs on x86_64",
                )
            if h.priority <= pd.priority:
                self.report(
                    a.value_span,
                    "FH006",
                    f"fault handler '{h.name}' has lower/equal priority than '{pd.name}': faults wait until '{h.name}' is scheduled",
                    severity=INFORMATION,
                )
        for h in handlers:
            # fault ids share the handler's child id space with its children and vCPUs
            seen: dict[int, tuple[str, Element]] = {}
            for id_, obj in child_id_users(s, h):
                if isinstance(obj, ProtectionDomain) and obj.parent is h:
                    seen.setdefault(id_, (f"child '{obj.name}'", obj.el))
                elif isinstance(obj, ProtectionDomain):
                    if id_ in seen:
                        what, other = seen[id_]
                        self.report(
                            span_of(obj.el, "fault_id"),
                            "FH004",
                            f"fault id {id_} of handler '{h.name}' used by '{obj.name}' and {what}",
                            related=(Related(other.name_span, what),),
                            data={"fix": "next-free-id", "pd": h.name, "space": "fault"},
                        )
                    else:
                        seen[id_] = (f"'{obj.name}'", obj.el)
                elif h.vm is not None:
                    seen.setdefault(id_, (f"vCPU {id_} of '{h.vm.name}'", obj.el))

    def grants(self, kind: str, attr: str, declared: dict, unknown_code: str, word: str) -> dict[str, list]:
        """Name -> [(holder PD, cap)] of every `cap_untyped`/`cap_cnode`; unknown names are reported."""
        out: dict[str, list] = {}
        for pd in self.sys.pds:
            if pd.cspace is None:
                continue
            for cap in pd.cspace.caps:
                name = cap.untyped if kind == "Untyped" else cap.cnode
                if cap.kind != kind or name is None:
                    continue
                if name not in declared:
                    self.report(
                        span_of(cap.el, attr),
                        unknown_code,
                        f"unknown {word} name '{shorten(name)}'",
                        data={"fix": "nearest-name", "kind": kind.lower()},
                    )
                    continue
                out.setdefault(name, []).append((pd, cap))
        return out

    # -- untypeds --------------------------------------------------------------------
    def untypeds(self):
        s = self.sys
        t = self.target
        grants = self.grants("Untyped", "untyped", s.untyped_by_name, "UT010", "untyped")
        fixed = [
            (mr.phys_addr, mr.phys_addr + (s.size_of(mr) or 0), f"memory region '{mr.name}'", mr.el)
            for mr in s.mrs
            if mr.phys_addr is not None and s.size_of(mr)
        ]
        for name, ut in s.untyped_by_name.items():
            holders = grants.get(name, [])
            if not holders:
                self.report(
                    span_of(ut.el, "name"),
                    "UT009",
                    f"untyped '{ut.name}' is never granted (no cap_untyped names it)",
                    severity=WARNING,
                    tags=(UNNECESSARY,),
                )
            elif len(holders) > 1:
                pa, ca = holders[0]
                for pd, cap in holders[1:]:
                    self.report(
                        span_of(cap.el, "untyped"),
                        "UT008",
                        f"untyped '{ut.name}' granted to both '{pa.name}' and '{pd.name}': shared untypeds let either PD exhaust or revoke the other's objects",
                        related=(Related(span_of(ca.el, "untyped"), f"granted to '{pa.name}'"),),
                    )
            if ut.phys_addr is None or ut.size_bits is None:
                continue
            start, end = ut.phys_addr, ut.phys_addr + (1 << ut.size_bits)
            for s2, e2, what, el in fixed + [
                (o.phys_addr, o.phys_addr + (1 << o.size_bits), f"untyped '{o.name}'", o.el)
                for o in s.untyped_by_name.values()
                if o is not ut and o.phys_addr is not None and o.size_bits is not None
            ]:
                if start < e2 and s2 < end:
                    self.report(
                        span_of(ut.el, "phys_addr"),
                        "UT006",
                        f"untyped '{ut.name}' [{start:#x}..{end:#x}) overlaps {what} [{s2:#x}..{e2:#x})",
                        related=(Related(el.name_span, what),),
                    )
                    break
            kf = t.sdk.kernel_facts if t.sdk is not None else None
            if kf and "derived" in kf:
                ks, ke = kf["derived"].get("kernel_self_mem", (0, 0))
                if start < ke and ks < end:
                    self.report(
                        span_of(ut.el, "phys_addr"),
                        "UT006",
                        f"untyped '{ut.name}' [{start:#x}..{end:#x}) overlaps the kernel image [{ks:#x}..{ke:#x})",
                    )
            inside = in_ram(start, end, t)
            if inside is not None and ut.device is not None:
                if ut.device and inside:
                    self.report(
                        span_of(ut.el, "device"),
                        "UT007",
                        f"untyped '{ut.name}' is device=\"true\" but [{start:#x}..{end:#x}) is RAM",
                    )
                elif not ut.device and not inside:
                    self.report(
                        span_of(ut.el, "device"),
                        "UT007",
                        f"untyped '{ut.name}' is device=\"false\" but [{start:#x}..{end:#x}) is outside the RAM of the target",
                    )

    def cnodes(self):
        s = self.sys
        grants = self.grants("CNode", "cnode_name", s.cnode_by_name, "CN007", "CNode")
        post = [cn for cn in s.cnode_by_name.values() if cn.post_capdl_untypeds]
        for extra in post[1:]:
            self.report(
                span_of(extra.el, "post_capdl_untypeds"),
                "UH001",
                'only one <cnode post_capdl_untypeds="true"> can receive the remaining untypeds',
                related=(Related(span_of(post[0].el, "post_capdl_untypeds"), "the first one"),),
            )
        n_caps = self.target.max_num_bootinfo_untypeds
        for name, cn in s.cnode_by_name.items():
            holders = grants.get(name, [])
            if len(holders) > 1:
                pa = holders[0][0]
                for pd, cap in holders[1:]:
                    self.report(
                        span_of(cap.el, "cnode_name"),
                        "CN008",
                        f"CNode '{cn.name}' is granted to '{pa.name}' and '{pd.name}': a CNode writable by two PDs makes them one "
                        "protection domain in terms of authority (PR #539 review)",
                        related=(Related(span_of(holders[0][1].el, "cnode_name"), f"granted to '{pa.name}'"),),
                    )
            if cn.post_capdl_untypeds:
                if not holders:
                    self.report(
                        span_of(cn.el, "name"),
                        "UH002",
                        f"CNode '{cn.name}' receives the remaining untypeds but is granted to no PD",
                    )
                need = math.ceil(math.log2(n_caps + 1))
                if cn.size_bits is not None and cn.size_bits < need:
                    self.report(
                        span_of(cn.el, "size_bits"),
                        "UH003",
                        f"size_bits {cn.size_bits} holds fewer slots than the {n_caps} untypeds the kernel may hand over "
                        f"(at least {need} bits; 9 recommended)",
                        severity=WARNING,
                    )
                for pd, cap in holders[:1]:
                    self.handoff(pd, cap, n_caps)
            elif not holders:
                self.report(
                    span_of(cn.el, "name"),
                    "CN009",
                    f"CNode '{cn.name}' is never granted (no cap_cnode names it)",
                    severity=WARNING,
                    tags=(UNNECESSARY,),
                )

    def handoff(self, pd, cap, n_caps: int):
        need = 8 + 16 + 16 * n_caps
        s = self.sys
        info = None
        for m in pd.maps:
            mr = s.mr_by_name.get(m.mr) if m.mr else None
            if mr is not None and mr.prefill_bootinfo == "post_capdl_untypeds":
                info = mr
                break
        if info is None:
            self.report(
                span_of(cap.el, "cnode_name"),
                "UH004",
                f"'{pd.name}' receives the remaining untypeds but maps no memory_region with prefill_bootinfo=\"post_capdl_untypeds\" "
                f"(needs at least {need} bytes)",
            )
        elif (info_size := s.size_of(info)) is not None and info_size < need:
            self.report(
                span_of(info.el, "size"),
                "UH004",
                f"memory region '{info.name}' of {info_size:#x} bytes is smaller than capDLBootInfo_t ({need} bytes for {n_caps} untypeds)",
            )
        self.hint(
            span_of(cap.el, "cnode_name"),
            "UH005",
            "receives every untyped left after initialisation; until rust-sel4 #322 is finished these include the parents of all other "
            "objects, so this PD can revoke any object in the system. The system is no longer static (seL4/rfcs post-initialiser RFC).",
        )

    # -- memory ------------------------------------------------------------------------
    def budget(self, b: MemoryBudget):
        s = self.sys
        t = self.target
        where = s.root.name_span
        if t.normal_regions is None:
            self.report(
                where,
                "UT014",
                f"the target {t.label} has no RAM regions (on x86_64 the memory map is known only at boot): memory budget checks are skipped",
                severity=INFORMATION,
            )
            return
        ram = b.ram or 0
        need = b.regions + b.untypeds
        if need > ram:
            self.report(
                where,
                "UT011",
                f"untyped + memory regions need {human_size(need)} but board '{t.board or t.arch}' has {human_size(ram)} of RAM",
                related=self._consumers(),
            )
        elif b.total > ram * 0.9:
            self.report(
                where,
                "UT012",
                f"memory regions, untypeds and kernel objects need {human_size(b.total)}, more than 90% of the "
                f"{human_size(ram)} of RAM on '{t.board or t.arch}'",
                severity=WARNING,
            )
        for ut in s.untyped_by_name.values():
            if ut.size_bits is None or ut.phys_addr is not None or is_device_untyped(ut, t):
                continue
            size = 1 << ut.size_bits
            if not any(((r.start + size - 1) & ~(size - 1)) + size <= r.end for r in t.normal_regions):
                regions = ", ".join(f"[{r.start:#x}..{r.end:#x})" for r in t.normal_regions)
                self.report(
                    span_of(ut.el, "size_bits" if ut.el.attr("size_bits") is not None else "size"),
                    "UT013",
                    f"no 2^{ut.size_bits}-aligned {human_size(size)} block exists in RAM regions {regions}",
                )

    def _consumers(self):
        s = self.sys
        items = [
            (s.size_of(mr) or 0, mr.el, f"memory region '{mr.name}' ({human_size(s.size_of(mr) or 0)})")
            for mr in s.mrs
            if mr.phys_addr is None
        ]
        items += [
            (1 << ut.size_bits, ut.el, f"untyped '{ut.name}' ({human_size(1 << ut.size_bits)})")
            for ut in s.untyped_by_name.values()
            if ut.size_bits is not None and ut.phys_addr is None
        ]
        items.sort(key=lambda t: -t[0])
        return tuple(Related(el.name_span, what) for _, el, what in items[:3])


def _source(cap) -> str:
    return (
        cap.pd or cap.untyped or cap.cnode or (f"function {cap.function_id:#x}" if cap.function_id is not None else "?")
    )


def check_extensions(system: System, layout: Layout, ctx: Context) -> list[Diagnostic]:
    return ExtensionChecker(system, layout, ctx).run()
