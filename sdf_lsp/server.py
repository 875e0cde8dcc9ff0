"""The language server: pygls wiring only. Features live in `sdf_lsp.ide` and answer from
the newest analysis of the current text; this module translates to and from LSP.

Concurrency: everything runs on the event loop. An edit re-scans the touched blocks at
once; analysis is debounced, and a request waits for the analysis of the text it was
made against, so no answer (and no published diagnostic) ever comes from an old version.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import logging
import os
import re
import time
from pathlib import Path
from urllib.parse import unquote, urlparse

from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer
from pygls.protocol.language_server import LanguageServerProtocol, lsp_method
from pygls.uris import from_fs_path, to_fs_path

from sdf_lsp import __version__, suppress
from sdf_lsp.analysis import Analysis, Session
from sdf_lsp.config import CONFIG_NAMES, ConfigError, config_for
from sdf_lsp.diagnostics import Diagnostic
from sdf_lsp.files import FileError, ProgramImages, SearchPathFiles, read_sdf, stamp_of
from sdf_lsp.ide import actions, completion, hover, navigation, symbols
from sdf_lsp.ide.env import Environment
from sdf_lsp.ide.env_checks import EDITOR_SEARCH_HINT, program_diagnostics
from sdf_lsp.ide.hover import cspace_table
from sdf_lsp.model.lower import Context
from sdf_lsp.model.types import ProtectionDomain
from sdf_lsp.settings import DEFAULT, EditorSetup, Settings, editor_setup, parse_settings

log = logging.getLogger("sdf_lsp.server")

DEBOUNCE_MIN, DEBOUNCE_MAX = 0.005, 0.15  # seconds; scaled to how long an analysis of the document takes
_ROOT_SYSTEM = re.compile(r"^\s*(?:<\?xml[^>]*\?>\s*)?(?:<!--.*?-->\s*)*<(?:[\w.-]+:)?system[\s>/]", re.S)


class RequestFailed(JsonRpcException):
    """LSP `RequestFailed` (-32803): a valid request the server refuses, e.g. a rename to a taken name."""

    CODE = -32803


class Document:
    """One open SDF: its editing session, version and the pending analysis."""

    def __init__(self, uri: str, text: str, version: int, ctx: Context, env: Environment):
        self.uri = uri
        self.version = version
        self.env = env  # the files the analysis and the features read
        self.session = Session(text, ctx, env)
        self.analysed_version: int | None = None
        self.task: asyncio.Task | None = None
        self.program_diagnostics: list[Diagnostic] = []  # from the program images on the search paths
        self.setup: EditorSetup | None = None  # target, search paths, rules: settings, environment, sdf-lsp.toml
        self.setup_key: tuple | None = None  # (sdf-lsp.toml path, its stamp, workspace folder) the setup was made for
        self.last_duration = 0.0  # seconds the last analysis took
        self.last_change = 0.0  # time.monotonic() of the last edit
        self.build_diagnostics: list[Diagnostic] = []  # from the last build of this text (cleared by an edit)

    @property
    def stale(self) -> bool:
        return self.analysed_version != self.version


class SdfProtocol(LanguageServerProtocol):
    """Documents are kept by the server's sessions (which re-scan only what an edit
    touched), so pygls does not keep a second copy of every text."""

    @lsp_method(lsp.TEXT_DOCUMENT_DID_OPEN)
    def lsp_text_document__did_open(self, params: lsp.DidOpenTextDocumentParams):
        if (handler := self.fm.features.get(lsp.TEXT_DOCUMENT_DID_OPEN)) is not None:
            yield handler, (params,), None

    @lsp_method(lsp.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(self, params: lsp.DidChangeTextDocumentParams):
        if (handler := self.fm.features.get(lsp.TEXT_DOCUMENT_DID_CHANGE)) is not None:
            yield handler, (params,), None

    @lsp_method(lsp.TEXT_DOCUMENT_DID_CLOSE)
    def lsp_text_document__did_close(self, params: lsp.DidCloseTextDocumentParams):
        if (handler := self.fm.features.get(lsp.TEXT_DOCUMENT_DID_CLOSE)) is not None:
            yield handler, (params,), None


class SdfLanguageServer(LanguageServer):
    def __init__(self):
        super().__init__(
            "sdf-lsp",
            __version__,
            text_document_sync_kind=lsp.TextDocumentSyncKind.Incremental,
            protocol_cls=SdfProtocol,
        )
        self.settings: Settings = DEFAULT
        self.target, self.target_source_problem = DEFAULT.resolve(None)
        self.ctx = Context(self.target)
        self.docs: dict[str, Document] = {}
        self.root: str | None = None
        self.folders: list[str] = []  # the workspace folders (a document's working directory is its folder)
        self._setups: dict[tuple, tuple[EditorSetup, Context]] = {}  # by Document.setup_key
        self.config_errors: dict[str, ConfigError] = {}  # sdf-lsp.toml files with a published problem
        self.encoding = "utf-16"
        self.snippets = True
        self.images = ProgramImages()  # parsed program images, shared by every document and build
        self._workspace_symbols: dict[str, tuple[tuple, list]] = {}
        self._gc_task: asyncio.Task | None = None

    # -- settings --------------------------------------------------------------------
    def apply_settings(self, raw, announce: bool = True):
        settings = parse_settings(raw)
        problems = list(settings.problems)
        warnings: list[str] = []
        target, problem = settings.resolve(self.root, warn=warnings.append)
        if problem:
            problems.append(problem)
        problems.extend(warnings)
        self.settings = settings
        self.target, self.target_source_problem = target, problem
        self.ctx = Context(target, settings.dialect, settings.authority_hints)
        for msg in problems:
            log.warning("settings: %s", msg)
            if announce:
                self.window_show_message(lsp.ShowMessageParams(type=lsp.MessageType.Warning, message=f"sdf-lsp: {msg}"))
        log.info("target: %s (%s), dialect %s", target.label, target.source, settings.dialect)
        self.reload_configs()

    def reload_configs(self):
        """Settings or an sdf-lsp.toml changed: every document gets its setup again and is analysed again."""
        self._setups.clear()
        for doc in self.docs.values():
            doc.setup_key = None
            self.refresh_setup(doc)
            doc.analysed_version = None
            self.schedule(doc, 0)

    def folder_of(self, path: str | None) -> str | None:
        """The workspace folder of a file (the innermost that holds it), else the root."""
        if path:
            inside = [f for f in self.folders if path == f or path.startswith(f.rstrip(os.sep) + os.sep)]
            if inside:
                return max(inside, key=len)
        return self.root

    def setup_for(self, uri: str) -> tuple[tuple, EditorSetup, Context]:
        """What a document is analysed against: its settings, the environment and its sdf-lsp.toml
        (found from the document's folder; read again when it changes)."""
        path = uri_path(uri)
        config = config_for(path) if path else None
        try:
            stamp = stamp_of(os.stat(config)) if config else None
        except OSError:
            stamp = None
        key = (config, stamp, self.folder_of(path))
        hit = self._setups.get(key)
        if hit is None:
            warnings: list[str] = []
            setup = editor_setup(self.settings, key[2], config, warn=warnings.append)
            for msg in warnings:
                log.warning("target: %s", msg)
            if setup.config is not None:
                log.info("%s: %s: target %s (%s)", uri, setup.config.path, setup.target.label, setup.target.source)
            hit = (setup, Context(setup.target, setup.dialect, setup.authority_hints))
            self._setups[key] = hit
            self.publish_config_problem(config, setup.config_error)
        return key, hit[0], hit[1]

    def refresh_setup(self, doc: Document) -> None:
        """Give the document the setup of its sdf-lsp.toml as it is now (a few `stat`s when unchanged)."""
        key, setup, ctx = self.setup_for(doc.uri)
        if key == doc.setup_key:
            return
        doc.setup_key, doc.setup = key, setup
        doc.env = self.environment(doc.uri, setup)
        doc.session.ctx = ctx
        doc.session.files = doc.env

    def publish_config_problem(self, path: str | None, error: ConfigError | None) -> None:
        """One diagnostic on a configuration file that cannot be used (cleared once it can)."""
        if path is None or (error is None and path not in self.config_errors):
            return
        diagnostics = []
        if error is not None:
            self.config_errors[path] = error
            line = max(0, (error.line or 1) - 1)
            col = max(0, (error.column or 1) - 1)
            diagnostics.append(
                lsp.Diagnostic(
                    range=lsp.Range(
                        start=lsp.Position(line=line, character=col), end=lsp.Position(line=line + 1, character=0)
                    ),
                    severity=lsp.DiagnosticSeverity.Error,
                    code="CONFIG",
                    source="sdf-lsp",
                    message=f"{error.message} (sdf-lsp uses the settings and defaults instead)",
                )
            )
            log.warning("%s", error)
        else:
            self.config_errors.pop(path, None)
        self.text_document_publish_diagnostics(
            lsp.PublishDiagnosticsParams(uri=from_fs_path(path) or Path(path).as_uri(), diagnostics=diagnostics)
        )

    def environment(self, uri: str, setup: EditorSetup | None = None) -> Environment:
        """The files of a document, on its search paths: the configured ones (settings, else its
        sdf-lsp.toml), then its workspace folder (microkit searches the working directory), then
        the document's folder."""
        if setup is None:
            setup = self.setup_for(uri)[1]
        paths = list(setup.search_paths)
        path = uri_path(uri)
        if path:
            paths.append(os.path.dirname(path))
        return Environment(list(dict.fromkeys(paths)), self.images)

    # -- analysis ----------------------------------------------------------------------
    def schedule(self, doc: Document, delay: float | None = None):
        if doc.task is not None and not doc.task.done():
            doc.task.cancel()
        if delay is None:
            # The first edit after a pause is analysed at once; edits that follow each other
            # faster than an analysis takes coalesce (the wait scales with the analysis time).
            now = time.monotonic()
            window = min(DEBOUNCE_MAX, max(DEBOUNCE_MIN, doc.last_duration))
            delay = (
                0.0 if now - doc.last_change > window else min(DEBOUNCE_MAX, max(DEBOUNCE_MIN, doc.last_duration / 2))
            )
            doc.last_change = now
        doc.task = asyncio.get_event_loop().create_task(self._analyse_later(doc, delay))

    async def _analyse_later(self, doc: Document, delay: float):
        try:
            if delay:
                await asyncio.sleep(delay)
            self.analyse_now(doc)
        except asyncio.CancelledError:
            pass

    def analyse_now(self, doc: Document) -> Analysis:
        if not doc.stale and doc.session.analysis is not None:
            return doc.session.analysis
        version = doc.version
        try:
            self.refresh_setup(doc)
        except Exception:
            log.exception("reading the sdf-lsp.toml of %s failed", doc.uri)
        t0 = time.perf_counter()
        gc.disable()  # the cyclic collector would re-scan the whole tree while it grows; see collect_when_idle
        try:
            analysis = doc.session.analyse()
        except Exception:  # the server never dies on input; report it and keep the text
            log.exception("analysis of %s failed", doc.uri)
            doc.session.replace(doc.session.text)
            analysis = doc.session.analyse()
        finally:
            gc.enable()
        try:
            doc.program_diagnostics = program_diagnostics(analysis, doc.env, EDITOR_SEARCH_HINT)
        except Exception:
            log.exception("reading the program images of %s failed", doc.uri)
            doc.program_diagnostics = []
        doc.analysed_version = version
        doc.last_duration = time.perf_counter() - t0
        log.debug("analysed %s v%s in %.1f ms", doc.uri, version, doc.last_duration * 1000)
        self.publish(doc, analysis)
        self.collect_when_idle()
        return analysis

    def collect_when_idle(self, delay: float = 1.0):
        """Free replaced syntax trees (they hold reference cycles) once edits pause."""
        if self._gc_task is not None and not self._gc_task.done():
            self._gc_task.cancel()

        async def later():
            try:
                await asyncio.sleep(delay)
                gc.collect()
            except asyncio.CancelledError:
                pass

        self._gc_task = asyncio.get_event_loop().create_task(later())

    def publish(self, doc: Document, analysis: Analysis):
        if doc.version != doc.analysed_version or self.docs.get(doc.uri) is not doc:
            return
        found = analysis.diagnostics + doc.program_diagnostics + doc.build_diagnostics
        rules = doc.setup.rules if doc.setup is not None else suppress.NO_RULES
        shown = suppress.apply(analysis.doc, analysis.lines, found, rules)  # comments and sdf-lsp.toml
        diags = [self.to_lsp_diagnostic(analysis, d, doc.uri) for d in shown]
        self.text_document_publish_diagnostics(
            lsp.PublishDiagnosticsParams(uri=doc.uri, diagnostics=diags, version=doc.version)
        )

    async def current(self, uri: str) -> tuple[Document, Analysis] | None:
        """The analysis of the newest text of a document (computed now if an edit is pending)."""
        doc = self.docs.get(uri)
        if doc is None:
            return None
        if doc.stale or doc.session.analysis is None:
            if doc.task is not None and not doc.task.done():
                doc.task.cancel()
            self.analyse_now(doc)
        return doc, doc.session.analysis

    # -- conversions ---------------------------------------------------------------------
    def pos(self, analysis: Analysis, offset: int) -> lsp.Position:
        line, ch = analysis.lines.position(offset, self.encoding)
        return lsp.Position(line=line, character=ch)

    def rng(self, analysis: Analysis, start: int, end: int) -> lsp.Range:
        return lsp.Range(start=self.pos(analysis, start), end=self.pos(analysis, end))

    def offset(self, analysis: Analysis, position: lsp.Position) -> int:
        return analysis.lines.offset(position.line, position.character, self.encoding)

    def to_lsp_diagnostic(self, analysis: Analysis, d: Diagnostic, uri: str) -> lsp.Diagnostic:
        related = [
            lsp.DiagnosticRelatedInformation(
                location=lsp.Location(uri=r.uri or uri, range=self.rng(analysis, r.span.start, r.span.end)),
                message=r.message,
            )
            for r in d.related
            if r.span is not None
        ]
        return lsp.Diagnostic(
            range=self.rng(analysis, d.span.start, d.span.end),
            severity=lsp.DiagnosticSeverity(d.severity),
            code=d.code,
            source="sdf-lsp",
            message=d.message,
            related_information=related or None,
            tags=[lsp.DiagnosticTag(t) for t in d.tags] or None,
            data=d.data,
        )

    def edit_for(self, analysis: Analysis, uri: str, edits) -> lsp.WorkspaceEdit:
        return lsp.WorkspaceEdit(
            changes={uri: [lsp.TextEdit(range=self.rng(analysis, s, e), new_text=t) for s, e, t in edits]}
        )


server = SdfLanguageServer()


def uri_path(uri: str) -> str | None:
    if not uri.startswith("file:"):
        return None
    return to_fs_path(uri) or unquote(urlparse(uri).path)


def is_sdf(uri: str, language_id: str | None, text: str) -> bool:
    if uri.endswith(".system") or language_id == "sdf":
        return True
    return bool(_ROOT_SYSTEM.match(text[:4096]))


def guarded(default=None):
    """A feature that fails logs the error and answers `default`; the next request still works."""

    def wrap(fn):
        @functools.wraps(fn)
        async def inner(ls: SdfLanguageServer, params):
            try:
                return await fn(ls, params)
            except (asyncio.CancelledError, JsonRpcException):
                raise
            except Exception:
                log.exception("%s failed", fn.__name__)
                return default

        return inner

    return wrap


# -- lifecycle -------------------------------------------------------------------------------
@server.feature(lsp.INITIALIZE)
def initialize(ls: SdfLanguageServer, params: lsp.InitializeParams):
    folders = params.workspace_folders or []
    root_uri = folders[0].uri if folders else params.root_uri
    ls.root = uri_path(root_uri) if root_uri else params.root_path
    ls.folders = [p for p in (uri_path(f.uri) for f in folders) if p]
    ls.apply_settings(params.initialization_options or {}, announce=False)


@server.feature(lsp.INITIALIZED)
def initialized(ls: SdfLanguageServer, params: lsp.InitializedParams):
    ls.encoding = str(ls.server_capabilities.position_encoding or "utf-16")
    caps = ls.client_capabilities.text_document
    item = caps.completion.completion_item if caps and caps.completion else None
    ls.snippets = bool(item and item.snippet_support)
    for msg in ls.settings.problems:
        ls.window_show_message(lsp.ShowMessageParams(type=lsp.MessageType.Warning, message=f"sdf-lsp: {msg}"))
    ls.window_log_message(
        lsp.LogMessageParams(
            type=lsp.MessageType.Info, message=f"sdf-lsp {__version__}: target {ls.target.label} ({ls.target.source})"
        )
    )


@server.feature(lsp.WORKSPACE_DID_CHANGE_CONFIGURATION)
def did_change_configuration(ls: SdfLanguageServer, params: lsp.DidChangeConfigurationParams):
    settings = params.settings
    if isinstance(settings, dict) and "sdf" not in settings and not any(k.startswith("sdf.") for k in settings):
        settings = {"sdf": settings}
    ls.apply_settings(settings or {})


@server.feature(lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES)
def did_change_watched_files(ls: SdfLanguageServer, params: lsp.DidChangeWatchedFilesParams):
    """An sdf-lsp.toml written outside the editor (clients that watch it for the server, as the
    VS Code extension does) applies to the open documents at once; without such events it
    applies from their next analysis, which looks at the file again."""
    if any(c.uri.rsplit("/", 1)[-1] in CONFIG_NAMES for c in params.changes):
        ls.reload_configs()


# -- document sync ---------------------------------------------------------------------------
@server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: SdfLanguageServer, params: lsp.DidOpenTextDocumentParams):
    item = params.text_document
    if not is_sdf(item.uri, item.language_id, item.text):
        return
    key, setup, ctx = ls.setup_for(item.uri)
    env = ls.environment(item.uri, setup)
    gc.disable()
    try:
        doc = Document(item.uri, item.text, item.version, ctx, env)
    finally:
        gc.enable()
    doc.setup_key, doc.setup = key, setup
    ls.docs[item.uri] = doc
    ls.analyse_now(doc)


