"""Defaults live in the schema table only: the lowering reads them from there, the model's
fields default to them, and hover shows them as an SDF writes them."""

from __future__ import annotations

import dataclasses

import pytest

from sdf_lsp import schema
from sdf_lsp.analysis import analyse
from sdf_lsp.model import types
from sdf_lsp.model.lower import Context
from sdf_lsp.target.boards import board_target

PD = '<protection_domain name="p" {A}><program_image path="p.elf"/>{C}</protection_domain>'
MR = '<memory_region name="m" size="0x1000"/>'


def pd(attrs: str = "", children: str = "") -> str:
    return PD.replace("{A}", attrs).replace("{C}", children)


def first_pd(s):
    return s.pds[0]


# (element, attribute, a default other than the table's, document without the attribute, where the model keeps it)
CASES = [
    ("protection_domain", "priority", 7, pd(), lambda s: first_pd(s).priority),
    ("protection_domain", "budget", 500, pd(), lambda s: (first_pd(s).budget, first_pd(s).period)),
    ("protection_domain", "passive", True, pd(), lambda s: first_pd(s).passive),
    ("protection_domain", "stack_size", 0x3000, pd(), lambda s: first_pd(s).stack_size),
    ("protection_domain", "smc", True, pd(), lambda s: first_pd(s).smc),
    ("protection_domain", "cpu", 2, pd(), lambda s: first_pd(s).cpu),
    ("protection_domain", "fpu", False, pd(), lambda s: first_pd(s).fpu),
    ("map", "perms", "r", MR + pd(children='<map mr="m" vaddr="0x400000"/>'), lambda s: first_pd(s).maps[0].perms),
    ("map", "cached", False, MR + pd(children='<map mr="m" vaddr="0x400000"/>'), lambda s: first_pd(s).maps[0].cached),
    ("irq", "trigger", "edge", pd(children='<irq irq="33" id="1"/>'), lambda s: first_pd(s).irqs[0].trigger),
    (
        "virtual_machine",
        "budget",
        500,
        pd(children='<virtual_machine name="v"><vcpu id="0"/></virtual_machine>'),
        lambda s: (first_pd(s).vm.budget, first_pd(s).vm.period),
    ),
    (
        "virtual_machine",
        "priority",
        9,
        pd(children='<virtual_machine name="v"><vcpu id="0"/></virtual_machine>'),
        lambda s: first_pd(s).vm.priority,
    ),
    (
        "end",
        "pp",
        True,
        '<channel><end pd="p" id="1"/><end pd="q" id="1"/></channel>',
        lambda s: s.channels[0].ends[0].pp,
    ),
    (
        "end",
        "notify",
        False,
        '<channel><end pd="p" id="1"/><end pd="q" id="1"/></channel>',
        lambda s: s.channels[0].ends[0].notify,
    ),
    (
        "domain_schedule",
        "start_index",
        1,
        '<domains><domain name="d"/><domain_schedule><schedule_entry domain="d" duration="1 us"/>'
        '<schedule_entry domain="d" duration="1 us"/></domain_schedule></domains>',
        lambda s: s.domains.start_index,
    ),
]
X86_CASES = [
    ("irq", "ioapic", 2, pd(children='<irq pin="3" id="1" vector="5"/>'), lambda s: first_pd(s).irqs[0].ioapic),
    ("irq", "polarity", "low", pd(children='<irq pin="3" id="1" vector="5"/>'), lambda s: first_pd(s).irqs[0].polarity),
    (
        "iomap",
        "perms",
        "r",
        MR + '<io_address_space name="i" peripheral_id="0:1.0" domain_id="1"><iomap mr="m" iovaddr="0x1000"/>'
        "</io_address_space>",
        lambda s: s.io_spaces[0].iomaps[0].perms,
    ),
]


def _lowered(monkeypatch, elem, attr, new, text, read, target):
    entry = schema.BY_NAME[elem].attr_map[attr]
    table = entry.default
    before = read(analyse(f"<system>{text}</system>", Context(target)).system)
    monkeypatch.setitem(schema.BY_NAME[elem].attr_map, attr, dataclasses.replace(entry, default=new))
    after = read(analyse(f"<system>{text}</system>", Context(target)).system)
    return table, before, after


