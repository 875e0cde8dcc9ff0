"""Definition, references, document highlights, rename and document links, in-process."""

from pathlib import Path

import pytest

from sdf_lsp.ide import navigation

from .fixture import fixture, wrap

ROOT = Path(__file__).resolve().parents[2]
ECHO = (ROOT / "examples" / "echo" / "echo.system").read_text()
DATA = ROOT / "tests" / "image" / "data"


def marked(text: str, needle: str, cursor_at: int) -> str:
    at = text.index(needle) + cursor_at
    return text[:at] + "$0" + text[at:]


def echo(needle: str, cursor_at: int):
    return fixture(marked(ECHO, needle, cursor_at), dedent=False)


def in_document(f, targets) -> list[str]:
    assert all(t.path is None for t in targets)
    return f.marked_lines((t.start, t.end) for t in targets)


SYSTEM = """
    <domains>
        <domain name="fast" />
        <domain name="slow" />
        <domain_schedule>
            <schedule_entry domain="fast" duration="1000 us" />
            <schedule_entry domain="slow" duration="2000 us" />
        </domain_schedule>
    </domains>
    <memory_region name="buf" size="0x1000" />
    <protection_domain name="server" priority="200" domain="fast">
        <program_image path="server.elf" />
        <map mr="buf" vaddr="0x2000000" />
    </protection_domain>
    <protection_domain name="client" priority="100" domain="slow">
        <program_image path="client.elf" />
        <map mr="buf" vaddr="0x2000000" perms="r" />
        <cspace><cap_tcb slot="1" pd="server" /></cspace>
    </protection_domain>
    <protection_domain name="helper" priority="50" fault_handler="server" fault_id="0" domain="slow">
        <program_image path="helper.elf" />
    </protection_domain>
    <channel>
        <end pd="client" id="0" pp="true" />
        <end pd="server" id="3" />
    </channel>
"""


def system(needle: str, cursor_at: int, **kw):
    return wrap(marked(SYSTEM, needle, cursor_at), **kw)


# -- definition ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("needle", "cursor_at", "definition"),
    [
        ('<end pd="server"', 10, '<protection_domain name="«server»" priority="200" domain="fast">'),
        ('<map mr="buf" vaddr="0x2000000" perms', 10, '<memory_region name="«buf»" size="0x1000" />'),
        ('<cap_tcb slot="1" pd="server"', 23, '<protection_domain name="«server»" priority="200" domain="fast">'),
        ('fault_handler="server"', 16, '<protection_domain name="«server»" priority="200" domain="fast">'),
        ('domain="slow">', 9, '<domain name="«slow»" />'),
        ('<schedule_entry domain="fast"', 25, '<domain name="«fast»" />'),
        ('<domain name="fast"', 15, '<domain name="«fast»" />'),  # a definition is its own definition
    ],
)
def test_definition_of_a_name(needle, cursor_at, definition):
    f = system(needle, cursor_at)
    assert in_document(f, f.definition()) == [definition]


def test_definition_of_untyped_and_cnode_names():
    f = wrap(
        """
        <untyped name="heap" size_bits="20" />
        <cnode name="slots" size_bits="8" />
        <protection_domain name="p">
            <program_image path="p.elf" />
            <cspace>
                <cap_untyped slot="1" untyped="he$0ap" />
                <cap_cnode slot="2" cnode_name="slots" />
            </cspace>
        </protection_domain>
        """
    )
    assert in_document(f, f.definition()) == ['<untyped name="«heap»" size_bits="20" />']


def test_definition_of_a_duplicated_name_lists_both():
    f = wrap(
        """
        <memory_region name="m" size="0x1000" />
        <memory_region name="m" size="0x2000" />
        <protection_domain name="p"><program_image path="p.elf" /><map mr="$0m" vaddr="0x1000" /></protection_domain>
        """
    )
    assert in_document(f, f.definition()) == [
        '<memory_region name="«m»" size="0x1000" />',
        '<memory_region name="«m»" size="0x2000" />',
    ]


