"""Code lenses, in-process: where they go and what each shows."""

from __future__ import annotations

from sdf_lsp.ide import lenses

from .fixture import ROOT_EXAMPLES, fixture, wrap

ECHO = (ROOT_EXAMPLES / "echo" / "echo.system").read_text()


def test_places_are_each_pd_and_region_by_name():
    f = fixture(ECHO, dedent=False)
    found = [(p.kind, p.name, f.covered(p.start, p.end), p.count) for p in lenses.places(f.analysis)]
    assert found == [
        ("mr", "uart_regs", "uart_regs", 1),
        ("mr", "tx_ring", "tx_ring", 1),
        ("mr", "rx_ring", "rx_ring", 1),
        ("mr", "echo_buffer", "echo_buffer", 1),
        ("pd", "uart_driver", "uart_driver", 3),
        ("pd", "echo_server", "echo_server", 3),
        ("pd", "client", "client", 3),
    ]


def test_pd_lenses_references_cspace_and_memory():
    f = fixture(ECHO, dedent=False)
    refs, cspace, memory = lenses.lenses(f.analysis, "pd", "client")
    assert refs.title == "2 references" and refs.action == "references"
    assert f.marked_lines(refs.targets) == ['<end pd="«client»" id="0" />', '<end pd="«client»" id="1" pp="true" />']
    assert f.covered(refs.at, refs.at + 6) == "client"
    cs = f.analysis.layout.cspace(f.analysis.system.pd_by_name["client"])
    assert cspace.title == f"slots {cs.root_used}/{cs.root_capacity}" and cspace.action == "cspace"
    assert cspace.title == "slots 1/64"  # only the Microkit CNode: its channels live there
    assert memory.title.startswith("memory ") and memory.title.endswith(" + program image")
    assert memory.action == ""


def test_region_lenses_list_the_mappings():
    f = fixture(ECHO, dedent=False)
    (maps,) = lenses.lenses(f.analysis, "mr", "echo_buffer")
    assert maps.title == "2 mappings" and maps.action == "references"
    assert [f.line_of(s) for s, _ in maps.targets] == [
        f.line_of(f.offset_of('<map mr="echo_buffer"', nth=0)),
        f.line_of(f.offset_of('<map mr="echo_buffer"', nth=1)),
    ]
    f = wrap('<memory_region name="spare" size="0x1000" />')
    (maps,) = lenses.lenses(f.analysis, "mr", "spare")
    assert maps.title == "not mapped" and maps.targets == []


def test_cspace_use_counts_caps_in_the_root_cnode():
    f = wrap("""
        <protection_domain name="a"><program_image path="a.elf" /></protection_domain>
        <protection_domain name="b">
            <program_image path="b.elf" />
            <cspace><cap_tcb slot="1" pd="a" /><cap_sc slot="2" pd="a" /></cspace>
        </protection_domain>
    """)
    assert lenses.lenses(f.analysis, "pd", "b")[1].title == "slots 3/64"
    assert lenses.lenses(f.analysis, "pd", "a")[0].title == "2 references"


def test_gone_names_and_nested_pds():
    f = wrap("""
        <protection_domain name="parent">
            <program_image path="p.elf" />
            <protection_domain name="child" id="0"><program_image path="c.elf" /></protection_domain>
        </protection_domain>
    """)
    assert [p.name for p in lenses.places(f.analysis)] == ["parent", "child"]
    assert lenses.lenses(f.analysis, "pd", "nobody") is None
    assert lenses.lenses(f.analysis, "mr", "nothing") is None
    assert lenses.places(fixture("<system><protection_domain name=").analysis) == []
