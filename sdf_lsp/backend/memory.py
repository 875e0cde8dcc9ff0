"""Address spaces: VSpaces (and x86 EPT guest spaces) with lazily created page tables.

As upstream `capdl/memory.rs`: mapping a page walks from the root down to the
level that holds pages of its size, creating each missing intermediate table
(named after the level, the space and the start of the range one of its slots
covers) and inserting its cap into the parent in the order the tables are
needed.  A slot that is already filled is an error.
"""

from __future__ import annotations

from sdf_lsp.backend import spec as S
from sdf_lsp.backend.spec import Spec
from sdf_lsp.layout.paging import Paging, PagingError


class MapError(Exception):
    """A page cannot be mapped (its slot is taken)."""


class AddressSpace:
    """One VSpace: its root table and the tables below it, by (level, table start)."""

    def __init__(self, spec: Spec, paging: Paging, name: str, x86_ept: bool = False):
        self.spec = spec
        self.paging = paging
        self.name = name
        self.x86_ept = x86_ept
        self.root = spec.add(
            f"{paging.level_name(paging.root_level)}_{name}", S.page_table(paging.root_level, True, x86_ept)
        )
        # per table object: slot -> child table object (intermediate levels only)
        self._children: dict[int, dict[int, int]] = {self.root: {}}
        self._filled: dict[int, set[int]] = {self.root: set()}

    def map_page(self, frame_cap: dict, page_bytes: int, vaddr: int) -> None:
        self.map_pages([frame_cap], page_bytes, vaddr)

    def map_pages(self, frame_caps: list[dict], page_bytes: int, vaddr: int) -> None:
        """Map the frames of `frame_caps` one after the other from `vaddr` (pages of `page_bytes`)."""
        p = self.paging
        try:
            leaf = p.leaf_level(page_bytes)
        except PagingError as err:
            raise MapError(str(err)) from None
        shift, mask = p.shift(leaf), (1 << p.index_bits[leaf]) - 1
        covered = shift + p.index_bits[leaf]  # the address bits one table at the leaf level covers
        table_range = None
        for frame_cap in frame_caps:
            if vaddr >> covered != table_range:
                table_range = vaddr >> covered
                table = self._table_for(leaf, vaddr)
                filled, slots = self._filled[table], self.spec.body(table)["slots"]
            slot = (vaddr >> shift) & mask
            if slot in filled:
                self._check_free(table, leaf, slot)
            filled.add(slot)
            slots.append(S.cte(slot, frame_cap))
            vaddr += page_bytes

    def _table_for(self, leaf: int, vaddr: int) -> int:
        """The table at level `leaf` that holds `vaddr`, making the tables on the way down."""
        p = self.paging
        table = self.root
        for level in range(p.root_level, leaf):
            slot = p.index(level, vaddr)
            child = self._children[table].get(slot)
            if child is None:
                self._check_free(table, level, slot)
                start = vaddr >> p.shift(level + 1) << p.shift(level + 1)
                child = self.spec.add(
                    f"{p.level_name(level + 1)}_{self.name}_vaddr_{start:#x}",
                    S.page_table(level + 1, False, self.x86_ept),
                )
                self._children[table][slot] = child
                self._children[child] = {}
                self._filled[child] = set()
                self._fill(table, slot, S.cap("PageTable", child))
            table = child
        return table

    def _check_free(self, table: int, level: int, slot: int) -> None:
        if slot in self._filled[table]:
            raise MapError(
                f"address-space '{self.name}': slot {slot} at level {level} in object "
                f"'{self.spec.objects[table]['name']}' is already filled"
            )

    def _fill(self, table: int, slot: int, c: dict) -> None:
        self._filled[table].add(slot)
        self.spec.insert(table, slot, c)