def test_definition_of_an_unknown_name_is_empty():
    f = wrap(
        '<protection_domain name="p"><program_image path="p.elf" /><map mr="no$0pe" vaddr="0x1000" /></protection_domain>'
    )
    assert f.definition() == []


@pytest.mark.parametrize(("needle", "cursor_at"), [('<end pd="client" id="0"', 2), ('<end pd="client" id="0"', 22)])
def test_channel_end_goes_to_the_peer_end(needle, cursor_at):
    f = system(needle, cursor_at)
    assert in_document(f, f.definition()) == ['<end pd="server" id="«3»" />']


def test_peer_end_of_the_echo_example():
    f = echo('<end pd="client" id="1"', 2)
    assert in_document(f, f.definition()) == ['<end pd="echo_server" id="«0»" />']


def test_peer_end_without_an_id_is_its_tag():
    f = wrap(
        """
        <protection_domain name="a"><program_image path="a.elf" /></protection_domain>
        <protection_domain name="b"><program_image path="b.elf" /></protection_domain>
        <channel><e$0nd pd="a" id="1" /><end pd="b" /></channel>
        """
    )
    assert in_document(f, f.definition()) == ['<channel><end pd="a" id="1" /><«end» pd="b" /></channel>']


def test_end_of_a_channel_with_one_end_has_no_peer():
    f = wrap(
        '<protection_domain name="a"><program_image path="a.elf" /></protection_domain><channel><e$0nd pd="a" id="1" /></channel>'
    )
    assert f.definition() == []


def test_definition_elsewhere_is_empty():
    assert system('priority="200"', 11).definition() == []  # a number
    assert system("<map mr", 2).definition() == []  # a tag that is no channel end
    assert fixture("$0").definition() == []


def test_program_image_goes_to_the_file():
    f = wrap(
        '<protection_domain name="p"><program_image path="dwarf_$0sample.elf" /></protection_domain>', paths=[DATA]
    )
    (target,) = f.definition()
    assert (target.path, target.line) == (str(DATA / "dwarf_sample.elf"), 0)


def test_prefill_file_goes_to_the_file(tmp_path):
    (tmp_path / "fill.bin").write_bytes(b"1")
    f = wrap('<memory_region name="m" size="0x1000" prefill_path="fi$0ll.bin" />', paths=[tmp_path])
    assert [t.path for t in f.definition()] == [str(tmp_path / "fill.bin")]


def test_missing_file_has_no_definition():
    f = wrap('<protection_domain name="p"><program_image path="go$0ne.elf" /></protection_domain>', paths=[DATA])
    assert f.definition() == []


def setvar_doc(symbol: str) -> str:
    return (
        '<memory_region name="m" size="0x1000" />\n'
        '<protection_domain name="p">\n'
        '    <program_image path="dwarf_sample.elf" />\n'
        f'    <map mr="m" vaddr="0x1000000" setvar_vaddr="{symbol}" />\n'
        "</protection_domain>"
    )


@pytest.mark.parametrize(("symbol", "line"), [("buffer$0_vaddr", 0), ("cou$0nter", 1)])
def test_setvar_symbol_goes_to_its_source_line(symbol, line):
    f = wrap(setvar_doc(symbol), paths=[DATA])
    (target,) = f.definition()
    assert Path(target.path).name == "dwarf_sample.c"
    assert target.line == line  # 0-based: `unsigned long buffer_vaddr;` is the first line


def test_setvar_symbol_without_debug_lines_or_image():
    assert wrap(setvar_doc("no$0where"), paths=[DATA]).definition() == []
    assert wrap(setvar_doc("buffer$0_vaddr")).definition() == []  # the image is not on the search paths


def test_setvar_symbol_of_an_image_without_dwarf(shared):
    text = (shared / "golden" / "systems" / "mr_prefill" / "mr_prefill.system").read_text()
    f = fixture(
        marked(text, 'setvar_vaddr="filled_mr"', 16), dedent=False, paths=[shared / "golden" / "elf" / "mr_prefill"]
    )
    assert f.definition() == []


