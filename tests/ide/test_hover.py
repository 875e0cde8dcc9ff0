"""Hover, in-process: model summaries, numbers, the schema's documentation and program symbols."""

import re
from pathlib import Path

import pytest

from .fixture import fixture, wrap

ROOT = Path(__file__).resolve().parents[2]
ECHO = (ROOT / "examples" / "echo" / "echo.system").read_text()
EXTENDED = (ROOT / "examples" / "extended" / "extended.system").read_text()
DATA = ROOT / "tests" / "image" / "data"

PD_DOC = (
    "**<protection_domain>**\n\nA protection domain: a thread with its own address space (VSpace), CSpace and "
    "scheduling context, running one program image. Nested protection domains are children: the parent holds "
    "their TCB caps and handles their faults."
)


def marked(text: str, needle: str, cursor_at: int) -> str:
    """`text` with `$0` put `cursor_at` characters into the first `needle`."""
    at = text.index(needle) + cursor_at
    return text[:at] + "$0" + text[at:]


def paragraphs(markdown: str) -> list[str]:
    return markdown.split("\n\n")


# -- protection domains -----------------------------------------------------------------------
def test_pd_summary_lists_scheduling_channels_maps_cspace_and_memory():
    f = fixture(marked(ECHO, 'protection_domain name="client"', 26), dedent=False)
    text, covered = f.hover()
    assert covered == "client"
    summary, doc = text.split("\n\n---\n\n")
    assert doc == PD_DOC
    parts = paragraphs(summary)
    assert parts[:4] == [
        "### protection domain `client`",
        "priority **100**, budget 2000 µs / period 10000 µs, cpu 0, stack 8 KiB",
        "program image `client.elf`",
        "| id | peer | peer id | this PD |\n|---|---|---|---|\n"
        "| 0 | `uart_driver` | 1 | notifies |\n| 1 | `echo_server` | 0 | notifies and PPCs |",
    ]
    assert parts[4] == (
        "maps (3): `tx_ring` @ 0x3000000 (rw), `rx_ring` @ 0x3004000 (r), `echo_buffer` @ 0x4000000 (rw)"
    )
    assert parts[5] == (
        "CSpace: Microkit CNode 7/512 slots, root CNode 1/64 (size_bits 6), first free root slot 1, 18 KiB of CNodes"
    )
    slots = parts[6].split("\n")
    assert slots[:2] == ["| slot | CPtr | rights | holds |", "|---:|---|---|---|"]
    assert "| root 0 | `0x0` | – | Microkit CNode of 'client' (512 slots, guard 49) |" in slots
    assert "| 10 | `0xa` | RW | notification of 'uart_driver', badge 1<<1 (channel 0) |" in slots
    assert "| 11 | `0xb` | RW | notification of 'echo_server', badge 1<<0 (channel 1) |" in slots
    assert any(row.startswith("| 75 | `0x4b` | RWG | endpoint of 'echo_server'") for row in slots)  # PPC at 74 + 1
    assert re.fullmatch(
        r"memory: about \*\*[\d.]+ KiB\*\* = kernel objects [\d.]+ KiB \+ VSpace and \d+ page tables [\d.]+ KiB"
        r" \+ CNodes 18 KiB \+ IPC buffer and stack 12 KiB \(program image not found: its frames are not counted"
        r" and its page tables estimated\)",
        parts[7],
    ), parts[7]


def test_pd_hover_on_the_tag_name_covers_the_tag_and_says_the_same():
    on_tag = fixture(marked(ECHO, 'protection_domain name="client"', 3), dedent=False)
    on_name = fixture(marked(ECHO, 'protection_domain name="client"', 26), dedent=False)
    text, covered = on_tag.hover()
    assert covered == "protection_domain"
    assert text == on_name.hover_text()


def test_pd_hover_on_the_end_tag():
    f = fixture(marked(ECHO, '</protection_domain>\n\n    <protection_domain name="client"', 4), dedent=False)
    text, covered = f.hover()
    assert covered == "</protection_domain>"
    assert text.startswith("### protection domain `echo_server`")


