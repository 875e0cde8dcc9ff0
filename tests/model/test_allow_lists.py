"""The lowering accepts exactly the attributes the schema table allows, for every element
of the table where it may appear: each parent, dialect, architecture and IRQ variant."""

from __future__ import annotations

from dataclasses import replace

import pytest

from sdf_lsp import schema
from sdf_lsp.analysis import analyse
from sdf_lsp.model.lower import Context
from sdf_lsp.target.boards import board_target

ARCHES = ("aarch64", "riscv64", "x86_64")
_BOARDS = {"aarch64": "qemu_virt_aarch64", "riscv64": "qemu_virt_riscv64", "x86_64": "x86_64_generic_vtx"}
# codes the lowering gives an attribute it does not accept where it appears
REJECTED = {"MK-ATTR", "EX001"}

# an element is checked inside these (`{X}` is where it goes); each container sits in its own parent
CONTAINERS = {
    "system": "<system>{X}</system>",
    "protection_domain": '<protection_domain name="p"><program_image path="p.elf"/>{X}</protection_domain>',
    "virtual_machine": '<virtual_machine name="v"><vcpu id="0"/>{X}</virtual_machine>',
    "cspace": "<cspace>{X}</cspace>",
    "channel": '<channel>{X}<end pd="q" id="2"/></channel>',
    "io_address_space": '<io_address_space name="i" peripheral_id="0:1.0" domain_id="1">{X}</io_address_space>',
    "domains": '<domains>{X}<domain name="d0"/><domain_schedule><schedule_end_marker/></domain_schedule></domains>',
    "domain_schedule": "<domain_schedule>{X}</domain_schedule>",
}
CONTAINER_PARENT = {
    "protection_domain": "system",
    "virtual_machine": "protection_domain",
    "cspace": "protection_domain",
    "channel": "system",
    "io_address_space": "system",
    "domains": "system",
    "domain_schedule": "domains",
}
# upstream picks an IRQ's variant by the first of these attributes present (reference §2.5)
IRQ_SELECTORS = {"arm": "irq", "ioapic": "pin", "msi": "pcidev"}
# `<system>` is not lowered: upstream never looks at its attributes
NOT_LOWERED = {"system"}

VALUES = {
    "num": "1",
    "dec": "1",
    "bool": "true",
    "path": "x.elf",
    "perms": "rw",
    "ioperms": "rw",
    "rights": "rw",
    "duration": "1 us",
    "pci": "0:1.0",
}


def target(arch: str):
    """A target on which every element of the arch is lowered (hypervisor, IOMMU, one core)."""
    return replace(board_target(_BOARDS[arch]), hypervisor=True, iommu=True)


def value(a: schema.Attr) -> str:
    if a.values:
        return a.values[0]
    if a.type in ("symbol", "name") or a.type.startswith("ref:"):
        return f"{a.name}_v"
    return VALUES[a.type]


def document(elem: str, parent: str, attrs: list[str]) -> str:
    e = schema.BY_NAME[elem]
    text = f"<{elem} " + " ".join(f'{n}="{value(e.attr_map[n]) if n in e.attr_map else "1"}"' for n in attrs) + "/>"
    while True:
        text = CONTAINERS[parent].replace("{X}", text)
        if parent == "system":
            return text
        parent = CONTAINER_PARENT[parent]


def rejected(elem: str, parent: str, attrs: list[str], ctx: Context) -> dict[str, str]:
    """Attribute name -> code, for every attribute of the document the lowering rejects."""
    text = document(elem, parent, attrs)
    out = {}
    for d in analyse(text, ctx).diagnostics:
        if d.code in REJECTED or d.code.startswith("FH"):
            name = text[d.span.start : d.span.end]
            if name in attrs:
                out[name] = d.code
    return out


def contexts():
    for e in schema.ELEMENTS:
        if e.name in NOT_LOWERED:
            continue
        for parent in e.parents:
            for dialect in schema.DIALECTS:
                if dialect == schema.UPSTREAM and e.dialect == schema.EXTENDED:
                    continue
                for arch in ARCHES:
                    if e.arches and arch not in e.arches:
                        continue
                    if e.name == "irq":
                        for variant, selector in IRQ_SELECTORS.items():
                            if arch in e.attr_map[selector].arches:
                                yield e.name, parent, dialect, arch, variant
                    else:
                        yield e.name, parent, dialect, arch, None


