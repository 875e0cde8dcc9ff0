"""The typed system model. Every object keeps its syntax element (`el`) for ranges.

Values that failed to parse are None (the diagnostic was already given); lowering
substitutes upstream's defaults where upstream has one, so later checks still run.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sdf_lsp.model.consts import MICROKIT_ROOT_BITS
from sdf_lsp.schema import bool_default, int_default, str_default
from sdf_lsp.syntax.tree import Element, Span


def span_of(el: Element, attr: str | None = None, *, name_if_missing: bool = True) -> Span:
    """The value of `attr` if present, else the element's tag name."""
    if attr is not None:
        a = el.attr(attr)
        if a is not None:
            return a.value_span
    return el.name_span


@dataclass(eq=False, slots=True)
class MemoryRegion:
    el: Element
    name: str | None
    declared_size: int | None  # the `size` attribute (None: absent or invalid); the resolved size is `System.size_of`
    page_size: int  # as declared, or 0x1000
    page_size_given: bool
    phys_addr: int | None
    prefill_path: str | None = None
    prefill_bootinfo: str | None = None
    receive_all_untypeds: bool = False
    size_given: bool = True


@dataclass(eq=False, slots=True)
class Map:
    el: Element
    mr: str | None
    vaddr: int | None
    perms: str  # the raw perms string (validated)
    cached: bool
    setvar_vaddr: str | None = None
    setvar_size: str | None = None
    setvar_prefill_size: str | None = None

    @property
    def read(self) -> bool:
        return "r" in self.perms

    @property
    def write(self) -> bool:
        return "w" in self.perms

    @property
    def execute(self) -> bool:
        return "x" in self.perms


@dataclass(eq=False, slots=True)
class Irq:
    el: Element
    id: int | None
    kind: str  # arm | ioapic | msi | none
    number: int | None  # irq for arm, vector for x86
    trigger: str = str_default("irq", "trigger")
    ioapic: int = int_default("irq", "ioapic")
    pin: int | None = None
    polarity: str = str_default("irq", "polarity")
    vector: int | None = None
    pcidev: tuple[int, int, int] | None = None
    handle: int | None = None
    setvar_id: str | None = None


@dataclass(eq=False, slots=True)
class IoPort:
    el: Element
    id: int | None
    addr: int | None
    size: int | None
    setvar_id: str | None = None
    setvar_addr: str | None = None


@dataclass(eq=False, slots=True)
class Setvar:
    el: Element
    symbol: str | None
    region_paddr: str | None


@dataclass(eq=False, slots=True)
class Vcpu:
    el: Element
    id: int | None
    cpu: int | None


@dataclass(eq=False, slots=True)
class VirtualMachine:
    el: Element
    name: str | None
    budget: int = int_default("virtual_machine", "budget")
    period: int = int_default("virtual_machine", "period")
    priority: int = int_default("virtual_machine", "priority")
    vcpus: list[Vcpu] = field(default_factory=list)
    maps: list[Map] = field(default_factory=list)
    pd: object = None


@dataclass(eq=False, slots=True)
class CapGrant:
    """A cap element in `<cspace>`: upstream `cap_tcb|cap_sc|cap_vspace` and the extensions."""

    el: Element
    tag: str  # cap_tcb ...
    kind: str  # Tcb | Sc | VSpace | Smc | Notification | Untyped | CNode
    slot: int | None
    pd: str | None = None  # source PD (tcb, sc, vspace, notification)
    function_id: int | None = None
    badge: int = int_default("cap_notification", "badge")
    rights: str = str_default("cap_notification", "rights")
    untyped: str | None = None
    cnode: str | None = None
    setvar_slot: str | None = None
    setvar_cptr: str | None = None
    holder: object = None  # the PD whose CSpace it is in


@dataclass(eq=False, slots=True)
class Reserve:
    el: Element
    slot: int | None  # None: auto-placed
    count: int | None
    setvar_slot: str | None = None
    setvar_cptr: str | None = None
    holder: object = None


