"""Quick fixes for every `data["fix"]` recipe the checks emit, and the un-nest refactoring,
in-process: each fix is applied to the text, and the fixed text is analysed again."""

import textwrap
from pathlib import Path

import pytest

from sdf_lsp.diagnostics import DEPRECATED, ERROR, WARNING, Diagnostic
from sdf_lsp.ide import actions

from .fixture import fixture, wrap

PD = '<protection_domain name="p"><program_image path="p.elf" />{}</protection_domain>'


def check_fix(before: str, after: str, code: str, title: str | None = None, gone: bool = True, **kw) -> None:
    """The fix titled `title` (else the preferred one) for the `code` diagnostic at the cursor
    of `before` (a body for `<system>`) turns it into `after`, which (with `gone`) no longer has `code`."""
    f = wrap(before, **kw)
    fixes = [x for x in f.fixes() if x.diagnostic.code == code]
    assert fixes, f"no fix for {code} at the cursor; diagnostics: {f.analysis.diagnostics}"
    fix = next(x for x in fixes if x.title == title) if title else next(x for x in fixes if x.preferred)
    expected = wrap(after, **kw).text
    assert f.apply(fix.edits) == expected
    if gone:
        assert code not in fixture(expected, dedent=False, **kw).codes()


def titles(body: str, code: str, **kw) -> list[tuple[str, bool]]:
    f = wrap(body, **kw)
    return [(x.title, x.preferred) for x in f.fixes() if x.diagnostic.code == code]


# -- add-attribute ---------------------------------------------------------------------------------------
def test_add_a_missing_required_attribute():
    body = PD.format('<memory_region name="m" size="0x1000" /><$0map vaddr="0x1000" />')
    assert titles(PD.format("<$0map />"), "MK-MISSING") == [('Add mr=""', True), ('Add vaddr=""', True)]
    f = wrap(body)
    (fix,) = [x for x in f.fixes() if x.diagnostic.code == "MK-MISSING"]
    assert fix.title == 'Add mr=""'
    assert f.apply(fix.edits) == wrap(body.replace("$0", "").replace('vaddr="0x1000"', 'vaddr="0x1000" mr=""')).text


def test_add_a_size_to_a_region():
    check_fix('<memory_$0region name="m" />', '<memory_region name="m" size="" />', "MK-R8")


def test_add_a_size_to_an_untyped():
    check_fix('<unty$0ped name="u" />', '<untyped name="u" size="" />', "UT001")


def test_add_the_missing_half_of_a_fault_handler():
    handler = '<protection_domain name="h"><program_image path="h.elf" /></protection_domain>\n'
    check_fix(
        handler + '<protection_domain name="p" fault_han$0dler="h"><program_image path="p.elf" /></protection_domain>',
        handler
        + '<protection_domain name="p" fault_handler="h" fault_id=""><program_image path="p.elf" /></protection_domain>',
        "FH003",
    )
    check_fix(
        handler + '<protection_domain name="p" fault_i$0d="1"><program_image path="p.elf" /></protection_domain>',
        handler
        + '<protection_domain name="p" fault_id="1" fault_handler=""><program_image path="p.elf" /></protection_domain>',
        "FH003",
    )


def test_add_setvar_slot_to_a_reserve_nobody_can_find():
    check_fix(
        PD.format('<cspace><res$0erve count="4" /></cspace>'),
        PD.format('<cspace><reserve count="4" setvar_slot="" /></cspace>'),
        "CN010",
    )


def test_add_a_domain_to_a_pd_when_domains_are_scheduled():
    domains = '<domains><domain name="d0" /><domain_schedule><schedule_entry domain="d0" duration="10 us" /></domain_schedule></domains>\n'
    check_fix(
        domains + '<protection_$0domain name="p"><program_image path="p.elf" /></protection_domain>',
        domains + '<protection_domain name="p" domain=""><program_image path="p.elf" /></protection_domain>',
        "MK-MISSING",
    )


def test_add_a_phys_addr_to_a_device_untyped():
    check_fix(
        '<untyped name="u" size_bits="12" device="tr$0ue" />',
        '<untyped name="u" size_bits="12" device="true" phys_addr="" />',
        "UT007",
        gone=False,  # until the address is typed in
    )


