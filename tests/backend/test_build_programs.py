"""Builds with real program images: the project's own C programs compiled for each architecture.

Every Microkit example system is built for a realistic board of its
architecture (qemu_virt_aarch64, x86_64_generic), the architecture-neutral
ones also for qemu_virt_riscv64, and the extended-dialect example for
qemu_virt_aarch64.  The outputs are then checked against the model and the
analysis' CSpace layout: the objects of `capdl.json`, every CNode slot, the
symbols patched into the ELFs in OUT/elf (read back with pyelftools), and
where the simulated allocation put every object.
"""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from sdf_lsp.analysis import Analysis, analyse
from sdf_lsp.backend import BuildResult, build
from sdf_lsp.backend import errors as E
from sdf_lsp.files import SearchPathFiles, find_on_paths
from sdf_lsp.image import rkyv
from sdf_lsp.image.initialiser import PT_SEL4_CAPDL_SPEC
from sdf_lsp.model.lower import Context
from sdf_lsp.model.types import IoPort, Irq, ProtectionDomain, Vcpu
from sdf_lsp.target import MemRange, SdkFiles, Target, builtin_target
from sdf_lsp.target.boards import devices_outside
from tests.backend.golden import typed_segment
from tests.backend.programs import Programs, setvar_symbols
from tests.conftest import ROOT, SHARED, require

pytestmark = pytest.mark.e2e  # compiles the programs with the cross compilers

EXAMPLES = SHARED / "corpus" / "microkit-examples"
REAL = SHARED / "corpus" / "real"
EXTENDED = ROOT / "examples" / "extended" / "extended.system"
GOLDEN_FACTS = SHARED / "golden" / "sdk" / "board" / "qemu_virt_aarch64" / "release"
ARCH_BOARDS = {"aarch64": "qemu_virt_aarch64", "riscv64": "qemu_virt_riscv64", "x86_64": "x86_64_generic"}
EM = {"aarch64": 183, "riscv64": 243, "x86_64": 62}
MACHINE_NAMES = {"aarch64": "EM_AARCH64", "riscv64": "EM_RISCV", "x86_64": "EM_X86_64"}
WORD = 8


def _examples() -> list[dict]:
    path = EXAMPLES / "expected.json"
    return json.loads(path.read_text()) if path.is_file() else []


def _arch_of(config: str) -> str:
    return json.loads((EXAMPLES / "targets" / f"{config}.json").read_text())["arch"]


EXAMPLE_CASES = {case["file"]: case for case in _examples()}
#: What each example does when built for its own architecture, when it does not build.
REFUSED = {
    # the capDL initialiser this build packs has no IOMMU objects (x86_64_generic has an IOMMU)
    "x86_64_iommu_dma_test__x86_64_iommu_dma_test.system": (E.UNSUPPORTED, "io_address_space cannot be built"),
}
#: Examples that are not tied to an architecture, built for qemu_virt_riscv64 as well.
RISCV64_EXAMPLES = [
    "bootinfo",
    "cap_sharing",
    "capfault",
    "domains",
    "ethernet",
    "hello",
    "hierarchy",
    "mr_prefill",
    "passive_server",
    "rust",
    "setvar",
    "simplemrs",
    "timer",
]
#: A virtual machine monitor for x86_64 with VT-x (libvmm).
X86_VMM = REAL / "au-ts__libvmm" / "examples__simple__board__x86_64_generic_vtx__simple.system"


def _example(name: str) -> Path:
    return EXAMPLES / f"{name}__{name}.system"


def _builds_for_own_arch() -> list[tuple[Path, str]]:
    out = []
    for file, case in sorted(EXAMPLE_CASES.items()):
        if case["expect"] == "ok" and file not in REFUSED:
            out.append((EXAMPLES / file, ARCH_BOARDS[_arch_of(case["config"])]))
    return out


PLACED = (
    [case for case in _builds_for_own_arch() if case[1] != "x86_64_generic"]
    + [(_example(name), "qemu_virt_riscv64") for name in RISCV64_EXAMPLES]
    + [(EXTENDED, "qemu_virt_aarch64")]
)
UNPLACED = [case for case in _builds_for_own_arch() if case[1] == "x86_64_generic"] + [(X86_VMM, "x86_64_generic_vtx")]
ALL_BUILT = PLACED + UNPLACED


def _case_id(case) -> str:
    path, board = case
    return f"{path.stem.rpartition('__')[2]}-{board}"


# ----------------------------------------------------------------------------------- targets


def _riscv64_sdk() -> dict:
    """Kernel and loader facts for qemu_virt_riscv64: a kernel at the start of RAM, 2 MiB with its
    boot code, and a loader high in RAM."""
    kernel_paddr, kernel_vaddr = 0x8020_0000, 0xFFFF_FFFF_8020_0000
    loader = 0xB000_0000
    tables = ("boot_lvl1_pt", "boot_lvl2_pt", "boot_lvl2_pt_elf")
    return {
        "kernel_facts": {
            "elf_header": {"entry": kernel_vaddr, "class": 64, "machine": EM["riscv64"]},
            "pt_load_segments": [{"p_paddr": kernel_paddr, "p_vaddr": kernel_vaddr, "p_memsz": 0x12_0000}],
            "symbols": {
                "ki_end": {"value": kernel_vaddr + 0x20_0000},
                "ki_boot_end": {"value": kernel_vaddr + 0x1_8000},
            },
        },
        "loader_facts": {
            "elf_header": {"entry": loader, "class": 64},
            "first_pt_load": {"p_vaddr": loader, "p_memsz": 0x8000},
            "symbols": {
                "_text": {"value": loader, "size": 0},
                **{name: {"value": loader + 0x4000 + 0x1000 * i, "size": 0x1000} for i, name in enumerate(tables)},
            },
        },
    }


