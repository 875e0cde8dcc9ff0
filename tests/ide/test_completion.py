"""Completion, in-process: elements with snippets per parent, dialect and architecture;
attributes; values (names, enumerations, next free id or slot, ELF symbols, files)."""

from pathlib import Path

import pytest
from lsprotocol import types as lsp

from .fixture import fixture, wrap

ROOT = Path(__file__).resolve().parents[2]
ECHO = (ROOT / "examples" / "echo" / "echo.system").read_text()
EXTENDED = (ROOT / "examples" / "extended" / "extended.system").read_text()
DATA = ROOT / "tests" / "image" / "data"

PD = '<protection_domain name="p"><program_image path="p.elf" />{}</protection_domain>'


def marked(text: str, needle: str, cursor_at: int) -> str:
    at = text.index(needle) + cursor_at
    return text[:at] + "$0" + text[at:]


# -- elements -------------------------------------------------------------------------------------
def test_elements_of_system_with_snippets():
    f = wrap("<$0")
    items = f.completion()
    assert [i.label for i in items] == [
        "protection_domain",
        "memory_region",
        "channel",
        "io_address_space",
        "domains",
        "untyped",
        "cnode",
    ]
    assert all(f.edit_range(i) == "<" for i in items)
    assert all(i.insert_text_format == lsp.InsertTextFormat.Snippet for i in items)
    assert all(i.filter_text == f"<{i.label}" for i in items)
    by = {i.label: i for i in items}
    assert by["protection_domain"].text_edit.new_text == (
        '<protection_domain name="${1:name}" priority="${2:100}">\n'
        '\t<program_image path="${3:${1:name}.elf}" />\n\t$0\n</protection_domain>'
    )
    assert by["memory_region"].text_edit.new_text == '<memory_region name="${1}" />'
    assert by["channel"].text_edit.new_text == (
        '<channel>\n\t<end pd="${1}" id="${2:0}" />\n\t<end pd="${3}" id="${4:0}" />\n</channel>'
    )
    assert by["cnode"].text_edit.new_text == '<cnode name="${1}" size_bits="${2}" />'
    assert by["cnode"].detail == "sdf-lsp extension" and by["memory_region"].detail is None
    assert by["domains"].documentation.kind == lsp.MarkupKind.Markdown


def test_the_upstream_dialect_offers_no_extension_elements():
    assert wrap("<$0", dialect="microkit-2.3").labels() == [
        "protection_domain",
        "memory_region",
        "channel",
        "io_address_space",
        "domains",
    ]


def test_elements_of_a_pd_and_the_child_pd_snippet():
    f = wrap(PD.format("\n<$0\n"))
    items = {i.label: i for i in f.completion()}
    assert list(items) == ["program_image", "map", "irq", "setvar", "protection_domain", "virtual_machine", "cspace"]
    assert items["protection_domain"].text_edit.new_text == (
        '<protection_domain name="${1:child}" id="${2:0}">\n'
        '\t<program_image path="${3:${1:child}.elf}" />\n</protection_domain>'
    )
    assert items["irq"].text_edit.new_text == '<irq irq="${1}" id="${2}" />'
    assert items["map"].text_edit.new_text == '<map mr="${1}" vaddr="${2}" />'


def test_elements_of_a_pd_on_x86_64():
    items = {i.label: i for i in wrap(PD.format("\n<$0\n"), board="x86_64_generic").completion()}
    assert "ioport" in items
    assert items["irq"].text_edit.new_text == '<irq id="${1}" />'  # no `irq` attribute on x86_64
    assert items["ioport"].text_edit.new_text == '<ioport id="${1}" addr="${2}" size="${3}" />'


@pytest.mark.parametrize(
    ("doc", "labels"),
    [
        ("<channel><$0</channel>", ["end"]),
        ('<domains><domain name="d" /><$0</domains>', ["domain", "domain_schedule"]),
        (PD.format("<cspace><$0</cspace>"), None),
        (PD.format('<virtual_machine name="vm"><$0</virtual_machine>'), ["vcpu", "map"]),
    ],
)
def test_elements_per_parent(doc, labels):
    got = wrap(doc).labels()
    if labels is None:  # every cap kind and reserve in the extended dialect
        assert {"cap_tcb", "cap_sc", "cap_vspace", "cap_notification", "cap_untyped", "cap_cnode", "reserve"} <= set(
            got
        )
    else:
        assert got == labels


