"""Every diagnostic code of design/extensions.md: a snippet that triggers it and a close
snippet that does not, each through `sdf-lsp check --format json`."""

import json
import shutil
import subprocess

import pytest

from sdf_lsp.cli import main

from .conftest import require


def system(*parts: str) -> str:
    return "<system>\n" + "\n".join(parts) + "\n</system>\n"


def pd(name: str, body: str = "", attrs: str = "") -> str:
    return f'<protection_domain name="{name}" {attrs}><program_image path="{name}.elf"/>{body}</protection_domain>'


def cspace(body: str, attrs: str = "") -> str:
    return f"<cspace {attrs}>{body}</cspace>"


W = pd("w", attrs='priority="10"')
HANDOFF_MR = '<memory_region name="info" size="0x1000" prefill_bootinfo="post_capdl_untypeds"/>'
HANDOFF_MAP = '<map mr="info" vaddr="0x2000000" perms="r"/>'
SMALL_RAM = {"arch": "aarch64", "arm_smc": True, "normal_regions": [{"start": 0x60000000, "end": 0xA0000000}]}

# code -> (triggering system, close system that does not trigger it, extra CLI args)
CASES = {
    "CS001": (
        system(W, pd("s", cspace('<cap_tcb slot="0" pd="w"/>'))),
        system(W, pd("s", cspace('<cap_tcb slot="1" pd="w"/>'))),
        [],
    ),
    "CS002": (
        system(W, pd("s", cspace('<cap_tcb slot="130" pd="w"/>', 'size_bits="7"'))),
        system(W, pd("s", cspace('<cap_tcb slot="100" pd="w"/>', 'size_bits="7"'))),
        [],
    ),
    "CS003": (
        system(W, pd("s", cspace('<cap_tcb slot="100" pd="w"/>'))),
        system(W, pd("s", cspace('<cap_tcb slot="100" pd="w"/>', 'size_bits="7"'))),
        [],
    ),
    "CS004": (
        system(W, pd("s", cspace('<cap_tcb slot="130" pd="w"/>'))),
        system(W, pd("s", cspace('<cap_tcb slot="10" pd="w"/>'))),
        ["--dialect", "microkit-2.3"],
    ),
    "CS005": (
        system(W, pd("s", cspace('<cap_tcb slot="1" pd="w"/><cap_sc slot="1" pd="w"/>'))),
        system(W, pd("s", cspace('<cap_tcb slot="1" pd="w"/><cap_sc slot="2" pd="w"/>'))),
        [],
    ),
    "CS006": (
        system(W, pd("s", cspace('<cap_tcb slot="1" pd="nobody"/>'))),
        system(W, pd("s", cspace('<cap_tcb slot="1" pd="w"/>'))),
        [],
    ),
    "CS007": (
        system(W, pd("s", cspace('<cap_gerbils slot="1" pd="w"/>'))),
        system(W, pd("s", cspace('<cap_tcb slot="1" pd="w"/>'))),
        [],
    ),
    "CS008": (
        system(W, pd("s", cspace('<capital slot="1"/>'))),
        system(W, pd("s", cspace('<reserve slot="1" count="2"/>'))),
        [],
    ),
    "CS009": (system(W, pd("s", cspace("") + cspace(""))), system(W, pd("s", cspace(""))), []),
    "CS010": (
        system(W, pd("s", cspace('<cap_cspace slot="1" pd="w"/>'))),
        system(W, pd("s", cspace('<cap_vspace slot="1" pd="w"/>'))),
        [],
    ),
    "CS011": (
        system(W, pd("s", cspace('<cap_tcb slot="1" pd="w"/><cap_tcb slot="2" pd="w"/>'))),
        system(W, pd("s", cspace('<cap_tcb slot="1" pd="w"/><cap_tcb slot="2" pd="s"/>'))),
        [],
    ),
    "CS012": (
        system(W, pd("s", cspace('<cap_tcb slot="1" pd="w"/>'))),
        system(W, pd("s", cspace('<cap_tcb slot="1" pd="s"/>'))),
        [],
    ),
    "CS013": (
        system(pd("w", attrs='passive="true"'), pd("s", cspace('<cap_sc slot="1" pd="w"/>'))),
        system(W, pd("s", cspace('<cap_sc slot="1" pd="w"/>'))),
        [],
    ),
    "CS014": (
        system(pd("s", cspace('<cap_smc slot="1" function_id="0x84000000"/>'))),
        system(pd("s", cspace('<cap_smc slot="1" function_id="0x84000000"/>'))),
        ["--board", "qemu_virt_riscv64"],
    ),
    "CS015": (
        system(pd("s", cspace('<cap_smc slot="1" function_id="0"/>'))),
        system(pd("s", cspace('<cap_smc slot="1" function_id="0x84000000"/>'))),
        [],
    ),
    "CS016": (
        system(W, pd("s", cspace('<cap_notification slot="1" pd="w" rights="r"/>'))),
        system(W, pd("s", cspace('<cap_notification slot="1" pd="w" rights="w"/>'))),
        [],
    ),
    "CS017": (
        system(W, pd("s", cspace('<cap_notification slot="1" pd="w" badge="zz"/>'))),
        system(W, pd("s", cspace('<cap_notification slot="1" pd="w" badge="0x1"/>'))),
        [],
    ),
    "FH001": (
        system(pd("c", attrs='fault_handler="nobody" fault_id="0"'), W),
        system(pd("c", attrs='fault_handler="w" fault_id="0"'), W),
        [],
    ),
    "FH002": (
        system(pd("p", pd("c", attrs='id="0" fault_handler="w" fault_id="1"')), W),
        system(pd("p", pd("c", attrs='id="0"')), pd("x", attrs='fault_handler="w" fault_id="1"'), W),
        [],
    ),
    "FH003": (
        system(pd("c", attrs='fault_handler="w"'), W),
        system(pd("c", attrs='fault_handler="w" fault_id="3"'), W),
        [],
    ),
    "FH004": (
        system(pd("h", pd("k", attrs='id="2"'), 'priority="50"'), pd("c", attrs='fault_handler="h" fault_id="2"')),
        system(pd("h", pd("k", attrs='id="2"'), 'priority="50"'), pd("c", attrs='fault_handler="h" fault_id="3"')),
        [],
    ),
    "FH005": (
        system(
            '<memory_region name="ram" size="0x1000"/>',
            pd(
                "h",
                '<virtual_machine name="vm"><vcpu id="0"/><map mr="ram" vaddr="0x0"/></virtual_machine>',
                'priority="50"',
            ),
            pd("c", attrs='fault_handler="h" fault_id="1"'),
        ),
        system(
            '<memory_region name="ram" size="0x1000"/>',
            pd(
                "h",
                '<virtual_machine name="vm"><vcpu id="0"/><map mr="ram" vaddr="0x0"/></virtual_machine>',
                'priority="50"',
            ),
            pd("c"),
            pd("d", attrs='priority="60"'),
            pd("e", attrs='fault_handler="d" fault_id="1"'),
        ),
        ["--board", "x86_64_generic_vtx"],
    ),
    "FH006": (
        system(pd("h", attrs='priority="10"'), pd("c", attrs='priority="20" fault_handler="h" fault_id="0"')),
        system(pd("h", attrs='priority="30"'), pd("c", attrs='priority="20" fault_handler="h" fault_id="0"')),
        [],
    ),
    "UT001": (
        system(
            '<untyped name="u" size="0x1000" size_bits="12"/>', pd("s", cspace('<cap_untyped slot="1" untyped="u"/>'))
        ),
        system('<untyped name="u" size="0x1000"/>', pd("s", cspace('<cap_untyped slot="1" untyped="u"/>'))),
        [],
    ),
    "UT002": (
        system('<untyped name="u" size="0x180000"/>', pd("s", cspace('<cap_untyped slot="1" untyped="u"/>'))),
        system('<untyped name="u" size="0x100000"/>', pd("s", cspace('<cap_untyped slot="1" untyped="u"/>'))),
        [],
    ),
    "UT003": (
        system('<untyped name="u" size_bits="50"/>', pd("s", cspace('<cap_untyped slot="1" untyped="u"/>'))),
        system('<untyped name="u" size_bits="20"/>', pd("s", cspace('<cap_untyped slot="1" untyped="u"/>'))),
        [],
    ),
    "UT004": (
        system('<untyped name="u" size_bits="10"/>', pd("s", cspace('<cap_untyped slot="1" untyped="u"/>'))),
        system('<untyped name="u" size_bits="12"/>', pd("s", cspace('<cap_untyped slot="1" untyped="u"/>'))),
        [],
    ),
    "UT005": (
        system(
            '<untyped name="u" size_bits="21" phys_addr="0x70001000"/>',
            pd("s", cspace('<cap_untyped slot="1" untyped="u"/>')),
        ),
        system(
            '<untyped name="u" size_bits="21" phys_addr="0x70000000"/>',
            pd("s", cspace('<cap_untyped slot="1" untyped="u"/>')),
        ),
        [],
    ),
    "UT006": (
        system(
            '<untyped name="u" size_bits="21" phys_addr="0x70000000"/>',
            '<memory_region name="m" size="0x1000" phys_addr="0x70100000"/>',
            pd("s", cspace('<cap_untyped slot="1" untyped="u"/>') + '<map mr="m" vaddr="0x2000000"/>'),
        ),
        system(
            '<untyped name="u" size_bits="21" phys_addr="0x70000000"/>',
            '<memory_region name="m" size="0x1000" phys_addr="0x70200000"/>',
            pd("s", cspace('<cap_untyped slot="1" untyped="u"/>') + '<map mr="m" vaddr="0x2000000"/>'),
        ),
        [],
    ),
    "UT007": (
        system(
            '<untyped name="u" size_bits="21" device="true"/>', pd("s", cspace('<cap_untyped slot="1" untyped="u"/>'))
        ),
        system(
            '<untyped name="u" size_bits="21" device="true" phys_addr="0x10000000"/>',
            pd("s", cspace('<cap_untyped slot="1" untyped="u"/>')),
        ),
        [],
    ),
    "UT008": (
        system(
            '<untyped name="u" size_bits="20"/>',
            pd("a", cspace('<cap_untyped slot="1" untyped="u"/>')),
            pd("b", cspace('<cap_untyped slot="1" untyped="u"/>')),
        ),
        system(
            '<untyped name="u" size_bits="20"/>',
            '<untyped name="v" size_bits="20"/>',
            pd("a", cspace('<cap_untyped slot="1" untyped="u"/>')),
            pd("b", cspace('<cap_untyped slot="1" untyped="v"/>')),
        ),
        [],
    ),
    "UT009": (
        system('<untyped name="u" size_bits="20"/>', pd("s")),
        system('<untyped name="u" size_bits="20"/>', pd("s", cspace('<cap_untyped slot="1" untyped="u"/>'))),
        [],
    ),
    "UT010": (
        system('<untyped name="u" size_bits="20"/>', pd("s", cspace('<cap_untyped slot="1" untyped="v"/>'))),
        system('<untyped name="u" size_bits="20"/>', pd("s", cspace('<cap_untyped slot="1" untyped="u"/>'))),
        [],
    ),
    "UT011": (
        system('<untyped name="u" size_bits="32"/>', pd("s", cspace('<cap_untyped slot="1" untyped="u"/>'))),
        system('<untyped name="u" size_bits="29"/>', pd("s", cspace('<cap_untyped slot="1" untyped="u"/>'))),
        [],
    ),
    "UT012": (
        system(
            '<untyped name="u" size_bits="30"/>',
            '<memory_region name="m" size="0x18000000"/>',
            pd("s", cspace('<cap_untyped slot="1" untyped="u"/>') + '<map mr="m" vaddr="0x40000000"/>'),
        ),
        system(
            '<untyped name="u" size_bits="30"/>',
            '<memory_region name="m" size="0x8000000"/>',
            pd("s", cspace('<cap_untyped slot="1" untyped="u"/>') + '<map mr="m" vaddr="0x40000000"/>'),
        ),
        [],
    ),
    "UT013": (
        system('<untyped name="u" size_bits="30"/>', pd("s", cspace('<cap_untyped slot="1" untyped="u"/>'))),
        system('<untyped name="u" size_bits="29"/>', pd("s", cspace('<cap_untyped slot="1" untyped="u"/>'))),
        ["--target", SMALL_RAM],
    ),
    "UT014": (system(pd("s")), system(pd("s")), ["--board", "x86_64_generic"]),
    "UT015": (
        system(
            '<untyped name="u" size_bits="20"/>',
            '<untyped name="u" size_bits="21"/>',
            pd("s", cspace('<cap_untyped slot="1" untyped="u"/>')),
        ),
        system('<untyped name="u" size_bits="20"/>', pd("s", cspace('<cap_untyped slot="1" untyped="u"/>'))),
        [],
    ),
    "UH001": (
        system(
            '<cnode name="a" size_bits="9" post_capdl_untypeds="true"/>',
            '<cnode name="b" size_bits="9" post_capdl_untypeds="true"/>',
            HANDOFF_MR,
            pd("s", HANDOFF_MAP + cspace('<cap_cnode slot="1" cnode_name="a"/><cap_cnode slot="2" cnode_name="b"/>')),
        ),
        system(
            '<cnode name="a" size_bits="9" post_capdl_untypeds="true"/>',
            '<cnode name="b" size_bits="9"/>',
            HANDOFF_MR,
            pd("s", HANDOFF_MAP + cspace('<cap_cnode slot="1" cnode_name="a"/><cap_cnode slot="2" cnode_name="b"/>')),
        ),
        [],
    ),
    "UH002": (
        system('<cnode name="a" size_bits="9" post_capdl_untypeds="true"/>', pd("s")),
        system(
            '<cnode name="a" size_bits="9" post_capdl_untypeds="true"/>',
            HANDOFF_MR,
            pd("s", HANDOFF_MAP + cspace('<cap_cnode slot="1" cnode_name="a"/>')),
        ),
        [],
    ),
    "UH003": (
        system(
            '<cnode name="a" size_bits="4" post_capdl_untypeds="true"/>',
            HANDOFF_MR,
            pd("s", HANDOFF_MAP + cspace('<cap_cnode slot="1" cnode_name="a"/>')),
        ),
        system(
            '<cnode name="a" size_bits="9" post_capdl_untypeds="true"/>',
            HANDOFF_MR,
            pd("s", HANDOFF_MAP + cspace('<cap_cnode slot="1" cnode_name="a"/>')),
        ),
        [],
    ),
    "UH004": (
        system(
            '<cnode name="a" size_bits="9" post_capdl_untypeds="true"/>',
            pd("s", cspace('<cap_cnode slot="1" cnode_name="a"/>')),
        ),
        system(
            '<cnode name="a" size_bits="9" post_capdl_untypeds="true"/>',
            HANDOFF_MR,
            pd("s", HANDOFF_MAP + cspace('<cap_cnode slot="1" cnode_name="a"/>')),
        ),
        [],
    ),
    "UH005": (
        system(
            '<cnode name="a" size_bits="9" post_capdl_untypeds="true"/>',
            HANDOFF_MR,
            pd("s", HANDOFF_MAP + cspace('<cap_cnode slot="1" cnode_name="a"/>')),
        ),
        system('<cnode name="a" size_bits="9"/>', pd("s", cspace('<cap_cnode slot="1" cnode_name="a"/>'))),
        [],
    ),
    "UH006": (
        system(
            '<memory_region name="m" size="0x1000" receive_all_untypeds="true"/>',
            pd("s", '<map mr="m" vaddr="0x2000000"/>'),
        ),
        system('<memory_region name="m" size="0x1000"/>', pd("s", '<map mr="m" vaddr="0x2000000"/>')),
        [],
    ),
    "CN001": (system(pd("s", cspace("", 'size_bits="0"'))), system(pd("s", cspace("", 'size_bits="7"'))), []),
    "CN002": (
        system(pd("s", cspace('<reserve slot="120" count="16" setvar_slot="r"/>', 'size_bits="7"'))),
        system(pd("s", cspace('<reserve slot="120" count="8" setvar_slot="r"/>', 'size_bits="7"'))),
        [],
    ),
    "CN003": (
        system(pd("s", cspace('<reserve count="70" setvar_cptr="r"/>'))),
        system(pd("s", cspace('<reserve count="10" setvar_cptr="r"/>'))),
        [],
    ),
    "CN004": (
        system(W, pd("s", cspace('<cap_tcb slot="5" pd="w"/><reserve slot="2" count="8"/>'))),
        system(W, pd("s", cspace('<cap_tcb slot="5" pd="w"/><reserve slot="10" count="8"/>'))),
        [],
    ),
    "CN005": (system(pd("s", cspace("", 'size_bits="12"'))), system(pd("s", cspace("", 'size_bits="7"'))), []),
    "CN006": (
        system(
            '<cnode name="a" size_bits="4"/>',
            '<cnode name="a" size_bits="5"/>',
            pd("s", cspace('<cap_cnode slot="1" cnode_name="a"/>')),
        ),
        system('<cnode name="a" size_bits="4"/>', pd("s", cspace('<cap_cnode slot="1" cnode_name="a"/>'))),
        [],
    ),
    "CN007": (
        system('<cnode name="a" size_bits="4"/>', pd("s", cspace('<cap_cnode slot="1" cnode_name="b"/>'))),
        system('<cnode name="a" size_bits="4"/>', pd("s", cspace('<cap_cnode slot="1" cnode_name="a"/>'))),
        [],
    ),
    "CN008": (
        system(
            '<cnode name="a" size_bits="4"/>',
            pd("s", cspace('<cap_cnode slot="1" cnode_name="a"/>')),
            pd("t", cspace('<cap_cnode slot="1" cnode_name="a"/>')),
        ),
        system(
            '<cnode name="a" size_bits="4"/>',
            '<cnode name="b" size_bits="4"/>',
            pd("s", cspace('<cap_cnode slot="1" cnode_name="a"/>')),
            pd("t", cspace('<cap_cnode slot="1" cnode_name="b"/>')),
        ),
        [],
    ),
    "CN009": (
        system('<cnode name="a" size_bits="4"/>', pd("s")),
        system('<cnode name="a" size_bits="4"/>', pd("s", cspace('<cap_cnode slot="1" cnode_name="a"/>'))),
        [],
    ),
    "CN010": (
        system(pd("s", cspace('<reserve count="4"/>'))),
        system(pd("s", cspace('<reserve count="4" setvar_slot="r"/>'))),
        [],
    ),
    "CN013": (
        system(W, pd("s", cspace('<cap_tcb slot="1" pd="w" setvar_slot="x"/>', 'size_bits="7"'))),
        system(W, pd("s", cspace('<cap_tcb slot="1" pd="w" setvar_cptr="x"/>', 'size_bits="7"'))),
        [],
    ),
    "EX001": (
        system('<untyped name="u" size_bits="20"/>', pd("s", cspace('<cap_untyped slot="1" untyped="u"/>'))),
        system(W, pd("s", cspace('<cap_tcb slot="1" pd="w"/>'))),
        ["--dialect", "microkit-2.3"],
    ),
}