def board_target(board: str, programs: Programs) -> Target:
    """The built-in board with an SDK made of the compiled monitor and initialiser and the kernel and
    loader facts (the real ones of the golden SDK on qemu_virt_aarch64)."""
    target = builtin_target(board, "release")
    arch = target.arch
    binaries = {"monitor_elf": str(programs.monitor(arch)), "initialiser_elf": str(programs.initialiser(arch))}
    if arch == "aarch64":
        require(GOLDEN_FACTS.is_dir(), f"{GOLDEN_FACTS} is missing")
        binaries["kernel_facts"] = json.loads((GOLDEN_FACTS / "kernel-facts.json").read_text())
        binaries["loader_facts"] = json.loads((GOLDEN_FACTS / "loader-facts.json").read_text())
    elif arch == "riscv64":
        binaries.update(_riscv64_sdk())
        # everything but RAM and the interrupt controller the kernel maps for itself (as seL4's platform_gen.json)
        plic = MemRange(0x0C00_0000, 0x1000_0000)
        target = replace(
            target, device_regions=devices_outside(target.normal_regions, [plic], target.paddr_user_device_top)
        )
    return replace(target, sdk=SdkFiles(**binaries))


# ------------------------------------------------------------------------------------ builds


@dataclass
class Built:
    """One system analysed and built into `out`."""

    sdf: Path
    target: Target
    analysis: Analysis
    search: list[str]
    result: BuildResult

    @property
    def out(self) -> Path:
        return Path(self.result.out_dir)

    @property
    def system(self):
        return self.analysis.system

    @cached_property
    def spec(self) -> dict:
        return json.loads((self.out / "capdl.json").read_text())

    @cached_property
    def objects(self) -> list[dict]:
        return self.spec["objects"]

    @cached_property
    def ix(self) -> dict[str, int]:
        ix = {o["name"]: i for i, o in enumerate(self.objects)}
        assert len(ix) == len(self.objects), "object names are not unique"
        return ix

    @cached_property
    def report(self) -> str:
        return (self.out / "report.txt").read_text()

    def object(self, name: str) -> dict:
        return self.objects[self.ix[name]]["object"]

    def slots(self, name: str) -> dict[int, dict]:
        body = next(iter(self.object(name).values()))
        return {e["slot"]: e["cap"] for e in body["slots"]}


class Builds:
    """Each (system, board) analysed and built once per module."""

    def __init__(self, programs: Programs, root: Path):
        self.programs = programs
        self.root = root
        self.targets: dict[str, Target] = {}
        self.done: dict[tuple[Path, str], Built] = {}

    def target(self, board: str) -> Target:
        if board not in self.targets:
            self.targets[board] = board_target(board, self.programs)
        return self.targets[board]

    def get(self, sdf: Path, board: str) -> Built:
        key = (sdf, board)
        if key not in self.done:
            require(sdf.is_file(), f"{sdf} is missing")
            target = self.target(board)
            work = self.root / f"{sdf.stem}-{board}-{len(self.done)}"
            elf_dir = work / "elf"
            elf_dir.mkdir(parents=True)
            search = [str(elf_dir), str(sdf.parent)]
            files = SearchPathFiles(search)
            analysis = analyse(sdf.read_text(), Context(target, "extended", True), files)
            if analysis.system is not None and not analysis.errors:
                self.programs.search_path(analysis, target.arch, elf_dir)
            self.done[key] = Built(sdf, target, analysis, search, build(analysis, target, files, str(work / "out")))
        return self.done[key]


@pytest.fixture(scope="session")
def programs(tmp_path_factory) -> Programs:
    return Programs(tmp_path_factory.mktemp("programs"))


@pytest.fixture(scope="module")
def builds(programs, tmp_path_factory) -> Builds:
    return Builds(programs, tmp_path_factory.mktemp("builds"))


@pytest.fixture(params=PLACED, ids=_case_id)
def placed(request, builds) -> Built:
    b = builds.get(*request.param)
    assert b.result.ok, [e.message for e in b.result.errors]
    return b


@pytest.fixture(params=ALL_BUILT, ids=_case_id)
def built(request, builds) -> Built:
    b = builds.get(*request.param)
    assert b.result.ok, [e.message for e in b.result.errors]
    return b


# ------------------------------------------------------------------------- ELF reading


def _elf(path: Path) -> ELFFile:
    return ELFFile(open(path, "rb"))  # closed through the returned file's stream


def read_symbol(path: Path, name: str, in_file: int | None = None) -> bytes:
    """The bytes of symbol `name` in the ELF at `path`, through its program headers.

    The first `in_file` bytes (default: all) must be in the file, inside a segment's file
    data, as patched bytes must be even where the symbol is in .bss; the rest may be in the
    zero-fill part of the segment and read as zeros.
    """
    elf = _elf(path)
    try:
        (sym,) = elf.get_section_by_name(".symtab").get_symbol_by_name(name)
        addr, size = sym["st_value"], sym["st_size"]
        for seg in elf.iter_segments():
            if seg["p_type"] != "PT_LOAD" or not seg["p_vaddr"] <= addr < seg["p_vaddr"] + seg["p_memsz"]:
                continue
            start = addr - seg["p_vaddr"]
            data = seg.data()
            needed = size if in_file is None else in_file
            if needed:
                assert start + needed <= seg["p_filesz"], f"symbol '{name}' of {path.name} is not in the file"
            return (data + bytes(seg["p_memsz"] - len(data)))[start : start + size]
        raise AssertionError(f"symbol '{name}' of {path.name} is in no loadable segment")
    finally:
        elf.stream.close()