def test_upstream_cspace_offers_only_upstream_caps():
    got = wrap(PD.format("<cspace><$0</cspace>"), dialect="microkit-2.3").labels()
    assert set(got) == {"cap_tcb", "cap_sc", "cap_vspace"}


def test_element_name_being_typed_is_replaced_with_its_bracket():
    f = wrap('<protection_domain name="p"><program_image path="a" /></protection_domain>\n<pro$0')
    items = f.completion()
    assert "protection_domain" in [i.label for i in items]
    assert {f.edit_range(i) for i in items} == {"<pro"}


def test_elements_in_free_space_insert_at_the_cursor():
    f = wrap(PD.format("\n    $0\n"))
    items = f.completion()
    assert "map" in [i.label for i in items]
    assert {f.edit_range(i) for i in items} == {""}


def test_elements_before_an_element_of_the_echo_example():
    f = fixture(marked(ECHO, "<irq irq", 0), dedent=False)
    items = f.completion()
    assert {"map", "irq", "setvar", "cspace", "protection_domain"} <= {i.label for i in items}
    assert {f.edit_range(i) for i in items} == {""}


def test_without_snippet_support_the_text_is_plain():
    items = {i.label: i for i in wrap(PD.format("\n<$0\n")).completion(snippets=False)}
    assert all(i.insert_text_format == lsp.InsertTextFormat.PlainText for i in items.values())
    assert items["protection_domain"].text_edit.new_text == (
        '<protection_domain name="child" id="0">\n\t<program_image path="child.elf" />\n</protection_domain>'
    )
    assert items["map"].text_edit.new_text == '<map mr="" vaddr="" />'
    assert items["cspace"].text_edit.new_text == "<cspace>\n\t\n</cspace>"


def test_an_empty_document_gets_the_root_element():
    for doc in ("$0", '<?xml version="1.0"?>\n$0'):
        (item,) = fixture(doc).completion()
        assert (item.label, item.detail, item.text_edit.new_text) == (
            "system",
            "root element",
            "<system>\n\t$0\n</system>",
        )


# -- attributes -------------------------------------------------------------------------------------
def test_attributes_not_yet_present():
    f = fixture(marked(ECHO, 'priority="100" ', 15), dedent=False)
    items = {i.label: i for i in f.completion()}
    assert "priority" not in items and "name" not in items
    assert {"stack_size", "cpu", "smc", "fault_handler"} <= set(items)
    assert items["stack_size"].text_edit.new_text == 'stack_size="$1"'
    assert items["stack_size"].detail == "default 0x2000"
    assert items["stack_size"].kind == lsp.CompletionItemKind.Property
    # the schema's documentation, with the attribute's type and default
    doc = items["stack_size"].documentation.value
    assert doc.startswith("**stack_size** on `<protection_domain>`") and "default: `0x2000`" in doc
    assert "Size of the PD's stack in bytes" in doc


def test_deprecated_attributes_are_marked():
    f = wrap('<memory_region name="m" size="0x1000" $0/>')
    item = f.item("receive_all_untypeds")
    assert item.tags == [lsp.CompletionItemTag.Deprecated]
    assert "deprecated" in item.documentation.value


def test_attribute_being_typed_is_replaced():
    f = wrap('<protection_domain name="p" pri$0><program_image path="p.elf" /></protection_domain>')
    items = f.completion()
    assert "priority" in [i.label for i in items]
    assert {f.edit_range(i) for i in items} == {"pri"}


def test_required_attributes_sort_first():
    items = wrap(PD.format("<irq $0 />")).completion()
    assert [(i.label, i.detail, i.sort_text) for i in items] == [
        ("id", "required", "0id"),
        ("setvar_id", None, "1setvar_id"),
        ("irq", None, "1irq"),
        ("trigger", "default level", "1trigger"),
    ]


@pytest.mark.parametrize(
    ("irq", "labels"),
    [
        ("<irq $0 />", ["id", "setvar_id", "trigger", "ioapic", "pin", "polarity", "vector"]),
        ('<irq pcidev="0:1.2" $0 />', ["id", "setvar_id", "vector", "handle"]),
    ],
)
def test_x86_irq_attributes_follow_the_variant(irq, labels):
    assert wrap(PD.format(irq), board="x86_64_generic").labels() == labels


def test_extension_attributes_only_in_the_extended_dialect():
    doc = '<protection_domain name="p" $0><program_image path="p.elf" /></protection_domain>'
    assert {"fault_handler", "fault_id"} <= set(wrap(doc).labels())
    assert not {"fault_handler", "fault_id"} & set(wrap(doc, dialect="microkit-2.3").labels())