CONTEXTS = list(contexts())


@pytest.mark.parametrize("elem,parent,dialect,arch,variant", CONTEXTS, ids=lambda v: str(v))
def test_lowering_accepts_exactly_the_tables_attributes(elem, parent, dialect, arch, variant):
    ctx = Context(target(arch), dialect)
    e = schema.BY_NAME[elem]
    allowed = schema.allowed_attrs(elem, parent=parent, arch=arch, dialect=dialect, variant=variant)
    assert rejected(elem, parent, allowed, ctx) == {}, "the table allows these"
    # a selector of an earlier IRQ variant would change the variant
    earlier = list(IRQ_SELECTORS.values())[: list(IRQ_SELECTORS).index(variant)] if variant else []
    for a in e.attrs:
        if a.name in allowed or a.name in earlier:
            continue
        got = rejected(elem, parent, [*allowed, a.name], ctx)
        if a.misplaced_code is not None and dialect == schema.EXTENDED and parent not in a.parents:
            expected = a.misplaced_code
        elif dialect == schema.UPSTREAM and a.dialect == schema.EXTENDED:
            expected = "EX001"
        else:
            expected = "MK-ATTR"
        assert got == {a.name: expected}, a.name
    assert rejected(elem, parent, [*allowed, "unknown_attribute"], ctx) == {"unknown_attribute": "MK-ATTR"}


def test_every_lowered_element_is_covered():
    covered = {c[0] for c in CONTEXTS}
    assert covered == {e.name for e in schema.ELEMENTS} - NOT_LOWERED
    # every irq variant on some arch, both dialects for every upstream element
    assert {c[4] for c in CONTEXTS if c[0] == "irq"} == set(IRQ_SELECTORS)
    assert {(c[0], c[2]) for c in CONTEXTS if c[0] == "virtual_machine"} == {
        ("virtual_machine", d) for d in schema.DIALECTS
    }


def test_the_allow_lists_of_the_special_cases():
    """What the table says where it differs by context (reference §2.2, §2.5, §2.8, §2.13)."""
    names = schema.attr_names
    pd_root = names("protection_domain", schema.EXTENDED, "aarch64", "system")
    pd_child = names("protection_domain", schema.EXTENDED, "aarch64", "protection_domain")
    assert {"fault_handler", "fault_id"} <= pd_root and not {"id", "setvar_id"} & pd_root
    assert {"id", "setvar_id"} <= pd_child and not {"fault_handler", "fault_id"} & pd_child
    assert not {"fault_handler", "fault_id"} & names("protection_domain", schema.UPSTREAM, "aarch64", "system")
    assert names("virtual_machine", schema.UPSTREAM, "aarch64", "protection_domain") == {
        "name",
        "budget",
        "period",
        "priority",
    }
    assert names("virtual_machine", schema.UPSTREAM, "riscv64", "protection_domain") == {"name"}
    assert names("irq", schema.UPSTREAM, "riscv64", "protection_domain", "arm") == {"id", "setvar_id", "irq", "trigger"}
    assert names("irq", schema.UPSTREAM, "x86_64", "protection_domain", "msi") == {
        "id",
        "setvar_id",
        "pcidev",
        "handle",
        "vector",
    }
    # upstream accepts domain_id on every arch and reads it on x86_64 only
    assert "domain_id" in names("io_address_space", schema.UPSTREAM, "aarch64", "system")
    assert names("map", schema.EXTENDED, "aarch64", "virtual_machine") == {"mr", "vaddr", "perms", "cached"}
    assert "setvar_slot" not in names("cap_tcb", schema.UPSTREAM, "aarch64", "cspace")
    # computed once per context
    assert names("map", schema.EXTENDED, "aarch64", "virtual_machine") is names(
        "map", schema.EXTENDED, "aarch64", "virtual_machine"
    )
