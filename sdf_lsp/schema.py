"""The one table of SDF elements and attributes.

Every released Microkit SDF (1.4 to 2.3: each entry says which releases accept it, `since`
and `until`) plus the extended dialect (`dialect="extended"` entries). The checks take their
attribute allow-lists and defaults from here, completion its candidates and snippets, hover
its documentation, and `schemas/*.xsd` are generated from it (`sdf_lsp.xsd`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

Release = tuple[int, int]

UPSTREAM = "microkit-2.3"  # the newest release; `extended` builds on it
EXTENDED = "extended"
#: The Microkit releases a dialect can name, oldest first (each release's own parser rules).
RELEASES: dict[str, Release] = {
    "microkit-1.4": (1, 4),
    "microkit-2.0": (2, 0),
    "microkit-2.1": (2, 1),
    "microkit-2.2": (2, 2),
    UPSTREAM: (2, 3),
}
LATEST: Release = RELEASES[UPSTREAM]
OLDEST: Release = (1, 4)
DIALECTS = (EXTENDED, *reversed(RELEASES))


def release_of(dialect: str) -> Release:
    """The Microkit release whose rules a dialect follows (`extended`: the newest)."""
    return RELEASES.get(dialect, LATEST)


def release_text(release: Release) -> str:
    return f"{release[0]}.{release[1]}"


def dialect_of(release: Release) -> str:
    """The dialect of a release (`microkit-2.2`); a release newer than the newest known is the
    newest, one older than the oldest the oldest."""
    return f"microkit-{release_text(max(min(release, LATEST), OLDEST))}"


BOOTINFO_TYPES = ("x86_vbe", "x86_mbmmap", "x86_acpi_rsdp", "x86_framebuffer", "x86_tsc_freq", "fdt")


@dataclass(frozen=True)
class SameAs:
    """A default that is the value of another attribute of the same element (`period` = `budget`)."""

    attr: str


Default = int | bool | str | SameAs


@dataclass(frozen=True)
class Attr:
    name: str
    type: str  # name num dec bool enum path symbol perms ioperms rights duration pci ref:<kind>
    doc: str
    required: bool = False
    default: Default | None = None  # the value an absent attribute has, typed (bool for "bool", int for numbers)
    values: tuple[str, ...] = ()
    dialect: str = UPSTREAM  # UPSTREAM: in both dialects; EXTENDED: extension only
    arches: tuple[str, ...] = ()  # empty: every arch
    parents: tuple[str, ...] = ()  # only when the element's parent is one of these
    variants: tuple[str, ...] = ()  # irq variants (arm, ioapic, msi) the attribute belongs to
    extended_values: tuple[str, ...] = ()  # enum values only the extended dialect accepts
    deprecated: bool = False
    hex: bool = False  # numbers are written in hex (its default is shown as 0x...)
    # upstream accepts (and ignores) the attribute on the other arches; `arches` says where it means something
    ignored_on_other_arches: bool = False
    # under another parent the checker reports this code instead of an invalid attribute
    misplaced_code: str | None = None
    since: Release = OLDEST  # the first release that accepts it
    until: Release | None = None  # the last release that accepts it (None: still accepted)
    arches_since: Release | None = None  # `arches` restricts it from this release on (before: every arch)
    required_until: Release | None = None  # required up to this release even if not `required`

    @property
    def default_text(self) -> str | None:
        """The default as a user writes it in an SDF (`0x2000`, `true`), or `= budget`."""
        d = self.default
        if d is None:
            return None
        if isinstance(d, SameAs):
            return f"= {d.attr}"
        if isinstance(d, bool):
            return "true" if d else "false"
        if isinstance(d, int):
            return f"{d:#x}" if self.hex else str(d)
        return d


@dataclass(frozen=True)
class Elem:
    name: str
    doc: str
    parents: tuple[str, ...]
    attrs: tuple[Attr, ...] = ()
    children: tuple[str, ...] = ()
    dialect: str = UPSTREAM
    arches: tuple[str, ...] = ()
    max_count: int | None = None  # per parent
    min_count: int = 0
    since: Release = OLDEST
    until: Release | None = None
    attr_map: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self):
        self.attr_map.update({a.name: a for a in self.attrs})

    def attr(self, name: str) -> Attr | None:
        return self.attr_map.get(name)


def _cap_slot_attrs(target_doc: str, slot_doc: str = "") -> tuple[Attr, ...]:
    return (
        Attr(
            "slot",
            "num",
            "Root CNode slot the cap goes into. Slot 0 holds the Microkit CNode. With Microkit 2.3's 64-slot root "
            'CNode the usable slots are 1..63; with `<cspace size_bits="R">` they are 1..2^R-1.' + slot_doc,
            required=True,
        ),
        Attr(
            "setvar_slot",
            "symbol",
            "Word-sized symbol in this PD's program image that is patched with the slot number (for "
            "`microkit_cspace_root_slot_to_cptr()`, which assumes a 64-slot root CNode).",
            dialect=EXTENDED,
        ),
        Attr(
            "setvar_cptr",
            "symbol",
            "Word-sized symbol patched with the cap's CPtr (`slot << (64 - R)`), right for any root CNode size.",
            dialect=EXTENDED,
        ),
    )


_PD_DOC = (
    "A protection domain: a thread with its own address space (VSpace), CSpace and scheduling context, "
    "running one program image. Nested protection domains are children: the parent holds their TCB caps "
    "and handles their faults."
)

ELEMENTS: tuple[Elem, ...] = (
    Elem(
        "system",
        "The root of a System Description File. Its children declare the protection domains, memory regions, "
        "channels, I/O address spaces and the domain schedule of one seL4 Microkit system.",
        parents=(),
        children=("protection_domain", "memory_region", "channel", "io_address_space", "domains", "untyped", "cnode"),
    ),
    Elem(
        "protection_domain",
        _PD_DOC,
        parents=("system", "protection_domain"),
        attrs=(
            Attr(
                "name",
                "name",
                "Unique name of the PD (among all PDs, nested ones included). `monitor` is reserved.",
                required=True,
            ),
            Attr(
                "priority",
                "num",
                "Scheduling priority, 0..254 (the monitor runs at 255). A PD may only PPC into PDs of strictly higher priority.",
                default=0,
            ),
            Attr("budget", "num", "Scheduling-context budget in microseconds; at most `period`.", default=1000),
            Attr("period", "num", "Scheduling-context period in microseconds.", default=SameAs("budget")),
            Attr(
                "passive",
                "bool",
                "`true`: the PD's scheduling context is taken away after `init()`; it then runs only on the SC of a PD that calls it (PPC).",
                default=False,
                values=("true", "false"),
            ),
            Attr(
                "stack_size",
                "num",
                "Size of the PD's stack in bytes: a multiple of 0x1000 between 0x1000 and 0x1000000.",
                default=0x2000,
                hex=True,
            ),
            Attr(
                "smc",
                "bool",
                "`true` gives the PD an ARM SMC cap (AArch64 kernels built with SMC forwarding only).",
                default=False,
                values=("true", "false"),
                since=(2, 0),
            ),
            Attr(
                "cpu",
                "num",
                "CPU core the PD runs on; less than the kernel's number of cores.",
                default=0,
                since=(2, 1),
            ),
            Attr(
                "domain",
                "ref:domain",
                "Scheduling domain of the PD. Required when a `<domains>` element with at least one domain comes before this PD, forbidden otherwise.",
                since=(2, 3),
            ),
            Attr(
                "fpu",
                "bool",
                "`false` disables the FPU for this PD's thread.",
                default=True,
                values=("true", "false"),
                since=(2, 3),
            ),
            Attr(
                "pp",
                "bool",
                "Microkit 1.4: `true` lets other PDs make protected procedure calls into this PD (from 2.0 on, "
                "`pp` is on a channel's `<end>`). Default `false`.",
                values=("true", "false"),
                until=(1, 4),
            ),
            Attr(
                "id",
                "num",
                "Child id within the parent PD (0..61): the parent's `fault()` receives it and its TCB cap sits at Microkit slot 202 + id.",
                required=True,
                parents=("protection_domain",),
            ),
            Attr(
                "setvar_id",
                "symbol",
                "Symbol in the **parent's** program image that is patched with this child's `id`.",
                parents=("protection_domain",),
                since=(2, 1),
            ),
            Attr(
                "fault_handler",
                "ref:pd",
                "PD whose `fault()` receives this PD's faults instead of the monitor (top-level PDs only). It does not grant any cap: use `cap_tcb` for TCB access.",
                dialect=EXTENDED,
                parents=("system",),
                misplaced_code="FH002",
            ),
            Attr(
                "fault_id",
                "num",
                "Id (0..61) under which `fault_handler` sees this PD's faults; shares the namespace of the handler's child and vCPU ids.",
                dialect=EXTENDED,
                parents=("system",),
                misplaced_code="FH002",
            ),
        ),
        children=("program_image", "map", "irq", "ioport", "setvar", "protection_domain", "virtual_machine", "cspace"),
    ),
    Elem(
        "program_image",
        "The ELF file the PD runs, found on the search paths at build time. Exactly one per PD.",
        parents=("protection_domain",),
        attrs=(
            Attr("path", "path", "Path of the ELF, relative to a search path.", required=True),
            Attr(
                "path_for_symbols",
                "path",
                "Another ELF (e.g. the unstripped one) used only to look up and patch symbols.",
                since=(2, 2),
            ),
        ),
        max_count=1,
        min_count=1,
    ),
    Elem(
        "map",
        "Maps a memory region into the address space of a PD or a virtual machine.",
        parents=("protection_domain", "virtual_machine"),
        attrs=(
            Attr("mr", "ref:mr", "Name of the memory region to map.", required=True),
            Attr(
                "vaddr",
                "num",
                "Virtual address of the mapping: aligned to the region's page size, below the PD's stack.",
                required=True,
            ),
            Attr(
                "perms",
                "perms",
                'Access rights: any combination of `r`, `w` and `x`, but not write-only. `""` means no rights.',
                default="rw",
                values=("r", "rw", "rx", "rwx", "x"),
            ),
            Attr(
                "cached",
                "bool",
                "`false` maps the region uncached (device memory).",
                default=True,
                values=("true", "false"),
            ),
            Attr("setvar_vaddr", "symbol", "Symbol patched with `vaddr`.", parents=("protection_domain",)),
            Attr(
                "setvar_size",
                "symbol",
                "Symbol patched with the memory region's size.",
                parents=("protection_domain",),
                since=(2, 0),
            ),
            Attr(
                "setvar_prefill_size",
                "symbol",
                "Symbol patched with the length of the region's `prefill_path` file.",
                parents=("protection_domain",),
                since=(2, 2),
            ),
        ),
    ),
    Elem(
        "irq",
        "An interrupt delivered to the PD as a notification on channel `id`. ARM/RISC-V use `irq`; x86_64 uses an I/O APIC pin (`pin`) or MSI (`pcidev`).",
        parents=("protection_domain",),
        attrs=(
            Attr("id", "dec", "Channel id (0..61, decimal) the PD's `notified()` sees for this IRQ.", required=True),
            Attr("setvar_id", "symbol", "Symbol patched with `id`.", since=(2, 1)),
            Attr("irq", "dec", "Hardware IRQ number (decimal).", arches=("aarch64", "riscv64"), variants=("arm",)),
            Attr(
                "trigger",
                "enum",
                "Trigger mode.",
                default="level",
                values=("level", "edge"),
                variants=("arm", "ioapic"),
            ),
            Attr(
                "ioapic", "dec", "I/O APIC number.", default=0, arches=("x86_64",), variants=("ioapic",), since=(2, 1)
            ),
            Attr("pin", "dec", "I/O APIC pin.", arches=("x86_64",), variants=("ioapic",), since=(2, 1)),
            Attr(
                "polarity",
                "enum",
                "Interrupt polarity.",
                default="high",
                values=("low", "high"),
                arches=("x86_64",),
                variants=("ioapic",),
                since=(2, 1),
            ),
            Attr(
                "vector",
                "dec",
                "CPU vector, 0..107 (required for I/O APIC and MSI IRQs; before Microkit 2.3 any non-negative number).",
                arches=("x86_64",),
                variants=("ioapic", "msi"),
                since=(2, 1),
            ),
            Attr(
                "pcidev",
                "pci",
                "PCI address `bus:device.function` (hex) of the MSI source.",
                arches=("x86_64",),
                variants=("msi",),
                since=(2, 1),
            ),
            Attr(
                "handle",
                "dec",
                "MSI handle (required for MSI IRQs).",
                arches=("x86_64",),
                variants=("msi",),
                since=(2, 1),
            ),
        ),
    ),
    Elem(
        "ioport",
        "An x86 I/O port range the PD may access (x86_64 only).",
        parents=("protection_domain",),
        attrs=(
            Attr("id", "dec", "I/O port id, 0..61 (decimal); its own id space.", required=True),
            Attr("setvar_id", "symbol", "Symbol patched with `id`."),
            Attr("setvar_addr", "symbol", "Symbol patched with `addr`."),
            Attr("addr", "num", "First port number.", required=True),
            Attr("size", "dec", "Number of ports (> 0, decimal).", required=True),
        ),
        arches=("x86_64",),
        since=(2, 1),
    ),
    Elem(
        "setvar",
        "Patches a word-sized symbol of the PD's program image with the physical address of a memory region.",
        parents=("protection_domain",),
        attrs=(
            Attr("symbol", "symbol", "Symbol to patch.", required=True),
            Attr(
                "region_paddr",
                "ref:mr",
                "Memory region whose physical address is written. Without `phys_addr` the tool picks one (not on x86_64).",
                required=True,
            ),
        ),
    ),
    Elem(
        "virtual_machine",
        "A guest running on vCPUs owned by the PD (needs a hypervisor kernel). At most one per PD.",
        parents=("protection_domain",),
        attrs=(
            Attr("name", "name", "Unique name of the virtual machine.", required=True),
            Attr(
                "budget",
                "num",
                "Budget (µs) of the vCPUs' scheduling contexts.",
                default=1000,
                arches=("aarch64",),
                arches_since=(2, 3),
            ),
            Attr(
                "period",
                "num",
                "Period (µs) of the vCPUs' scheduling contexts.",
                default=SameAs("budget"),
                arches=("aarch64",),
                arches_since=(2, 3),
            ),
            Attr(
                "priority",
                "num",
                "Priority of the vCPU threads.",
                default=0,
                arches=("aarch64",),
                arches_since=(2, 3),
            ),
        ),
        children=("vcpu", "map"),
        max_count=1,
    ),
    Elem(
        "vcpu",
        "A virtual CPU of the virtual machine; the PD's `fault()` sees its faults with the vCPU id.",
        parents=("virtual_machine",),
        attrs=(
            Attr(
                "id",
                "dec",
                "vCPU id, 0..61 (decimal), unique in the VM; shares the id space of the PD's children.",
                required=True,
            ),
            Attr("setvar_id", "symbol", "Accepted but never applied by Microkit 2.1 to 2.3.", since=(2, 1)),
            Attr("cpu", "num", "Physical core the vCPU runs on (default: the PD's core).", since=(2, 1)),
        ),
    ),
    Elem(
        "cspace",
        "Caps placed in the PD's root CNode (Microkit 2.3 `cap_tcb`, `cap_sc`, `cap_vspace`), and in the extended "
        "dialect the root CNode's size, reserved empty slots and further cap kinds.",
        parents=("protection_domain",),
        attrs=(
            Attr(
                "size_bits",
                "num",
                "Root CNode size as a power of two (2^R slots; default 6 = 64 slots). The Microkit CNode's guard becomes 64 - 9 - R.",
                dialect=EXTENDED,
            ),
            Attr(
                "setvar_first_free_slot",
                "symbol",
                "Symbol patched with the lowest root slot that holds no cap and no reserve.",
                dialect=EXTENDED,
            ),
            Attr(
                "setvar_size_bits", "symbol", "Symbol patched with R, the root CNode's size in bits.", dialect=EXTENDED
            ),
        ),
        children=(
            "cap_tcb",
            "cap_sc",
            "cap_vspace",
            "cap_smc",
            "cap_notification",
            "cap_untyped",
            "cap_cnode",
            "reserve",
        ),
        max_count=1,
        since=(2, 3),
    ),
    Elem(
        "cap_tcb",
        "A cap to another (or this) PD's TCB. Whoever holds it can suspend that PD and rewrite its registers.",
        parents=("cspace",),
        attrs=(Attr("pd", "ref:pd", "The PD whose TCB is granted.", required=True),) + _cap_slot_attrs("TCB"),
        since=(2, 3),
    ),
    Elem(
        "cap_sc",
        "A cap to a PD's scheduling context.",
        parents=("cspace",),
        attrs=(Attr("pd", "ref:pd", "The PD whose scheduling context is granted.", required=True),)
        + _cap_slot_attrs("SC"),
        since=(2, 3),
    ),
    Elem(
        "cap_vspace",
        "A cap to a PD's VSpace root (its page tables).",
        parents=("cspace",),
        attrs=(Attr("pd", "ref:pd", "The PD whose VSpace is granted.", required=True),) + _cap_slot_attrs("VSpace"),
        since=(2, 3),
    ),
    Elem(
        "cap_smc",
        "A badged ARM SMC cap (AArch64 kernels with SMC forwarding).",
        parents=("cspace",),
        attrs=(Attr("function_id", "num", "SMC function id the cap is restricted to; 0 = any.", required=True),)
        + _cap_slot_attrs("SMC"),
        dialect=EXTENDED,
    ),
    Elem(
        "cap_notification",
        "A cap to a PD's notification object: `w` lets the holder signal it, `r` wait on it.",
        parents=("cspace",),
        attrs=(
            Attr("pd", "ref:pd", "The PD whose notification is granted.", required=True),
            Attr("badge", "num", "Badge of the cap (a word).", default=0),
            Attr("rights", "rights", "Subset of `rw`: `w` = Signal, `r` = Wait.", default="w", values=("w", "r", "rw")),
        )
        + _cap_slot_attrs("notification"),
        dialect=EXTENDED,
    ),
    Elem(
        "cap_untyped",
        "Hands a declared `<untyped>` to this PD.",
        parents=("cspace",),
        attrs=(Attr("untyped", "ref:untyped", "Name of the `<untyped>`.", required=True),) + _cap_slot_attrs("untyped"),
        dialect=EXTENDED,
    ),
    Elem(
        "cap_cnode",
        "Places a declared `<cnode>` (an empty sub-CNode) in this PD's root CNode.",
        parents=("cspace",),
        attrs=(Attr("cnode_name", "ref:cnode", "Name of the `<cnode>`.", required=True),) + _cap_slot_attrs("CNode"),
        dialect=EXTENDED,
    ),
    Elem(
        "reserve",
        "Keeps root CNode slots [slot, slot+count) empty for the program's own use. Without `slot` it is placed at the first free run of `count` slots.",
        parents=("cspace",),
        attrs=(
            Attr("slot", "num", "First reserved slot (auto-placed when absent)."),
            Attr("count", "num", "Number of slots.", required=True),
            Attr("setvar_slot", "symbol", "Symbol patched with the first slot."),
            Attr("setvar_cptr", "symbol", "Symbol patched with the CPtr of the first slot."),
        ),
        dialect=EXTENDED,
    ),
    Elem(
        "memory_region",
        "A region of physical memory made of pages of one size; PDs and VMs map it.",
        parents=("system",),
        attrs=(
            Attr("name", "name", "Unique name of the region.", required=True),
            Attr(
                "size",
                "num",
                "Size in bytes, a multiple of the page size. May be omitted for a prefilled region (Microkit 2.2 and later).",
                required_until=(2, 1),
            ),
            Attr(
                "page_size",
                "num",
                "0x1000 or 0x200000. When absent, the tool uses 2 MiB pages if the size and every mapping allow it.",
                values=("0x1000", "0x200000"),
            ),
            Attr("phys_addr", "num", "Fixed physical address (page-aligned), e.g. for device registers."),
            Attr(
                "prefill_path",
                "path",
                "File whose contents fill the region (found on the search paths).",
                since=(2, 2),
            ),
            Attr(
                "prefill_bootinfo",
                "enum",
                "Fill the region with boot information of this kind.",
                values=BOOTINFO_TYPES,
                extended_values=("post_capdl_untypeds",),
                since=(2, 3),
            ),
            Attr(
                "receive_all_untypeds",
                "bool",
                'Deprecated alias (PR #436) of `<cnode post_capdl_untypeds="true">`.',
                dialect=EXTENDED,
                values=("true", "false"),
                deprecated=True,
            ),
        ),
    ),
    Elem(
        "channel",
        "A communication channel between two PDs: notifications and/or protected procedure calls.",
        parents=("system",),
        children=("end",),
    ),
    Elem(
        "end",
        "One end of a channel.",
        parents=("channel",),
        attrs=(
            Attr("pd", "ref:pd", "The PD at this end.", required=True),
            Attr("id", "dec", "Channel id (0..61, decimal) this PD uses for the channel.", required=True),
            Attr(
                "pp",
                "bool",
                "`true`: this PD may PPC the other end, whose priority must be strictly higher.",
                default=False,
                values=("true", "false"),
                since=(2, 0),
            ),
            Attr(
                "notify",
                "bool",
                "`false`: this PD may not notify the other end.",
                default=True,
                values=("true", "false"),
                since=(2, 0),
            ),
            Attr("setvar_id", "symbol", "Symbol in this end's PD patched with `id`.", since=(2, 1)),
        ),
        min_count=2,
        max_count=2,
    ),
    Elem(
        "io_address_space",
        "An IOMMU address space of a PCI device (x86_64 kernels with IOMMU support).",
        parents=("system",),
        attrs=(
            Attr("name", "name", "Unique name.", required=True),
            Attr("peripheral_id", "pci", "PCI address `bus:device.function` of the device.", required=True),
            Attr(
                "domain_id",
                "num",
                "IOMMU domain id (x86_64; unique).",
                arches=("x86_64",),
                ignored_on_other_arches=True,
            ),
        ),
        children=("iomap",),
        since=(2, 3),
    ),
    Elem(
        "iomap",
        "Maps a memory region into the device's I/O address space.",
        parents=("io_address_space",),
        attrs=(
            Attr("mr", "ref:mr", "Memory region to map (4 KiB pages only).", required=True),
            Attr("iovaddr", "num", "I/O virtual address, below 2^39.", required=True),
            Attr("perms", "ioperms", "`r`, `w` or `rw`.", default="rw", values=("r", "w", "rw")),
        ),
        since=(2, 3),
    ),
    Elem(
        "domains",
        "Declares scheduling domains and the domain schedule (single-core kernels only). Applies to PDs that come after it.",
        parents=("system",),
        children=("domain", "domain_schedule"),
        since=(2, 3),
    ),
    Elem(
        "domain",
        "A scheduling domain.",
        parents=("domains",),
        attrs=(
            Attr("name", "name", "Unique name of the domain.", required=True),
            Attr(
                "id",
                "num",
                "Kernel domain id (< KernelNumDomains); auto-assigned when absent.",
            ),
        ),
        since=(2, 3),
    ),
    Elem(
        "domain_schedule",
        "The kernel's domain schedule: entries and end markers in order. Exactly one.",
        parents=("domains",),
        attrs=(
            Attr("start_index", "num", "Index of the first entry to run.", default=0),
            Attr("index_shift", "num", "Offset of the schedule in the kernel's table."),
        ),
        children=("schedule_entry", "schedule_end_marker"),
        max_count=1,
        min_count=1,
        since=(2, 3),
    ),
    Elem(
        "schedule_entry",
        "Runs a domain for a duration.",
        parents=("domain_schedule",),
        attrs=(
            Attr("domain", "ref:domain", "Domain to run.", required=True),
            Attr("duration", "duration", "`<number> us` or `<number> ticks`, non-zero.", required=True),
        ),
        since=(2, 3),
    ),
    Elem(
        "schedule_end_marker",
        "Marks the end of the schedule (the kernel wraps to `start_index`).",
        parents=("domain_schedule",),
        since=(2, 3),
    ),
    Elem(
        "untyped",
        "Untyped memory of a declared power-of-two size, carved out at build time and handed to one PD with `cap_untyped`.",
        parents=("system",),
        attrs=(
            Attr("name", "name", "Unique name of the untyped.", required=True),
            Attr("size", "num", "Size in bytes, a power of two (or give `size_bits`)."),
            Attr("size_bits", "num", "Size as log2 bytes (or give `size`)."),
            Attr("phys_addr", "num", "Fixed physical address, aligned to the size."),
            Attr(
                "device",
                "bool",
                "Device memory (needs `phys_addr`); inferred from `phys_addr` when absent.",
                values=("true", "false"),
            ),
        ),
        dialect=EXTENDED,
    ),
    Elem(
        "cnode",
        "An empty CNode of 2^size_bits slots, granted to exactly one PD with `cap_cnode`.",
        parents=("system",),
        attrs=(
            Attr("name", "name", "Unique name of the CNode.", required=True),
            Attr("size_bits", "num", "Number of slots as a power of two.", required=True),
            Attr(
                "post_capdl_untypeds",
                "bool",
                "`true`: the capDL initialiser hands every untyped left after initialisation to this CNode.",
                values=("true", "false"),
            ),
        ),
        dialect=EXTENDED,
    ),
)

BY_NAME: dict[str, Elem] = {e.name: e for e in ELEMENTS}

# Kinds of cap element in <cspace>: tag -> (kind name used in messages, dialect)
CAP_KINDS = {
    "cap_tcb": ("Tcb", UPSTREAM),
    "cap_sc": ("Sc", UPSTREAM),
    "cap_vspace": ("VSpace", UPSTREAM),
    "cap_smc": ("Smc", EXTENDED),
    "cap_notification": ("Notification", EXTENDED),
    "cap_untyped": ("Untyped", EXTENDED),
    "cap_cnode": ("CNode", EXTENDED),
}


def element(name: str) -> Elem | None:
    return BY_NAME.get(name)


def accepts(item: Attr | Elem, dialect: str) -> bool:
    """Whether a dialect accepts an element or attribute at all: extensions only in `extended`,
    upstream entries in the releases from `since` to `until`."""
    if item.dialect == EXTENDED and dialect != EXTENDED:
        return False
    release = release_of(dialect)
    return item.since <= release and (item.until is None or release <= item.until)


def releases_text(first: Release, last: Release | None) -> str:
    """A range of releases for messages and docs: `Microkit 2.3 and later`, `Microkit 1.4 only`,
    `Microkit 2.0 to 2.2` (`last` None or the newest: still accepted)."""
    if last is None or last >= LATEST:
        return f"Microkit {release_text(first)} and later"
    if first == last:
        return f"Microkit {release_text(first)} only"
    return f"Microkit {release_text(first)} to {release_text(last)}"


def releases_note(item: Attr | Elem) -> str:
    """Which releases accept an entry (`releases_text`)."""
    return releases_text(item.since, item.until)


def arches_of(a: Attr, dialect: str) -> tuple[str, ...]:
    """The arches an attribute is restricted to in a dialect (empty: every arch)."""
    if a.arches_since is not None and release_of(dialect) < a.arches_since:
        return ()
    return a.arches


def is_required(a: Attr, dialect: str) -> bool:
    return a.required or (a.required_until is not None and release_of(dialect) <= a.required_until)


def _available(a: Attr, dialect: str, arch: str | None, parent: str | None, variant: str | None) -> bool:
    """Whether an attribute is allowed in a context (arch None: any arch; variant None: any
    variant). Each dimension of the context is one parameter here and of `attr_names`, and
    one condition below."""
    if not accepts(a, dialect):
        return False
    if a.parents and parent not in a.parents:
        return False
    arches = arches_of(a, dialect)
    if arches and arch is not None and arch not in arches and not a.ignored_on_other_arches:
        return False
    return not (variant is not None and a.variants and variant not in a.variants)


@cache
def _allowed(elem: str, dialect: str, arch: str | None, parent: str | None, variant: str | None) -> tuple[str, ...]:
    return tuple(a.name for a in BY_NAME[elem].attrs if _available(a, dialect, arch, parent, variant))


@cache
def attr_names(
    elem: str, dialect: str, arch: str | None, parent: str | None, variant: str | None = None
) -> frozenset[str]:
    """The attributes an element accepts where it appears: its parent's tag, the dialect, the
    architecture and (for `<irq>`) the variant. Computed once per context; the checker calls
    this for every element it lowers."""
    return frozenset(_allowed(elem, dialect, arch, parent, variant))


def allowed_attrs(
    elem: str,
    *,
    parent: str | None = None,
    arch: str | None = None,
    dialect: str = EXTENDED,
    variant: str | None = None,
) -> list[str]:
    """Attribute names an element accepts in a context, in table order."""
    return list(_allowed(elem, dialect, arch, parent, variant))


def default(elem: str, attr: str) -> Default:
    """The typed default of an attribute (KeyError when the table gives it none)."""
    d = BY_NAME[elem].attr_map[attr].default
    if d is None:
        raise KeyError(f"{elem}.{attr} has no default")
    return d


def int_default(elem: str, attr: str) -> int:
    """A number default (one that is another attribute's, that attribute's): the model's fields use these."""
    d = default(elem, attr)
    if isinstance(d, SameAs):
        d = default(elem, d.attr)
    if not isinstance(d, int) or isinstance(d, bool):
        raise TypeError(f"{elem}.{attr} has no number default")
    return d


def bool_default(elem: str, attr: str) -> bool:
    d = default(elem, attr)
    if not isinstance(d, bool):
        raise TypeError(f"{elem}.{attr} has no boolean default")
    return d


def str_default(elem: str, attr: str) -> str:
    d = default(elem, attr)
    if not isinstance(d, str):
        raise TypeError(f"{elem}.{attr} has no text default")
    return d


def is_extension_attr(elem: str, attr: str) -> bool:
    e = BY_NAME.get(elem)
    a = e.attr(attr) if e else None
    return a is not None and a.dialect == EXTENDED


def children_of(elem: str, dialect: str = EXTENDED) -> list[str]:
    e = BY_NAME[elem]
    return [c for c in e.children if accepts(BY_NAME[c], dialect)]
