"""The authority view: which PD can signal, call, stop, rewrite or fault to which.

Drawn from whatever resolved in the analysis, so a half-finished document still gives a
picture: a name that resolves to nothing becomes a dashed placeholder node.
"""

from __future__ import annotations

from collections import Counter

from sdf_lsp.graph.dot import Dot, Html, html
from sdf_lsp.model.types import CapGrant, ChannelEnd, ProtectionDomain
from sdf_lsp.model.values import human_size
from sdf_lsp.resolve.system import System

MAX_EDGES = 300
MAX_PDS = 128
WIDE = 12  # more PDs than this are laid out left to right: fan-outs become columns, not a very wide row
DEVICE_NODES = 4  # IRQs (or I/O ports) per PD drawn one by one; more share one node

# edge ranks: what the edge budget keeps first
STRUCTURE, BREAKS, FAULT, CHILD, CAP, CHANNEL = range(6)

GREY, BLUE, PURPLE, ORANGE, GREEN, RED = "#5f6368", "#1a73e8", "#7b1fa2", "#e37400", "#188038", "#d93025"
BREAK_STYLE = {"color": RED, "fontcolor": RED, "penwidth": "2.5", "style": "bold"}
CAP_NAMES = {
    "Tcb": "TCB",
    "Sc": "SC",
    "VSpace": "VSpace",
    "Notification": "notification",
    "Smc": "SMC",
    "Untyped": "untyped",
    "CNode": "CNode",
}


def pd_key(pd: ProtectionDomain) -> str:
    """The name used in ids: the PD's name, or `#offset` (where it is declared) for a PD without one."""
    return pd.name if pd.name is not None else f"#{pd.el.start}"


def _arrow(end: ChannelEnd) -> str:
    """Arrow drawn at the *other* end: what this end may do to it."""
    return ("odiamond" if end.pp else "") + ("vee" if end.notify else "") or "none"


def _flags(end: ChannelEnd) -> str:
    return "+".join(f for f, on in (("notify", end.notify), ("pp", end.pp)) if on) or "no notify"


