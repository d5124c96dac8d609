"""One log format for every logger (Portico's, uvicorn's, Tortoise's), set up in one place for
`portico serve`, `portico worker` and the app factory: JSON lines in production, one readable
line per record in development (PORTICO_LOG_FORMAT chooses explicitly).

Every record made while a request is handled carries its request id (resolvers.request_record),
whichever logger made it: the record factory adds it, so handlers of others (pytest's, a log
shipper's) see it too.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Any, Protocol, TextIO

import orjson

from resolvers.request_record import current_request_id
from server import unavailable
from server.request_log import AlreadyLogged
from server.settings import Settings

# The attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "request_id"}


class Structured(Protocol):
    """A message that knows its fields (server.request_log's request line): the JSON format
    writes them as keys of their own, the text format writes str(message)."""

    def fields(self) -> dict[str, Any]: ...


def timestamp(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": timestamp(record),
            "level": record.levelname,
            "logger": record.name,
        }
        request_id = getattr(record, "request_id", None)
        if request_id is not None:
            line["request_id"] = request_id
        message = record.msg
        if hasattr(message, "fields") and not record.args:
            line["message"] = str(message)
            line.update(message.fields())
        else:
            line["message"] = record.getMessage()
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key not in line:
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return orjson.dumps(line, default=str).decode()


class TextFormatter(logging.Formatter):
    """`<time> <LEVEL> <logger> [<request id>] <message>`, tracebacks on the lines after."""

    def format(self, record: logging.LogRecord) -> str:
        request_id = getattr(record, "request_id", None)
        tag = f" [{request_id}]" if request_id is not None else ""
        line = f"{timestamp(record)} {record.levelname} {record.name}{tag} {record.getMessage()}"
        if record.exc_info:
            line = f"{line}\n{self.formatException(record.exc_info)}"
        elif record.exc_text:
            line = f"{line}\n{record.exc_text}"
        if record.stack_info:
            line = f"{line}\n{self.formatStack(record.stack_info)}"
        return line


class PorticoHandler(logging.StreamHandler):
    """Portico's own handler on the root logger, told apart from others' when set up again."""


class StatementsWithoutValues(logging.Filter):
    """Tortoise logs each statement at DEBUG with its values, which may be a session's or a
    link's token, an email body or a card's token: the log keeps the SQL only."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg == "%s: %s" and isinstance(record.args, tuple) and len(record.args) == 2:
            record.msg, record.args = "%s", (record.args[0],)
        return True


def formatter_for(settings: Settings) -> logging.Formatter:
    return JsonFormatter() if settings.log_format_in_use == "json" else TextFormatter()


def configure(settings: Settings, stream: TextIO | None = None) -> None:
    """Idempotent: the last call's format and level hold."""
    _add_request_ids()
    _skip_what_no_format_writes()
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, PorticoHandler)]:
        root.removeHandler(handler)
    handler = PorticoHandler(stream or sys.stderr)
    handler.setFormatter(formatter_for(settings))
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    # uvicorn's loggers write through the root's handler, in its format. Its access log is
    # off (server.request_log writes one line per request instead).
    for name in ("uvicorn", "uvicorn.error", "uvicorn.asgi"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    access = logging.getLogger("uvicorn.access")
    access.handlers.clear()
    access.propagate = False
    # aiosqlite logs each call it runs on its thread with the call's values, at DEBUG.
    logging.getLogger("aiosqlite").setLevel(max(root.level, logging.INFO))
    statements = logging.getLogger("tortoise.db_client")
    if not any(isinstance(each, StatementsWithoutValues) for each in statements.filters):
        statements.addFilter(StatementsWithoutValues())
    unavailable.install_log_filters()
    errors = logging.getLogger("uvicorn.error")
    if not any(isinstance(each, AlreadyLogged) for each in errors.filters):
        errors.addFilter(AlreadyLogged())


def _skip_what_no_format_writes() -> None:
    # Neither format writes the caller's file and line, the thread or the process, and working
    # them out was a third of a request line's cost; the logging HOWTO's "Optimization" section
    # names these switches.
    logging._srcfile = None  # type: ignore[attr-defined]
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False


def _add_request_ids() -> None:
    factory = logging.getLogRecordFactory()
    if getattr(factory, "adds_request_ids", False):
        return

    def record_with_request_id(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        record.request_id = current_request_id()
        return record

    record_with_request_id.adds_request_ids = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(record_with_request_id)
