"""Re-scanning only the touched blocks gives exactly what a full scan gives."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdf_lsp.syntax.scanner import MAX_DEPTH, parse, reparse

from ..conftest import SHARED

BASE = (SHARED / "corpus/microkit-examples/ethernet__ethernet.system").read_text()
SNIPPETS = [
    "<",
    ">",
    "/>",
    '"',
    "'",
    "</protection_domain>",
    "</system>",
    "<!--",
    "-->",
    '<map mr="x" vaddr="0x1000"/>',
    "\n",
    " ",
    "&",
    "&amp;",
    "<![CDATA[",
    "]]>",
    "<?pi ?>",
    '<protection_domain name="z">',
    "x",
    "=",
    "\x00",
    "é",
]


def dump(doc):
    out = []

    def walk(n, depth):
        if n.kind == "element":
            out.append(
                (
                    depth,
                    "el",
                    n.name,
                    n.start,
                    n.end,
                    n.closed,
                    tuple(
                        (a.name, a.value, a.block.start + a.s, a.block.start + a.vs, a.block.start + a.ve)
                        for a in n.attrs
                    ),
                )
            )
            for c in n.children:
                walk(c, depth + 1)
        else:
            out.append((depth, n.kind, n.start, n.end, getattr(n, "value", None)))

    for n in doc.nodes:
        walk(n, 0)
    probs = sorted(
        (p.span.start, p.span.end, p.message, tuple((r[0].start, r[0].end, r[1]) for r in p.related))
        for p in doc.problems
    )
    pos = 0
    for b in doc.blocks:
        assert b.start == pos, (b, pos)
        pos = b.end
    assert pos == len(doc.text)
    return out, probs


edit = st.tuples(st.integers(0, 10_000), st.integers(0, 40), st.one_of(st.sampled_from(SNIPPETS), st.text(max_size=5)))


@pytest.mark.slow
@given(st.lists(edit, min_size=1, max_size=8))
def test_incremental_equals_full(edits):
    text = BASE
    doc = parse(text)
    for pos, length, ins in edits:
        a = pos % (len(text) + 1)
        b = min(len(text), a + length)
        text = text[:a] + ins + text[b:]
        doc = reparse(doc, text, a, b, len(ins))
        assert dump(doc) == dump(parse(text))


@given(st.integers(0, len(BASE)), st.lists(edit, min_size=1, max_size=8))
def test_incremental_equals_full_in_a_truncated_file(cut, edits):
    """The root is open at the end of the file: where the problem about it lies depends on
    the last item, which an edit may close, open or remove."""
    text = BASE[:cut]
    doc = parse(text)
    for pos, length, ins in edits:
        a = pos % (len(text) + 1)
        b = min(len(text), a + length)
        text = text[:a] + ins + text[b:]
        doc = reparse(doc, text, a, b, len(ins))
        assert dump(doc) == dump(parse(text))


@pytest.mark.parametrize(
    ("text", "old", "new"),
    [
        # the innermost open element is removed: the file now ends inside the root only
        (
            '<system>\n<protection_domain name="a">\n<program_image path="a.elf" />\n',
            '<protection_domain name="a">',
            "",
        ),
        # the last item is closed
        (
            '<system>\n<protection_domain name="a">\n<program_image path="a.elf" />\n\n',
            "/>\n",
            "/></protection_domain>\n",
        ),
        # an item before the open one changes: the problem moves with it
        (
            '<system>\n<channel/>\n<channel/>\n<channel/>\n<protection_domain name="a">\n',
            "<channel/>",
            "<channel>  </channel>",
        ),
    ],
)
def test_the_unclosed_root_after_an_edit(text, old, new):
    before = parse(text)
    at = text.index(old)
    text2 = text[:at] + new + text[at + len(old) :]
    doc = reparse(before, text2, at, at + len(old), len(new))
    assert doc.head is before.head  # an incremental re-scan, not a full one
    assert dump(doc) == dump(parse(text2))
    assert [p.message for p in doc.problems] == [p.message for p in parse(text2).problems]


def test_typing_a_pd_reuses_other_blocks():
    text = BASE
    doc = parse(text)
    before = {id(b) for b in doc.blocks}
    at = text.index("<channel>")
    for ch in '<memory_region name="new" size="0x1000" />':
        text = text[:at] + ch + text[at:]
        doc = reparse(doc, text, at, at, 1)
        at += 1
    kept = sum(id(b) in before for b in doc.blocks)
    assert kept >= len(doc.blocks) - 5
    assert dump(doc) == dump(parse(text))


# Items nested past the depth limit, with what the skipping must step over: comments,
# CDATA, processing instructions, '>' in values, self-closing and unclosed tags.
DEEP = (
    '<system>\n<memory_region name="m" size="0x1000"/>\n'
    + "".join(f'<protection_domain name="p{i}">\n' for i in range(MAX_DEPTH + 4))
    + '<map mr="m" vaddr="0x1000" perms="r>w"/><!-- </protection_domain> --><![CDATA[</x>]]><?pi </y>?>\n'
    + "<a><b></a>\n"
    + "</protection_domain>\n" * (MAX_DEPTH + 4)
    + '<channel><end pd="p0" id="1"/><end pd="p1" id="1"/></channel>\n</system>\n'
)


@settings(max_examples=30)  # each re-scan of the deep item is a full one
@given(st.lists(edit, min_size=1, max_size=6))
def test_incremental_equals_full_past_the_depth_limit(edits):
    text = DEEP
    doc = parse(text)
    for pos, length, ins in edits:
        a = len(text) - 1 - pos % len(text)  # the end of the file, where the deep items are
        b = min(len(text), a + length)
        text = text[:a] + ins + text[b:]
        doc = reparse(doc, text, a, b, len(ins))
        assert dump(doc) == dump(parse(text))


def depth(doc) -> int:
    deepest = 0
    todo = [(n, 1) for n in doc.nodes]
    while todo:
        n, d = todo.pop()
        deepest = max(deepest, d)
        if n.kind == "element":
            todo.extend((c, d + 1) for c in n.children)
    return deepest


@pytest.mark.parametrize("closed", [True, False])
def test_nesting_past_the_limit_is_reported_and_not_built(closed):
    n = 100_000
    text = "<system>" + "<protection_domain>" * n + ("</protection_domain>" * n if closed else "") + "</system>"
    doc = parse(text)
    (deep,) = [p for p in doc.problems if p.code == "XML005"]
    assert deep.message.startswith("nesting too deep: '<protection_domain>' is more than 128 levels down")
    assert deep.span.start == len("<system>") + MAX_DEPTH * len("<protection_domain>") - len("protection_domain>")
    assert depth(doc) == MAX_DEPTH + 1
    assert doc.root.closed
    codes = [p.code for p in doc.problems]
    # unclosed: '</system>' ends the elements that are open, each reported once
    assert codes == ["XML005"] if closed else sorted(codes) == ["XML001"] * MAX_DEPTH + ["XML005"]
    # an edit inside the skipped part re-scans the item it lies in
    at = len(text) // 2
    text2 = text[:at] + "<!-- -->" + text[at:]
    assert dump(reparse(doc, text2, at, at, 8)) == dump(parse(text2))