# -- enumerations -------------------------------------------------------------------------------------------
def test_boolean_values():
    body = '<protection_domain name="p" passive="ye$0s"><program_image path="p.elf" /></protection_domain>'
    assert titles(body, "MK-P6") == [("Change to 'true'", True), ("Change to 'false'", False)]
    check_fix(body, body.replace('"ye$0s"', '"false"'), "MK-P6", "Change to 'false'")


@pytest.mark.parametrize(
    ("body", "code", "choices"),
    [
        (
            PD.format('<map mr="m" vaddr="0x1000" perms="r$0q" />'),
            "MK-M5",
            ["Change to 'r'", "Change to 'rw'", "Change to 'rx'", "Change to 'rwx'"],
        ),
        (PD.format('<map mr="m" vaddr="0x1000" perms="$0w" />'), "MK-M6", ["Change to 'rw'"]),
        (PD.format('<irq irq="3" id="1" trigger="ri$0sing" />'), "MK-C11", ["Change to 'level'", "Change to 'edge'"]),
        (
            PD.format('<cspace><cap_notification slot="1" pd="p" rights="$0x" /></cspace>'),
            "CS017",
            ["Change to 'w'", "Change to 'r'", "Change to 'rw'"],
        ),
    ],
)
def test_enumerations_offer_each_value_first_preferred(body, code, choices):
    body = '<memory_region name="m" size="0x1000" />' + body
    got = titles(body, code)
    assert [t for t, _ in got] == choices
    assert [p for _, p in got] == [True] + [False] * (len(choices) - 1)
    value = choices[-1].split("'")[1]
    start = body.index("$0")
    quote_start = body.rindex('"', 0, start) + 1
    quote_end = body.index('"', start)
    check_fix(body, body[:quote_start] + value + body[quote_end:], code, choices[-1])


def test_page_size_values_come_from_the_target():
    body = '<memory_region name="m" size="0x1000" page_size="0x$03000" />'
    assert titles(body, "MK-R3") == [("Change to '0x1000'", True), ("Change to '0x200000'", False)]
    check_fix(body, '<memory_region name="m" size="0x1000" page_size="0x1000" />', "MK-R3")


def test_boot_information_kinds():
    body = '<memory_region name="m" size="0x1000" prefill_bootinfo="f$0dtx" />'
    assert [t for t, _ in titles(body, "MK-R5")][-1] == "Change to 'fdt'"
    check_fix(body, '<memory_region name="m" size="0x1000" prefill_bootinfo="fdt" />', "MK-R5", "Change to 'fdt'")


def test_io_mapping_perms():
    before = (
        '<memory_region name="m" size="0x1000" />' + PD.format("") + '<io_address_space name="io" '
        'peripheral_id="0:3.0" domain_id="1"><iomap mr="m" iovaddr="0x1000" perms="r$0x" /></io_address_space>'
    )
    check_fix(before, before.replace('"r$0x"', '"rw"'), "MK-I10", "Change to 'rw'", board="x86_64_generic_vtx")


# -- remove, rename, round ------------------------------------------------------------------------------------
def test_remove_an_unknown_attribute():
    body = '<protection_domain name="p" colour$0="red"><program_image path="p.elf" /></protection_domain>'
    assert titles(body, "MK-ATTR") == [("Remove attribute 'colour'", False)]
    check_fix(body, PD.format(""), "MK-ATTR", "Remove attribute 'colour'")


def test_rename_setvar_slot_on_a_large_root_cnode():
    check_fix(
        PD.format('<cspace size_bits="7"><cap_tcb slot="1" pd="p" setvar_$0slot="x" /></cspace>'),
        PD.format('<cspace size_bits="7"><cap_tcb slot="1" pd="p" setvar_cptr="x" /></cspace>'),
        "CN013",
    )


@pytest.mark.parametrize(
    ("before", "after", "code", "title"),
    [
        (
            '<memory_region name="m" size="0x1$0800" />',
            '<memory_region name="m" size="0x2000" />',
            "MK-R7",
            "Round up to 0x2000",
        ),
        (
            '<protection_domain name="p" stack_size="0x1$0001"><program_image path="p.elf" /></protection_domain>',
            '<protection_domain name="p" stack_size="0x2000"><program_image path="p.elf" /></protection_domain>',
            "MK-P12",
            "Round up to 0x2000",
        ),
        (
            '<memory_region name="m" size="0x1000" />' + PD.format('<map mr="m" vaddr="0x1$0234" />'),
            '<memory_region name="m" size="0x1000" />' + PD.format('<map mr="m" vaddr="0x2000" />'),
            "MK-MAP2",
            "Round up to 0x2000",
        ),
    ],
)
def test_round_up_to_the_page_size(before, after, code, title):
    assert titles(before, code) == [(title, True)]
    check_fix(before, after, code)


