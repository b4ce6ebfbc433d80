"""Structured logs: one JSON object per line, carrying the request id of the request being served.

A PostgreSQL error is logged by its first message line only: its DETAIL can be the failing row
(e-mail address, password hash), and its HINT can quote values too.
"""
from __future__ import annotations

import json
import logging
import sys
from collections.abc import Mapping
from contextvars import ContextVar
from datetime import datetime, timezone

import asyncpg

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)

# color_message: uvicorn's copy of msg with terminal colours, noise in a JSON line
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "color_message"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        args = record.args.values() if isinstance(record.args, Mapping) else record.args or ()
        db_errors = _database_errors(record.exc_info[1] if record.exc_info else None, *args)
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": _without_rows(record.getMessage(), db_errors),
        }
        if (rid := request_id_var.get()) is not None:
            entry["request_id"] = rid
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            entry["exc"] = _without_rows(self.formatException(record.exc_info), db_errors)
        return json.dumps(entry, default=_json_value, ensure_ascii=False)


def _database_errors(*values: object) -> list[asyncpg.PostgresError]:
    """The PostgreSQL errors among `values` and their causes, contexts and exception-group members."""
    found, seen = [], set()
    queue = [v for v in values if isinstance(v, BaseException)]
    while queue:
        exc = queue.pop()
        if id(exc) in seen:
            continue
        seen.add(id(exc))
        if isinstance(exc, asyncpg.PostgresError):
            found.append(exc)
        members = exc.exceptions if isinstance(exc, BaseExceptionGroup) else ()
        queue += [e for e in (exc.__cause__, exc.__context__, *members) if e is not None]
    return found


def _first_line(error: asyncpg.PostgresError) -> str:
    message = str(error.args[0]) if error.args else ""
    return (message.splitlines() or [""])[0]  # a value quoted in the message may hold a line break


def _without_rows(text: str, db_errors: list[asyncpg.PostgresError]) -> str:
    # str(error) is exactly what formatting wrote, DETAIL and HINT included, whatever line breaks they hold
    for error in db_errors:
        text = text.replace(str(error), _first_line(error))
    return text


def _json_value(value: object) -> str:
    return _first_line(value) if isinstance(value, asyncpg.PostgresError) else str(value)


def configure(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # uvicorn's own lines go through the same JSON handler; its access log would repeat ours
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True
