"""Where every object will be: the capDL initialiser's allocation, simulated.

`simulate` follows upstream `capdl/allocation.rs` (which follows the
initialiser): untypeds by address; objects with a fixed `paddr` (sorted first
in the spec) are made where they must be, and before each of them, and in
the rest of each normal untyped, the largest still-needed object that fits
the current alignment is made next.  The result gives each object its
physical address (the report's last section) or says what did not fit.

`place_regions` picks the addresses of memory regions the tool places itself
(MRs without `phys_addr` named by a `setvar region_paddr`): first fit, aligned
to the page size, in the normal memory the kernel hands over as untypeds, away
from every object with a fixed address.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field

from sdf_lsp.backend.spec import Spec, object_paddr, physical_size_bits
from sdf_lsp.image.boot import Untyped
from sdf_lsp.layout.cspace import merge_ranges
from sdf_lsp.target import Target


@dataclass
class Allocation:
    """The simulated allocation of a sorted spec."""

    paddrs: list[int | None]  # per object; None: not allocated (or needs no memory)
    shortfall: dict[int, int] = field(default_factory=dict)  # size bits -> objects that did not fit
    outside: list[tuple[int, int, int]] = field(default_factory=list)  # (object, start, end) with a paddr in no untyped

    @property
    def ok(self) -> bool:
        return not self.shortfall and not self.outside


def simulate(spec: Spec, untypeds: tuple[Untyped, ...], target: Target) -> Allocation:
    objects = spec.objects
    n = len(objects)
    sizes = [physical_size_bits(o["object"], target) for o in objects]
    paddrs: list[int | None] = [None] * n
    uts = sorted(untypeds, key=lambda u: u.paddr)
    fixed: list[int] = []  # the paddrs of the objects that have one (sorted first)
    while len(fixed) < n and (paddr := object_paddr(objects[len(fixed)]["object"])) is not None:
        fixed.append(paddr)
    first_free = len(fixed)

    # objects without a paddr, by size: [next index, end index) windows (the spec keeps equal sizes together)
    windows: dict[int, list[int]] = {}
    for i in range(first_free, n):
        b = sizes[i]
        if b == 0:
            continue
        w = windows.get(b)
        if w is None:
            windows[b] = [i, i + 1]
        else:
            w[1] = i + 1
    pending = sorted(windows, reverse=True)  # sizes that still have objects to make

    alloc = Allocation(paddrs)
    starts = [u.paddr for u in uts]
    for i, start in enumerate(fixed):
        end = start + (1 << sizes[i])
        k = bisect_right(starts, start) - 1
        if k < 0 or not (uts[k].paddr <= start and end <= uts[k].paddr + (1 << uts[k].size_bits)):
            alloc.outside.append((i, start, end))
    if alloc.outside:
        return alloc

    next_fixed = 0
    for ut in uts:
        ut_end = ut.paddr + (1 << ut.size_bits)
        cur = ut.paddr
        while True:
            fixed_at = fixed[next_fixed] if next_fixed < first_free else ut_end
            target_addr = min(ut_end, fixed_at)
            to_fixed = target_addr < ut_end
            if (ut.is_device or not pending) and cur < target_addr:
                cur = target_addr  # nothing to make on the way: the steps below would only walk there
            while cur < target_addr:
                gap = target_addr - cur
                # the largest alignment both `cur` and the gap allow (trailing zero bits; 64 for 0, as Rust's)
                max_bits = min((cur & -cur).bit_length() - 1 if cur else 64, (gap & -gap).bit_length() - 1)
                made = False
                if not ut.is_device:
                    for b in pending:
                        if b > max_bits:
                            continue
                        w = windows[b]
                        # objects of the largest size still to make follow each other at the same alignment
                        # until their window or the gap ends: make them at once
                        n = min(w[1] - w[0], gap >> b) if b == pending[0] else 1
                        paddrs[w[0] : w[0] + n] = range(cur, cur + (n << b), 1 << b)
                        w[0] += n
                        if w[0] == w[1]:
                            pending.remove(b)
                        cur += n << b
                        made = True
                        break
                if not made:
                    cur = cur + (1 << max_bits) if to_fixed else target_addr
            if not to_fixed:
                break
            paddrs[next_fixed] = cur
            cur += 1 << sizes[next_fixed]
            next_fixed += 1
    for b in pending:
        w = windows[b]
        alloc.shortfall[b] = w[1] - w[0]
    return alloc


class FreeMemory:
    """Disjoint free physical ranges (end exclusive), kept sorted and merged."""

    def __init__(self, ranges):
        self.ranges = merge_ranges(ranges)

    def remove(self, start: int, end: int) -> None:
        out = []
        for s, e in self.ranges:
            if e <= start or end <= s:
                out.append((s, e))
                continue
            if s < start:
                out.append((s, start))
            if end < e:
                out.append((end, e))
        self.ranges = out

    def allocate(self, size: int, align: int) -> int | None:
        """First fit of `size` bytes at an `align`-aligned address; taken out of the free ranges."""
        for s, e in self.ranges:
            base = -(-s // align) * align
            if base + size <= e:
                self.remove(base, base + size)
                return base
        return None

    @property
    def total(self) -> int:
        return sum(e - s for s, e in self.ranges)


def free_normal_memory(untypeds: tuple[Untyped, ...], spec: Spec, target: Target, moving: set[int]) -> FreeMemory:
    """Normal memory the kernel hands over, minus every object with a fixed address except those of
    the owners being (re)placed (`moving`: ids of their elements)."""
    free = FreeMemory((u.paddr, u.paddr + (1 << u.size_bits)) for u in untypeds if not u.is_device)
    for named, owner in zip(spec.objects, spec.owners, strict=True):
        paddr = object_paddr(named["object"])
        if paddr is None:
            break  # fixed-address objects come first
        if owner is None or id(owner.el) not in moving:
            free.remove(paddr, paddr + (1 << physical_size_bits(named["object"], target)))
    return free


def place_regions(requests: list[tuple[str, int, int]], free: FreeMemory) -> tuple[dict[str, int], list[str]]:
    """Addresses for (name, size, alignment) requests in order; and the names that did not fit."""
    placed: dict[str, int] = {}
    missing: list[str] = []
    for name, size, align in requests:
        base = free.allocate(size, align)
        if base is None:
            missing.append(name)
        else:
            placed[name] = base
    return placed, missing
