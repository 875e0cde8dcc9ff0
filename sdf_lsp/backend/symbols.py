"""Symbol patching: what the monitor and each PD's program learn about the system.

As upstream `symbols.rs`: the monitor gets the PD and VM names and the PDs'
stack bottoms; each PD gets `microkit_name`, `microkit_passive` and the id
bitmasks of its IRQs, notifications, PPCs and I/O ports, then every setvar as
one little-endian word.  The extension setvars (`setvar_slot`, `setvar_cptr`,
`setvar_first_free_slot`, `setvar_size_bits`) are words too, read from the
CSpace layout of the analysis.  Patching makes copies; the loaded images stay
as they were read.
"""

from __future__ import annotations

from dataclasses import dataclass

from sdf_lsp.backend import errors as E
from sdf_lsp.backend.errors import BuildError
from sdf_lsp.backend.programs import Program
from sdf_lsp.diagnostics import Diagnostic
from sdf_lsp.elf import ElfError, ElfImage
from sdf_lsp.layout.cspace import CSpaceLayout
from sdf_lsp.model.types import ProtectionDomain, span_of
from sdf_lsp.resolve.system import System
from sdf_lsp.syntax.tree import Element, Span
from sdf_lsp.target import Target

#: Longest name the monitor and libmicrokit keep (bytes, with the terminating NUL).
NAME_LENGTH = 64


@dataclass(frozen=True)
class SetVar:
    """One word to write into a PD's program: where the SDF asks for it and its value."""

    symbol: str
    value: int
    span: Span


def pd_setvars(
    pd: ProtectionDomain, system: System, lay: CSpaceLayout, mr_paddr: dict[str, int | None], ends: list
) -> list[SetVar]:
    """Every setvar of `pd` with its value (`ends`: the channel ends of `pd`)."""
    out: list[SetVar] = []

    def add(el: Element, attr: str, value: int | None):
        sym = el.get(attr)
        if sym is not None:
            out.append(SetVar(sym, value or 0, span_of(el, attr)))

    mrs = system.mr_by_name
    for m in pd.maps:
        facts = system.region(mrs[m.mr])
        add(m.el, "setvar_vaddr", m.vaddr)
        add(m.el, "setvar_size", facts.size)
        add(m.el, "setvar_prefill_size", facts.prefill_length)
    for irq in pd.irqs:
        add(irq.el, "setvar_id", irq.id)
    for io in pd.ioports:
        add(io.el, "setvar_id", io.id)
        add(io.el, "setvar_addr", io.addr)
    for sv in pd.setvars:
        add(sv.el, "symbol", mr_paddr.get(sv.region_paddr))
    for child in pd.children:
        add(child.el, "setvar_id", child.id)
    for end in ends:
        add(end.el, "setvar_id", end.id)
    cs = pd.cspace
    if cs is not None:
        for c in cs.caps:
            add(c.el, "setvar_slot", c.slot)
            add(c.el, "setvar_cptr", lay.cptr(c.slot) if c.slot is not None else None)
        for r in cs.reserves:
            start = lay.reserve_start(r)
            add(r.el, "setvar_slot", start)
            add(r.el, "setvar_cptr", lay.cptr(start) if start is not None else None)
        add(cs.el, "setvar_first_free_slot", lay.first_free)
        add(cs.el, "setvar_size_bits", lay.root_bits)
    return out


def _word(value: int, word_bytes: int) -> bytes:
    return (value & ((1 << (8 * word_bytes)) - 1)).to_bytes(word_bytes, "little")


def _names_table(names: list[str], size: int, what: str) -> bytes:
    """NUL-terminated names in slots of NAME_LENGTH bytes, filling a symbol of `size` bytes."""
    if len(names) * NAME_LENGTH > size:
        raise ValueError(f"{len(names)} {what} names do not fit the monitor's table of {size // NAME_LENGTH}")
    out = bytearray(size)
    for i, name in enumerate(names):
        raw = name.encode()[: NAME_LENGTH - 1]
        out[i * NAME_LENGTH : i * NAME_LENGTH + len(raw)] = raw
    return bytes(out)


def patch_monitor(monitor: ElfImage, system: System, target: Target, span: Span) -> ElfImage:
    """The monitor with the PD/VM names and the PDs' stack bottoms."""
    w = target.word_size // 8
    vm_names = [pd.vm.name for pd in system.pds if pd.vm is not None for _ in pd.vm.vcpus]
    try:
        writes = [
            ("pd_names_len", _word(len(system.pds), w)),
            ("pd_names", _names_table([pd.name for pd in system.pds], monitor.find_symbol("pd_names")[1], "PD")),
            ("vm_names_len", _word(0 if target.arch == "x86_64" else len(vm_names), w)),
            ("vm_names", _names_table(vm_names, monitor.find_symbol("vm_names")[1], "VM")),
            ("pd_stack_bottom_addrs", b"".join(_word(target.pd_stack_bottom(pd.stack_size), w) for pd in system.pds)),
        ]
        return monitor.patch_symbols(writes)
    except (ElfError, ValueError) as err:
        raise E.fail(span, E.SYMBOL_PATCH, f"could not patch the monitor: {err}") from None


def patch_program(program: Program, target: Target, setvars: list[SetVar], ends: list) -> ElfImage:
    """A PD's program with the Microkit symbols and its setvars written in (`ends`: its channel ends)."""
    pd = program.pd
    image = program.image
    w = target.word_size // 8
    problems: list[Diagnostic] = []
    writes: list[tuple[str, bytes]] = [
        ("microkit_name", pd.name.encode()[:NAME_LENGTH]),
        ("microkit_passive", bytes([int(pd.passive)])),
        ("microkit_irqs", _word(_bits(i.id for i in pd.irqs), w)),
        ("microkit_notifications", _word(_bits(e.id for e in ends if e.notify), w)),
        ("microkit_pps", _word(_bits(e.id for e in ends if e.pp), w)),
        ("microkit_ioports", _word(_bits(io.id for io in pd.ioports), w)),
    ]
    image_span = span_of(pd.program_image_el, "path")
    where = f"in program image for PD '{pd.name}' ({program.label})"
    for name, _ in writes:
        try:
            image.find_symbol(name)
        except ElfError as err:
            problems.append(E.problem(image_span, E.SYMBOL_PATCH, f"could not patch symbol '{name}' {where}: {err}"))
    for sv in setvars:
        try:
            _, size = image.find_symbol(sv.symbol)
        except ElfError as err:
            problems.append(E.problem(sv.span, E.SYMBOL_PATCH, f"could not patch symbol '{sv.symbol}' {where}: {err}"))
            continue
        if size != w:
            problems.append(
                E.problem(
                    sv.span,
                    E.SYMBOL_SIZE,
                    f"setvar to non-word size symbol '{sv.symbol}' for PD '{pd.name}', symbol has size "
                    f"'{size}' bytes, expected size '{w}' bytes",
                )
            )
            continue
        writes.append((sv.symbol, _word(sv.value, w)))
    if problems:
        raise BuildError(problems)
    try:
        return image.patch_symbols(writes)
    except ElfError as err:
        raise E.fail(image_span, E.SYMBOL_PATCH, f"could not patch the program image {where}: {err}") from None


def _bits(ids) -> int:
    out = 0
    for i in ids:
        if i is not None:
            out |= 1 << i
    return out
