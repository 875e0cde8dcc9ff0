"""Each Microkit release's own rules and messages (its `sdf.rs` at the release tag), where they
differ from the next release's: one document per difference, checked in the releases on both
sides of it."""

from __future__ import annotations

from dataclasses import replace

import pytest

from sdf_lsp.analysis import analyse
from sdf_lsp.diagnostics import ERROR
from sdf_lsp.model.lower import Context
from sdf_lsp.target.boards import board_target

BOARDS = {"aarch64": "qemu_virt_aarch64", "riscv64": "qemu_virt_riscv64", "x86_64": "x86_64_generic_vtx"}


def target(arch: str = "aarch64", **kw):
    return replace(board_target(BOARDS[arch]), **kw)


def errors(body: str, release: str, arch: str = "aarch64", **kw) -> list[tuple[str, str]]:
    dialect = release if release == "extended" else f"microkit-{release}"
    a = analyse(f"<system>{body}</system>", Context(target(arch, **kw), dialect))
    return [(d.code, d.message) for d in a.diagnostics if d.severity == ERROR]


def messages(body: str, release: str, arch: str = "aarch64", **kw) -> list[str]:
    return [m for _, m in errors(body, release, arch, **kw)]


def pd(inner: str = "", attrs: str = "", name: str = "a") -> str:
    return f'<protection_domain name="{name}" {attrs}><program_image path="{name}.elf"/>{inner}</protection_domain>'


MR = '<memory_region name="m" size="0x1000"/>'


# -- elements and attributes of other releases ------------------------------------------------
@pytest.mark.parametrize(
    "body,release,expected",
    [
        (pd(attrs='pp="true"'), "1.4", []),
        (pd(attrs='pp="yes"'), "1.4", ["pp must be 'true' or 'false' on element 'protection_domain'"]),
        (
            pd(attrs='pp="true"'),
            "2.0",
            ["invalid attribute 'pp' on element 'protection_domain' (Microkit 1.4 only)"],
        ),
        (
            pd(attrs='smc="true"'),
            "1.4",
            ["invalid attribute 'smc' on element 'protection_domain' (Microkit 2.0 and later)"],
        ),
        (
            pd(attrs='cpu="0"'),
            "2.0",
            ["invalid attribute 'cpu' on element 'protection_domain' (Microkit 2.1 and later)"],
        ),
        (
            pd(attrs='fpu="false"'),
            "2.2",
            ["invalid attribute 'fpu' on element 'protection_domain' (Microkit 2.3 and later)"],
        ),
        (pd("<cspace/>"), "2.2", ["Invalid XML element 'cspace' (Microkit 2.3 and later)"]),
        (
            '<domains><domain name="d"/><domain_schedule><schedule_entry domain="d" duration="1 us"/></domain_schedule>'
            "</domains>" + pd(attrs='domain="d"'),
            "2.2",
            [
                "invalid XML element 'domains' (Microkit 2.3 and later)",
                "invalid attribute 'domain' on element 'protection_domain' (Microkit 2.3 and later)",
            ],
        ),
        (
            '<io_address_space name="i" peripheral_id="0:1.0"/>' + pd(),
            "1.4",
            ["Invalid XML element 'io_address_space' (Microkit 2.3 and later)"],
        ),
        (
            '<protection_domain name="a"><program_image path="b.elf" path_for_symbols="c.elf"/></protection_domain>',
            "2.1",
            ["invalid attribute 'path_for_symbols' on element 'program_image' (Microkit 2.2 and later)"],
        ),
        (
            '<memory_region name="m" prefill_path="f.bin"/>' + pd('<map mr="m" vaddr="0x400000"/>'),
            "2.1",
            [
                "Missing required attribute 'size' on element 'memory_region'",
                "invalid attribute 'prefill_path' on element 'memory_region' (Microkit 2.2 and later)",
            ],
        ),
        (
            pd('<map mr="m" vaddr="0x400000" setvar_size="s"/>') + MR,
            "1.4",
            ["invalid attribute 'setvar_size' on element 'map' (Microkit 2.0 and later)"],
        ),
        (
            pd(name="a") + pd(name="b") + '<channel><end pd="a" id="1" pp="true"/><end pd="b" id="1"/></channel>',
            "1.4",
            ["invalid attribute 'pp' on element 'end' (Microkit 2.0 and later)"],
        ),
        (
            pd('<irq irq="33" id="1" setvar_id="x"/>'),
            "2.0",
            ["invalid attribute 'setvar_id' on element 'irq' (Microkit 2.1 and later)"],
        ),
        (pd('<irq id="1"/>'), "2.0", ["Missing required attribute 'irq' on element 'irq'"]),
        (
            pd('<ioport id="0" addr="0x3f8" size="8"/>'),
            "2.0",
            ["Invalid XML element 'ioport' (Microkit 2.1 and later)"],
        ),
        ("<virtual_machine/>" + pd(), "1.4", ["Invalid XML element 'virtual_machine'"]),
        ("<virtual_machine/>" + pd(), "2.0", ["virtual machine must be a child of a protection domain"]),
        ("<foo/>" + pd(), "1.4", ["Invalid XML element 'foo'"]),
        ("<foo/>" + pd(), "2.0", ["invalid XML element 'foo'"]),
    ],
)
def test_what_each_release_accepts(body, release, expected):
    assert messages(body, release) == expected


