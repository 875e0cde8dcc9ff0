"""The language server: pygls wiring only. Features live in `sdf_lsp.ide` and answer from
the newest analysis of the current text; this module translates to and from LSP.

Concurrency: everything runs on the event loop, which also reads the client's pipe (between
the steps of an analysis). An edit re-scans the touched blocks at once; analysis is
debounced, and a request waits for the analysis of the text it was made against (and is
answered as soon as it is done, before its diagnostics are published), so no answer (and no
published diagnostic) ever comes from an old version.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import inspect
import itertools
import json
import logging
import os
import re
import stat
import sys
import threading
import time
import weakref
from pathlib import Path
from urllib.parse import unquote, urlparse

from cattrs import transform_error
from cattrs.errors import ClassValidationError
from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcException, JsonRpcInternalError, JsonRpcInvalidParams
from pygls.io_ import StdoutWriter
from pygls.lsp.server import LanguageServer
from pygls.protocol.json_rpc import JsonRPCNotification, JsonRPCRequestMessage, JsonRPCResponseMessage
from pygls.protocol.language_server import LanguageServerProtocol, lsp_method
from pygls.uris import from_fs_path, to_fs_path

from sdf_lsp import __version__, suppress
from sdf_lsp.analysis import Analysis, Session, analysis_steps
from sdf_lsp.config import CONFIG_NAMES, ConfigError, config_for
from sdf_lsp.diagnostics import ERROR, Diagnostic
from sdf_lsp.files import FileError, ProgramImages, SearchPathFiles, read_sdf, stamp_of, system_files
from sdf_lsp.ide import actions, completion, hover, lenses, navigation, outline, symbols, tags, tokens
from sdf_lsp.ide.env import Environment
from sdf_lsp.ide.env_checks import EDITOR_SEARCH_HINT, program_diagnostics
from sdf_lsp.ide.format import DEFAULT as DEFAULT_FORMAT
from sdf_lsp.ide.format import FormatOptions, FormatRefused, edits_in_range, format_document, text_edits
from sdf_lsp.ide.hover import cspace_table
from sdf_lsp.model.lower import Context
from sdf_lsp.model.types import ProtectionDomain
from sdf_lsp.settings import DEFAULT, EditorSetup, Settings, editor_setup, parse_settings
from sdf_lsp.syntax.lines import LineIndex
from sdf_lsp.syntax.tree import Block

log = logging.getLogger("sdf_lsp.server")

#: Seconds of no analysis after which frozen objects are collected too (see `collect_when_idle`).
DEEP_COLLECTION_IDLE = 30.0
WARM_SLICE = 0.002  # seconds of making outlines ahead between two of the editor's messages
LARGE_CHANGE = 1 << 16  # characters replaced and inserted by one change beyond which it is diffed first
PIPE_SIZE = 1 << 20  # bytes: Linux's default limit for an unprivileged process
#: Seconds without a message from the editor before the young objects are collected after an
#: analysis (`settle`), and the longest that collection waits for such a moment.
COLLECT_QUIET, COLLECT_WAIT_MAX = 0.01, 0.5
DEBOUNCE_MIN, DEBOUNCE_MAX = 0.005, 0.15  # seconds; scaled to how long an analysis of the document takes
_PARSE_ERROR, _INVALID_REQUEST = -32700, -32600  # JSON-RPC error codes
_CONTENT_LENGTH = re.compile(rb"Content-Length:[ \t]*(\d+)[ \t]*\r?\n\Z", re.IGNORECASE)
_MAX_HEADER_LINE = 1 << 16
_MAX_BODY = 1 << 28  # bytes; the largest SDFs are a few megabytes
_SNAKE = re.compile(r"_([a-z])")
_ROOT_SYSTEM = re.compile(r"^\s*(?:<\?xml[^>]*\?>\s*)?(?:<!--.*?-->\s*)*<(?:[\w.-]+:)?system[\s>/]", re.S)


class RequestFailed(JsonRpcException):
    """LSP `RequestFailed` (-32803): a valid request the server refuses, e.g. a rename to a taken name."""

    CODE = -32803


class OpenDocument:
    """One open SDF: its editing session, version and the pending analysis."""

    def __init__(self, uri: str, text: str, version: int, ctx: Context, env: Environment):
        self.uri = uri
        self.version = version
        self.env = env  # the files the analysis and the features read
        self.session = Session(text, ctx, env)
        self.analysed_version: int | None = None
        self.task: asyncio.Task | None = None  # the analysis of `task_version` (maybe waiting for its debounce)
        self.task_version: int | None = None
        self.task_waiting = False
        self.program_diagnostics: list[Diagnostic] = []  # from the program images on the search paths
        self.setup: EditorSetup | None = None  # target, search paths, rules: settings, environment, sdf-lsp.toml
        self.setup_key: tuple | None = None  # (sdf-lsp.toml path, its stamp, workspace folder) the setup was made for
        self.last_duration = 0.0  # seconds the last analysis took
        self.last_change = 0.0  # time.monotonic() of the last edit
        self.build_diagnostics: list[Diagnostic] = []  # from the last build of this text (cleared by an edit)
        self.waiting: list[asyncio.Future] = []  # requests waiting for the analysis of the newest text

    @property
    def stale(self) -> bool:
        return self.analysed_version != self.version


class RawJSON(str):
    """A result or message that is JSON text already: written as it is."""


class SdfProtocol(LanguageServerProtocol):
    """pygls' protocol, made to answer every request and to keep nothing per message.

    Documents are kept by the server's sessions (which re-scan only what an edit
    touched), so pygls does not keep a second copy of every text.

    pygls structures a message inside `json.loads` (as its `object_hook`) and, when the
    params do not validate, only reports the error out of band: the request is never
    answered. Here `json.loads` leaves every object plain and `handle_message` structures
    the whole message, answering a request it cannot structure with `InvalidParams`
    (or `InvalidRequest` when it is not a JSON-RPC request at all), as JSON-RPC asks."""

    def structure_message(self, data):
        # Called by json.loads for every object, innermost first: keep them all plain
        # (an object inside the params that happens to have a "jsonrpc" key stays data).
        return data

    def handle_message(self, message):
        if not isinstance(message, dict):
            log.warning("not a JSON-RPC message: %.200r", message)
            self._send_error(None, _INVALID_REQUEST, "a message must be a JSON object")
            return
        structured = self._structure(message)
        if structured is not None:
            super().handle_message(structured)

    def _structure(self, data: dict):
        """The typed message, or None when it was answered (or dropped) already."""
        msg_id = data.get("id")
        has_id = "id" in data
        id_ok = msg_id is None or (isinstance(msg_id, (int, str)) and not isinstance(msg_id, bool))
        method = data.get("method")
        is_request = isinstance(method, str) and has_id
        if data.get("jsonrpc") != self.VERSION or ("method" in data and not isinstance(method, str)) or not id_ok:
            if "method" in data or not has_id:  # never answer what may be a response
                self._send_error(msg_id if id_ok else None, _INVALID_REQUEST, "not a JSON-RPC 2.0 request")
            log.warning("invalid JSON-RPC message: %.200r", data)
            return None
        if is_request and self._shutdown and method != lsp.EXIT:
            self._send_error(msg_id, _INVALID_REQUEST, "the server is shutting down")
            return None
        if is_request:
            kind = self.get_message_type(method) or JsonRPCRequestMessage
        elif has_id and method is None:
            kind = (
                lsp.ResponseErrorMessage if "error" in data else self._result_types.pop(msg_id, JsonRPCResponseMessage)
            )
        else:
            kind = self.get_message_type(method or "") or JsonRPCNotification
        try:
            return self._converter.structure(data, kind)
        except Exception as err:
            if isinstance(err, ClassValidationError):  # where, in the client's (camelCase) names
                detail = _SNAKE.sub(lambda m: m.group(1).upper(), "; ".join(transform_error(err)))
            else:
                detail = f"{type(err).__name__}: {err}"
            if is_request:
                self._send_error(msg_id, JsonRpcInvalidParams.CODE, f"invalid params for {method}: {detail}")
            elif method is None and msg_id in self._request_futures:
                # a response to one of our requests that does not fit its type: fail that request
                self._handle_response(msg_id, None, lsp.ResponseError(code=JsonRpcInvalidParams.CODE, message=detail))
            log.warning("dropped %s %s: %s", method or "response", msg_id if has_id else "", detail)
            return None

    def _send_response(self, msg_id, result=None, error=None):
        if error is None and isinstance(result, RawJSON):
            # a result that is JSON text already (the large ones, kept per block between versions)
            self._send_data(RawJSON(f'{{"jsonrpc":"{self.VERSION}","id":{json.dumps(msg_id)},"result":{result}}}'))
            return
        super()._send_response(msg_id, result, error)

    def _send_data(self, data):
        if not isinstance(data, RawJSON):
            super()._send_data(data)
            return
        if self.writer is None:
            return
        body = data.encode(self.CHARSET)
        header = f"Content-Length: {len(body)}\r\nContent-Type: {self.CONTENT_TYPE}; charset={self.CHARSET}\r\n\r\n"
        res = self.writer.write(header.encode(self.CHARSET) + body)
        if inspect.isawaitable(res):
            asyncio.ensure_future(res)

    def _send_error(self, msg_id, code: int, message: str):
        # written as plain JSON: the typed message would leave out an "id" of null
        self._send_data({"jsonrpc": self.VERSION, "id": msg_id, "error": {"code": code, "message": message}})

    last_message = 0.0  # time.monotonic() when the client last sent a message
    reading = False  # a message's body is being read

    def receive(self, body: bytes):
        """One framed message from the client."""
        self.last_message = time.monotonic()
        try:
            message = json.loads(body)
        except (ValueError, RecursionError) as err:  # not JSON (or not UTF-8, or absurdly nested)
            log.warning("unreadable message: %s", err)
            self._send_error(None, _PARSE_ERROR, f"parse error: {err}")
            return
        try:
            self.handle_message(message)
        except Exception as err:
            log.exception("handling a message failed")
            self._server._report_server_error(err, JsonRpcInternalError)

    def _send_handler_result(self, future, *, msg_id):
        # A JSON-RPC error a handler raises (InvalidParams, RequestFailed) is its answer, not a
        # fault of the server: logged in one line, not with pygls' traceback.
        err = None if future.cancelled() else future.exception()
        if isinstance(err, JsonRpcException):
            self._request_futures.pop(msg_id, None)
            log.info("request refused: %s (request %s, error %s)", err.message, msg_id, err.code)
            self._send_response(msg_id, error=err.to_response_error())
            return
        super()._send_handler_result(future, msg_id=msg_id)

    def _execute_handler(self, msg_id, handler, callback, args=None, kwargs=None):
        # pygls files the future of every handler it runs under `msg_id` (so that a request
        # can be cancelled) but removes it only when it answers a request: notifications
        # and the steps of its generator handlers (document sync, executeCommand) would
        # stay there for ever, a few kilobytes per message.
        def done(future):
            if self._request_futures.get(msg_id) is future:
                del self._request_futures[msg_id]
            callback(future)

        super()._execute_handler(msg_id, handler, done, args, kwargs)

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


def widen_pipe(stream) -> None:
    """A larger pipe buffer between the client and the server, where the system allows it: a
    whole-text change or the outline of a large system (megabytes) then crosses in a few reads,
    not in dozens of 64 KiB hand-overs between the two processes."""
    try:
        import fcntl

        fd = stream.fileno()
        if stat.S_ISFIFO(os.fstat(fd).st_mode):
            fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), PIPE_SIZE)
    except (ImportError, OSError, ValueError, AttributeError):
        pass  # not a pipe, not Linux, or above the system's limit: the default size does


async def pipe_reader(loop: asyncio.AbstractEventLoop, source) -> asyncio.StreamReader | None:
    """The client's pipe read by the event loop itself, between the server's other work: a
    request that arrives while an analysis runs is read (and waits for that analysis) at the
    analysis's next step, not after it, as it would be through a reading thread's hand-overs.
    None where the loop cannot watch `source` (not a pipe or socket, or not a POSIX system)."""
    if os.name != "posix":
        return None
    try:
        fd = source.fileno()
        mode = os.fstat(fd).st_mode
        if not stat.S_ISFIFO(mode) and not stat.S_ISSOCK(mode):
            return None
        reader = asyncio.StreamReader(limit=PIPE_SIZE)  # (it stops reading at twice this unread)
        pipe = os.fdopen(os.dup(fd), "rb", buffering=0)
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), pipe)
    except (AttributeError, OSError, ValueError, NotImplementedError):
        return None
    return reader


def stream_reads(reader: asyncio.StreamReader):
    """`read_line` and `read` for `read_messages` from an asyncio stream."""

    async def read_line(limit: int) -> bytes:
        try:
            return await reader.readline()
        except ValueError:  # longer than the stream's limit: asyncio dropped it
            return b"?\n"

    async def read(n: int) -> bytes:
        try:
            return await reader.readexactly(n)
        except asyncio.IncompleteReadError as err:
            return err.partial

    return read_line, read


async def read_messages(stop: threading.Event, read_line, read, protocol: SdfProtocol):
    """The base protocol's framing, kept in step with a client that breaks it.

    `read_line(limit)` returns one line (at most `limit` bytes, b"" at the end of the
    stream), `read(n)` up to `n` bytes. A frame whose Content-Length is wrong leaves the
    stream out of step: the header of the next frame then follows the rest of a body on
    one line, so the header is looked for at the end of a line, and the frames after the
    broken one are read again (pygls' loop would drop every later message)."""
    length: int | None = None
    while not stop.is_set():
        line = await read_line(_MAX_HEADER_LINE)
        if not line:
            break
        if (m := _CONTENT_LENGTH.search(line)) is not None:
            length = int(m.group(1))
            continue
        if line.strip() or length is None:  # another header, or debris of a broken frame
            continue
        n, length = length, None
        if n > _MAX_BODY:
            log.error("dropped a message of %d bytes (at most %d are read)", n, _MAX_BODY)
            protocol._send_error(None, _INVALID_REQUEST, f"message of {n} bytes is too large")
            while n > 0 and (chunk := await read(min(n, 1 << 20))):
                n -= len(chunk)
            continue
        protocol.reading = True  # a message is on its way (a large one takes a while)
        try:
            body = await read(n)
        finally:
            protocol.reading = False
        if len(body) < n:
            break
        protocol.receive(body)


#: The code of the diagnostic for a dialect that cannot be used with the SDK in use.
DIALECT_ERROR = "REL003"


def dialect_diagnostic(analysis: Analysis, message: str) -> Diagnostic:
    """The editor's diagnostic for an unusable dialect choice, on the root element."""
    root = analysis.doc.root
    span = root.name_span if root is not None else analysis.doc.span(0, 0)
    return Diagnostic(span, ERROR, DIALECT_ERROR, message)


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
        self.shown_dialect_errors: set[str] = set()  # dialect problems already shown to the user
        self.workspace_dialect_error: str | None = None  # the settings' own dialect problem (before any sdf-lsp.toml)
        self.docs: dict[str, OpenDocument] = {}
        self.root: str | None = None
        self.folders: list[str] = []  # the workspace folders (a document's working directory is its folder)
        self._setups: dict[tuple, tuple[EditorSetup, Context]] = {}  # by OpenDocument.setup_key
        self.config_errors: dict[str, ConfigError] = {}  # sdf-lsp.toml files with a published problem
        self.encoding = "utf-16"
        self.snippets = True
        self.images = ProgramImages()  # parsed program images, shared by every document and build
        self._workspace_symbols: dict[str, tuple[tuple, list]] = {}
        self._gc_task: asyncio.Task | None = None
        self._collect_soon = False
        self._warming: set[asyncio.Task] = set()

    # -- transports ------------------------------------------------------------------
    # pygls' own loops, with the framing of `read_messages`.
    def start_io(self, stdin=None, stdout=None):
        self._stop_event = stop = threading.Event()
        sink = stdout or sys.stdout.buffer
        self.protocol.set_writer(StdoutWriter(sink))
        source = stdin or sys.stdin.buffer
        widen_pipe(source)
        widen_pipe(sink)

        async def main():
            loop = asyncio.get_running_loop()
            reader = await pipe_reader(loop, source)
            if reader is not None:
                read_line, read = stream_reads(reader)
            else:  # not a pipe (a file, a terminal), or a platform without pipe transports
                pool = self.thread_pool

                def read_line(limit: int):
                    return loop.run_in_executor(pool, source.readline, limit)

                def read(n: int):
                    return loop.run_in_executor(pool, source.read, n)

            await read_messages(stop, read_line, read, self.protocol)

        try:
            asyncio.run(main())
        except BrokenPipeError:
            log.error("the connection to the client is lost; shutting down")
        except (KeyboardInterrupt, SystemExit):
            pass
        finally:
            self.shutdown()

    def start_tcp(self, host: str, port: int):
        self._stop_event = stop = threading.Event()

        async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
            self.protocol.set_writer(writer)
            read_line, read = stream_reads(reader)
            await read_messages(stop, read_line, read, self.protocol)
            self.shutdown()

        async def main():
            self._server = await asyncio.start_server(connection, host, port)
            async with self._server:
                await self._server.serve_forever()

        with contextlib.suppress(asyncio.CancelledError):
            asyncio.run(main())

    # -- settings --------------------------------------------------------------------
    def apply_settings(self, raw, announce: bool = True):
        settings = parse_settings(raw)
        problems = list(settings.problems)
        warnings: list[str] = []
        # the workspace's own setup (no sdf-lsp.toml): what the status bar shows before a document is open
        setup = editor_setup(settings, self.root, None, warn=warnings.append)
        target, problem = setup.target, setup.problem
        if problem:
            problems.append(problem)
        problems.extend(warnings)
        self.settings = settings
        self.target, self.target_source_problem = target, problem
        self.ctx = Context(target, setup.dialect, settings.authority_hints)
        self.workspace_dialect_error = setup.dialect_error
        for msg in problems:
            log.warning("settings: %s", msg)
            if announce:
                self.window_show_message(lsp.ShowMessageParams(type=lsp.MessageType.Warning, message=f"sdf-lsp: {msg}"))
        log.info("target: %s (%s), dialect %s", target.label, target.source, setup.dialect)
        self.shown_dialect_errors.clear()
        if announce:
            self.show_dialect_error(setup.dialect_error)
        self.reload_configs()

    def reload_configs(self):
        """Settings or an sdf-lsp.toml changed: every document gets its setup again and is analysed again."""
        self._setups.clear()
        for doc in self.docs.values():
            doc.setup_key = None
            self.refresh_setup(doc)
            doc.analysed_version = None
            self.schedule(doc, 0)

    def show_dialect_error(self, error: str | None) -> None:
        """A dialect that cannot be used with the SDK is an error the user sees (once), not a silent
        fallback; each document it applies to also gets a diagnostic."""
        if error and error not in self.shown_dialect_errors:
            self.shown_dialect_errors.add(error)
            log.error("settings: %s", error)
            self.window_show_message(lsp.ShowMessageParams(type=lsp.MessageType.Error, message=f"sdf-lsp: {error}"))

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
            self.show_dialect_error(setup.dialect_error)
            self.publish_config_problem(config, setup.config_error)
        return key, hit[0], hit[1]

    def refresh_setup(self, doc: OpenDocument) -> None:
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
    def schedule(self, doc: OpenDocument, delay: float | None = None):
        """Analyse the newest text after `delay` seconds (None: the debounce for the edit rate)."""
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
        doc.task_version = doc.version
        doc.task_waiting = True
        doc.task = asyncio.get_event_loop().create_task(self._analyse_later(doc, delay))

    def analysis_task(self, doc: OpenDocument) -> asyncio.Task:
        """The task analysing the newest text; one waiting for its debounce is started at once."""
        task = doc.task
        if task is not None and not task.done() and doc.task_version == doc.version and not doc.task_waiting:
            return task
        self.schedule(doc, 0)
        assert doc.task is not None
        return doc.task

    async def _analyse_later(self, doc: OpenDocument, delay: float):
        try:
            if delay:
                await asyncio.sleep(delay)
            doc.task_waiting = False
            await self._analyse(doc)
        except asyncio.CancelledError:
            pass

    async def _analyse(self, doc: OpenDocument) -> Analysis | None:
        """Analyse the newest text, letting other messages in between the steps; an edit that
        arrives meanwhile makes the analysis outdated, and it is dropped (None)."""
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
            steps = doc.session.analysis_steps()
            while True:
                try:
                    next(steps)
                except StopIteration as done:
                    analysis = done.value
                    break
                await asyncio.sleep(0)
                if doc.version != version or self.docs.get(doc.uri) is not doc:
                    steps.close()
                    log.debug("dropped the analysis of %s v%s: v%s arrived", doc.uri, version, doc.version)
                    return None
        except Exception:  # the server never dies on input; report it and keep the text
            log.exception("analysis of %s failed", doc.uri)
            doc.session.load(doc.session.text)
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
        if doc.waiting:  # the requests that waited for this analysis are answered before it is published
            waiting, doc.waiting = doc.waiting, []
            for fut in waiting:
                if not fut.done():
                    fut.set_result(None)
            await asyncio.sleep(0)  # they run
            await asyncio.sleep(0)  # their answers are sent
        self.publish(doc, analysis)
        session = doc.session
        if session.whole and session.doc is analysis.doc:
            session.whole = False
            asyncio.get_event_loop().call_soon(self._settle_fresh, doc)
        else:
            self.settle()
        self.collect_when_idle()
        return analysis

    def _settle_fresh(self, doc: OpenDocument) -> None:
        """After the diagnostics of a whole text scanned at once (an open, a replaced text): its
        tree is frozen (`gc.freeze`), so that the collector's later runs, automatic or `settle`'s,
        walk only what edits make, not the whole tree (a fifth of a second on a large system, at
        the user's every keystroke); then the outline, folds and links of each block are made
        and kept with it, a couple of milliseconds at a time in the quiet moments between the
        editor's messages (it asks for them next, and they would otherwise hold up its first
        requests)."""
        gc.freeze()
        if self.docs.get(doc.uri) is doc:
            task = asyncio.get_event_loop().create_task(self._warm(doc))
            self._warming.add(task)
            task.add_done_callback(self._warming.discard)

    async def _warm(self, doc: OpenDocument) -> None:
        session = doc.session
        blocks = session.doc.items
        i = 0
        try:
            while i < len(blocks):
                await asyncio.sleep(0)
                while self.busy():  # noqa: ASYNC110 (it turns false with the clock): what the user types goes first
                    await asyncio.sleep(COLLECT_QUIET)
                if self.docs.get(doc.uri) is not doc:
                    return
                # positions in the newest text: a block an edit since then did not replace is in
                # the newest document too, moved to where it now starts
                lines = session.lines
                stop = time.perf_counter() + WARM_SLICE
                while i < len(blocks):
                    b = blocks[i]
                    i += 1
                    block_symbols_json(self, b, lines, self.encoding)
                    outline.block_folds(b)
                    outline.block_links(b)
                    if time.perf_counter() >= stop:
                        break
                # what was made lives as long as its block: the collection between keystrokes
                # need not walk it (nor what the user's edits left meanwhile, until the server is idle)
                gc.freeze()
        except asyncio.CancelledError:
            pass
        except Exception:
            log.exception("the outline of %s failed", doc.uri)

    def settle(self) -> None:
        """Collect what the last keystrokes left behind, right after the requests that waited for
        this analysis have their answers (the user is between keystrokes then). The large trees
        of the open documents are frozen (`gc.freeze`), so this walks only what was made since
        they were: a replaced element and the analysis of the version before, a few hundredths
        of a second on a large system. Left to the collector's own schedule, the survivors of a
        few dozen keystrokes pile up in its middle generation, and collecting that holds the
        keystroke that triggers it for a quarter of a second or more."""
        if not self._collect_soon:
            self._collect_soon = True
            asyncio.get_event_loop().call_later(COLLECT_QUIET, self._collect_young, time.monotonic())

    def _collect_young(self, since: float) -> None:
        # the messages already on their way are read first (a request sent with the edit that
        # this analysis was for is answered before the collection, not after it), and an
        # analysis under way (of the next keystroke) finishes first
        if self.busy() and time.monotonic() - since < COLLECT_WAIT_MAX:
            asyncio.get_event_loop().call_later(COLLECT_QUIET, self._collect_young, since)
            return
        self._collect_soon = False
        gc.collect()

    def busy(self, quiet: float = COLLECT_QUIET) -> bool:
        """A message is being read or came in the last `quiet` seconds, or an analysis is pending or
        running (the workspace check asks from its thread: the documents are copied first)."""
        return (
            self.protocol.reading
            or time.monotonic() - self.protocol.last_message < quiet
            or any(d.task is not None and not d.task.done() for d in list(self.docs.values()))
        )

    def collect_when_idle(self, delay: float = 1.0):
        """Free replaced syntax trees (they hold reference cycles) once edits pause.

        What survives is then frozen (`gc.freeze`): the collector no longer walks the large, long-
        lived trees of open documents, so the next collection costs what was made since, not the
        size of the documents (a full walk of a 44k-line system's objects takes a fifth of a
        second, a pause an editor would feel). Trees that edits replace after they were frozen
        are freed by a deep collection once the server has been idle for a while."""
        if self._gc_task is not None and not self._gc_task.done():
            self._gc_task.cancel()

        async def later():
            try:
                await asyncio.sleep(delay)
                gc.collect()
                gc.freeze()
                await asyncio.sleep(DEEP_COLLECTION_IDLE)
                gc.unfreeze()
                gc.collect()
                gc.freeze()
            except asyncio.CancelledError:
                pass

        self._gc_task = asyncio.get_event_loop().create_task(later())

    def publish(self, doc: OpenDocument, analysis: Analysis):
        if doc.version != doc.analysed_version or self.docs.get(doc.uri) is not doc:
            return
        found = analysis.diagnostics
        if doc.program_diagnostics:  # in the order `check` prints them: by place, the analysis's first
            found = sorted(found + doc.program_diagnostics, key=lambda d: (d.span.start, d.span.end))
        found = found + doc.build_diagnostics
        if doc.setup is not None and doc.setup.dialect_error:
            found = [dialect_diagnostic(analysis, doc.setup.dialect_error), *found]
        rules = doc.setup.rules if doc.setup is not None else suppress.NO_RULES
        shown = suppress.apply(analysis.doc, analysis.lines, found, rules)  # comments and sdf-lsp.toml
        diags = [self.to_lsp_diagnostic(analysis, d, doc.uri) for d in shown]
        self.text_document_publish_diagnostics(
            lsp.PublishDiagnosticsParams(uri=doc.uri, diagnostics=diags, version=doc.version)
        )

    async def current(self, uri: str) -> tuple[OpenDocument, Analysis] | None:
        """The analysis of the newest text of a document, waiting for it if an edit is pending
        (a request that is cancelled stops waiting; the analysis goes on)."""
        doc = self.docs.get(uri)
        while doc is not None and self.docs.get(uri) is doc and (doc.stale or doc.session.analysis is None):
            # woken by the analysis as soon as it is done (before it is published), or when its
            # task ends otherwise (dropped for a newer edit, cancelled, the document closed)
            ready = asyncio.get_running_loop().create_future()
            doc.waiting.append(ready)
            self.analysis_task(doc).add_done_callback(lambda _, ready=ready: ready.done() or ready.set_result(None))
            await ready
        if doc is None or self.docs.get(uri) is not doc or doc.session.analysis is None:
            return None
        return doc, doc.session.analysis

    def syntax(self, uri: str) -> OpenDocument | None:
        """A document for the requests its newest syntax tree answers (no analysis needed)."""
        return self.docs.get(uri)

    # -- conversions ---------------------------------------------------------------------
    def range_in(self, lines: LineIndex, start: int, end: int) -> lsp.Range:
        sl, sc = lines.position(start, self.encoding)
        el, ec = lines.position(end, self.encoding)
        return lsp.Range(start=lsp.Position(line=sl, character=sc), end=lsp.Position(line=el, character=ec))

    def range_json(self, lines: LineIndex, start: int, end: int) -> dict:
        sl, sc = lines.position(start, self.encoding)
        el, ec = lines.position(end, self.encoding)
        return {"start": {"line": sl, "character": sc}, "end": {"line": el, "character": ec}}

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
    """A feature that fails logs the error and answers `default`; the next request still works.

    A feature that answers from the syntax tree alone is a plain function: pygls runs it (and
    sends its answer) as soon as its request is read, not after the other requests read with it."""

    def wrap(fn):
        if not inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            def plain(ls: SdfLanguageServer, params):
                try:
                    return fn(ls, params)
                except JsonRpcException:
                    raise
                except Exception:
                    log.exception("%s failed", fn.__name__)
                    return default

            return plain

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
    ls.show_dialect_error(ls.workspace_dialect_error)
    ls.window_log_message(
        lsp.LogMessageParams(
            type=lsp.MessageType.Info, message=f"sdf-lsp {__version__}: target {ls.target.label} ({ls.target.source})"
        )
    )
    watch_system_files(ls)
    workspace_check(ls).scan()


@server.feature(lsp.WORKSPACE_DID_CHANGE_CONFIGURATION)
def did_change_configuration(ls: SdfLanguageServer, params: lsp.DidChangeConfigurationParams):
    settings = params.settings
    if isinstance(settings, dict) and "sdf" not in settings and not any(k.startswith("sdf.") for k in settings):
        settings = {"sdf": settings}
    before = ls.settings
    ls.apply_settings(settings or {})
    if ls.settings != before:  # what the files are checked against changed (clients send the same often)
        workspace_check(ls).scan()


@server.feature(lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES)
def did_change_watched_files(ls: SdfLanguageServer, params: lsp.DidChangeWatchedFilesParams):
    """An sdf-lsp.toml written outside the editor (clients that watch it for the server, as the
    VS Code extension does) applies to the open documents at once; without such events it
    applies from their next analysis, which looks at the file again. A `*.system` file changed
    on disk is checked again (`WorkspaceCheck`); one deleted loses its diagnostics."""
    check = workspace_check(ls)
    if any(c.uri.rsplit("/", 1)[-1] in CONFIG_NAMES for c in params.changes):
        ls.reload_configs()
        check.scan()  # what every file is checked against may have changed
        return
    changed = []
    for c in params.changes:
        path = uri_path(c.uri)
        if path is None or not path.endswith(".system"):
            continue
        if c.type == lsp.FileChangeType.Deleted:
            check.queue.pop(path, None)
            check.forget(c.uri)
        else:
            changed.append(path)
    check.add(changed)


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
        doc = OpenDocument(item.uri, item.text, item.version, ctx, env)
    finally:
        gc.enable()
    doc.setup_key, doc.setup = key, setup
    ls.docs[item.uri] = doc
    ls.schedule(doc, 0)


@server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: SdfLanguageServer, params: lsp.DidChangeTextDocumentParams):
    doc = ls.docs.get(params.text_document.uri)
    if doc is None:
        return
    session = doc.session
    before = session.doc
    current = not doc.stale and session.analysis is not None and session.analysis.doc is before
    gc.disable()
    try:
        apply_changes(ls, doc, params.content_changes)
    finally:
        gc.enable()
    doc.version = params.text_document.version
    if current and session.doc is before:
        # the text is what was analysed (a whole-text replacement with the same text, as an
        # editor's revert of a saved file sends): that analysis stands for the new version
        doc.analysed_version = doc.version
        ls.publish(doc, session.analysis)
        return
    doc.build_diagnostics = []
    ls.schedule(doc)


