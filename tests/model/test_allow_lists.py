"""The lowering accepts exactly the attributes the schema table allows, for every element
of the table where it may appear: each parent, dialect (every Microkit release), architecture
and IRQ variant."""

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
REJECTED = {"MK-ATTR", "EX001", "REL001"}

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
        container = CONTAINERS[parent]
        if elem == "vcpu":  # Microkit 1.4 takes one vCPU per virtual machine: the one under test
            container = container.replace('<vcpu id="0"/>', "")
        text = container.replace("{X}", text)
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


def _in_dialect(elem: str, parent: str, dialect: str) -> bool:
    """The element and every container around it exist in the dialect."""
    if not schema.accepts(schema.BY_NAME[elem], dialect):
        return False
    while parent != "system":
        if not schema.accepts(schema.BY_NAME[parent], dialect):
            return False
        parent = CONTAINER_PARENT[parent]
    return True


def contexts():
    for e in schema.ELEMENTS:
        if e.name in NOT_LOWERED:
            continue
        for parent in e.parents:
            for dialect in schema.DIALECTS:
                if not _in_dialect(e.name, parent, dialect):
                    continue
                for arch in ARCHES:
                    if e.arches and arch not in e.arches:
                        continue
                    if arch == "x86_64" and schema.release_of(dialect) < (2, 1):
                        continue  # no x86_64 target before Microkit 2.1: one error for the whole file
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
        elif dialect != schema.EXTENDED and a.dialect == schema.EXTENDED:
            expected = "EX001"
        elif any(a.name in schema.attr_names(elem, d, arch, parent, variant) for d in schema.RELEASES):
            expected = "REL001"  # another release accepts it here
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
    # every release is covered, and an element of a later release is not checked in an earlier one
    assert {c[2] for c in CONTEXTS} == set(schema.DIALECTS)
    assert not {c for c in CONTEXTS if c[0] == "cspace" and c[2] != schema.EXTENDED and c[2] != schema.UPSTREAM}


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


def test_the_allow_lists_of_each_release():
    """What each release's parser (`check_attributes` in its sdf.rs) accepts where it changed."""
    names = schema.attr_names
    pd = {
        r: names("protection_domain", f"microkit-{r}", "aarch64", "system") for r in ("1.4", "2.0", "2.1", "2.2", "2.3")
    }
    assert pd["1.4"] == {"name", "priority", "pp", "budget", "period", "passive", "stack_size"}
    assert pd["2.0"] == pd["1.4"] - {"pp"} | {"smc"}
    assert pd["2.1"] == pd["2.0"] | {"cpu"} == pd["2.2"]
    assert pd["2.3"] == pd["2.2"] | {"domain", "fpu"}
    child = {r: names("protection_domain", f"microkit-{r}", "aarch64", "protection_domain") for r in ("2.0", "2.1")}
    assert child["2.1"] - child["2.0"] == {"setvar_id", "cpu"}
    end = {r: names("end", f"microkit-{r}", "aarch64", "channel") for r in ("1.4", "2.0", "2.1")}
    assert end["1.4"] == {"pd", "id"} and end["2.0"] == {"pd", "id", "pp", "notify"}
    assert end["2.1"] == end["2.0"] | {"setvar_id"}
    pd_map = {r: names("map", f"microkit-{r}", "aarch64", "protection_domain") for r in ("1.4", "2.0", "2.2")}
    assert pd_map["1.4"] == {"mr", "vaddr", "perms", "cached", "setvar_vaddr"}
    assert pd_map["2.2"] - pd_map["2.0"] == {"setvar_prefill_size"} and pd_map["2.0"] - pd_map["1.4"] == {"setvar_size"}
    mr = {r: names("memory_region", f"microkit-{r}", "aarch64", "system") for r in ("2.1", "2.2", "2.3")}
    assert mr["2.1"] == {"name", "size", "page_size", "phys_addr"}
    assert mr["2.2"] == mr["2.1"] | {"prefill_path"} and mr["2.3"] == mr["2.2"] | {"prefill_bootinfo"}
    # before 2.3 a virtual machine has its scheduling parameters on every arch
    assert names("virtual_machine", "microkit-2.2", "riscv64", "protection_domain") == {
        "name",
        "budget",
        "period",
        "priority",
    }
    assert names("vcpu", "microkit-2.0", "aarch64", "virtual_machine") == {"id"}
    assert names("vcpu", "microkit-2.1", "aarch64", "virtual_machine") == {"id", "setvar_id", "cpu"}
    assert names("irq", "microkit-2.0", "aarch64", "protection_domain", "arm") == {"id", "irq", "trigger"}
    assert names("program_image", "microkit-2.1", "aarch64", "protection_domain") == {"path"}
    # the schema says which releases each entry belongs to
    assert not schema.accepts(schema.BY_NAME["domains"], "microkit-2.2")
    assert schema.accepts(schema.BY_NAME["ioport"], "microkit-2.1")
    assert not schema.accepts(schema.BY_NAME["ioport"], "microkit-2.0")
    assert schema.is_required(schema.BY_NAME["memory_region"].attr_map["size"], "microkit-2.1")
    assert not schema.is_required(schema.BY_NAME["memory_region"].attr_map["size"], "microkit-2.2")