def test_pd_summary_of_a_passive_parent_with_a_child_and_a_virtual_machine():
    f = wrap(
        """
        <protection_domain name="pa$0rent" priority="200" passive="true" stack_size="0x4000">
            <program_image path="parent.elf" />
            <protection_domain name="kid" priority="100" id="3">
                <program_image path="kid.elf" />
            </protection_domain>
            <virtual_machine name="guest">
                <vcpu id="1" />
                <vcpu id="0" />
            </virtual_machine>
        </protection_domain>
        """
    )
    parts = paragraphs(f.hover_text())
    assert parts[1] == "priority **200**, budget 1000 µs / period 1000 µs, **passive**, cpu 0, stack 16 KiB"
    assert "children: `kid` (id 3)" in parts
    assert "virtual machine `guest` with vCPUs 1, 0" in parts
    table = next(p for p in parts if p.startswith("| slot |")).split("\n")
    assert "| 5 | `0x5` | RWG | monitor endpoint, badge 1 (passive) |" in table
    assert "| 205 | `0xcd` | – | TCB of child 'kid' (id 3) |" in table
    assert "| 266 | `0x10a` | – | TCB of vCPU 0 of 'guest' |" in table
    assert "| 331 | `0x14b` | – | vCPU 1 of 'guest' |" in table
    memory = next(p for p in parts if p.startswith("memory:"))
    assert " + VM " in memory and "IPC buffer and stack 20 KiB" in memory


def test_pd_summary_of_a_child_names_its_parent():
    f = wrap(
        """
        <protection_domain name="parent" priority="200">
            <program_image path="parent.elf" />
            <protection_domain name="k$0id" priority="100" id="3">
                <program_image path="kid.elf" />
            </protection_domain>
        </protection_domain>
        """
    )
    assert "child **3** of `parent` (its faults go to the parent)" in paragraphs(f.hover_text())


def test_pd_summary_of_a_pd_with_a_fault_handler():
    f = fixture(marked(EXTENDED, 'name="client_a"', 8), dedent=False)
    parts = paragraphs(f.hover_text())
    assert "faults go to `pager` as fault id 0" in parts
    assert "| 0 | `pager` | 0 | notifies and PPCs |" in next(p for p in parts if p.startswith("| id |"))


def test_pd_summary_lists_irqs_and_shows_eight_maps_then_a_count():
    regions = "\n".join(f'<memory_region name="m{i}" size="0x1000" />' for i in range(10))
    maps = "\n".join(f'    <map mr="m{i}" vaddr="{0x1000000 + i * 0x1000:#x}" perms="r" />' for i in range(10))
    f = wrap(
        f'{regions}\n<protection_domain name="p$0">\n    <program_image path="p.elf" />\n{maps}\n'
        '    <irq irq="33" id="3" />\n    <irq irq="34" id="5" trigger="edge" />\n</protection_domain>'
    )
    parts = paragraphs(f.hover_text())
    assert "IRQs: 33 → channel 3, 34 → channel 5" in parts
    (maps_line,) = [p for p in parts if p.startswith("maps (10): ")]
    assert maps_line.count(" @ ") == 8 and maps_line.endswith("`m7` @ 0x1007000 (r) and 2 more")


def test_fault_handler_reference_hovers_as_the_handler_pd():
    f = fixture(marked(EXTENDED, 'fault_handler="pager" fault_id="0"', 17), dedent=False)
    text, covered = f.hover()
    assert covered == "pager"
    assert text.startswith("### protection domain `pager`")
    assert "| root 1 | `0x400000000000000` | – | VSpace of 'client_a' |" in text


def test_cspace_rows_in_the_pd_hover_have_as_many_cells_as_the_header():
    f = fixture(marked(ECHO, 'protection_domain name="client"', 26), dedent=False)
    table = next(p for p in paragraphs(f.hover_text()) if p.startswith("| slot |")).split("\n")

    def cells(row: str) -> int:
        return len(re.split(r"(?<!\\)\|", row.strip().strip("|")))

    assert [cells(row) for row in table] == [4] * len(table)