@server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: SdfLanguageServer, params: lsp.DidChangeTextDocumentParams):
    doc = ls.docs.get(params.text_document.uri)
    if doc is None:
        return
    gc.disable()
    try:
        apply_changes(ls, doc, params.content_changes)
    finally:
        gc.enable()
    doc.version = params.text_document.version
    doc.build_diagnostics = []
    ls.schedule(doc)


def apply_changes(ls: SdfLanguageServer, doc: Document, changes):
    session = doc.session
    for change in changes:
        if isinstance(change, lsp.TextDocumentContentChangePartial):
            lines = session.lines
            start = lines.offset(change.range.start.line, change.range.start.character, ls.encoding)
            end = lines.offset(change.range.end.line, change.range.end.character, ls.encoding)
            try:
                session.edit(start, max(start, end), change.text)
            except Exception:
                log.exception("incremental re-scan failed; scanning the whole text")
                old = session.text
                session.replace(old[:start] + change.text + old[max(start, end) :])
        else:
            session.replace(change.text)


@server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
def did_save(ls: SdfLanguageServer, params: lsp.DidSaveTextDocumentParams):
    doc = ls.docs.get(params.text_document.uri)
    if doc is None:
        return
    doc.analysed_version = None  # files the SDF names are checked again by every analysis
    ls.analyse_now(doc)