def word(path: Path, name: str, patched: bool = True) -> int:
    """A word-sized symbol; when `patched`, its bytes must be in the file."""
    data = read_symbol(path, name, None if patched else 0)
    assert len(data) == WORD, f"symbol '{name}' is {len(data)} bytes"
    return int.from_bytes(data, "little")


def elf_pages(path: Path) -> int:
    """4 KiB pages the loadable segments of an ELF span (the frames the build maps for it)."""
    elf = _elf(path)
    try:
        return sum(
            (seg["p_vaddr"] + seg["p_memsz"] + 0xFFF) // 0x1000 - seg["p_vaddr"] // 0x1000
            for seg in elf.iter_segments()
            if seg["p_type"] == "PT_LOAD" and seg["p_memsz"]
        )
    finally:
        elf.stream.close()


# --------------------------------------------------------------------------- what to expect


def root_table(target) -> str:
    """The name prefix of a VSpace's root page table."""
    if target.arch == "x86_64":
        return "pml4"
    if target.arch == "aarch64" and target.hypervisor and target.arm_pa_size_bits == 40:
        return "pud"
    return "pgd"


def endpoint_pds(system) -> set[str]:
    """PDs with an endpoint: parents, VMMs, PPC callees and fault handlers."""
    out = {pd.name for pd in system.pds if pd.children or pd.vm is not None}
    out |= {pd.fault_handler for pd in system.pds if pd.fault_handler}
    for ch in system.channels:
        a, b = ch.ends
        out |= {b.pd} if a.pp else set()
        out |= {a.pd} if b.pp else set()
    return out


def channel_ends(system, pd) -> list:
    return [end for ch in system.channels for end in ch.ends if end.pd == pd.name]