@pytest.mark.parametrize("elem,attr,new,text,read", CASES, ids=lambda v: v if isinstance(v, str) else "")
def test_lowering_takes_absent_attributes_from_the_table(monkeypatch, elem, attr, new, text, read):
    target = board_target("qemu_virt_aarch64", "smp-release")
    table, before, after = _lowered(monkeypatch, elem, attr, new, text, read, target)
    if attr == "budget":  # period defaults to the budget
        assert before == (table, table) and after == (new, new)
    else:
        assert before == table and after == new


@pytest.mark.parametrize("elem,attr,new,text,read", X86_CASES, ids=lambda v: v if isinstance(v, str) else "")
def test_lowering_takes_absent_x86_attributes_from_the_table(monkeypatch, elem, attr, new, text, read):
    table, before, after = _lowered(monkeypatch, elem, attr, new, text, read, board_target("x86_64_generic"))
    assert before == table and after == new


def test_every_default_of_the_table_is_exercised():
    tested = {(c[0], c[1]) for c in CASES + X86_CASES}
    with_default = {(e.name, a.name) for e in schema.ELEMENTS for a in e.attrs if a.default is not None}
    # period follows the budget (tested with it); a notification cap's badge and rights are the model's defaults
    untested = {
        ("protection_domain", "period"),
        ("virtual_machine", "period"),
        ("cap_notification", "badge"),
        ("cap_notification", "rights"),
    }
    assert with_default - untested == tested


# model field -> the table attribute whose default it has
MODEL_DEFAULTS = {
    (types.ProtectionDomain, "priority"): ("protection_domain", "priority"),
    (types.ProtectionDomain, "budget"): ("protection_domain", "budget"),
    (types.ProtectionDomain, "period"): ("protection_domain", "period"),
    (types.ProtectionDomain, "passive"): ("protection_domain", "passive"),
    (types.ProtectionDomain, "stack_size"): ("protection_domain", "stack_size"),
    (types.ProtectionDomain, "smc"): ("protection_domain", "smc"),
    (types.ProtectionDomain, "cpu"): ("protection_domain", "cpu"),
    (types.ProtectionDomain, "fpu"): ("protection_domain", "fpu"),
    (types.VirtualMachine, "budget"): ("virtual_machine", "budget"),
    (types.VirtualMachine, "period"): ("virtual_machine", "period"),
    (types.VirtualMachine, "priority"): ("virtual_machine", "priority"),
    (types.Irq, "trigger"): ("irq", "trigger"),
    (types.Irq, "ioapic"): ("irq", "ioapic"),
    (types.Irq, "polarity"): ("irq", "polarity"),
    (types.CapGrant, "badge"): ("cap_notification", "badge"),
    (types.CapGrant, "rights"): ("cap_notification", "rights"),
    (types.ChannelEnd, "notify"): ("end", "notify"),
    (types.ChannelEnd, "pp"): ("end", "pp"),
    (types.IoMap, "perms"): ("iomap", "perms"),
    (types.Domains, "start_index"): ("domain_schedule", "start_index"),
}


@pytest.mark.parametrize("cls,field", list(MODEL_DEFAULTS), ids=lambda v: getattr(v, "__name__", v))
def test_model_defaults_are_the_tables(cls, field):
    elem, attr = MODEL_DEFAULTS[cls, field]
    (f,) = [f for f in dataclasses.fields(cls) if f.name == field]
    d = schema.default(elem, attr)
    if isinstance(d, schema.SameAs):
        d = schema.default(elem, d.attr)
    assert f.default == d and type(f.default) is type(d)


def test_defaults_are_shown_as_an_sdf_writes_them():
    shown = {(e.name, a.name): a.default_text for e in schema.ELEMENTS for a in e.attrs if a.default_text is not None}
    assert shown["protection_domain", "stack_size"] == "0x2000"
    assert shown["protection_domain", "period"] == "= budget"
    assert shown["protection_domain", "budget"] == "1000"
    assert shown["protection_domain", "passive"] == "false"
    assert shown["map", "cached"] == "true"
    assert shown["irq", "trigger"] == "level"
    assert all(
        isinstance(a.default, bool) == (a.type == "bool")
        for e in schema.ELEMENTS
        for a in e.attrs
        if a.default is not None
    )