@server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: SdfLanguageServer, params: lsp.DidCloseTextDocumentParams):
    doc = ls.docs.pop(params.text_document.uri, None)
    if doc is None:
        return
    if doc.task is not None:
        doc.task.cancel()
    ls.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=doc.uri, diagnostics=[]))
    ls.collect_when_idle(0)


# -- features --------------------------------------------------------------------------------
@server.feature(lsp.TEXT_DOCUMENT_HOVER)
@guarded()
async def on_hover(ls: SdfLanguageServer, params: lsp.HoverParams):
    cur = await ls.current(params.text_document.uri)
    if cur is None:
        return None
    doc, a = cur
    found = hover.hover(a, ls.offset(a, params.position), doc.env)
    if found is None:
        return None
    text, (s, e) = found
    return lsp.Hover(contents=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=text), range=ls.rng(a, s, e))


@server.feature(lsp.TEXT_DOCUMENT_COMPLETION, lsp.CompletionOptions(trigger_characters=["<", " ", '"', "/"]))
@guarded(default=lsp.CompletionList(is_incomplete=False, items=[]))
async def on_completion(ls: SdfLanguageServer, params: lsp.CompletionParams):
    cur = await ls.current(params.text_document.uri)
    if cur is None:
        return None
    doc, a = cur
    items = completion.completion(a, ls.offset(a, params.position), doc.env, encoding=ls.encoding, snippets=ls.snippets)
    return lsp.CompletionList(is_incomplete=False, items=items)


