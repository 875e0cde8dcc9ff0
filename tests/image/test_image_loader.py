"""The loader image against result.json and loader-facts.json."""

from __future__ import annotations

import hashlib
import struct
import zlib

import pytest
from image_golden import GOLDEN, Case, golden_cases, load_elf, requires_golden

from sdf_lsp.elf import ElfImage, Segment
from sdf_lsp.image.initialiser import add_spec
from sdf_lsp.image.loader import (
    LOADER_MAGIC_64,
    KernelImage,
    KernelSegment,
    LoaderError,
    LoaderFacts,
    build_loader_image,
    page_tables,
)


def _loader(case):
    task = add_spec(load_elf(GOLDEN / "elf" / "initialiser.elf"), case.bytes("spec.rkyv"), case.bytes("frame_data.bin"))
    return build_loader_image(
        "aarch64",
        LoaderFacts.from_facts(case.sdk_json("loader-facts.json")),
        KernelImage.from_facts(case.sdk_json("kernel-facts.json")),
        task,
        case.json("result.json")["image"]["initial_task_phys_base"],
    )


@golden_cases
def test_header_and_region_records(case):
    image = case.json("result.json")["image"]
    loader = _loader(case)
    assert loader.header_and_records.hex() == image["header_and_region_records_hex"]
    magic, size, kernel_entry, *_ = struct.unpack_from("<8Q", loader.header)
    assert magic == LOADER_MAGIC_64
    assert size == image["header"]["size"] and kernel_entry == image["header"]["kernel_entry"]


@golden_cases
def test_regions(case):
    expected = case.json("result.json")["image"]["regions"]
    loader = _loader(case)
    assert [(addr, len(data)) for addr, data in loader.regions] == [(r["load_addr"], r["size"]) for r in expected]
    # the kernel's bytes are not in the golden data; everything after it is exact
    assert [hashlib.sha256(d).hexdigest() for _, d in loader.regions[1:]] == [r["sha256"] for r in expected[1:]]
    assert len(loader.to_bytes()) == case.json("result.json")["outputs"]["loader.img"]["size"]


@pytest.mark.parametrize("config", ["debug", "release"])
@requires_golden
def test_page_tables(config):
    case = Case("hello", config)
    facts = case.sdk_json("loader-facts.json")
    tables = page_tables(
        "aarch64", LoaderFacts.from_facts(facts), KernelImage.from_facts(case.sdk_json("kernel-facts.json"))
    )
    for name, expected in facts["page_tables_written_by_the_tool"].items():
        if name == "note":
            continue
        entries = struct.unpack("<512Q", tables[name])
        assert [[i, v] for i, v in enumerate(entries) if v] == expected["nonzero_entries"], name
        assert hashlib.sha256(tables[name]).hexdigest() == expected["sha256"], name


@requires_golden
def test_tables_are_written_into_the_loader_image():
    case = Case("hello", "debug")
    facts = LoaderFacts.from_facts(case.sdk_json("loader-facts.json"))
    loader = _loader(case)
    assert len(loader.loader_image) == facts.image_size
    addr, size = facts.symbols["boot_lvl2_upper"]
    table = page_tables("aarch64", facts, KernelImage.from_facts(case.sdk_json("kernel-facts.json")))["boot_lvl2_upper"]
    assert loader.loader_image[addr - facts.image_vaddr :][:size] == table


@requires_golden
def test_elf_output():
    loader = _loader(Case("hello", "debug"))
    elf = ElfImage.from_bytes(loader.to_elf())
    (seg,) = elf.segments
    assert elf.entry == seg.vaddr == loader.entry
    assert seg.data == loader.to_bytes() and seg.flags == 0x7 and elf.machine == 183


@requires_golden
def test_uimage_output():
    loader = _loader(Case("hello", "debug"))
    with pytest.raises(LoaderError, match="only implemented for RISC-V"):
        loader.to_uimage("aarch64")
    uimage = loader.to_uimage("riscv64")
    magic, hcrc, _, size, load, ep, dcrc = struct.unpack_from(">7I", uimage)
    payload = uimage[64:]
    assert magic == 0x27051956 and size == len(payload) and dcrc == zlib.crc32(payload)
    assert ep == loader.entry and load == ep - 64
    assert hcrc == zlib.crc32(uimage[:4] + bytes(4) + uimage[8:64])
    assert payload[64:] == loader.to_bytes()
    assert struct.unpack_from("<Q", payload, 48)[0] == 0x5643534952


def test_riscv64_page_tables():
    facts = LoaderFacts(
        entry=0x8020_0000,
        word_size=64,
        image_vaddr=0x8020_0000,
        image_size=0x10000,
        symbols={
            "_text": (0x8020_0000, 0),
            "boot_lvl1_pt": (0x8020_1000, 4096),
            "boot_lvl2_pt": (0x8020_2000, 4096),
            "boot_lvl2_pt_elf": (0x8020_3000, 4096),
        },
    )
    kernel = KernelImage(
        0xFFFF_FFC0_8400_0000, 64, 243, (KernelSegment(0x8400_0000, 0xFFFF_FFC0_8400_0000, 0x1000, None),)
    )
    tables = page_tables("riscv64", facts, kernel)
    lvl1 = struct.unpack("<512Q", tables["boot_lvl1_pt"])
    assert lvl1[2] == (0x8020_3000 >> 12) << 10 | 1  # loader text at 2 GiB
    assert lvl1[(0xFFFF_FFC0_8400_0000 >> 30) % 512] == (0x8020_2000 >> 12) << 10 | 1


def test_mismatched_loader_is_an_error():
    facts = LoaderFacts(entry=0x1000, word_size=64, image_vaddr=0x2000, image_size=0, symbols={})
    with pytest.raises(LoaderError, match="first byte"):
        build_loader_image("aarch64", facts, KernelImage(0, 64, 183, ()), None, 0)


def test_facts_from_elfs():
    loader_elf = ElfImage(
        entry=0x7000_0000,
        word_size=64,
        machine=183,
        segments=(
            Segment(
                vaddr=0x7000_0000,
                paddr=0x7000_0000,
                memsz=0x3000,
                flags=7,
                data=bytes(0x10) + (0x900_0000).to_bytes(8, "little"),
            ),
        ),
        symbols={
            "uart_addr": (0x7000_0010, 8),
            "_loader_start": (0x7000_0000, 0),
            "boot_lvl0_lower": (0x7000_1000, 4096),
        },
    )
    facts = LoaderFacts.from_elf(loader_elf)
    assert facts.uart_addr == 0x900_0000 and facts.image_size == 0x3000 and not facts.has_cpus_release_addr
    assert facts.symbols == {"boot_lvl0_lower": (0x7000_1000, 4096), "_loader_start": (0x7000_0000, 0)}
    assert facts.image == bytes(0x10) + (0x900_0000).to_bytes(8, "little") + bytes(0x3000 - 0x18)
    kernel_elf = ElfImage(
        entry=1,
        word_size=64,
        machine=183,
        symbols={},
        segments=(Segment(vaddr=0x10_0000, paddr=0x1000, memsz=0x20, flags=7, data=b"k"),),
    )
    (seg,) = KernelImage.from_elf(kernel_elf).segments
    assert (seg.paddr, seg.vaddr, seg.mem_data) == (0x1000, 0x10_0000, b"k" + bytes(0x1F))
