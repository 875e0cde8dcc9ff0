"""The bootable image for ARM and RISC-V (upstream `loader.rs`, `uimage.rs`).

`loader.img` is the Microkit loader's first loadable segment (its memory image,
with the loader's boot page tables written in), a header, one record per region
and the regions' data: the kernel's loadable segments, then the initial task's
segments at their physical addresses.  The loader copies the regions into place
and jumps into the kernel.

The loader and kernel binaries belong to an SDK build.  Where only their facts
are known (`loader-facts.json`, `kernel-facts.json`), the loader code and the
kernel segments are zero-filled placeholders of the right size; the header,
the region records, the page tables and the initial task are still exact.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from sdf_lsp.elf import ElfImage
from sdf_lsp.image.initialiser import InitialiserImage

LOADER_MAGIC_64 = 0x5E14DEAD14DE5EAD
REGION_TYPE_DATA = 1

_HEADER = struct.Struct(
    "<8Q"
)  # magic, size, kernel_entry, ui_p_reg_start, ui_p_reg_end, pv_offset, v_entry, num_regions
_REGION = struct.Struct("<4Q")  # load_addr, size, offset, type

_AARCH64_TABLES = (
    "boot_lvl0_lower",
    "boot_lvl1_lower",
    "boot_lvl2_lower",
    "boot_lvl0_upper",
    "boot_lvl1_upper",
    "boot_lvl2_upper",
)
_RISCV64_TABLES = ("boot_lvl1_pt", "boot_lvl2_pt", "boot_lvl2_pt_elf")


class LoaderError(ValueError):
    """The loader, kernel or initial task do not fit together."""


@dataclass(frozen=True)
class LoaderFacts:
    """What the tool takes from `loader.elf`.

    `image` is the first loadable segment's memory image, or None when only
    the facts are known (then the image is `image_size` zero bytes).
    """

    entry: int
    word_size: int
    image_vaddr: int
    image_size: int
    symbols: dict[str, tuple[int, int]]
    uart_addr: int | None = None
    has_cpus_release_addr: bool = False
    image: bytes | None = None

    @classmethod
    def from_elf(cls, loader: ElfImage) -> LoaderFacts:
        seg = loader.segments[0]
        uart = None
        if loader.has_symbol("uart_addr"):
            uart = int.from_bytes(loader.read_symbol("uart_addr"), "little")
        names = [
            n
            for n in (*_AARCH64_TABLES, *_RISCV64_TABLES, "_loader_start", "_loader_end", "_text")
            if loader.has_symbol(n)
        ]
        return cls(
            entry=loader.entry,
            word_size=loader.word_size,
            image_vaddr=seg.vaddr,
            image_size=seg.memsz,
            symbols={n: loader.find_symbol(n) for n in names},
            uart_addr=uart,
            has_cpus_release_addr=loader.has_symbol("cpus_release_addr"),
            image=seg.mem_data,
        )

    @classmethod
    def from_facts(cls, facts: dict) -> LoaderFacts:
        """From a parsed `loader-facts.json`."""
        seg = facts["first_pt_load"]
        uart = facts.get("optional_symbols", {}).get("uart_addr")
        return cls(
            entry=facts["elf_header"]["entry"],
            word_size=facts["elf_header"]["class"],
            image_vaddr=seg["p_vaddr"],
            image_size=seg["p_memsz"],
            symbols={n: (s["value"], s["size"]) for n, s in facts["symbols"].items()},
            uart_addr=uart["u64_stored_there"] if uart else None,
            has_cpus_release_addr=bool(facts.get("optional_symbols", {}).get("cpus_release_addr")),
        )

    def symbol(self, name: str) -> tuple[int, int]:
        try:
            return self.symbols[name]
        except KeyError:
            raise LoaderError(f"Could not find '{name}' symbol") from None


@dataclass(frozen=True)
class KernelSegment:
    paddr: int
    vaddr: int
    memsz: int
    data: bytes | None  # memory image, None when only its size is known

    @property
    def mem_data(self) -> bytes:
        return self.data if self.data is not None else bytes(self.memsz)


@dataclass(frozen=True)
class KernelImage:
    """What the loader needs from `sel4.elf`."""

    entry: int
    word_size: int
    machine: int
    segments: tuple[KernelSegment, ...]

    @classmethod
    def from_elf(cls, kernel: ElfImage) -> KernelImage:
        return cls(
            kernel.entry,
            kernel.word_size,
            kernel.machine,
            tuple(KernelSegment(s.paddr, s.vaddr, s.memsz, s.mem_data) for s in kernel.segments),
        )

    @classmethod
    def from_facts(cls, facts: dict) -> KernelImage:
        """From a parsed `kernel-facts.json` (segment bytes unknown: zero-filled)."""
        hdr = facts["elf_header"]
        return cls(
            hdr["entry"],
            hdr["class"],
            hdr["machine"],
            tuple(KernelSegment(s["p_paddr"], s["p_vaddr"], s["p_memsz"], None) for s in facts["pt_load_segments"]),
        )

    @property
    def first_vaddr(self) -> int:
        return min(s.vaddr for s in self.segments)

    @property
    def first_paddr(self) -> int:
        return min(s.paddr for s in self.segments)


@dataclass(frozen=True)
class LoaderImage:
    """The loader image: code (tables patched), header, region records, regions."""

    loader_image: bytes
    header: bytes
    records: bytes
    regions: tuple[tuple[int, bytes], ...]
    entry: int
    kernel_word_size: int
    kernel_machine: int

    @property
    def header_and_records(self) -> bytes:
        return self.header + self.records

    def to_bytes(self) -> bytes:
        """The raw image (`--image-type binary`)."""
        return b"".join((self.loader_image, self.header, self.records, *(data for _, data in self.regions)))

    def to_elf(self) -> bytes:
        """The raw image as one RWX segment at the loader entry (`--image-type elf`)."""
        return _single_segment_elf(self.to_bytes(), self.entry, self.kernel_machine)

    def to_uimage(self, arch: str) -> bytes:
        """A U-Boot legacy image with a Linux RISC-V header (`--image-type uimage`)."""
        if arch != "riscv64":
            raise LoaderError(f"uImage output is only implemented for RISC-V, not {arch}")
        return _riscv_uimage(self.to_bytes(), self.entry)


def build_loader_image(
    arch: str,
    loader: LoaderFacts,
    kernel: KernelImage,
    initial_task: InitialiserImage,
    phys_base: int,
    riscv_pt_levels: int = 3,
) -> LoaderImage:
    """Assemble the loader image for `initial_task` placed at `phys_base`."""
    if arch not in ("aarch64", "riscv64"):
        raise LoaderError(f"{arch} does not use a loader image")
    if loader.word_size != 64:
        raise LoaderError(f"unexpected loader word size {loader.word_size}")
    if loader.image_vaddr != loader.entry:
        raise LoaderError("The loader entry point must be the first byte in the image")
    if not kernel.segments:
        raise LoaderError("the kernel has no loadable segments")
    offsets = {s.vaddr - s.paddr for s in kernel.segments}
    if len(offsets) != 1:
        raise LoaderError("Kernel does not have a consistent physical to virtual offset")

    regions = [(s.paddr, s.mem_data) for s in kernel.segments]
    vstart, vend = initial_task.image_bound
    regions += [(phys_base + s.vaddr - vstart, s.mem_data) for s in initial_task.segments if s.memsz > 0]

    tables = page_tables(arch, loader, kernel, riscv_pt_levels)
    image = bytearray(loader.image if loader.image is not None else bytes(loader.image_size))
    for name, table in tables.items():
        addr, size = loader.symbol(name)
        offset = addr - loader.image_vaddr
        if size != len(table) or not 0 < offset <= len(image) - size:
            raise LoaderError(f"page table '{name}' does not fit the loader image")
        image[offset : offset + size] = table

    _check_non_overlapping([(b, len(d)) for b, d in regions] + [(loader.image_vaddr, len(image))])

    records, offset = [], 0
    for addr, data in regions:
        records.append(_REGION.pack(addr, len(data), offset, REGION_TYPE_DATA))
        offset += len(data)
    size = _HEADER.size + sum(_REGION.size + len(d) for _, d in regions)
    mask = (1 << 64) - 1
    header = _HEADER.pack(
        LOADER_MAGIC_64,
        size,
        kernel.entry,
        phys_base,
        phys_base + (vend - vstart),
        (phys_base - vstart) & mask,
        initial_task.entry,
        len(regions),
    )
    return LoaderImage(
        bytes(image), header, b"".join(records), tuple(regions), loader.entry, kernel.word_size, kernel.machine
    )


def page_tables(arch: str, loader: LoaderFacts, kernel: KernelImage, riscv_pt_levels: int = 3) -> dict[str, bytes]:
    """The boot page tables the tool writes into the loader, by symbol name."""
    if arch not in ("aarch64", "riscv64"):
        raise LoaderError(f"{arch} does not use a loader image")
    if arch == "aarch64":
        return _aarch64_tables(loader, kernel.first_vaddr, kernel.first_paddr)
    return _riscv64_tables(loader, kernel.first_vaddr, kernel.first_paddr, riscv_pt_levels)


# ---------------------------------------------------------------------------
# AArch64: stage-1 descriptors (4 KiB granule)

_TABLE = 0b11
_BLOCK = 0b01
_AF = 1 << 10
_MT_DEVICE_NGNRNE = 0
_MT_NORMAL = 4
_OUTER_SHAREABLE, _INNER_SHAREABLE = 0b10, 0b11


def _block(addr: int, bits: int, attr_index: int) -> int:
    sh = _INNER_SHAREABLE if attr_index == _MT_NORMAL else _OUTER_SHAREABLE
    return (addr >> bits << bits) | _AF | (sh << 8) | (attr_index << 2) | _BLOCK


def _index(addr: int, shift: int) -> int:
    return (addr >> shift) & 0x1FF


def _aarch64_tables(loader: LoaderFacts, first_vaddr: int, first_paddr: int) -> dict[str, bytes]:
    """The six 4 KiB tables: lower half identity-maps the loader (and the UART),
    upper half maps the kernel window with 2 MiB normal-memory blocks."""
    addr = {name: loader.symbol(name)[0] for name in _AARCH64_TABLES}
    t = {name: [0] * 512 for name in _AARCH64_TABLES}
    start, _ = loader.symbol("_loader_start")
    end, _ = loader.symbol("_loader_end")

    t["boot_lvl0_lower"][_index(start, 39)] = addr["boot_lvl1_lower"] | _TABLE
    if loader.uart_addr is not None:
        t["boot_lvl1_lower"][_index(loader.uart_addr, 30)] = _block(loader.uart_addr, 30, _MT_DEVICE_NGNRNE)
    if loader.has_cpus_release_addr:
        # The Raspberry Pi 4 spin table lives in the first page of memory.
        t["boot_lvl1_lower"][0] = _block(0, 30, _MT_DEVICE_NGNRNE)
    t["boot_lvl1_lower"][_index(start, 30)] = addr["boot_lvl2_lower"] | _TABLE
    for block in range(start >> 21 << 21, end, 1 << 21):
        t["boot_lvl2_lower"][_index(block, 21)] = _block(block, 21, _MT_DEVICE_NGNRNE)

    kernel_lvl1 = addr["boot_lvl1_upper"] | _TABLE
    t["boot_lvl0_lower"][_index(first_vaddr, 39)] = kernel_lvl1
    t["boot_lvl0_upper"][_index(first_vaddr, 39)] = kernel_lvl1
    t["boot_lvl1_upper"][_index(first_vaddr, 30)] = addr["boot_lvl2_upper"] | _TABLE
    first = _index(first_vaddr, 21)
    for i in range(first, 512):
        t["boot_lvl2_upper"][i] = _block(first_paddr + ((i - first) << 21), 21, _MT_NORMAL)
    return {name: struct.pack("<512Q", *entries) for name, entries in t.items()}


# ---------------------------------------------------------------------------
# RISC-V (Sv39)

_PTE_VALID = 1
_PTE_LEAF_BITS = 0b11001110  # D, A, X, W, R


def _riscv64_tables(loader: LoaderFacts, first_vaddr: int, first_paddr: int, levels: int) -> dict[str, bytes]:
    """Level 1 table pointing at a 2 MiB-block table for the loader's text and one for the kernel."""
    if levels != 3:
        raise LoaderError(f"unsupported RISC-V page-table levels {levels}")

    def index(a: int, level: int) -> int:
        return (a >> (9 * (levels - level) + 12)) % 512

    def next_table(a: int) -> int:
        return (a >> 12) << 10 | _PTE_VALID

    def leaf(a: int) -> int:
        return (a >> 12) << 10 | _PTE_LEAF_BITS | _PTE_VALID

    text, _ = loader.symbol("_text")
    lvl2_addr, _ = loader.symbol("boot_lvl2_pt")
    lvl2_elf_addr, _ = loader.symbol("boot_lvl2_pt_elf")
    lvl1, lvl2, lvl2_elf = [0] * 512, [0] * 512, [0] * 512
    lvl1[index(text, 1)] = next_table(lvl2_elf_addr)
    for page, i in enumerate(range(index(text, 2), 512)):
        lvl2_elf[i] = leaf(text + (page << 21))
    lvl1[index(first_vaddr, 1)] = next_table(lvl2_addr)
    for page, i in enumerate(range(index(first_vaddr, 2), 512)):
        lvl2[i] = leaf(first_paddr + (page << 21))
    return {name: struct.pack("<512Q", *t) for name, t in zip(_RISCV64_TABLES, (lvl1, lvl2, lvl2_elf), strict=False)}