def test_round_a_map_up_to_a_large_page():
    check_fix(
        '<memory_region name="m" size="0x200000" page_size="0x200000" />'
        + PD.format('<map mr="m" vaddr="0x20$01000" />'),
        '<memory_region name="m" size="0x200000" page_size="0x200000" />'
        + PD.format('<map mr="m" vaddr="0x400000" />'),
        "MK-MAP2",
    )


def test_untyped_size_to_a_power_of_two():
    body = '<untyped name="u" size="0x1$080000" />'
    assert titles(body, "UT002") == [("Round to 0x100000", True), ("Round to 0x200000", False)]
    check_fix(body, '<untyped name="u" size="0x200000" />', "UT002", "Round to 0x200000")


# -- program images, slots, CNode sizes ----------------------------------------------------------------------
def test_add_a_program_image_to_a_self_closing_pd():
    check_fix(
        '<protection_$0domain name="p" />',
        '<protection_domain name="p">\n    <program_image path="p.elf" />\n</protection_domain>',
        "MK-P17",
    )


def test_add_a_program_image_to_an_empty_pd():
    check_fix(
        '<protection_$0domain name="p" priority="3">\n</protection_domain>',
        '<protection_domain name="p" priority="3">\n    <program_image path="p.elf" />\n</protection_domain>',
        "MK-P17",
    )


def test_add_a_program_image_to_a_pd_without_a_name():
    f = wrap("<protection_$0domain />")
    (fix,) = [x for x in f.fixes() if x.diagnostic.code == "MK-P17"]
    assert '<program_image path="program.elf" />' in f.apply(fix.edits)


@pytest.mark.parametrize(
    ("cspace", "fixed", "code", "title"),
    [
        ('<cap_tcb slot="$00" pd="p" />', '<cap_tcb slot="1" pd="p" />', "CS001", "Use the next free slot 1"),
        ('<cap_tcb slot="$0100" pd="p" />', '<cap_tcb slot="1" pd="p" />', "CS003", "Use the next free slot 1"),
        ('<cap_tc$0b pd="p" />', '<cap_tcb pd="p" slot="1" />', "MK-MISSING", "Use the next free slot 1"),
        (
            '<cap_tcb slot="1" pd="p" /><cap_sc slot="$01" pd="p" />',
            '<cap_tcb slot="1" pd="p" /><cap_sc slot="2" pd="p" />',
            "CS005",
            "Use the next free slot 2",
        ),
    ],
)
def test_use_the_next_free_slot(cspace, fixed, code, title):
    before = PD.format(f"<cspace>{cspace}</cspace>")
    assert titles(before, code) == [(title, True)]
    check_fix(before, PD.format(f"<cspace>{fixed}</cspace>"), code)


def test_upstream_slot_outside_its_cnode_uses_the_next_free_slot():
    check_fix(
        PD.format('<cspace><cap_tcb slot="$070" pd="p" /></cspace>'),
        PD.format('<cspace><cap_tcb slot="1" pd="p" /></cspace>'),
        "CS003",
        dialect="microkit-2.3",
    )


@pytest.mark.parametrize(
    ("before", "after", "code"),
    [
        (
            '<cspace size_bits="7"><cap_tcb slot="$0200" pd="p" /></cspace>',
            '<cspace size_bits="8"><cap_tcb slot="200" pd="p" /></cspace>',
            "CS002",
        ),
        (
            '<cspace><reserve slot="60" count="$010" /></cspace>',
            '<cspace size_bits="7"><reserve slot="60" count="10" /></cspace>',
            "CN002",
        ),
        (
            '<cs$0pace><reserve count="70" setvar_cptr="x" /></cspace>',
            '<cspace size_bits="7"><reserve count="70" setvar_cptr="x" /></cspace>',
            "CN003",
        ),
    ],
)
def test_raise_the_root_cnode(before, after, code):
    bits = after.split('size_bits="')[1][0]
    assert titles(PD.format(before), code) == [(f"Raise the root CNode to size_bits={bits}", True)]
    check_fix(PD.format(before), PD.format(after), code)


