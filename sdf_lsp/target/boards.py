"""Built-in table of the Microkit boards, so a system can be checked without an SDK.

Every value mirrors what a Microkit SDK (2.3, `build_sdk.py` at main) would write into
`board/<board>/<config>/`: the kernel options `build_sdk.py` passes to seL4, the
derived `gen_config.json` flags that `main.rs` reads, `object_sizes.json`,
`address_space_constants.json` and, where it could be established, `platform_gen.json`.

Physical memory maps follow seL4's `tools/hardware` generator: RAM is the device
tree's `memory` nodes minus `no-map` reserved memory, with the first region aligned
up to 16 MiB on Arm (2 MiB skipped for OpenSBI on RISC-V); device regions are the
rest of the address space below PADDR_USER_DEVICE_TOP minus the pages the kernel maps
for itself. Boards whose map could not be pinned down have `None` (the checks then
skip RAM budgets). x86_64 is always `None`: its memory map is only known at boot.

This module is pure data and arithmetic; file I/O lives in `sdf_lsp.target.load`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from sdf_lsp.target.model import MemRange, Target, default_object_sizes

if TYPE_CHECKING:
    from collections.abc import Iterable

BASE_CONFIGS = ("release", "debug", "benchmark")
SMP_CONFIGS = ("smp-release", "smp-debug", "smp-benchmark")

# build_sdk.py: KernelNumDomains 16 / KernelNumDomainSchedules 100; smp-* force 1 domain.
NUM_DOMAINS = 16
NUM_DOMAIN_SCHEDULES = 100
ROOT_CNODE_SIZE_BITS = 17
RETYPE_FAN_OUT_LIMIT = 256
MAX_NUM_BOOTINFO_UNTYPED_CAPS = 230
PAGE_SIZES = (0x1000, 0x200000)

# seL4_UserVSpaceTop per build (reference section 5.3).
VSPACE_TOP_AARCH64_HYP_PA40 = 0xFF_FFFF_FFFF
VSPACE_TOP_AARCH64_HYP_PA44 = 0xFFF_FFFF_FFFF
VSPACE_TOP_AARCH64_NO_HYP = 0x7FFF_FFFF_FFFF
VSPACE_TOP_RISCV64_SV39 = 0x3F_FFFF_EFFF
VSPACE_TOP_X86_64 = 0x7FFF_FFFF_EFFF

# KernelPaddrUserTop: Arm by PA size, RISC-V Sv39 1 << 39, x86_64 1 << 47.
PADDR_TOP_RISCV64_SV39 = 1 << 39
PADDR_TOP_X86_64 = 1 << 47

# seL4_MinUntypedBits is 4 everywhere; the device list is aligned down to it.
_MIN_UNTYPED_ALIGN = 1 << 4


@dataclass(frozen=True)
class BoardInfo:
    """One row of `build_sdk.py`'s SUPPORTED_BOARDS, as far as the checks care."""

    name: str
    arch: str
    smp_cores: int | None = None
    hypervisor: bool = False
    arm_pa_size_bits: int | None = None
    normal_regions: tuple[MemRange, ...] | None = None
    device_regions: tuple[MemRange, ...] | None = None

    @property
    def configs(self) -> tuple[str, ...]:
        return BASE_CONFIGS + (SMP_CONFIGS if self.smp_cores else ())

    @property
    def paddr_user_device_top(self) -> int:
        return paddr_user_device_top(self.arch, self.arm_pa_size_bits)


def paddr_user_device_top(arch: str, arm_pa_size_bits: int | None) -> int:
    """PADDR_USER_DEVICE_TOP as seL4's `config.cmake` sets it."""
    if arch == "aarch64":
        return 1 << (arm_pa_size_bits or 40)
    if arch == "riscv64":
        return PADDR_TOP_RISCV64_SV39
    return PADDR_TOP_X86_64


