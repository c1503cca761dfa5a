"""The SSRF guard, through the real ingest worker: non-public addresses,
disguised addresses and redirects to them are refused before any
connection is made.

How "before any connection" is proven, with no packet ever leaving loopback:

* every worker runs inside the network jail of tests/faults/_inject: a
  connect to anything outside 127.0.0.0/8 and ::1 is refused by the process
  itself and written to the jail log, as is any connect to the canary's port
  (loopback included). The jail log of these tests must stay empty;
* disguised spellings of loopback (decimal, hex, octal, short forms,
  IPv4-mapped IPv6) point at the canary, a loopback server that must never
  see a request, although loopback is allowed in this suite
  (``WIRESTREAM_INGEST__ALLOW_LOOPBACK=true``): the guard refuses
  non-canonical IPv4 spellings and mapped IPv6 outright;
* the refusal is recorded on the source: ``ssrf_blocked`` (or
  ``scheme_not_allowed``) in ``last_error``.
"""

from __future__ import annotations

import pytest

from tests.faults._rig import Rig
from tests.hostile._servers import Canary, HostileServer
from tests.hostile.test_hostile_inputs import probe, probe_many
from wirestream.dev.harness import PipelineProcesses

pytestmark = pytest.mark.timeout(300)

# Never public, whatever allow_loopback says. Ports are irrelevant: nothing
# may be connected to. (Documentation and private ranges only: even if a
# packet escaped the jail, it would go nowhere.)
PRIVATE = {
    "rfc1918": "http://10.0.0.1/feed",
    "metadata": "http://169.254.169.254/latest/meta-data/",
    "cgnat": "http://100.64.0.1/feed",
    "mapped-private": "http://[::ffff:10.0.0.1]/feed",
    "ula": "http://[fd00::1]/feed",
    "link-local-v6": "http://[fe80::1]/feed",
    "decimal-private": "http://167772161/feed",  # 10.0.0.1
    "hex-metadata": "http://0xa9fea9fe/feed",  # 169.254.169.254
}


def disguised_loopback(port: int) -> dict[str, str]:
    return {
        "decimal": f"http://2130706433:{port}/feed",
        "hex": f"http://0x7f000001:{port}/feed",
        "octal": f"http://0177.0.0.1:{port}/feed",
        "short": f"http://127.1:{port}/feed",
        "dotted-hex": f"http://0x7f.0.0.1:{port}/feed",
        "mapped": f"http://[::ffff:127.0.0.1]:{port}/feed",
        "mapped-hex": f"http://[::ffff:7f00:1]:{port}/feed",
    }


def _assert_clean(rig: Rig, canary: Canary) -> None:
    jail = rig.jail_log()
    assert jail == [], f"connect or lookup attempts recorded by the jail: {jail}"
    assert canary.hits == []


def test_non_public_addresses_are_refused(
    rig: Rig, pipeline: PipelineProcesses, canary: Canary
) -> None:
    urls = {f"ssrf-{name}": url for name, url in PRIVATE.items()}
    for name, out in probe_many(rig, pipeline, urls, type="rss").items():
        assert out.reason == "ssrf_blocked", (name, out.state.last_error)
    _assert_clean(rig, canary)


def test_disguised_loopback_is_refused_even_with_loopback_allowed(
    rig: Rig, pipeline: PipelineProcesses, canary: Canary
) -> None:
    urls = {f"disguise-{name}": url for name, url in disguised_loopback(canary.port).items()}
    for name, out in probe_many(rig, pipeline, urls, type="rss").items():
        assert out.reason == "ssrf_blocked", (name, out.state.last_error)
    _assert_clean(rig, canary)


def test_redirects_to_non_public_or_disguised_addresses_are_refused(
    rig: Rig, pipeline: PipelineProcesses, canary: Canary, hostile: HostileServer
) -> None:
    targets = {**PRIVATE, **{f"l-{k}": v for k, v in disguised_loopback(canary.port).items()},
               "file": "file:///etc/passwd", "gopher": "gopher://127.0.0.1:70/_x"}
    urls = {}
    for name, target in targets.items():
        def redirect(req: object, target: str = target) -> None:
            req.reply(302, b"", {"Location": target})  # type: ignore[attr-defined]

        urls[f"redir-{name}"] = hostile.route(f"/redirect/{name}", redirect)
    for name, out in probe_many(rig, pipeline, urls, type="rss").items():
        scheme = name in ("redir-file", "redir-gopher")
        assert out.reason == ("scheme_not_allowed" if scheme else "ssrf_blocked"), (
            name, out.state.last_error)
        assert "root:" not in (out.state.last_error or "")
    _assert_clean(rig, canary)


def test_redirect_chain_through_public_looking_hops_ends_refused(
    rig: Rig, pipeline: PipelineProcesses, canary: Canary, hostile: HostileServer
) -> None:
    """Two ordinary hops on the (allowed) loopback server, then the metadata
    address: every hop is checked, not only the first."""
    hostile.route("/chain/1", lambda req: req.reply(301, b"", {"Location": "/chain/2"}))
    hostile.route("/chain/2", lambda req: req.reply(307, b"",
                                                    {"Location": PRIVATE["metadata"]}))
    out = probe(rig, pipeline, "chain", hostile.url("/chain/1"), type="rss")
    assert out.reason == "ssrf_blocked"
    _assert_clean(rig, canary)
