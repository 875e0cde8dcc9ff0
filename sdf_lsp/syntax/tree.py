"""Lossless syntax tree of an SDF (XML) document.

Every node stores offsets *relative to its block*. A block is one child item of the
root element (an element, a text run, a comment, a processing instruction), or the
head (everything up to the end of the root's start tag) or the tail (from the root's
end tag to the end of the file). Blocks tile the text. After an edit only the blocks
it touches are re-scanned; the others are kept and merely get a new `start`, so the
nodes inside them (and everything derived from them) stay valid. An edit inside one
start tag keeps even its own block: that tag is scanned again and the nodes after it
move in place (the block drops what it kept for the old text). The blocks, the nodes
and the root are shared with the document before the edit, which is not used again.

Offsets are indices into the Python string (code points); `sdf_lsp.syntax.lines`
converts them to LSP positions (UTF-16) and to the 1-based line:column the Microkit
tool prints.
"""

from __future__ import annotations

import re

# the XML name and white-space grammar the scanner uses (attribute ranges are found again with it, lazily)
NAME = r"(?:[^\W\d]|:)[\w.:\-\u00B7]*"
WS = r"[ \t\r\n]"
FAST_ATTR = re.compile(rf"({NAME}){WS}*={WS}*(?:\"([^\"<&]*)\"|'([^'<&]*)')")


class Block:
    """A contiguous piece of the text that is scanned as a unit."""

    __slots__ = ("errors", "features", "item", "kind", "length", "lowered", "src", "src_start", "start")

    def __init__(self, start: int, kind: str):
        self.start = start  # absolute offset, updated when an earlier edit moves it
        self.length = 0
        self.kind = kind  # "head" | "item" | "tail"
        self.item: Node | None = None  # the root child this block holds (kind "item")
        self.errors: list[SyntaxProblem] = []
        self.lowered = None  # (context, result) of lowering `item`, kept while the block lives
        self.features: dict | None = None  # editor features of `item` (outline, folds, links), kept likewise
        self.src = ""  # a string holding this block's text at `src_start` (for lazy attribute ranges)
        self.src_start = 0

    @property
    def end(self) -> int:
        return self.start + self.length

    def __repr__(self) -> str:
        return f"Block({self.kind}, {self.start}+{self.length})"


class Span:
    """A range inside one block (so it moves with the block)."""

    __slots__ = ("block", "s", "e")

    def __init__(self, block: Block, s: int, e: int):
        self.block = block
        self.s = s
        self.e = e

    @property
    def start(self) -> int:
        return self.block.start + self.s

    @property
    def end(self) -> int:
        return self.block.start + self.e

    def __repr__(self) -> str:
        return f"Span({self.start}, {self.end})"


class SyntaxProblem:
    """A well-formedness error found by the scanner."""

    __slots__ = ("span", "message", "related", "code")

    def __init__(self, span: Span, message: str, related=(), code: str = "XML001"):
        self.span = span
        self.message = message
        self.related = related  # tuple of (Span, message)
        self.code = code


class Node:
    __slots__ = ("block", "e", "parent", "s")

    kind = "node"
    block: Block
    s: int  # block-relative start
    e: int  # block-relative end
    parent: Element | None

    @property
    def start(self) -> int:
        return self.block.start + self.s

    @property
    def end(self) -> int:
        return self.block.start + self.e

    @property
    def span(self) -> Span:
        return Span(self.block, self.s, self.e)


class Text(Node):
    __slots__ = ("value", "cdata")
    kind = "text"

    def __init__(self, block, s, e, value, cdata=False):
        self.block = block
        self.s = s
        self.e = e
        self.value = value
        self.cdata = cdata
        self.parent = None

    @property
    def is_blank(self) -> bool:
        return not self.value.strip(" \t\r\n")


class Comment(Node):
    __slots__ = ("value",)
    kind = "comment"

    def __init__(self, block, s, e, value):
        self.block = block
        self.s = s
        self.e = e
        self.value = value
        self.parent = None


class ProcessingInstruction(Node):
    __slots__ = ("target", "value")
    kind = "pi"

    def __init__(self, block, s, e, target, value):
        self.block = block
        self.s = s
        self.e = e
        self.target = target
        self.value = value
        self.parent = None


