"""The build API: extension objects, failures (with their spans), atomic outputs, x86_64, image types."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import pytest

from sdf_lsp.analysis import analyse
from sdf_lsp.backend import build
from sdf_lsp.backend import errors as E
from sdf_lsp.elf import ElfImage
from sdf_lsp.files import SearchPathFiles
from sdf_lsp.model.lower import Context
from sdf_lsp.target import MemRange, SdkFiles, builtin_target, load_sdk, load_target_file
from tests.backend.golden import BOARD, GOLDEN, SDK
from tests.backend.standin import standin_elf, write_standins
from tests.conftest import require

EXTENDED = """<?xml version="1.0" encoding="UTF-8"?>
<system>
    <untyped name="heap" size="0x100000" />
    <untyped name="dev" size_bits="12" phys_addr="0x9000000" device="true" />
    <cnode name="scratch" size_bits="4" />
    <protection_domain name="pager" priority="200">
        <program_image path="pager.elf" />
        <cspace size_bits="7" setvar_first_free_slot="first_free" setvar_size_bits="root_bits">
            <cap_tcb slot="1" pd="client" setvar_cptr="client_tcb_cptr" />
            <cap_notification slot="2" pd="client" badge="0x5" rights="w" />
            <cap_untyped slot="3" untyped="heap" setvar_cptr="heap_cptr" />
            <cap_untyped slot="9" untyped="dev" />
            <cap_cnode slot="4" cnode_name="scratch" />
            <cap_smc slot="5" function_id="0" />
            <reserve slot="16" count="8" setvar_cptr="reserved_cptr" />
            <reserve count="2" setvar_cptr="auto_cptr" />
        </cspace>
    </protection_domain>
    <protection_domain name="client" priority="100" fault_handler="pager" fault_id="3">
        <program_image path="client.elf" />
    </protection_domain>
</system>
"""

HELLO = """<?xml version="1.0" encoding="UTF-8"?>
<system>
    <protection_domain name="hello">
        <program_image path="hello.elf" />
    </protection_domain>
