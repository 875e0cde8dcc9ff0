"""The memory view: a table per address space, shared regions linked across them, and
the RAM budget bar."""

from __future__ import annotations

import pytest

from sdf_lsp.elf import ElfImage
from sdf_lsp.graph import render, to_dot
from sdf_lsp.graph.memory import MAP_ROWS
from sdf_lsp.model.types import ProtectionDomain
from sdf_lsp.model.values import human_size
from sdf_lsp.resolve.system import System
from sdf_lsp.target import default_target
from tests.conftest import SHARED
from tests.graph.svg import EXAMPLES, LARGEST, analyse_file, analyse_text, parse_svg, require_graphviz
from tests.graph.test_authority import EXTENDED, HALF_FINISHED

EXAMPLE_FILES = sorted(EXAMPLES.glob("*.system"))


def space_id(owner) -> str:
    return f"pd:{owner.name}" if isinstance(owner, ProtectionDomain) else f"vm:{owner.name}"


def sharing(system: System) -> dict[str, tuple[str, str]]:
    """share:<mr>:<k> -> (first user's space, k-th user's space), from the model alone."""
    out = {}
    for mr in system.mrs:
        users = system.uses(mr)
        for k, (owner, _) in enumerate(users[1:], 1):
            if owner is not users[0][0]:
                out[f"share:{mr.name}:{k}"] = (space_id(users[0][0]), space_id(owner))
    return out


def check_spaces(system: System, svg):
    for pd in system.pds:
        table = svg.nodes[f"pd:{pd.name}"]
        assert "address-space" in table.classes
        assert f"PD {pd.name}" in table.text and "IPC buffer" in table.text and "stack" in table.text
        if len(pd.maps) <= MAP_ROWS:
            for m in pd.maps:
                assert m.mr in table.text
        if pd.vm is not None:
            assert f"vm:{pd.vm.name}" in svg.nodes
    assert "RAM budget" in svg.nodes["budget"].text


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_examples(path):
    require_graphviz()
    analysis = analyse_file(path)
    svg = parse_svg(render(to_dot(analysis, "memory")))
    check_spaces(analysis.system, svg)
    for id_, ends in sharing(analysis.system).items():
        edge = svg.edges[id_]
        assert (edge.tail, edge.head) == ends, id_
    assert len(svg.with_class("share")) == len(sharing(analysis.system))
    assert "note:omitted" not in svg.nodes


def test_program_segments_from_the_search_paths():
    require_graphviz()
    elf_dir = SHARED / "golden" / "elf" / "hello"
    analysis = analyse_file(EXAMPLES / "hello__hello.system", search_paths=(str(elf_dir),))
    svg = parse_svg(render(to_dot(analysis, "memory")))
    table = svg.nodes["pd:hello"].text
    for i, seg in enumerate(ElfImage.from_bytes((elf_dir / "hello.elf").read_bytes()).segments):
        assert f"hello.elf segment {i}" in table and f"{seg.vaddr:#x}-{seg.end:#x}" in table
    without = parse_svg(render(to_dot(analyse_file(EXAMPLES / "hello__hello.system"), "memory")))
    assert "not found on the search paths" in without.nodes["pd:hello"].text


def test_extended_dialect_and_budget():
    require_graphviz()
    analysis = analyse_text(EXTENDED)
    svg = parse_svg(render(to_dot(analysis, "memory")))
    check_spaces(analysis.system, svg)
    shares = sharing(analysis.system)
    assert set(shares.values()) == {("pd:sched", "pd:worker"), ("pd:worker", "vm:guest")}
    for id_, ends in shares.items():
        assert (svg.edges[id_].tail, svg.edges[id_].head) == ends
    worker = svg.nodes["pd:worker"].text
    assert "0x2000000-0x2001000" in worker and "uncached" in worker and "r--" in worker
    budget = analysis.layout.budget
    ram = default_target().ram_bytes
    assert ram and budget is not None
    assert f"of {human_size(ram)}" in svg.nodes["budget"].text and "untypeds 1 MiB" in svg.nodes["budget"].text


def test_upstream_dialect_still_has_a_budget():
    require_graphviz()
    analysis = analyse_file(EXAMPLES / "ethernet__ethernet.system", dialect="microkit-2.3")
    assert analysis.layout.budget is not None  # computed in every dialect; only its checks are extensions
    assert not [d for d in analysis.diagnostics if d.code.startswith("UT")]
    svg = parse_svg(render(to_dot(analysis, "memory")))
    regions = sum(analysis.system.size_of(mr) for mr in analysis.system.mrs if mr.phys_addr is None)
    assert f"memory regions {human_size(regions)}" in svg.nodes["budget"].text
    assert "the target's RAM is unknown" in svg.nodes["budget"].text


def test_half_finished_document():
    require_graphviz()
    analysis = analyse_text(HALF_FINISHED.replace("<cspace>", '<map mr="nowhere" vaddr="0x1000000" /><cspace>'))
    svg = parse_svg(render(to_dot(analysis, "memory")))
    assert "nowhere (no such memory region)" in svg.nodes["pd:server"].text


@pytest.mark.slow
def test_largest_system_summarises_maps(largest):
    require_graphviz()
    system = largest.system
    svg = parse_svg(render(to_dot(largest, "memory")))
    check_spaces(system, svg)
    for pd in system.pds:
        rows = svg.nodes[f"pd:{pd.name}"].text
        assert "private maps" in rows or "maps shared with" in rows
    pairs = {frozenset(ends) for ends in sharing(system).values()}
    linked = {frozenset((e.tail, e.head)) for e in svg.with_class("share")}
    assert linked == pairs
    assert any("share-group" in e.classes for e in svg.edges.values())


@pytest.fixture(scope="module")
def largest():
    return analyse_file(LARGEST)
