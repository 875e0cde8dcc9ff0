"""The printer's text and JSON forms, and the load step it prints from."""

from __future__ import annotations

import io
import json

from sdf_lsp.analysis import analyse
from sdf_lsp.cli.args import parser
from sdf_lsp.cli.load import Loaded, Setup, load
from sdf_lsp.cli.printer import FORMATS, JsonPrinter, Source, TextPrinter, json_object, text_lines
from sdf_lsp.diagnostics import ERROR, INFORMATION
from sdf_lsp.model.lower import Context
from sdf_lsp.target.load import default_target
from tests.conftest import SHARED

A = "\U0001d538"  # 𝔸: one code point, two UTF-16 units
CTX = Context(default_target())
# every place below follows a tab and one or two 𝔸
TEXT = (
    "<system>\n"
    f'\t<protection_domain name="{A}" priority="100"><program_image path="a.elf" /></protection_domain>\n'
    f'\t<protection_domain name="{A}{A}" priority="50"><program_image path="b.elf" /></protection_domain>\n'
    f'\t<channel><end pd="{A}" id="0" pp="true" /><end pd="{A}{A}" id="0" /></channel>\n'
    '\t<protection_domain name="c"><program_image path="c.elf" /></protection_domain>\n'
    "</system>\n"
)
FOUND_ELF = SHARED / "golden" / "elf" / "hello" / "hello.elf"


def write_system(tmp_path):
    """TEXT with c.elf beside it: the other two images are then reported as missing."""
    (tmp_path / "c.elf").write_bytes(FOUND_ELF.read_bytes())
    sdf = tmp_path / "s.system"
    sdf.write_text(TEXT, encoding="utf-8")
    return sdf


def ppc():
    analysis = analyse(TEXT, CTX)
    return Source("s.system", analysis.lines), next(d for d in analysis.diagnostics if d.code == "MK-G9")


def test_text_form():
    # 1-based, columns in code points: after the tab and 𝔸 the pp value is the 34th character
    source, d = ppc()
    assert text_lines(source, d) == [
        f"s.system:4:34: error: {d.message} [MK-G9]",
        "s.system:3:41: note: priority of '𝔸𝔸'",
        "s.system:2:40: note: priority of '𝔸'",
    ]


def test_json_form_keeps_lsp_utf16_ranges():
    # 0-based, characters in UTF-16 units: 𝔸 counts two
    source, d = ppc()
    assert json_object(source, d) == {
        "file": "s.system",
        "range": {"start": {"line": 3, "character": 34}, "end": {"line": 3, "character": 38}},
        "severity": "error",
        "code": "MK-G9",
        "message": d.message,
        "related": [
            {
                "file": "s.system",
                "range": {"start": {"line": 2, "character": 42}, "end": {"line": 2, "character": 44}},
                "message": "priority of '𝔸𝔸'",
            },
            {
                "file": "s.system",
                "range": {"start": {"line": 1, "character": 40}, "end": {"line": 1, "character": 43}},
                "message": "priority of '𝔸'",
            },
        ],
    }


def test_text_printer_counts_and_hides_information_unless_verbose(tmp_path):
    sdf = write_system(tmp_path)
    loaded = load(str(sdf), Setup(default_target(), CTX, ()))
    severities = [d.severity for d in loaded.diagnostics]
    assert severities.count(INFORMATION) == 2 and severities.count(ERROR) == 1  # two images not found
    quiet, loud = io.StringIO(), io.StringIO()
    for out, verbose in ((quiet, False), (loud, True)):
        printer = TextPrinter(out, verbose=verbose)
        printer.report(loaded.source, loaded.diagnostics)
        printer.close()
        assert (printer.reported, printer.errors) == (3, 1)
        assert (printer.shown, printer.hidden) == ((3, 0) if verbose else (1, 2))
    assert quiet.getvalue().count(": information: ") == 0 and loud.getvalue().count(": information: ") == 2
    assert quiet.getvalue().splitlines()[0] in loud.getvalue().splitlines()


def test_json_printer_writes_one_list_for_every_file():
    analysis = analyse(TEXT, CTX)
    out = io.StringIO()
    printer = JsonPrinter(out, verbose=False)  # JSON always holds every diagnostic
    printer.report(Source("a.system", analysis.lines), analysis.diagnostics)
    printer.report(Source("b.system", analysis.lines), analysis.diagnostics[:1])
    assert out.getvalue() == ""  # one document, written by close()
    printer.close()
    got = json.loads(out.getvalue())
    assert out.getvalue().endswith("]\n") and out.getvalue().count("\n") == 1
    assert [d["file"] for d in got] == ["a.system"] * len(analysis.diagnostics) + ["b.system"]


def test_check_offers_every_printer():
    assert list(FORMATS) == ["text", "json", "sarif", "github"]
    for name in FORMATS:
        assert parser().parse_args(["check", "--format", name, "s.system"]).format == name


def test_load_keeps_the_analysis_as_analyse_made_it(tmp_path):
    sdf = write_system(tmp_path)
    loaded = load(str(sdf), Setup(default_target(), CTX, ()))
    assert loaded.analysis is not None
    own = [d.code for d in loaded.analysis.diagnostics]
    # a.elf and b.elf are not on the search paths (c.elf is): information on each `path`, kept apart
    assert [d.code for d in loaded.program_diagnostics] == ["SDF016", "SDF016"]
    assert "SDF016" not in own
    merged = loaded.diagnostics
    assert [d.code for d in merged if d.code != "SDF016"] == own
    assert [(d.span.start, d.span.end) for d in merged] == sorted((d.span.start, d.span.end) for d in merged)
    assert [d.code for d in loaded.analysis.diagnostics] == own
    assert loaded.search_paths == [str(tmp_path)]
    assert loaded.errors == loaded.analysis.errors


def test_an_unreadable_file_is_one_io001(tmp_path):
    missing = str(tmp_path / "absent.system")
    loaded = load(missing, Setup(default_target(), CTX, ("/x",)))
    assert isinstance(loaded, Loaded) and loaded.analysis is None
    assert loaded.search_paths == ["/x", str(tmp_path)]
    out = io.StringIO()
    text = TextPrinter(out)
    text.report(loaded.source, loaded.diagnostics)
    assert out.getvalue() == f"{missing}:1:1: error: cannot read '{missing}': No such file or directory [IO001]\n"
    [d] = loaded.diagnostics
    assert json_object(loaded.source, d)["range"] == {
        "start": {"line": 0, "character": 0},
        "end": {"line": 0, "character": 0},
    }