def expected_objects(b: Built) -> tuple[Counter, set[str]]:
    """Object kinds (non-root page tables aside) and names the model says the spec must have."""
    system, target = b.system, b.target
    x86 = target.arch == "x86_64"
    root = root_table(target)
    kinds: Counter = Counter()
    names: set[str] = set()

    def add(kind: str, name: str):
        assert name not in names, name
        kinds[kind] += 1
        names.add(name)

    def thread(label: str):
        add("Tcb", f"tcb_{label}")
        add("SchedContext", f"sched_context_{label}")
        add("CNode", f"cnode_{label}")
        add("Frame", f"frame_ipcbuf_{label}")

    thread("monitor")
    add("Reply", "reply_monitor")
    add("Endpoint", "ep_fault_monitor")
    add("Frame", "frame_monitor_stack")
    add("RootPageTable", f"{root}_monitor")
    for i in range(elf_pages(b.out / "elf" / "monitor.elf")):
        add("Frame", f"frame_elf_monitor_{i:09}")
    with_ep = endpoint_pds(system)
    for pd in system.pds:
        p = pd.name
        thread(p)
        add("CNode", f"cnode_{p}_root")
        add("Notification", f"ntfn_{p}")
        add("Reply", f"reply_{p}")
        add("RootPageTable", f"{root}_{p}")
        if p in with_ep:
            add("Endpoint", f"ep_{p}")
        for i in range(pd.stack_size // 0x1000):
            add("Frame", f"frame_{p}_stack_{i:09}")
        image = find_on_paths(pd.program_image, b.search)
        for i in range(elf_pages(Path(image))):
            add("Frame", f"frame_elf_{p}_{i:09}")
        for irq in pd.irqs:
            kind = {"ioapic": "IrqIOApic", "msi": "IrqMsi"}.get(
                irq.kind, "RiscvIrq" if target.arch == "riscv64" else "ArmIrq"
            )
            add(kind, f"irq_{irq.number}_{p}")
        for io in pd.ioports:
            add("IOPorts", f"ioports_0x{io.addr:x}_{p}")
        if pd.vm is not None:
            vm = pd.vm
            add("RootPageTable", f"{root}_{vm.name}")
            for v in vm.vcpus:
                add("VCpu", f"vcpu_{vm.name}_{v.id}")
                if not x86:
                    thread(f"{vm.name}_{v.id}")
    for mr in system.mr_by_name.values():
        for i in range(system.region(mr).page_count):
            add("Frame", f"frame_mr_{mr.name}_{i:09}")
    for ut in system.untypeds:
        add("Untyped", f"untyped_{ut.name}")
    for cn in system.cnodes:
        add("CNode", f"subcnode_{cn.name}")
    smc = any(pd.smc or (pd.cspace is not None and any(c.kind == "Smc" for c in pd.cspace.caps)) for pd in system.pds)
    if smc:
        add("ArmSmc", "arm_smc")
    return kinds, names


def kind_of(obj) -> str:
    kind = obj if isinstance(obj, str) else next(iter(obj))
    if kind == "PageTable":
        return "RootPageTable" if obj["PageTable"]["is_root"] else "PageTable"
    return kind


def object_bytes(obj, target) -> int:
    """Physical memory an object takes (0: none)."""
    kind = kind_of(obj)
    body = obj[next(iter(obj))] if isinstance(obj, dict) else None
    if kind in ("Frame", "SchedContext", "Untyped"):
        return 1 << body["size_bits"]
    if kind == "CNode":
        return 1 << (body["size_bits"] + 5)
    table = {
        "Tcb": "tcb",
        "Endpoint": "endpoint",
        "Notification": "notification",
        "Reply": "reply",
        "VCpu": "vcpu",
        "RootPageTable": "vspace",
        "PageTable": "page_table",
    }
    return 1 << target.object_bits(table[kind]) if kind in table else 0


# ------------------------------------------------------------------------- the fixture programs


@pytest.mark.parametrize("arch", ["aarch64", "riscv64", "x86_64"])
def test_compiled_programs_are_microkit_programs(programs, arch):
    """Each compiled program is a static ELF of its architecture with the libmicrokit symbols in .bss
    and one word per setvar symbol, its code at 0x200000 and its data on the next page."""
    path = programs.program(arch, "probe.elf", ["first_var", "second_var"])
    elf = _elf(path)
    try:
        assert elf["e_machine"] == MACHINE_NAMES[arch]
        loads = [s for s in elf.iter_segments() if s["p_type"] == "PT_LOAD"]
        assert [(s["p_vaddr"], s["p_flags"]) for s in loads] == [(0x200000, 5), (0x201000, 6)]
        symtab = elf.get_section_by_name(".symtab")
        for name, size in [
            ("microkit_name", 64),
            ("microkit_passive", 1),
            ("microkit_irqs", 8),
            ("microkit_notifications", 8),
            ("microkit_pps", 8),
            ("microkit_ioports", 8),
            ("first_var", 8),
            ("second_var", 8),
        ]:
            (sym,) = symtab.get_symbol_by_name(name)
            assert sym["st_size"] == size
            assert elf.get_section(sym["st_shndx"])["sh_type"] == "SHT_NOBITS", f"{name} is not in .bss"
        for name in ("_start", "init", "notified", "protected", "fault"):
            (sym,) = symtab.get_symbol_by_name(name)
            assert sym["st_info"]["type"] == "STT_FUNC"
    finally:
        elf.stream.close()
    assert programs.program(arch, "probe.elf", ["first_var", "second_var"]) == path  # compiled once
    with pytest.raises(ValueError, match="not a C identifier"):
        programs.program(arch, "probe.elf", ["not-a-symbol"])


def test_setvar_symbols_come_from_every_setvar_attribute(builds):
    b = builds.get(EXTENDED, "qemu_virt_aarch64")
    symbols = setvar_symbols(b.analysis)
    text = EXTENDED.read_text()
    assert set(symbols) == set(re.findall(r'\bsetvar\w*="(\w+)"', text))
    assert len(symbols) == len(set(symbols)) and "log_base" in symbols and "spare_slots" in symbols


# ---------------------------------------------------------------------------- the examples


def test_every_example_but_the_invalid_and_the_refused_one_is_checked_after_its_build():
    require(EXAMPLES.is_dir(), f"{EXAMPLES} is missing")
    assert len(EXAMPLE_CASES) == 17
    invalid = {file for file, case in EXAMPLE_CASES.items() if case["expect"] == "error"}
    assert invalid == {"overlapping_pages__overlapping_pages.system"}
    assert {path.name for path, _ in _builds_for_own_arch()} == set(EXAMPLE_CASES) - invalid - set(REFUSED)


@pytest.mark.parametrize("file", sorted(EXAMPLE_CASES), ids=lambda f: f.partition("__")[0])
def test_every_example_builds_for_its_architecture(builds, file):
    """Every example builds, or fails exactly as it must: the upstream error of an invalid system,
    or a refusal for what the packed capDL initialiser cannot express."""
    case = EXAMPLE_CASES[file]
    arch = _arch_of(case["config"])
    b = builds.get(EXAMPLES / file, ARCH_BOARDS[arch])
    if case["expect"] == "error":
        expected = re.sub(r" @ \S+:\d+:\d+$", "", case["message"]).removeprefix("Error: ")
        assert not b.result.ok and b.result.errors == b.analysis.errors
        assert [e.message for e in b.result.errors] == [expected]
        assert not b.out.exists()
        return
    if file in REFUSED:
        code, message = REFUSED[file]
        assert not b.result.ok
        assert [(e.code, e.message.startswith(message)) for e in b.result.errors] == [(code, True)] * len(
            b.result.errors
        )
        assert b.result.errors and not b.out.exists()
        return
    assert b.result.ok, [e.message for e in b.result.errors]
    files = {str(Path(f).relative_to(b.out)) for f in b.result.files}
    assert {"capdl.json", "report.txt", "initialiser.elf", "loader.img", "elf/monitor.elf"} <= files
    assert {f"elf/{pd.name}.elf" for pd in b.system.pds} <= files
    assert all(Path(f).is_file() and Path(f).stat().st_size for f in b.result.files)


def test_overlapping_pages_fails_with_the_upstream_error(builds):
    b = builds.get(_example("overlapping_pages"), "qemu_virt_aarch64")
    (err,) = b.result.errors
    assert err.message == (
        "map for 'small0' has virtual address range [0x500000..0x501000) which overlaps with map for "
        "'large0' [0x400000..0x600000) in protection domain 'simplemrs'"
    )


def test_io_address_spaces_are_refused_where_they_are_declared(builds):
    b = builds.get(_example("x86_64_iommu_dma_test"), "x86_64_generic")
    (err,) = b.result.errors
    assert err.code == E.UNSUPPORTED
    assert (
        err.message == "io_address_space cannot be built: the capDL initialiser this build packs has no IOMMU objects"
    )
    assert b.analysis.text[err.span.start : err.span.end] == "io_address_space"


# ------------------------------------------------------------------------ objects and CNodes


def test_objects_are_those_of_the_model(built):
    """One TCB, SC, VSpace, notification, reply and two CNodes per PD, an endpoint where one is
    needed, the ELF, stack and IPC-buffer frames, one frame set per memory region, the monitor's
    objects, and page tables; nothing else."""
    kinds, names = expected_objects(built)
    actual = Counter(kind_of(o["object"]) for o in built.objects)
    actual.pop("PageTable", None)
    assert actual == kinds
    spaces = {"monitor", *(pd.name for pd in built.system.pds), *(pd.vm.name for pd in built.system.pds if pd.vm)}
    for name in set(built.ix) - names:  # the page tables below the roots, named after their address space
        assert kind_of(built.object(name)) == "PageTable", name
        assert re.fullmatch(r"[a-z0-9]+_(.+)_vaddr_0x[0-9a-f]+", name)[1] in spaces, name
    for mr in built.system.mr_by_name.values():
        facts = built.system.region(mr)
        frames = [built.object(f"frame_mr_{mr.name}_{i:09}")["Frame"] for i in range(facts.page_count)]
        assert sum(1 << f["size_bits"] for f in frames) == facts.size
        if mr.phys_addr is not None:
            assert [f["paddr"] for f in frames] == [mr.phys_addr + (i << f["size_bits"]) for i, f in enumerate(frames)]
    for pd in built.system.pds:
        tcb = built.object(f"tcb_{pd.name}")["Tcb"]
        assert tcb["extra"]["prio"] == pd.priority
        assert tcb["extra"]["ip"] == _elf_entry(built.out / "elf" / f"{pd.name}.elf")


def _elf_entry(path: Path) -> int:
    elf = _elf(path)
    try:
        return elf["e_entry"]
    finally:
        elf.stream.close()


def _slot_target(b: Built, pd: ProtectionDomain, slot) -> tuple[str, str]:
    """(cap kind, name of the object) a Microkit CNode slot of the layout must hold."""
    root = root_table(b.target)
    ref = slot.ref
    if slot.cap == "Endpoint":
        return "Endpoint", "ep_fault_monitor" if ref is None else f"ep_{ref.name}"
    if slot.cap == "Notification":
        return "Notification", f"ntfn_{ref.name}"
    if slot.cap == "PageTable":
        return "PageTable", f"{root}_{ref.name}"
    if slot.cap == "Reply":
        return "Reply", f"reply_{pd.name}"
    if slot.cap == "ArmSmc":
        return "ArmSmc", "arm_smc"
    if slot.cap == "Tcb" and isinstance(ref, Vcpu):
        return "Tcb", f"tcb_{pd.vm.name}_{ref.id}"
    if slot.cap == "Tcb":
        return "Tcb", f"tcb_{ref.name}"
    if slot.cap == "VCpu":
        return "VCpu", f"vcpu_{pd.vm.name}_{ref.id}"
    if slot.cap == "IrqHandler":
        assert isinstance(ref, Irq)
        handler = {"ioapic": "IrqIOApicHandler", "msi": "IrqMsiHandler"}.get(
            ref.kind, "RiscvIrqHandler" if b.target.arch == "riscv64" else "ArmIrqHandler"
        )
        return handler, f"irq_{ref.number}_{pd.name}"
    assert slot.cap == "IOPorts" and isinstance(ref, IoPort), slot.cap
    return "IOPorts", f"ioports_0x{ref.addr:x}_{pd.name}"


def _grant_target(b: Built, grant) -> tuple[str, str]:
    """(cap kind, name of the object) a granted cap in a root CNode must hold."""
    return {
        "Tcb": ("Tcb", f"tcb_{grant.pd}"),
        "Sc": ("SchedContext", f"sched_context_{grant.pd}"),
        "VSpace": ("PageTable", f"{root_table(b.target)}_{grant.pd}"),
        "Notification": ("Notification", f"ntfn_{grant.pd}"),
        "Smc": ("ArmSmc", "arm_smc"),
        "Untyped": ("Untyped", f"untyped_{grant.untyped}"),
        "CNode": ("CNode", f"subcnode_{grant.cnode}"),
    }[grant.kind]


def test_cnode_slots_follow_the_layout(built):
    """Every slot of both CNodes of every PD as the analysis' CSpace layout says: the Microkit
    CNode's filled slots with their cap kinds, objects and badges; the root CNode's slot 0 (the
    Microkit CNode, guarded) and granted caps; reserved slots left empty."""
    for pd in built.system.pds:
        lay = built.analysis.layout.cspace(pd)
        cnode = built.object(f"cnode_{pd.name}")["CNode"]
        assert cnode["size_bits"] == 9
        slots = built.slots(f"cnode_{pd.name}")
        assert sorted(slots) == [s.index for s in lay.microkit], pd.name
        for s in lay.microkit:
            kind, body = next(iter(slots[s.index].items()))
            assert (kind, built.objects[body["object"]]["name"]) == _slot_target(built, pd, s), (pd.name, s.index)
            if kind in ("Endpoint", "Notification"):
                assert body["badge"] == s.badge, (pd.name, s.index)

        root = built.object(f"cnode_{pd.name}_root")["CNode"]
        assert root["size_bits"] == lay.root_bits == (pd.cspace.size_bits if pd.cspace and pd.cspace.size_bits else 6)
        root_slots = built.slots(f"cnode_{pd.name}_root")
        assert root_slots[0] == {
            "CNode": {"object": built.ix[f"cnode_{pd.name}"], "guard": 0, "guard_size": 64 - 9 - lay.root_bits}
        }
        grants = [s for s in lay.root if s.index and s.cap is not None]
        assert sorted(root_slots) == [0] + [s.index for s in grants]
        for s in grants:
            kind, body = next(iter(root_slots[s.index].items()))
            assert (kind, built.objects[body["object"]]["name"]) == _grant_target(built, s.ref), (pd.name, s.index)
            if kind == "Notification":
                assert body["badge"] == s.ref.badge
        for start, count, _ in lay.reserves:
            assert not set(range(start, start + count)) & set(root_slots), (pd.name, start, count)

        tcb = {e["slot"]: e["cap"] for e in built.object(f"tcb_{pd.name}")["Tcb"]["slots"]}
        assert tcb[0] == {"CNode": {"object": built.ix[f"cnode_{pd.name}_root"], "guard": 0, "guard_size": 0}}
        assert tcb[5] == slots[2]  # the fault endpoint is the Microkit CNode's slot 2


# ---------------------------------------------------------------------------- patched symbols


def expected_setvars(b: Built, pd: ProtectionDomain) -> dict[str, int]:
    """Every setvar symbol of `pd` with the value it must get, from the SDF's setvar attributes."""
    model = b.analysis.model_of
    lay = b.analysis.layout.cspace(pd)
    out: dict[str, int] = {}

    def put(el, attr: str, value: int | None):
        symbol = el.get(attr)
        if symbol is None:
            return
        assert value is not None, (pd.name, symbol)
        assert out.setdefault(symbol, value) == value, f"'{symbol}' is set twice with different values"

    def region_paddr(name: str) -> int:
        mr = b.system.mr_by_name[name]
        if mr.phys_addr is not None:
            return mr.phys_addr
        paddr = b.object(f"frame_mr_{name}_{0:09}")["Frame"]["paddr"]
        assert paddr is not None, f"memory region '{name}' was not placed"
        return paddr

    def cptr(slot: int) -> int:
        assert lay.cptr(slot) == slot << (64 - lay.root_bits)
        return slot << (64 - lay.root_bits)

    handled = set()

    def visit(el):
        kind = el.local
        handled.update((id(el), a) for a, _ in el.raw if a.startswith("setvar") or (kind == "setvar" and a == "symbol"))
        if kind == "map":
            m = model(el)
            mr = b.system.mr_by_name[m.mr]
            put(el, "setvar_vaddr", m.vaddr)
            put(el, "setvar_size", b.system.size_of(mr))
            if el.get("setvar_prefill_size"):
                put(el, "setvar_prefill_size", Path(find_on_paths(mr.prefill_path, b.search)).stat().st_size)
        elif kind == "irq":
            put(el, "setvar_id", model(el).id)
        elif kind == "ioport":
            put(el, "setvar_id", model(el).id)
            put(el, "setvar_addr", model(el).addr)
        elif kind == "setvar":
            put(el, "symbol", region_paddr(model(el).region_paddr))
        elif kind == "cspace":
            put(el, "setvar_first_free_slot", lay.first_free)
            put(el, "setvar_size_bits", lay.root_bits)
            for child in el.elements:
                if child.local == "reserve":
                    start = next(s for s, _, r in lay.reserves if r.el is child)
                else:
                    start = model(child).slot
                put(child, "setvar_slot", start)
                put(child, "setvar_cptr", cptr(start))
                handled.update((id(child), a) for a, _ in child.raw if a.startswith("setvar"))
        elif kind == "protection_domain":  # a child: its id goes to the parent
            put(el, "setvar_id", model(el).id)

    for el in pd.el.elements:
        visit(el)
    for end in channel_ends(b.system, pd):
        handled.update((id(end.el), a) for a, _ in end.el.raw if a.startswith("setvar"))
        put(end.el, "setvar_id", end.id)
    unhandled = [
        (el.local, a)
        for el in [*pd.el.elements, *(e.el for e in channel_ends(b.system, pd))]
        for a, _ in el.raw
        if a.startswith("setvar") and (id(el), a) not in handled
    ]
    assert not unhandled, unhandled
    return out


def test_patched_symbols(built):
    """microkit_name, microkit_passive, the IRQ/notification/PPC/I/O-port bitmasks and every setvar
    word, read back from the patched ELFs in OUT/elf; all written into the file even where the
    symbol is in .bss.  Setvars of other PDs of the system stay zero."""
    system = built.system
    every = setvar_symbols(built.analysis)
    for pd in system.pds:
        path = built.out / "elf" / f"{pd.name}.elf"
        ends = channel_ends(system, pd)
        name = pd.name.encode()
        assert read_symbol(path, "microkit_name", len(name)) == name.ljust(64, b"\0")
        assert read_symbol(path, "microkit_passive") == bytes([pd.passive])
        assert word(path, "microkit_irqs") == sum(1 << irq.id for irq in pd.irqs)
        assert word(path, "microkit_notifications") == sum(1 << e.id for e in ends if e.notify)
        assert word(path, "microkit_pps") == sum(1 << e.id for e in ends if e.pp)
        assert word(path, "microkit_ioports") == sum(1 << io.id for io in pd.ioports)
        values = expected_setvars(built, pd)
        for symbol in every:
            if symbol in values:
                assert word(path, symbol) == values[symbol] & (1 << 64) - 1, (pd.name, symbol)
            else:
                assert word(path, symbol, patched=False) == 0, (pd.name, symbol)


def test_patched_monitor(built):
    system, target = built.system, built.target
    path = built.out / "elf" / "monitor.elf"
    names = read_symbol(path, "pd_names")
    assert [names[i * 64 : (i + 1) * 64].rstrip(b"\0").decode() for i in range(len(system.pds))] == [
        p.name for p in system.pds
    ]
    assert not names[len(system.pds) * 64 :].strip(b"\0")
    assert word(path, "pd_names_len") == len(system.pds)
    vms = [] if target.arch == "x86_64" else [pd.vm.name for pd in system.pds if pd.vm is not None for _ in pd.vm.vcpus]
    assert word(path, "vm_names_len") == len(vms)
    vm_names = read_symbol(path, "vm_names", 0)
    assert [vm_names[i * 64 : (i + 1) * 64].rstrip(b"\0").decode() for i in range(len(vms))] == vms
    stack_top = (target.vspace_user_top & ~0xFFF) - 0x1000
    bottoms = read_symbol(path, "pd_stack_bottom_addrs")[: WORD * len(system.pds)]
    assert [int.from_bytes(bottoms[i : i + WORD], "little") for i in range(0, len(bottoms), WORD)] == [
        stack_top - pd.stack_size for pd in system.pds
    ]


# ------------------------------------------------------------------------------- placement


REPORT_OBJECT = re.compile(r"^\t(\d+) - [^:]+: '([^']+)' @ 0x([0-9a-f]{12})$", re.MULTILINE)


def test_objects_are_placed_in_ram_without_overlap(placed):
    """Every object with memory has an address in report.txt; those not in device memory lie in the
    board's RAM and are pairwise disjoint; fixed addresses are kept."""
    b, target = placed, placed.target
    section = b.report.split("# Kernel Objects Details")[1]
    assert "Cannot be allocated" not in section
    listed = {int(i): (name, int(addr, 16)) for i, name, addr in REPORT_OBJECT.findall(section)}
    ram = [(r.start, r.end) for r in target.normal_regions]
    ranges = []
    for i, named in enumerate(b.objects):
        size = object_bytes(named["object"], target)
        if not size:
            assert i not in listed
            continue
        name, addr = listed[i]
        assert name == named["name"]
        body = next(iter(named["object"].values())) if isinstance(named["object"], dict) else {}
        if body.get("paddr") is not None:
            assert addr == body["paddr"], name
        assert addr % size == 0, f"{name} at {addr:#x} is not aligned to its size {size:#x}"
        if any(s <= addr < e for s, e in ram):
            assert any(s <= addr and addr + size <= e for s, e in ram), f"{name} leaves RAM"
            ranges.append((addr, addr + size, name))
        else:
            assert kind_of(named["object"]) in ("Frame", "Untyped") and body.get("paddr") is not None, (
                f"{name} at {addr:#x} is outside RAM"
            )
    assert set(listed) == {i for i, named in enumerate(b.objects) if object_bytes(named["object"], target)}
    ranges.sort()
    for (_, end, name), (start, _, other) in itertools.pairwise(ranges):
        assert end <= start, f"{name} overlaps {other}"


# ------------------------------------------------------------------------ the extended example


def test_extended_example(builds):
    """The extended-dialect example: its untypeds, the empty CNode and the granted caps are in the
    packed spec of OUT/initialiser.elf, its setvars equal the layout, and the report describes
    every extension object."""
    b = builds.get(EXTENDED, "qemu_virt_aarch64")
    assert b.result.ok, [e.message for e in b.result.errors]
    images = {"scheduler.elf", "monitor_b.elf", "worker.elf", "pager.elf", "client.elf", "allocator.elf"}
    assert {pd.program_image for pd in b.system.pds} == images
    assert all((b.out / "elf" / f"{pd.name}.elf").is_file() for pd in b.system.pds)

    packed = rkyv.deserialize(typed_segment(b.out / "initialiser.elf", PT_SEL4_CAPDL_SPEC))
    objects = packed["objects"]
    assert len(objects) == len(b.objects)

    def obj(name):
        return objects[b.ix[name]]["object"]

    def slots(name):
        return {e["slot"]: e["cap"] for e in next(iter(obj(name).values()))["slots"]}

    def names(cap):
        kind, body = next(iter(cap.items()))
        return kind, b.objects[body["object"]]["name"]

    assert obj("untyped_alloc_heap") == {"Untyped": {"size_bits": 20, "paddr": None}}
    assert obj("untyped_alloc_dma") == {"Untyped": {"size_bits": 21, "paddr": None}}
    assert obj("subcnode_alloc_slots")["CNode"]["size_bits"] == 8
    assert [s for s in slots("subcnode_alloc_slots")] == [0]

    scheduler = slots("cnode_scheduler_root")
    assert {i: names(c) for i, c in scheduler.items() if i} == {
        1: ("Tcb", "tcb_worker_a"),
        2: ("SchedContext", "sched_context_worker_a"),
        3: ("Tcb", "tcb_worker_b"),
        4: ("SchedContext", "sched_context_worker_b"),
        5: ("Notification", "ntfn_worker_a"),
    }
    assert scheduler[5]["Notification"]["badge"] == 1
    assert scheduler[5]["Notification"]["rights"] == {
        "read": False,
        "write": True,
        "grant": False,
        "grant_reply": False,
    }
    allocator = slots("cnode_allocator_root")
    assert {i: names(c) for i, c in allocator.items() if i} == {
        1: ("Untyped", "untyped_alloc_heap"),
        2: ("Untyped", "untyped_alloc_dma"),
        3: ("CNode", "subcnode_alloc_slots"),
    }
    assert allocator[3]["CNode"]["guard_size"] == 64 - 7 - 8
    assert obj("cnode_allocator_root")["CNode"]["size_bits"] == 7
    pd = b.system.pd_by_name["allocator"]
    lay = b.analysis.layout.cspace(pd)
    reserved = {s for start, count, _ in lay.reserves for s in range(start, start + count)}
    assert len(reserved) == 24 and not reserved & set(allocator)

    elf = b.out / "elf"
    assert word(elf / "allocator.elf", "root_cnode_bits") == lay.root_bits == 7
    assert word(elf / "allocator.elf", "first_free_slot") == lay.first_free == 12
    assert word(elf / "allocator.elf", "heap_untyped") == lay.cptr(1) == 1 << 57
    assert word(elf / "allocator.elf", "slot_cnode") == lay.cptr(3)
    starts = {r.el.get("setvar_cptr"): start for start, _, r in lay.reserves}
    assert word(elf / "allocator.elf", "scratch_slots") == lay.cptr(starts["scratch_slots"]) == 16 << 57
    assert word(elf / "allocator.elf", "spare_slots") == lay.cptr(starts["spare_slots"]) == 4 << 57
    sched = b.analysis.layout.cspace(b.system.pd_by_name["scheduler"])
    assert [
        word(elf / "scheduler.elf", s)
        for s in ("worker_a_tcb", "worker_a_sc", "worker_b_tcb", "worker_b_sc", "worker_a_kick")
    ] == [1, 2, 3, 4, 5]
    assert word(elf / "scheduler.elf", "first_free_slot") == sched.first_free == 6
    assert word(elf / "monitor_b.elf", "worker_b_tcb") == 1

    sections = _report_sections(b.report)
    for ut in ("alloc_heap", "alloc_dma"):
        assert f"'untyped_{ut}' @ 0x" in sections["Untyped Details"]
    assert "'subcnode_alloc_slots' @ 0x" in sections["Extension CNode Details"]
    assert "Granted To: 'allocator' in root slot 3" in sections["Extension CNode Details"]
    granted = sections["Granted Cap Details"]
    for holder, slot, target in [
        ("scheduler", 5, "ntfn_worker_a"),
        ("allocator", 1, "untyped_alloc_heap"),
        ("allocator", 2, "untyped_alloc_dma"),
        ("allocator", 3, "subcnode_alloc_slots"),
    ]:
        assert re.search(
            rf"PD: '{holder}' root slot {slot} \(CPtr 0x[0-9a-f]+\)\n\t\t\* Cap: \w+ -> '{target}'", granted
        )
    assert "PD: 'allocator'" in sections["Reserved Slot Details"]
    for start, count, _ in lay.reserves:
        assert f"Slots: [{start}..{start + count})" in sections["Reserved Slot Details"]


def _report_sections(report: str) -> dict[str, str]:
    parts = re.split(r"^# (.+)$", report, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=False))