# -- memory regions and maps ------------------------------------------------------------------
def test_memory_region_size_pages_and_every_mapping():
    f = fixture(marked(ECHO, 'name="tx_ring"', 8), dedent=False)
    text, covered = f.hover()
    assert covered == "tx_ring"
    assert text.split("\n\n---\n\n")[0] == (
        "### memory region `tx_ring`\n\n"
        "size 0x4000 = 16 KiB, 4 page(s) of 4 KiB\n\n"
        "physical address chosen by the tool\n\n"
        "| mapped by | vaddr | perms | cached |\n|---|---|---|---|\n"
        "| PD `uart_driver` | 0x3000000..0x3004000 | rw | yes |\n"
        "| PD `client` | 0x3000000..0x3004000 | rw | yes |"
    )
    assert text.endswith(
        "**<memory_region>**\n\nA region of physical memory made of pages of one size; PDs and VMs map it."
    )


def test_memory_region_with_a_physical_address_mapped_uncached():
    f = fixture(marked(ECHO, 'name="uart_regs"', 8), dedent=False)
    parts = paragraphs(f.hover_text())
    assert "physical address 0x9000000" in parts
    assert "| PD `uart_driver` | 0x2000000..0x2001000 | rw | no |" in f.hover_text()


def test_unmapped_region_raised_to_large_pages():
    f = wrap('<memory_region name="b$0ig" size="0x400000" />')
    assert paragraphs(f.hover_text())[:4] == [
        "### memory region `big`",
        "size 0x400000 = 4 MiB, 2 page(s) of 2 MiB (raised to 2 MiB pages by the tool)",
        "physical address chosen by the tool",
        "not mapped by any PD or VM",
    ]


def test_region_mapped_by_a_virtual_machine():
    f = wrap(
        """
        <memory_region name="gu$0est_ram" size="0x200000" page_size="0x200000" />
        <protection_domain name="vmm" priority="100">
            <program_image path="vmm.elf" />
            <virtual_machine name="linux">
                <vcpu id="0" />
                <map mr="guest_ram" vaddr="0x40000000" perms="rwx" />
            </virtual_machine>
        </protection_domain>
        """
    )
    assert "| VM `linux` | 0x40000000..0x40200000 | rwx | yes |" in f.hover_text()


def test_prefilled_region_names_its_file_and_length(tmp_path):
    (tmp_path / "blob.bin").write_bytes(b"x" * 100)
    f = wrap('<memory_region name="b$0lob" size="0x1000" prefill_path="blob.bin" />', paths=[tmp_path])
    assert "prefilled from `blob.bin` (100 bytes)" in paragraphs(f.hover_text())


def test_map_shows_its_range_pages_perms_and_caching():
    f = wrap(
        """
        <memory_region name="big" size="0x400000" />
        <protection_domain name="p" priority="10">
            <program_image path="p.elf" />
            <m$0ap mr="big" vaddr="0x40000000" perms="r" cached="false" />
        </protection_domain>
        """
    )
    text, covered = f.hover()
    assert covered == "map"
    assert text.split("\n\n---\n\n") == [
        "### map of `big`\n\n0x40000000..0x40400000 (4 MiB, 2 page(s) of 2 MiB), perms `r`, uncached",
        "**<map>**\n\nMaps a memory region into the address space of a PD or a virtual machine.",
    ]


def test_map_of_an_unknown_region_says_only_what_it_maps():
    f = wrap(
        '<protection_domain name="p"><program_image path="p.elf" /><m$0ap mr="nowhere" vaddr="0x1000" /></protection_domain>'
    )
    assert f.hover_text().startswith("map of `nowhere`\n\n---\n\n**<map>**")


def test_mr_reference_in_a_map_hovers_as_the_region():
    f = fixture(marked(ECHO, '<map mr="echo_buffer"', 11), dedent=False)
    text, covered = f.hover()
    assert covered == "echo_buffer"
    assert text.startswith("### memory region `echo_buffer`\n\nsize 0x200000 = 2 MiB, 1 page(s) of 2 MiB\n\n")


