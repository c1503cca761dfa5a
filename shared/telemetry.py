"""Structured logging and the per-item context that follows an item through
the three stages.

Logs are one JSON object per line with ``stage``, ``source``, ``item_id`` and
``correlation_id`` when known. Secrets never reach a log line: settings hold
them as ``SecretStr``, and :func:`redact` scrubs URLs and header maps that
might carry them before they are logged.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

__all__ = ["bind_context", "redact", "setup_logging"]

_context: ContextVar[dict[str, Any]] = ContextVar("wirestream_log_context", default={})  # noqa: B039

_SECRET_QUERY = re.compile(
    r"(?i)([?&](?:api[_-]?key|token|access_token|key|password|secret|sig|signature)=)[^&#\s]+"
)
_USERINFO = re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://)[^/@\s:]*:[^/@\s]*@")
_SECRET_HEADERS = {"authorization", "cookie", "x-api-key", "proxy-authorization", "set-cookie"}


def redact(value: str) -> str:
    """Remove passwords in URLs and token-like query parameters."""
    value = _USERINFO.sub(r"\1***:***@", value)
    return _SECRET_QUERY.sub(r"\1***", value)


def redact_headers(headers: dict[str, str]) -> dict[str, str]:
    return {k: ("***" if k.lower() in _SECRET_HEADERS else v) for k, v in headers.items()}


def bind_context(**fields: Any) -> None:
    """Add fields (stage, source, item_id, correlation_id) to every log line
    written by this task from now on."""
    current = dict(_context.get())
    current.update({k: v for k, v in fields.items() if v is not None})
    _context.set(current)


def clear_context() -> None:
    _context.set({})


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": redact(record.getMessage()),
        }
        entry.update(_context.get())
        extra = getattr(record, "fields", None)
        if isinstance(extra, dict):
            entry.update(extra)
        if record.exc_info:
            entry["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


def setup_logging(level: str = "INFO", json_lines: bool = True) -> None:
    # The real stderr: in a Celery pool process sys.stderr is Celery's proxy
    # to the logging system, and lines written there would be lost.
    handler = logging.StreamHandler(sys.__stderr__ or sys.stderr)
    if json_lines:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # httpx logs every request URL at INFO; URLs may carry query tokens.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("elastic_transport").setLevel(logging.WARNING)
    # httpcore logs response headers (Set-Cookie) at DEBUG.
    logging.getLogger("httpcore").setLevel(logging.WARNING)