def apply_changes(ls: SdfLanguageServer, doc: OpenDocument, changes):
    session = doc.session
    for change in changes:
        if isinstance(change, lsp.TextDocumentContentChangePartial):
            lines = session.lines
            start = lines.offset(change.range.start.line, change.range.start.character, ls.encoding)
            end = max(start, lines.offset(change.range.end.line, change.range.end.character, ls.encoding))
            if end - start + len(change.text) <= LARGE_CHANGE:
                try:
                    session.edit(start, end, change.text)
                except Exception:
                    log.exception("incremental re-scan failed; scanning the whole text")
                    old = session.text
                    session.load(old[:start] + change.text + old[end:])
                continue
            # a large range replaced (VS Code sends a revert or a paste over everything so): as a
            # whole-text change, which becomes the smallest edit that makes the same text
            old = session.text
            whole = old[:start] + change.text + old[end:]
        else:
            whole = change.text
        try:
            session.replace(whole)
        except Exception:
            log.exception("incremental re-scan failed; scanning the whole text")
            session.load(whole)


@server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
def did_save(ls: SdfLanguageServer, params: lsp.DidSaveTextDocumentParams):
    doc = ls.docs.get(params.text_document.uri)
    if doc is None:
        return
    doc.analysed_version = None  # files the SDF names are checked again by every analysis
    ls.schedule(doc, 0)