# -- names and ids ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("before", "after", "code"),
    [
        (
            '<memory_region name="tx_ring" size="0x1000" />' + PD.format('<map mr="tx_rin$0" vaddr="0x1000" />'),
            '<memory_region name="tx_ring" size="0x1000" />' + PD.format('<map mr="tx_ring" vaddr="0x1000" />'),
            "MK-MAP1",
        ),
        (
            '<protection_domain name="client"><program_image path="c.elf" /></protection_domain>'
            '<protection_domain name="server"><program_image path="s.elf" /></protection_domain>'
            '<channel><end pd="clie$0nt2" id="0" /><end pd="server" id="0" /></channel>',
            '<protection_domain name="client"><program_image path="c.elf" /></protection_domain>'
            '<protection_domain name="server"><program_image path="s.elf" /></protection_domain>'
            '<channel><end pd="client" id="0" /><end pd="server" id="0" /></channel>',
            "MK-H5",
        ),
        (
            PD.format('<cspace><cap_tcb slot="1" pd="q$0q" /></cspace>'),
            PD.format('<cspace><cap_tcb slot="1" pd="p" /></cspace>'),
            "CS006",
        ),
        (
            '<memory_region name="ring" size="0x1000" />' + PD.format('<setvar symbol="x" region_paddr="rin$0" />'),
            '<memory_region name="ring" size="0x1000" />' + PD.format('<setvar symbol="x" region_paddr="ring" />'),
            "SDF004",
        ),
        (
            '<untyped name="heap" size_bits="20" />'
            + PD.format('<cspace><cap_untyped slot="1" untyped="hea$0p_x" /></cspace>'),
            '<untyped name="heap" size_bits="20" />'
            + PD.format('<cspace><cap_untyped slot="1" untyped="heap" /></cspace>'),
            "UT010",
        ),
        (
            '<protection_domain name="handler"><program_image path="h.elf" /></protection_domain>'
            '<protection_domain name="p" fault_handler="hand$0ler2" fault_id="0"><program_image path="p.elf" /></protection_domain>',
            '<protection_domain name="handler"><program_image path="h.elf" /></protection_domain>'
            '<protection_domain name="p" fault_handler="handler" fault_id="0"><program_image path="p.elf" /></protection_domain>',
            "FH001",
        ),
    ],
)
def test_change_to_the_nearest_name(before, after, code):
    check_fix(before, after, code)


def test_nearest_names_are_ranked():
    body = (
        '<memory_region name="rx_ring" size="0x1000" /><memory_region name="tx_ring" size="0x1000" />'
        '<memory_region name="zzz" size="0x1000" />' + PD.format('<map mr="tx_rin$0" vaddr="0x1000" />')
    )
    assert titles(body, "MK-MAP1") == [("Change to 'tx_ring'", True), ("Change to 'rx_ring'", False)]


def test_nearest_domain_name():
    domains = '<domains><domain name="d0" /><domain_schedule><schedule_entry domain="d0" duration="10 us" /></domain_schedule></domains>'
    check_fix(
        domains + '<protection_domain name="p" domain="d$01"><program_image path="p.elf" /></protection_domain>',
        domains + '<protection_domain name="p" domain="d0"><program_image path="p.elf" /></protection_domain>',
        "MK-P10",
    )


@pytest.mark.parametrize(
    ("before", "after", "code"),
    [
        (
            PD.format('<irq irq="3" id="0" /><irq irq="4" id="$00" />'),
            PD.format('<irq irq="3" id="0" /><irq irq="4" id="1" />'),
            "MK-G7",
        ),
        (
            PD.format(
                '<protection_domain name="a" id="0"><program_image path="a.elf" /></protection_domain>'
                '<protection_domain name="b" id="$00"><program_image path="b.elf" /></protection_domain>'
            ),
            PD.format(
                '<protection_domain name="a" id="0"><program_image path="a.elf" /></protection_domain>'
                '<protection_domain name="b" id="1"><program_image path="b.elf" /></protection_domain>'
            ),
            "MK-F1",
        ),
        (
            '<protection_domain name="h"><program_image path="h.elf" /></protection_domain>'
            '<protection_domain name="a" fault_handler="h" fault_id="0"><program_image path="a.elf" /></protection_domain>'
            '<protection_domain name="b" fault_handler="h" fault_id="$00"><program_image path="b.elf" /></protection_domain>',
            '<protection_domain name="h"><program_image path="h.elf" /></protection_domain>'
            '<protection_domain name="a" fault_handler="h" fault_id="0"><program_image path="a.elf" /></protection_domain>'
            '<protection_domain name="b" fault_handler="h" fault_id="1"><program_image path="b.elf" /></protection_domain>',
            "FH004",
        ),
    ],
)
def test_use_the_next_free_id(before, after, code):
    (title,) = [t for t, _ in titles(before, code)]
    assert title == "Use the next free id 1"
    check_fix(before, after, code)