SPEC_CODES = (
    {f"CS{i:03d}" for i in range(1, 18)}
    | {f"FH{i:03d}" for i in range(1, 8)}
    | {f"UT{i:03d}" for i in range(1, 15)}
    | {f"UH{i:03d}" for i in range(1, 7)}
    | {f"CN{i:03d}" for i in range(1, 11)}
    | {"CN013", "EX001"}
)


def check(tmp_path, name: str, text: str, extra: list) -> list[dict]:
    args = []
    for a in extra:
        if isinstance(a, dict):
            t = tmp_path / f"{name}.target.json"
            t.write_text(json.dumps(a))
            a = str(t)
        args.append(a)
    f = tmp_path / f"{name}.system"
    f.write_text(text)
    import io
    from contextlib import redirect_stdout

    buf = io.StringIO()
    with redirect_stdout(buf):
        main(["check", *args, "--format", "json", str(f)])
    return json.loads(buf.getvalue())


@pytest.mark.parametrize("code", sorted(CASES))
def test_code_is_triggered_and_a_close_snippet_is_not(tmp_path, code):
    bad, good, extra = CASES[code]
    bad_codes = {d["code"] for d in check(tmp_path, "bad", bad, extra)}
    assert code in bad_codes, bad_codes
    good_extra = [] if code in ("UT014", "CS014", "UT013") else extra
    good_codes = {d["code"] for d in check(tmp_path, "good", good, good_extra)}
    assert code not in good_codes, good_codes


