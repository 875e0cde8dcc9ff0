"""Error-tolerant XML scanner producing the lossless tree of `sdf_lsp.syntax.tree`.

Well-formed input takes a regex fast path per tag; anything else goes through a
careful character-level path that records one precise `SyntaxProblem` and recovers:
an unterminated start tag ends before the next `<`, a mismatched end tag closes the
elements it skips (each reported once, at its start tag), an unclosed file reports
the innermost open element. Only the five predefined entities and character
references are expanded; a DTD is reported and skipped without being read, so no
entity is ever expanded and nothing is ever fetched.

`scan_fragment` re-scans the root children between two block boundaries; it gives up
(returns None) whenever the result could differ from a full scan, and the caller then
scans the whole text.
"""

from __future__ import annotations

import re

from sdf_lsp.syntax.tree import (
    FAST_ATTR,
    NAME,
    WS,
    Attribute,
    Block,
    Comment,
    Element,
    Node,
    ProcessingInstruction,
    Span,
    SyntaxProblem,
    Text,
)

_FAST_START = re.compile(rf"<({NAME})((?:{WS}+{NAME}{WS}*={WS}*(?:\"[^\"<&]*\"|'[^'<&]*'))*){WS}*(/?)>")
_NAME_RE = re.compile(NAME)
_WS_RE = re.compile(rf"{WS}*")
_END_TAG = re.compile(rf"</({NAME}){WS}*>")
_ENTITY = re.compile(r"&(#x[0-9A-Fa-f]+|#[0-9]+|(?:[^\W\d]|:)[\w.:\-]*)?(;?)")
_ATTR_WS = re.compile(r"\r\n|[\t\n\r]")
_INVALID_CHAR = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_PREDEFINED = {"lt": "<", "gt": ">", "amp": "&", "apos": "'", "quot": '"'}
_UNQUOTED_VALUE = re.compile(r"[^ \t\r\n<>]*")
_TAG_REST = re.compile(r"""(?:[^<>"']+|"[^"<]*"|'[^'<]*')*""")
# Elements nest at most this deep (the root is level 1; a Microkit system has at most 63
# PDs, so about 70 levels); what lies deeper is reported and passed over, which bounds
# every walk over the tree.
MAX_DEPTH = 128


class _Escape(Exception):
    """A fragment scan reached something whose meaning depends on text outside it."""


class Document:
    """The scanned text: blocks tiling it, the top-level nodes and the root element."""

    __slots__ = ("text", "blocks", "nodes", "root", "head", "tail", "_faulty")

    def __init__(self, text, blocks, nodes, root, head, tail, faulty=None):
        self.text = text
        self.blocks: list[Block] = blocks  # head, items..., tail
        self.nodes = nodes  # top-level nodes outside the root, and the root
        self.root: Element | None = root
        self.head: Block = head
        self.tail: Block = tail
        self._faulty: list[Block] | None = faulty  # the item blocks with a problem, in order (None: not gathered)

    @property
    def faulty(self) -> list[Block]:
        """The item blocks (neither head nor tail) holding a problem, in order."""
        if self._faulty is None:
            self._faulty = [b for b in self.blocks[1:-1] if b.errors]
        return self._faulty

    @property
    def problems(self) -> list[SyntaxProblem]:
        out = list(self.head.errors)
        for b in self.faulty:
            out.extend(b.errors)
        out.extend(self.tail.errors)
        return out

    def block_at(self, offset: int) -> Block:
        """The block containing an offset (the last one for the end of the text)."""
        blocks = self.blocks
        lo, hi = 0, len(blocks) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if blocks[mid].start <= offset:
                lo = mid
            else:
                hi = mid - 1
        return blocks[lo]

    def span(self, start: int, end: int) -> Span:
        b = self.block_at(start)
        return Span(b, start - b.start, end - b.start)

    @property
    def items(self) -> list[Block]:
        """The blocks holding the root's children, in order."""
        return self.blocks[1:-1]


def _matched(rx: re.Pattern[str], text: str, pos: int, end: int) -> re.Match[str]:
    """A match of a pattern that matches here by construction (it may match the empty string,
    or the caller has seen the name-start character it begins with)."""
    m = rx.match(text, pos, end)
    assert m is not None, (rx.pattern, pos)
    return m


def _is_name_start(c: str) -> bool:
    return c == ":" or c == "_" or c.isalpha()


