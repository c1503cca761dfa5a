"""The stages on other hosts (issue #22): ingest and the scheduler, enrich
and index each run in a network namespace of their own (tests/cluster/
_hosts.py), and reach Redis, Elasticsearch, APy, CoreNLP and the feeds only
at the services host's address. Their own loopback has nothing on it, and
the ingest SSRF guard allows the services network and not loopback: any
hidden 127.0.0.1 - a default URL, a client built from the wrong setting -
would fail, and the network jail of the fault suite (tests/faults/_inject)
records every attempt on the real services' loopback ports. A run of
stories goes through and is counted like the fault suite's runs, and every
document was enriched (languages, entities from CoreNLP, translations from
APy) without a step error. About a minute and a half on two cores."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from services.ingest.sources import Source
from tests.cluster._hosts import Hosts, hosts, relay
from tests.faults._fixtures import build_rig, teardown_rig
from tests.faults._rig import Rig, assert_promise, publish_run

# slow: a cluster or a pipeline starts and recovers (the docstring says how long)
pytestmark = pytest.mark.timeout(900)

ROOT = Path(__file__).resolve().parents[2]
DB = 6


def _port(url: str) -> int:
    port = urlsplit(url).port
    assert port is not None, url
    return port


@pytest.fixture(scope="module")
def spread(services: dict[str, str]) -> Iterator[tuple[Rig, Hosts, dict[str, str]]]:
    work = ROOT / "var" / "hosts-test" / f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    rig = build_rig(work, services, db=DB)
    loopback = {
        "redis": rig.redis_server.port,
        "elasticsearch": _port(services["WIRESTREAM_ES__URL"]),
        "apertium": _port(services["WIRESTREAM_TRANSLATOR__APERTIUM_URL"]),
        "corenlp": _port(services["WIRESTREAM_NER__CORENLP_URL"]),
        "feeds": _port(rig.server.base_url),
    }
    try:
        with hosts(["ingest", "enrich", "index"]) as machines, \
                contextlib.ExitStack() as relays:
            at = {name: relays.enter_context(relay(machines.services, port))[0]
                  for name, port in loopback.items()}
            address = machines.services
            env = {
                "WIRESTREAM_REDIS__URL": f"redis://{address}:{at['redis']}/{DB}",
                "WIRESTREAM_ES__URL": f"http://{address}:{at['elasticsearch']}",
                "WIRESTREAM_TRANSLATOR__APERTIUM_URL": f"http://{address}:{at['apertium']}",
                "WIRESTREAM_NER__CORENLP_URL": f"http://{address}:{at['corenlp']}",
                "WIRESTREAM_INGEST__ALLOW_LOOPBACK": "false",
                "WIRESTREAM_INGEST__ALLOW_NETWORKS": json.dumps(
                    [f"{address.rsplit('.', 1)[0]}.0/24"]),
                # the jail: the services host may be reached, and every
                # attempt on a real service's loopback port is written down
                "WIRESTREAM_FAULT_JAIL_ALLOW": address,
                "WIRESTREAM_FAULT_JAIL_WATCH": ",".join(str(p) for p in loopback.values()),
                "feeds": f"http://{address}:{at['feeds']}",
            }
            yield rig, machines, env
    finally:
        teardown_rig(rig)


def test_every_stage_on_its_own_host_reaches_the_services_by_address(
        spread: tuple[Rig, Hosts, dict[str, str]]) -> None:
    rig, machines, env = spread
    feeds = env.pop("feeds")
    prefix = {"ingest": machines.prefix("ingest"), "scheduler": machines.prefix("ingest"),
              "enrich": machines.prefix("enrich"), "index": machines.prefix("index")}
    with rig.running(extra_env=env, prefix=prefix) as procs:
        run = publish_run(rig.server, rig.registry(), "hosts1", 200, per_feed=50,
                          register=False)
        registry = rig.registry()
        for source_id, (path, _guids) in run.feeds.items():
            registry.put(Source(id=source_id, url=feeds + path, type="rss", language="en",
                                min_interval=5, max_interval=20), due=0.0)
        acc = rig.settle(run, timeout=240, quiet=3.0)
        assert_promise(acc, allow_dead=False)
        assert all(procs.alive().values()), procs.alive()
        # each process ran on its host: in that network namespace
        for name, host in (("ingest", "ingest"), ("scheduler", "ingest"),
                           ("enrich", "enrich"), ("index", "index")):
            found = subprocess.run(["ip", "netns", "identify", str(procs.pid(name))],
                                   capture_output=True, text=True, check=True).stdout.strip()
            assert found == machines.namespaces[host], (name, found)

    # no process tried an address other than the services host's, nor a
    # service's port on a loopback (where, on its host, nothing listens)
    jail = rig.jail_log()
    assert [e for e in jail if e.get("refused")] == [], jail[:5]
    ports = {int(p) for p in env["WIRESTREAM_FAULT_JAIL_WATCH"].split(",")}
    on_loopback = [e for e in jail if e["event"] == "connect" and e["detail"][1] in ports]
    assert on_loopback == [], f"connections to a service on loopback: {on_loopback[:5]}"

    # every document was enriched: CoreNLP and APy were reached from their hosts
    rig.es_admin.indices.refresh(index=f"{rig.prefix}-*")
    hits = rig.es_admin.search(
        index=f"{rig.prefix}-v*-*", size=500,
        query={"prefix": {"source": "hosts1-"}},
        source=["id", "language", "enrichment_errors", "entities_status", "pipeline_version"],
    )["hits"]["hits"]
    assert len(hits) == len(run.expected)
    errors = [h["_source"]["enrichment_errors"] for h in hits
              if h["_source"].get("enrichment_errors")]
    assert errors == [], errors[:3]
    assert {h["_source"].get("language") for h in hits} == {"en"}
