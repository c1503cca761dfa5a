"""The SSRF guard through the real ingest worker with loopback NOT allowed,
fetching from a private network of the test's own (tests/hostile/_intranet.py:
a network namespace, a veth pair, a wire server at 10.231.<n>.2) that the
operator allowed (``WIRESTREAM_INGEST__ALLOW_NETWORKS``: that one address).

The feed there is fetched and indexed; a redirect from that host to
loopback, to the cloud metadata address, to the other end of the pair (a
private address not allowed) or to ``localhost`` is refused before any
connection: the canary on loopback sees no request and the workers' network
jail, which lets them reach only loopback and the wire server, records no
attempt. Needs root (``ip netns``), as CI has on this machine."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import quote

import pytest

from services.ingest.sources import Source
from tests.faults._rig import Rig
from tests.hostile._intranet import Intranet, intranet
from tests.hostile._servers import Canary
from wirestream.dev.harness import PipelineProcesses, wait_for

pytestmark = pytest.mark.timeout(400)


@pytest.fixture(scope="module")
def wire(rig: Rig) -> Iterator[Intranet]:
    with intranet(rig.work, "ssrf") as net:
        yield net


@pytest.fixture(scope="module")
def pipeline(rig: Rig, wire: Intranet) -> Iterator[PipelineProcesses]:
    ingest = {"WIRESTREAM_INGEST__ALLOW_LOOPBACK": "false",
              "WIRESTREAM_INGEST__ALLOW_NETWORKS": json.dumps([f"{wire.server}/32"]),
              "WIRESTREAM_FAULT_JAIL_ALLOW": wire.server}
    with rig.running(concurrency={"ingest": 1, "enrich": 1, "index": 1},
                     stage_env={"ingest": ingest}) as procs:
        yield procs


def _indexed(rig: Rig, source: str) -> int:
    rig.es_admin.indices.refresh(index=f"{rig.prefix}-*")
    found = rig.es_admin.count(index=f"{rig.prefix}-*", query={"term": {"source": source}})
    return int(found["count"])


def test_an_allowed_intranet_feed_is_indexed_and_its_redirects_out_are_refused(
        rig: Rig, pipeline: PipelineProcesses, wire: Intranet, canary: Canary) -> None:
    registry = rig.registry()
    registry.put(Source(id="intranet-wire", url=wire.url("/feed.rss"), type="rss",
                        min_interval=600, max_interval=3600), due=0.0)
    targets = {
        "loopback": f"http://127.0.0.1:{canary.port}/feed",
        "localhost": f"http://localhost:{canary.port}/feed",
        "metadata": "http://169.254.169.254/latest/meta-data/",
        "host-side": f"http://{wire.host_side}:{canary.port}/feed",
        "disguised": f"http://2130706433:{canary.port}/feed",
    }
    for name, target in targets.items():
        registry.put(Source(id=f"intranet-{name}", url=wire.url(f"/redirect?to={quote(target)}"),
                            type="rss", min_interval=600, max_interval=3600), due=0.0)
    assert wait_for(lambda: _indexed(rig, "intranet-wire") == 3, 180, 0.5), (
        f"the intranet feed was not indexed: {registry.state('intranet-wire')}\n"
        f"{rig.log_tail()}")

    def polled() -> bool:
        return all(registry.state(f"intranet-{n}").last_poll is not None for n in targets)

    assert wait_for(polled, 120, 0.2), rig.log_tail()
    for name in targets:
        state = registry.state(f"intranet-{name}")
        assert "ssrf_blocked" in (state.last_error or ""), (name, state.last_error)
    # the worker reached the wire server for every source: the refusals are
    # of the redirects, not of the intranet host
    asked = wire.requests()
    assert "/feed.rss" in asked
    assert sum(r.startswith("/redirect") for r in asked) == len(targets), asked
    assert canary.hits == []
    jail = rig.jail_log()
    assert jail == [], f"connect or lookup attempts recorded by the jail: {jail}"