class _Scanner:
    def __init__(self, text: str, end: int, fragment: bool):
        self.spare: Block | None = None
        self.text = text
        self.end = end
        self.fragment = fragment

    # -- helpers -------------------------------------------------------------------
    def err(self, block: Block, s: int, e: int, message: str, related=(), code: str = "XML001"):
        block.errors.append(SyntaxProblem(Span(block, s - block.start, e - block.start), message, related, code))

    def decode(self, raw: str, abs_start: int, block: Block, what: str) -> str:
        """Expand character and predefined entity references; report the others."""
        if "&" not in raw:
            return raw
        out = []
        last = 0
        for m in _ENTITY.finditer(raw):
            out.append(raw[last : m.start()])
            last = m.end()
            name, semi = m.group(1), m.group(2)
            s, e = abs_start + m.start(), abs_start + m.end()
            if not name or not semi:
                self.err(block, s, e, f"'&' in {what} must start an entity reference such as '&amp;'")
                out.append(m.group(0))
                continue
            if name[0] == "#":
                try:
                    cp = int(name[2:], 16) if name[1] == "x" else int(name[1:])
                    ch = chr(cp)
                    if _INVALID_CHAR.match(ch) and ch not in "\t\n\r":
                        raise ValueError
                except (ValueError, OverflowError):
                    self.err(block, s, e, f"character reference '&{name};' is not a valid XML character")
                    out.append(m.group(0))
                    continue
                out.append(ch)
            elif name in _PREDEFINED:
                out.append(_PREDEFINED[name])
            else:
                self.err(
                    block,
                    s,
                    e,
                    f"unknown entity reference '&{name};' (only &lt; &gt; &amp; &apos; &quot; and "
                    "character references are allowed)",
                )
                out.append(m.group(0))
        out.append(raw[last:])
        return "".join(out)

    # -- the main loop ---------------------------------------------------------------
    def run(self, pos: int, stack: list[Element], block: Block | None, base_depth: int):
        """Scan [pos, end) with `stack` holding the open elements. Every node that starts
        at depth `base_depth` (a root child) gets a block of its own; with
        `base_depth` < 0 everything goes into `block`.
        Returns (item blocks, top-level nodes, offset where the root's end tag starts or -1)."""
        text = self.text
        end = self.end
        blocks: list[Block] = []
        toplevel: list = []
        find = text.find
        root_closed_at = -1
        item_parent = stack[base_depth - 1] if base_depth > 0 else None
        n_before = 0

        while pos < end:
            at_base = len(stack) == base_depth
            if at_base:
                block = Block(pos, "item")
                block.src, block.src_start = text, pos
                blocks.append(block)
                n_before = len(item_parent.children) if item_parent is not None else 0
            assert block is not None  # a root child opens its own; deeper nodes go into the given one
            lt = find("<", pos, end)
            if lt < 0:
                lt = end
            if lt > pos:
                raw = text[pos:lt]
                value = self.decode(raw, pos, block, "text") if "&" in raw else raw
                node = Text(block, pos - block.start, lt - block.start, value)
                if stack:
                    node.parent = stack[-1]
                    stack[-1].children.append(node)
                else:
                    toplevel.append(node)
                    if not node.is_blank:
                        self.err(block, pos, lt, "text is not allowed outside the root element")
                pos = lt
                if at_base:
                    block.item = node
                    block.length = pos - block.start
                continue
            # text[pos] == '<'
            c1 = text[pos + 1] if pos + 1 < end else ""
            if c1 == "/":
                pos = self.end_tag(pos, stack, block, base_depth)
                if pos < 0:  # the root's end tag starts at -pos - 1
                    root_closed_at = -pos - 1
                    break
            elif c1 == "!":
                pos = self.markup_decl(pos, stack, block, toplevel)
            elif c1 == "?":
                pos = self.pi(pos, stack, block, toplevel)
            elif c1 and _is_name_start(c1):
                el, pos, self_closing = self.start_tag(pos, block)
                if stack:
                    el.parent = stack[-1]
                    stack[-1].children.append(el)
                else:
                    toplevel.append(el)
                el.e = el.tag_end
                if self_closing:
                    el.self_closing = True
                    el.closed = True
                elif len(stack) >= MAX_DEPTH:
                    pos = self.skip_deep(el, pos, stack, block)
                else:
                    stack.append(el)
            else:
                # a '<' that starts nothing: keep it as text
                self.err(block, pos, pos + 1, "'<' must start a tag; write '&lt;' for a literal '<'")
                nxt = find("<", pos + 1, end)
                if nxt < 0:
                    nxt = end
                node = Text(block, pos - block.start, nxt - block.start, text[pos:nxt])
                if stack:
                    node.parent = stack[-1]
                    stack[-1].children.append(node)
                else:
                    toplevel.append(node)
                pos = nxt
            if item_parent is not None and len(stack) == base_depth:
                # the item that started this block is complete
                if block.item is None and len(item_parent.children) > n_before:
                    block.item = item_parent.children[n_before]
                block.length = pos - block.start
        if item_parent is not None:
            stop = root_closed_at if root_closed_at >= 0 else pos
            if blocks and blocks[-1].start == stop:  # opened for the root's end tag: the tail
                self.spare = blocks.pop()
            if blocks:
                last = blocks[-1]
                if last.item is None and len(item_parent.children) > n_before:
                    last.item = item_parent.children[n_before]
                last.length = stop - last.start
        return blocks, toplevel, root_closed_at

    def skip_deep(self, el: Element, pos: int, stack: list[Element], block: Block) -> int:
        """`el` lies deeper than MAX_DEPTH: report it once and pass over what it holds
        without building nodes, so no tree (and nothing that walks one) is deeper than that.
        Tags are only matched by name here. Returns where scanning goes on: after `el`'s
        end tag, or at an end tag that closes one of its ancestors (then `el` is open on
        the stack and the caller reports it as unclosed), or at the end of the text."""
        text, end, find = self.text, self.end, self.text.find
        self.err(
            block,
            el.start + 1,
            el.start + 1 + len(el.name),
            f"nesting too deep: '<{el.name}>' is more than {MAX_DEPTH} levels down, so what it holds is not read",
            code="XML005",
        )
        names = [el.name]  # open elements inside the skipped part (names only)
        where: dict[str, list[int]] = {el.name: [0]}  # name -> its indices in `names`
        while True:
            lt = find("<", pos, end)
            if lt < 0:
                break
            if text.startswith("<!--", lt) or text.startswith("<![CDATA[", lt) or text.startswith("<?", lt):
                closer = (
                    "-->" if text[lt + 1] == "!" and text[lt + 2] == "-" else "?>" if text[lt + 1] == "?" else "]]>"
                )
                close = find(closer, lt + 2, end)
                if close < 0:
                    break
                pos = close + len(closer)
            elif text.startswith("<!", lt):
                pos = self.skip_decl(lt)
            elif text.startswith("</", lt):
                m = _END_TAG.match(text, lt, end)
                if m is not None:
                    name, stop = m.group(1), m.end()
                else:
                    nm = _NAME_RE.match(text, lt + 2, end)
                    name = nm.group(0) if nm else ""
                    nxt = find("<", lt + 2, end)
                    gt = find(">", lt + 2, nxt if nxt >= 0 else end)
                    if gt < 0 and nxt < 0:
                        break
                    stop = gt + 1 if gt >= 0 else nxt
                if where.get(name):
                    idx = where[name][-1]
                    while len(names) > idx:
                        where[names.pop()].pop()
                    if not names:
                        el.closed = True
                        el.end_tag_s = lt - el.eblock.start
                        el.end_tag_e = el.e = stop - el.eblock.start
                        return stop
                elif any(open_el.name == name for open_el in stack):
                    stack.append(el)
                    return lt
                pos = stop
            elif lt + 1 < end and _is_name_start(text[lt + 1]):
                q = lt + 1
                while True:
                    q = _matched(_TAG_REST, text, q, end).end()
                    if q < end and text[q] in "\"'":  # a quote left open: step over it
                        q += 1
                        continue
                    break
                if q >= end:
                    break
                if text[q] == ">" and text[q - 1] != "/":
                    name = _matched(_NAME_RE, text, lt + 1, end).group(0)
                    where.setdefault(name, []).append(len(names))
                    names.append(name)
                pos = q + 1 if text[q] == ">" else q
            else:
                pos = lt + 1
        # the text ends inside the skipped part
        if self.fragment:
            raise _Escape
        stack.append(el)
        return end

    def start_tag(self, pos: int, block: Block):
        m = _FAST_START.match(self.text, pos, self.end)
        if m is None:
            return self.slow_start_tag(pos, block)
        el = Element(block, pos - block.start, m.group(1))
        bs = block.start
        a_s, a_e = m.span(2)
        if a_s != a_e:
            text = self.text
            raw = [(n, d or q) for n, d, q in FAST_ATTR.findall(text, a_s, a_e)]
            if text.find("\n", a_s, a_e) >= 0 or text.find("\t", a_s, a_e) >= 0 or text.find("\r", a_s, a_e) >= 0:
                raw = [(n, _ATTR_WS.sub(" ", v)) for n, v in raw]
            el.raw = raw
            el._attrs = None  # built from the block's source when a range is needed
            el.a_s, el.a_e = a_s - bs, a_e - bs
            if text.find(":", a_s, a_e) >= 0 or text.find("xmlns", a_s, a_e) >= 0:
                el.prefixed = any(":" in n or n == "xmlns" for n, _ in raw)
            if len(raw) > 1 and len({n for n, _ in raw}) != len(raw):
                self.report_duplicates(el, block)
        stop = m.end()
        el.tag_end = stop - bs
        return el, stop, m.group(3) == "/"

    def report_duplicates(self, el: Element, block: Block):
        seen: dict[str, Attribute] = {}
        for a in el.attrs:
            if a.name in seen:
                first = seen[a.name]
                self.err(
                    block,
                    block.start + a.s,
                    block.start + a.s + len(a.name),
                    f"attribute '{a.name}' is already defined on this element",
                    ((first.name_span, "first definition"),),
                )
            else:
                seen[a.name] = a

    def slow_start_tag(self, pos: int, block: Block):
        """Start tag that the fast path rejected: recover from every kind of damage."""
        text, end = self.text, self.end
        bs = block.start
        m = _matched(_NAME_RE, text, pos + 1, end)
        name = m.group(0)
        el = Element(block, pos - bs, name)
        p = m.end()
        reported = False
        self_closing = False
        while True:
            ws = _matched(_WS_RE, text, p, end)
            had_ws = ws.end() > p
            p = ws.end()
            if p >= end:
                if self.fragment:
                    raise _Escape
                if not reported:
                    self.err(block, pos, pos + 1 + len(name), f"start tag '<{name}' is not closed with '>'")
                el.tag_end = p - bs
                _set_raw(el)
                return el, p, True
            c = text[p]
            if c == ">":
                p += 1
                break
            if c == "/" and text.startswith("/>", p):
                p += 2
                self_closing = True
                break
            if c == "<":
                if not reported:
                    self.err(block, pos, pos + 1 + len(name), f"start tag '<{name}' is not closed with '>' or '/>'")
                el.tag_end = p - bs
                _set_raw(el)
                return el, p, True
            if _is_name_start(c):
                am = _matched(_NAME_RE, text, p, end)
                aname = am.group(0)
                a_s = p
                p = am.end()
                if not had_ws and el.attrs and not reported:
                    self.err(block, a_s, p, f"attribute '{aname}' must be separated from the previous one by a space")
                    reported = True
                p = _matched(_WS_RE, text, p, end).end()
                if p < end and text[p] == "=":
                    p = _matched(_WS_RE, text, p + 1, end).end()
                    q = text[p] if p < end else ""
                    if q in ("'", '"'):
                        close = text.find(q, p + 1, end)
                        lt = text.find("<", p + 1, close if close >= 0 else end)
                        if close >= 0 and lt < 0:
                            raw = text[p + 1 : close]
                            vs, ve, p = p + 1, close, close + 1
                        else:
                            if close < 0 and lt < 0 and self.fragment:
                                raise _Escape
                            stop = lt if lt >= 0 else end
                            nl = text.find("\n", p + 1, stop)
                            ve = nl if nl >= 0 else stop
                            raw = text[p + 1 : ve]
                            vs = p + 1
                            self.err(block, a_s, ve, f"the value of attribute '{aname}' is missing its closing {q}")
                            reported = True
                            p = ve
                        value = self.decode(raw, vs, block, "an attribute value")
                        value = _ATTR_WS.sub(" ", value)
                        quoted = True
                    else:
                        vm = _matched(_UNQUOTED_VALUE, text, p, end)
                        ve = vm.end()
                        if ve > p and text[ve - 1] == "/" and ve < end and text[ve] == ">":
                            ve -= 1
                        vs = p
                        raw = text[vs:ve]
                        value = self.decode(raw, vs, block, "an attribute value")
                        if not reported:
                            if raw:
                                self.err(
                                    block, vs, ve, f"the value of attribute '{aname}' must be quoted: {aname}=\"{raw}\""
                                )
                            else:
                                self.err(block, a_s, p, f"attribute '{aname}' has no value")
                            reported = True
                        p = ve
                        quoted = False
                else:
                    vs = ve = p
                    value = ""
                    quoted = False
                    if not reported:
                        self.err(block, a_s, a_s + len(aname), f"attribute '{aname}' needs a value: {aname}=\"...\"")
                        reported = True
                el.attrs.append(
                    Attribute(el, aname, a_s - bs, (p if quoted else ve) - bs, vs - bs, ve - bs, value, quoted)
                )
                continue
            # junk inside the tag
            j = p
            while j < end and text[j] not in " \t\r\n<>/" and not _is_name_start(text[j]):
                j += 1
            if j == p:
                j = p + 1
            if not reported:
                prev = el.attrs[-1] if el.attrs else None
                if prev is not None and prev.quoted and bs + prev.e == p:
                    self.err(
                        block,
                        bs + prev.vs - 1,
                        j,
                        f"the value of attribute '{prev.name}' is followed by {text[p:j]!r}: is a closing quote missing?",
                    )
                else:
                    self.err(block, p, j, f"unexpected {text[p:j]!r} in the start tag of '{name}'")
                reported = True
            p = j
        el.tag_end = p - bs
        _set_raw(el)
        names = [a.name for a in el.attrs]
        if len(set(names)) != len(names):
            self.report_duplicates(el, block)
        return el, p, self_closing

    def end_tag(self, pos: int, stack: list[Element], block: Block, base_depth: int) -> int:
        text, end = self.text, self.end
        m = _END_TAG.match(text, pos, end)
        if m is not None:
            name = m.group(1)
            stop = m.end()
            tag_close_ok = True
        else:
            nm = _NAME_RE.match(text, pos + 2, end)
            name = nm.group(0) if nm else ""
            p = _matched(_WS_RE, text, nm.end() if nm else pos + 2, end).end()
            if p < end and text[p] == ">":
                stop = p + 1
                tag_close_ok = True
            else:
                lt = text.find("<", p, end)
                gt = text.find(">", p, lt if lt >= 0 else end)
                if lt < 0 and gt < 0 and self.fragment:
                    raise _Escape
                stop = gt + 1 if gt >= 0 else (lt if lt >= 0 else end)
                tag_close_ok = False
        # find the element this end tag closes
        idx = -1
        for i in range(len(stack) - 1, -1, -1):
            if stack[i].name == name:
                idx = i
                break
        if idx < 0:
            if not tag_close_ok:
                self.err(block, pos, stop, f"end tag '</{name}' is not closed with '>'")
            elif not name:
                self.err(block, pos, stop, "end tag without a name")
            else:
                what = f"no element '{name}' is open here" if stack else "the root element is already closed"
                self.err(block, pos, stop, f"unexpected end tag '</{name}>': {what}")
            return stop
        if self.fragment and idx < base_depth:
            raise _Escape
        if idx < base_depth:
            # the root's end tag: the tail starts here (parse() reads the tag itself)
            self.close_skipped(stack, idx, pos, block, name)
            del stack[idx:]
            return -(pos + 1)
        if not tag_close_ok:
            self.err(block, pos, stop, f"end tag '</{name}' is not closed with '>'")
        self.close_skipped(stack, idx, pos, block, name)
        el = stack[idx]
        del stack[idx:]
        el.closed = True
        el.end_tag_s = pos - el.eblock.start
        el.end_tag_e = stop - el.eblock.start
        el.e = el.end_tag_e
        return stop

    def close_skipped(self, stack, idx, pos, block, name):
        """Elements left open inside the one an end tag closes end where that tag starts."""
        for el in stack[idx + 1 :]:
            el.e = pos - el.eblock.start
            self.err(
                el.block,
                el.block.start + el.s + 1,
                el.block.start + el.s + 1 + len(el.name),
                f"element '{el.name}' is not closed (end it with '/>' or '</{el.name}>')",
                ((Span(block, pos - block.start, pos - block.start + len(name) + 2), f"'</{name}>' ends it here"),),
            )

    def markup_decl(self, pos: int, stack, block: Block, toplevel) -> int:
        text, end = self.text, self.end
        node: Node
        if text.startswith("<!--", pos):
            close = text.find("-->", pos + 4, end)
            if close < 0:
                if self.fragment:
                    raise _Escape
                self.err(block, pos, pos + 4, "comment is not closed with '-->'")
                stop = end
                body = text[pos + 4 : end]
            else:
                stop = close + 3
                body = text[pos + 4 : close]
            dd = body.find("--")
            if dd >= 0 or body.endswith("-"):
                at = pos + 4 + (dd if dd >= 0 else len(body) - 1)
                self.err(block, at, at + 2, "'--' is not allowed inside a comment")
            node = Comment(block, pos - block.start, stop - block.start, body)
        elif text.startswith("<![CDATA[", pos):
            close = text.find("]]>", pos + 9, end)
            if close < 0:
                if self.fragment:
                    raise _Escape
                self.err(block, pos, pos + 9, "CDATA section is not closed with ']]>'")
                stop = end
                body = text[pos + 9 : end]
            else:
                stop = close + 3
                body = text[pos + 9 : close]
            node = Text(block, pos - block.start, stop - block.start, body, cdata=True)
            if not stack:
                self.err(block, pos, stop, "text is not allowed outside the root element")
        else:
            # <!DOCTYPE ...> or other declarations: never interpreted, skipped in linear time
            stop = self.skip_decl(pos)
            if text.startswith("<!DOCTYPE", pos):
                msg = "a DTD (<!DOCTYPE>) is not allowed in an SDF; entities it declares are never expanded"
            else:
                msg = f"unsupported markup declaration '{text[pos : pos + 10]}'"
            self.err(block, pos, min(stop, pos + 9), msg, code="XML002")
            node = Comment(block, pos - block.start, stop - block.start, text[pos:stop])
        if stack:
            node.parent = stack[-1]
            stack[-1].children.append(node)
        else:
            toplevel.append(node)
        return stop

    def skip_decl(self, pos: int) -> int:
        """End of a <!...> declaration, honouring quotes and one internal subset."""
        text, end = self.text, self.end
        p = pos + 2
        depth = 0
        quote = ""
        while p < end:
            c = text[p]
            if quote:
                if c == quote:
                    quote = ""
            elif c in "'\"":
                quote = c
            elif c == "[":
                depth += 1
            elif c == "]":
                depth -= 1
            elif c == ">" and depth <= 0:
                return p + 1
            p += 1
        if self.fragment:
            raise _Escape
        return end

    def pi(self, pos: int, stack, block: Block, toplevel) -> int:
        text, end = self.text, self.end
        close = text.find("?>", pos + 2, end)
        if close < 0:
            if self.fragment:
                raise _Escape
            self.err(block, pos, pos + 2, "processing instruction is not closed with '?>'")
            stop = end
            body = text[pos + 2 : end]
        else:
            stop = close + 2
            body = text[pos + 2 : close]
        m = _NAME_RE.match(body)
        target = m.group(0) if m else ""
        if not target:
            self.err(block, pos, pos + 2, "processing instruction without a name")
        elif target.lower() == "xml":
            lead = text[:pos]
            if pos != 0 and not (pos == 1 and lead == "\ufeff"):
                self.err(block, pos, pos + 5, "the XML declaration '<?xml ...?>' must be at the very start of the file")
        node = ProcessingInstruction(block, pos - block.start, stop - block.start, target, body[len(target) :].strip())
        if stack:
            node.parent = stack[-1]
            stack[-1].children.append(node)
        else:
            toplevel.append(node)
        return stop