def vspace_user_top(arch: str, hypervisor: bool, arm_pa_size_bits: int | None) -> int:
    """seL4_UserVSpaceTop: the highest user virtual address (inclusive)."""
    if arch == "aarch64":
        if not hypervisor:
            return VSPACE_TOP_AARCH64_NO_HYP
        return VSPACE_TOP_AARCH64_HYP_PA44 if arm_pa_size_bits == 44 else VSPACE_TOP_AARCH64_HYP_PA40
    if arch == "riscv64":
        return VSPACE_TOP_RISCV64_SV39
    return VSPACE_TOP_X86_64


def vspace_index_bits(arch: str, hypervisor: bool, arm_pa_size_bits: int | None) -> int | None:
    """seL4_VSpaceIndexBits (aarch64 only): a 3-level stage-2 root has 10 index bits."""
    if arch != "aarch64":
        return None
    return 10 if hypervisor and arm_pa_size_bits == 40 else 9


def _ranges(*pairs: tuple[int, int]) -> tuple[MemRange, ...]:
    return tuple(MemRange(start, end) for start, end in pairs)


def devices_outside(
    memory: Iterable[MemRange], kernel_pages: Iterable[MemRange], paddr_top: int
) -> tuple[MemRange, ...]:
    """Device regions the way seL4's JSON platform output derives them.

    The whole physical address space below `paddr_top` (aligned down to the smallest
    untyped) minus RAM and minus the pages the kernel maps for itself (interrupt
    controller); reserved memory is *not* removed, exactly as `platform_gen.json` has it.
    """
    holes = sorted([*memory, *kernel_pages], key=lambda r: r.start)
    top = paddr_top - paddr_top % _MIN_UNTYPED_ALIGN
    out: list[MemRange] = []
    cursor = 0
    for hole in holes:
        if hole.start > cursor:
            out.append(MemRange(cursor, min(hole.start, top)))
        cursor = max(cursor, hole.end)
        if cursor >= top:
            break
    if cursor < top:
        out.append(MemRange(cursor, top))
    return tuple(r for r in out if r.size > 0)


def _gic_v2_pages(base_dist: int, base_cpu: int, base_hyp: int | None) -> tuple[MemRange, ...]:
    """The GICv2 pages seL4 maps: distributor, CPU interface and (hypervisor) GICH."""
    bases = [base_dist, base_cpu] + ([base_hyp] if base_hyp is not None else [])
    return tuple(MemRange(b, b + 0x1000) for b in bases)


# qemu_virt_aarch64: exactly the SDK's platform_gen.json (seL4 1326364, QEMU_MEMORY 2048;
# the hypervisor build reserves [0x40000000, 0x60000000) for guests).
_QEMU_AARCH64_MEMORY = _ranges((0x6000_0000, 0xC000_0000))
_QEMU_AARCH64_DEVICES = _ranges(
    (0x0, 0x800_0000),
    (0x800_1000, 0x801_0000),
    (0x801_1000, 0x803_0000),
    (0x803_1000, 0x6000_0000),
    (0xC000_0000, 1 << 40),
)
# qemu_virt_aarch64_el1: no reserved guest memory and no GICH page (QEMU without
# virtualization=on has no GICH/GICV).
_QEMU_AARCH64_EL1_MEMORY = _ranges((0x4000_0000, 0xC000_0000))
_QEMU_AARCH64_EL1_DEVICES = devices_outside(
    _QEMU_AARCH64_EL1_MEMORY, _gic_v2_pages(0x800_0000, 0x801_0000, None), 1 << 40
)
# zcu102: tools/dts/zynqmp.dts memory@0 (2 GiB low + 2 GiB high), GIC-400 at 0xf9010000.
_ZCU102_MEMORY = _ranges((0x0, 0x8000_0000), (0x8_0000_0000, 0x8_8000_0000))
_ZCU102_DEVICES = devices_outside(_ZCU102_MEMORY, _gic_v2_pages(0xF901_0000, 0xF902_0000, 0xF904_0000), 1 << 40)
# kria_k26: overlay-zynqmp-kria-k26.dts replaces the memory node.
_KRIA_K26_MEMORY = _ranges((0x0, 0x7FF0_0000), (0x8_0000_0000, 0x8_8000_0000))
# rpi4b: overlay-rpi4-<n>gb.dts memory; overlay-rpi4.dts reserves page 0 (armstub) and
# the VideoCore carve-out [0x3b400000, 0x40000000); the first region is then aligned to 16 MiB.
_RPI4_LOW = (0x100_0000, 0x3B40_0000)
_RPI4_MEMORY = {
    1: _ranges(_RPI4_LOW),
    2: _ranges(_RPI4_LOW, (0x4000_0000, 0x8000_0000)),
    4: _ranges(_RPI4_LOW, (0x4000_0000, 0xFC00_0000)),
    8: _ranges(_RPI4_LOW, (0x4000_0000, 0xFC00_0000), (0x1_0000_0000, 0x2_0000_0000)),
}
# qemu_virt_riscv64: QEMU_MEMORY 2048 at 0x80000000, the first 2 MiB belong to OpenSBI.
_QEMU_RISCV64_MEMORY = _ranges((0x8020_0000, 0x1_0000_0000))


