"""The authority view: every PD, channel, cap grant, parent-child and fault edge is drawn
with the right ends, isolation-breaking grants stand out, and a half-finished document
still gives a picture."""

from __future__ import annotations

import re

import pytest

from sdf_lsp.graph import VIEWS, render, to_dot
from sdf_lsp.graph.authority import MAX_EDGES, MAX_PDS
from sdf_lsp.resolve.system import System
from tests.graph.svg import EXAMPLES, LARGEST, analyse_file, analyse_text, inside, parse_svg, require_graphviz

EXAMPLE_FILES = sorted(EXAMPLES.glob("*.system"))

EXTENDED = """<?xml version="1.0" encoding="UTF-8"?>
<system>
    <memory_region name="shared" size="0x1000" />
    <memory_region name="guest_ram" size="0x200000" page_size="0x200000" />
    <untyped name="heap" size="0x100000" />
    <cnode name="scratch" size_bits="4" />
    <cnode name="ut_all" size_bits="9" post_capdl_untypeds="true" />
    <memory_region name="ut_info" size="0x1000" prefill_bootinfo="post_capdl_untypeds" />
    <protection_domain name="sched" priority="200">
        <program_image path="sched.elf" />
        <map mr="shared" vaddr="0x2000000" perms="rw" />
        <map mr="ut_info" vaddr="0x3000000" perms="r" />
        <irq irq="33" id="10" />
        <cspace size_bits="7">
            <cap_tcb slot="1" pd="worker" />
            <cap_sc slot="2" pd="worker" />
            <cap_vspace slot="3" pd="worker" />
            <cap_notification slot="5" pd="worker" badge="0x1" />
            <cap_untyped slot="6" untyped="heap" />
            <cap_cnode slot="7" cnode_name="scratch" />
            <cap_cnode slot="8" cnode_name="ut_all" />
            <cap_tcb slot="9" pd="sched" />
        </cspace>
        <protection_domain name="kid" priority="150" id="1">
            <program_image path="kid.elf" />
        </protection_domain>
    </protection_domain>
    <protection_domain name="worker" priority="100" fault_handler="sched" fault_id="3" passive="true">
        <program_image path="worker.elf" />
        <map mr="shared" vaddr="0x2000000" perms="r" cached="false" />
        <map mr="guest_ram" vaddr="0x40000000" perms="rw" />
        <virtual_machine name="guest">
            <vcpu id="0" />
            <map mr="guest_ram" vaddr="0x40000000" perms="rwx" />
        </virtual_machine>
    </protection_domain>
    <channel>
        <end pd="sched" id="0" />
        <end pd="worker" id="0" pp="true" />
    </channel>
</system>
"""

HALF_FINISHED = """<system>
    <protection_domain name="server" priority="100">
        <program_image path="server.elf" />
        <cspace>
            <cap_tcb slot="1" pd="nobody" />
            <cap_untyped slot="2" untyped="nothing" />
        </cspace>
    </protection_domain>
    <protection_domain name="client" priority="50" fault_handler="phantom" fault_id="1">
        <program_image path="client.elf" />
    </protection_domain>
    <channel>
        <end pd="client" id="0" />
        <end pd="ghost" id="0" />
    </channel>
    <channel>
        <end pd="server" id="1" />
    </channel>
    <channel>
        <end pd="server" id="2" />
        <end pd="client" id="
"""


def expected_edges(system: System) -> dict[str, tuple[str, str]]:
    """Edge id -> (tail id, head id), from the model alone."""
    out = {}
    for i, ch in enumerate(system.channels):
        if len(ch.ends) == 2:
            out[f"channel:{i}"] = (f"pd:{ch.ends[0].pd}", f"pd:{ch.ends[1].pd}")
    for pd in system.pds:
        for child in pd.children:
            out[f"child:{child.name}"] = (f"pd:{pd.name}", f"pd:{child.name}")
        if pd.fault_handler:
            out[f"fault:{pd.name}"] = (f"pd:{pd.name}", f"pd:{pd.fault_handler}")
        for cap in pd.cspace.caps if pd.cspace else ():
            obj = {"Untyped": f"untyped:{cap.untyped}", "CNode": f"cnode:{cap.cnode}", "Smc": "smc"}.get(
                cap.kind, f"pd:{cap.pd}"
            )
            out[f"cap:{pd.name}:{cap.slot}"] = (f"pd:{pd.name}", obj)
    return out


def check_complete(system: System, svg):
    for pd in system.pds:
        assert f"pd:{pd.name}" in svg.nodes
        assert pd.name in svg.nodes[f"pd:{pd.name}"].text
        assert f"priority {pd.priority}" in svg.nodes[f"pd:{pd.name}"].text
        if len(pd.irqs) <= 4:
            for irq in pd.irqs:
                edge = svg.edges[f"irq-edge:{pd.name}:{irq.id}"]
                assert (edge.tail, edge.head) == (f"irq:{pd.name}:{irq.id}", f"pd:{pd.name}")
    for id_, ends in expected_edges(system).items():
        edge = svg.edges[id_]
        assert (edge.tail, edge.head) == ends, id_
    assert "legend" in svg.nodes
    assert "note:omitted" not in svg.nodes


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_examples(path):
    require_graphviz()
    analysis = analyse_file(path)
    check_complete(analysis.system, parse_svg(render(to_dot(analysis, "authority"))))