def test_child_only_attributes_only_on_a_child():
    top = wrap('<protection_domain name="p" $0><program_image path="p.elf" /></protection_domain>').labels()
    child = wrap(
        PD.format('<protection_domain name="c" $0><program_image path="c.elf" /></protection_domain>')
    ).labels()
    assert "id" not in top and "id" in child


def test_attributes_without_snippet_support():
    items = wrap(PD.format("<irq $0 />")).completion(snippets=False)
    assert [i.text_edit.new_text for i in items][:2] == ['id=""', 'setvar_id=""']


# -- values ---------------------------------------------------------------------------------------
def test_pd_names_for_a_channel_end():
    f = fixture(marked(ECHO, '<end pd="uart_driver"', 9), dedent=False)
    items = f.completion()
    assert [i.label for i in items] == ["client", "echo_server", "uart_driver"]
    assert {f.edit_range(i) for i in items} == {"uart_driver"}  # the whole value is replaced
    assert {i.kind for i in items} == {lsp.CompletionItemKind.Reference}
    # each PD with its priority and channels
    by = {i.label: i for i in items}
    assert by["client"].detail == "priority 100, 2 channels"
    assert by["echo_server"].detail == "priority 200, passive, 1 channel"
    assert "channels: `uart_driver` (id 0), `echo_server` (id 1)" in by["client"].documentation.value


def test_region_names_for_a_map():
    f = fixture(marked(ECHO, '<map mr="tx_ring" vaddr="0x3000000"', 9), dedent=False)
    assert f.labels() == ["echo_buffer", "rx_ring", "tx_ring", "uart_regs"]
    # each region with its size and physical address
    assert f.item("uart_regs").detail == "0x1000 (4 KiB) at 0x9000000"
    assert f.item("echo_buffer").detail == "0x200000 (2 MiB) anywhere in RAM"
    assert "mapped by `client`, `echo_server`" in f.item("echo_buffer").documentation.value


def test_fault_handler_names_leave_out_the_pd_itself():
    f = fixture(marked(EXTENDED, 'fault_handler="pager" fault_id="0"', 15), dedent=False)
    assert f.labels() == ["allocator", "client_b", "monitor_b", "pager", "scheduler", "worker_a", "worker_b"]


@pytest.mark.parametrize(
    ("needle", "cursor_at", "labels", "detail"),
    [
        ('untyped="alloc_heap"', 9, ["alloc_dma", "alloc_heap"], {"2 MiB untyped", "1 MiB untyped"}),
        ('cnode_name="alloc_slots"', 12, ["alloc_slots"], {"256 slots"}),
    ],
)
def test_untyped_and_cnode_names(needle, cursor_at, labels, detail):  # with their sizes
    items = fixture(marked(EXTENDED, needle, cursor_at), dedent=False).completion()
    assert [i.label for i in items] == labels
    assert {i.detail for i in items} == detail


def test_domain_names():
    f = wrap(
        """
        <domains>
            <domain name="d0" />
            <domain name="d1" />
            <domain_schedule><schedule_entry domain="$0" duration="1000 us" /></domain_schedule>
        </domains>
        """
    )
    assert f.labels() == ["d0", "d1"]


@pytest.mark.parametrize(
    ("needle", "cursor_at", "labels"),
    [
        ('passive="true"', 9, ["true", "false"]),
        ('perms="rw" cached', 7, ["r", "rw", "rx", "rwx", "x"]),
        ('trigger="level"', 9, ["level", "edge"]),
        ('page_size="0x200000"', 11, ["0x1000", "0x200000"]),
    ],
)
def test_enumerations(needle, cursor_at, labels):
    items = fixture(marked(ECHO, needle, cursor_at), dedent=False).completion()
    assert [i.label for i in items] == labels
    assert {i.kind for i in items} == {lsp.CompletionItemKind.EnumMember}


def test_notification_rights():
    assert fixture(marked(EXTENDED, 'rights="w"', 8), dedent=False).labels() == ["w", "r", "rw"]


@pytest.mark.parametrize(("dialect", "extra"), [("extended", ["post_capdl_untypeds"]), ("microkit-2.3", [])])
def test_boot_information_kinds(dialect, extra):
    f = wrap('<memory_region name="m" size="0x1000" prefill_bootinfo="$0" />', dialect=dialect)
    assert f.labels() == ["x86_vbe", "x86_mbmmap", "x86_acpi_rsdp", "x86_framebuffer", "x86_tsc_freq", "fdt", *extra]


