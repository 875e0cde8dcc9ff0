"""Every real-world SDF, broken ones included, and random mutations of them: never an
exception, and every malformed file gets a syntax diagnostic with a range."""

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from sdf_lsp.analysis import analyse
from sdf_lsp.model.lower import Context
from sdf_lsp.target.load import default_target

from ..conftest import SHARED

REAL = sorted(
    p
    for p in (SHARED / "corpus/real").rglob("*")
    if p.is_file() and p.name not in ("SOURCES.md", "manifest.tsv", "expected.json") and p.parent.name != "targets"
)
CTX = Context(default_target())


def well_formed(data: bytes) -> bool:
    try:
        etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False))
        return True
    except etree.XMLSyntaxError:
        return False


@pytest.mark.parametrize("path", REAL, ids=lambda p: str(p.relative_to(SHARED / "corpus/real")))
def test_real_corpus_file(path: Path):
    data = path.read_bytes()
    text = data.decode("utf-8", errors="replace")
    a = analyse(text, CTX)
    for d in a.diagnostics:
        assert 0 <= d.span.start <= d.span.end <= len(text)
        a.lines.position(d.span.start)
    if not well_formed(data):
        assert any(d.code.startswith("XML") for d in a.diagnostics)


def test_corpus_size():
    assert len(REAL) == 228


SAMPLES = [p.read_text(errors="replace") for p in REAL[::9]]


@given(
    st.sampled_from(SAMPLES),
    st.lists(st.tuples(st.floats(0, 1), st.integers(0, 50), st.text(max_size=8)), min_size=1, max_size=5),
)
def test_random_mutations_never_raise(text, edits):
    for frac, length, ins in edits:
        at = int(frac * len(text))
        text = text[:at] + ins + text[at + length :]
    a = analyse(text, CTX)
    for d in a.diagnostics:
        assert 0 <= d.span.start <= d.span.end <= len(text)


@pytest.mark.parametrize(
    "junk",
    [
        b"\x00\x01\x02" * 100,
        bytes(range(256)) * 20,
        b"\xff\xfe<\x00s\x00",
        b"<" * 5000,
        b"<system>" + b"<a>" * 3000,
        b'<system a="' + b"x" * 100000,
    ],
)
def test_binary_and_hostile_input(junk):
    text = junk.decode("utf-8", errors="replace")
    a = analyse(text, CTX)
    assert a.errors


def test_an_unnamed_domain_and_an_undeclared_one():
    """The nearest-name candidates of an undeclared domain leave out a domain without a name."""
    text = """<system>
    <domains>
        <domain />
        <domain name="a" />
        <schedule><entry domain="a" length="1" /></schedule>
    </domains>
    <protection_domain name="p" domain="b"><program_image path="p.elf" /></protection_domain>
</system>"""
    a = analyse(text, CTX)
    (d,) = [d for d in a.diagnostics if d.code == "MK-P10"]
    assert d.message == "domain 'b' not declared in <domains>: on element 'protection_domain'"
    assert d.data["candidates"] == ["a"]