def test_virtual_machines_by_release():
    vm = '<virtual_machine name="v"><vcpu id="0"/><vcpu id="1"/></virtual_machine>'
    assert messages(pd(vm), "1.4") == ["vcpu must only be specified once on element 'virtual_machine'"]
    assert messages(pd(vm), "2.0") == []
    # 1.4 and 2.0 do not check for a hypervisor kernel; 2.1 misspells its message
    assert messages(pd(vm), "2.0", hypervisor=False) == []
    assert messages(pd(vm), "2.1", hypervisor=False) == [
        "seL4 has not been built as a hypervisor, virtual machiens are disabled on element 'protection_domain'"
    ]
    assert messages(pd(vm), "2.2", hypervisor=False) == [
        "seL4 has not been built as a hypervisor, virtual machines are disabled on element 'protection_domain'"
    ]
    # a VM's scheduling parameters on RISC-V: every release before 2.3
    sched = pd('<virtual_machine name="v" budget="10" priority="3"><vcpu id="0"/></virtual_machine>')
    assert messages(sched, "2.2", "riscv64", hypervisor=True) == []
    assert messages(sched, "2.3", "riscv64", hypervisor=True) == [
        "invalid attribute 'budget' on element 'virtual_machine' (Microkit 1.4 to 2.2)",
        "invalid attribute 'priority' on element 'virtual_machine' (Microkit 1.4 to 2.2)",
    ]
    # 1.4 checks no map of a virtual machine; 1.4 and 2.0 compare whole VMs, not names
    vm_map = pd('<virtual_machine name="v"><vcpu id="0"/><map mr="nope" vaddr="0x1000"/></virtual_machine>')
    assert messages(vm_map, "1.4") == []
    assert messages(vm_map, "2.0") == ["invalid memory region name 'nope' on 'map'"]
    two = pd('<virtual_machine name="v"><vcpu id="0"/></virtual_machine>', name="a") + pd(
        '<virtual_machine name="v"><vcpu id="{}"/></virtual_machine>', name="b"
    )
    assert messages(two.format(0), "2.0") == ["duplicate virtual machine name 'v'."]
    assert messages(two.format(1), "2.0") == []
    assert messages(two.format(1), "2.1") == ["duplicate virtual machine name 'v'."]


def test_cpu_messages_by_release():
    over = pd(attrs='cpu="2"')
    assert messages(over, "2.1") == ["cpu core must be less than 1, got cpu02 on element 'protection_domain'"]
    assert messages(over, "2.2") == ["cpu core must be less than 1, got 2 on element 'protection_domain'"]
    vcpu = pd('<virtual_machine name="v"><vcpu id="0" cpu="3"/></virtual_machine>')
    assert messages(vcpu, "2.2") == ["cpu core must be less than 1, got cpu03 on element 'vcpu'"]
    assert messages(vcpu, "2.3") == ["cpu core must be less than 1, got 3 on element 'vcpu'"]
    crash = messages(pd(attrs='cpu="300"'), "2.1")
    assert crash == [
        "cpu core must be between 0 and 255, got 300 (the Microkit 2.1 tool crashes on this value) on element 'protection_domain'"
    ]


def test_map_bounds_by_release():
    high = MR + pd('<map mr="m" vaddr="0x1000000000000000"/>')
    assert messages(high, "1.4") == []  # 1.4 bounds no vaddr
    # before 2.3 the bound is the arch's fixed user top minus the stack (0x1000 by default before 2.1)
    assert messages(high, "2.0") == ["vaddr (0x1000000000000000) must be less than 0xfffffff000 on element 'map'"]
    assert messages(high, "2.2") == ["vaddr (0x1000000000000000) must be less than 0xffffffe000 on element 'map'"]
    assert messages(high, "2.3") == ["vaddr (0x1000000000000000) must be less than 0xffffffc000 on element 'map'"]
    # the range of a map is bounded from 2.3 on only
    wide = '<memory_region name="m" size="0x200000000000"/>' + pd('<map mr="m" vaddr="0xe000000000"/>')
    assert messages(wide, "2.2") == []
    assert len(messages(wide, "2.3")) == 1


def test_channels_and_globals_by_release():
    ppc = (
        pd(name="a", attrs='priority="5"')
        + pd(name="b", attrs='priority="1"')
        + '<channel><end pd="a" id="1" pp="true"/><end pd="b" id="1"/></channel>'
    )
    assert any(m.startswith("PPCs must be to protection domains") for m in messages(ppc, "2.0"))
    monitor = pd(name="monitor")
    assert messages(monitor, "2.0") == []
    assert messages(monitor, "2.1") == ["the PD name 'monitor' is reserved for the Microkit Monitor."]
    ends = pd(name="a") + pd(name="b") + '<channel><end pd="a" id="1" setvar_id="x"/><end pd="b" id="1"/></channel>'
    assert messages(ends, "2.0") == ["invalid attribute 'setvar_id' on element 'end' (Microkit 2.1 and later)"]