@dataclass(eq=False, slots=True)
class CSpace:
    el: Element
    size_bits: int | None = None  # None: 6 (Microkit 2.3)
    setvar_first_free_slot: str | None = None
    setvar_size_bits: str | None = None
    caps: list[CapGrant] = field(default_factory=list)
    reserves: list[Reserve] = field(default_factory=list)

    @property
    def root_bits(self) -> int:
        return self.size_bits if self.size_bits is not None else MICROKIT_ROOT_BITS


@dataclass(eq=False, slots=True)
class ProtectionDomain:
    el: Element
    name: str | None
    priority: int = int_default("protection_domain", "priority")
    budget: int = int_default("protection_domain", "budget")
    period: int = int_default("protection_domain", "period")
    passive: bool = bool_default("protection_domain", "passive")
    stack_size: int = int_default("protection_domain", "stack_size")
    smc: bool = bool_default("protection_domain", "smc")
    cpu: int = int_default("protection_domain", "cpu")
    domain: str | None = None
    fpu: bool = bool_default("protection_domain", "fpu")
    id: int | None = None  # child id
    setvar_id: str | None = None
    program_image: str | None = None
    path_for_symbols: str | None = None
    program_image_el: Element | None = None
    maps: list[Map] = field(default_factory=list)
    irqs: list[Irq] = field(default_factory=list)
    ioports: list[IoPort] = field(default_factory=list)
    setvars: list[Setvar] = field(default_factory=list)
    children: list[ProtectionDomain] = field(default_factory=list)
    vm: VirtualMachine | None = None
    cspace: CSpace | None = None
    fault_handler: str | None = None
    fault_id: int | None = None
    parent: ProtectionDomain | None = None
    index: int = -1  # global (flattened, pre-order) index
    # every setvar symbol of this PD in registration order: symbol -> (kind, element, attribute name)
    symbols: dict = field(default_factory=dict)

    @property
    def is_child(self) -> bool:
        return self.el.parent is not None and self.el.parent.local == "protection_domain"

    def walk(self):
        yield self
        for c in self.children:
            yield from c.walk()


@dataclass(eq=False, slots=True)
class ChannelEnd:
    el: Element
    pd: str | None
    id: int | None
    notify: bool = bool_default("end", "notify")
    pp: bool = bool_default("end", "pp")
    setvar_id: str | None = None


@dataclass(eq=False, slots=True)
class Channel:
    el: Element
    ends: list[ChannelEnd]  # the parsed `end` children (two when valid)

    @property
    def valid(self) -> bool:
        return len(self.ends) == 2


@dataclass(eq=False, slots=True)
class IoMap:
    el: Element
    mr: str | None
    iovaddr: int | None
    perms: str = str_default("iomap", "perms")


@dataclass(eq=False, slots=True)
class IoAddressSpace:
    el: Element
    name: str | None
    peripheral: tuple[int, int, int] | None
    domain_id: int | None
    iomaps: list[IoMap] = field(default_factory=list)
    enabled: bool = True  # False when the kernel has no IOMMU (nothing else was checked)


@dataclass(eq=False, slots=True)
class Domain:
    el: Element
    name: str | None
    id: int | None  # explicit id
    assigned: int | None = None


@dataclass(eq=False, slots=True)
class ScheduleEntry:
    el: Element
    domain: str | None  # None for an end marker
    duration: int | None = None
    unit: str | None = None  # "us" | "ticks"
    end_marker: bool = False


@dataclass(eq=False, slots=True)
class Domains:
    el: Element
    domains: list[Domain] = field(default_factory=list)
    schedule_el: Element | None = None
    start_index: int = int_default("domain_schedule", "start_index")
    index_shift: int | None = None
    schedule: list[ScheduleEntry] = field(default_factory=list)


@dataclass(eq=False, slots=True)
class Untyped:
    el: Element
    name: str | None
    size_bits: int | None
    phys_addr: int | None = None
    device: bool | None = None  # None: inferred


@dataclass(eq=False, slots=True)
class CNodeDecl:
    el: Element
    name: str | None
    size_bits: int | None
    post_capdl_untypeds: bool = False
