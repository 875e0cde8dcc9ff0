"""Line index: an edited index equals one built from the new text."""

from hypothesis import given
from hypothesis import strategies as st

from sdf_lsp.syntax.lines import LineIndex

TEXT = st.text(alphabet="ab\n<>\r ", max_size=40)


@given(text=TEXT, data=st.data(), new=st.text(alphabet="ab\n<> ", max_size=6))
def test_an_edited_index_equals_a_fresh_one(text, data, new):
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, len(text)))
    after = text[:start] + new + text[end:]
    edited = LineIndex(text).edited(after, start, end, len(new))
    assert edited.starts == LineIndex(after).starts
    assert edited.text is after
