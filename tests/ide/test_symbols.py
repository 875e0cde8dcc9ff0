"""Document symbols (the outline), folding ranges and inlay hints, in-process."""

from pathlib import Path

from sdf_lsp.ide import outline as outlines

from .fixture import fixture, wrap

ROOT = Path(__file__).resolve().parents[2]
ECHO = (ROOT / "examples" / "echo" / "echo.system").read_text()
EXTENDED = (ROOT / "examples" / "extended" / "extended.system").read_text()


def outline(f, syms=None, depth=0) -> list[tuple]:
    """(depth, name, detail, kind, text of the selection range, first line of the range) per symbol."""
    out = []
    for s in f.symbols() if syms is None else syms:
        first = f.covered(s.start, s.end).split("\n")[0].strip()
        out.append((depth, s.name, s.detail, s.kind, f.covered(s.sel_start, s.sel_end), first))
        out.extend(outline(f, s.children, depth + 1))
    return out


# -- document symbols -----------------------------------------------------------------------------------
def test_outline_of_the_echo_example_in_document_order():
    f = fixture(ECHO, dedent=False)
    assert [t[:5] for t in outline(f)] == [
        (0, "uart_regs", "4 KiB", "mr", "uart_regs"),
        (0, "tx_ring", "16 KiB", "mr", "tx_ring"),
        (0, "rx_ring", "16 KiB", "mr", "rx_ring"),
        (0, "echo_buffer", "2 MiB", "mr", "echo_buffer"),
        (0, "uart_driver", "priority 254", "pd", "uart_driver"),
        (0, "echo_server", "priority 200", "pd", "echo_server"),
        (0, "client", "priority 100", "pd", "client"),
        (0, "uart_driver:1 ↔ client:0", "channel", "channel", "channel"),
        (0, "client:1 ↔ echo_server:0", "channel", "channel", "channel"),
    ]
    # a symbol's range is its whole element
    for s in f.symbols():
        assert f.covered(s.start, s.end).startswith("<") and f.covered(s.start, s.end).endswith(">")
    assert f.covered(f.symbols()[4].start, f.symbols()[4].end).endswith("</protection_domain>")


def test_outline_of_the_extended_example_has_untypeds_and_cnodes():
    f = fixture(EXTENDED, dedent=False)
    assert [t[:4] for t in outline(f)][:4] == [
        (0, "alloc_heap", "2^20 bytes", "untyped"),
        (0, "alloc_dma", "2^21 bytes", "untyped"),
        (0, "alloc_slots", "2^8 slots", "cnode"),
        (0, "shared_log", "16 KiB", "mr"),
    ]


def test_outline_nests_children_virtual_machines_and_domains():
    f = wrap(
        """
        <domains>
            <domain name="d0" />
            <domain name="d1" />
            <domain_schedule><schedule_entry domain="d0" duration="10 us" /></domain_schedule>
        </domains>
        <protection_domain name="p" domain="d0">
            <program_image path="p.elf" />
            <protection_domain name="c" id="2" domain="d0"><program_image path="c.elf" /></protection_domain>
            <virtual_machine name="vm"><vcpu id="0" /></virtual_machine>
        </protection_domain>
        """
    )
    assert [t[:5] for t in outline(f)] == [
        (0, "domains", "2 domain(s)", "domain", "domains"),
        (1, "d0", "id 0", "domain", "d0"),
        (1, "d1", "id 1", "domain", "d1"),
        (0, "p", "priority 0", "pd", "p"),
        (1, "c", "priority 0, child id 2", "pd", "c"),
        (1, "vm", "1 vCPU(s)", "vm", "vm"),
    ]


def test_outline_has_io_address_spaces():
    f = wrap('<io_address_space name="ios" peripheral_id="0:3.0" domain_id="1" />', board="x86_64_generic")
    assert [t[:5] for t in outline(f)] == [(0, "ios", "I/O address space", "io", "ios")]


def test_half_typed_elements_still_have_a_symbol_with_a_label():
    f = wrap(
        """
        <protection_domain priority="3"><program_image path="a.elf" /></protection_domain>
        <memory_region size="0x1000" />
        <channel></channel>
        """
    )
    found = outline(f)
    assert [(t[0], t[3], t[4]) for t in found] == [
        (0, "pd", "protection_domain"),  # no name: the selection is the tag
        (0, "mr", "memory_region"),
        (0, "channel", "channel"),
    ]
    assert all(isinstance(t[1], str) and t[1] for t in found)


def test_outline_of_a_truncated_document():
    f = fixture(
        """
        <system>
            <memory_region name="buf" size="0x1000" />
            <protection_domain name="p" priority="5">
                <program_image path="p.elf" />
                <map mr="buf" vaddr="0x2000
        """
    )
    assert [t[1:5] for t in outline(f)] == [("buf", "4 KiB", "mr", "buf"), ("p", "priority 5", "pd", "p")]


def test_no_outline_without_a_system():
    assert fixture("<!-- empty -->").symbols() == []
    assert fixture("<protection_domain name='p' />").symbols() == []