def test_every_specified_code_has_a_case():
    assert SPEC_CODES - set(CASES) == {"FH007"}  # needs a program image: test_fault_symbol below


@pytest.fixture(scope="module")
def elves(tmp_path_factory):
    """Two tiny host ELFs, one with a `fault` function and one without."""
    require(shutil.which("gcc") is not None, "gcc is not installed")
    d = tmp_path_factory.mktemp("elves")
    for name, body in (
        ("with_fault", "void fault(void) {}\nvoid _start(void) { for (;;) {} }\n"),
        ("without", "void notified(void) {}\nvoid _start(void) { for (;;) {} }\n"),
    ):
        (d / f"{name}.c").write_text(body)
        subprocess.run(["gcc", "-nostdlib", "-static", "-o", str(d / f"{name}.elf"), str(d / f"{name}.c")], check=True)
    return d


def test_fault_symbol(tmp_path, elves):
    def sdf(image):
        return system(
            f'<protection_domain name="h" priority="50"><program_image path="{image}"/></protection_domain>',
            pd("c", attrs='priority="10" fault_handler="h" fault_id="0"'),
        )

    bad = check(tmp_path, "bad", sdf("without.elf"), ["--search-path", str(elves)])
    assert any(d["code"] == "FH007" for d in bad)
    good = check(tmp_path, "good", sdf("with_fault.elf"), ["--search-path", str(elves)])
    assert not any(d["code"] == "FH007" for d in good)