# ---------------------------------------------------------------------------
# output formats


def _check_non_overlapping(regions: list[tuple[int, int]]) -> None:
    checked: list[tuple[int, int]] = []
    for base, size in regions:
        end = base + size
        for b, e in checked:
            if not (end <= b or base >= e):
                raise LoaderError(f"Overlapping regions: [{base:x}..{end:x}) overlaps [{b:x}..{e:x})")
        checked.append((base, end))


def _single_segment_elf(payload: bytes, entry: int, machine: int) -> bytes:
    """A minimal ELF64 with one RWX segment (and a matching section) at `entry`."""
    ehsize, phentsize, shentsize = 64, 56, 64
    data_off = ehsize + phentsize + 2 * shentsize
    ehdr = struct.pack(
        "<4sBBBBB7sHHIQQQIHHHHHH",
        b"\x7fELF",
        2,
        1,
        1,
        0,
        0,
        bytes(7),
        2,
        machine,
        1,
        entry,
        ehsize,
        ehsize + phentsize,
        0,
        ehsize,
        phentsize,
        1,
        shentsize,
        2,
        0,
    )
    phdr = struct.pack("<IIQQQQQQ", 1, 0x7, data_off, entry, entry, len(payload), len(payload), 0)
    shdr = bytes(shentsize) + struct.pack("<IIQQQQIIQQ", 0, 1, 0x7, entry, data_off, len(payload), 0, 0, 0, 0)
    return ehdr + phdr + shdr + payload