@server.feature(lsp.TEXT_DOCUMENT_DEFINITION)
@guarded()
async def on_definition(ls: SdfLanguageServer, params: lsp.DefinitionParams):
    cur = await ls.current(params.text_document.uri)
    if cur is None:
        return None
    doc, a = cur
    out = []
    for t in navigation.definition(a, ls.offset(a, params.position), doc.env):
        if t.path is None:
            out.append(lsp.Location(uri=doc.uri, range=ls.rng(a, t.start, t.end)))
        else:
            p = lsp.Position(line=t.line, character=0)
            out.append(lsp.Location(uri=from_fs_path(t.path), range=lsp.Range(start=p, end=p)))
    return out or None


@server.feature(lsp.TEXT_DOCUMENT_REFERENCES)
@guarded()
async def on_references(ls: SdfLanguageServer, params: lsp.ReferenceParams):
    cur = await ls.current(params.text_document.uri)
    if cur is None:
        return None
    doc, a = cur
    found = navigation.references(a, ls.offset(a, params.position), params.context.include_declaration)
    return [lsp.Location(uri=doc.uri, range=ls.rng(a, s, e)) for s, e in found] or None


@server.feature(lsp.TEXT_DOCUMENT_DOCUMENT_HIGHLIGHT)
@guarded()
async def on_highlight(ls: SdfLanguageServer, params: lsp.DocumentHighlightParams):
    cur = await ls.current(params.text_document.uri)
    if cur is None:
        return None
    doc, a = cur
    return [
        lsp.DocumentHighlight(
            range=ls.rng(a, s, e), kind=lsp.DocumentHighlightKind.Write if is_def else lsp.DocumentHighlightKind.Read
        )
        for s, e, is_def in navigation.highlights(a, ls.offset(a, params.position))
    ] or None