# -------------------------------------------------------------------------------- failures


def test_a_system_too_big_for_the_board_runs_out_of_memory(builds, tmp_path):
    """Two PDs each mapping a 764 MiB region on a board with 1.5 GiB of RAM: the check passes (the
    regions fit the RAM), the allocation does not once the kernel and the initial task are in."""
    text = """<?xml version="1.0" encoding="UTF-8"?>
<system>
    <memory_region name="big_a" size="0x2fc00000" page_size="0x200000" />
    <memory_region name="big_b" size="0x2fe00000" page_size="0x200000" />
    <protection_domain name="left">
        <program_image path="left.elf" />
        <map mr="big_a" vaddr="0x40000000" perms="rw" setvar_vaddr="region" />
    </protection_domain>
    <protection_domain name="right">
        <program_image path="right.elf" />
        <map mr="big_b" vaddr="0x40000000" perms="rw" setvar_vaddr="region" />
    </protection_domain>
</system>
"""
    sdf = tmp_path / "too_big.system"
    sdf.write_text(text)
    b = builds.get(sdf, "qemu_virt_aarch64")
    assert not b.analysis.errors
    assert not b.result.ok and not b.out.exists()
    (err,) = b.result.errors
    assert err.code == E.OUT_OF_MEMORY
    needed = re.search(r"the system needs ([\d.]+ [KMG]iB) \((0x[0-9a-f]+) bytes\)", err.message)
    free = re.search(r"but ([\d.]+ [KMG]iB) \((0x[0-9a-f]+) bytes\) of untyped memory is free", err.message)
    assert needed and free and int(needed[2], 16) > int(free[2], 16)
    assert int(needed[2], 16) >= 0x2FC00000 + 0x2FE00000
    kernel = b.target.sdk.kernel_facts["derived"]["kernel_self_mem"]
    assert int(free[2], 16) < b.target.ram_bytes - (kernel[1] - kernel[0])
    assert "still need to create 2 objects which requires 4 MiB of additional memory" in err.message
    assert "biggest consumers: memory region 'big_b' (766 MiB), memory region 'big_a' (764 MiB), PD '" in err.message
    assert [text[r.span.start : r.span.end] for r in err.related][:2] == ["memory_region", "memory_region"]