# -- channels ---------------------------------------------------------------------------------
def test_channel_end_with_a_ppc_lists_who_may_notify_and_call():
    f = fixture(marked(ECHO, '<end pd="client" id="1"', 2), dedent=False)
    text, covered = f.hover()
    assert covered == "end"
    assert text == (
        "### channel end: `client` id 1 ↔ `echo_server` id 0\n\n"
        "- `client` may notify `echo_server` (`microkit_notify(1)`)\n"
        "- `echo_server` may notify `client` (`microkit_notify(0)`)\n"
        "- `client` may call `echo_server` (`microkit_ppcall(1, ...)`)"
        "\n\n---\n\n**<end>**\n\nOne end of a channel."
    )


def test_channel_that_grants_nothing():
    f = wrap(
        """
        <protection_domain name="a"><program_image path="a.elf" /></protection_domain>
        <protection_domain name="b"><program_image path="b.elf" /></protection_domain>
        <channel>
            <e$0nd pd="a" id="1" notify="false" />
            <end pd="b" id="2" notify="false" />
        </channel>
        """
    )
    assert paragraphs(f.hover_text())[:2] == [
        "### channel end: `a` id 1 ↔ `b` id 2",
        "no notifications and no PPC: the channel grants nothing",
    ]


def test_end_of_a_channel_with_one_end():
    f = wrap(
        """
        <protection_domain name="a"><program_image path="a.elf" /></protection_domain>
        <channel>
            <e$0nd pd="a" id="1" />
        </channel>
        """
    )
    assert f.hover_text().startswith("channel end of `a` (the channel needs exactly two ends)\n\n---\n\n")


# -- caps, reserves, CSpaces, IRQs, VMs -----------------------------------------------------------
@pytest.mark.parametrize(
    ("needle", "cursor_at", "summary"),
    [
        (
            '<cap_untyped slot="2"',
            4,
            "### cap_untyped → untyped `alloc_dma`\n\nin root slot 2 of `allocator`; CPtr `0x400000000000000` (`2 << 57`)",
        ),
        (
            '<cap_cnode   slot="3"',
            4,
            "### cap_cnode → CNode `alloc_slots`\n\nin root slot 3 of `allocator`; CPtr `0x600000000000000` "
            "(`3 << 57`); its slot *i* has CPtr `0x600000000000000 | i` (guard 49)",
        ),
        (
            '<cap_tcb slot="1" pd="worker_a"',
            4,
            "### cap_tcb → the TCB of `worker_a`\n\nin root slot 1 of `scheduler`; CPtr `0x400000000000000` (`1 << 58`)",
        ),
        (
            '<cap_sc  slot="4"',
            4,
            "### cap_sc → the scheduling context of `worker_b`\n\nin root slot 4 of `scheduler`; "
            "CPtr `0x1000000000000000` (`4 << 58`)",
        ),
        (
            '<cap_vspace slot="2"',
            4,
            "### cap_vspace → the VSpace of `client_b`\n\nin root slot 2 of `pager`; CPtr `0x800000000000000` (`2 << 58`)",
        ),
        (
            '<cap_notification slot="5"',
            4,
            "### cap_notification → the notification of `worker_a` (rights `w`, badge 0x1)\n\n"
            "in root slot 5 of `scheduler`; CPtr `0x1400000000000000` (`5 << 58`)",
        ),
        (
            '<reserve count="8"',
            3,
            "### reserve: root slots 4..11 of `allocator` stay empty (placed automatically)\n\n"
            "first CPtr `0x800000000000000`",
        ),
        (
            '<reserve slot="16"',
            3,
            "### reserve: root slots 16..31 of `allocator` stay empty\n\nfirst CPtr `0x2000000000000000`",
        ),
    ],
)
def test_caps_and_reserves_show_their_slot_and_cptr(needle, cursor_at, summary):
    f = fixture(marked(EXTENDED, needle, cursor_at), dedent=False)
    text, covered = f.hover()
    assert covered == needle[1:].split()[0]
    assert text.split("\n\n---\n\n")[0] == summary
    assert "*(sdf-lsp extension)*" in text or covered in ("cap_tcb", "cap_sc", "cap_vspace")


