"""The one exception tree of wirestream.

::

    WirestreamError                      base of everything we raise on purpose
    ├── PermanentError                   retrying cannot help: dead-letter at once
    │   ├── ConfigError                  bad or missing settings (fails at boot)
    │   ├── PayloadError                 a task payload that does not validate
    │   ├── FetchRefused                 SSRF guard, scheme, size cap, redirect limit,
    │   │                                4xx (not 408/429) from a source
    │   ├── ParseError                   bytes that are not the declared/detected format
    │   └── DocumentRejected             Elasticsearch refused a document (400 class)
    └── TransientError                   may succeed later: retry with backoff
        ├── FetchFailed                  transport errors, 408/429/5xx from a source
        └── ServiceUnavailable           Redis, Elasticsearch or the translator down

Third-party errors are mapped at the boundary with ``raise ... from exc``,
except the Redis client's connection errors, which every Redis adapter can
raise and which :mod:`shared.tasking` classifies in one place
(:data:`shared.tasking.TRANSIENT`). This module imports no client library.

Every exception here pickles with its attributes intact (Celery carries them
between processes), which is why each class with extra state defines
``__reduce__``.
"""

from __future__ import annotations

from typing import Any


class WirestreamError(Exception):
    """Base class. ``reason`` is a short machine-friendly slug used in metrics
    labels and dead-letter records; ``message`` is for humans."""

    default_reason = "error"

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason or self.default_reason

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.message, self.reason, self._extra()))

    def _extra(self) -> dict[str, Any]:
        return {}

    def __str__(self) -> str:
        return self.message


def _rebuild(
    cls: type[WirestreamError], message: str, reason: str, extra: dict[str, Any]
) -> WirestreamError:
    return cls(message, reason=reason, **extra)


class PermanentError(WirestreamError):
    default_reason = "permanent"


class ConfigError(PermanentError):
    default_reason = "config"


class PayloadError(PermanentError):
    default_reason = "invalid_payload"


class FetchRefused(PermanentError):
    default_reason = "fetch_refused"


class ParseError(PermanentError):
    default_reason = "parse_error"


class DocumentRejected(PermanentError):
    """Elasticsearch answered 4xx (not 409/429) for one document."""

    default_reason = "es_rejected"

    def __init__(
        self, message: str, *, reason: str | None = None, status: int = 400, doc_id: str = ""
    ) -> None:
        super().__init__(message, reason=reason)
        self.status = status
        self.doc_id = doc_id

    def _extra(self) -> dict[str, Any]:
        return {"status": self.status, "doc_id": self.doc_id}


class TransientError(WirestreamError):
    default_reason = "transient"


class FetchFailed(TransientError):
    default_reason = "fetch_failed"

    def __init__(
        self, message: str, *, reason: str | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, reason=reason)
        self.retry_after = retry_after

    def _extra(self) -> dict[str, Any]:
        return {"retry_after": self.retry_after}


class ServiceUnavailable(TransientError):
    default_reason = "service_unavailable"


__all__ = [
    "ConfigError",
    "DocumentRejected",
    "FetchFailed",
    "FetchRefused",
    "ParseError",
    "PayloadError",
    "PermanentError",
    "ServiceUnavailable",
    "TransientError",
    "WirestreamError",
]
