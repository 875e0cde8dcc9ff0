"""Address spaces: pages mapped in a run are mapped as page by page, tables made in the same order."""

from __future__ import annotations

import pytest

from sdf_lsp.backend import spec as S
from sdf_lsp.backend.memory import AddressSpace, MapError
from sdf_lsp.backend.spec import Spec
from sdf_lsp.layout.paging import Paging
from sdf_lsp.target import builtin_target

TARGET = builtin_target("qemu_virt_aarch64", "release")
PAGE, LARGE = 0x1000, 0x20_0000


def _frames(spec: Spec, n: int, bits: int = 12) -> list[int]:
    return [spec.add(f"frame_{len(spec.objects)}", S.frame(bits, None)) for _ in range(n)]


def _caps(frames: list[int]) -> list[dict]:
    return [S.frame_cap(f, True, True, False, True) for f in frames]


@pytest.mark.parametrize(
    "runs",
    [
        [(0x20_0000, 3)],
        [(0x3F_E000, 5)],  # across two page tables
        [(0x7FFF_F000, 3)],  # across two level-2 tables as well
        [(0x40_0000, 600), (0x10_0000, 2)],  # a long run, then a run below it
    ],
)
def test_a_run_of_pages_is_mapped_as_page_by_page(runs):
    specs = []
    for by_run in (True, False):
        spec = Spec()
        space = AddressSpace(spec, Paging(TARGET), "pd")
        for vaddr, n in runs:
            caps = _caps(_frames(spec, n))
            if by_run:
                space.map_pages(caps, PAGE, vaddr)
            else:
                for i, c in enumerate(caps):
                    space.map_page(c, PAGE, vaddr + i * PAGE)
        specs.append(spec.objects)
    assert specs[0] == specs[1]  # the same tables, made in the same order, with the same slots


def test_large_pages_and_a_taken_slot():
    spec = Spec()
    space = AddressSpace(spec, Paging(TARGET), "pd")
    space.map_pages(_caps(_frames(spec, 2, 21)), LARGE, 0x4000_0000)
    pd_table = next(o for o in spec.objects if o["name"] == "pd_pd_vaddr_0x40000000")["object"]["PageTable"]
    assert [e["slot"] for e in pd_table["slots"]] == [0, 1]
    # a small page where a large one is: its slot in the level-2 table is taken
    with pytest.raises(MapError, match="slot 1 at level 2 .* is already filled"):
        space.map_pages(_caps(_frames(spec, 1)), PAGE, 0x4020_0000)
    # a run that runs into a mapped page stops there, the pages before it mapped
    space.map_pages(_caps(_frames(spec, 1)), PAGE, 0x1000_2000)
    with pytest.raises(MapError, match="slot 2 at level 3"):
        space.map_pages(_caps(_frames(spec, 4)), PAGE, 0x1000_0000)
    pt = next(o for o in spec.objects if o["name"].startswith("pt_pd"))["object"]["PageTable"]
    assert [e["slot"] for e in pt["slots"]] == [2, 0, 1]


def test_a_cap_in_two_tables_is_renumbered_once():
    spec = Spec()
    ep = spec.add("z_ep", "Endpoint")  # sorted after the CNodes (smaller)
    shared = S.endpoint_cap(ep, 7)
    a = spec.add("a_cnode", S.cnode(2))
    b = spec.add("b_cnode", S.cnode(2))
    spec.insert(a, 1, shared)
    spec.insert(b, 3, shared)
    new = spec.finish(TARGET)
    assert new == [2, 0, 1]
    for table in spec.objects[:2]:
        (entry,) = table["object"]["CNode"]["slots"]
        assert entry["cap"]["Endpoint"]["object"] == 2