def test_smc_cap():
    f = wrap(
        """
        <protection_domain name="p">
            <program_image path="p.elf" />
            <cspace><cap_$0smc slot="1" function_id="0x84000000" /></cspace>
        </protection_domain>
        """,
        board="zcu102",
    )
    assert f.hover_text().startswith("### cap_smc → an ARM SMC cap (function id 0x84000000)\n\nin root slot 1 of `p`")


def test_cspace_hover_is_the_whole_table():
    f = fixture(marked(EXTENDED, '<cspace size_bits="7"', 3), dedent=False)
    parts = paragraphs(f.hover_text())
    assert parts[:3] == [
        "### CSpace of `allocator`",
        "CSpace: Microkit CNode 4/512 slots, root CNode 28/128 (size_bits 7), first free root slot 12, 28 KiB of CNodes",
        "Microkit CNode at root slot 0, guard 48; a root slot *s* has CPtr `s << 57`.",
    ]
    assert parts[3] == "**Root CNode**"
    assert parts[4].split("\n")[2:] == [
        "| 0 | `0x0` | – | Microkit CNode of 'allocator' (512 slots, guard 48) |",
        "| 1 | `0x200000000000000` | – | untyped 'alloc_heap' |",
        "| 2 | `0x400000000000000` | – | untyped 'alloc_dma' |",
        "| 3 | `0x600000000000000` | – | CNode 'alloc_slots' |",
        "| 4 | `0x800000000000000` | – | reserved: 8 empty slots [4..12) |",
        "| 16 | `0x2000000000000000` | – | reserved: 16 empty slots [16..32) |",
    ]
    assert parts[5] == "**Microkit CNode**"
    assert parts[6].split("\n")[2:] == [
        "| 1 | RW | notification of 'allocator' (input cap) |",
        "| 2 | RWG | fault endpoint: monitor, badge 8 |",
        "| 3 | – | VSpace of 'allocator' |",
        "| 4 | – | reply object |",
    ]


def test_scheduler_pd_counts_its_root_cnode():
    f = fixture(marked(EXTENDED, 'name="scheduler"', 8), dedent=False)
    assert (
        "CSpace: Microkit CNode 7/512 slots, root CNode 6/64 (size_bits 6), first free root slot 6, 18 KiB of CNodes"
        in paragraphs(f.hover_text())
    )


@pytest.mark.parametrize(
    ("irq", "summary"),
    [
        ('<i$0rq irq="33" id="3" />', "### IRQ 33 (level)"),
        ('<i$0rq irq="33" id="3" trigger="edge" />', "### IRQ 33 (edge)"),
    ],
)
def test_arm_irq_says_its_channel(irq, summary):
    f = wrap(f'<protection_domain name="p"><program_image path="p.elf" />{irq}</protection_domain>')
    text, covered = f.hover()
    assert covered == "irq"
    assert paragraphs(text)[:2] == [
        summary,
        "delivered as channel 3: `notified(3)`, acknowledged with `microkit_irq_ack(3)`",
    ]


@pytest.mark.parametrize(
    ("irq", "summary"),
    [
        ('<i$0rq vector="3" ioapic="0" pin="4" id="3" />', "### x86 ioapic IRQ, vector 3"),
        ('<i$0rq pcidev="0:1.2" vector="3" handle="1" id="3" />', "### x86 msi IRQ, vector 3"),
    ],
)
def test_x86_irq_says_its_kind_and_vector(irq, summary):
    f = wrap(
        f'<protection_domain name="p"><program_image path="p.elf" />{irq}</protection_domain>', board="x86_64_generic"
    )
    assert paragraphs(f.hover_text())[:2] == [summary, "delivered as channel 3"]


