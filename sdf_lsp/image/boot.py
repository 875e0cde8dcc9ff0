"""Emulation of the seL4 kernel's boot on ARM and RISC-V (upstream `sel4.rs`).

The capDL initialiser is handed its memory as untyped capabilities whose cap
numbers and sizes the kernel computes at boot.  The Microkit tool emulates
that computation to place the initial task and to simulate the initialiser's
allocation of every object (which decides the physical address of each one),
so it has to be exact: same free memory, same rootserver placement, same
power-of-two split, same cap numbering.

Inputs are plain values: memory regions as `(start, end)` pairs (end
exclusive), the kernel facts (from `kernel-facts.json` or a real `sel4.elf`)
and a `BootConfig` of the few kernel configuration values involved.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sdf_lsp.elf import ElfImage

Region = tuple[int, int]

PAGE_SIZE = 0x1000
_FIXED_CAP_COUNT = 0x10  # seL4_NumInitialCaps
_SLOT_BITS = 5  # seL4_SlotBits
_ASID_POOL_BITS = 12  # seL4_ASIDPoolBits
_MIN_SCHED_CONTEXT_BITS = 7  # seL4_MinSchedContextBits


class BootError(ValueError):
    """The memory layout does not allow the boot to be emulated."""


@dataclass(frozen=True)
class KernelFacts:
    """What the tool reads from `sel4.elf` for the boot emulation and the loader."""

    first_paddr: int  # p_paddr of the first PT_LOAD
    first_vaddr: int  # p_vaddr of the first PT_LOAD
    ki_end: int  # virtual address of symbol ki_end
    ki_boot_end: int  # virtual address of symbol ki_boot_end

    @classmethod
    def from_facts(cls, facts: dict) -> KernelFacts:
        """From a parsed `kernel-facts.json`."""
        seg0 = facts["pt_load_segments"][0]
        syms = facts["symbols"]
        return cls(seg0["p_paddr"], seg0["p_vaddr"], syms["ki_end"]["value"], syms["ki_boot_end"]["value"])

    @classmethod
    def from_elf(cls, kernel: ElfImage) -> KernelFacts:
        """From a real `sel4.elf`."""
        seg0 = kernel.segments[0]
        return cls(seg0.paddr, seg0.vaddr, kernel.find_symbol("ki_end")[0], kernel.find_symbol("ki_boot_end")[0])

    def _to_paddr(self, vaddr: int) -> int:
        return vaddr - self.first_vaddr + self.first_paddr

    @property
    def self_mem(self) -> Region:
        """The kernel image in physical memory, removed from normal memory."""
        return self.first_paddr, self._to_paddr(self.ki_end)

    @property
    def boot_region(self) -> Region:
        """Memory the kernel frees after boot; the initial task goes above it."""
        return self.first_paddr, self._to_paddr(self.ki_boot_end)


@dataclass(frozen=True)
class BootConfig:
    """The kernel configuration values the boot emulation depends on."""

    arch: str  # "aarch64" | "riscv64"
    hypervisor: bool
    init_cnode_bits: int  # CONFIG_ROOT_CNODE_SIZE_BITS
    tcb_bits: int
    vspace_bits: int
    page_table_bits: int = 12
    page_bits: int = 12
    minimum_page_size: int = PAGE_SIZE
    arm_pa_size_bits: int | None = None
    riscv_pt_levels: int | None = None  # 3 for Sv39

    @classmethod
    def from_sdk(cls, gen_config: dict, object_sizes: dict) -> BootConfig:
        """From an SDK's `gen_config.json` and `object_sizes.json` (parsed)."""
        arch = gen_config["SEL4_ARCH"]
        if arch not in ("aarch64", "riscv64"):
            raise BootError(f"the kernel boot is not emulated for {arch}")
        pa_bits = None
        if arch == "aarch64":
            pa_bits = (
                40 if gen_config.get("ARM_PA_SIZE_BITS_40") else 44 if gen_config.get("ARM_PA_SIZE_BITS_44") else None
            )
        return cls(
            arch=arch,
            hypervisor=bool(gen_config.get("ARM_HYPERVISOR_SUPPORT")) if arch == "aarch64" else False,
            init_cnode_bits=int(gen_config["ROOT_CNODE_SIZE_BITS"]),
            tcb_bits=object_sizes["tcb"],
            vspace_bits=object_sizes["vspace"],
            page_table_bits=object_sizes["page_table"],
            page_bits=object_sizes["small_page"],
            arm_pa_size_bits=pa_bits,
            riscv_pt_levels=3 if arch == "riscv64" else None,
        )

    @property
    def aarch64_vspace_s2_start_l1(self) -> bool:
        """Hypervisor with a 40-bit PA: the stage-2 VSpace starts at level 1."""
        return self.arch == "aarch64" and self.hypervisor and self.arm_pa_size_bits == 40

    @property
    def kernel_virtual_base(self) -> int:
        """Where the kernel window maps physical address 0."""
        if self.arch == "aarch64":
            return 1 << 39 if self.hypervisor else (1 << 64) - (1 << 39)
        if self.riscv_pt_levels == 3:
            return (1 << 64) - (1 << 38)
        raise BootError(f"unsupported RISC-V page-table levels {self.riscv_pt_levels}")

    @property
    def max_untyped_bits(self) -> int:
        return 47 if self.arch == "aarch64" else 38