@server.feature(lsp.TEXT_DOCUMENT_PREPARE_RENAME)
@guarded()
async def on_prepare_rename(ls: SdfLanguageServer, params: lsp.PrepareRenameParams):
    cur = await ls.current(params.text_document.uri)
    if cur is None:
        return None
    doc, a = cur
    found = navigation.prepare_rename(a, ls.offset(a, params.position))
    if found is None:
        return None
    s, e, name = found
    return lsp.PrepareRenamePlaceholder(range=ls.rng(a, s, e), placeholder=name)


@server.feature(lsp.TEXT_DOCUMENT_RENAME)
@guarded()
async def on_rename(ls: SdfLanguageServer, params: lsp.RenameParams):
    cur = await ls.current(params.text_document.uri)
    if cur is None:
        return None
    doc, a = cur
    try:
        edits = navigation.rename(a, ls.offset(a, params.position), params.new_name)
    except navigation.RenameError as err:
        raise RequestFailed(str(err)) from None
    return ls.edit_for(a, doc.uri, edits)


@server.feature(lsp.TEXT_DOCUMENT_DOCUMENT_LINK)
@guarded()
async def on_document_link(ls: SdfLanguageServer, params: lsp.DocumentLinkParams):
    cur = await ls.current(params.text_document.uri)
    if cur is None:
        return None
    doc, a = cur
    caps = ls.client_capabilities.text_document
    tooltips = bool(caps and caps.document_link and caps.document_link.tooltip_support)
    return [
        lsp.DocumentLink(range=ls.rng(a, s, e), target=from_fs_path(path), tooltip=path if tooltips else None)
        for s, e, path in navigation.document_links(a, doc.env)
    ]


_SYMBOL_KINDS = {
    "pd": lsp.SymbolKind.Class,
    "vm": lsp.SymbolKind.Object,
    "mr": lsp.SymbolKind.Struct,
    "channel": lsp.SymbolKind.Event,
    "domain": lsp.SymbolKind.Namespace,
    "untyped": lsp.SymbolKind.Array,
    "cnode": lsp.SymbolKind.Array,
    "io": lsp.SymbolKind.Interface,
}


