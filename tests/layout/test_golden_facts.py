"""Every figure the editor shows agrees with what the upstream Microkit tool built.

For each golden system (`../shared/golden`, built by upstream's `microkit` for qemu_virt_aarch64,
debug and release): each PD's two CNodes slot by slot (cap type, the object it names, badge and
rights), each memory region's frames, and each PD's memory (kernel objects, page tables, CNodes,
IPC buffer and stack, program image, VM) as the layout computes them from the SDF and the
program images alone — and the hover, inlay hints and budget that show them.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

import pytest

from sdf_lsp.analysis import Analysis, analyse
from sdf_lsp.backend.spec import physical_size_bits
from sdf_lsp.files import SearchPathFiles
from sdf_lsp.ide import symbols
from sdf_lsp.ide.hover import hover
from sdf_lsp.layout.cspace import Slot
from sdf_lsp.model.lower import Context
from sdf_lsp.model.types import CapGrant, ProtectionDomain, Vcpu
from sdf_lsp.model.values import human_size
from sdf_lsp.target.load import resolve_target
from tests.conftest import SHARED

GOLDEN = SHARED / "golden"
CONFIGS = ("debug", "release")


def _systems() -> list[str]:
    root = GOLDEN / "systems"
    return sorted(p.name for p in root.iterdir() if (p / "capdl.json").is_file()) if root.is_dir() else []


CASES = [(s, c) for s in _systems() for c in CONFIGS]


@cache
def golden(system: str, config: str) -> tuple[Analysis, dict]:
    base = GOLDEN / "systems" / system
    target = resolve_target(sdk=str(GOLDEN / "sdk"), board="qemu_virt_aarch64", config=config)
    files = SearchPathFiles([str(GOLDEN / "elf" / system), str(base)])
    analysis = analyse((base / f"{system}.system").read_text(), Context(target), files)
    spec = json.loads(((base / "release" if config == "release" else base) / "capdl.json").read_text())
    return analysis, spec


class Spec:
    def __init__(self, spec: dict):
        self.objects = spec["objects"]
        self.by_name = {o["name"]: o["object"] for o in self.objects}

    def kind(self, name: str) -> str:
        obj = self.by_name[name]
        return obj if isinstance(obj, str) else next(iter(obj))

    def slots(self, name: str) -> dict[int, dict]:
        return {e["slot"]: e["cap"] for e in self.by_name[name]["CNode"]["slots"]}

    def name_of(self, index: int) -> str:
        return self.objects[index]["name"]


def _rights(cap_body: dict) -> str:
    r = cap_body.get("rights")
    if r is None:
        return ""
    return "".join(flag for flag, key in (("R", "read"), ("W", "write"), ("G", "grant")) if r[key])


def _expected_object(slot: Slot, pd: ProtectionDomain, root_table: str) -> str:
    """The name upstream gives the object a layout slot's cap names."""
    ref = slot.ref
    if isinstance(ref, CapGrant):
        return {
            "Tcb": f"tcb_{ref.pd}",
            "Sc": f"sched_context_{ref.pd}",
            "VSpace": f"{root_table}_{ref.pd}",
            "Notification": f"ntfn_{ref.pd}",
        }[ref.kind]
    if slot.cap == "Endpoint":
        return "ep_fault_monitor" if ref is None else f"ep_{ref.name}"
    if slot.cap == "Notification":
        return f"ntfn_{ref.name}"
    if slot.cap == "PageTable":
        return f"{root_table}_{ref.name}"
    if slot.cap == "Reply":
        return f"reply_{pd.name}"
    if slot.cap == "Tcb":
        return f"tcb_{pd.vm.name}_{ref.id}" if isinstance(ref, Vcpu) else f"tcb_{ref.name}"
    if slot.cap == "VCpu":
        return f"vcpu_{pd.vm.name}_{ref.id}"
    if slot.cap == "IrqHandler":
        return f"irq_{ref.number}_{pd.name}"
    if slot.cap == "ArmSmc":
        return "arm_smc"
    raise AssertionError(slot)


def _owned(spec: Spec, pd: ProtectionDomain) -> dict[str, list[str]]:
    """The objects upstream made for one PD, by what they are."""
    n = re.escape(pd.name)
    tables = re.compile(rf"(pgd|pud|pd|pt)_{n}_vaddr_0x[0-9a-f]+")
    out: dict[str, list[str]] = {"objects": [], "root": [], "tables": [], "cnodes": [], "ipc_stack": [], "image": []}
    for name in spec.by_name:
        if name in (
            f"tcb_{pd.name}",
            f"sched_context_{pd.name}",
            f"ntfn_{pd.name}",
            f"reply_{pd.name}",
            f"ep_{pd.name}",
        ):
            out["objects"].append(name)
        elif name in (f"cnode_{pd.name}", f"cnode_{pd.name}_root"):
            out["cnodes"].append(name)
        elif name in (f"pud_{pd.name}", f"pgd_{pd.name}"):
            out["root"].append(name)
        elif tables.fullmatch(name):
            out["tables"].append(name)
        elif name == f"frame_ipcbuf_{pd.name}" or re.fullmatch(rf"frame_{n}_stack_\d{{9}}", name):
            out["ipc_stack"].append(name)
        elif re.fullmatch(rf"frame_elf_{n}_\d{{9}}", name):
            out["image"].append(name)
    return out


