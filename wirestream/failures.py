"""Exit codes of the ``wirestream`` command line, and the one place where an
expected failure becomes a one-line error that names the service and the
remedy instead of a traceback.

=====  =======================================================================
code   meaning
=====  =======================================================================
0      done; healthy
1      not found, or unhealthy (``health``, ``status``, ``index status``)
2      usage: bad arguments or settings
3      a service is unreachable or answered only in part (Redis, Elasticsearch,
       the translator, CoreNLP; a search some shards failed)
4      a service refused the login or the right (wrong password, missing
       privilege)
=====  =======================================================================

Anything else still ends in a traceback (exit 1): it is a bug, and the stack
is what a bug report needs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

__all__ = ["AUTH", "NOT_FOUND", "OK", "UNAVAILABLE", "USAGE", "Failure", "explain"]

OK = 0
NOT_FOUND = 1
USAGE = 2
UNAVAILABLE = 3
AUTH = 4

LOCAL = "`wirestream services status` on a developer machine, `docker compose ps` in compose"


@dataclass(frozen=True)
class Failure:
    code: int
    message: str


@cache
def _settings() -> Any:
    """The settings, if they load (a failure to load them is explained on
    its own); the messages fall back to naming the variables. Loaded once:
    an explanation may ask for them several times."""
    try:
        from shared.settings import load_settings

        return load_settings()
    except Exception:
        return None


def _chain(exc: BaseException) -> list[BaseException]:
    out: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in out:
        out.append(current)
        current = current.__cause__ or current.__context__
    return out


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:200]


def _redis(exc: BaseException) -> Failure | None:
    import redis.exceptions as rex

    settings = _settings()
    where = f"Redis at {settings.redis.url}" if settings else "Redis"
    text = _first_line(exc)
    # AuthenticationError is a ConnectionError: asked first
    if isinstance(exc, rex.AuthenticationError | rex.AuthenticationWrongNumberOfArgsError) or (
            isinstance(exc, rex.ResponseError) and text.startswith(("NOAUTH", "WRONGPASS"))):
        return Failure(AUTH, f"{where} refused the login ({text}): check "
                             "WIRESTREAM_REDIS__PASSWORD")
    if isinstance(exc, rex.NoPermissionError):
        return Failure(AUTH, f"{where} denied the command ({text}): the Redis user lacks "
                             "the right (docs/deploy.md, Passwords)")
    if isinstance(exc, rex.ReadOnlyError):
        return Failure(UNAVAILABLE, f"{where} is a read-only replica ({text}): point "
                                    "WIRESTREAM_REDIS__URL at the primary, or wait out the "
                                    "failover")
    if isinstance(exc, rex.OutOfMemoryError):
        return Failure(UNAVAILABLE, f"{where} is full ({text}): raise its maxmemory or drain "
                                    "the queues (docs/operations.md)")
    if isinstance(exc, rex.ConnectionError | rex.TimeoutError | rex.BusyLoadingError):
        return Failure(UNAVAILABLE, f"{where} is unreachable ({text}): is it running ({LOCAL})? "
                                    "Check WIRESTREAM_REDIS__URL")
    return None


_ES_USER = re.compile(r"user \[([^\]]+)\]")


def _elasticsearch(exc: BaseException) -> Failure | None:
    import elastic_transport
    import elasticsearch

    settings = _settings()
    where = f"Elasticsearch at {settings.es.url}" if settings else "Elasticsearch"
    text = _first_line(exc)
    body = getattr(exc, "body", None)
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        text = str(body["error"].get("reason") or text)[:300]  # the server's own words
    refused = elasticsearch.AuthenticationException | elasticsearch.AuthorizationException
    if isinstance(exc, refused):
        user = m.group(1) if (m := _ES_USER.search(str(exc))) else ""
        variable = "WIRESTREAM_ES__PASSWORD, _READER_PASSWORD or _ADMIN_PASSWORD"
        if settings and user:
            variable = {settings.es.username: "WIRESTREAM_ES__PASSWORD",
                        settings.es.reader_username: "WIRESTREAM_ES__READER_PASSWORD",
                        settings.es.admin_username: "WIRESTREAM_ES__ADMIN_PASSWORD",
                        }.get(user, variable)
        if isinstance(exc, elasticsearch.AuthorizationException):
            return Failure(AUTH, f"{where} denied {user or 'the user'} the right ({text}): "
                                 "this command needs another role's credentials "
                                 "(docs/deploy.md, Passwords)")
        return Failure(AUTH, f"{where} refused the login of {user or 'the user'}: check "
                             f"{variable}")
    if isinstance(exc, elastic_transport.ConnectionError | elastic_transport.ConnectionTimeout):
        return Failure(UNAVAILABLE, f"{where} is unreachable ({text}): is it running ({LOCAL})? "
                                    "Check WIRESTREAM_ES__URL")
    if isinstance(exc, elasticsearch.NotFoundError) and exc.error == "index_not_found_exception":
        index = m.group(1) if (m := re.search(r"no such index \[([^\]]+)\]", str(exc))) else ""
        return Failure(NOT_FOUND, f"{where} has no index {index or 'of wirestream'}: run "
                                  "`wirestream index setup`")
    if isinstance(exc, elasticsearch.ApiError) and exc.meta.status in (429, 502, 503, 504):
        return Failure(UNAVAILABLE, f"{where} answered {exc.meta.status} ({text}): it is "
                                    "starting, overloaded or red; see `wirestream index status`")
    return None


def _http(exc: BaseException) -> Failure | None:
    import httpx

    if isinstance(exc, httpx.TransportError):
        try:
            url = str(exc.request.url.copy_with(query=None))
        except RuntimeError:  # no request attached
            url = "a service"
        return Failure(UNAVAILABLE, f"{url} is unreachable ({_first_line(exc)}): is the "
                                    f"translator or CoreNLP running ({LOCAL})?")
    return None


def _broker(exc: BaseException) -> Failure | None:
    import kombu.exceptions

    if isinstance(exc, kombu.exceptions.OperationalError):
        return Failure(UNAVAILABLE, f"the Celery broker (Redis) is unreachable "
                                    f"({_first_line(exc)}): is it running ({LOCAL})?")
    return None


def _ours(exc: BaseException) -> Failure | None:
    from pydantic import ValidationError

    from shared.errors import ConfigError, ServiceUnavailable, TransientError, WirestreamError

    if isinstance(exc, ServiceUnavailable | TransientError):
        return Failure(UNAVAILABLE, f"{exc} (docs/operations.md)")
    if isinstance(exc, ValidationError):
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'value'}: {e['msg']}"
                             for e in exc.errors()[:3])
        return Failure(USAGE, f"invalid {exc.title}: {problems}")
    if isinstance(exc, ConfigError):
        return Failure(USAGE, str(exc))
    if isinstance(exc, WirestreamError):
        return Failure(USAGE, str(exc))
    return None


def explain(exc: BaseException) -> Failure | None:
    """The exit code and one-line message for an expected failure anywhere
    in ``exc``'s chain; a client's own error first, wherever it is in the
    chain (a Celery error wrapping a refused Redis login is a refused
    login); ``None`` for a bug."""
    chain = _chain(exc)
    for readers in ((_redis, _elasticsearch, _http), (_broker, _ours)):
        for link in chain:
            for reader in readers:
                if (failure := reader(link)) is not None:
                    return failure
    return None