def test_duplicate_channel_id_of_an_end():
    before = (
        PD.format('<irq irq="3" id="0" />')
        + '<protection_domain name="q"><program_image path="q.elf" /></protection_domain>'
        + '<channel><end pd="p" id="$00" /><end pd="q" id="0" /></channel>'
    )
    check_fix(before, before.replace('<end pd="p" id="$00"', '<end pd="p" id="1"'), "MK-G8")


# -- the receive_all_untypeds conversion ---------------------------------------------------------------------------
def test_convert_receive_all_untypeds():
    before = '<memory_region name="m" size="0x1000" receive_all$0_untypeds="true" />\n' + PD.format(
        '<map mr="m" vaddr="0x1000" />'
    )
    f = wrap(before)
    (fix,) = [x for x in f.fixes() if x.diagnostic.code == "UH006"]
    assert (fix.title, fix.preferred) == ("Convert to <cnode post_capdl_untypeds>", True)
    after = f.apply(fix.edits)
    assert (
        after
        == wrap(
            '<cnode name="untypeds" size_bits="9" post_capdl_untypeds="true" />\n'
            '<memory_region name="m" size="0x1000" prefill_bootinfo="post_capdl_untypeds" />\n'
            '<protection_domain name="p">\n'
            '    <cspace><cap_cnode slot="1" cnode_name="untypeds" /></cspace><program_image path="p.elf" />'
            '<map mr="m" vaddr="0x1000" /></protection_domain>'
        ).text
    )
    codes = fixture(after, dedent=False).codes()
    assert "UH006" not in codes and "UH005" in codes  # now the cnode form, with its authority hint


def test_convert_receive_all_untypeds_into_an_existing_cspace():
    before = '<memory_region name="m" size="0x1000" receive_all$0_untypeds="true" />\n' + PD.format(
        '<cspace><cap_tcb slot="1" pd="p" /></cspace><map mr="m" vaddr="0x1000" />'
    )
    f = wrap(before)
    (fix,) = [x for x in f.fixes() if x.diagnostic.code == "UH006"]
    after = f.apply(fix.edits)
    assert '<cspace><cap_cnode slot="2" cnode_name="untypeds" /><cap_tcb slot="1" pd="p" /></cspace>' in after
    assert "UH006" not in fixture(after, dedent=False).codes()


# -- adding and renaming ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["<sys$0tem>\n</system>\n", "<sys$0tem/>\n", "<sys$0tem></system>"])
def test_a_system_without_pds_offers_to_add_one(text):
    f = fixture(text)
    assert f.diagnostic("MK-G1").data == {"fix": "add-pd"}
    (fix,) = [x for x in f.fixes() if x.diagnostic.code == "MK-G1"]
    after = fixture(f.apply(fix.edits), dedent=False)
    assert "MK-G1" not in after.codes() and not after.analysis.errors


def test_a_duplicate_name_offers_a_rename():
    f = wrap(
        '<memory_region name="m" size="0x1000" /><memory_region name="$0m" size="0x1000" />'
        '<memory_region name="m_2" size="0x1000" />'
    )
    assert f.diagnostic("MK-G4").data == {"fix": "rename"}
    (fix,) = [x for x in f.fixes() if x.diagnostic.code == "MK-G4"]
    assert fix.title == "Rename to 'm_3'"
    assert "MK-G4" not in fixture(f.apply(fix.edits), dedent=False).codes()