def test_virtual_machine():
    f = wrap(
        """
        <protection_domain name="parent" priority="200">
            <program_image path="parent.elf" />
            <virtual_machine name="gu$0est" priority="5">
                <vcpu id="1" />
                <vcpu id="0" />
            </virtual_machine>
        </protection_domain>
        """
    )
    text, covered = f.hover()
    assert covered == "guest"
    assert paragraphs(text)[:2] == [
        "### virtual machine `guest`",
        "2 vCPU(s), priority 5, budget 1000 µs / period 1000 µs, 0 map(s)",
    ]


# -- numbers -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("attr", "expected", "covered"),
    [
        ('size="0x1_0$000"', "`4096` = `0x1000` = 4 KiB = 2^12", "0x1_000"),
        ('size="40$096"', "`4096` = `0x1000` = 4 KiB = 2^12", "4096"),
        ('size="1$0000"', "`1000` = `0x3e8`", "1000"),
        ('size="0x20_$00000"', "`2097152` = `0x200000` = 2 MiB = 2^21", "0x20_0000"),
        ('size="0x1$0234"', "`4660` = `0x1234` = 4.55 KiB", "0x1234"),
        ('size="$01"', "`1` = `0x1` = 2^0", "1"),
        ('size="0$0"', "`0` = `0x0`", "0"),
    ],
)
def test_numbers_in_every_base(attr, expected, covered):
    f = wrap(f'<memory_region name="m" {attr} />')
    assert f.hover() == (expected, covered)


def test_large_page_size_in_the_echo_example():
    assert fixture(marked(ECHO, '"0x200000"', 3), dedent=False).hover() == (
        "`2097152` = `0x200000` = 2 MiB = 2^21",
        "0x200000",
    )


def test_decimal_only_attribute_does_not_read_hex():
    f = wrap(
        '<protection_domain name="p"><program_image path="p.elf" /><irq irq="0x2$01" id="1" /></protection_domain>'
    )
    assert f.hover() is None
    f = wrap('<protection_domain name="p"><program_image path="p.elf" /><irq irq="3$03" id="1" /></protection_domain>')
    assert f.hover() == ("`33` = `0x21`", "33")


@pytest.mark.parametrize("value", ["0x$0", "z$0z", "-$01", "1$0e3"])
def test_no_hover_for_a_value_that_is_not_a_number(value):
    assert wrap(f'<memory_region name="m" size="{value}" />').hover() is None


@pytest.mark.parametrize(
    ("duration", "expected"),
    [("10$000 us", ("`1000` = `0x3e8`", "1000 us")), ("0x1$00 ticks", ("`16` = `0x10` = 2^4", "0x10 ticks"))],
)
def test_duration_shows_its_number(duration, expected):
    f = wrap(
        f"""
        <domains>
            <domain name="d" />
            <domain_schedule><schedule_entry domain="d" duration="{duration}" /></domain_schedule>
        </domains>
        """
    )
    assert f.hover() == expected


# -- documentation from the schema ----------------------------------------------------------------
def test_attribute_doc_with_type_default_and_values():
    f = fixture(marked(ECHO, "passive=", 2), dedent=False)
    assert f.hover() == (
        "**passive** on `<protection_domain>`\n\ntype: `true` or `false`; default: `false`; values: `true`, `false`\n\n"
        "`true`: the PD's scheduling context is taken away after `init()`; it then runs only on the SC of a PD that "
        "calls it (PPC).",
        "passive",
    )