@server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: SdfLanguageServer, params: lsp.DidCloseTextDocumentParams):
    doc = ls.docs.pop(params.text_document.uri, None)
    if doc is None:
        return
    if doc.task is not None:
        doc.task.cancel()
    path = uri_path(doc.uri)
    check = workspace_check(ls)
    if check.enabled and path is not None and path.endswith(".system") and check.in_workspace(path):
        check.add([path], first=True)  # the disk copy's diagnostics replace the editor's
    else:
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
def on_highlight(ls: SdfLanguageServer, params: lsp.DocumentHighlightParams):
    doc = ls.syntax(params.text_document.uri)
    if doc is None:
        return None
    session = doc.session
    lines = session.lines
    at = lines.offset(params.position.line, params.position.character, ls.encoding)
    return [
        lsp.DocumentHighlight(
            range=ls.range_in(lines, s, e),
            kind=lsp.DocumentHighlightKind.Write if is_def else lsp.DocumentHighlightKind.Read,
        )
        for s, e, is_def in navigation.highlights(session.doc, at)
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
def on_document_link(ls: SdfLanguageServer, params: lsp.DocumentLinkParams):
    doc = ls.syntax(params.text_document.uri)
    if doc is None:
        return None
    caps = ls.client_capabilities.text_document
    tooltips = bool(caps and caps.document_link and caps.document_link.tooltip_support)
    lines = doc.session.lines
    out = []
    for s, e, path in outline.link_places(doc.session.doc):
        full = doc.env.find(path)
        if full:
            link = {"range": ls.range_json(lines, s, e), "target": from_fs_path(full)}
            if tooltips:
                link["tooltip"] = full
            out.append(link)
    return RawJSON(json.dumps(out))


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
def on_document_symbol(ls: SdfLanguageServer, params: lsp.DocumentSymbolParams):
    doc = ls.syntax(params.text_document.uri)
    if doc is None:
        return None
    return document_symbols_json(ls, doc)


def document_symbols_json(ls: SdfLanguageServer, doc: OpenDocument) -> RawJSON:
    """The outline of the newest text, each block's part kept with it between versions."""
    session = doc.session
    lines, enc = session.lines, ls.encoding
    parts = []
    for b in session.doc.items:
        part = block_symbols_json(ls, b, lines, enc)
        if part:
            parts.append(part)
    return RawJSON("[" + ",".join(parts) + "]")


def block_symbols_json(ls: SdfLanguageServer, b: Block, lines: LineIndex, enc: str) -> str:
    """The outline of one top-level block as JSON text (without the brackets; "" for none)."""
    if b.item is None or b.item.kind != "element":
        return ""
    syms = outline.block_symbols(b)
    if not syms:
        return ""
    # the block's JSON is kept with the place it was made for: a block an edit only moved
    # to another offset on the same line and column keeps its text
    place = (lines.line_of(b.start), lines.position(b.start, enc)[1], enc)
    feats = b.features
    assert feats is not None  # block_symbols made it
    kept = feats.get("symbols_json")
    if kept is None or kept[0] != place:
        kept = feats["symbols_json"] = (
            place,
            json.dumps([_symbol_json(ls, lines, b.start, x) for x in syms])[1:-1],
        )
    return kept[1]


def _symbol_json(ls: SdfLanguageServer, lines: LineIndex, base: int, sym: outline.Symbol) -> dict:
    out = {
        "name": sym.name,
        "kind": _SYMBOL_KINDS[sym.kind].value,
        "range": ls.range_json(lines, base + sym.start, base + sym.end),
        "selectionRange": ls.range_json(lines, base + sym.sel_start, base + sym.sel_end),
    }
    if sym.detail:
        out["detail"] = sym.detail
    if sym.children:
        out["children"] = [_symbol_json(ls, lines, base, c) for c in sym.children]
    return out


@server.feature(lsp.TEXT_DOCUMENT_FOLDING_RANGE)
@guarded()
def on_folding(ls: SdfLanguageServer, params: lsp.FoldingRangeParams):
    doc = ls.syntax(params.text_document.uri)
    if doc is None:
        return None
    session = doc.session
    ranges = outline.folding_ranges(session.doc, session.lines.line_of)
    return RawJSON(json.dumps([{"startLine": s, "endLine": e, "kind": k} for s, e, k in ranges]))


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


# -- formatting, semantic tokens, linked editing, selection ranges, code lenses ----------------
def _format_options(doc: OpenDocument, options: lsp.FormattingOptions) -> FormatOptions:
    """The client's indentation; the width from the document's sdf-lsp.toml, else 100."""
    config = doc.setup.config if doc.setup is not None else None
    width = config.format_width if config is not None and config.format_width else DEFAULT_FORMAT.width
    return FormatOptions.of(options.tab_size, options.insert_spaces, width)


def _formatted(ls: SdfLanguageServer, doc: OpenDocument, options: lsp.FormattingOptions) -> str | None:
    """The formatted text of the document, or None (and a message saying why) when it has syntax errors."""
    session = doc.session
    try:
        return format_document(session.doc, _format_options(doc, options))
    except FormatRefused as err:
        name = os.path.basename(uri_path(doc.uri) or doc.uri)
        line, col = session.lines.microkit_location(err.offset)
        message = f"sdf-lsp: {name} is left as it is: {err.message} (line {line}, column {col})"
        log.info("formatting %s: %s", doc.uri, err.message)
        ls.window_show_message(lsp.ShowMessageParams(type=lsp.MessageType.Warning, message=message))
        return None


def _edits_json(ls: SdfLanguageServer, lines: LineIndex, edits) -> RawJSON:
    return RawJSON(json.dumps([{"range": ls.range_json(lines, s, e), "newText": t} for s, e, t in edits]))


@server.feature(lsp.TEXT_DOCUMENT_FORMATTING)
@guarded()
def on_formatting(ls: SdfLanguageServer, params: lsp.DocumentFormattingParams):
    doc = ls.syntax(params.text_document.uri)
    if doc is None:
        return None
    new = _formatted(ls, doc, params.options)
    if new is None:
        return None
    session = doc.session
    return _edits_json(ls, session.lines, text_edits(session.text, new))


@server.feature(lsp.TEXT_DOCUMENT_RANGE_FORMATTING)
@guarded()
def on_range_formatting(ls: SdfLanguageServer, params: lsp.DocumentRangeFormattingParams):
    doc = ls.syntax(params.text_document.uri)
    if doc is None:
        return None
    new = _formatted(ls, doc, params.options)
    if new is None:
        return None
    session = doc.session
    lines = session.lines
    start = lines.offset(params.range.start.line, params.range.start.character, ls.encoding)
    end = lines.offset(params.range.end.line, params.range.end.character, ls.encoding)
    return _edits_json(ls, lines, edits_in_range(session.text, new, start, max(start, end)))


#: The last semantic tokens sent for each open document: (result id, segments), for deltas.
_SENT_TOKENS: weakref.WeakKeyDictionary[OpenDocument, tuple[str, list]] = weakref.WeakKeyDictionary()
_TOKEN_RESULTS = itertools.count(1)


def _tokens_result(doc: OpenDocument, segs: list) -> tuple[str, str]:
    """A new result id for the document's tokens, kept for the next delta request."""
    rid = str(next(_TOKEN_RESULTS))
    _SENT_TOKENS[doc] = (rid, segs)
    return rid, tokens.data_json(segs)


@server.feature(
    lsp.TEXT_DOCUMENT_SEMANTIC_TOKENS_FULL,
    lsp.SemanticTokensLegend(token_types=list(tokens.TOKEN_TYPES), token_modifiers=list(tokens.TOKEN_MODIFIERS)),
)
@guarded()
def on_semantic_tokens(ls: SdfLanguageServer, params: lsp.SemanticTokensParams):
    doc = ls.syntax(params.text_document.uri)
    if doc is None:
        return None
    rid, data = _tokens_result(doc, tokens.segments(doc.session.doc, doc.session.lines, ls.encoding))
    return RawJSON(f'{{"resultId":"{rid}","data":{data}}}')


@server.feature(lsp.TEXT_DOCUMENT_SEMANTIC_TOKENS_FULL_DELTA)
@guarded()
def on_semantic_tokens_delta(ls: SdfLanguageServer, params: lsp.SemanticTokensDeltaParams):
    doc = ls.syntax(params.text_document.uri)
    if doc is None:
        return None
    segs = tokens.segments(doc.session.doc, doc.session.lines, ls.encoding)
    sent = _SENT_TOKENS.get(doc)
    rid, data = _tokens_result(doc, segs)
    if sent is None or sent[0] != params.previous_result_id:  # not the tokens the client has: all of them
        return RawJSON(f'{{"resultId":"{rid}","data":{data}}}')
    change = tokens.delta(sent[1], segs)
    edits = [] if change is None else [{"start": change[0], "deleteCount": change[1], "data": change[2]}]
    return RawJSON(json.dumps({"resultId": rid, "edits": edits}))


@server.feature(lsp.TEXT_DOCUMENT_SEMANTIC_TOKENS_RANGE)
@guarded()
def on_semantic_tokens_range(ls: SdfLanguageServer, params: lsp.SemanticTokensRangeParams):
    doc = ls.syntax(params.text_document.uri)
    if doc is None:
        return None
    lines = doc.session.lines
    start = lines.offset(params.range.start.line, params.range.start.character, ls.encoding)
    end = lines.offset(params.range.end.line, params.range.end.character, ls.encoding)
    segs = tokens.segments(doc.session.doc, lines, ls.encoding, start, end)
    return RawJSON(f'{{"data":{tokens.data_json(segs)}}}')


@server.feature(lsp.TEXT_DOCUMENT_LINKED_EDITING_RANGE)
@guarded()
def on_linked_editing_range(ls: SdfLanguageServer, params: lsp.LinkedEditingRangeParams):
    doc = ls.syntax(params.text_document.uri)
    if doc is None:
        return None
    lines = doc.session.lines
    at = lines.offset(params.position.line, params.position.character, ls.encoding)
    pair = tags.linked_tag_names(doc.session.doc, at)
    if pair is None:
        return None
    return lsp.LinkedEditingRanges(
        ranges=[ls.range_in(lines, s, e) for s, e in pair], word_pattern=tags.TAG_NAME_PATTERN
    )


@server.feature(lsp.TEXT_DOCUMENT_SELECTION_RANGE)
@guarded()
def on_selection_range(ls: SdfLanguageServer, params: lsp.SelectionRangeParams):
    doc = ls.syntax(params.text_document.uri)
    if doc is None:
        return None
    lines = doc.session.lines
    out = []
    for p in params.positions:
        at = lines.offset(p.line, p.character, ls.encoding)
        found: lsp.SelectionRange | None = None
        for s, e in reversed(tags.selection_ranges(doc.session.doc, at)):
            found = lsp.SelectionRange(range=ls.range_in(lines, s, e), parent=found)
        out.append(found or lsp.SelectionRange(range=ls.range_in(lines, at, at)))
    return out


@server.feature(lsp.TEXT_DOCUMENT_CODE_LENS, lsp.CodeLensOptions(resolve_provider=True))
@guarded()
async def on_code_lens(ls: SdfLanguageServer, params: lsp.CodeLensParams):
    """Where the lenses go; what each shows comes with `codeLens/resolve` (only for those in view)."""
    uri = params.text_document.uri
    cur = await ls.current(uri)
    if cur is None:
        return None
    _, a = cur
    out = []
    for p in lenses.places(a):
        r = ls.range_json(a.lines, p.start, p.end)
        out.extend(
            {"range": r, "data": {"uri": uri, "kind": p.kind, "name": p.name, "lens": i}} for i in range(p.count)
        )
    return RawJSON(json.dumps(out))


@server.feature(lsp.CODE_LENS_RESOLVE)
@guarded()
async def on_code_lens_resolve(ls: SdfLanguageServer, lens: lsp.CodeLens):
    data = lens.data if isinstance(lens.data, dict) else {}
    uri, kind, name, index = data.get("uri"), data.get("kind"), data.get("name"), data.get("lens")
    cur = await ls.current(uri) if isinstance(uri, str) else None
    found = lenses.lenses(cur[1], kind, name) if cur is not None and isinstance(name, str) else None
    if found is None or not isinstance(index, int) or not 0 <= index < len(found):
        lens.command = lsp.Command(title="", command="")  # the PD or region is gone (an edit since)
        return lens
    a = cur[1]
    it = found[index]
    if it.action == "references":
        locations = [{"uri": uri, "range": ls.range_json(a.lines, s, e)} for s, e in it.targets]
        at = ls.pos(a, it.at)
        args = [uri, {"line": at.line, "character": at.character}, locations]
        lens.command = lsp.Command(title=it.title, command="editor.action.showReferences", arguments=args)
    elif it.action == "cspace":
        lens.command = lsp.Command(title=it.title, command="sdf.showCSpace", arguments=[{"uri": uri, "pd": name}])
    else:
        lens.command = lsp.Command(title=it.title, command="")
    return lens


@server.feature(lsp.WORKSPACE_SYMBOL)
@guarded()
async def on_workspace_symbol(ls: SdfLanguageServer, params: lsp.WorkspaceSymbolParams):
    query = params.query.lower()
    for uri in list(ls.docs):  # the open documents as they are now: their analyses of the newest text
        await ls.current(uri)
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


# -- diagnostics of the whole workspace ---------------------------------------------------------
class WorkspaceCheck:
    """Every `*.system` under the workspace folders, checked in the background so that closed
    files have their diagnostics too: when the server starts, when such a file changes on disk,
    when the settings or an sdf-lsp.toml change, and when a document closes (its disk copy's
    diagnostics then replace the editor's). One file at a time, after the open documents' edits
    and in a thread, which pauses between analysis steps while an open document is edited (a
    step of a large file would otherwise hold up the editor's messages); an open document is
    never published from disk (the editor's copy wins). At most FILES files; `sdf.workspace.check:
    false` turns it off."""

    FILES = 2000
    QUIET = 0.5  # seconds after the editor's last message before the check goes on

    def __init__(self, ls: SdfLanguageServer):
        self.ls = ls
        self.abort = threading.Event()  # stops the file being checked
        self.queue: dict[str, None] = {}  # paths waiting, in order
        self.published: set[str] = set()  # uris with diagnostics from disk
        self.task: asyncio.Task | None = None
        self.stopped = False

    @property
    def enabled(self) -> bool:
        return self.ls.settings.workspace_check and not self.stopped

    def folders(self) -> list[str]:
        folders = self.ls.folders or ([self.ls.root] if self.ls.root else [])
        return [f for f in dict.fromkeys(folders) if f and os.path.isdir(f)]

    def in_workspace(self, path: str) -> bool:
        return any(path == f or path.startswith(f.rstrip(os.sep) + os.sep) for f in self.folders())

    def scan(self) -> None:
        """Queue every file of the workspace (after a start, or when what they are checked against changed)."""
        if not self.enabled:
            self.clear()
            return
        found: list[str] = []
        for folder in self.folders():
            found.extend(system_files(folder, limit=self.FILES - len(found)))
            if len(found) >= self.FILES:
                log.warning("workspace check: more than %d *.system files; the rest are left out", self.FILES)
                break
        gone = self.published - {from_fs_path(p) for p in found}
        for uri in gone:  # files no longer there (or no longer under a folder)
            self.forget(uri)
        log.info("workspace check: %d *.system file(s) under %s", len(found), ", ".join(self.folders()) or "no folder")
        self.add(found)

    def add(self, paths: list[str], first: bool = False) -> None:
        if not self.enabled:
            return
        paths = [p for p in paths if p.endswith(".system") and self.in_workspace(p)]
        if first:
            rest = [p for p in self.queue if p not in paths]
            self.queue = dict.fromkeys([*paths, *rest])
        else:
            self.queue.update(dict.fromkeys(paths))
        if self.queue and (self.task is None or self.task.done()):
            self.task = asyncio.get_event_loop().create_task(self.run())

    def forget(self, uri: str) -> None:
        """Take back what was published from disk for a file (it is open, gone, or the check is off)."""
        if uri in self.published:
            self.published.discard(uri)
            if uri not in self.ls.docs:
                self.ls.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=uri, diagnostics=[]))

    def clear(self) -> None:
        self.queue.clear()
        self.abort.set()
        if self.task is not None:
            self.task.cancel()
        for uri in list(self.published):
            self.forget(uri)

    def stop(self) -> None:
        self.stopped = True
        self.queue.clear()
        self.abort.set()
        if self.task is not None:
            self.task.cancel()

    async def run(self) -> None:
        try:
            while self.queue and self.enabled:
                path = next(iter(self.queue))
                del self.queue[path]
                try:
                    await self.check(path)
                except asyncio.CancelledError:
                    raise
                except Exception:  # one file never stops the others
                    log.exception("workspace check of %s failed", path)
                await asyncio.sleep(0)
        except asyncio.CancelledError:
            pass

    def busy(self) -> bool:
        """The editor is active (see `SdfLanguageServer.busy`): it goes first."""
        return self.ls.busy(self.QUIET)

    async def check(self, path: str) -> None:
        ls = self.ls
        uri = from_fs_path(path) or Path(path).as_uri()
        if uri in ls.docs:
            return
        try:
            text, encoding_error = read_sdf(path)
        except FileError as err:
            log.debug("workspace check: %s", err)
            self.forget(uri)
            return
        _, setup, ctx = ls.setup_for(uri)
        env = ls.environment(uri, setup)
        while self.busy():  # noqa: ASYNC110 (busy() turns false with the clock, no event marks it)
            await asyncio.sleep(self.QUIET)
        # in a thread: a step of a large file (its scan alone takes a third of a second) would
        # otherwise hold up every message of the editor meanwhile; the thread also pauses between
        # steps while an open document is edited
        abort = self.abort = threading.Event()
        try:
            diags = await asyncio.to_thread(self._diagnostics, uri, text, encoding_error, setup, ctx, env, abort)
        except asyncio.CancelledError:
            abort.set()
            raise
        if diags is None or uri in ls.docs or not self.enabled:
            return
        self.published.add(uri)
        ls.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=uri, diagnostics=diags))
        ls.collect_when_idle()

    def _diagnostics(self, uri, text, encoding_error, setup, ctx, env, abort: threading.Event):
        """The diagnostics of a file from disk (None: it was opened meanwhile, or the check stopped)."""
        ls = self.ls
        steps = analysis_steps(text, ctx, env, encoding_error)
        while True:
            try:
                next(steps)
            except StopIteration as done:
                analysis = done.value
                break
            while self.busy() and not abort.is_set() and uri not in ls.docs:
                time.sleep(self.QUIET / 5)
            if abort.is_set() or uri in ls.docs or not self.enabled:  # opened meanwhile: the editor's copy wins
                steps.close()
                return None
        found = analysis.diagnostics
        extra = program_diagnostics(analysis, env, EDITOR_SEARCH_HINT)
        if extra:
            found = sorted(found + extra, key=lambda d: (d.span.start, d.span.end))
        if setup.dialect_error:
            found = [dialect_diagnostic(analysis, setup.dialect_error), *found]
        shown = suppress.apply(analysis.doc, analysis.lines, found, setup.rules)
        return [ls.to_lsp_diagnostic(analysis, d, uri) for d in shown]


