"""Offsets <-> positions.

Offsets index the Python string (code points). LSP positions are (line, UTF-16 code
unit) with `\\n`, `\\r\\n` and `\\r` as line breaks. The Microkit tool prints 1-based
line:column where the column counts code points (roxmltree's `text_pos_at`).
"""

from __future__ import annotations

import bisect
import re
from itertools import accumulate

_BREAK = re.compile(r"\r\n|\r|\n")


class LineIndex:
    __slots__ = ("text", "starts", "has_cr")

    def __init__(self, text: str):
        self.text = text
        self.has_cr = "\r" in text
        if self.has_cr:
            starts = [0]
            starts.extend([m.end() for m in _BREAK.finditer(text)])
        else:  # the common case, done by C loops: line k starts after k newlines and the lines before it
            starts = [0, *accumulate(map((1).__add__, map(len, text.split("\n"))))]
            starts.pop()
        self.starts = starts

    def edited(self, text: str, start: int, end: int, new_length: int) -> LineIndex:
        """The index of `text`, which is this index's text with [start, end) replaced by
        `new_length` characters: the lines before the edit are kept, those after it shifted."""
        if self.has_cr or end - start + new_length > (1 << 16) or "\r" in text[start : start + new_length]:
            return LineIndex(text)
        first = self.line_of(start)  # the line the edit starts on: its start does not move
        last = self.line_of(end)  # the line the edit ends on
        starts = self.starts[: first + 1]
        seg_start = starts[-1]
        seg_end = start + new_length  # the new text's end, then the rest of `last`'s line is unchanged
        nl = text.find("\n", seg_start, seg_end)
        while nl >= 0:
            starts.append(nl + 1)
            nl = text.find("\n", nl + 1, seg_end)
        delta = new_length - (end - start)
        starts.extend([s + delta for s in self.starts[last + 1 :]])
        index = LineIndex.__new__(LineIndex)
        index.text = text
        index.starts = starts
        index.has_cr = False
        return index

    def line_of(self, offset: int) -> int:
        return bisect.bisect_right(self.starts, offset) - 1

    def position(self, offset: int, encoding: str = "utf-16") -> tuple[int, int]:
        """LSP (line, character) of an offset; characters in UTF-16 code units unless the
        client negotiated another encoding ("utf-8" bytes or "utf-32" code points)."""
        offset = max(0, min(offset, len(self.text)))
        line = self.line_of(offset)
        start = self.starts[line]
        seg = self.text[start:offset]
        if seg.isascii() or encoding == "utf-32":
            return line, offset - start
        return line, _units(seg, encoding)

    def offset(self, line: int, character: int, encoding: str = "utf-16") -> int:
        """Offset of an LSP position (clamped to the line, as LSP asks)."""
        if line < 0:
            return 0
        if line >= len(self.starts):
            return len(self.text)
        start = self.starts[line]
        end = self.starts[line + 1] if line + 1 < len(self.starts) else len(self.text)
        # the line's content without its break
        content_end = end
        while content_end > start and self.text[content_end - 1] in "\r\n":
            content_end -= 1
        seg = self.text[start:content_end]
        if seg.isascii() or encoding == "utf-32":
            return start + min(max(character, 0), len(seg))
        units = 0
        for i, ch in enumerate(seg):
            if units >= character:
                return start + i
            units += _units(ch, encoding)
        return content_end

    def microkit_location(self, offset: int) -> tuple[int, int]:
        """1-based (row, col) as the Microkit tool prints it (col counts code points)."""
        line = self.line_of(offset)
        return line + 1, offset - self.starts[line] + 1


def _units(seg: str, encoding: str) -> int:
    if encoding == "utf-8":
        return len(seg.encode("utf-8", "surrogatepass"))
    return len(seg) + sum(1 for ch in seg if ord(ch) > 0xFFFF)
