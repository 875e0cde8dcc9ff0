"""Step three of the analysis: the layout — every PD's CSpace, slot by slot, and the memory budget.

Computed in every dialect from the resolved system alone; checks, hover, inlay hints, completion,
the graph and the build read it and compute none of it again.
"""

from __future__ import annotations

from dataclasses import dataclass

from sdf_lsp.layout.cspace import CSpaceLayout, system_cspaces
from sdf_lsp.layout.memory import MemoryBudget, memory_budget
from sdf_lsp.memo import Memo
from sdf_lsp.model.types import ProtectionDomain
from sdf_lsp.resolve.system import System
from sdf_lsp.target import Target


@dataclass
class Layout:
    """Derived facts of one analysis."""

    cspaces: dict[ProtectionDomain, CSpaceLayout]
    budget: MemoryBudget

    def cspace(self, pd: object) -> CSpaceLayout | None:
        return self.cspaces.get(pd) if isinstance(pd, ProtectionDomain) else None


def compute_layout(system: System, target: Target, memo: Memo | None = None) -> Layout:
    cspaces = system_cspaces(system, target.arch, target.config)
    return Layout(cspaces, memory_budget(system, target, cspaces, memo))
