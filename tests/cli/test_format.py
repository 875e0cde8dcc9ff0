"""`sdf-lsp format`: in place and atomically, `--check`, `--diff`, standard input, folders,
`sdf-lsp.toml`'s `[format]`, and files it must leave alone."""

from __future__ import annotations

import io
import os
import stat
import sys
from pathlib import Path

from sdf_lsp.cli import main

MESSY = '<system>\n<memory_region name="m"   size="0x1000"/>\n<protection_domain name="p"><program_image path="p.elf"/>\n<map mr="m" vaddr="0x2000000"/></protection_domain>\n</system>\n'
TIDY = (
    "<system>\n"
    '    <memory_region name="m" size="0x1000" />\n'
    '    <protection_domain name="p">\n'
    '        <program_image path="p.elf" />\n'
    '        <map mr="m" vaddr="0x2000000" />\n'
    "    </protection_domain>\n"
    "</system>\n"
)
BROKEN = '<system>\n  <memory_region name="m" size="0x1000">\n</system>\n'


def sdf_lsp(capsys, *argv, stdin: bytes | None = None, monkeypatch=None) -> tuple[int, str, str]:
    if stdin is not None:
        assert monkeypatch is not None
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    try:
        rc = main([str(a) for a in argv])
    except SystemExit as e:  # usage errors exit through argparse
        rc = e.code
    out = capsys.readouterr()
    return rc, out.out, out.err


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode())
    return path


def test_rewrites_in_place_keeping_the_permissions(tmp_path, capsys):
    messy = write(tmp_path / "a.system", MESSY)
    tidy = write(tmp_path / "b.system", TIDY)
    os.chmod(messy, 0o640)
    before = tidy.stat().st_mtime_ns
    rc, out, err = sdf_lsp(capsys, "format", messy, tidy)
    assert rc == 0 and out == ""
    assert messy.read_text() == TIDY
    assert stat.S_IMODE(messy.stat().st_mode) == 0o640
    assert tidy.stat().st_mtime_ns == before  # an unchanged file is not written
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.system", "b.system"]  # no temporary file left
    assert "1 file reformatted, 1 file left unchanged" in err


def test_check_names_what_would_change_and_changes_nothing(tmp_path, capsys):
    messy = write(tmp_path / "a.system", MESSY)
    rc, out, err = sdf_lsp(capsys, "format", "--check", messy)
    assert rc == 1 and out == ""
    assert f"would reformat {messy}" in err
    assert messy.read_text() == MESSY
    write(messy, TIDY)
    assert sdf_lsp(capsys, "format", "--check", messy)[0] == 0


def test_diff_prints_a_unified_diff(tmp_path, capsys):
    messy = write(tmp_path / "a.system", MESSY)
    rc, out, _ = sdf_lsp(capsys, "format", "--diff", messy)
    assert rc == 1
    assert out.startswith(f"--- {messy}\n+++ {messy} (formatted)\n@@ ")
    assert '\n-<memory_region name="m"   size="0x1000"/>\n' in out
    assert '\n+    <memory_region name="m" size="0x1000" />\n' in out
    assert messy.read_text() == MESSY


def test_a_folder_means_every_system_below_it(tmp_path, capsys):
    a = write(tmp_path / "x" / "a.system", MESSY)
    hidden = write(tmp_path / ".hidden" / "b.system", MESSY)
    built = write(tmp_path / "build" / "c.system", MESSY)
    other = write(tmp_path / "x" / "notes.xml", MESSY)
    assert sdf_lsp(capsys, "format", tmp_path)[0] == 0
    assert a.read_text() == TIDY
    assert hidden.read_text() == built.read_text() == other.read_text() == MESSY


def test_standard_input_goes_to_standard_output(capsys, monkeypatch):
    rc, out, err = sdf_lsp(capsys, "format", "-", stdin=MESSY.encode(), monkeypatch=monkeypatch)
    assert (rc, out, err) == (0, TIDY, "")
    rc, out, err = sdf_lsp(capsys, "format", "--check", "-", stdin=MESSY.encode(), monkeypatch=monkeypatch)
    assert rc == 1 and out == "" and "would reformat -" in err


def test_syntax_errors_leave_the_file_alone(tmp_path, capsys, monkeypatch):
    broken = write(tmp_path / "broken.system", BROKEN)
    messy = write(tmp_path / "messy.system", MESSY)
    rc, out, err = sdf_lsp(capsys, "format", broken, messy)
    assert rc == 1 and out == ""
    assert f"{broken}:2:4: error: cannot format: syntax error: element 'memory_region' is not closed" in err
    assert broken.read_text() == BROKEN
    assert messy.read_text() == TIDY  # the other files are still formatted
    rc, out, err = sdf_lsp(capsys, "format", "-", stdin=BROKEN.encode(), monkeypatch=monkeypatch)
    assert rc == 1 and out == "" and err.startswith("-:2:4: error: cannot format:")


def test_unreadable_and_undecodable_files_are_errors(tmp_path, capsys):
    fifo = tmp_path / "pipe.system"
    os.mkfifo(fifo)
    bad = tmp_path / "bad.system"
    bad.write_bytes(b"<system>\xff</system>\n")
    rc, _, err = sdf_lsp(capsys, "format", fifo, bad, tmp_path / "missing.system")
    assert rc == 1
    assert "not a regular file (a FIFO)" in err
    assert f"{bad}:1:1: error: cannot format: the file is not valid UTF-8" in err
    assert "missing.system" in err
    assert bad.read_bytes() == b"<system>\xff</system>\n"


def test_line_ends_and_symbolic_links_are_kept(tmp_path, capsys):
    real = tmp_path / "real.system"
    real.write_bytes(MESSY.replace("\n", "\r\n").encode())
    link = tmp_path / "link.system"
    link.symlink_to(real)
    assert sdf_lsp(capsys, "format", link)[0] == 0
    assert link.is_symlink()
    assert real.read_bytes() == TIDY.replace("\n", "\r\n").encode()


def test_layout_from_sdf_lsp_toml_and_the_command_line(tmp_path, capsys):
    (tmp_path / "sdf-lsp.toml").write_text("[format]\nindent = 2\nwidth = 40\n")
    f = write(tmp_path / "sub" / "a.system", MESSY)
    assert sdf_lsp(capsys, "format", f)[0] == 0
    assert f.read_text().splitlines()[1:3] == ['  <memory_region name="m"', '                 size="0x1000" />']
    assert sdf_lsp(capsys, "format", "--indent", "tab", "--width", "100", f)[0] == 0
    assert f.read_text().splitlines()[1] == '\t<memory_region name="m" size="0x1000" />'


def test_an_unusable_configuration_or_option_changes_nothing(tmp_path, capsys):
    (tmp_path / "sdf-lsp.toml").write_text("[format]\nindent = 'wide'\n")
    f = write(tmp_path / "a.system", MESSY)
    rc, _, err = sdf_lsp(capsys, "format", f)
    assert rc == 2 and "sdf-lsp.toml:2:1: error: [format] indent must be" in err
    assert f.read_text() == MESSY
    rc, _, err = sdf_lsp(capsys, "format", "--indent", "0", f)
    assert rc == 2 and "expected a number of spaces from 1 to 16" in err
