"""Semantic tokens: what each name in an SDF is, from the syntax tree and the schema alone.

Names are typed by what they name (a protection domain is a `class`, a memory region a
`struct`, ...), a name's definition carries the modifiers `declaration` and `definition`, a
reference none; channel-end and IRQ ids are the ids a PD's channels and interrupts are known
by; symbols patched into a program image (`setvar_*`, `<setvar symbol>`) are variables; the
name of a deprecated attribute is a `property` marked `deprecated`.

The tokens of each top-level element are made once and kept on its syntax block
(`Block.features`), in the LSP encoding's relative form, so the whole document's tokens (and
the delta between two versions) are put together from kept pieces after an edit.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from sdf_lsp import schema
from sdf_lsp.resolve.names import DECLARES, REFS
from sdf_lsp.syntax.lines import LineIndex
from sdf_lsp.syntax.scanner import Document
from sdf_lsp.syntax.tree import FAST_ATTR, Block, Element

#: The legend: token types (standard ones) and modifiers, in the order their indices refer to.
TOKEN_TYPES = (
    "class",
    "struct",
    "event",
    "namespace",
    "type",
    "enum",
    "interface",
    "enumMember",
    "variable",
    "property",
)
TOKEN_MODIFIERS = ("declaration", "definition", "deprecated")

#: The token type of each kind of name (`sdf_lsp.resolve.names`).
KIND_TYPES = {
    "pd": "class",
    "vm": "class",
    "mr": "struct",
    "domain": "namespace",
    "untyped": "type",
    "cnode": "enum",
    "ios": "interface",
}
_TYPE = {t: i for i, t in enumerate(TOKEN_TYPES)}
_DECLARATION, _DEFINITION, _DEPRECATED = 1, 2, 4


def _attribute_tokens() -> dict[str, dict[str, tuple[int, int, bool]]]:
    """element -> attribute -> (token type, modifiers, the token covers the name, not the value)."""
    out: dict[str, dict[str, tuple[int, int, bool]]] = {}
    for e in schema.ELEMENTS:
        attrs: dict[str, tuple[int, int, bool]] = {}
        for a in e.attrs:
            if a.deprecated:
                attrs[a.name] = (_TYPE["property"], _DEPRECATED, True)
            elif a.name == "name" and e.name in DECLARES:
                attrs[a.name] = (_TYPE[KIND_TYPES[DECLARES[e.name]]], _DECLARATION | _DEFINITION, False)
            elif (e.name, a.name) in REFS:
                attrs[a.name] = (_TYPE[KIND_TYPES[REFS[(e.name, a.name)]]], 0, False)
            elif a.type == "symbol":
                attrs[a.name] = (_TYPE["variable"], 0, False)
        if attrs:
            out.setdefault(e.name, {}).update(attrs)
    # the ids a PD knows its channels and interrupts by
    out["end"]["id"] = (_TYPE["event"], _DECLARATION, False)
    out.setdefault("irq", {})["id"] = (_TYPE["enumMember"], _DECLARATION, False)
    return out


ATTRIBUTE_TOKENS = _attribute_tokens()


def element_tokens(el: Element) -> list[tuple[int, int, int, int]]:
    """(start, end, type, modifiers) of the tokens in an element and everything in it, in
    document order, offsets relative to the element's block."""
    out: list[tuple[int, int, int, int]] = []
    src = el.block.src
    off = el.block.src_start
    finditer = FAST_ATTR.finditer
    stack = [el]
    while stack:
        e = stack.pop()
        table = ATTRIBUTE_TOKENS.get(e.local)
        if table is not None:
            if e._attrs is None and not e.prefixed:
                # the scanner's fast path: read the tag again, positions only of the attributes that count
                for m in finditer(src, off + e.a_s, off + e.a_e):
                    hit = table.get(m.group(1))
                    if hit is not None:
                        if hit[2]:
                            s = m.start() - off
                            t = s + len(m.group(1))
                        else:
                            g = 2 if m.start(2) >= 0 else 3
                            s, t = m.start(g) - off, m.end(g) - off
                        _add(out, src, off, s, t, hit)
            else:
                for a in e.attrs:
                    hit = table.get(a.local)
                    if hit is not None and not a.name.startswith("xmlns"):
                        s, t = (a.s, a.s + len(a.name)) if hit[2] else (a.vs, a.ve)
                        _add(out, src, off, s, t, hit)
        kids = [c for c in e.children if c.kind == "element"]
        if kids:
            stack.extend(reversed(kids))  # type: ignore[arg-type]
    return out


def _add(out: list, src: str, off: int, s: int, t: int, hit: tuple[int, int, bool]) -> None:
    """A token, unless it is empty or spans lines (LSP clients take tokens within one line)."""
    if t > s and src.find("\n", off + s, off + t) < 0 and src.find("\r", off + s, off + t) < 0:
        out.append((s, t, hit[0], hit[1]))