class AuthorityGraph:
    def __init__(self, system: System):
        self.s = system
        self.g = Dot(
            graph={
                "rankdir": "LR" if len(system.pds) > WIDE else "TB",
                "fontname": "Helvetica",
                "fontsize": "10",
                "nodesep": "0.35",
                "ranksep": "0.6",
                "outputorder": "edgesfirst",
                "id": "authority",
                "class": "authority",
            },
            node={
                "fontname": "Helvetica",
                "fontsize": "10",
                "shape": "box",
                "style": "rounded,filled",
                "fillcolor": "#e8f0fe",
            },
            edge={"fontname": "Helvetica", "fontsize": "8", "arrowsize": "0.7"},
            max_edges=MAX_EDGES,
        )
        self.pd_nodes: dict[int, str] = {}  # id(pd) -> node
        self.objects: dict[str, str] = {}  # "untyped:x", "cnode:x", "smc", "missing:..." -> node
        self.cnode_holders = Counter(
            c.cnode for pd in system.pds if pd.cspace for c in pd.cspace.caps if c.kind == "CNode" and c.cnode
        )

    def build(self) -> str:
        for root in self.s.root_pds:
            self.pd_tree(root)
        self.declarations()
        self.channels()
        self.caps()
        self.faults()
        self.legend()
        left_out = len(self.s.pds) - len(self.pd_nodes)
        if left_out:
            self.g.skip("PDs", left_out, len(self.s.pds))
        return self.g.finish(
            f"(a picture keeps at most {MAX_PDS} PDs and {MAX_EDGES} edges; `sdf-lsp check` reports on everything)"
        )

    # -- nodes -----------------------------------------------------------------------
    def pd_tree(self, pd: ProtectionDomain):
        if len(self.pd_nodes) >= MAX_PDS:
            return
        key = pd_key(pd)
        cluster = bool(pd.children or pd.vm)
        if cluster:
            self.g.open_cluster(
                f"pd-cluster:{key}",
                "pd-cluster",
                label="",
                style="rounded,filled",
                fillcolor="#f8f9fa",
                color="#bdc1c6",
            )
        lines = [pd.name or "(unnamed PD)", f"priority {pd.priority}"]
        extra = []
        if pd.passive:
            extra.append("passive")
        if pd.el.attr("budget") is not None or pd.el.attr("period") is not None:
            extra.append(f"budget {pd.budget}/{pd.period} us")
        if extra:
            lines.append(", ".join(extra))
        node = self.g.node(
            f"pd:{key}",
            "pd" + (" passive" if pd.passive else "") + (" nested" if pd.parent else ""),
            label="\n".join(lines),
            fillcolor="#f1f3f4" if pd.passive else None,
            tooltip=f"PD {key}",
        )
        self.pd_nodes[id(pd)] = node
        self.devices(pd, key, node)
        if pd.vm is not None:
            vm = pd.vm
            vkey = vm.name or f"{key}/vm"
            label = f"VM {vm.name or '?'}\n{len(vm.vcpus)} vCPU{'s' if len(vm.vcpus) != 1 else ''}"
            vnode = self.g.node(f"vm:{vkey}", "vm", label=label, shape="box3d", style="filled", fillcolor="#fef7e0")
            self.g.edge(STRUCTURE, "VM edges", node, vnode, f"vm-edge:{vkey}", "vm", color=GREY, arrowhead="odot")
        for child in pd.children:
            self.pd_tree(child)
        if cluster:
            self.g.close_cluster()
        for child in pd.children:
            cnode = self.pd_nodes.get(id(child))
            if cnode is None:
                self.g.skip("parent-child edges")
                continue
            self.g.edge(
                CHILD,
                "parent-child edges",
                node,
                cnode,
                f"child:{pd_key(child)}",
                "child",
                color=PURPLE,
                fontcolor=PURPLE,
                label=f"child {child.id if child.id is not None else '?'}",
                tooltip=f"'{key}' holds the TCB of its child '{pd_key(child)}' and receives its faults",
            )

    def devices(self, pd: ProtectionDomain, key: str, node: str):
        """IRQs and I/O ports: small nodes pointing at the PD they signal."""
        groups = (
            ("irq", "IRQ", [(i.id, "?" if i.number is None else str(i.number)) for i in pd.irqs]),
            (
                "ioport",
                "I/O port",
                [(p.id, f"{p.addr:#x}+{p.size}" if p.addr is not None and p.size else "?") for p in pd.ioports],
            ),
        )
        style = {"shape": "cds", "style": "filled", "fillcolor": "#fce8e6", "fontsize": "8", "height": "0.25"}
        for kind, title, items in groups:
            if len(items) <= DEVICE_NODES:
                for ident, what in items:
                    tag = "?" if ident is None else str(ident)
                    dev = self.g.node(f"{kind}:{key}:{tag}", kind, label=f"{title} {what}\nid {tag}", **style)
                    self.g.edge(
                        STRUCTURE,
                        f"{title} edges",
                        dev,
                        node,
                        f"{kind}-edge:{key}:{tag}",
                        kind,
                        color=GREY,
                        arrowsize="0.5",
                    )
            else:
                shown = ", ".join(what for _, what in items[:8]) + (", ..." if len(items) > 8 else "")
                dev = self.g.node(
                    f"{kind}s:{key}", f"{kind} {kind}-group", label=f"{len(items)} {title}s\n{shown}", **style
                )
                self.g.edge(
                    STRUCTURE, f"{title} edges", dev, node, f"{kind}s-edge:{key}", kind, color=GREY, arrowsize="0.5"
                )

    def declarations(self):
        """Untypeds and CNodes of the extended dialect: objects a grant can point at."""
        for ut in self.s.untypeds:
            if ut.name is None or self.s.untyped_by_name.get(ut.name) is not ut:
                continue
            size = human_size(1 << ut.size_bits) if ut.size_bits is not None else "?"
            where = f"\n@ {ut.phys_addr:#x}" if ut.phys_addr is not None else ""
            self.objects[f"untyped:{ut.name}"] = self.g.node(
                f"untyped:{ut.name}",
                "untyped",
                label=f"untyped {ut.name}\n{size}{where}",
                shape="folder",
                style="filled",
                fillcolor="#fef7e0",
            )
        for cn in self.s.cnodes:
            if cn.name is None or self.s.cnode_by_name.get(cn.name) is not cn:
                continue
            slots = f"{1 << cn.size_bits} slots" if cn.size_bits is not None else "? slots"
            extra = {"color": RED, "penwidth": "2"} if cn.post_capdl_untypeds else {}
            self.objects[f"cnode:{cn.name}"] = self.g.node(
                f"cnode:{cn.name}",
                "cnode" + (" post-capdl-untypeds" if cn.post_capdl_untypeds else ""),
                label=f"CNode {cn.name}\n{slots}" + ("\nall remaining untypeds" if cn.post_capdl_untypeds else ""),
                shape="tab",
                style="filled",
                fillcolor="#e6f4ea",
                **extra,
            )

    def placeholder(self, kind: str, name: str | None, why: str) -> str:
        """A dashed node standing for a name that resolves to nothing."""
        key = f"missing:{kind}:{name if name is not None else '?'}"
        node = self.objects.get(key)
        if node is None:
            label = why if kind == "end" else f"{name or '?'}\n({why})"
            node = self.g.node(
                key,
                f"placeholder placeholder-{kind}",
                label=label,
                style="dashed",
                color=GREY,
                fontcolor=GREY,
                fillcolor="white",
            )
            self.objects[key] = node
        return node

    def pd_ref(self, name: str | None) -> str | None:
        """The node of a PD named in an attribute (a placeholder if it names none; None if
        the PD exists but was left out of the picture)."""
        if name is None:
            return self.placeholder("pd", None, "no pd given")
        pd = self.s.pd_by_name.get(name)
        if pd is None:
            return self.placeholder("pd", name, "no such PD")
        return self.pd_nodes.get(id(pd))

    # -- edges -----------------------------------------------------------------------
    def channels(self):
        for index, ch in enumerate(self.s.channels):
            if not ch.ends:
                continue
            a = ch.ends[0]
            tail = self.pd_ref(a.pd)
            if len(ch.ends) > 1:
                b = ch.ends[1]
                head = self.pd_ref(b.pd)
            else:  # a missing second end: no id and no rights
                b = ChannelEnd(ch.el, None, None, notify=False, pp=False)
                head = self.placeholder("end", str(index), f"channel {index}:\nsecond end missing")
            if tail is None or head is None:
                self.g.skip("channels")
                continue
            pp = a.pp or b.pp
            self.g.edge(
                CHANNEL,
                "channels",
                tail,
                head,
                f"channel:{index}",
                "channel" + (" pp" if pp else ""),
                dir="both",
                arrowhead=_arrow(a),
                arrowtail=_arrow(b),
                color=BLUE if pp else GREY,
                taillabel="?" if a.id is None else str(a.id),
                headlabel="?" if b.id is None else str(b.id),
                tooltip=f"channel {index}: {a.pd} id {a.id} ({_flags(a)}) - {b.pd} id {b.id} ({_flags(b)})",
            )

    def cap_object(self, cap: CapGrant) -> str | None:
        if cap.kind in ("Tcb", "Sc", "VSpace", "Notification"):
            return self.pd_ref(cap.pd)
        if cap.kind == "Smc":
            node = self.objects.get("smc")
            if node is None:
                node = self.objects["smc"] = self.g.node(
                    "smc", "smc", label="ARM SMC", shape="component", style="filled", fillcolor="#fce8e6"
                )
            return node
        kind, name = ("untyped", cap.untyped) if cap.kind == "Untyped" else ("cnode", cap.cnode)
        return self.objects.get(f"{kind}:{name}") or self.placeholder(
            kind, name, f"no such {'untyped' if kind == 'untyped' else 'CNode'}"
        )

    def breaks(self, holder: ProtectionDomain, cap: CapGrant) -> str | None:
        """Why this grant weakens isolation, or None."""
        src = self.s.pd_by_name.get(cap.pd) if cap.pd else None
        other = src is not None and src is not holder
        if cap.kind == "Tcb" and other:
            return f"'{pd_key(holder)}' can suspend '{cap.pd}', rewrite its registers and replace its CSpace/VSpace"
        if cap.kind == "VSpace" and other:
            return f"'{pd_key(holder)}' can map and unmap the memory of '{cap.pd}'"
        if cap.kind == "Notification" and other and "r" in cap.rights:
            return f"'{pd_key(holder)}' can consume the signals of '{cap.pd}'"
        if cap.kind == "Untyped":
            return f"'{pd_key(holder)}' creates kernel objects at run time from untyped '{cap.untyped}'"
        if cap.kind == "CNode" and cap.cnode:
            decl = self.s.cnode_by_name.get(cap.cnode)
            if decl is not None and decl.post_capdl_untypeds:
                return f"'{pd_key(holder)}' receives every untyped left after the system is built"
            if self.cnode_holders[cap.cnode] > 1:
                return f"CNode '{cap.cnode}' is shared: its holders are one protection domain in terms of authority"
        return None

    def caps(self):
        for pd in self.s.pds:
            if pd.cspace is None:
                continue
            key = pd_key(pd)
            holder = self.pd_nodes.get(id(pd))
            for i, cap in enumerate(pd.cspace.caps):
                target = self.cap_object(cap)
                if holder is None or target is None:
                    self.g.skip("cap grants")
                    continue
                slot = str(cap.slot) if cap.slot is not None else f"?{i}"
                what = CAP_NAMES.get(cap.kind, cap.kind)
                if cap.kind == "Smc":
                    what += f" {cap.function_id:#x}" if cap.function_id is not None else ""
                elif cap.kind == "Notification":
                    what += f" {cap.rights}" + (f" badge {cap.badge:#x}" if cap.badge else "")
                why = self.breaks(pd, cap)
                style = BREAK_STYLE if why else {"color": GREEN, "fontcolor": GREEN}
                self.g.edge(
                    BREAKS if why else CAP,
                    "cap grants",
                    holder,
                    target,
                    f"cap:{key}:{slot}",
                    f"cap cap-{cap.kind.lower()}" + (" breaks-isolation" if why else ""),
                    label=f"{what} [{slot}]",
                    tooltip=why or f"'{key}' holds {what} in root slot {slot}",
                    **style,
                )

    def faults(self):
        for pd in self.s.pds:
            if pd.fault_handler is None:
                continue
            key = pd_key(pd)
            client = self.pd_nodes.get(id(pd))
            handler = self.pd_ref(pd.fault_handler)
            if client is None or handler is None:
                self.g.skip("fault edges")
                continue
            self.g.edge(
                FAULT,
                "fault edges",
                client,
                handler,
                f"fault:{key}",
                "fault",
                color=ORANGE,
                fontcolor=ORANGE,
                style="dashed",
                label=f"faults (id {pd.fault_id if pd.fault_id is not None else '?'})",
                tooltip=f"faults of '{key}' go to '{pd.fault_handler}'",
            )

    def legend(self):
        rows = [
            (GREY, "--&gt;", "channel: notify (channel ids at the ends)"),
            (BLUE, "--&lt;&gt;", "protected procedure call (pp)"),
            (PURPLE, "--&gt;", "parent to child (child's TCB and faults)"),
            (ORANGE, "- -&gt;", "faults to a fault handler"),
            (GREEN, "--&gt;", "cap grant: holder to object [root slot]"),
            (RED, "<B>==&gt;</B>", "breaks isolation"),
            (GREY, "[ - - ]", "dashed box: a name that resolves to nothing"),
        ]
        body = "".join(
            f'<TR><TD ALIGN="LEFT"><FONT COLOR="{c}">{sym}</FONT></TD><TD ALIGN="LEFT">{html(t)}</TD></TR>'
            for c, sym, t in rows
        )
        label = Html(
            f'<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="1"><TR><TD COLSPAN="2"><B>Legend</B></TD></TR>{body}</TABLE>'
        )
        self.g.node("legend", "legend", shape="box", style="rounded", fontsize="9", label=label)


def authority_dot(system: System) -> str:
    return AuthorityGraph(system).build()