def _arm(name: str, smp: int | None = 4, pa: int = 40, hyp: bool = True, **regions) -> BoardInfo:
    return BoardInfo(name, "aarch64", smp, hyp, pa, **regions)


def _riscv(name: str, smp: int | None = None, **regions) -> BoardInfo:
    return BoardInfo(name, "riscv64", smp, False, None, **regions)


# Order as in build_sdk.py / reference section 5.3. PA bits follow the CPU core
# (Cortex-A35/A53/A55/A76: 40, Cortex-A72: 44).
BOARDS: dict[str, BoardInfo] = {
    b.name: b
    for b in (
        _arm("kria_k26", smp=None, normal_regions=_KRIA_K26_MEMORY),
        _arm("stm32mp2", smp=2),
        _arm("tqma8xqp1gb"),
        _arm("zcu102", normal_regions=_ZCU102_MEMORY, device_regions=_ZCU102_DEVICES),
        _arm("maaxboard"),
        _arm("imx8mm_evk"),
        _arm("imx8mp_evk"),
        _arm("imx8mq_evk"),
        _arm("imx8mp_iotgate"),
        _arm("odroidc2"),
        _arm("odroidc4"),
        _arm("ultra96v2"),
        _arm(
            "qemu_virt_aarch64",
            normal_regions=_QEMU_AARCH64_MEMORY,
            device_regions=_QEMU_AARCH64_DEVICES,
        ),
        _arm(
            "qemu_virt_aarch64_el1",
            hyp=False,
            normal_regions=_QEMU_AARCH64_EL1_MEMORY,
            device_regions=_QEMU_AARCH64_EL1_DEVICES,
        ),
        _arm("rpi4b_1gb", pa=44, normal_regions=_RPI4_MEMORY[1]),
        _arm("rpi4b_2gb", pa=44, normal_regions=_RPI4_MEMORY[2]),
        _arm("rpi4b_4gb", pa=44, normal_regions=_RPI4_MEMORY[4]),
        _arm("rpi4b_8gb", pa=44, normal_regions=_RPI4_MEMORY[8]),
        _arm("rpi5b_2gb"),
        _arm("rockpro64"),
        _arm("rock3b", smp=None),
        _riscv("qemu_virt_riscv64", smp=4, normal_regions=_QEMU_RISCV64_MEMORY),
        _riscv("hifive_p550", smp=4),
        _riscv("star64", smp=4),
        _riscv("ariane"),
        _riscv("cheshire"),
        _riscv("serengeti"),
        BoardInfo("x86_64_generic", "x86_64", 16, hypervisor=False),
        BoardInfo("x86_64_generic_vtx", "x86_64", 16, hypervisor=True),
    )
}