# -- references and highlights -------------------------------------------------------------------------
def test_references_with_and_without_the_declaration():
    f = echo('name="tx_ring"', 7)
    assert f.marked_lines(f.references()) == [
        '<memory_region name="«tx_ring»" size="0x4000" />',
        '<map mr="«tx_ring»" vaddr="0x3000000" perms="rw" setvar_vaddr="tx_ring" />',
        '<map mr="«tx_ring»" vaddr="0x3000000" perms="rw" setvar_vaddr="tx_ring" />',
    ]
    assert len(f.references(include_declaration=False)) == 2
    assert all(f.covered(s, e) == "tx_ring" for s, e in f.references())


def test_references_from_a_reference_and_across_kinds():
    f = system('<cap_tcb slot="1" pd="server"', 23)
    assert f.marked_lines(f.references()) == [
        '<protection_domain name="«server»" priority="200" domain="fast">',
        '<cspace><cap_tcb slot="1" pd="«server»" /></cspace>',
        '<protection_domain name="helper" priority="50" fault_handler="«server»" fault_id="0" domain="slow">',
        '<end pd="«server»" id="3" />',
    ]


def test_a_setvar_symbol_named_like_a_region_is_no_reference():
    f = echo('name="rx_ring"', 7)
    assert all('setvar_vaddr="«' not in line for line in f.marked_lines(f.references()))


def test_no_references_off_a_name():
    assert system('priority="200"', 11).references() == []
    assert system("<map mr", 2).highlights() == []


def test_highlights_mark_the_definition_as_written():
    f = system('domain="fast">', 9)
    spans = f.highlights()
    assert f.marked_lines((s, e) for s, e, _ in spans) == [
        '<domain name="«fast»" />',
        '<schedule_entry domain="«fast»" duration="1000 us" />',
        '<protection_domain name="server" priority="200" domain="«fast»">',
    ]
    (definition,) = [(s, e) for s, e, is_def in spans if is_def]
    assert f.marked_lines([definition]) == ['<domain name="«fast»" />']


# -- rename ---------------------------------------------------------------------------------------------
def test_rename_a_region_everywhere():
    f = echo('name="tx_ring"', 7)
    assert navigation.prepare_rename(f.analysis, f.at) == (
        f.offset_of('"tx_ring"', 1),
        f.offset_of('"tx_ring"', 8),
        "tx_ring",
    )
    after = f.rename("tx_queue")
    assert after == ECHO.replace('"tx_ring" size', '"tx_queue" size').replace('mr="tx_ring"', 'mr="tx_queue"')
    assert 'setvar_vaddr="tx_ring"' in after  # symbols keep their names


def test_rename_a_pd_from_a_reference():
    f = system('<end pd="server"', 10)
    after = f.rename("srv")
    assert 'name="srv"' in after and 'pd="srv"' in after and 'fault_handler="srv"' in after
    assert after.count("server") == 1  # only `server.elf` is left
    assert f.analysis.errors == [] and fixture(after, dedent=False).analysis.errors == []


def test_rename_a_domain_and_a_virtual_machine():
    assert system('<domain name="slow"', 15).rename("lazy").count('"lazy"') == 4
    f = wrap(
        """
        <protection_domain name="vmm">
            <program_image path="vmm.elf" />
            <virtual_machine name="li$0nux"><vcpu id="0" /></virtual_machine>
        </protection_domain>
        """
    )
    assert 'virtual_machine name="guest"' in f.rename("guest")


def test_rename_to_the_same_name_changes_nothing():
    f = echo('name="tx_ring"', 7)
    assert navigation.rename(f.analysis, f.at, "tx_ring") == []


@pytest.mark.parametrize(
    ("needle", "cursor_at", "new_name", "refusal"),
    [
        ('name="tx_ring"', 7, "rx_ring", "the memory region name 'rx_ring' is already taken"),
        ('name="tx_ring"', 7, "a b", "'a b' is not a valid name (no spaces, quotes, '<', '>' or '&')"),
        ('name="tx_ring"', 7, "x<y", "'x<y' is not a valid name (no spaces, quotes, '<', '>' or '&')"),
        ('name="tx_ring"', 7, "", "'' is not a valid name (no spaces, quotes, '<', '>' or '&')"),
        ('name="client"', 7, "echo_server", "the protection domain name 'echo_server' is already taken"),
        ('name="client"', 7, "monitor", "the PD name 'monitor' is reserved for the Microkit Monitor"),
        ('priority="100"', 11, "x", "there is no protection domain, memory region or domain name here"),
    ],
)
def test_rename_refuses(needle, cursor_at, new_name, refusal):
    f = echo(needle, cursor_at)
    with pytest.raises(navigation.RenameError) as err:
        navigation.rename(f.analysis, f.at, new_name)
    assert str(err.value) == refusal