# -- where fixes are offered ------------------------------------------------------------------------------------------
def test_fixes_only_for_diagnostics_in_the_range():
    f = wrap(
        '<memory_region name="a" size="0x1800" />\n$0<memory_region name="b" size="0x1000" />$1\n'
        '<memory_region name="c" size="0x1800" />'
    )
    assert f.fixes() == []
    g = wrap('$0<memory_region name="a" size="0x1800" />\n<memory_region name="c" size="0x1800" />$1')
    assert [x.title for x in g.fixes()] == ["Round up to 0x2000", "Round up to 0x2000"]


def test_a_recipe_that_no_longer_fits_the_text_offers_nothing():
    f = wrap('<memory_region name="$0m" size="0x1800" />')
    name = f.analysis.doc.root.children[1].attr("name").value_span  # `m`, which is no number to round up
    f.analysis.diagnostics.extend(
        [
            Diagnostic(name, ERROR, "T1", "stale", data={"fix": "round-up", "to": 0x1000}),
            Diagnostic(name, ERROR, "T2", "stale", data={"fix": "next-free-id"}),
            Diagnostic(name, ERROR, "T3", "unknown", data={"fix": "no-such-recipe"}),
        ]
    )
    assert f.fixes() == []


# -- the un-nest refactoring ---------------------------------------------------------------------------------------------
def test_unnest_the_crasher_of_the_hierarchy_example(shared):
    text = (shared / "corpus" / "microkit-examples" / "hierarchy__hierarchy.system").read_text()
    at = text.index('name="crasher"') + 7
    f = fixture(text[:at] + "$0" + text[at:], dedent=False)
    fix = actions.unnest_child(f.analysis, f.at)
    assert fix.title == "Un-nest 'crasher': a top-level PD with fault_handler=\"restarter\""
    assert fix.diagnostic is None
    after = f.apply(fix.edits)
    assert after.split("<system>")[1] == textwrap.dedent(
        """
            <protection_domain name="restarter" priority="254">
                <cspace>
                    <cap_tcb slot="1" pd="crasher" />
                </cspace>
                <program_image path="restarter.elf" />
                <protection_domain name="hello" priority="1" id="2">
                    <program_image path="hello.elf" />
                </protection_domain>
            </protection_domain>

            <protection_domain name="crasher" priority="253" fault_handler="restarter" fault_id="1">
                <program_image path="crasher.elf" />
            </protection_domain>
        </system>"""
    )
    g = fixture(after, dedent=False)
    assert g.analysis.errors == []
    at = after.index('name="restarter"') + 7
    hover = fixture(after[:at] + "$0" + after[at:], dedent=False).hover_text()
    assert "root CNode 2/64" in hover  # the parent now holds the TCB cap in its root CNode


def test_unnest_into_an_existing_cspace_drops_id_and_setvar_id():
    f = wrap(
        """
        <protection_domain name="parent" priority="200">
            <program_image path="parent.elf" />
            <cspace>
                <cap_tcb slot="1" pd="parent" />
            </cspace>
            <protection_domain name="kid" priority="100" id="3" setvar_id="kid_id">
                <program_image path="kid.elf" />
                <map$0 mr="m" vaddr="0x1000" />
            </protection_domain>
        </protection_domain>
        <memory_region name="m" size="0x1000" />
        """
    )
    fix = actions.unnest_child(f.analysis, f.at)  # from anywhere inside the child
    assert (
        f.apply(fix.edits)
        == wrap(
            """
        <protection_domain name="parent" priority="200">
            <program_image path="parent.elf" />
            <cspace>
                <cap_tcb slot="2" pd="kid" />
                <cap_tcb slot="1" pd="parent" />
            </cspace>
        </protection_domain>

        <protection_domain name="kid" priority="100" fault_handler="parent" fault_id="3">
            <program_image path="kid.elf" />
            <map mr="m" vaddr="0x1000" />
        </protection_domain>
        <memory_region name="m" size="0x1000" />
        """
        ).text
    )
    assert fixture(f.apply(fix.edits), dedent=False).analysis.errors == []