DEFAULT_BOARD = "qemu_virt_aarch64"
DEFAULT_CONFIG = "release"

# The release whose `build_sdk.py` first lists each board (no board was renamed or dropped);
# every board not named here is in Microkit 1.4 already.
BOARD_SINCE: dict[str, tuple[int, int]] = {
    **dict.fromkeys(("ariane", "cheshire", "imx8mp_evk", "rockpro64", "rpi4b_1gb"), (2, 0)),
    **dict.fromkeys(
        (
            "hifive_p550",
            "imx8mp_iotgate",
            "rpi4b_2gb",
            "rpi4b_4gb",
            "rpi4b_8gb",
            "serengeti",
            "ultra96v2",
            "x86_64_generic",
            "x86_64_generic_vtx",
        ),
        (2, 1),
    ),
    **dict.fromkeys(("kria_k26", "rock3b"), (2, 2)),
    **dict.fromkeys(("qemu_virt_aarch64_el1", "rpi5b_2gb", "stm32mp2"), (2, 3)),
}
#: SDKs have the smp-* configs from Microkit 2.1 on.
SMP_CONFIGS_SINCE = (2, 1)


def board_release_problem(board: str, config: str, release: tuple[int, int]) -> str | None:
    """Why a Microkit release's SDK has no such board or config (None: it has it)."""
    rel = f"{release[0]}.{release[1]}"
    since = BOARD_SINCE.get(board)
    if since is not None and release < since:
        return f"board '{board}' is not in Microkit {rel} (it came with Microkit {since[0]}.{since[1]})"
    if config in SMP_CONFIGS and release < SMP_CONFIGS_SINCE:
        return f"config '{config}' is not in Microkit {rel} (smp configs came with Microkit 2.1)"
    return None


def board_names() -> tuple[str, ...]:
    return tuple(BOARDS)


def board_target(board: str, config: str = DEFAULT_CONFIG, source: str = "board") -> Target:
    """The Target a real SDK's `board/<board>/<config>/` would describe.

    Raises KeyError for an unknown board and ValueError for a config the board lacks;
    `sdf_lsp.target.load.builtin_target` turns both into a TargetError for the user.
    """
    info = BOARDS[board]
    if config not in info.configs:
        raise ValueError(config)
    smp = config.startswith("smp-")
    arch = info.arch
    target = Target(
        arch=arch,
        board=board,
        config=config,
        source=source,
        hypervisor=info.hypervisor,
        iommu=arch == "x86_64",
        fpu=True,
        benchmark=config == "benchmark",
        arm_smc=True if arch == "aarch64" else None,
        num_cores=info.smp_cores if smp and info.smp_cores else 1,
        num_domains=1 if smp else NUM_DOMAINS,
        num_domain_schedules=NUM_DOMAIN_SCHEDULES,
        vspace_user_top=vspace_user_top(arch, info.hypervisor, info.arm_pa_size_bits),
        paddr_user_device_top=info.paddr_user_device_top,
        page_sizes=PAGE_SIZES,
        word_size=64,
        minimum_page_size=0x1000,
        kernel_frame_size=1 << 21 if arch == "riscv64" else 1 << 12,
        init_cnode_bits=ROOT_CNODE_SIZE_BITS,
        cap_address_bits=64,
        max_num_bootinfo_untypeds=MAX_NUM_BOOTINFO_UNTYPED_CAPS,
        fan_out_limit=RETYPE_FAN_OUT_LIMIT,
        arm_pa_size_bits=info.arm_pa_size_bits,
        riscv_pt_levels=3 if arch == "riscv64" else None,
        normal_regions=info.normal_regions,
        device_regions=info.device_regions,
        page_table_index_bits=9,
        vspace_index_bits=vspace_index_bits(arch, info.hypervisor, info.arm_pa_size_bits),
        io_page_table_index_bits=9 if arch == "x86_64" else None,
    )
    return replace(target, object_sizes=default_object_sizes(arch, config, target))