def _check_chars(text: str, block: Block):
    """One diagnostic per block for characters XML forbids (binary junk)."""
    m = _INVALID_CHAR.search(text, block.start, block.end)
    if m is not None:
        ch = m.group(0)
        block.errors.append(
            SyntaxProblem(
                Span(block, m.start() - block.start, m.end() - block.start),
                f"character U+{ord(ch):04X} is not allowed in XML (is this a binary file?)",
                code="XML003",
            )
        )


def parse(text: str) -> Document:
    """Scan a whole document."""
    n = len(text)
    sc = _Scanner(text, n, fragment=False)
    head = Block(0, "head")
    head.src = text
    toplevel: list = []
    pos = 1 if text.startswith("\ufeff") else 0
    root: Element | None = None
    # the prolog, up to and including the root's start tag, is the head block
    while pos < n and root is None:
        lt = text.find("<", pos)
        if lt < 0:
            lt = n
        if lt > pos:
            node = Text(head, pos, lt, text[pos:lt])
            toplevel.append(node)
            if not node.is_blank:
                sc.err(head, pos, lt, "text is not allowed before the root element")
            pos = lt
            continue
        c1 = text[pos + 1] if pos + 1 < n else ""
        if c1 == "!":
            pos = sc.markup_decl(pos, [], head, toplevel)
        elif c1 == "?":
            pos = sc.pi(pos, [], head, toplevel)
        elif c1 and _is_name_start(c1):
            root, pos, self_closing = sc.start_tag(pos, head)
            root.e = root.tag_end
            if self_closing:
                root.self_closing = root.closed = True
            toplevel.append(root)
        else:
            stop = text.find(">", pos)
            stop = n if stop < 0 else stop + 1
            if c1 == "/":
                sc.err(head, pos, stop, "end tag before the root element")
            else:
                stop = pos + 1
                sc.err(head, pos, stop, "'<' must start a tag; write '&lt;' for a literal '<'")
            toplevel.append(Text(head, pos, stop, text[pos:stop]))
            pos = stop
    head.length = pos
    blocks: list[Block] = []
    tail = None
    if root is None:
        msg = (
            "the document is empty"
            if not text.strip()
            else "the document has no root element; an SDF starts with <system>"
        )
        head.errors.append(SyntaxProblem(Span(head, 0, min(n, 1)), msg))
        tail = Block(n, "tail")
    elif root.self_closing:
        tail = Block(pos, "tail")
        tail.length = n - pos
        _epilog(sc, pos, tail, toplevel)
    else:
        stack = [root]
        blocks, _, closed_at = sc.run(pos, stack, None, 1)
        for b in blocks:
            if b.item is not None:
                b.item.parent = root
        if closed_at >= 0:
            tail = sc.spare or Block(closed_at, "tail")
            tail.kind = "tail"
            tail.length = n - closed_at
            root.eblock = tail
            _root_end_tag(sc, root, tail)
            _epilog(sc, tail.start + root.end_tag_e, tail, toplevel)
        else:
            tail = Block(n, "tail")
            root.eblock = tail
            root.e = 0
            # The end of the file belongs to the tail, so the problem lives there (at the innermost
            # open element): `reparse` keeps it, or renews it when it re-scans the last item.
            tail.errors.append(_unclosed_at_end(stack))
            for el in stack[1:]:
                el.e = n - el.block.start
    tail.src, tail.src_start = text, tail.start
    all_blocks = [head, *blocks, tail]
    for b in all_blocks:
        _check_chars(text, b)
    return Document(text, all_blocks, toplevel, root, head, tail)


