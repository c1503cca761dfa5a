"""The command line's map from an expected failure to an exit code and one
line (wirestream.failures), for the failures the integration tests cannot
provoke from a real server on demand (a full Redis, a replica, an
overloaded cluster); tests/integration/test_ops_cli.py runs the CLI against
real servers that are down or refuse the login."""

from __future__ import annotations

import elastic_transport
import elasticsearch
import httpx
import kombu.exceptions
import pytest
import redis.exceptions as rex

from shared.errors import ConfigError, ServiceUnavailable
from wirestream.failures import AUTH, NOT_FOUND, UNAVAILABLE, USAGE, explain


def _api(cls: type[elasticsearch.ApiError], status: int, error: str, reason: str
         ) -> elasticsearch.ApiError:
    meta = elastic_transport.ApiResponseMeta(status=status, http_version="1.1",
                                             headers=elastic_transport.HttpHeaders(),
                                             duration=0.0, node=elastic_transport.NodeConfig(
                                                 "http", "127.0.0.1", 9200))
    return cls(message=error, meta=meta, body={"error": {"type": error, "reason": reason}})


def _wrapped(outer: Exception, inner: Exception) -> Exception:
    try:
        try:
            raise inner
        except Exception as exc:
            raise outer from exc
    except Exception as exc:
        return exc


@pytest.mark.parametrize(("exc", "code", "says"), [
    (rex.OutOfMemoryError("command not allowed when used memory > 'maxmemory'."),
     UNAVAILABLE, "is full"),
    (rex.NoPermissionError("this user has no permissions to run the 'config' command"),
     AUTH, "denied the command"),
    (rex.ReadOnlyError("You can't write against a read only replica."), UNAVAILABLE,
     "read-only replica"),
    (rex.ResponseError("WRONGPASS invalid username-password pair"), AUTH,
     "WIRESTREAM_REDIS__PASSWORD"),
    (rex.TimeoutError("Timeout reading from socket"), UNAVAILABLE, "is unreachable"),
    (_api(elasticsearch.ApiError, 503, "cluster_block_exception", "blocked"), UNAVAILABLE,
     "answered 503"),
    (_api(elasticsearch.AuthorizationException, 403, "security_exception",
          "action [indices:admin/create] is unauthorized for user [wirestream_writer]"),
     AUTH, "denied"),
    (_api(elasticsearch.NotFoundError, 404, "index_not_found_exception",
          "no such index [wirestream-news]"), NOT_FOUND, "wirestream index setup"),
    (httpx.ConnectError("[Errno 111] Connection refused",
                        request=httpx.Request("POST", "http://127.0.0.1:2737/translate?q=x")),
     UNAVAILABLE, "http://127.0.0.1:2737/translate is unreachable"),
    # Celery wraps the client's error: the client's error decides
    (_wrapped(kombu.exceptions.OperationalError("cannot connect"),
              rex.AuthenticationError("invalid username-password pair")), AUTH,
     "refused the login"),
    (_wrapped(kombu.exceptions.OperationalError("cannot connect"), OSError("?")), UNAVAILABLE,
     "Celery broker"),
    (ServiceUnavailable("the translator is down"), UNAVAILABLE, "the translator is down"),
    (ConfigError("cannot read sources file x.yaml"), USAGE, "cannot read sources file"),
])
def test_an_expected_failure_gets_its_code_and_one_line(exc: Exception, code: int,
                                                         says: str) -> None:
    failure = explain(exc)
    assert failure is not None
    assert failure.code == code and says in failure.message
    assert "\n" not in failure.message


def test_a_bug_is_not_explained_away() -> None:
    assert explain(KeyError("surname")) is None
    assert explain(_wrapped(ValueError("bad"), ZeroDivisionError())) is None
    # a 404 that is not a missing index is no service failure either
    assert explain(_api(elasticsearch.NotFoundError, 404, "resource_not_found_exception",
                        "no such document")) is None