def _vm_objects(spec: Spec, pd: ProtectionDomain) -> list[str]:
    vm = pd.vm
    if vm is None:
        return []
    n = re.escape(vm.name)
    pattern = re.compile(
        rf"((pud|pgd)_{n}|(pgd|pud|pd|pt)_{n}_vaddr_0x[0-9a-f]+|(tcb|sched_context|cnode|frame_ipcbuf|vcpu)_{n}_\d+)"
    )
    return [name for name in spec.by_name if pattern.fullmatch(name)]


@pytest.mark.parametrize(("system", "config"), CASES)
def test_cnodes_slot_by_slot(system, config):
    analysis, raw = golden(system, config)
    spec = Spec(raw)
    assert analysis.errors == [], [d.message for d in analysis.errors]
    for pd in analysis.system.pds:
        lay = analysis.layout.cspace(pd)
        root_table = "pud" if analysis.ctx.target.hypervisor else "pgd"
        slots = spec.slots(f"cnode_{pd.name}")
        assert sorted(slots) == [s.index for s in lay.microkit], pd.name
        for s in lay.microkit:
            kind, body = next(iter(slots[s.index].items()))
            expected_kind = "ArmIrqHandler" if s.cap == "IrqHandler" else s.cap
            assert kind == expected_kind, (pd.name, s.index)
            assert spec.name_of(body["object"]) == _expected_object(s, pd, root_table), (pd.name, s.index)
            assert body.get("badge", 0) == s.badge, (pd.name, s.index)
            assert _rights(body) == s.rights, (pd.name, s.index)
        root_slots = spec.slots(f"cnode_{pd.name}_root")
        filled = [s for s in lay.root if s.cap is not None]
        assert sorted(root_slots) == [s.index for s in filled], pd.name
        for s in filled[1:]:
            kind, body = next(iter(root_slots[s.index].items()))
            assert kind == s.cap and spec.name_of(body["object"]) == _expected_object(s, pd, root_table)
            assert _rights(body) == s.rights and body.get("badge", 0) == s.badge
        assert root_slots[0]["CNode"]["guard_size"] == lay.guard
        assert spec.by_name[f"cnode_{pd.name}_root"]["CNode"]["size_bits"] == lay.root_bits


@pytest.mark.parametrize(("system", "config"), CASES)
def test_memory_of_every_pd(system, config):
    analysis, raw = golden(system, config)
    spec = Spec(raw)
    target = analysis.ctx.target

    def size(names: list[str]) -> int:
        return sum(1 << physical_size_bits(spec.by_name[n], target) for n in names)

    for pd in analysis.system.pds:
        cost = analysis.layout.budget.by_pd[pd]
        owned = _owned(spec, pd)
        assert cost.exact, pd.name
        assert size(owned["objects"]) == cost.objects, pd.name
        assert len(owned["tables"]) == cost.page_tables, (pd.name, owned["tables"])
        assert size(owned["root"] + owned["tables"]) == cost.vspace, pd.name
        assert size(owned["cnodes"]) == cost.cnodes, pd.name
        assert size(owned["ipc_stack"]) == cost.ipc_and_stack, pd.name
        assert size(owned["image"]) == cost.image, pd.name
        assert size(_vm_objects(spec, pd)) == cost.vm, pd.name
        everything = [n for group in owned.values() for n in group] + _vm_objects(spec, pd)
        assert size(everything) == cost.total, pd.name


@pytest.mark.parametrize(("system", "config"), CASES)
def test_memory_regions_and_budget(system, config):
    analysis, raw = golden(system, config)
    spec = Spec(raw)
    s = analysis.system
    tool_placed = 0
    for mr in s.mrs:
        facts = s.region(mr)
        frames = [spec.by_name[f"frame_mr_{mr.name}_{i:09}"]["Frame"] for i in range(facts.page_count)]
        assert f"frame_mr_{mr.name}_{facts.page_count:09}" not in spec.by_name, mr.name
        assert {1 << f["size_bits"] for f in frames} <= {facts.page_size}, mr.name
        assert sum(1 << f["size_bits"] for f in frames) == facts.size, mr.name
        if mr.phys_addr is None:
            tool_placed += facts.size
    assert analysis.layout.budget.regions == tool_placed


@pytest.mark.parametrize(("system", "config"), CASES)
def test_what_the_editor_shows(system, config):
    """The PD hover, the CSpace inlay hints and the region size hints carry the layout's figures."""
    analysis, _ = golden(system, config)
    text = analysis.text
    for pd in analysis.system.pds:
        cost = analysis.layout.budget.by_pd[pd]
        lay = analysis.layout.cspace(pd)
        shown, _ = hover(analysis, pd.el.name_span.start + 1)
        assert f"memory: **{human_size(cost.total)}**" in shown, pd.name
        for s in lay.microkit:
            assert f"| {s.index} | `{s.cptr:#x}` | {s.rights or '–'} | {s.label.replace('|', chr(92) + '|')} |" in shown
        if cost.page_tables:
            assert f"VSpace and {cost.page_tables} page table" in shown
    hints = symbols.inlay_hints(analysis, 0, len(text))
    for mr in analysis.system.mrs:
        a = mr.el.attr("size")
        facts = analysis.system.region(mr)
        if a is not None and facts.size >= 1024:
            label = f"{human_size(facts.size)}, {facts.page_count} page{'s' if facts.page_count != 1 else ''}"
            assert any(h.offset == a.value_span.end + 1 and h.label == label for h in hints), mr.name


def test_cases_are_there():
    assert len(CASES) == 36, Path(GOLDEN).is_dir()
