"""The kernel/board target an SDF is checked and built against.

A `Target` is plain data: every value the checks, the layout and the image backend
read from a Microkit SDK's board/config directory (or from a target JSON file, or
from the built-in board table). Reading files happens in `sdf_lsp.target.load`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ARCHES = ("aarch64", "riscv64", "x86_64")
CONFIGS = ("release", "debug", "benchmark", "smp-release", "smp-debug", "smp-benchmark")


@dataclass(frozen=True)
class MemRange:
    """A physical address range, `end` exclusive."""

    start: int
    end: int

    @property
    def size(self) -> int:
        return self.end - self.start


@dataclass(frozen=True)
class SdkFiles:
    """Where the binaries of an SDK board/config live (all optional).

    `kernel_facts` / `loader_facts` are the parsed `kernel-facts.json` / `loader-facts.json`
    that stand in for `sel4.elf` / `loader.elf` when those cannot be shipped.
    """

    board_dir: str | None = None
    kernel_elf: str | None = None
    monitor_elf: str | None = None
    initialiser_elf: str | None = None
    loader_elf: str | None = None
    kernel_facts: dict | None = None
    loader_facts: dict | None = None
    invocations: dict | None = None


@dataclass(frozen=True)
class Target:
    arch: str
    # names shown to the user
    board: str | None = None
    config: str | None = None
    source: str = "default"  # "file" | "sdk" | "board" | "default"
    # kernel features
    hypervisor: bool = True
    iommu: bool = False
    fpu: bool = True
    benchmark: bool = False
    arm_smc: bool | None = None
    num_cores: int = 1
    num_domains: int = 16
    num_domain_schedules: int = 100
    # address space
    vspace_user_top: int = 0xFFFFFFFFFF
    paddr_user_device_top: int = 1 << 40
    page_sizes: tuple[int, ...] = (0x1000, 0x200000)
    word_size: int = 64
    minimum_page_size: int = 0x1000
    kernel_frame_size: int = 0x1000
    init_cnode_bits: int = 17
    cap_address_bits: int = 64
    max_num_bootinfo_untypeds: int = 230
    fan_out_limit: int = 256
    arm_pa_size_bits: int | None = 40
    riscv_pt_levels: int | None = None
    # physical memory (None: unknown, e.g. x86_64 or a target file without it)
    normal_regions: tuple[MemRange, ...] | None = None
    device_regions: tuple[MemRange, ...] | None = None
    # object sizes in bits, keys as the SDK's object_sizes.json
    object_sizes: dict[str, int] = field(default_factory=dict)
    # address_space_constants.json extras
    page_table_index_bits: int = 9
    vspace_index_bits: int | None = None
    io_page_table_index_bits: int | None = None
    # binaries (only from an SDK)
    sdk: SdkFiles | None = None
    # the Microkit release of the SDK the target comes from (its VERSION file; None: unknown or no SDK)
    sdk_release: tuple[int, int] | None = None

    @property
    def label(self) -> str:
        """Short text for a status bar: 'qemu_virt_aarch64 (release)'."""
        if self.board:
            return f"{self.board} ({self.config or 'release'})"
        return f"{self.arch} ({self.config})" if self.config else self.arch

    @property
    def is_debug(self) -> bool:
        return self.config in ("debug", "smp-debug")

    @property
    def ipc_buffer_vaddr(self) -> int:
        return self.vspace_user_top & ~0xFFF

    def pd_stack_top(self) -> int:
        return self.ipc_buffer_vaddr - 0x1000

    def pd_stack_bottom(self, stack_size: int) -> int:
        """Exclusive upper bound for a PD's maps (upstream `pd_map_max_vaddr`)."""
        return self.pd_stack_top() - stack_size

    def vm_map_max_vaddr(self) -> int:
        return self.vspace_user_top + 1

    def object_bits(self, name: str, default: int | None = None) -> int:
        """Size in bits of a kernel object kind (SDK value, else the built-in table, else `default`)."""
        if name in self.object_sizes:
            return self.object_sizes[name]
        bits = default_object_sizes(self.arch, self.config or "release", self).get(name, default)
        if bits is None:
            raise KeyError(name)
        return bits

    @property
    def min_untyped_bits(self) -> int:
        return self.object_bits("min_untyped_bits")

    @property
    def max_untyped_bits(self) -> int:
        return self.object_bits("max_untyped_bits")

    @property
    def ram_bytes(self) -> int | None:
        if self.normal_regions is None:
            return None
        return sum(r.size for r in self.normal_regions)


def default_object_sizes(arch: str, config: str, target: Target | None = None) -> dict[str, int]:
    """Kernel object sizes in bits, keyed like the SDK's `object_sizes.json`.

    Used when no SDK supplies them (reference section 7). The VSpace size on aarch64
    and the presence of a VCPU on x86_64 depend on the kernel features of `target`
    (a hypervisor kernel with 40-bit PA by default).
    """
    hypervisor = target.hypervisor if target is not None else arch == "aarch64"
    pa_bits = target.arm_pa_size_bits if target is not None else 40
    common = {
        "endpoint": 4,
        "notification": 6,
        "reply": 5,
        "small_page": 12,
        "large_page": 21,
        "huge_page": 30,
        "page_table": 12,
        "asid_pool": 12,
        "asid_table": 9,
        "slot": 5,
        "min_untyped_bits": 4,
    }
    if arch == "aarch64":
        debug = config in ("debug", "smp-debug")  # Microkit's debug kernel has HardwareDebugAPI
        return common | {
            "tcb": 12 if debug else 11,
            "vspace": 13 if hypervisor and pa_bits == 40 else 12,
            "max_untyped_bits": 47,
            "vcpu": 12,
            "io_page_table": 12,
        }
    if arch == "riscv64":
        # Microkit builds RISC-V kernels with the F and D extensions, so TCBs hold FPU state.
        return common | {"tcb": 11, "vspace": 12, "max_untyped_bits": 38}
    if arch == "x86_64":
        sizes = common | {"tcb": 11, "vspace": 12, "max_untyped_bits": 47, "io_page_table": 12}
        if hypervisor:
            sizes["vcpu"] = 14
        return sizes
    raise ValueError(f"unknown architecture '{arch}'")
