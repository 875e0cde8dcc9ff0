"""Page-table geometry of a target, and how many tables a set of mappings needs.

The build (`sdf_lsp.backend.memory`) creates the tables one by one as upstream's
`capdl/memory.rs` does; the memory budget counts them here with the same geometry, so
the figures the editor shows are the tables the build makes.
"""

from __future__ import annotations

from sdf_lsp.layout.ranges import span_count
from sdf_lsp.target import Target

LEVEL_NAMES = {
    "aarch64": ("pgd", "pud", "pd", "pt"),
    "riscv64": ("pgd", "pmd", "pte"),
    "x86_64": ("pml4", "pdpt", "pd", "pt"),
}


class PagingError(Exception):
    """A page size the target's page tables cannot map."""


class Paging:
    """The page-table geometry of a target."""

    def __init__(self, target: Target):
        self.arch = target.arch
        self.page_bits = target.object_bits("small_page")
        self.large_bits = target.object_bits("large_page")
        if target.arch == "riscv64":
            self.levels = target.riscv_pt_levels or 3
        else:
            self.levels = 4
        # aarch64 with a hypervisor and 40-bit PA: the stage-2 root is a level-1 table with 10 index bits
        self.root_level = 1 if target.arch == "aarch64" and target.hypervisor and target.arm_pa_size_bits == 40 else 0
        self.index_bits = [target.page_table_index_bits] * self.levels
        if self.root_level == 1:
            self.index_bits[1] = target.vspace_index_bits or 10
        self._shifts = [self.page_bits + sum(self.index_bits[level + 1 :]) for level in range(self.levels)]

    def level_name(self, level: int) -> str:
        return LEVEL_NAMES[self.arch][level]

    def leaf_level(self, page_bytes: int) -> int:
        if page_bytes == 1 << self.page_bits:
            return self.levels - 1
        if page_bytes == 1 << self.large_bits:
            return self.levels - 2
        raise PagingError(f"unsupported page size {page_bytes:#x}")

    def shift(self, level: int) -> int:
        """Address bit where the index of `level` starts."""
        return self._shifts[level]

    def index(self, level: int, addr: int) -> int:
        return (addr >> self._shifts[level]) & ((1 << self.index_bits[level]) - 1)

    def tables_below_root(self, mappings: list[tuple[int, int, int]]) -> int:
        """How many page tables below the root the mappings `(start, end, page bytes)` need.

        A page at leaf level L needs one table at each level between the root and L; a table at
        level k is shared by every page whose address agrees above `shift(k - 1)`."""
        per_level: dict[int, list[tuple[int, int]]] = {}
        for start, end, page in mappings:
            if end <= start:
                continue
            leaf = self.leaf_level(page)
            for level in range(self.root_level + 1, leaf + 1):
                s = self._shifts[level - 1]
                per_level.setdefault(level, []).append((start >> s, (end - 1) >> s))
        return sum(span_count(ranges) for ranges in per_level.values())
