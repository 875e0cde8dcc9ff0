"""Kernel boot emulation against boot.json."""

from __future__ import annotations

import pytest
from image_golden import golden_cases

from sdf_lsp.elf import ElfImage, Segment
from sdf_lsp.image.boot import BootConfig, BootError, DisjointMemory, KernelFacts, plan_boot


def _plan(case):
    platform = case.sdk_json("platform_gen.json")
    config = BootConfig.from_sdk(case.sdk_json("include/kernel/gen_config.json"), case.sdk_json("object_sizes.json"))
    kernel = KernelFacts.from_facts(case.sdk_json("kernel-facts.json"))
    bound = tuple(case.json("result.json")["image"]["initialiser_image_bound"])
    return plan_boot(
        config,
        [(r["start"], r["end"]) for r in platform["memory"]],
        [(r["start"], r["end"]) for r in platform["devices"]],
        kernel,
        bound,
    )


@golden_cases
def test_boot_matches(case):
    plan = _plan(case)
    info = plan.boot_info
    expected = case.json("boot.json")
    assert {
        "kernel_boot_region": list(plan.kernel_boot_region),
        "normal_memory_after_kernel": [list(r) for r in plan.normal_memory_after_kernel],
        "initial_task_size": plan.initial_task_phys_region[1] - plan.initial_task_phys_region[0],
        "initial_task_phys_region": list(plan.initial_task_phys_region),
        "initial_task_virt_region": list(plan.initial_task_virt_region),
        "fixed_cap_count": info.fixed_cap_count,
        "paging_cap_count": info.paging_cap_count,
        "sched_control_cap": info.sched_control_cap,
        "page_cap_count": info.page_cap_count,
        "first_untyped_cap": info.first_untyped_cap,
        "first_available_cap": info.first_available_cap,
        "untyped_count": len(info.untypeds),
        "untypeds": [
            {"cap": u.cap, "paddr": u.paddr, "size_bits": u.size_bits, "is_device": u.is_device} for u in info.untypeds
        ],
    } == expected
    assert plan.initial_task_phys_base == case.json("result.json")["image"]["initial_task_phys_base"]


def test_kernel_facts_derived_regions():
    facts = {
        "pt_load_segments": [{"p_paddr": 0x6000_0000, "p_vaddr": 0xFF_C000_0000}],
        "symbols": {"ki_end": {"value": 0xFF_C025_E000}, "ki_boot_end": {"value": 0xFF_C001_0000}},
    }
    k = KernelFacts.from_facts(facts)
    assert k.self_mem == (0x6000_0000, 0x6025_E000)
    assert k.boot_region == (0x6000_0000, 0x6001_0000)


def test_disjoint_memory():
    m = DisjointMemory([(0x2000, 0x3000), (0, 0x1000)])
    assert m.regions == [(0, 0x1000), (0x2000, 0x3000)]
    m.remove(0x2400, 0x2800)
    assert m.regions == [(0, 0x1000), (0x2000, 0x2400), (0x2800, 0x3000)]
    assert m.allocate_from(0x400, 0x2000) == 0x2000
    with pytest.raises(BootError, match="not currently covered"):
        m.remove(0x800, 0x1800)
    with pytest.raises(BootError, match="Unable to allocate"):
        m.allocate_from(0x1000, 0x1000)


def test_unsupported_arch():
    with pytest.raises(BootError):
        BootConfig.from_sdk({"SEL4_ARCH": "x86_64"}, {})


def test_kernel_facts_from_an_elf():
    kernel = ElfImage(
        entry=0xFF_C000_0000,
        word_size=64,
        machine=183,
        segments=(Segment(vaddr=0xFF_C000_0000, paddr=0x6000_0000, memsz=0x1000, flags=7, data=b""),),
        symbols={"ki_end": (0xFF_C025_E000, 0), "ki_boot_end": (0xFF_C001_0000, 0)},
    )
    assert KernelFacts.from_elf(kernel) == KernelFacts(0x6000_0000, 0xFF_C000_0000, 0xFF_C025_E000, 0xFF_C001_0000)