@pytest.mark.parametrize(
    ("doc", "facts"),
    [
        (
            '<memory_region name="m" page_$0size="0x1000" size="0x1000" />',
            "**page_size** on `<memory_region>`\n\ntype: number (decimal or 0x hex, `_` allowed); values: `0x1000`, `0x200000`",
        ),
        (
            '<protection_domain name="p" fault_$0handler="q"><program_image path="p.elf" /></protection_domain>',
            "**fault_handler** on `<protection_domain>`\n\ntype: name of a protection domain; sdf-lsp extension",
        ),
        (
            '<memory_region name="m" size="0x1000" recei$0ve_all_untypeds="true" />',
            "**receive_all_untypeds** on `<memory_region>`\n\n"
            "type: `true` or `false`; values: `true`, `false`; sdf-lsp extension; deprecated",
        ),
        (
            '<protection_domain name="p"><program_image pa$0th="p.elf" /></protection_domain>',
            "**path** (required) on `<program_image>`\n\ntype: file path on the search paths",
        ),
        (
            '<protection_domain name="p"><program_image path="p.elf" /><irq pi$0n="3" id="1" /></protection_domain>',
            "**pin** on `<irq>`\n\ntype: decimal integer; only on x86_64; Microkit 2.1 and later",
        ),
        (
            '<protection_domain name="p"><program_image path="p.elf" /><map mr="m" vaddr="0x1000" per$0ms="r" /></protection_domain>',
            "**perms** on `<map>`\n\ntype: `r`, `w`, `x` combination; default: `rw`; values: `r`, `rw`, `rx`, `rwx`, `x`",
        ),
        (
            '<channel><end pd="a" id="1" p$0p="true" /><end pd="b" id="1" /></channel>',
            "**pp** on `<end>`\n\ntype: `true` or `false`; default: `false`; values: `true`, `false`; Microkit 2.0 and later",
        ),
    ],
)
def test_attribute_docs_say_type_default_values_arch_and_dialect(doc, facts):
    text, covered = wrap(doc).hover()
    assert text.startswith(facts + "\n\n")
    assert covered in facts


def test_element_doc_marks_extensions():
    f = fixture(marked(EXTENDED, '<untyped name="alloc_heap"', 3), dedent=False)
    assert f.hover() == (
        "**<untyped>** *(sdf-lsp extension)*\n\nUntyped memory of a declared power-of-two size, carved out at build "
        "time and handed to one PD with `cap_untyped`.",
        "untyped",
    )


def test_no_hover_on_unknown_attributes_elements_or_free_space():
    assert (
        wrap('<protection_domain name="p" nonsense$0="1"><program_image path="p.elf" /></protection_domain>').hover()
        is None
    )
    assert wrap("<frobnicate$0 />").hover() is None
    assert wrap('<protection_domain name="p"><program_image path="p.elf" />$0</protection_domain>').hover() is None
    assert fixture("$0").hover() is None
    assert fixture("<!-- no system -->$0").hover() is None


# -- program images ----------------------------------------------------------------------------
def symbol_doc(image: str, symbol: str) -> str:
    return (
        f'<memory_region name="m" size="0x1000" />\n'
        f'<protection_domain name="p">\n'
        f'    <program_image path="{image}" />\n'
        f'    <map mr="m" vaddr="0x1000000" setvar_vaddr="{symbol}" />\n'
        f"</protection_domain>"
    )


def test_symbol_in_a_program_image_shows_its_address_and_size():
    f = wrap(symbol_doc("dwarf_sample.elf", "buffer$0_vaddr"), paths=[DATA])
    text, covered = f.hover()
    assert covered == "buffer_vaddr"
    assert re.fullmatch(r"symbol `buffer_vaddr` in `dwarf_sample.elf`: address 0x[0-9a-f]+, 8 bytes", text), text


def test_symbol_that_is_not_a_word_is_flagged():
    f = wrap(symbol_doc("dwarf_sample.elf", "hel$0per"), paths=[DATA])
    assert re.fullmatch(
        r"symbol `helper` in `dwarf_sample.elf`: address 0x[0-9a-f]+, 15 bytes — \*\*the tool patches only 8-byte words\*\*",
        f.hover_text(),
    )


def test_symbol_missing_from_the_image():
    f = wrap(symbol_doc("dwarf_sample.elf", "nowh$0ere"), paths=[DATA])
    text = f.hover_text()
    assert text.startswith("symbol `nowhere`: ") and text.endswith(" in `dwarf_sample.elf`")


def test_symbol_of_an_image_not_on_the_search_paths():
    f = wrap(symbol_doc("gone.elf", "buf$0fer"), paths=[DATA])
    assert f.hover_text() == f"symbol `buffer` in `gone.elf` ('gone.elf' is not on the search paths ({DATA}))"