@dataclass(frozen=True)
class Untyped:
    cap: int
    paddr: int
    size_bits: int
    is_device: bool


@dataclass(frozen=True)
class BootInfo:
    """The parts of the kernel's bootinfo the tool emulates."""

    fixed_cap_count: int
    paging_cap_count: int
    sched_control_cap: int
    page_cap_count: int
    first_untyped_cap: int
    first_available_cap: int
    untypeds: tuple[Untyped, ...]


@dataclass(frozen=True)
class BootPlan:
    """Everything the build needs from the boot: placement and untypeds."""

    kernel_boot_region: Region
    normal_memory_after_kernel: tuple[Region, ...]
    initial_task_phys_region: Region
    initial_task_virt_region: Region
    boot_info: BootInfo

    @property
    def initial_task_phys_base(self) -> int:
        return self.initial_task_phys_region[0]


class DisjointMemory:
    """Sorted, non-overlapping physical regions (upstream `DisjointMemoryRegion`)."""

    def __init__(self, regions: Iterable[Region] = ()) -> None:
        self.regions: list[Region] = []
        for start, end in regions:
            self.insert(start, end)

    def insert(self, start: int, end: int) -> None:
        idx = next((i for i, (s, _) in enumerate(self.regions) if end <= s), len(self.regions))
        self.regions.insert(idx, (start, end))
        self._check()

    def remove(self, start: int, end: int) -> None:
        """Remove [start, end), which must lie within one region."""
        for i, (s, e) in enumerate(self.regions):  # noqa: B007 (i is used after the loop)
            if start >= s and end <= e:
                break
        else:
            raise BootError(f"attempting to remove region [{start:#x}-{end:#x}) that is not currently covered")
        pieces = [(s, start)] if s < start else []
        pieces += [(end, e)] if end < e else []
        self.regions[i : i + 1] = pieces
        self._check()

    def allocate_from(self, size: int, lower_bound: int) -> int:
        """First region at or above `lower_bound` that holds `size` bytes; take its start."""
        for s, e in self.regions:
            if size <= e - s and s >= lower_bound:
                self.remove(s, s + size)
                return s
        raise BootError(f"Unable to allocate {size} bytes from lower_bound {lower_bound:#x}")

    def _check(self) -> None:
        for (_, e0), (s1, _) in zip(self.regions, self.regions[1:], strict=False):
            if s1 < e0:
                raise BootError("memory regions overlap")


# ---------------------------------------------------------------------------


def emulate_kernel_boot_partial(normal: Sequence[Region], kernel: KernelFacts) -> tuple[list[Region], Region]:
    """Normal memory once the kernel image is removed, and the kernel boot region."""
    memory = DisjointMemory(normal)
    memory.remove(*kernel.self_mem)
    return list(memory.regions), kernel.boot_region


def place_initial_task(normal_after_kernel: Sequence[Region], boot_region: Region, size: int) -> int:
    """Physical base of the initial task: first fit at or above the boot region's end."""
    return DisjointMemory(normal_after_kernel).allocate_from(size, boot_region[1])