def workspace_check(ls: SdfLanguageServer) -> WorkspaceCheck:
    """The server's workspace check (made on first use)."""
    found = getattr(ls, "_workspace_check", None)
    if found is None:
        found = WorkspaceCheck(ls)
        ls._workspace_check = found  # type: ignore[attr-defined]
    return found


def watch_system_files(ls: SdfLanguageServer) -> None:
    """Ask the client to tell the server about `*.system` files changed on disk, when it can be
    asked (dynamic registration); a client that refuses is logged, not an error."""
    caps = ls.client_capabilities.workspace
    watched = caps.did_change_watched_files if caps else None
    if not (watched and watched.dynamic_registration):
        return
    registration = lsp.Registration(
        id="sdf-lsp-watch-system-files",
        method=lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES,
        register_options=lsp.DidChangeWatchedFilesRegistrationOptions(
            watchers=[lsp.FileSystemWatcher(glob_pattern="**/*.system")]
        ),
    )

    async def register():
        try:
            await ls.client_register_capability_async(lsp.RegistrationParams(registrations=[registration]))
        except Exception as err:  # the client said no: a file changed on disk is seen when it is opened
            log.info("the client does not watch *.system files for the server: %s", err)

    asyncio.get_event_loop().create_task(register())


@server.feature(lsp.SHUTDOWN)
def on_shutdown(ls: SdfLanguageServer, params=None):
    workspace_check(ls).stop()