def _unclosed_at_end(stack: list[Element]) -> SyntaxProblem:
    """The file ended with these elements open (the root first)."""
    inner = stack[-1]
    related = tuple((el.name_span, f"'{el.name}' opened here") for el in stack[:-1])
    names = ", ".join(f"'{el.name}'" for el in reversed(stack))
    verb = "is" if len(stack) == 1 else "are"
    return SyntaxProblem(inner.name_span, f"the file ends before {names} {verb} closed", related)


def _root_end_tag(sc: _Scanner, root: Element, tail: Block):
    text, n = sc.text, sc.end
    start = tail.start
    m = _END_TAG.match(text, start)
    if m is not None:
        stop = m.end()
    else:
        gt = text.find(">", start, n)
        lt = text.find("<", start + 1, n)
        if gt >= 0 and (lt < 0 or gt < lt):
            stop = gt + 1
        else:
            stop = lt if lt >= 0 else n
            sc.err(tail, start, stop, f"end tag '</{root.name}' is not closed with '>'")
    root.closed = True
    root.end_tag_s = 0
    root.end_tag_e = stop - start
    root.e = root.end_tag_e


def _epilog(sc: _Scanner, pos: int, tail: Block, toplevel: list):
    """After the root only comments, processing instructions and whitespace may follow."""
    text, n = sc.text, sc.end
    while pos < n:
        lt = text.find("<", pos)
        if lt < 0:
            lt = n
        if lt > pos:
            node = Text(tail, pos - tail.start, lt - tail.start, text[pos:lt])
            toplevel.append(node)
            if not node.is_blank:
                sc.err(tail, pos, lt, "text is not allowed after the root element")
            pos = lt
            continue
        c1 = text[pos + 1] if pos + 1 < n else ""
        if c1 == "!":
            pos = sc.markup_decl(pos, [], tail, toplevel)
        elif c1 == "?":
            pos = sc.pi(pos, [], tail, toplevel)
        elif c1 and _is_name_start(c1):
            m = _matched(_NAME_RE, text, pos + 1, n)
            sc.err(
                tail, pos + 1, m.end(), f"only one root element is allowed; '<{m.group(0)}>' follows the closed root"
            )
            # keep what follows in the tree (nothing the user typed is lost) but outside the system
            _, nodes, _ = sc.run(pos, [], tail, -1)
            toplevel.extend(nodes)
            return
        else:
            stop = text.find(">", pos)
            stop = n if stop < 0 else stop + 1
            if c1 != "/":
                stop = pos + 1
            sc.err(tail, pos, stop, "unexpected markup after the root element")
            toplevel.append(Text(tail, pos - tail.start, stop - tail.start, text[pos:stop]))
            pos = stop


