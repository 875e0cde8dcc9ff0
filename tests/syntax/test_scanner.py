"""The scanner against lxml on real documents, and its recovery on broken ones."""

from pathlib import Path

import pytest
from lxml import etree

from sdf_lsp.syntax.scanner import parse
from sdf_lsp.syntax.tree import Element

from ..conftest import SHARED

CORPUS = sorted(
    p
    for d in ("corpus/real", "corpus/microkit-examples", "corpus/generated", "conformance/upstream-tests/sdf")
    for p in (SHARED / d).rglob("*")
    if p.is_file() and (p.suffix in (".system", ".xml") or p.name.endswith(".system.template"))
)


def _lxml_tree(data: bytes):
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True)
    return etree.fromstring(data, parser)


def _ours(el: Element):
    """(tag, attrs, text, children, tail) like lxml: text/tail are the first/after text runs."""
    kids = []
    text = []
    tails = []
    current = text
    for c in el.children:
        if c.kind == "text":
            current.append(c.value)
        elif c.kind == "element" or c.kind in ("comment", "pi"):
            tails.append([])
            kids.append(c)
            current = tails[-1]
    out = []
    for k, t in zip(kids, tails, strict=False):
        tail = "".join(t) or None
        if k.kind == "element":
            out.append(_ours(k) + (tail,))
        elif k.kind == "comment":
            out.append(("<comment>", k.value, tail))
        else:
            out.append(("<pi>", k.target, tail))
    attrs = {a.name: a.value for a in el.attrs if not (a.name == "xmlns" or a.name.startswith("xmlns:"))}
    return (el.local, attrs, "".join(text) or None, out)


def _theirs(el):
    out = []
    for k in el:
        if isinstance(k, etree._Comment):
            out.append(("<comment>", k.text, k.tail))
        elif isinstance(k, etree._ProcessingInstruction):
            out.append(("<pi>", k.target, k.tail))
        else:
            out.append(_theirs(k) + (k.tail,))
    attrs = {etree.QName(n).localname if n.startswith("{") else n: v for n, v in el.attrib.items()}
    return (etree.QName(el).localname, attrs, el.text, out)


@pytest.mark.parametrize(
    "path",
    # the generated systems (up to 3.3 MB) take seconds each
    [pytest.param(p, marks=pytest.mark.slow) if "generated" in p.parts else p for p in CORPUS],
    ids=lambda p: str(p.relative_to(SHARED)),
)
def test_agrees_with_lxml(path: Path):
    data = path.read_bytes()
    text = data.decode("utf-8", errors="replace")
    doc = parse(text)
    try:
        lx = _lxml_tree(data)
    except etree.XMLSyntaxError:
        assert doc.problems, "lxml rejects this file, so the scanner must report a problem"
        for p in doc.problems:
            assert 0 <= p.span.start <= p.span.end <= len(text)
        return
    assert not doc.problems, [p.message for p in doc.problems]
    assert _ours(doc.root) == _theirs(lx)
    # blocks tile the text
    pos = 0
    for b in doc.blocks:
        assert b.start == pos
        pos = b.end
    assert pos == len(text)


BROKEN = {
    "unclosed element": (
        '<system>\n  <protection_domain name="a">\n    <map mr="x" vaddr="0x1000">\n  </protection_domain>\n</system>',
        "map",
    ),
    "missing quote": ('<system>\n  <memory_region name="a size="0x1000"/>\n</system>', "quote"),
    "stray lt": ("<system>\n  < \n</system>", "'<'"),
    "truncated": ('<system>\n  <protection_domain name="a">\n    <program_image path="a.elf"/>', "ends before"),
    "mismatched": ("<system><a></b></a></system>", "unexpected end tag"),
    "unquoted": ("<system><a x=1/></system>", "quoted"),
    "no value": ("<system><a x/></system>", "needs a value"),
    "dtd": (
        '<?xml version="1.0"?>\n<!DOCTYPE system [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>\n<system>&b;</system>',
        "DTD",
    ),
    "unknown entity": ("<system><a x='&foo;'/></system>", "unknown entity"),
    "external entity": ('<!DOCTYPE s [<!ENTITY x SYSTEM "file:///etc/passwd">]><system>&x;</system>', "DTD"),
    "binary": ("<system>\x00\x01\x02</system>", "U+0000"),
    "empty": ("", "empty"),
    "two roots": ("<system/><system/>", "one root"),
    "text before": ("hello <system/>", "before the root"),
    "duplicate attribute": ('<system><a x="1" x="2"/></system>', "already defined"),
    "comment dashes": ("<system><!-- a -- b --></system>", "'--'"),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_recovers_with_one_precise_problem(name):
    text, needle = BROKEN[name]
    doc = parse(text)
    msgs = [p.message for p in doc.problems]
    assert any(needle in m for m in msgs), msgs
    for p in doc.problems:
        assert 0 <= p.span.start <= p.span.end <= len(text)
    if name in ("unclosed element", "truncated", "missing quote", "stray lt", "mismatched", "unquoted"):
        assert len(msgs) == 1, msgs


def test_half_typed_document_still_has_the_rest():
    text = '<system>\n  <protection_domain name="a">\n    <map mr="x"\n    <irq irq="3" id="1"/>\n  </protection_domain>\n  <memory_region name="x" size="0x1000"/>\n</system>'
    doc = parse(text)
    assert len(doc.problems) == 1
    kids = [c.local for c in doc.root.elements]
    assert kids == ["protection_domain", "memory_region"]
    pd = doc.root.elements[0]
    assert [c.local for c in pd.elements] == ["map", "irq"]


def test_entity_bomb_is_bounded():
    import time

    lol = (
        '<!DOCTYPE lolz [<!ENTITY lol "lol">'
        + "".join(f'<!ENTITY lol{i} "{(f"&lol{i - 1};" if i else "&lol;") * 10}">' for i in range(1, 10))
        + "]>\n<system>&lol9;</system>"
    )
    t0 = time.perf_counter()
    doc = parse(lol * 1)
    assert time.perf_counter() - t0 < 0.5
    assert any("DTD" in p.message for p in doc.problems)
    assert "lollol" not in "".join(t.value for t in doc.root.children if t.kind == "text")