def test_example_edges_and_styles():
    require_graphviz()
    svg = parse_svg(render(to_dot(analyse_file(EXAMPLES / "cap_sharing__cap_sharing.system"), "authority")))
    assert {"cap", "cap-tcb", "breaks-isolation"} <= svg.edges["cap:primary:2"].classes  # another PD's TCB
    assert "breaks-isolation" not in svg.edges["cap:primary:1"].classes  # an SC
    assert "breaks-isolation" not in svg.edges["cap:primary:4"].classes  # its own TCB
    assert {"0"} <= set(svg.edges["channel:0"].text.split())
    hierarchy = parse_svg(render(to_dot(analyse_file(EXAMPLES / "hierarchy__hierarchy.system"), "authority")))
    assert hierarchy.with_class("child")
    for edge in hierarchy.with_class("child"):
        assert inside(hierarchy.nodes[edge.head], hierarchy.clusters[f"pd-cluster:{edge.tail[3:]}"])


def test_extended_dialect():
    require_graphviz()
    analysis = analyse_text(EXTENDED)
    svg = parse_svg(render(to_dot(analysis, "authority")))
    check_complete(analysis.system, svg)
    breaking = {e.id for e in svg.with_class("breaks-isolation")}
    assert breaking == {"cap:sched:1", "cap:sched:3", "cap:sched:6", "cap:sched:8"}
    assert "cap-cnode" in svg.edges["cap:sched:7"].classes
    assert {"fault"} <= svg.edges["fault:worker"].classes and "id 3" in svg.edges["fault:worker"].text
    assert sorted(svg.edges["channel:0"].classes - {"edge"}) == ["channel", "pp"]
    assert "passive" in svg.nodes["pd:worker"].classes and "passive" in svg.nodes["pd:worker"].text
    assert "post-capdl-untypeds" in svg.nodes["cnode:ut_all"].classes
    assert (svg.edges["child:kid"].tail, svg.edges["child:kid"].head) == ("pd:sched", "pd:kid")
    assert inside(svg.nodes["pd:kid"], svg.clusters["pd-cluster:sched"])
    assert inside(svg.nodes["vm:guest"], svg.clusters["pd-cluster:worker"])
    assert (svg.edges["irq-edge:sched:10"].tail, svg.edges["irq-edge:sched:10"].head) == ("irq:sched:10", "pd:sched")


def test_half_finished_document_draws_placeholders():
    require_graphviz()
    analysis = analyse_text(HALF_FINISHED)
    assert analysis.errors
    svg = parse_svg(render(to_dot(analysis, "authority")))
    assert {"pd:server", "pd:client"} <= svg.nodes.keys()
    for id_, ends in {
        "cap:server:1": ("pd:server", "missing:pd:nobody"),
        "cap:server:2": ("pd:server", "missing:untyped:nothing"),
        "fault:client": ("pd:client", "missing:pd:phantom"),
        "channel:0": ("pd:client", "missing:pd:ghost"),
        "channel:1": ("pd:server", "missing:end:1"),
    }.items():
        edge = svg.edges[id_]
        assert (edge.tail, edge.head) == ends, id_
        assert "placeholder" in svg.nodes[ends[1]].classes
    assert "ghost" in svg.nodes["missing:pd:ghost"].text


@pytest.mark.slow
def test_largest_system_is_capped_with_a_note(largest):
    require_graphviz()
    system = largest.system
    svg = parse_svg(render(to_dot(largest, "authority")))
    for pd in system.pds:
        assert f"pd:{pd.name}" in svg.nodes
    expected = expected_edges(system)
    drawn = [e for e in svg.edges.values() if "channel" in e.classes]
    for edge in drawn:
        assert (edge.tail, edge.head) == expected[edge.id]
    assert len(svg.edges) <= MAX_EDGES
    left_out, total = map(int, re.search(r"(\d+) of (\d+) channels not drawn", svg.nodes["note:omitted"].text).groups())
    assert total == len(system.channels) and len(drawn) + left_out == total


@pytest.fixture(scope="module")
def largest():
    return analyse_file(LARGEST)


def test_names_that_need_escaping():
    require_graphviz()
    text = (
        '<system><protection_domain name="a&quot;b\\n&lt;c&gt; &amp;d" priority="1"><program_image path="x" />'
        "</protection_domain></system>"
    )
    svg = parse_svg(render(to_dot(analyse_text(text), "authority")))
    assert 'pd:a"b\\n<c> &d' in svg.nodes
    assert 'a"b\\n<c> &d' in svg.nodes['pd:a"b\\n<c> &d'].text


def test_too_many_pds_are_noted():
    pds = "".join(
        f'<protection_domain name="p{i}"><program_image path="x" /></protection_domain>' for i in range(MAX_PDS + 2)
    )
    analysis = analyse_text(f"<system>{pds}</system>")
    for view in VIEWS:
        assert f"2 of {MAX_PDS + 2} PDs not drawn" in to_dot(analysis, view)