def scan_fragment(text: str, start: int, end: int, root: Element) -> list[Block] | None:
    """Re-scan the root children in text[start:end]; None if a full scan is needed."""
    sc = _Scanner(text, end, fragment=True)
    stand_in = Element(root.block, root.s, root.name)
    stack = [stand_in]
    try:
        blocks, _, closed_at = sc.run(start, stack, None, 1)
    except _Escape:
        return None
    if closed_at >= 0 or len(stack) != 1:
        return None
    piece = text[start:end]  # so old versions of a large text are not kept alive by small blocks
    for b in blocks:
        if b.item is not None:
            b.item.parent = root
        b.src, b.src_start = piece, b.start - start
        _check_chars(text, b)
    return blocks


def reparse(doc: Document, text: str, start: int, end: int, new_len: int) -> Document:
    """The document after replacing old[start:end] by `new_len` characters, giving `text`.

    Only the root children the edit touches (and one neighbour on each side, so that
    text runs cannot merge across the boundary) are scanned again; the other blocks
    are reused and moved."""
    root = doc.root
    blocks = doc.blocks
    head, tail = doc.head, doc.tail
    delta = new_len - (end - start)
    if (
        root is None
        or root.self_closing
        or start < head.end
        or end > tail.start
        or (tail.length == 0 and end >= tail.start)
        or len(blocks) < 2
    ):
        return parse(text)
    retagged = _retag(doc, text, start, end, new_len)
    if retagged is not None:
        return retagged
    n_items = len(blocks) - 2
    if n_items == 0:
        first, last = 1, 0
        region_start, old_end = head.end, tail.start
    else:
        # the items whose closed range meets [start, end]: they tile the middle, so at least one does
        lo, hi = 1, n_items
        while lo < hi:
            mid = (lo + hi) // 2
            if blocks[mid].end < start:
                lo = mid + 1
            else:
                hi = mid
        i = j = lo
        while j < n_items and blocks[j + 1].start <= end:
            j += 1
        first, last = max(1, i - 1), min(n_items, j + 1)
        region_start, old_end = blocks[first].start, blocks[last].end
    new_end = old_end + delta
    frag = scan_fragment(text, region_start, new_end, root)
    if frag is None:
        return parse(text)
    for b in blocks[last + 1 :]:
        b.start += delta
    new_blocks = blocks[:first] + frag + blocks[last + 1 :]
    fresh = [b.item for b in frag if b.item is not None]
    if len(root.children) == len(blocks) - 2 and len(fresh) == len(frag):
        root.children[first - 1 : last] = fresh  # every item block holds a child (no stray end tag): spliced
    else:
        root.children = [b.item for b in new_blocks[1:-1] if b.item is not None]
    if not root.closed and last == n_items:
        # The root is open at the end of the file and the last item was scanned again: the
        # fragment ended with only the root open (else it would have been refused), so the
        # problem the tail holds now names the root alone.
        tail.errors = [_unclosed_at_end([root])]
    faulty = None
    if doc._faulty is not None:  # the item blocks with problems: those kept, and the new ones in their place
        gone = {id(b) for b in blocks[first : last + 1]}
        faulty = [b for b in doc._faulty if id(b) not in gone]
        new_faulty = [b for b in frag if b.errors]
        if new_faulty:
            faulty = sorted(faulty + new_faulty, key=lambda b: b.start)
    return Document(text, new_blocks, doc.nodes, root, head, tail, faulty)