_IH_MAGIC = 0x27051956
_IH_OS_LINUX, _IH_ARCH_RISCV, _IH_TYPE_KERNEL, _IH_COMP_NONE = 5, 26, 2, 0
_UIMAGE_NAME = b"seL4 Microkit"
_UBOOT_HEADER = struct.Struct(">7I4B32s")
_LINUX_RISCV_HEADER = struct.Struct("<IIQQQIIQQII")


def _riscv_uimage(payload: bytes, entry: int) -> bytes:
    """U-Boot legacy header + Linux RISC-V image header + payload.

    The loader poses as a Linux kernel so that U-Boot passes the hart id in a0;
    the load address is set so that the payload itself lands at `entry`.
    """
    if entry >= 1 << 32:
        raise LoaderError(f"Loader link address {entry:#x} cannot be above 4G for uImage.")
    linux = _LINUX_RISCV_HEADER.pack(0, 0, 0, len(payload), 0, 2, 0, 0, 0x5643534952, 0x05435352, 0) + payload
    load = entry - _LINUX_RISCV_HEADER.size

    def header(hcrc: int) -> bytes:
        return _UBOOT_HEADER.pack(
            _IH_MAGIC,
            hcrc,
            0,
            len(linux),
            load,
            entry,
            zlib.crc32(linux),
            _IH_OS_LINUX,
            _IH_ARCH_RISCV,
            _IH_TYPE_KERNEL,
            _IH_COMP_NONE,
            _UIMAGE_NAME,
        )

    return header(zlib.crc32(header(0))) + linux