def test_durations():
    f = wrap(
        '<domains><domain name="d0" /><domain_schedule><schedule_entry domain="d0" duration="$0" />'
        "</domain_schedule></domains>"
    )
    assert f.labels() == ["1000 us", "100 ticks"]


def test_sizes_of_untypeds_and_cnodes():
    bits = fixture(marked(EXTENDED, 'size_bits="21"', 11), dedent=False).completion()
    assert [i.label for i in bits] == [str(b) for b in range(12, 31)] and bits[0].detail == "log2 bytes"
    size = fixture(marked(EXTENDED, 'size="0x100000"', 6), dedent=False).completion()
    assert [i.label for i in size][:3] == ["0x1000", "0x2000", "0x4000"] and size[-1].label == "0x40000000"
    assert size[0].detail == "power of two"
    cnode = fixture(marked(EXTENDED, 'cnode name="alloc_slots" size_bits="8"', 36), dedent=False).labels()
    assert cnode == [str(b) for b in range(6, 13)]
    root = wrap(PD.format('<cspace size_bits="$0"></cspace>')).labels()
    assert root == [str(b) for b in range(6, 13)]


# -- next free id or slot ------------------------------------------------------------------------------
def test_next_free_channel_id_counts_its_own_id_as_free():
    f = fixture(marked(ECHO, 'irq="33" id="0"', 14), dedent=False)
    (item,) = f.completion()
    assert (item.label, item.detail, f.edit_range(item)) == ("0", "next free", "0")


def test_next_free_channel_id_of_an_end_is_in_its_pd():
    assert fixture(marked(ECHO, '<end pd="uart_driver" id="1"', 26), dedent=False).labels() == ["1"]


def test_next_free_channel_id_skips_irqs_and_ends():
    f = wrap(
        PD.format('<irq irq="3" id="0" /><irq irq="4" id="$0" />')
        + '<channel><end pd="p" id="1" /><end pd="p" id="5" /></channel>'
    )
    assert f.labels() == ["2"]


def test_next_free_child_id_vcpu_id_fault_id_and_ioport_id():
    child = wrap(
        PD.format(
            '<protection_domain name="c" id="$0"><program_image path="c.elf" /></protection_domain>'
            '<protection_domain name="c2" id="0"><program_image path="c.elf" /></protection_domain>'
        )
    )
    assert child.labels() == ["1"]
    vcpu = wrap(PD.format('<virtual_machine name="vm"><vcpu id="0" /><vcpu id="$0" /></virtual_machine>'))
    assert vcpu.labels() == ["1"]
    fault = fixture(marked(EXTENDED, 'fault_handler="pager" fault_id="0"', 32), dedent=False)
    assert fault.labels() == ["0"]  # client_b holds 1
    io = wrap(
        PD.format('<ioport id="0" addr="0x3f8" size="8" /><ioport id="$0" addr="0x2f8" size="8" />'),
        board="x86_64_generic",
    )
    assert io.labels() == ["1"]


def test_next_free_cap_slot():
    assert wrap(PD.format('<cspace><cap_tcb pd="p" slot="$0" /><cap_sc pd="p" slot="1" /></cspace>')).labels() == ["2"]
    # a cap that has its slot keeps it
    assert wrap(PD.format('<cspace><cap_tcb pd="p" slot="3$0" /><cap_sc pd="p" slot="1" /></cspace>')).labels() == ["3"]


# -- program images and files ----------------------------------------------------------------------------
def symbol_doc(setvar: str) -> str:
    return (
        '<memory_region name="m" size="0x1000" />'
        f'<protection_domain name="p"><program_image path="dwarf_sample.elf" />'
        f'<map mr="m" vaddr="0x1000000" setvar_vaddr="{setvar}" /></protection_domain>'
    )


def test_symbols_are_the_words_of_the_program_image():
    items = wrap(symbol_doc("$0"), paths=[DATA]).completion()
    assert [i.label for i in items] == ["buffer_vaddr", "counter"]  # `helper` (15 bytes) is no word
    assert {(i.kind, i.detail) for i in items} == {(lsp.CompletionItemKind.Variable, "word in dwarf_sample.elf")}


def test_no_symbols_without_the_image():
    assert wrap(symbol_doc("$0")).labels() == []