# ----------------------------------------------------------------------------------- x86_64


@pytest.mark.parametrize("case", UNPLACED, ids=_case_id)
def test_x86_64_builds_the_boot_module_without_placement(builds, case):
    """On x86_64 the initialiser is the boot module (loader.img), of the x86_64 machine; no object
    gets an address, and memory regions without phys_addr stay unplaced."""
    b = builds.get(*case)
    assert b.result.ok, [e.message for e in b.result.errors]
    module = (b.out / "loader.img").read_bytes()
    assert module == (b.out / "initialiser.elf").read_bytes()
    assert int.from_bytes(module[18:20], "little") == EM["x86_64"]
    assert rkyv.deserialize(typed_segment(b.out / "loader.img", PT_SEL4_CAPDL_SPEC))["objects"]
    assert "# Kernel Objects Details: ID, Type, Name\n" in b.report and " @ 0x" not in b.report
    for mr in b.system.mr_by_name.values():
        paddrs = {
            b.object(f"frame_mr_{mr.name}_{i:09}")["Frame"]["paddr"] for i in range(b.system.region(mr).page_count)
        }
        if mr.phys_addr is None:
            assert paddrs == {None}, mr.name
        else:
            assert None not in paddrs, mr.name
    fixed = [
        o["name"]
        for o in b.objects
        if isinstance(o["object"], dict) and next(iter(o["object"].values())).get("paddr") is not None
    ]
    assert all(name.startswith("frame_mr_") for name in fixed)