def test_symbol_of_an_image_that_is_not_an_elf(tmp_path):
    (tmp_path / "junk.elf").write_bytes(b"not an ELF at all")
    text = wrap(symbol_doc("junk.elf", "buf$0fer"), paths=[tmp_path]).hover_text()
    assert text.startswith(f"symbol `buffer` in `junk.elf` (cannot read '{tmp_path / 'junk.elf'}': ")


def test_symbol_of_a_pd_without_a_program_image():
    f = wrap(
        '<memory_region name="m" size="0x1000" /><protection_domain name="p"><map mr="m" vaddr="0x1000" setvar_vaddr="b$0uf" /></protection_domain>'
    )
    assert f.hover() == ("symbol `buf`", "buf")


def test_child_setvar_id_is_a_symbol_of_the_parent_image(shared):
    image = shared / "golden" / "elf" / "mr_prefill"
    f = wrap(
        """
        <protection_domain name="parent">
            <program_image path="mr_prefill.elf" />
            <protection_domain name="kid" id="1" setvar_id="filled$0_mr">
                <program_image path="nowhere.elf" />
            </protection_domain>
        </protection_domain>
        """,
        paths=[image],
    )
    assert re.fullmatch(r"symbol `filled_mr` in `mr_prefill.elf`: address 0x[0-9a-f]+, 8 bytes", f.hover_text())


def test_setvar_symbols_of_the_mr_prefill_golden_system(shared):
    system = shared / "golden" / "systems" / "mr_prefill"
    text = (system / "mr_prefill.system").read_text()
    f = fixture(
        marked(text, 'setvar_vaddr="filled_mr"', 16),
        dedent=False,
        paths=[shared / "golden" / "elf" / "mr_prefill", system],
    )
    assert re.fullmatch(r"symbol `filled_mr` in `mr_prefill.elf`: address 0x[0-9a-f]+, 8 bytes", f.hover_text())


def test_path_hover_says_where_the_file_is():
    f = wrap(
        '<protection_domain name="p"><program_image path="dwarf_$0sample.elf" /></protection_domain>', paths=[DATA]
    )
    assert f.hover() == (f"`dwarf_sample.elf` → `{DATA / 'dwarf_sample.elf'}`", "dwarf_sample.elf")
    f = wrap('<protection_domain name="p"><program_image path="gon$0e.elf" /></protection_domain>', paths=[DATA])
    assert f.hover() == ("`gone.elf` is not on the search paths", "gone.elf")


# -- documents as they are typed -------------------------------------------------------------------
def test_hover_in_a_half_typed_element_still_shows_the_pd():
    f = fixture(
        """
        <system>
            <memory_region name="buf" size="0x1000" />
            <protection_domain name="wo$0rker" priority="7">
                <program_image path="w.elf" />
                <map mr="buf" vaddr="0x2000
        """
    )
    text = f.hover_text()
    assert text.startswith("### protection domain `worker`\n\npriority **7**")


def test_hover_with_comments_in_odd_places_and_crlf_line_ends():
    f = fixture(
        """
        <?xml version="1.0"?>
        <!-- a comment before the root -->
        <system><!-- one after the root tag -->
            <memory_region name="ring" <!-- not allowed here --> size="0x4000" />
            <protection_domain name="p" priority="5"><!-- first --><program_image path="p.elf" />
                <!-- between children -->
                <map mr="r$0ing" vaddr="0x3000000" /><!-- trailing -->
            </protection_domain>
        </system>
        <!-- after the root -->
        """,
        crlf=True,
    )
    text, covered = f.hover()
    assert covered == "ring"
    assert text.startswith("### memory region `ring`")


def test_hover_on_multi_byte_names():
    f = wrap(
        """
        <memory_region name="pufferüñ😀" size="0x1000" />
        <protection_domain name="прием$0ник" priority="3">
            <program_image path="p.elf" />
            <map mr="pufferüñ😀" vaddr="0x3000000" />
        </protection_domain>
        """,
        crlf=True,
    )
    text, covered = f.hover()
    assert covered == "приемник"
    assert "maps (1): `pufferüñ😀` @ 0x3000000 (rw)" in paragraphs(text)