</system>
"""


@pytest.fixture(scope="module")
def target():
    require(SDK.is_dir(), f"golden SDK fixture not found at {SDK}")
    return load_sdk(SDK, BOARD, "debug")


def _analyse(text: str, target, directory: Path, dialect: str = "extended"):
    (directory / "system.system").write_text(text)
    return analyse(text, Context(target, dialect, True), SearchPathFiles([str(directory)]))


def _files(*directories: Path) -> SearchPathFiles:
    return SearchPathFiles([str(d) for d in directories])


def _build(text: str, target, tmp_path: Path, standins: bool = True, **kw):
    analysis = _analyse(text, target, tmp_path)
    assert not analysis.errors, analysis.errors
    if standins:
        write_standins(analysis, tmp_path / "elf", target.arch)
    return analysis, build(analysis, target, _files(tmp_path / "elf", tmp_path), str(tmp_path / "out"), **kw)


def _objects(out: Path) -> tuple[list, dict]:
    spec = json.loads((out / "capdl.json").read_text())
    return spec["objects"], {o["name"]: i for i, o in enumerate(spec["objects"])}


def _slots(objects, index) -> dict:
    body = next(iter(objects[index]["object"].values()))
    return {e["slot"]: e["cap"] for e in body["slots"]}


# ------------------------------------------------------------------------------------ extensions


def test_extension_objects_and_caps(target, tmp_path):
    _, result = _build(EXTENDED, target, tmp_path)
    assert result.ok, result.errors
    objects, ix = _objects(tmp_path / "out")
    assert objects[ix["untyped_heap"]]["object"] == {"Untyped": {"size_bits": 20, "paddr": None}}
    assert objects[ix["untyped_dev"]]["object"] == {"Untyped": {"size_bits": 12, "paddr": 0x9000000}}
    scratch = ix["subcnode_scratch"]
    assert _slots(objects, scratch) == {0: {"CNode": {"object": scratch, "guard": 0, "guard_size": 64 - 7 - 4}}}

    root = _slots(objects, ix["cnode_pager_root"])
    assert objects[ix["cnode_pager_root"]]["object"]["CNode"]["size_bits"] == 7
    assert root[0] == {"CNode": {"object": ix["cnode_pager"], "guard": 0, "guard_size": 64 - 9 - 7}}
    assert root[1] == {"Tcb": {"object": ix["tcb_client"]}}
    assert root[2] == {
        "Notification": {
            "object": ix["ntfn_client"],
            "badge": 5,
            "rights": {"read": False, "write": True, "grant": False, "grant_reply": False},
        }
    }
    assert root[3] == {"Untyped": {"object": ix["untyped_heap"]}}
    assert root[4] == {"CNode": {"object": scratch, "guard": 0, "guard_size": 64 - 7 - 4}}
    assert root[5] == {"ArmSmc": {"object": ix["arm_smc"]}}
    assert set(root) == {0, 1, 2, 3, 4, 5, 9}  # reserves stay empty

    # a fault handler that is not the parent: its endpoint, badged 1 << 62 | fault_id
    fault = {
        "Endpoint": {
            "object": ix["ep_pager"],
            "badge": (1 << 62) | 3,
            "rights": {"read": True, "write": True, "grant": True, "grant_reply": False},
        }
    }
    assert _slots(objects, ix["cnode_client"])[2] == fault
    assert _slots(objects, ix["tcb_client"])[5] == fault
    assert "Endpoint" in _slots(objects, ix["cnode_pager"])[1]


def test_extension_setvars_and_report(target, tmp_path):
    _, result = _build(EXTENDED, target, tmp_path)
    assert result.ok, result.errors
    pager = ElfImage.from_bytes((tmp_path / "out" / "elf" / "pager.elf").read_bytes())

    def word(name):
        return int.from_bytes(pager.read_symbol(name), "little")

    assert word("root_bits") == 7
    assert word("first_free") == 8  # slots 1-5 caps, auto reserve 6..7
    assert word("client_tcb_cptr") == 1 << 57
    assert word("heap_cptr") == 3 << 57
    assert word("reserved_cptr") == 16 << 57
    assert word("auto_cptr") == 6 << 57
    report = Path(result.report).read_text()
    for section in (
        "# Untyped Details",
        "# Extension CNode Details",
        "# Granted Cap Details",
        "# Reserved Slot Details",
    ):
        assert section in report
    assert report.index("# Kernel Objects Details") < report.index("# Untyped Details")
    assert "Slots: [6..8) (CPtr 0xc00000000000000), left empty" in report
    assert "'untyped_dev' @ 0x000009000000" in report


def test_smc_caps_with_a_function_id_cannot_be_built(target, tmp_path):
    text = EXTENDED.replace('function_id="0"', 'function_id="0x84000000"')
    _, result = _build(text, target, tmp_path)
    assert not result.ok and [e.code for e in result.errors] == [E.UNSUPPORTED]
    assert text[result.errors[0].span.start : result.errors[0].span.end] == "0x84000000"


# ---------------------------------------------------------------------------------- failures


def test_refuses_a_system_with_errors(target, tmp_path):
    analysis = _analyse(HELLO.replace('name="hello"', 'name="monitor"'), target, tmp_path)
    result = build(analysis, target, _files(tmp_path), str(tmp_path / "out"))
    assert not result.ok and result.errors == analysis.errors and not (tmp_path / "out").exists()


def test_missing_program_image(target, tmp_path):
    _, result = _build(HELLO, target, tmp_path, standins=False)
    assert not result.ok
    (err,) = result.errors
    assert (err.code, err.message) == (E.PROGRAM_NOT_FOUND, "unable to find program image: 'hello.elf'")
    assert HELLO[err.span.start : err.span.end] == "hello.elf"


def test_failed_build_leaves_the_output_untouched(target, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("previous build")
    _, result = _build(HELLO, target, tmp_path, standins=False)
    assert not result.ok
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"] and (out / "keep.txt").read_text() == "previous build"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "system.system"]


def test_a_new_build_replaces_only_an_earlier_builds_output(target, tmp_path):
    out = tmp_path / "out"
    _, first = _build(HELLO, target, tmp_path)
    assert first.ok
    (out / "elf" / "stale.elf").unlink(missing_ok=True)
    _, result = _build(HELLO, target, tmp_path)
    assert result.ok
    assert sorted(os.listdir(out)) == [
        ".sdf-lsp-build.json",
        "capdl.json",
        "elf",
        "initialiser.elf",
        "loader.img",
        "report.txt",
    ]
    assert sorted(result.files) == sorted(
        str(p) for p in out.rglob("*") if p.is_file() and p.name != ".sdf-lsp-build.json"
    )
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("where", ["out", "."])
def test_a_folder_with_the_users_files_is_never_replaced(target, tmp_path, where):
    out = tmp_path / where
    out.mkdir(exist_ok=True)
    (out / "notes.txt").write_text("mine")
    before = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    analysis = _analyse(HELLO, target, tmp_path)
    write_standins(analysis, tmp_path / "elf", target.arch)
    before = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    result = build(analysis, target, _files(tmp_path / "elf"), str(out))
    assert not result.ok
    (err,) = result.errors
    assert (
        err.code == E.OUTPUT and "holds files that no earlier build wrote" in err.message and "notes.txt" in err.message
    )
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == before
    assert (tmp_path / "system.system").read_text() == HELLO


def test_a_user_file_added_to_a_build_folder_is_kept(target, tmp_path):
    out = tmp_path / "out"
    assert _build(HELLO, target, tmp_path)[1].ok
    (out / "elf" / "mine.c").write_text("int main;")
    _, result = _build(HELLO, target, tmp_path)
    assert not result.ok and "elf/mine.c" in result.errors[0].message
    assert (out / "elf" / "mine.c").read_text() == "int main;"


def test_out_of_memory_says_what_was_needed_and_who_needs_it(target, tmp_path):
    text = HELLO.replace(
        "<protection_domain",
        '<memory_region name="huge" size="0x5fa00000" page_size="0x200000" />\n    <protection_domain',
    )
    text = text.replace(
        "</protection_domain>", '    <map mr="huge" vaddr="0x40000000" perms="rw" />\n    </protection_domain>'
    )
    _, result = _build(text, target, tmp_path)
    assert not result.ok
    (err,) = result.errors
    assert err.code == E.OUT_OF_MEMORY
    assert "ran out of untypeds for allocating objects of size 2 MiB, still need to create 2 objects" in err.message
    assert "the system needs 1.49 GiB (0x5fa" in err.message and "of untyped memory is free" in err.message
    assert "biggest consumers: memory region 'huge' (1.49 GiB), PD 'hello'" in err.message
    assert text[err.related[0].span.start : err.related[0].span.end] == "memory_region"
    assert not (tmp_path / "out").exists()


def test_map_over_an_elf_segment(target, tmp_path):
    text = HELLO.replace("<protection_domain", '<memory_region name="m" size="0x1000" />\n    <protection_domain')
    text = text.replace("</protection_domain>", '    <map mr="m" vaddr="0x201000" />\n    </protection_domain>')
    _, result = _build(text, target, tmp_path)
    (err,) = result.errors
    assert err.code == E.MAP_OVERLAP
    assert err.message == (
        "mapping MR 'm' to PD 'hello' with vaddr [0x201000..0x202000) will overlap with an ELF segment "
        "at [0x201000..0x202000)"
    )
    assert text[err.span.start : err.span.end] == "0x201000"


def test_setvar_symbol_problems(target, tmp_path):
    text = HELLO.replace(
        "<protection_domain", '<memory_region name="m" size="0x1000" phys_addr="0x9000000" />\n    <protection_domain'
    )
    text = text.replace(
        "</protection_domain>",
        '    <setvar symbol="absent" region_paddr="m" />\n'
        '        <setvar symbol="small" region_paddr="m" />\n    </protection_domain>',
    )
    analysis = _analyse(text, target, tmp_path)
    (tmp_path / "elf").mkdir()
    (tmp_path / "elf" / "hello.elf").write_bytes(
        standin_elf(
            {
                "microkit_name": 64,
                "microkit_passive": 1,
                "microkit_irqs": 8,
                "microkit_notifications": 8,
                "microkit_pps": 8,
                "microkit_ioports": 8,
                "small": 4,
            }
        )
    )
    result = build(analysis, target, _files(tmp_path / "elf"), str(tmp_path / "out"))
    absent, small = result.errors
    assert (absent.code, small.code) == (E.SYMBOL_PATCH, E.SYMBOL_SIZE)
    assert absent.message == (
        "could not patch symbol 'absent' in program image for PD 'hello' (hello.elf): no symbol named 'absent' found"
    )
    assert small.message == (
        "setvar to non-word size symbol 'small' for PD 'hello', symbol has size '4' bytes, expected size '8' bytes"
    )
    assert text[small.span.start : small.span.end] == "small"


def test_a_target_without_sdk_binaries(tmp_path):
    target = builtin_target("qemu_virt_aarch64", "release")
    analysis = _analyse(HELLO, target, tmp_path)
    result = build(analysis, target, _files(tmp_path), str(tmp_path / "out"))
    (err,) = result.errors
    assert err.code == E.NO_SDK and "Microkit SDK" in err.message


# ------------------------------------------------------------------------------ other outputs


def test_progress_and_image_types(target, tmp_path):
    seen = []
    _, result = _build(HELLO, target, tmp_path, image_type="elf", progress=lambda m, p: seen.append(p))
    assert result.ok and seen == sorted(seen) and seen[-1] == 100
    loader = ElfImage.from_bytes((tmp_path / "out" / "loader.img").read_bytes())
    assert loader.machine == 183 and len(loader.segments) == 1


def test_x86_64_has_no_placement(tmp_path):
    require(GOLDEN.is_dir(), "golden data missing")
    (tmp_path / "x86.json").write_text(json.dumps({"arch": "x86_64", "board": "x86_64_generic", "config": "debug"}))
    target = load_target_file(tmp_path / "x86.json")
    (tmp_path / "sdk").mkdir()
    (tmp_path / "sdk" / "sel4.elf").write_bytes(b"kernel")
    target = replace(
        target,
        sdk=SdkFiles(
            monitor_elf=str(GOLDEN / "elf" / "monitor.elf"),
            initialiser_elf=str(GOLDEN / "elf" / "initialiser.elf"),
            kernel_elf=str(tmp_path / "sdk" / "sel4.elf"),
        ),
    )
    _, result = _build(HELLO, target, tmp_path)
    assert result.ok, result.errors
    out = tmp_path / "out"
    report = (out / "report.txt").read_text()
    assert "# Kernel Objects Details: ID, Type, Name\n" in report and " @ 0x" not in report
    objects, ix = _objects(out)
    assert objects[ix["pml4_hello"]]["object"]["PageTable"]["is_root"]
    assert (out / "loader.img").read_bytes() == (out / "initialiser.elf").read_bytes()
    assert (out / "sel4.elf").read_bytes() == b"kernel"  # booted beside the boot module


def _riscv64_target(tmp_path: Path):
    """The built-in RISC-V board with made-up kernel and loader facts (a 2 MiB kernel at the start of RAM)."""
    require(GOLDEN.is_dir(), "golden data missing")
    board = builtin_target("qemu_virt_riscv64", "release")
    ram = board.normal_regions[0].start
    kernel_vaddr = 0xFFFF_FFC0_0000_0000 + ram
    kernel = {
        "elf_header": {"entry": kernel_vaddr, "class": 64, "machine": 243},
        "pt_load_segments": [{"p_paddr": ram, "p_vaddr": kernel_vaddr, "p_memsz": 0x100000}],
        "symbols": {"ki_end": {"value": kernel_vaddr + 0x200000}, "ki_boot_end": {"value": kernel_vaddr + 0x10000}},
    }
    loader_at = 0x9000_0000
    loader = {
        "elf_header": {"entry": loader_at, "class": 64},
        "first_pt_load": {"p_vaddr": loader_at, "p_memsz": 0x10000},
        "symbols": {
            "_text": {"value": loader_at, "size": 0},
            **{
                name: {"value": loader_at + 0x1000 * (i + 1), "size": 4096}
                for i, name in enumerate(("boot_lvl1_pt", "boot_lvl2_pt", "boot_lvl2_pt_elf"))
            },
        },
    }
    return replace(
        board,
        device_regions=(MemRange(0, ram),),
        sdk=SdkFiles(
            monitor_elf=str(GOLDEN / "elf" / "monitor.elf"),
            initialiser_elf=str(GOLDEN / "elf" / "initialiser.elf"),
            kernel_facts=kernel,
            loader_facts=loader,
        ),
    )


def test_riscv64_builds_with_its_own_paging_and_image(tmp_path):
    target = _riscv64_target(tmp_path)
    text = HELLO.replace(
        "<protection_domain",
        '<memory_region name="dev" size="0x1000" phys_addr="0x10000000" />\n    <protection_domain',
    )
    text = text.replace(
        "</protection_domain>",
        '    <map mr="dev" vaddr="0x3000000" perms="rw" cached="false" />\n'
        '        <irq irq="10" id="1" trigger="edge" />\n    </protection_domain>',
    )
    _, result = _build(text, target, tmp_path)
    assert result.ok, result.errors
    objects, ix = _objects(tmp_path / "out")
    assert {"pgd_hello", "pmd_hello_vaddr_0x200000", "pte_hello_vaddr_0x200000", "pte_hello_vaddr_0x3000000"} <= set(ix)
    assert objects[ix["irq_10_hello"]]["object"] == {
        "RiscvIrq": {
            "slots": [
                {
                    "slot": 0,
                    "cap": {
                        "Notification": {
                            "object": ix["ntfn_hello"],
                            "badge": 2,
                            "rights": {"read": True, "write": True, "grant": False, "grant_reply": False},
                        }
                    },
                }
            ],
            "extra": {"trigger": 1},
        }
    }
    assert _slots(objects, ix["cnode_hello"])[139] == {"RiscvIrqHandler": {"object": ix["irq_10_hello"]}}
    report = (tmp_path / "out" / "report.txt").read_text()
    assert "\t- IRQ: 'irq_10_hello'\n\t\t* Number: 10\n\t\t* Trigger: edge\n\n" in report
    assert "'frame_mr_dev_000000000' @ 0x000010000000" in report
    uimage = (tmp_path / "out" / "loader.img").read_bytes()
    assert uimage[:4] == bytes.fromhex("27051956")  # the default image type on RISC-V is a uImage