def _set_raw(el: Element):
    """The slow path built Attribute objects; keep the (name, value) view in step."""
    attrs = el.attrs
    el.raw = [(a.name, a.value) for a in attrs]
    el.prefixed = any(":" in a.name or a.name == "xmlns" for a in attrs)


# -- an edit inside one start tag ------------------------------------------------------------------
def _retag(doc: Document, text: str, start: int, end: int, new_len: int) -> Document | None:
    """An edit between the name and the end of one start tag (typing an attribute's value, say)
    that leaves it a well-formed tag of the same element: only that tag is scanned again, and the
    rest of its block keeps its nodes, the offsets after the edit moved in place. None when
    another scan is needed (an error in the block, a tag that changes shape)."""
    blocks = doc.blocks
    i = _block_index(blocks, start)
    if i <= 0 or i >= len(blocks) - 1:
        return None
    block = blocks[i]
    item = block.item
    if not isinstance(item, Element) or block.errors or not (block.start < start and end < block.end):
        return None
    if _refers_to(doc.tail, block) or _refers_to(doc.head, block):
        return None  # a problem there points into this block (an element it leaves open): scanned the usual way
    base = block.start
    el = item
    path: list[tuple[Element, int]] = []  # the elements holding `el`, with the index of the one on the way
    while True:  # the element whose start tag holds the edit
        name_end = base + el.s + 1 + len(el.name)
        tag_close = base + el.tag_end - (2 if el.self_closing else 1)
        if name_end < start and end <= tag_close:
            break
        inner = -1
        for k, c in enumerate(el.children):
            if isinstance(c, Element) and base + c.s < start and end < base + c.e:
                inner = k
                break
        if inner < 0:
            return None
        path.append((el, inner))
        el = el.children[inner]  # type: ignore[assignment]
    delta = new_len - (end - start)
    length = block.length + delta
    scratch = Block(base, "item")
    scratch.src, scratch.src_start = text[base : base + length], 0
    sc = _Scanner(text, base + el.tag_end + delta, fragment=True)
    try:
        new_el, stop, self_closing = sc.start_tag(base + el.s, scratch)
    except _Escape:
        return None
    if (
        scratch.errors
        or new_el.name != el.name
        or self_closing != el.self_closing
        or stop - base != el.tag_end + delta
        or _INVALID_CHAR.search(text, start, start + new_len)
    ):
        return None
    # The block and its nodes are kept (a large element's thousands of nodes are not copied):
    # what follows the edited tag moves by delta, the tag takes what was scanned, and what the
    # block kept for the old text is dropped.
    for anc, k in path:  # an enclosing element: its end moves, so does what follows the way down
        _shift_end(anc, delta)
        kids = anc.children
        for j in range(k + 1, len(kids)):
            _shift(kids[j], delta)
    _shift_end(el, delta)
    for c in el.children:
        _shift(c, delta)
    el.raw, el.prefixed, el.a_s, el.a_e, el.tag_end = (
        new_el.raw,
        new_el.prefixed,
        new_el.a_s,
        new_el.a_e,
        new_el.tag_end,
    )
    attrs = new_el._attrs
    el._attrs = (
        None if attrs is None else [Attribute(el, a.name, a.s, a.e, a.vs, a.ve, a.value, a.quoted) for a in attrs]
    )
    block.length = length
    block.src, block.src_start = scratch.src, 0
    block.lowered = None
    block.features = None
    for b in blocks[i + 1 :]:
        b.start += delta
    return Document(text, list(blocks), doc.nodes, doc.root, doc.head, doc.tail, doc._faulty)  # (no new problem)


