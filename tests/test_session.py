"""A Session: edits and whole-text replacements give what a fresh analysis of the text gives."""

from hypothesis import given
from hypothesis import strategies as st

from sdf_lsp.analysis import Session, analyse, changed_range
from sdf_lsp.model.lower import Context
from sdf_lsp.target import default_target

CTX = Context(default_target())
TEXT = st.text(alphabet="ab<>\n é", max_size=30)


@given(old=TEXT, new=TEXT)
def test_changed_range_is_the_one_edit_between_two_texts(old, new):
    start, old_end, new_end = changed_range(old, new)
    assert old[:start] + new[start:new_end] + old[old_end:] == new
    assert start <= old_end and start <= new_end
    assert old[:start] == new[:start] and old[old_end:] == new[new_end:]


SYSTEM = (
    "<system>\n"
    '    <memory_region name="m" size="0x1000" />\n'
    '    <protection_domain name="a" priority="10"><program_image path="a.elf" />'
    '<map mr="m" vaddr="0x1000" /></protection_domain>\n'
    '    <protection_domain name="b" priority="20"><program_image path="b.elf" /></protection_domain>\n'
    '    <channel><end pd="a" id="1" /><end pd="b" id="1" /></channel>\n'
    "</system>\n"
)


def diagnostics(analysis):
    return [(d.span.start, d.span.end, d.code, d.message) for d in analysis.diagnostics]


@given(
    st.lists(st.tuples(st.integers(0, len(SYSTEM)), st.integers(0, 8), st.sampled_from(["", "x", '"', "<", "a", "\n"])))
)
def test_replacing_the_whole_text_equals_a_fresh_analysis(edits):
    session = Session(SYSTEM, CTX)
    session.analyse()
    text = SYSTEM
    for at, length, new in edits:
        at = min(at, len(text))
        text = text[:at] + new + text[at + length :]
        session.replace(text)
        assert diagnostics(session.analyse()) == diagnostics(analyse(text, CTX))


def test_a_revert_to_the_same_text_keeps_every_block():
    session = Session(SYSTEM, CTX)
    blocks = session.doc.blocks
    session.replace(SYSTEM)
    assert session.doc.blocks is blocks
    session.replace(SYSTEM.replace('name="b"', 'name="bb"'))
    kept = sum(b in blocks for b in session.doc.blocks)
    assert kept >= len(blocks) - 3


def _model_files():
    from pathlib import Path

    shared = Path(__file__).resolve().parents[2] / "shared"
    found = [shared / "corpus/generated/sddf_qemu_virt_aarch64_io_26clients.system"]
    found += sorted((shared / "corpus/real").glob("**/*.system"))[:20]
    found += sorted((Path(__file__).resolve().parents[1] / "examples").glob("**/*.system"))
    return found


def test_model_of_an_element_is_the_object_lowered_from_it():
    """model_of looks in the objects of one top-level element; it agrees with the whole
    system's table for every element of the tree (and after an edit, for the new tree)."""
    from sdf_lsp.analysis import _model_map
    from sdf_lsp.syntax.tree import Element

    for path in _model_files():
        text = path.read_text()
        session = Session(text, Context(default_target(), "extended"))
        for _ in range(2):
            a = session.analyse()
            whole = _model_map(a.system)
            stack = [a.doc.root] if a.doc.root is not None else []
            seen = 0
            while stack:
                el = stack.pop()
                assert a.model_of(el) == whole.get(id(el)), (path, el.name)
                seen += whole.get(id(el)) is not None
                stack.extend(c for c in el.children if isinstance(c, Element))
            assert seen == len(whole), path
            at = text.find('name="') + len('name="')
            session.edit(at, at, "z")


def test_a_session_keeps_the_names_of_each_element_it_lowers():
    """An editor's session keeps each top-level element's names on its block when it first
    analyses a whole text (a highlight or rename reads them), the same as gathering them afresh;
    an element lowered again after an edit gathers them on first use; a one-shot analysis does not."""
    from sdf_lsp.resolve.names import element_names, item_names
    from sdf_lsp.syntax.tree import Element

    session = Session(SYSTEM, CTX)
    session.analyse()
    assert session.whole and not session.fresh
    items = [c for c in session.doc.root.children if isinstance(c, Element)]
    for c in items:
        assert c.block.features is not None and c.block.features["names"] == element_names(c)
    at = SYSTEM.index('name="b"') + len('name="b')
    session.edit(at, at, "b")
    session.analyse()
    assert not session.whole
    items = [c for c in session.doc.root.children if isinstance(c, Element)]
    assert not (items[2].block.features or {}).get("names")  # the edited one: gathered when asked for
    for c in items:
        assert item_names(c) == element_names(c)
    assert ("pd", "bb") in items[2].block.features["names"][0]
    one_shot = analyse(SYSTEM, CTX)
    assert all(not (c.block.features or {}).get("names") for c in one_shot.doc.root.children if isinstance(c, Element))
