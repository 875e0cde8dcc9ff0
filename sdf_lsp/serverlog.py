"""The language server's log: one line per record, starting with its level, on stderr (or a file).

Editors show the server's stderr in their log; a leading `DEBUG`/`INFO`/`WARNING`/`ERROR`
lets them file each line at its real level (the VS Code extension does). A request the
server refuses on purpose (a rename to a taken name, *Show CSpace* outside a PD) is the
user's mistake, answered with an LSP error: it is logged as one INFO line, not as a traceback.
"""

from __future__ import annotations

import logging
import os

from pygls.exceptions import JsonRpcException, JsonRpcInternalError

LEVEL_ENV = "SDF_LSP_LOG_LEVEL"  # e.g. INFO; the default is WARNING (INFO with a log file)
# pygls logs every exception a handler raises, with its traceback, on these loggers
_PYGLS_LOGGERS = ("pygls.protocol.json_rpc", "pygls.protocol.language_server", "pygls.server")


class ExpectedErrors(logging.Filter):
    """Turn pygls's traceback for a deliberate JSON-RPC error into one INFO line."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, JsonRpcException) and not isinstance(exc, JsonRpcInternalError):
            record.msg, record.args = "request refused: %s", (exc.message or type(exc).__name__,)
            record.exc_info = record.exc_text = None
            record.levelno, record.levelname = logging.INFO, logging.getLevelName(logging.INFO)
            # the logger already passed its level check: drop what the handlers would not show
            return logging.getLogger().isEnabledFor(logging.INFO)
        return True


def configure_logging(log_file: str | None = None) -> None:
    default = "INFO" if log_file else "WARNING"
    level = os.environ.get(LEVEL_ENV, default).strip().upper()
    if not isinstance(logging.getLevelName(level), int):
        level = default
    if log_file:
        handler: logging.Handler = logging.FileHandler(log_file)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    else:  # the client adds the time
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # pygls logs every message it sends or receives at INFO: only DEBUG shows that traffic
    logging.getLogger("pygls").setLevel(level if level == "DEBUG" else max(logging.WARNING, root.level))
    for name in _PYGLS_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, ExpectedErrors) for f in logger.filters):
            logger.addFilter(ExpectedErrors())