def _shift_end(el: Element, delta: int) -> None:
    """Move the end of an element whose start tag lies before an edit (or holds it)."""
    el.e += delta
    if el.end_tag_s >= 0:
        el.end_tag_s += delta
        el.end_tag_e += delta


def _shift(node: Node, delta: int) -> None:
    """Move a node and everything in it by delta, in place. (The hot path of typing in a large
    element's start tag: thousands of nodes, so the walk is written out.)"""
    stack = [node]
    pop, push = stack.pop, stack.extend
    while stack:
        n = pop()
        n.s += delta
        n.e += delta
        if n.__class__ is Element:
            el: Element = n
            el.tag_end += delta
            if el.a_s != el.a_e:  # the attribute ranges are found again in the block's new source
                el.a_s += delta
                el.a_e += delta
                el._attrs = None
            elif el._attrs:  # built at once (a value with a reference): moved one by one
                for a in el._attrs:
                    a.s += delta
                    a.e += delta
                    a.vs += delta
                    a.ve += delta
            if el.end_tag_s >= 0:
                el.end_tag_s += delta
                el.end_tag_e += delta
            if el.children:
                push(el.children)


def _refers_to(block: Block, target: Block) -> bool:
    """Some problem of `block` has a range in `target`."""
    return any(p.span.block is target or any(span.block is target for span, _ in p.related) for p in block.errors or ())


def _block_index(blocks: list[Block], offset: int) -> int:
    lo, hi = 0, len(blocks) - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if blocks[mid].start <= offset:
            lo = mid
        else:
            hi = mid - 1
    return lo
