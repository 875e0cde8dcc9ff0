"""Every command prints a place as the same 1-based `line:col`, the column in code points,
even after a tab and names outside the Basic Multilingual Plane (two UTF-16 units each)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sdf_lsp.cli import main
from tests.conftest import SHARED, require

SDK = SHARED / "golden" / "sdk"
A, B = "\U0001d538", "\U0001d539"  # 𝔸 𝔹

LINE = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): (?P<rest>.*)$")


def place(text: str, needle: str) -> tuple[int, int]:
    """1-based (line, column in code points) of the first `needle` in `text`, counted by hand."""
    before = text[: text.index(needle)]
    line = before.count("\n") + 1
    return line, len(before) - (before.rfind("\n") + 1) + 1


def value_place(text: str, attribute: str) -> tuple[int, int]:
    """Where the value of the first `attribute` (`name="value"` as written) starts."""
    line, col = place(text, attribute)
    return line, col + attribute.index('"') + 1


def utf16_column(text: str, needle: str) -> int:
    before = text[: text.index(needle)]
    head = before[before.rfind("\n") + 1 :]
    return len(head.encode("utf-16-le")) // 2 + 1


def run(capsys, *argv: str) -> tuple[int, list[tuple[int, int, str]]]:
    """(exit status, every (line, col, rest) printed on stdout or stderr, `note:` lines included)."""
    rc = main(list(argv))
    out = capsys.readouterr()
    places = []
    for ln in (out.out + out.err).splitlines():
        m = LINE.match(ln)
        if m:
            places.append((int(m["line"]), int(m["col"]), m["rest"]))
    return rc, places


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def coded(places, code: str) -> list[tuple[int, int]]:
    return [(line, col) for line, col, rest in places if rest.endswith(f"[{code}]")]


# a region whose size is no multiple of the page size: an analysis error, printed by `check`
# and by `build` (which refuses before building); and PPC errors with related places
PRIORITIES = (
    "<system>\n"
    f'\t<memory_region name="{A}{B}" size="0x1001" />\n'
    f'\t<protection_domain name="{A}" priority="100"><program_image path="a.elf" /></protection_domain>\n'
    f'\t<protection_domain name="{B}" priority="50"><program_image path="b.elf" /></protection_domain>\n'
    f'\t<channel><end pd="{A}" id="0" pp="true" /><end pd="{B}" id="0" /></channel>\n'
    "</system>\n"
)


def test_the_rule_is_not_utf16():
    # the systems below would print another column under the LSP rule + 1
    assert place(PRIORITIES, 'size="0x1001"') == (2, 27)
    assert utf16_column(PRIORITIES, 'size="0x1001"') == 29


def test_check_and_build_print_an_analysis_error_at_the_same_place(tmp_path, capsys):
    sdf = write(tmp_path, "p.system", PRIORITIES)
    rc, checked = run(capsys, "check", sdf)
    assert rc == 1
    rc, built = run(capsys, "build", sdf, "--out-dir", str(tmp_path / "out"))
    assert rc == 1 and not (tmp_path / "out").exists()
    size = value_place(PRIORITIES, 'size="0x1001"')
    assert coded(checked, "MK-R7") == coded(built, "MK-R7") == [size]
    # the PPC error and its two related places (`note:` lines), from both commands
    ppc = value_place(PRIORITIES, 'pp="true"')
    notes = [value_place(PRIORITIES, 'priority="50"'), value_place(PRIORITIES, 'priority="100"')]
    for places in (checked, built):
        at = next(i for i, (_, _, rest) in enumerate(places) if rest.endswith("[MK-G9]"))
        assert places[at][:2] == ppc
        assert sorted(p[:2] for p in places[at + 1 : at + 3]) == sorted(notes)
        assert all(p[2].startswith("note: ") for p in places[at + 1 : at + 3])
    # `build` prints the errors only, each line as `check` does
    assert [p for p in checked if not p[2].startswith("warning: ")] == built


def test_a_missing_program_image_is_at_the_same_place_in_check_and_build(tmp_path, capsys):
    require(SDK.is_dir(), f"{SDK} is missing")
    # a second PD whose image is found: then the editor and `check` say which one is missing
    text = (
        f'<system>\n\t<protection_domain name="{A}{B}"><program_image path="missing.elf" /></protection_domain>\n'
        '<protection_domain name="other"><program_image path="found.elf" /></protection_domain>\n</system>\n'
    )
    (tmp_path / "found.elf").write_bytes((SDK.parent / "elf" / "hello" / "hello.elf").read_bytes())
    sdf = write(tmp_path, "m.system", text)
    rc, checked = run(capsys, "check", "-v", sdf)
    assert rc == 0
    rc, built = run(
        capsys, "build", sdf, "--sdk", str(SDK), "--board", "qemu_virt_aarch64", "--out-dir", str(tmp_path / "out")
    )
    assert rc == 1
    path = value_place(text, 'path="missing.elf"')
    assert utf16_column(text, "missing.elf") != path[1]
    assert coded(checked, "SDF016") == coded(built, "BLD001") == [path]


def test_graph_prints_the_first_error_where_check_does(tmp_path, capsys):
    text = f'\t<!-- {A}{B} --><protection_domain name="{A}" />\n'
    sdf = write(tmp_path, "g.system", text)
    rc, checked = run(capsys, "check", sdf)
    assert rc == 1
    assert main(["graph", sdf, "-o", str(tmp_path / "g.dot")]) == 1
    err = capsys.readouterr().err
    root = place(text, "protection_domain")  # the root element's name
    assert utf16_column(text, "protection_domain") != root[1]
    assert checked[0][:2] == root
    assert err.startswith(f"{sdf}:{root[0]}:{root[1]}: nothing to draw: ")


@pytest.mark.parametrize("command", ["check", "build", "graph"])
def test_an_unreadable_file_is_io001_at_its_start(tmp_path, capsys, command):
    missing = str(tmp_path / "absent.system")
    out = ["-o", str(tmp_path / "out")] if command == "graph" else ["--out-dir", str(tmp_path / "out")]
    argv = [command, missing] if command == "check" else [command, missing, *out]
    rc, places = run(capsys, *argv)
    assert rc == 1
    assert coded(places, "IO001") == [(1, 1)]
