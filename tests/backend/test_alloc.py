"""The simulated allocation and the placement of tool-placed regions, on small made-up specs."""

from __future__ import annotations

from sdf_lsp.backend import spec as S
from sdf_lsp.backend.alloc import FreeMemory, free_normal_memory, place_regions, simulate
from sdf_lsp.backend.spec import Owner, Spec
from sdf_lsp.image.boot import Untyped
from sdf_lsp.target import builtin_target

TARGET = builtin_target("qemu_virt_aarch64", "release")


def _spec(*objects) -> Spec:
    spec = Spec()
    for name, obj in objects:
        spec.add(name, obj)
    spec.finish(TARGET)
    return spec


def test_largest_object_that_fits_the_alignment_goes_first():
    spec = _spec(("frame_a", S.frame(12, None)), ("cnode_b", S.cnode(9)), ("ep_c", "Endpoint"))
    # untypeds of 4, 8 and 16 KiB: each takes the largest pending object its alignment allows
    alloc = simulate(
        spec,
        (Untyped(100, 0x1000, 12, False), Untyped(101, 0x2000, 13, False), Untyped(102, 0x4000, 14, False)),
        TARGET,
    )
    names = [o["name"] for o in spec.objects]
    assert dict(zip(names, alloc.paddrs, strict=True)) == {"cnode_b": 0x4000, "frame_a": 0x1000, "ep_c": 0x2000}
    assert alloc.ok


def test_objects_with_a_paddr_are_made_where_they_must_be():
    spec = _spec(("frame_fixed", S.frame(12, 0x3000)), ("frame_x", S.frame(12, None)), ("frame_y", S.frame(12, None)))
    alloc = simulate(spec, (Untyped(7, 0x0, 16, False),), TARGET)
    assert dict(zip((o["name"] for o in spec.objects), alloc.paddrs, strict=True)) == {
        "frame_fixed": 0x3000,
        "frame_x": 0x0,
        "frame_y": 0x1000,
    }


def test_shortfall_and_paddrs_outside_memory():
    spec = _spec(("frame_a", S.frame(12, None)), ("frame_b", S.frame(12, None)), ("frame_c", S.frame(12, None)))
    alloc = simulate(spec, (Untyped(1, 0x0, 13, False),), TARGET)
    assert alloc.shortfall == {12: 1} and not alloc.ok
    spec = _spec(("frame_dev", S.frame(12, 0x9000_0000)))
    alloc = simulate(spec, (Untyped(1, 0x0, 20, False), Untyped(2, 0x1000_0000, 12, True)), TARGET)
    assert alloc.outside == [(0, 0x9000_0000, 0x9000_1000)]


def test_device_untypeds_hold_only_fixed_objects():
    spec = _spec(("frame_dev", S.frame(12, 0x1000)), ("frame_ram", S.frame(12, None)))
    alloc = simulate(spec, (Untyped(1, 0x0, 16, True), Untyped(2, 0x10000, 12, False)), TARGET)
    assert alloc.paddrs == [0x1000, 0x10000]


def test_placement_is_aligned_first_fit_around_fixed_objects():
    free = FreeMemory([(0x1000, 0x4000), (0x4000, 0x10000), (0x20_0000, 0x80_0000)])
    assert free.ranges == [(0x1000, 0x10000), (0x20_0000, 0x80_0000)]
    placed, missing = place_regions(
        [("small", 0x2000, 0x1000), ("large", 0x40_0000, 0x20_0000), ("huge", 1 << 30, 0x1000)], free
    )
    assert placed == {"small": 0x1000, "large": 0x20_0000} and missing == ["huge"]
    assert free.ranges == [(0x3000, 0x10000), (0x60_0000, 0x80_0000)]


def test_free_memory_leaves_out_fixed_objects_but_those_being_moved():
    spec = Spec()
    region = object()
    spec.owner = Owner("memory region 'moving'", region)
    spec.add("frame_mr_moving_000000000", S.frame(12, 0x2000))
    spec.owner = Owner("memory region 'fixed'", object())
    spec.add("frame_mr_fixed_000000000", S.frame(12, 0x5000))
    spec.finish(TARGET)
    free = free_normal_memory((Untyped(1, 0x0, 16, False), Untyped(2, 0x10000, 12, True)), spec, TARGET, {id(region)})
    assert free.ranges == [(0x0, 0x5000), (0x6000, 0x10000)]


def test_runs_of_one_size_stop_at_the_next_fixed_object_and_go_on_after_it():
    frames = [(f"frame_{i}", S.frame(12, None)) for i in range(8)]
    spec = _spec(("frame_fixed", S.frame(12, 0x6000)), ("cnode", S.cnode(8)), *frames)
    alloc = simulate(spec, (Untyped(1, 0x0, 16, False),), TARGET)
    placed = dict(zip((o["name"] for o in spec.objects), alloc.paddrs, strict=True))
    # the 8 KiB CNode first, then the frames up to the fixed one, the rest after it
    assert placed == {
        "frame_fixed": 0x6000,
        "cnode": 0x0,
        **{f"frame_{i}": 0x2000 + i * 0x1000 for i in range(4)},
        **{f"frame_{i}": 0x7000 + (i - 4) * 0x1000 for i in range(4, 8)},
    }
    assert alloc.ok