# -- commands ----------------------------------------------------------------------------------
_COMMAND_ARGS = {"uri": str, "pd": str, "outDir": str, "view": str, "position": dict}
_MAX_UINT = 2**31 - 1  # LSP's uinteger


def _command_args(args) -> dict:
    """Commands take one object argument; positional [uri, pd] is accepted too. An
    argument of the wrong type is `InvalidParams`."""
    if not args:
        return {}
    first = args[0]
    if isinstance(first, dict):
        out = first
    else:
        keys = ("uri", "pd")
        out = {k: v for k, v in zip(keys, args, strict=False)}
    for key, kind in _COMMAND_ARGS.items():
        value = out.get(key)
        if value is not None and not isinstance(value, kind):
            raise JsonRpcInvalidParams(f"'{key}' must be a {'string' if kind is str else 'JSON object'}")
    pos = out.get("position")
    if pos is not None and not all(
        isinstance(pos.get(k), int) and not isinstance(pos.get(k), bool) and 0 <= pos[k] <= _MAX_UINT
        for k in ("line", "character")
    ):
        raise JsonRpcInvalidParams('\'position\' must be {"line": uinteger, "character": uinteger}')
    return out


@server.command("sdf.describeTarget")
def describe_target(ls: SdfLanguageServer, *args):
    """`{"uri"?}`: the target of that document (under its sdf-lsp.toml), else the workspace's."""
    uri = _command_args(args).get("uri")
    doc = ls.docs.get(uri) if uri else None
    t, dialect, problem, config = ls.target, ls.ctx.dialect, ls.target_source_problem, None
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