class Attribute:
    """`name="value"`. `value` is decoded (entities expanded, whitespace normalised);
    `vs`/`ve` is the range of the raw value between the quotes."""

    __slots__ = ("element", "name", "local", "s", "e", "vs", "ve", "value", "quoted")

    def __init__(self, element, name, s, e, vs, ve, value, quoted=True):
        self.element = element
        self.name = name
        self.local = name.rpartition(":")[2] if ":" in name else name
        self.s = s  # name start
        self.e = e  # end of the whole attribute (after the closing quote)
        self.vs = vs
        self.ve = ve
        self.value = value
        self.quoted = quoted

    @property
    def block(self) -> Block:
        return self.element.block

    @property
    def name_span(self) -> Span:
        return Span(self.element.block, self.s, self.s + len(self.name))

    @property
    def value_span(self) -> Span:
        return Span(self.element.block, self.vs, self.ve)

    @property
    def span(self) -> Span:
        return Span(self.element.block, self.s, self.e)

    def __repr__(self) -> str:
        return f"{self.name}={self.value!r}"


class Element(Node):
    """An element. `s` is the `<` of the start tag; `e` the end of the end tag (or of
    the start tag if self-closing, or where an unclosed element was implicitly ended).
    The root element's end tag lies in the tail block (`eblock`).

    Attributes are kept as `(name, value)` pairs (`raw`); `Attribute` objects, which carry
    the ranges, are built from the block's source on first use (`attrs`, `attr()`), so a
    large document that is only checked does not pay for ranges nobody asks for."""

    __slots__ = (
        "name",
        "local",
        "raw",
        "_attrs",
        "a_s",
        "a_e",
        "prefixed",
        "children",
        "tag_end",
        "self_closing",
        "closed",
        "eblock",
        "end_tag_s",
        "end_tag_e",
    )
    kind = "element"

    def __init__(self, block, s, name):
        self.block = block
        self.eblock = block
        self.s = s
        self.e = s
        self.name = name
        self.local = name.rpartition(":")[2] if ":" in name else name
        self.raw: list[tuple[str, str]] = []  # (name, decoded value) in document order
        self._attrs: list[Attribute] | None = []
        self.a_s = self.a_e = 0  # block-relative range holding the attributes (lazy ranges)
        self.prefixed = False  # some attribute name has a prefix (or is a namespace declaration)
        self.children: list[Node] = []
        self.tag_end = s  # end of the start tag (after '>')
        self.self_closing = False
        self.closed = False  # has a proper end (self-closing or matching end tag)
        self.end_tag_s = -1
        self.end_tag_e = -1
        self.parent = None

    @property
    def attrs(self) -> list[Attribute]:
        """Every attribute with its ranges, in document order."""
        if self._attrs is None:
            self._attrs = attributes_with_ranges(self)
        return self._attrs

    @property
    def end(self) -> int:
        return self.eblock.start + self.e

    @property
    def name_span(self) -> Span:
        return Span(self.block, self.s + 1, self.s + 1 + len(self.name))

    @property
    def end_tag_span(self) -> Span | None:
        if self.end_tag_s < 0:
            return None
        return Span(self.eblock, self.end_tag_s, self.end_tag_e)

    def attr(self, local: str) -> Attribute | None:
        """First attribute with this local name (namespace declarations excluded)."""
        for a in self.attrs:
            if a.local == local and not (a.name == "xmlns" or a.name.startswith("xmlns:")):
                return a
        return None

    def present(self, local: str) -> Attribute:
        """The first attribute with this local name, which the caller knows is there."""
        a = self.attr(local)
        if a is None:
            raise KeyError(f"<{self.name}> has no attribute {local!r}")
        return a

    def get(self, local: str, default=None):
        """The value of the first attribute with this local name."""
        if not self.prefixed:
            for n, v in self.raw:
                if n == local:
                    return v
            return default
        a = self.attr(local)
        return a.value if a is not None else default

    def has(self, local: str) -> bool:
        if not self.prefixed:
            return any(n == local for n, _ in self.raw)
        return self.attr(local) is not None

    @property
    def elements(self) -> list[Element]:
        return [c for c in self.children if isinstance(c, Element)]

    def __repr__(self) -> str:
        return f"<{self.name} @{self.start}>"


def attributes_with_ranges(el: Element) -> list[Attribute]:
    """Attribute objects of a fast-path element, from the source its block was scanned from."""
    block = el.block
    src, off = block.src, block.src_start
    out = []
    values = iter(el.raw)
    for am in FAST_ATTR.finditer(src, off + el.a_s, off + el.a_e):
        v = am.group(2)
        vs = am.start(2)
        if v is None:
            v = am.group(3)
            vs = am.start(3)
        name, value = next(values)
        out.append(Attribute(el, name, am.start() - off, am.end() - off, vs - off, vs + len(v) - off, value))
    return out
