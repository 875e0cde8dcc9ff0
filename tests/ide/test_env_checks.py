"""Diagnostics from the program images on the search paths, in-process. The wording is the
checks' own; these tests hold the code, severity, place and the names a message must give."""

from pathlib import Path

from sdf_lsp.diagnostics import INFORMATION, WARNING
from sdf_lsp.ide.env_checks import program_diagnostics

from .fixture import wrap

DATA = Path(__file__).resolve().parents[1] / "image" / "data"


def found(f) -> list[tuple[int, str, str, str]]:
    """(severity, code, covered text, message) per diagnostic."""
    return [
        (d.severity, d.code, f.covered(d.span.start, d.span.end), d.message)
        for d in program_diagnostics(f.analysis, f.env)
    ]


def test_a_missing_program_image_is_information():
    """Said when another image of the system is found (so the search paths are set up)."""
    f = wrap(
        '<protection_domain name="p"><program_image path="nowhere.elf" /></protection_domain>'
        '<protection_domain name="q"><program_image path="dwarf_sample.elf" /></protection_domain>',
        paths=[DATA],
    )
    ((severity, code, covered, message),) = found(f)
    assert (severity, code, covered) == (INFORMATION, "SDF016", "nowhere.elf")
    assert "nowhere.elf" in message


def test_no_program_image_found_says_nothing():
    """Nothing built yet (or no search path): every image would be marked, so none is."""
    f = wrap('<protection_domain name="p"><program_image path="nowhere.elf" /></protection_domain>', paths=[DATA])
    assert found(f) == []


def test_an_image_that_is_no_elf_is_a_warning(tmp_path):
    (tmp_path / "junk.elf").write_bytes(b"nope")
    f = wrap('<protection_domain name="p"><program_image path="junk.elf" /></protection_domain>', paths=[tmp_path])
    ((severity, code, covered, message),) = found(f)
    assert (severity, code, covered) == (WARNING, "SDF016", "junk.elf")
    assert "junk.elf" in message


def test_setvar_symbols_missing_or_not_a_word_are_warnings():
    f = wrap(
        """
        <memory_region name="m" size="0x1000" />
        <protection_domain name="p">
            <program_image path="dwarf_sample.elf" />
            <map mr="m" vaddr="0x1000" setvar_vaddr="helper" />
            <map mr="m" vaddr="0x2000" setvar_vaddr="nope" />
            <map mr="m" vaddr="0x3000" setvar_vaddr="counter" />
        </protection_domain>
        """,
        paths=[DATA],
    )
    got = found(f)
    assert [(s, c, t) for s, c, t, _ in got] == [(WARNING, "SDF016", "helper"), (WARNING, "SDF016", "nope")]
    assert "15" in got[0][3] and "8" in got[0][3]
    assert "nope" in got[1][3] and "dwarf_sample.elf" in got[1][3]


def test_a_missing_symbols_file_is_information():
    f = wrap(
        '<protection_domain name="p"><program_image path="dwarf_sample.elf" path_for_symbols="nodebug.elf" />'
        "</protection_domain>",
        paths=[DATA],
    )
    assert [(s, c, t) for s, c, t, _ in found(f)] == [(INFORMATION, "SDF016", "nodebug.elf")]


def test_a_fault_handler_without_a_fault_entry_point():
    f = wrap(
        """
        <protection_domain name="h"><program_image path="dwarf_sample.elf" /></protection_domain>
        <protection_domain name="p" fault_handler="h" fault_id="0"><program_image path="dwarf_sample.elf" /></protection_domain>
        """,
        paths=[DATA],
    )
    ((severity, code, covered, message),) = found(f)
    assert (severity, code, covered) == (INFORMATION, "FH007", "h")
    assert "fault" in message


def test_nothing_to_say_without_a_system_or_with_every_image_found():
    assert program_diagnostics(wrap("").analysis, wrap("").env) == []
    f = wrap('<protection_domain name="p"><program_image path="dwarf_sample.elf" /></protection_domain>', paths=[DATA])
    assert found(f) == []


def test_the_mr_prefill_golden_system_finds_its_image_and_symbols(shared):
    from .fixture import fixture

    system = shared / "golden" / "systems" / "mr_prefill"
    f = fixture(
        (system / "mr_prefill.system").read_text(),
        dedent=False,
        paths=[shared / "golden" / "elf" / "mr_prefill", system],
    )
    assert [d for d in f.analysis.diagnostics if d.severity <= WARNING] == []
    assert found(f) == []