@server.feature(lsp.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
@guarded()
async def on_document_symbol(ls: SdfLanguageServer, params: lsp.DocumentSymbolParams):
    cur = await ls.current(params.text_document.uri)
    if cur is None:
        return None
    doc, a = cur

    def conv(sym: symbols.Symbol) -> lsp.DocumentSymbol:
        return lsp.DocumentSymbol(
            name=sym.name,
            detail=sym.detail or None,
            kind=_SYMBOL_KINDS[sym.kind],
            range=ls.rng(a, sym.start, sym.end),
            selection_range=ls.rng(a, sym.sel_start, sym.sel_end),
            children=[conv(c) for c in sym.children] or None,
        )

    return [conv(s) for s in symbols.document_symbols(a)]


@server.feature(lsp.TEXT_DOCUMENT_FOLDING_RANGE)
@guarded()
async def on_folding(ls: SdfLanguageServer, params: lsp.FoldingRangeParams):
    cur = await ls.current(params.text_document.uri)
    if cur is None:
        return None
    _, a = cur
    return [
        lsp.FoldingRange(
            start_line=s,
            end_line=e,
            kind=lsp.FoldingRangeKind.Comment if k == "comment" else lsp.FoldingRangeKind.Region,
        )
        for s, e, k in symbols.folding_ranges(a)
    ]


@server.feature(lsp.TEXT_DOCUMENT_INLAY_HINT)
@guarded()
async def on_inlay_hint(ls: SdfLanguageServer, params: lsp.InlayHintParams):
    cur = await ls.current(params.text_document.uri)
    if cur is None:
        return None
    _, a = cur
    start, end = ls.offset(a, params.range.start), ls.offset(a, params.range.end)
    return [
        lsp.InlayHint(position=ls.pos(a, h.offset), label=h.label, padding_left=True, tooltip=h.tooltip)
        for h in symbols.inlay_hints(a, start, end)
    ]


@server.feature(
    lsp.TEXT_DOCUMENT_CODE_ACTION,
    lsp.CodeActionOptions(code_action_kinds=[lsp.CodeActionKind.QuickFix, lsp.CodeActionKind.RefactorRewrite]),
)
@guarded()
async def on_code_action(ls: SdfLanguageServer, params: lsp.CodeActionParams):
    cur = await ls.current(params.text_document.uri)
    if cur is None:
        return None
    doc, a = cur
    start, end = ls.offset(a, params.range.start), ls.offset(a, params.range.end)
    out = []
    for fix in actions.quick_fixes(a, start, end):
        out.append(
            lsp.CodeAction(
                title=fix.title,
                kind=lsp.CodeActionKind.QuickFix,
                diagnostics=[ls.to_lsp_diagnostic(a, fix.diagnostic, doc.uri)],
                is_preferred=fix.preferred or None,
                edit=ls.edit_for(a, doc.uri, fix.edits),
            )
        )
    out.extend(silence_actions(ls, a, doc.uri, params.context.diagnostics))
    unnest = actions.unnest_child(a, start)
    if unnest is not None:
        out.append(
            lsp.CodeAction(
                title=unnest.title, kind=lsp.CodeActionKind.RefactorRewrite, edit=ls.edit_for(a, doc.uri, unnest.edits)
            )
        )
    return out


def silence_actions(ls: SdfLanguageServer, a: Analysis, uri: str, diagnostics: list[lsp.Diagnostic]):
    """ "Silence CODE here" / "in this file" for the warnings, information and hints of the request
    (an error is to be fixed: it can still be silenced by hand, but the build stops on it)."""
    out = []
    seen = set()
    for d in diagnostics:
        code = d.code if isinstance(d.code, str) else None
        if d.source != "sdf-lsp" or code is None or code.startswith("SUP") or code == "CONFIG":
            continue
        at = (code, d.range.start.line, d.range.start.character)
        if d.severity in (None, lsp.DiagnosticSeverity.Error) or at in seen:
            continue
        seen.add(at)
        for whole_file in (False, True):
            fix = actions.silence(a, ls.offset(a, d.range.start), code, whole_file)
            if fix is not None:
                out.append(
                    lsp.CodeAction(
                        title=fix.title,
                        kind=lsp.CodeActionKind.QuickFix,
                        diagnostics=[d],
                        edit=ls.edit_for(a, uri, fix.edits),
                    )
                )
    return out


@server.feature(lsp.WORKSPACE_SYMBOL)
@guarded()
async def on_workspace_symbol(ls: SdfLanguageServer, params: lsp.WorkspaceSymbolParams):
    query = params.query.lower()
    out = []
    for path, syms in workspace_symbols(ls):
        uri = from_fs_path(path)
        for name, kind, line, ch, end_ch in syms:
            if query in name.lower():
                r = lsp.Range(
                    start=lsp.Position(line=line, character=ch), end=lsp.Position(line=line, character=end_ch)
                )
                out.append(
                    lsp.WorkspaceSymbol(
                        name=name,
                        kind=_SYMBOL_KINDS[kind],
                        location=lsp.Location(uri=uri, range=r),
                        container_name=os.path.basename(path),
                    )
                )
    return out[:500]


def workspace_symbols(ls: SdfLanguageServer):
    """PD, memory region and domain names of every `*.system` file in the workspace (open
    documents from their current text, others from disk, cached by modification time)."""
    from sdf_lsp.resolve.names import build_index
    from sdf_lsp.syntax.lines import LineIndex
    from sdf_lsp.syntax.scanner import parse

    open_paths = {uri_path(u): d for u, d in ls.docs.items()}
    files = []
    if ls.root and os.path.isdir(ls.root):
        for dirpath, dirnames, filenames in os.walk(ls.root):
            dirnames[:] = [d for d in dirnames if not d.startswith(".") and d not in ("node_modules", "build")]
            files.extend(os.path.join(dirpath, f) for f in filenames if f.endswith(".system"))
            if len(files) > 2000:
                break
    files.extend(p for p in open_paths if p and p not in files)
    for path in files:
        doc = open_paths.get(path)
        if doc is not None and doc.session.analysis is not None:
            a = doc.session.analysis
            yield path, _symbols_of(a.names, a.lines, ls.encoding)
            continue
        try:
            stamp = stamp_of(os.stat(path))
        except OSError:
            continue
        hit = ls._workspace_symbols.get(path)
        if hit is None or hit[0] != stamp:
            try:
                text, _ = read_sdf(path)
            except FileError as err:  # a FIFO, a device, a huge file: not an SDF to list
                log.debug("workspace symbols: skipping %s", err)
                continue
            d = parse(text)
            hit = (stamp, _symbols_of(build_index(d.root), LineIndex(text), ls.encoding))
            ls._workspace_symbols[path] = hit
        yield path, hit[1]


def _symbols_of(index, lines, encoding) -> list:
    out = []
    for (kind, name), attrs in index.definitions.items():
        if kind not in ("pd", "mr", "domain", "untyped", "cnode", "vm"):
            continue
        a = attrs[0]
        line, ch = lines.position(a.value_span.start, encoding)
        _, end_ch = lines.position(a.value_span.end, encoding)
        out.append((name, kind, line, ch, end_ch))
    return out


# -- commands ----------------------------------------------------------------------------------
def _command_args(args) -> dict:
    """Commands take one object argument; positional [uri, pd] is accepted too."""
    if not args:
        return {}
    first = args[0]
    if isinstance(first, dict):
        return first
    keys = ("uri", "pd")
    return {k: v for k, v in zip(keys, args, strict=False)}


@server.command("sdf.describeTarget")
def describe_target(ls: SdfLanguageServer, *args):
    """`{"uri"?}`: the target of that document (under its sdf-lsp.toml), else the workspace's."""
    uri = _command_args(args).get("uri")
    doc = ls.docs.get(uri) if uri else None
    t, dialect, problem, config = ls.target, ls.settings.dialect, ls.target_source_problem, None
    if doc is not None and doc.setup is not None:
        t, dialect, problem = doc.setup.target, doc.setup.dialect, doc.setup.problem
        config = doc.setup.config.path if doc.setup.config is not None else None
    return {
        "label": t.label,
        "arch": t.arch,
        "board": t.board,
        "config": t.config,
        "source": t.source,
        "dialect": dialect,
        "problem": problem,  # why the configured target was not used, if it was not
        "sdk": str(Path(t.sdk.board_dir).parents[2]) if t.sdk and t.sdk.board_dir else None,
        "configFile": config,  # the sdf-lsp.toml that applies, if any
    }


@server.command("sdf.listBoards")
def list_boards_command(ls: SdfLanguageServer, *args):
    """`{"sdk"?}` -> `[{"board", "source": "sdk"|"builtin", "configs", "arch"}]`: the boards of
    the given SDK (else the one in use, else $MICROKIT_SDK), then the built-in table."""
    from sdf_lsp.target.listing import list_boards, sdk_from_environment

    sdk = _command_args(args).get("sdk") or ls.settings.target_sdk or sdk_from_environment()
    if sdk and ls.root and not os.path.isabs(os.path.expanduser(sdk)):
        sdk = os.path.join(ls.root, sdk)
    return [b.to_json() for b in list_boards(sdk)]


@server.command("sdf.showCSpace")
async def show_cspace(ls: SdfLanguageServer, *args):
    a = _command_args(args)
    uri, pd_name = a.get("uri"), a.get("pd")
    cur = await ls.current(uri) if uri else None
    if cur is None:
        raise JsonRpcInvalidParams(f"document {uri!r} is not open")
    doc, analysis = cur
    system = analysis.system
    if system is None or analysis.layout is None:
        raise RequestFailed("the document has no <system> to analyse")
    pd = system.pd_by_name.get(pd_name) if pd_name else None
    if pd is None and "position" in a:
        pos = a["position"]
        from sdf_lsp.ide.locate import element_at

        el = element_at(analysis.doc, ls.offset(analysis, lsp.Position(line=pos["line"], character=pos["character"])))
        while el is not None and el.local != "protection_domain":
            el = el.parent
        obj = analysis.model_of(el) if el is not None else None
        pd = obj if isinstance(obj, ProtectionDomain) else None
    if pd is None:
        names = ", ".join(p.name for p in system.pds if p.name)
        raise RequestFailed(
            f"no protection domain {pd_name!r} (known: {names})" if pd_name else "put the cursor in a protection domain"
        )
    return cspace_table(analysis.layout.cspace(pd))


def build_dir(ls: SdfLanguageServer, sdf_path: str, out_dir: str | None, setup: EditorSetup | None = None) -> str:
    """`outDir` of the request, else `sdf.build.outDir` (relative to the workspace), else the
    sdf-lsp.toml's `[build] out-dir`, else `build/` beside the SDF; one folder per system inside
    the configured one."""
    if out_dir:
        return out_dir if os.path.isabs(out_dir) or ls.root is None else os.path.join(ls.root, out_dir)
    stem = os.path.splitext(os.path.basename(sdf_path))[0]
    base = ls.settings.build_out_dir
    if base:
        base = base if os.path.isabs(base) or ls.root is None else os.path.join(ls.root, base)
    elif setup is not None and setup.out_dir:
        base = setup.out_dir
    else:
        base = os.path.join(os.path.dirname(sdf_path), "build")
    return os.path.join(base, stem)


@server.command("sdf.build")
async def build_command(ls: SdfLanguageServer, *args):
    """`{"uri", "outDir"?}` -> `{"ok", "outDir", "files", "report", "errors"}`; progress via
    `$/progress`; build errors are published as diagnostics on the SDF until the next edit."""
    from sdf_lsp.analysis import analyse
    from sdf_lsp.backend import build

    a = _command_args(args)
    uri = a.get("uri")
    cur = await ls.current(uri) if uri else None
    path = uri_path(uri) if uri else None
    if cur is None or path is None:
        raise JsonRpcInvalidParams(f"document {uri!r} is not open (or not a file)")
    doc, _ = cur
    out_dir = build_dir(ls, path, a.get("outDir"), doc.setup)
    target = doc.setup.target if doc.setup is not None else ls.target
    if target.sdk is None:  # say so in the editor's words, before any work
        why = (
            f"the target file {doc.setup.choice.file if doc.setup and doc.setup.choice else ls.settings.target_file} has "
            "no SDK binaries: clear sdf.target.file and set sdf.target.sdk"
            if target.source == "file"
            else "set sdf.target.sdk to a Microkit SDK folder (or the MICROKIT_SDK environment variable) "
            "and sdf.target.board to one of its boards"
        )
        msg = f"building needs a Microkit SDK (its kernel, loader, monitor and initialiser): {why}"
        log.info("build of %s: %s", path, msg)
        return {"ok": False, "needsSdk": True, "outDir": out_dir, "files": [], "report": None, "errors": [msg]}
    text, version, ctx = doc.session.text, doc.version, doc.session.ctx
    files = SearchPathFiles(doc.env.search_paths, ls.images)  # its own caches: the build runs in a thread
    loop = asyncio.get_running_loop()
    token = f"sdf-build-{id(doc)}-{version}-{time.monotonic_ns()}"
    progress = bool(ls.client_capabilities.window and ls.client_capabilities.window.work_done_progress)
    if progress:
        await ls.work_done_progress.create_async(token)
        ls.work_done_progress.begin(
            token,
            lsp.WorkDoneProgressBegin(
                title="Building the image", message=os.path.basename(path), percentage=0, cancellable=False
            ),
        )

    def report(message: str, percent: int):
        if progress:
            loop.call_soon_threadsafe(
                ls.work_done_progress.report, token, lsp.WorkDoneProgressReport(message=message, percentage=percent)
            )

    def run():
        # its own analysis of this text: the document may change while the build runs
        snapshot = analyse(text, ctx, files)
        return build(snapshot, target, files, out_dir, progress=report)

    try:
        result = await asyncio.to_thread(run)
    finally:
        if progress:
            ls.work_done_progress.end(token, lsp.WorkDoneProgressEnd(message="done"))
    if doc.version == version and ls.docs.get(uri) is doc:
        doc.build_diagnostics = list(result.errors)
        ls.publish(doc, doc.session.analysis)
    summary = (
        f"built {os.path.basename(path)} into {result.out_dir}"
        if result.ok
        else f"the build of {os.path.basename(path)} failed: {result.errors[0].message if result.errors else 'unknown error'}"
    )
    ls.window_log_message(
        lsp.LogMessageParams(type=lsp.MessageType.Info if result.ok else lsp.MessageType.Warning, message=summary)
    )
    return {
        "ok": result.ok,
        "outDir": result.out_dir,
        "files": result.files,
        "report": result.report,
        "errors": [d.message for d in result.errors],
    }


@server.command("sdf.showGraph")
async def show_graph(ls: SdfLanguageServer, *args):
    """`{"uri", "view", "format"?}` -> the authority graph or the memory view as SVG (default)
    or as DOT text (`"format": "dot"`, for clients that lay it out themselves)."""
    from sdf_lsp.graph import GraphError, render, to_dot

    a = _command_args(args)
    uri, view, fmt = a.get("uri"), a.get("view", "authority"), a.get("format", "svg")
    if fmt not in ("svg", "dot"):
        raise JsonRpcInvalidParams(f"unknown graph format {fmt!r} (expected 'svg' or 'dot')")
    cur = await ls.current(uri) if uri else None
    if cur is None:
        raise JsonRpcInvalidParams(f"document {uri!r} is not open")
    doc, analysis = cur
    try:
        dot = to_dot(analysis, view)
        if fmt == "dot":
            return dot
        svg = await asyncio.to_thread(render, dot, "svg")  # Graphviz runs in its own process; the loop keeps answering
    except (GraphError, ValueError) as err:
        raise RequestFailed(str(err)) from None
    return svg.decode()


@server.command("sdf.documentText")
def document_text(ls: SdfLanguageServer, *args):
    """The server's copy of a document and its version (for bug reports and sync checks)."""
    doc = ls.docs.get(_command_args(args).get("uri"))
    if doc is None:
        raise JsonRpcInvalidParams("document is not open")
    return {"version": doc.version, "text": doc.session.text}


def run(tcp: str | None = None, log_file: str | None = None) -> int:
    from sdf_lsp.serverlog import configure_logging

    configure_logging(log_file)
    # Large SDFs keep hundreds of thousands of syntax objects alive: collect the
    # young generations less often so a keystroke does not pay for a full sweep,
    # and collect everything when the user pauses (`collect_when_idle`).
    gc.set_threshold(50_000, 20, 20)
    if tcp:
        host, _, port = tcp.rpartition(":")
        server.start_tcp(host or "127.0.0.1", int(port))
    else:
        server.start_io()
    return 0