def test_a_name_of_another_kind_is_not_taken():
    f = echo('name="tx_ring"', 7)
    assert 'name="client" size' in f.rename("client")  # a region may share a PD's name


def test_prepare_rename_off_a_name():
    f = echo('priority="100"', 11)
    assert navigation.prepare_rename(f.analysis, f.at) is None


def test_rename_with_multi_byte_names_and_crlf():
    f = wrap(
        """
        <memory_region name="pufferüñ😀" size="0x1000" />
        <protection_domain name="p"><program_image path="p.elf" />
            <map mr="puff$0erüñ😀" vaddr="0x3000000" />
        </protection_domain>
        """,
        crlf=True,
    )
    after = f.rename("ринг")
    assert after.count('"ринг"') == 2 and "puffer" not in after
    assert after.count("\r\n") == f.text.count("\r\n")


# -- document links ---------------------------------------------------------------------------------------
def test_document_links_to_images_and_prefill_files_that_exist(tmp_path):
    (tmp_path / "fill.bin").write_bytes(b"1")
    (tmp_path / "app.elf").write_bytes(b"\x7fELF")
    (tmp_path / "app.debug").write_bytes(b"\x7fELF")
    f = wrap(
        """
        <memory_region name="m" size="0x1000" prefill_path="fill.bin" />
        <memory_region name="n" size="0x1000" prefill_path="missing.bin" />
        <protection_domain name="p">
            <program_image path="app.elf" path_for_symbols="app.debug" />
            <protection_domain name="c" id="1"><program_image path="app.elf" /></protection_domain>
        </protection_domain>
        <protection_domain name="q"><program_image path="gone.elf" /></protection_domain>
        """,
        paths=[tmp_path],
    )
    links = navigation.document_links(f.analysis, f.env)
    assert f.marked_lines((s, e) for s, e, _ in links) == [
        '<memory_region name="m" size="0x1000" prefill_path="«fill.bin»" />',
        '<program_image path="«app.elf»" path_for_symbols="«app.debug»" />',
        '<protection_domain name="c" id="1"><program_image path="«app.elf»" /></protection_domain>',
    ]
    assert [Path(p).name for _, _, p in links] == ["fill.bin", "app.elf", "app.debug", "app.elf"]
    assert all(Path(p).parent == tmp_path for _, _, p in links)


def test_no_document_links_without_a_root():
    f = fixture("<!-- nothing yet -->")
    assert navigation.document_links(f.analysis, f.env) == []


def test_navigation_with_comments_crlf_and_a_half_typed_tail():
    f = fixture(
        """
        <system>
            <!-- the ring --><memory_region name="ring" size="0x1000" /><!-- shared -->
            <protection_domain name="a"><!-- a --><program_image path="a.elf" />
                <map mr="ri$0ng" vaddr="0x1000" /></protection_domain>
            <protection_domain name="b"><program_image path="b.elf" />
                <!-- <map mr="ring" vaddr="0x2000" /> -->
                <map mr="ring" vaddr="0x2000
        """,
        crlf=True,
    )
    assert in_document(f, f.definition()) == [
        '<!-- the ring --><memory_region name="«ring»" size="0x1000" /><!-- shared -->'
    ]
    assert f.marked_lines(f.references(include_declaration=False)) == [
        '<map mr="«ring»" vaddr="0x1000" /></protection_domain>',
        '<map mr="«ring»" vaddr="0x2000',
    ]  # the commented-out map is no reference
    after = f.rename("bell")
    assert after.count('"bell"') == 3 and '<!-- <map mr="ring"' in after
