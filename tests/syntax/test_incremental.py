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
    assert doc.faulty == [b for b in doc.blocks[1:-1] if b.errors]  # kept from edit to edit
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


# -- an edit inside one start tag: that tag alone is scanned again ------------------------------
TAGGED = (
    "<system>\n"
    '    <memory_region name="m" size="0x1000" />\n'
    '    <protection_domain name="pd" priority="10">\n'
    '        <program_image path="pd.elf" />\n'
    "        <!-- a comment --><?pi x?>\n"
    '        <map mr="m" vaddr="0x1000" perms="rw" setvar_vaddr="v" />\n'
    '        <protection_domain name="child" id="1"><program_image path="c.elf" /></protection_domain>\n'
    "    </protection_domain>\n"
    '    <channel><end pd="pd" id="1" /><end pd="child" id="2" /></channel>\n'
    "</system>\n"
)


@pytest.mark.parametrize(
    ("where", "old", "new", "fast"),
    [
        ('name="pd"', 'name="pd"', 'name="pdx"', True),  # typing in the PD's name
        ('name="pd"', 'name="pd"', 'name="p"', True),
        ('priority="10"', 'priority="10"', 'priority="10" budget="5"', True),  # an attribute added
        ('vaddr="0x1000"', 'vaddr="0x1000"', 'vaddr="0x2000"', True),  # a child's tag
        ('name="child"', 'name="child"', 'name="kid"', True),  # a grandchild's tag
        ('name="pd"', 'name="pd"', 'name="pd', False),  # an open quote: scanned the usual way
        ('name="pd"', 'name="pd"', 'name="pd" name="q"', False),  # a duplicate attribute: an error
        ('name="pd"', 'name="pd"', 'name="pd"/', False),  # the tag changes shape
        ("<protection_domain name", "<protection_domain name", "<protection_domainx name", False),  # its name
    ],
)
def test_an_edit_inside_a_start_tag(where, old, new, fast):
    doc = parse(TAGGED)
    at = TAGGED.index(where)
    start = at + TAGGED[at:].index(old)
    # the edit as the smallest change: common prefix and suffix left out
    p = 0
    while p < min(len(old), len(new)) and old[p] == new[p]:
        p += 1
    q = 0
    while q < min(len(old), len(new)) - p and old[len(old) - 1 - q] == new[len(new) - 1 - q]:
        q += 1
    text = TAGGED[: start + p] + new[p : len(new) - q] + TAGGED[start + len(old) - q :]
    before = {id(b) for b in doc.blocks}
    pd_block = next(b for b in doc.blocks if getattr(b.item, "local", None) == "protection_domain")
    pd, children = pd_block.item, list(pd_block.item.children)
    pd_block.lowered, pd_block.features = "lowered", {"names": "kept"}  # what the old text left there
    after = reparse(doc, text, start + p, start + len(old) - q, len(new) - p - q)
    assert dump(after) == dump(parse(text))
    changed = [b for b in after.blocks if id(b) not in before]
    if fast:  # the block, its element and the element's children are kept, and what it kept is dropped
        assert changed == [] and any(b is pd_block for b in after.blocks)
        assert pd_block.item is pd and pd.local == "protection_domain" and pd.children == children
        assert pd_block.lowered is None and pd_block.features is None
    else:
        assert len(changed) >= 1


@pytest.mark.parametrize("value", ["a&amp;b.elf", "a.elf"])
@pytest.mark.parametrize("typed", ["x", ""])
def test_an_edit_in_a_start_tag_moves_the_ranges_of_the_attributes_after_it(value, typed):
    """Children after the edited tag keep their attributes with the ranges moved, whether the
    scanner built them at once (a value with a reference) or on first use."""
    text = TAGGED.replace('path="pd.elf"', f'path="{value}"')
    doc = parse(text)
    dump(doc)  # every element's attributes built, as the features of an editor do
    at = text.index('name="pd"') + len('name="p')
    new = text[:at] + typed + text[at + (0 if typed else 1) :]
    after = reparse(doc, new, at, at + (0 if typed else 1), len(typed))
    assert dump(after) == dump(parse(new))


@pytest.mark.parametrize("where", ['name="a"', 'name="b"'])
def test_an_edit_in_a_start_tag_of_an_element_the_end_of_the_file_leaves_open(where):
    """The problem at the end of a truncated file points into the edited block: it moves too."""
    text = (
        "<system>\n"
        '    <memory_region name="m" size="0x1000" />\n'
        '    <protection_domain name="a" priority="1">\n'
        '        <program_image path="a.elf" />\n'
        '        <protection_domain name="b" id="1">\n'
        '            <program_image path="b.elf" />\n'
    )
    doc = parse(text)
    at = text.index(where) + len(where) - 1
    new = text[:at] + "xy" + text[at:]
    assert dump(reparse(doc, new, at, at, 2)) == dump(parse(new))
    back = text[:at] + text[at + 1 :]
    assert dump(reparse(parse(text), back, at, at + 1, 0)) == dump(parse(back))


@settings(max_examples=60)
@given(st.data())
def test_typing_inside_start_tags_equals_a_full_scan(data):
    """Random insertions and deletions at places inside start tags, one after another."""
    text = TAGGED
    doc = parse(text)
    for _ in range(data.draw(st.integers(1, 6))):
        places = [
            i for i in range(1, len(text)) if text[i - 1] not in "<>" and text.rfind("<", 0, i) > text.rfind(">", 0, i)
        ]
        at = data.draw(st.sampled_from(places))
        if data.draw(st.booleans()) or at + 1 >= len(text):
            ins = data.draw(st.sampled_from(["x", " ", '"', "=", 'a="1"', "/", ">", "<", "&amp;", "é"]))
            text2 = text[:at] + ins + text[at:]
            doc = reparse(doc, text2, at, at, len(ins))
        else:
            text2 = text[:at] + text[at + 1 :]
            doc = reparse(doc, text2, at, at + 1, 0)
        text = text2
        assert dump(doc) == dump(parse(text))