X86_PD = '<protection_domain name="a"><program_image path="a.elf"/>{}</protection_domain>'


def test_x86_by_release():
    ports = X86_PD.format('<ioport id="0" addr="0x3f8" size="8"/><ioport id="1" addr="0x3fc" size="8"/>')
    assert messages(ports, "2.1", "x86_64") == [
        "I/O port id: 1, inclusive range: [0x3fc, 0x403] in protection domain: 'a' overlaps with "
        "I/O port id: 0, inclusive range: [0x3f8, 0x3ff] in protection domain: 'a'"
    ]
    assert messages(ports, "2.2", "x86_64") == [
        "I/O port id: 1, half-open range: [0x3fc, 0x404) in protection domain: 'a' overlaps with "
        "I/O port id: 0, half-open range: [0x3f8, 0x400) in protection domain: 'a'"
    ]
    setvar = '<memory_region name="m" size="0x1000" phys_addr="0x10000"/>' + X86_PD.format(
        '<map mr="m" vaddr="0x400000"/><setvar symbol="s" region_paddr="m"/>'
    )
    assert messages(setvar, "2.1", "x86_64") == [
        "setvar with 'region_paddr' for MR without a specified paddr is unsupported on x86_64 on element 'protection_domain'"
    ]
    assert messages(setvar, "2.2", "x86_64") == []
    # vectors: no upper bound before 2.3
    vec = X86_PD.format('<irq pin="1" vector="{}" id="1"/>')
    assert messages(vec.format(108), "2.2", "x86_64") == []
    assert messages(vec.format(-1), "2.2", "x86_64") == ["vector must be >= 0 on element 'irq'"]
    assert messages(vec.format(108), "2.3", "x86_64") == ["vector must be within [0..107] on element 'irq'"]
    # MSI pcidev: split at every ':' and '.', signed hex parts, no upper bounds
    msi = X86_PD.format('<irq pcidev="{}" handle="0" vector="0" id="1"/>')
    assert messages(msi.format("0:0:0"), "2.2", "x86_64") == []
    assert messages(msi.format("256:0.0"), "2.2", "x86_64") == []
    assert messages(msi.format("0:-1.0"), "2.2", "x86_64") == ["PCI device must be >= 0 on element 'irq'"]
    assert messages(msi.format("0:0"), "2.2", "x86_64") == ["failed to parse PCI address '0:0' on element 'irq'"]
    assert errors(msi.format("0:g.0"), "2.1", "x86_64") == [
        (
            "SDF018",
            "every part of pcidev '0:g.0' must be a hexadecimal number; the Microkit 2.1 tool crashes on this value",
        )
    ]
    assert messages(msi.format("256:0.0"), "2.3", "x86_64") == ["PCI bus must be within [0..255] on element 'irq'"]
    # a PPC into a PD with a vCPU on x86_64: rejected from 2.3 on
    vmm = X86_PD.format("").replace('"a"', '"c"').replace("c.elf", "a.elf")
    ppc = (
        '<protection_domain name="vmm" priority="10"><program_image path="v.elf"/><virtual_machine name="vm">'
        '<vcpu id="0"/></virtual_machine></protection_domain>'
        + vmm
        + '<channel><end pd="c" id="1" pp="true"/><end pd="vmm" id="1"/></channel>'
    )
    assert messages(ppc, "2.2", "x86_64") == []
    assert len(messages(ppc, "2.3", "x86_64")) == 1


@pytest.mark.parametrize("release", ["1.4", "2.0"])
def test_no_x86_before_2_1(release):
    body = X86_PD.format('<foo/><irq irq="1" id="99"/>') + "<bar/>"
    got = errors(body, release, "x86_64")
    assert got == [
        (
            "REL002",
            f"Microkit {release} has no x86_64 targets (they came with Microkit 2.1): choose a newer SDK or dialect, "
            "or an AArch64 or RISC-V board",
        )
    ]
    a = analyse(f"<system>{body}</system>", Context(target("x86_64"), f"microkit-{release}"))
    assert len(a.diagnostics) == 1 and a.diagnostics[0].span.start == 1  # at the root element's name


def test_prefilled_regions_and_unused_ones():
    body = '<memory_region name="m" size="0x1000"/>' + pd()
    a14 = analyse(f"<system>{body}</system>", Context(target(), "microkit-1.4"))
    a20 = analyse(f"<system>{body}</system>", Context(target(), "microkit-2.0"))
    assert not [d for d in a14.diagnostics if d.code == "MK-W1"]  # 1.4 does not warn
    assert [d.message for d in a20.diagnostics if d.code == "MK-W1"] == ["unused memory region 'm'"]


def test_text_in_system_as_cdata_names_the_system():
    body = "\n  <![CDATA[stray]]>\n  " + pd() + "<![CDATA[later]]>"
    assert errors(body, "extended") == [
        ("MK-T1", "unexpected text found in element 'system'"),
        ("MK-T2", "unexpected text found in element ''"),
    ]
