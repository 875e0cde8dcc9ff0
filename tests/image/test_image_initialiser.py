"""The initialiser with its spec against result.json's image fields."""

from __future__ import annotations

import hashlib

from image_golden import GOLDEN, Case, golden_cases, load_elf, requires_golden

from sdf_lsp.elf import PT_LOAD, ElfImage
from sdf_lsp.image.initialiser import (
    PT_SEL4_CAPDL_FRAME_DATA,
    PT_SEL4_CAPDL_SPEC,
    add_spec,
    pack_spec_into_initial_task,
)


def _initial_task(case):
    return add_spec(load_elf(GOLDEN / "elf" / "initialiser.elf"), case.bytes("spec.rkyv"), case.bytes("frame_data.bin"))


@golden_cases
def test_phdr_table_and_symbols(case):
    image = case.json("result.json")["image"]
    task = _initial_task(case)
    assert task.phdr_table.hex() == image["initialiser_phdr_table_hex"]
    assert {"sel4_phdrs_patched__vaddr": task.phdrs_vaddr, "sel4_phdrs_patched__phnum": task.phnum} == image[
        "initialiser_patched_symbols"
    ]
    assert list(task.image_bound) == image["initialiser_image_bound"]


@golden_cases
def test_segments_are_the_image_regions(case):
    regions = case.json("result.json")["image"]["regions"][1:]
    task = _initial_task(case)
    assert [hashlib.sha256(s.mem_data).hexdigest() for s in task.segments] == [r["sha256"] for r in regions]
    assert [s.memsz for s in task.segments] == [r["size"] for r in regions]
    assert task.spec_segment.data == case.bytes("spec.rkyv")
    assert task.frame_data_segment.data == case.bytes("frame_data.bin")


@requires_golden
def test_pack_spec_into_initial_task():
    case = Case("hello", "debug")
    segments = [[s.mem_data for s in elf.segments] for elf in case.patched_programs()]
    packed = pack_spec_into_initial_task(
        case.json("capdl.json"), segments, "debug", load_elf(GOLDEN / "elf" / "initialiser.elf")
    )
    assert packed.spec_for_initializer == case.json("spec.initializer.json")
    assert packed.spec_bytes == case.bytes("spec.rkyv")  # hello has no deflated frames
    assert packed.initial_task.phdr_table.hex() == case.json("result.json")["image"]["initialiser_phdr_table_hex"]


@requires_golden
def test_boot_module_elf_reads_back():
    task = _initial_task(Case("hello", "debug"))
    raw = task.to_elf()
    elf = ElfImage.from_bytes(raw)
    assert elf.entry == task.entry
    assert [(s.vaddr, s.mem_data) for s in elf.segments] == [(s.vaddr, s.mem_data) for s in task.segments]
    phnum = int.from_bytes(raw[56:58], "little")
    types = [int.from_bytes(raw[64 + 56 * i : 68 + 56 * i], "little") for i in range(phnum)]
    assert types.count(PT_LOAD) == len(task.segments)
    assert PT_SEL4_CAPDL_SPEC in types and PT_SEL4_CAPDL_FRAME_DATA in types
