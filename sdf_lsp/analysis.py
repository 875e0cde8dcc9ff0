"""One analysis of one SDF text, computed once and read by every front-end (CLI, language
server, build, graph). Four steps, each reading only what the steps before it produced:

1. **lower** (`sdf_lsp.model.lower`): each top-level element to model objects, with the checks
   upstream makes while parsing it; cached per syntax block, so after an edit only the touched
   elements are lowered again, and never changed afterwards;
2. **resolve** (`sdf_lsp.resolve`): names, PD order, domains, region sizes and page sizes, who maps
   what — a fresh `System` per analysis;
3. **layout** (`sdf_lsp.layout`): every PD's CSpace and the memory budget;
4. **checks** (`sdf_lsp.checks`): read the resolved system and the layout, write only diagnostics.

The core does no I/O: files the SDF names (prefill files, program images) are read through the
`FileAccess` the caller passes in.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable
from typing import Any

from sdf_lsp.checks.extensions import check_extensions
from sdf_lsp.checks.system import Checker
from sdf_lsp.diagnostics import ERROR, Diagnostic, Related
from sdf_lsp.layout import Layout, compute_layout
from sdf_lsp.memo import Memo
from sdf_lsp.model.lower import Context, lower_item, unsupported_target
from sdf_lsp.model.types import Channel, Domains, IoAddressSpace, ProtectionDomain
from sdf_lsp.resolve import FileAccess, NoFiles, PrefillInfo, ProgramInfo, resolve
from sdf_lsp.resolve.names import NameIndex, item_names
from sdf_lsp.resolve.system import System
from sdf_lsp.syntax.lines import LineIndex
from sdf_lsp.syntax.scanner import Document, parse, reparse
from sdf_lsp.syntax.tree import Element, Text

__all__ = ["Analysis", "Context", "FileAccess", "NoFiles", "PrefillInfo", "ProgramInfo", "Session", "analyse"]


class Analysis:
    """The result of `analyse()`: the syntax tree, the resolved system, the layout and every
    diagnostic. Read-only for everyone who receives it."""

    def __init__(
        self,
        doc: Document,
        ctx: Context,
        system: System | None,
        diagnostics: list[Diagnostic],
        layout: Layout | None = None,
    ):
        self.doc = doc
        self.ctx = ctx
        self.system = system
        self.diagnostics = diagnostics
        self.layout = layout
        self._lines: LineIndex | None = None
        self._model: dict | None = None
        self._model_blocks: dict[int, dict[int, Any]] = {}
        self._names: NameIndex | None = None

    @property
    def text(self) -> str:
        return self.doc.text

    @property
    def lines(self) -> LineIndex:
        if self._lines is None:
            self._lines = LineIndex(self.doc.text)
        return self._lines

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == ERROR]

    def model_of(self, el):
        """The model object lowered from a syntax element (None if there is none): looked up
        among the objects of the top-level element holding it (a keystroke's code actions and
        hovers then cost what one element holds, not the whole system)."""
        if self.system is None or el is None:
            return None
        top = el
        while top.parent is not None and top.parent is not self.doc.root:
            top = top.parent
        cached: Any = top.block.lowered if top.parent is self.doc.root and top.block.item is top else None
        if cached is None or cached[0] is not self.ctx:
            if self._model is None:
                self._model = _model_map(self.system)
            return self._model.get(id(el))
        found = self._model_blocks.get(id(top))
        if found is None:
            found = self._model_blocks[id(top)] = _objects_of(cached[1][1])
        return found.get(id(el))

    @property
    def names(self) -> NameIndex:
        """Definitions and references of every name (resolved on first use)."""
        if self._names is None:
            self._names = self.system.names if self.system is not None else _names_of(self.doc)
        return self._names


def _names_of(doc: Document) -> NameIndex:
    from sdf_lsp.resolve.names import build_index

    return build_index(doc.root)


def _model_map(system: System | None) -> dict[int, Any]:
    out: dict[int, Any] = {}
    if system is None:
        return out
    for group in (system.root_pds, system.mrs, system.channels, system.io_spaces, system.untypeds, system.cnodes):
        for obj in group:
            _put_objects(obj, out)
    for doms in system.all_domains:
        _put_objects(doms, out)
    return out


def _objects_of(obj: Any) -> dict[int, Any]:
    """The objects lowered from one top-level element, by id() of their syntax element."""
    out: dict[int, Any] = {}
    if obj is not None:
        _put_objects(obj, out)
    return out


def _put_objects(obj: Any, out: dict[int, Any]) -> None:
    def put(objects: Iterable[Any]) -> None:
        for o in objects:
            out[id(o.el)] = o

    if isinstance(obj, ProtectionDomain):
        for pd in obj.walk():
            put((pd,))
            put(pd.maps)
            put(pd.irqs)
            put(pd.ioports)
            put(pd.setvars)
            if pd.vm is not None:
                put((pd.vm,))
                put(pd.vm.vcpus)
                put(pd.vm.maps)
            if pd.cspace is not None:
                put((pd.cspace,))
                put(pd.cspace.caps)
                put(pd.cspace.reserves)
    elif isinstance(obj, Channel):
        put((obj,))
        for end in obj.ends:
            out[id(end.el)] = (obj, end)
    elif isinstance(obj, IoAddressSpace):
        put((obj,))
        put(obj.iomaps)
    elif isinstance(obj, Domains):
        put((obj,))
        put(obj.domains)
        put(obj.schedule)
    else:
        put((obj,))


def analyse(
    text_or_doc: str | Document,
    ctx: Context,
    files: FileAccess | None = None,
    encoding_error: str | None = None,
    memo: Memo | None = None,
) -> Analysis:
    """Analyse a text (or a scanned document, whose blocks keep their lowered elements between
    analyses with the same context). `memo` carries per-PD results between analyses of one
    document (`Session` keeps one)."""
    steps = analysis_steps(text_or_doc, ctx, files, encoding_error, memo)
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value


def analysis_steps(
    text_or_doc: str | Document,
    ctx: Context,
    files: FileAccess | None = None,
    encoding_error: str | None = None,
    memo: Memo | None = None,
    keep_names: bool = False,
) -> Generator[None, None, Analysis]:
    """`analyse()` one step at a time: the generator pauses between the steps (so that a server
    can take in newer edits and drop an analysis they made outdated) and returns the Analysis.
    With `keep_names`, each top-level element lowered anew also keeps its names on its block
    (what highlights and renames read: an editor's first one would otherwise gather them all)."""
    doc = text_or_doc if isinstance(text_or_doc, Document) else parse(text_or_doc)
    memo = memo if memo is not None else Memo()
    diags: list[Diagnostic] = [
        Diagnostic(p.span, ERROR, p.code, p.message, tuple(Related(s, m) for s, m in p.related)) for p in doc.problems
    ]
    if encoding_error:
        at = max(doc.text.find("\ufffd"), 0)
        diags.append(Diagnostic(doc.span(at, min(at + 1, len(doc.text))), ERROR, "XML004", encoding_error))
    root = doc.root
    if root is None:
        return Analysis(doc, ctx, None, diags)
    if root.local != "system":
        diags.append(
            Diagnostic(
                root.name_span,
                ERROR,
                "SDF003",
                f"the root element must be <system>, not <{root.local}> (the Microkit tool crashes on this document)",
            )
        )
        return Analysis(doc, ctx, None, diags)
    why = unsupported_target(ctx)
    if why is not None:  # the release cannot check this file at all: one error says why, nothing else
        return Analysis(doc, ctx, None, [Diagnostic(root.name_span, ERROR, "REL002", why)])
    items = lower(doc, ctx, diags, keep_names)
    yield
    system = resolve(root, items, files or NoFiles(), memo)
    system.regions_version = memo.version("regions", system.regions_key)
    yield
    layout = compute_layout(system, ctx.target, memo)
    yield
    diags.extend(Checker(system, layout, ctx, memo).run())
    diags.extend(check_extensions(system, layout, ctx))
    memo.finish()
    diags.sort(key=lambda d: (d.span.start, d.span.end))
    return Analysis(doc, ctx, system, diags, layout)


#: What the lowering of a block that holds no element keeps: blank text, and comments or PIs.
_BLANK: tuple[str, None, tuple] = ("#blank", None, ())
_OTHER: tuple[str, None, tuple] = ("#other", None, ())


def lower(doc: Document, ctx: Context, diags: list[Diagnostic], keep_names: bool = False) -> list[tuple[str, object]]:
    """Step one: every top-level element lowered (from its block's cache when the context is the
    same), with the diagnostics lowering gave; text directly inside `<system>` is reported here."""
    items: list[tuple[str, object]] = []
    append = items.append  # (the loop runs once per top-level element at every keystroke)
    # upstream's XML reader makes one text node of adjacent text and CDATA sections, so a run
    # of them that opens <system> is its first child (upstream names the element 'system')
    first_node = True
    for b in doc.items:
        cached: Any = b.lowered
        if cached is None or cached[0] is not ctx:
            item = b.item
            if item is None:
                continue
            if isinstance(item, Text):
                if item.is_blank:
                    b.lowered = (ctx, _BLANK)  # type: ignore[assignment]
                else:  # where it stands decides the message: never kept
                    tag = "system" if first_node else ""
                    diags.append(
                        Diagnostic(
                            item.span,
                            ERROR,
                            "MK-T1" if first_node else "MK-T2",
                            f"unexpected text found in element '{tag}'",
                        )
                    )
                continue
            b.lowered = cached = (ctx, lower_item(item, ctx) if isinstance(item, Element) else _OTHER)  # type: ignore[assignment]
            if keep_names and isinstance(item, Element):
                item_names(item)
        lowered = cached[1]
        if lowered is _BLANK:
            continue
        first_node = False
        kind, obj, item_diags = lowered
        if item_diags:
            diags.extend(item_diags)
        if obj is not None:
            append((kind, obj))
    return items


class Session:
    """A document being edited: its text, the newest analysis, and the caches that make
    re-analysing after an edit cheap."""

    def __init__(self, text: str, ctx: Context, files: FileAccess | None = None):
        self.ctx = ctx
        self.files: FileAccess = files or NoFiles()
        self.memo = Memo()
        self.doc = parse(text)
        self.fresh = True  # the whole text was scanned since the last analysis (see `load`)
        self.whole = False  # `analysis` is the first of a whole scanned text (a front-end may settle then)
        self.analysis: Analysis | None = None
        self._lines: LineIndex | None = None

    @property
    def text(self) -> str:
        return self.doc.text

    @property
    def lines(self) -> LineIndex:
        """Positions in the current text (shared with the analysis of that text)."""
        if self._lines is None or self._lines.text is not self.doc.text:
            self._lines = LineIndex(self.doc.text)
        return self._lines

    def edit(self, start: int, end: int, new_text: str, whole: str | None = None) -> None:
        """Replace text[start:end] (offsets) and re-scan what the edit touched (`whole`: the
        text after the edit, when the caller has it already)."""
        old = self.doc.text
        text = whole if whole is not None else old[:start] + new_text + old[end:]
        self.doc = reparse(self.doc, text, start, end, len(new_text))
        if self._lines is not None and self._lines.text is old:
            self._lines = self._lines.edited(text, start, end, len(new_text))

    def replace(self, text: str) -> None:
        """The whole text replaced (an editor's revert, a formatter, a client without incremental
        sync): as the one edit that turns the old text into the new one, so an unchanged part keeps
        its blocks."""
        old = self.doc.text
        if text == old:
            return
        start, old_end, new_end = changed_range(old, text)
        if new_end - start + (old_end - start) < len(text) // 2:
            self.edit(start, old_end, text[start:new_end], text)
            return
        self.load(text)

    def load(self, text: str) -> None:
        """Scan a whole text, keeping nothing of the old one."""
        self.analysis = None  # drop the old tree before building the new one (peak memory)
        del self.doc
        self.doc = parse(text)
        self.fresh = True

    def analyse(self) -> Analysis:
        steps = self.analysis_steps()
        while True:
            try:
                next(steps)
            except StopIteration as done:
                return done.value

    def analysis_steps(self) -> Generator[None, None, Analysis]:
        """Analyse the current text one step at a time (see `analysis_steps`); the session's
        analysis is replaced only when the last step is done. The first analysis of a whole
        scanned text keeps the names of every top-level element on its block (a highlight or a
        rename would otherwise gather them all); an element lowered again after an edit has its
        names gathered when they are first asked for."""
        doc = self.doc
        whole = self.fresh
        analysis = yield from analysis_steps(doc, self.ctx, self.files, memo=self.memo, keep_names=whole)
        if self.doc is doc:
            analysis._lines = self.lines
            self.analysis = analysis
            self.fresh = False
            self.whole = whole
        return analysis


def changed_range(old: str, new: str) -> tuple[int, int, int]:
    """(start, old end, new end): `new` is `old` with old[start:old end] replaced by
    new[start:new end] (the common prefix and suffix left out). Compared in C-level slices."""
    n = min(len(old), len(new))
    lo, hi = 0, n  # old[:lo] == new[:lo]; the first difference is before hi
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if old[lo:mid] == new[lo:mid]:
            lo = mid
        else:
            hi = mid - 1
    start = lo
    limit = n - start  # the suffix may not overlap the prefix
    lo, hi = 0, limit
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if old[len(old) - mid : len(old) - lo] == new[len(new) - mid : len(new) - lo]:
            lo = mid
        else:
            hi = mid - 1
    return start, len(old) - lo, len(new) - lo