@dataclass(frozen=True)
class BlockTokens:
    """One block's tokens in LSP form. The first token and the last are kept apart: where they
    are depends on where the block is (`line` relative to the block's first line; `col`
    relative to the block's start when on that line, else from the start of its line). The
    tokens between are relative to each other, so they hold wherever the block moves."""

    first: tuple[int, int, int, int, int]  # line, col, length, type, modifiers
    body: str  # the other tokens' five numbers each, comma-separated ("" when there is one token)
    count: int  # how many numbers: 5 per token
    last: tuple[int, int]  # line, col


def block_tokens(block: Block, lines: LineIndex, encoding: str) -> BlockTokens | None:
    """The tokens of a top-level block (None: it has none), kept on the block per encoding."""
    feats = block.features
    if feats is None:
        feats = block.features = {}
    kept = feats.get("tokens")
    if kept is not None and kept[0] == encoding:
        return kept[1]
    item = block.item
    result = None
    if isinstance(item, Element):
        toks = element_tokens(item)
        if toks:
            result = _encode(block, toks, lines, encoding)
    feats["tokens"] = (encoding, result)
    return result


def _encode(block: Block, toks: list[tuple[int, int, int, int]], lines: LineIndex, encoding: str) -> BlockTokens:
    base = block.start
    text = lines.text
    starts = lines.starts
    first_line = lines.line_of(base)
    utf16 = encoding != "utf-32"

    def units(a: int, b: int) -> int:
        seg = text[a:b]
        if not utf16 or seg.isascii():
            return b - a
        if encoding == "utf-8":
            return len(seg.encode("utf-8", "surrogatepass"))
        return len(seg) + sum(1 for ch in seg if ord(ch) > 0xFFFF)

    placed = []  # (line relative to the block's first line, col as BlockTokens says, length, type, mods)
    line = first_line
    for s, e, kind, mods in toks:
        s += base
        e += base
        if line + 1 < len(starts) and starts[line + 1] <= s:
            line = bisect.bisect_right(starts, s) - 1
        rel = line - first_line
        col = units(base, s) if rel == 0 else units(starts[line], s)
        placed.append((rel, col, units(s, e), kind, mods))
    nums: list[int] = []
    prev_line, prev_col = placed[0][0], placed[0][1]
    for rel, col, length, kind, mods in placed[1:]:
        dl = rel - prev_line
        nums += (dl, col - prev_col if dl == 0 else col, length, kind, mods)
        prev_line, prev_col = rel, col
    return BlockTokens(placed[0], ",".join(map(str, nums)), 5 * len(placed), (prev_line, prev_col))


# -- the document ----------------------------------------------------------------------------------
Segment = tuple[str, str, int]  # (the first token's numbers, the rest, how many numbers)


def segments(doc: Document, lines: LineIndex, encoding: str, start: int = 0, end: int | None = None) -> list[Segment]:
    """The document's tokens, one segment per top-level block that has any (only the blocks
    that meet [start, end] when given), in the LSP's relative encoding."""
    out: list[Segment] = []
    prev_line = prev_col = 0
    items = doc.items
    if start > 0 or end is not None:
        lo = bisect.bisect_right([b.start for b in items], start) - 1 if items else 0
        items = [b for b in items[max(lo, 0) :] if end is None or b.start <= end]
    for b in items:
        if b.item is None or b.item.kind != "element":
            continue
        bt = block_tokens(b, lines, encoding)
        if bt is None:
            continue
        bl, bc = lines.position(b.start, encoding)
        rel, col, length, kind, mods = bt.first
        line = bl + rel
        col = col + bc if rel == 0 else col
        dl = line - prev_line
        head = f"{dl},{col - prev_col if dl == 0 else col},{length},{kind},{mods}"
        out.append((head, bt.body, bt.count))
        last_rel, last_col = bt.last
        prev_line = bl + last_rel
        prev_col = last_col + bc if last_rel == 0 else last_col
    return out


def data_json(segs: list[Segment]) -> str:
    """The numbers of segments as a JSON array."""
    return "[" + ",".join(f"{h},{b}" if b else h for h, b, _ in segs) + "]"


def numbers(segs: list[Segment]) -> list[int]:
    text = ",".join(f"{h},{b}" if b else h for h, b, _ in segs)
    return [int(x) for x in text.split(",")] if text else []


def delta(old: list[Segment], new: list[Segment]) -> tuple[int, int, list[int]] | None:
    """The one edit (start, delete count, numbers) turning the old tokens into the new (None:
    they are the same). Segments of blocks an edit did not touch are the same strings, so only
    the segments between the first and the last that differ are compared number by number."""
    head = 0
    n = min(len(old), len(new))
    while head < n and old[head] == new[head]:
        head += 1
    if head == len(old) == len(new):
        return None
    tail = 0
    while tail < n - head and old[-1 - tail] == new[-1 - tail]:
        tail += 1
    start = sum(s[2] for s in old[:head])
    a = numbers(old[head : len(old) - tail])
    b = numbers(new[head : len(new) - tail])
    i = 0
    while i < len(a) and i < len(b) and a[i] == b[i]:
        i += 1
    j = 0
    while j < len(a) - i and j < len(b) - i and a[-1 - j] == b[-1 - j]:
        j += 1
    return start + i, len(a) - i - j, b[i : len(b) - j]
