"""Half-open integer ranges: merging, first fit and overlap sweeps (slots, addresses, ports)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


def merge_ranges(intervals: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Half-open ranges sorted, with overlapping and touching ones joined."""
    out: list[list[int]] = []
    for s, e in sorted(intervals):
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return [(s, e) for s, e in out]


def first_fit(used: list[tuple[int, int]], count: int, lowest: int = 1) -> int:
    """Lowest start >= `lowest` of `count` consecutive values outside `used` (ranges)."""
    start = lowest
    for s, e in merge_ranges(used):
        if e <= start:
            continue
        if s >= start + count:
            break
        start = max(start, e)
    return start


def span_count(intervals: Iterable[tuple[int, int]]) -> int:
    """How many integers the closed ranges [s, e] cover together."""
    total = 0
    cur_s = cur_e = None
    for s, e in sorted(intervals):
        if cur_e is not None and s <= cur_e + 1:
            cur_e = max(cur_e, e)
            continue
        if cur_e is not None and cur_s is not None:
            total += cur_e - cur_s + 1
        cur_s, cur_e = s, e
    if cur_e is not None and cur_s is not None:
        total += cur_e - cur_s + 1
    return total


class Item(Generic[T]):
    """A half-open range [start, end) of one thing, in the order things were declared."""

    __slots__ = ("end", "order", "start", "value")

    def __init__(self, start: int, end: int, order: int, value: T):
        self.start = start
        self.end = end
        self.order = order
        self.value = value


def overlaps(items: list[Item[T]], skip_empty: bool = True) -> Iterator[tuple[Item[T], Item[T]]]:
    """(later, earlier) for each range that overlaps one declared before it, in one sweep.

    Each range is compared with the one reaching furthest among those starting before it, so every
    overlapping range is reported once (upstream reports the first pair; reporting each overlapping
    range once, next to the range it hits, is what a user can act on). `skip_empty`: empty ranges
    overlap nothing."""
    ordered = sorted(items, key=lambda r: (r.start, r.order))
    best: Item[T] | None = None
    for r in ordered:
        if best is not None and r.start < best.end and (not skip_empty or r.end > r.start):
            yield (r, best) if r.order > best.order else (best, r)
        if best is None or r.end > best.end:
            best = r
