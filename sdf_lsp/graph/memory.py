"""The memory view: every address space as a table (program segments, maps, IPC buffer,
stack), memory regions shared by several address spaces linked across them, and the
system's RAM budget as a bar against the target's RAM.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sdf_lsp.graph.authority import pd_key
from sdf_lsp.graph.dot import Dot, Html, html
from sdf_lsp.layout.memory import MemoryBudget
from sdf_lsp.model.types import Map, MemoryRegion, ProtectionDomain, VirtualMachine
from sdf_lsp.model.values import human_size
from sdf_lsp.resolve.system import System
from sdf_lsp.target import Target

MAP_ROWS = 16  # maps of one address space listed one by one; more are summarised by sharer
MAX_EDGES = 300
MAX_SPACES = 128
BAR_WIDTH = 480
PAGE = 0x1000

COLOURS = {"image": "#e8f0fe", "map": "#ffffff", "uncached": "#fef7e0", "kernel": "#f1f3f4", "missing": "#fce8e6"}
BUDGET_COLOURS = (("memory regions", "#8ab4f8"), ("untypeds", "#fdd663"), ("kernel objects", "#c58af9"))


@dataclass
class Row:
    start: int | None
    end: int | None
    perms: str
    cached: str
    what: str
    kind: str  # a COLOURS key
    port: str | None = None


@dataclass
class Space:
    """One virtual address space: a PD's or a VM's (guest physical)."""

    key: str  # the id: pd:<name> or vm:<name>
    title: str
    maps: list[Map]
    owner: ProtectionDomain | VirtualMachine
    node: str = ""
    ports: dict[int, str] = field(default_factory=dict)  # id(map) -> port of its row


def _perms(text: str) -> str:
    return "".join(c if c in text else "-" for c in "rwx")


def _mono(text: str) -> str:
    """Fixed-width text for addresses (Graphviz rejects an empty FONT element)."""
    return f'<FONT FACE="Courier">{html(text)}</FONT>' if text else ""


def _range(start: int | None, end: int | None) -> str:
    if start is None:
        return ""
    return f"{start:#x}-{end:#x}" if end is not None else f"{start:#x}-?"


class MemoryGraph:
    def __init__(self, system: System, target: Target, budget: MemoryBudget | None):
        self.s = system
        self.target = target
        self.budget = budget
        self.spaces: dict[int, Space] = {}  # id(PD or VM) -> its address space
        self.users: dict[int, frozenset[str]] = {}  # id(memory region) -> titles of the spaces mapping it
        self.g = Dot(
            graph={
                "rankdir": "LR",
                "fontname": "Helvetica",
                "fontsize": "10",
                "nodesep": "0.25",
                "ranksep": "1.2",
                "id": "memory",
                "class": "memory",
            },
            node={"fontname": "Helvetica", "fontsize": "9", "shape": "plain"},
            edge={
                "fontname": "Helvetica",
                "fontsize": "8",
                "color": "#1a73e8",
                "fontcolor": "#1a73e8",
                "dir": "none",
                "penwidth": "1.4",
            },
            max_edges=MAX_EDGES,
        )

    def build(self) -> str:
        self.budget_node()
        for pd in self.s.pds:
            if len(self.spaces) >= MAX_SPACES:
                break
            self.pd_spaces(pd)
        drawn_pds = sum(1 for sp in self.spaces.values() if sp.key.startswith("pd:"))
        if drawn_pds < len(self.s.pds):
            self.g.skip("PDs", len(self.s.pds) - drawn_pds, len(self.s.pds))
        self.shares()
        return self.g.finish(f"(a picture keeps at most {MAX_SPACES} address spaces and {MAX_EDGES} links)")

    # -- address spaces --------------------------------------------------------------
    def pd_spaces(self, pd: ProtectionDomain):
        key = pd_key(pd)
        vm = pd.vm
        if vm is not None:
            self.g.open_cluster(f"as-cluster:{key}", "as-cluster", label="", style="rounded,dashed", color="#bdc1c6")
        space = Space(f"pd:{key}", f"PD {key}", pd.maps, pd)
        rows = (
            self.image_rows(pd)
            + self.map_rows(space)
            + [
                Row(
                    self.target.pd_stack_bottom(pd.stack_size),
                    self.target.pd_stack_top(),
                    "rw-",
                    "",
                    f"stack {human_size(pd.stack_size)}",
                    "kernel",
                ),
                Row(
                    self.target.ipc_buffer_vaddr, self.target.ipc_buffer_vaddr + PAGE, "rw-", "", "IPC buffer", "kernel"
                ),
            ]
        )
        self.table(space, rows, pd)
        self.spaces[id(pd)] = space
        if vm is not None:
            vkey = vm.name or f"{key}/vm"
            vspace = Space(f"vm:{vkey}", f"VM {vkey} (guest physical)", vm.maps, vm)
            self.table(vspace, self.map_rows(vspace), vm)
            self.spaces[id(vm)] = vspace
            self.g.close_cluster()

    def image_rows(self, pd: ProtectionDomain) -> list[Row]:
        """The program image's loadable segments, when the image was found."""
        path = pd.program_image
        if path is None:
            return [Row(None, None, "", "", "no program image", "missing")]
        program = self.s.programs.get(pd)
        if program is None or not program.found:
            why = program.error if program is not None else "not found on the search paths"
            return [Row(None, None, "", "", f"{path} ({why})", "missing")]
        return [
            Row(
                seg.vaddr,
                seg.vaddr + seg.memsz,
                seg.perms,
                "",
                f"{path} segment {i} ({human_size(seg.memsz)})",
                "image",
            )
            for i, seg in enumerate(program.segments)
        ]

    def _sharers(self, m: Map, owner: ProtectionDomain | VirtualMachine) -> tuple[str, ...] | None:
        """Other address spaces mapping the same region (None: the region is unknown)."""
        mr = self.s.mr_by_name.get(m.mr) if m.mr else None
        if mr is None:
            return None
        users = self.users.get(id(mr))
        if users is None:
            users = self.users[id(mr)] = frozenset(_title(user) for user, _ in self.s.uses(mr))
        return tuple(sorted(users - {_title(owner)}))

    def map_rows(self, space: Space) -> list[Row]:
        """One row per map, or past MAP_ROWS one row per set of sharers."""
        if len(space.maps) <= MAP_ROWS:
            return [self.map_row(space, i, m) for i, m in enumerate(space.maps)]
        groups: dict[tuple[str, ...] | None, list[Map]] = {}
        for m in space.maps:
            groups.setdefault(self._sharers(m, space.owner), []).append(m)
        ordered = sorted(groups.items(), key=lambda kv: -len(kv[1]))
        labelled = []
        for sharers, maps in ordered[: MAP_ROWS - 1] if len(ordered) > MAP_ROWS else ordered:
            if sharers is None:
                labelled.append((f"{len(maps)} maps of unknown memory regions", "missing", maps))
            elif not sharers:
                labelled.append((f"{len(maps)} private maps", "map", maps))
            else:
                names = ", ".join(sharers[:3]) + (f" +{len(sharers) - 3}" if len(sharers) > 3 else "")
                labelled.append((f"{len(maps)} maps shared with {names}", "map", maps))
        if len(ordered) > MAP_ROWS:
            rest = [m for _, ms in ordered[MAP_ROWS - 1 :] for m in ms]
            labelled.append(
                (
                    f"{len(rest)} maps shared with {len(ordered) - MAP_ROWS + 1} other sets of address spaces",
                    "map",
                    rest,
                )
            )
        rows = []
        for g, (what, kind, maps) in enumerate(labelled):
            port = f"g{g}"
            for m in maps:
                space.ports[id(m)] = port
            rows.append(self.group_row(what, kind, maps, port))
        return rows

    def map_row(self, space: Space, i: int, m: Map) -> Row:
        port = space.ports[id(m)] = f"m{i}"
        mr = self.s.mr_by_name.get(m.mr) if m.mr else None
        if mr is None:
            return Row(m.vaddr, None, _perms(m.perms), "", f"{m.mr or '?'} (no such memory region)", "missing", port)
        mr_size = self.s.size_of(mr)
        end = m.vaddr + mr_size if m.vaddr is not None and mr_size is not None else None
        size = human_size(mr_size) if mr_size is not None else "? bytes"
        phys = f" @ {mr.phys_addr:#x}" if mr.phys_addr is not None else ""
        return Row(
            m.vaddr,
            end,
            _perms(m.perms),
            "cached" if m.cached else "uncached",
            f"{m.mr} {size}{phys}",
            "map" if m.cached else "uncached",
            port,
        )

    def group_row(self, what: str, kind: str, maps: list[Map], port: str) -> Row:
        """A summary of many maps: their span, total size, perms and caching."""
        size = 0
        starts, ends = [], []
        for m in maps:
            mr = self.s.mr_by_name.get(m.mr) if m.mr else None
            mr_size = self.s.size_of(mr) if mr is not None else None
            if mr_size is not None:
                size += mr_size
                if m.vaddr is not None:
                    starts.append(m.vaddr)
                    ends.append(m.vaddr + mr_size)
        cached = {m.cached for m in maps}
        return Row(
            min(starts) if starts else None,
            max(ends) if ends else None,
            _perms("".join(m.perms for m in maps)),
            "mixed" if len(cached) > 1 else ("cached" if True in cached else "uncached"),
            f"{what} ({human_size(size)})",
            kind,
            port,
        )

    def table(self, space: Space, rows: list[Row], owner: ProtectionDomain | VirtualMachine):
        rows.sort(key=lambda r: (r.start is None, r.start or 0))
        cells = []
        for r in rows:
            bg = f' BGCOLOR="{COLOURS[r.kind]}"'
            port = f' PORT="{r.port}"' if r.port else ""
            port_in = f' PORT="{r.port}_in"' if r.port else ""
            cells.append(
                f'<TR><TD ALIGN="LEFT"{bg}{port_in}>{_mono(_range(r.start, r.end))}</TD><TD{bg}>{_mono(r.perms)}</TD>'
                f'<TD{bg}>{r.cached}</TD><TD ALIGN="LEFT"{bg}{port}>{html(r.what)}</TD></TR>'
            )
        title = html(space.title)
        if isinstance(owner, ProtectionDomain) and owner.parent is not None:
            title += f" (child of {html(pd_key(owner.parent))})"
        label = Html(
            f'<TABLE BORDER="1" CELLBORDER="1" CELLSPACING="0" CELLPADDING="3" COLOR="#5f6368">'
            f'<TR><TD COLSPAN="4" BGCOLOR="#d2e3fc"><B>{title}</B></TD></TR>{"".join(cells)}</TABLE>'
        )
        space.node = self.g.node(space.key, "address-space " + space.key.split(":", 1)[0], label=label)

    # -- links -----------------------------------------------------------------------
    def shares(self):
        """Memory regions mapped by several address spaces, linked from the first user;
        regions that land on the same two rows share one link."""
        links: dict[tuple[str, str], tuple[Space, Space, list[tuple[MemoryRegion, int]]]] = {}
        for mr in self.s.mrs:
            users = self.s.uses(mr)
            if len(users) < 2:
                continue
            first_owner, first = users[0]
            anchor = self.spaces.get(id(first_owner))
            for k, (owner, m) in enumerate(users[1:], 1):
                if owner is first_owner:
                    continue
                other = self.spaces.get(id(owner))
                if anchor is None or other is None:
                    self.g.skip("shared-region links")
                    continue
                # out of the right edge of one row, into the left edge of the other
                key = (f"{anchor.node}:{anchor.ports[id(first)]}:e", f"{other.node}:{other.ports[id(m)]}_in:w")
                links.setdefault(key, (anchor, other, []))[2].append((mr, k))
        for (tail, head), (a, b, regions) in links.items():
            if len(regions) == 1:
                mr, k = regions[0]
                self.g.edge(
                    0,
                    "shared-region links",
                    tail,
                    head,
                    f"share:{mr.name}:{k}",
                    "share",
                    tooltip=f"memory region {mr.name} ({human_size(self.s.size_of(mr) or 0)})",
                )
            else:
                total = human_size(sum(self.s.size_of(mr) or 0 for mr, _ in regions))
                self.g.edge(
                    0,
                    "shared-region links",
                    tail,
                    head,
                    f"shares:{a.key}:{b.key}",
                    "share share-group",
                    label=f"{len(regions)} regions, {total}",
                    penwidth="2.2",
                    tooltip=f"{len(regions)} memory regions shared by {a.title} and {b.title} ({total})",
                )

    # -- the budget bar --------------------------------------------------------------
    def budget_node(self):
        b = self.budget
        if b is None:
            self.g.node("budget", "budget", label="RAM budget: not computed", shape="box")
            return
        total = b.total
        ram = b.ram
        parts = [
            (name, size, colour)
            for (name, colour), size in zip(BUDGET_COLOURS, (b.regions, b.untypeds, b.kernel_objects), strict=False)
        ]
        if ram is None:
            title = f"RAM budget: {human_size(total)} needed; the target's RAM is unknown"
        elif total <= ram:
            title = f"RAM budget: {human_size(total)} of {human_size(ram)} ({100 * total / ram:.1f} %)"
            parts.append(("free", ram - total, "#e8eaed"))
        else:
            title = f"RAM budget: {human_size(total)} needed, {human_size(total - ram)} more than the {human_size(ram)} of RAM"
        scale = BAR_WIDTH / max(total if ram is None else max(ram, total), 1)
        bar = (
            "".join(
                f'<TD BGCOLOR="{c}" WIDTH="{max(round(size * scale), 2)}" HEIGHT="18"></TD>'
                for _, size, c in parts
                if size
            )
            or '<TD WIDTH="480" HEIGHT="18">empty</TD>'
        )
        key = "".join(
            f'<TD BGCOLOR="{c}" FIXEDSIZE="TRUE" WIDTH="10" HEIGHT="10"></TD><TD ALIGN="LEFT">{html(n)} {human_size(s)}</TD>'
            for n, s, c in parts
        )
        biggest = ", ".join(f"{html(name)} {human_size(size)}" for name, size in b.biggest(3))
        label = Html(
            f'<TABLE BORDER="1" CELLBORDER="0" CELLSPACING="2" CELLPADDING="2" COLOR="#5f6368">'
            f'<TR><TD ALIGN="LEFT"><B>{html(title)}</B></TD></TR>'
            f'<TR><TD><TABLE BORDER="1" CELLBORDER="0" CELLSPACING="0" CELLPADDING="0"><TR>{bar}</TR></TABLE></TD></TR>'
            f'<TR><TD><TABLE BORDER="0" CELLSPACING="2" CELLPADDING="1"><TR>{key}</TR></TABLE></TD></TR>'
            + (f'<TR><TD ALIGN="LEFT">largest kernel-object users: {biggest}</TD></TR>' if biggest else "")
            + "</TABLE>"
        )
        self.g.node("budget", "budget", label=label)


def _title(owner: object) -> str:
    """How the table of a map's owner (a PD or a VM) is headed."""
    if isinstance(owner, VirtualMachine):
        return f"VM {owner.name or '?'}"
    assert isinstance(owner, ProtectionDomain)
    return f"PD {pd_key(owner)}"


def memory_dot(system: System, target: Target, budget: MemoryBudget | None) -> str:
    return MemoryGraph(system, target, budget).build()