def test_symbols_of_the_mr_prefill_golden_image(shared):
    text = (shared / "golden" / "systems" / "mr_prefill" / "mr_prefill.system").read_text()
    f = fixture(
        marked(text, 'setvar_vaddr="filled_mr"', 15), dedent=False, paths=[shared / "golden" / "elf" / "mr_prefill"]
    )
    assert {"filled_mr", "filled_mr_data_size", "microkit_irqs"} <= set(f.labels())


def test_child_setvar_id_completes_from_the_parent_image():
    f = wrap(
        '<protection_domain name="p"><program_image path="dwarf_sample.elf" />'
        '<protection_domain name="c" id="1" setvar_id="$0"><program_image path="none.elf" /></protection_domain>'
        "</protection_domain>",
        paths=[DATA],
    )
    assert f.labels() == ["buffer_vaddr", "counter"]


def test_program_image_paths_complete_one_folder_at_a_time():
    base = DATA.parent
    top = wrap(PD.replace("p.elf", "$0").format(""), paths=[base])
    assert "data/" in top.labels()
    assert {i.kind for i in top.completion()} == {lsp.CompletionItemKind.File}
    inner = wrap(PD.replace("p.elf", "data/$0").format(""), paths=[base])
    items = inner.completion()
    assert [i.label for i in items] == ["data/dwarf_sample.elf"]  # only ELF files for a program image
    assert inner.edit_range(items[0]) == "data/"


def test_prefill_paths_offer_every_file(tmp_path):
    (tmp_path / "fill.bin").write_bytes(b"1")
    (tmp_path / ".hidden").write_bytes(b"1")
    (tmp_path / "sub").mkdir()
    f = wrap('<memory_region name="m" size="0x1000" prefill_path="$0" />', paths=[tmp_path])
    assert f.labels() == ["fill.bin", "sub/"]


# -- documents as they are typed ------------------------------------------------------------------------------
def test_completion_in_a_half_typed_document():
    f = fixture(
        """
        <system>
            <memory_region name="buf" size="0x1000" />
            <protection_domain name="p">
                <program_image path="p.elf" />
                <map mr="$0
        """
    )
    assert f.labels() == ["buf"]


def test_completion_after_a_bare_bracket_in_a_half_typed_pd():
    f = fixture(
        """
        <system>
            <protection_domain name="p">
                <program_image path="p.elf" />
                <$0
        """
    )
    assert {"map", "irq", "cspace"} <= set(f.labels())


def test_completion_with_crlf_and_comments():
    f = fixture(
        """
        <system>
            <!-- regions -->
            <memory_region name="a" size="0x1000" /><!-- a --><memory_region name="b" size="0x1000" />
            <protection_domain name="p"><!-- here --><program_image path="p.elf" />
                <map mr="$0" vaddr="0x1000" />
            </protection_domain>
        </system>
        """,
        crlf=True,
    )
    items = f.completion()
    assert [i.label for i in items] == ["a", "b"]
    assert items[0].text_edit.range.start.line == 4


@pytest.mark.parametrize(("encoding", "start", "end"), [("utf-16", 13, 17), ("utf-8", 13, 20), ("utf-32", 13, 16)])
def test_ranges_count_in_the_negotiated_encoding(encoding, start, end):
    f = wrap('<memory_region name="ü😀m" size="0x1000" />\n' + PD.format('\n<map mr="ü😀$0m" vaddr="0x1000" />\n'))
    (item,) = f.completion(encoding=encoding)
    assert item.label == "ü😀m"
    r = item.text_edit.range
    assert (r.start.line, r.start.character, r.end.character) == (3, start, end)
    assert f.edit_range(item, encoding) == "ü😀m"


def test_program_image_of_the_mr_prefill_golden_system(shared):
    text = (shared / "golden" / "systems" / "mr_prefill" / "mr_prefill.system").read_text()
    f = fixture(
        marked(text, 'path="mr_prefill.elf"', 6), dedent=False, paths=[shared / "golden" / "elf" / "mr_prefill"]
    )
    assert "mr_prefill.elf" in f.labels()


def test_domain_names_with_their_ids():
    f = wrap("""
        <domains>
            <domain name="fast" />
            <domain name="slow" id="5" />
            <domain_schedule><schedule_entry domain="$0" duration="1000 us" /></domain_schedule>
        </domains>
    """)
    assert {i.label: i.detail for i in f.completion()} == {"fast": "domain id 0", "slow": "domain id 5"}