# -- folding -----------------------------------------------------------------------------------------
def test_folding_the_echo_example():
    f = fixture(ECHO, dedent=False)
    assert outlines.folding_ranges(f.analysis.doc, f.analysis.lines.line_of) == [
        (1, 4, "comment"),
        (5, 39, "region"),  # <system>
        (11, 17, "region"),
        (19, 22, "region"),
        (24, 29, "region"),
        (31, 34, "region"),
        (35, 38, "region"),
    ]


def test_folding_skips_one_line_elements_and_counts_crlf_lines():
    f = fixture(
        """
        <system>
            <!-- one line -->
            <!--
              two lines
            -->
            <memory_region name="m" size="0x1000" />
            <protection_domain name="p"><program_image path="p.elf" /></protection_domain>
            <channel>
                <end pd="p" id="0" /><end pd="p" id="1" /></channel>
        </system>
        """,
        crlf=True,
    )
    assert outlines.folding_ranges(f.analysis.doc, f.analysis.lines.line_of) == [
        (0, 9, "region"),
        (2, 4, "comment"),
        (7, 8, "region"),
    ]


def test_folding_a_truncated_document():
    f = fixture(
        """
        <system>
            <protection_domain name="p">
                <program_image path="p.elf" />
        """
    )
    assert outlines.folding_ranges(f.analysis.doc, f.analysis.lines.line_of) == [(0, 2, "region"), (1, 2, "region")]


# -- inlay hints ----------------------------------------------------------------------------------------
def hints_by_place(f, start=0, end=None) -> list[tuple[str, str]]:
    """(text just before the hint, label) per hint."""
    return [(f.text[: h.offset].rsplit("\n", 1)[-1].strip(), h.label) for h in f.hints(start, end)]


def test_hints_of_the_echo_example():
    f = fixture(ECHO, dedent=False)
    assert hints_by_place(f) == [
        ('<memory_region name="uart_regs" size="0x1000"', "4 KiB, 1 page"),
        ('<memory_region name="tx_ring" size="0x4000"', "16 KiB, 4 pages"),
        ('<memory_region name="rx_ring" size="0x4000"', "16 KiB, 4 pages"),
        ('<memory_region name="echo_buffer" size="0x200000"', "2 MiB, 1 page"),
        ('<end pd="uart_driver" id="1"', "→ client:0"),
        ('<end pd="client" id="0"', "→ uart_driver:1"),
        ('<end pd="client" id="1"', "→ echo_server:0"),
        ('<end pd="echo_server" id="0"', "→ client:1"),
    ]
    peer = f.hints()[4]
    assert peer.tooltip == "the other end of the channel"
    assert f.text[peer.offset - 1] == '"'  # just after the closing quote


def test_hints_of_caps_and_an_automatically_placed_reserve():
    f = fixture(EXTENDED, dedent=False)
    found = hints_by_place(f)
    assert ('<cap_untyped slot="1"', "cptr 0x200000000000000") in found
    assert ('<cap_untyped slot="2"', "cptr 0x400000000000000") in found
    assert ('<cap_cnode   slot="3"', "cptr 0x600000000000000") in found
    assert ('<cap_tcb slot="1"', "cptr 0x400000000000000") in found
    (reserve,) = [h for h in f.hints() if "slots" in h.label]
    assert (reserve.label, reserve.tooltip) == (" slots 4..11", "placed automatically")
    assert f.text[: reserve.offset].endswith("<reserve")  # right after the tag name
    assert not any(h.label.startswith(" slots 16") for h in f.hints())  # a placed reserve needs no hint


def test_hints_only_in_the_requested_range():
    f = fixture(ECHO, dedent=False)
    start = f.offset_of("<channel>", nth=1)
    end = f.offset_of("</channel>", nth=1)
    assert [h.label for h in f.hints(start, end)] == ["→ echo_server:0", "→ client:1"]
    assert f.hints(0, 10) == []


def test_small_regions_and_broken_channels_get_no_hint():
    f = wrap(
        """
        <memory_region name="tiny" size="0x10" />
        <protection_domain name="a"><program_image path="a.elf" /></protection_domain>
        <channel><end pd="a" id="1" /></channel>
        """
    )
    assert f.hints() == []


def test_hints_with_multi_byte_names():
    f = wrap(
        """
        <protection_domain name="ä😀"><program_image path="a.elf" /></protection_domain>
        <protection_domain name="b"><program_image path="b.elf" /></protection_domain>
        <channel><end pd="ä😀" id="1" /><end pd="b" id="2" /></channel>
        """,
        crlf=True,
    )
    assert hints_by_place(f) == [
        ('<channel><end pd="ä😀" id="1"', "→ b:2"),
        ('<channel><end pd="ä😀" id="1" /><end pd="b" id="2"', "→ ä😀:1"),
    ]


def test_no_hints_without_a_system():
    assert fixture("<!-- x -->").hints() == []