def emulate_kernel_boot(
    config: BootConfig,
    normal: Sequence[Region],
    devices: Sequence[Region],
    kernel: KernelFacts,
    initial_task_phys_region: Region,
    initial_task_virt_region: Region,
) -> BootInfo:
    """The untypeds and cap layout the kernel's boot code produces."""
    phys_start, phys_end = initial_task_phys_region
    virt_start, virt_end = initial_task_virt_region
    if phys_end - phys_start != virt_end - virt_start:
        raise BootError("initial task physical and virtual regions differ in size")
    memory = DisjointMemory(normal)
    memory.remove(*kernel.self_mem)
    memory.remove(phys_start, phys_end)

    # The kernel maps the IPC buffer and the bootinfo frame after the image.
    virt = (virt_start, virt_end + 2 * PAGE_SIZE)

    # Rootserver objects go at the top of the highest region that fits them
    # (calculate_rootserver_size() and the placement in the kernel's boot.c).
    size = _rootserver_size(config, virt)
    align = 1 << max(config.init_cnode_bits + _SLOT_BITS, config.vspace_bits)
    for s, e in reversed(memory.regions):
        start = (e - size) // align * align
        if start >= s:
            memory.remove(start, start + size)
            break
    else:
        raise BootError("Couldn't find appropriate region for initial task kernel objects")

    paging = _n_paging(config, virt)
    pages = (virt[1] - virt[0]) // config.minimum_page_size
    first_untyped = _FIXED_CAP_COUNT + paging + 1 + pages

    device_regions = _power_of_two_regions(config, DisjointMemory(devices).regions)
    normal_regions = _power_of_two_regions(config, [kernel.boot_region, *memory.regions])
    untypeds = [Untyped(first_untyped + i, base, size_bits, True) for i, (base, size_bits) in enumerate(device_regions)]
    untypeds += [
        Untyped(first_untyped + len(device_regions) + i, base, size_bits, False)
        for i, (base, size_bits) in enumerate(normal_regions)
    ]
    return BootInfo(
        fixed_cap_count=_FIXED_CAP_COUNT,
        paging_cap_count=paging,
        sched_control_cap=_FIXED_CAP_COUNT + paging,
        page_cap_count=pages,
        first_untyped_cap=first_untyped,
        first_available_cap=first_untyped + len(untypeds),
        untypeds=tuple(untypeds),
    )


def plan_boot(
    config: BootConfig,
    normal: Sequence[Region],
    devices: Sequence[Region],
    kernel: KernelFacts,
    initial_task_virt_region: Region,
) -> BootPlan:
    """Place the initial task (its image bound is `initial_task_virt_region`) and emulate the boot."""
    after_kernel, boot_region = emulate_kernel_boot_partial(normal, kernel)
    size = initial_task_virt_region[1] - initial_task_virt_region[0]
    base = place_initial_task(after_kernel, boot_region, size)
    phys = (base, base + size)
    return BootPlan(
        kernel_boot_region=boot_region,
        normal_memory_after_kernel=tuple(after_kernel),
        initial_task_phys_region=phys,
        initial_task_virt_region=tuple(initial_task_virt_region),
        boot_info=emulate_kernel_boot(config, normal, devices, kernel, phys, initial_task_virt_region),
    )


# ---------------------------------------------------------------------------


def _n_paging(config: BootConfig, region: Region) -> int:
    """Paging structures the kernel creates to map `region` (get_arch_n_paging)."""
    if config.arch == "aarch64":
        shifts = (30, 21) if config.aarch64_vspace_s2_start_l1 else (39, 30, 21)
    elif config.riscv_pt_levels == 3:
        shifts = (30, 21)
    else:
        raise BootError(f"unsupported architecture {config.arch!r}")
    return sum(_n_pages_spanned(region, bits) for bits in shifts)


def _n_pages_spanned(region: Region, bits: int) -> int:
    start = region[0] >> bits << bits
    end = -(-region[1] >> bits) << bits
    return (end - start) >> bits


def _rootserver_size(config: BootConfig, virt: Region) -> int:
    return (
        (1 << (config.init_cnode_bits + _SLOT_BITS))
        + (1 << config.tcb_bits)
        + 2 * (1 << config.page_bits)
        + (1 << _ASID_POOL_BITS)
        + (1 << config.vspace_bits)
        + _n_paging(config, virt) * (1 << config.page_table_bits)
        + (1 << _MIN_SCHED_CONTEXT_BITS)
    )


def _power_of_two_regions(config: BootConfig, regions: Iterable[Region]) -> list[tuple[int, int]]:
    """Split regions into aligned power-of-two blocks as the kernel does.

    The kernel works on kernel virtual addresses, where an address can wrap
    around 2^64; the split is done on those addresses so that the wrap is
    reproduced.  Returns (physical base, size bits) pairs.
    """
    mask = (1 << 64) - 1
    vbase = config.kernel_virtual_base
    out = []
    for start, end in regions:
        base, vend = (start + vbase) & mask, (end + vbase) & mask
        while base != vend:
            size = (vend - base) & mask
            bits = size.bit_length() - 1
            if base != 0:
                bits = min(bits, (base & -base).bit_length() - 1)
            bits = min(bits, config.max_untyped_bits)
            out.append(((base - vbase) & mask, bits))
            base = (base + (1 << bits)) & mask
    return out
