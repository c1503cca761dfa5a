"""The guard itself: unmarked tests cannot reach Redis or Elasticsearch."""

import pytest
import redis

from tests.conftest import ServiceAccessError


def test_unit_test_touching_redis_fails_loudly() -> None:
    client = redis.Redis(host="127.0.0.1", port=16379, socket_connect_timeout=1)
    with pytest.raises(ServiceAccessError, match=r"mark it @pytest\.mark\.integration"):
        client.ping()
    client.close()


def test_guard_error_names_the_marker() -> None:
    import socket

    sock = socket.socket()
    try:
        with pytest.raises(ServiceAccessError, match="integration"):
            sock.connect(("127.0.0.1", 19200))
    finally:
        sock.close()