def test_unnest_a_grandchild_moves_it_to_the_top_level():
    f = wrap(
        """
        <protection_domain name="a" priority="200">
            <program_image path="a.elf" />
            <protection_domain name="b" priority="150" id="1">
                <program_image path="b.elf" />
                <protection_domain name="c$0" priority="100" id="2">
                    <program_image path="c.elf" />
                </protection_domain>
            </protection_domain>
        </protection_domain>
        """
    )
    fix = actions.unnest_child(f.analysis, f.at)
    assert fix.title == "Un-nest 'c': a top-level PD with fault_handler=\"b\""
    after = f.apply(fix.edits)
    assert after.endswith(
        '    </protection_domain>\n\n    <protection_domain name="c" priority="100" fault_handler="b" fault_id="2">\n'
        '        <program_image path="c.elf" />\n    </protection_domain>\n</system>\n'
    )
    assert fixture(after, dedent=False).analysis.errors == []


def test_no_unnest_for_top_level_pds_or_the_upstream_dialect():
    top = wrap('<protection_domain name="p$0"><program_image path="p.elf" /></protection_domain>')
    assert actions.unnest_child(top.analysis, top.at) is None
    nested = """
        <protection_domain name="parent" priority="200">
            <program_image path="parent.elf" />
            <protection_domain name="k$0id" priority="100" id="3"><program_image path="kid.elf" /></protection_domain>
        </protection_domain>
    """
    assert actions.unnest_child(wrap(nested).analysis, wrap(nested).at) is not None
    strict = wrap(nested, dialect="microkit-2.3")
    assert actions.unnest_child(strict.analysis, strict.at) is None
    outside = wrap(nested.replace("k$0id", "kid") + "$0")
    assert actions.unnest_child(outside.analysis, outside.at) is None


# -- the extended model's families, on the extended example -------------------------------------------------------
EXTENDED = (Path(__file__).resolve().parents[2] / "examples" / "extended" / "extended.system").read_text()


def first_fix_removes(text: str, code: str, message: str | None = None) -> set[str]:
    """Apply the first fix for the first `code` diagnostic of `text`; the codes of the fixed text."""
    f = fixture(text, dedent=False)
    d = f.diagnostic(code)
    if message is not None:
        assert d.message == message
    fixes = [x for x in actions.quick_fixes(f.analysis, d.span.start, d.span.end) if x.diagnostic is d]
    assert fixes, f"no quick fix for {code}"
    codes = fixture(f.apply(fixes[0].edits), dedent=False).codes()
    assert code not in codes
    return codes


def test_the_extended_example_is_clean_in_the_extended_dialect():
    assert fixture(EXTENDED, dedent=False).analysis.errors == []


def test_cs_family_slot_zero():
    text = EXTENDED.replace('<cap_sc  slot="2" pd="worker_a"', '<cap_sc  slot="0" pd="worker_a"')
    first_fix_removes(text, "CS001", "The destination slot 0 has been reserved for Microkit CNode on element 'cap_sc'")


def test_fh_family_shared_fault_id():
    text = EXTENDED.replace('fault_handler="pager" fault_id="1"', 'fault_handler="pager" fault_id="0"')
    first_fix_removes(text, "FH004", "fault id 0 of handler 'pager' used by 'client_b' and 'client_a'")


def test_ut_family_size_not_a_power_of_two():
    text = EXTENDED.replace('size="0x100000"', 'size="0x180000"')
    first_fix_removes(text, "UT002", "untyped size 0x180000 is not a power of two (nearest: 0x100000 / 0x200000)")


def test_uh_family_receive_all_untypeds():
    text = EXTENDED.replace(
        '<memory_region name="shared_log" size="0x4000" />',
        '<memory_region name="shared_log" size="0x4000" receive_all_untypeds="true" />',
    )
    d = fixture(text, dedent=False).diagnostic("UH006")
    assert (d.severity, d.tags) == (WARNING, (DEPRECATED,))
    codes = first_fix_removes(text, "UH006")
    assert "UH005" in codes  # now the <cnode post_capdl_untypeds> form, with its authority hint


def test_cn_family_reserve_past_the_root_cnode():
    text = EXTENDED.replace('<reserve slot="16" count="16"', '<reserve slot="120" count="16"')
    first_fix_removes(
        text, "CN002", "reserve [120..136) exceeds the root CNode of 'allocator' (size_bits=7, 128 slots)"
    )


def test_ex_family_in_the_upstream_dialect():
    f = fixture(EXTENDED, dedent=False, dialect="microkit-2.3")
    messages = {d.message for d in f.diagnostics("EX001")}
    assert "invalid XML element 'untyped' (an sdf-lsp extension)" in messages
    assert "Cap type: 'notification' is not supported (an sdf-lsp extension)" in messages
