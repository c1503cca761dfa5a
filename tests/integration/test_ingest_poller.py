"""The poller with the real fetcher, Redis and loopback HTTP: sitemaps to
article pages, full text for summary-only feeds, conditional GET, failures
recorded on the source."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from services.ingest.adapters.articles import ArticleExpander
from services.ingest.adapters.fetch import FeedFetcher
from services.ingest.adapters.gate import VersionGate
from services.ingest.adapters.politeness import HostLimiter
from services.ingest.adapters.source_registry import SourceRegistry
from services.ingest.adapters.stories import StoryLinker
from services.ingest.parsers import parse_document
from services.ingest.poller import Poller
from services.ingest.sources import Source
from shared.dlq import DeadLetterStore
from shared.models import Batch
from shared.settings import IngestSettings
from wirestream.dev.harness import FeedServer

PARAS = [
    "The harbour authority said on Monday that container traffic had resumed after a "
    "two-day strike by dock workers over pay and working hours.",
    "Union leaders said the agreement reached overnight raises wages by six percent over "
    "two years and limits night shifts for older workers.",
    "Shipping companies had diverted several vessels to neighbouring ports during the "
    "stoppage, and it could take a week to clear the backlog, officials said.",
]


def article(n: int, title: str) -> bytes:
    body = "".join(f"<p>{p} (story {n})</p>" for p in PARAS)
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>{title}</title><link rel="canonical" href="https://news.example/2026/11/story-{n}">
<meta property="article:published_time" content="2026-11-2{n}T08:00:00Z"></head>
<body><header>Menu</header><article><h1>{title}</h1>{body}</article>
<footer>Subscribe to our newsletter</footer></body></html>""".encode()


def urlset(base: str, numbers: list[int]) -> bytes:
    urls = "".join(
        f"""<url><loc>{base}/a/{n}.html</loc><news:news><news:publication>
<news:name>Example News</news:name><news:language>en</news:language></news:publication>
<news:publication_date>2026-11-2{n}T08:00:00Z</news:publication_date>
<news:title>Story {n} from the sitemap</news:title></news:news></url>"""
        for n in numbers
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
 xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">{urls}</urlset>""".encode()


@pytest.fixture
def poller(redis_db: redis.Redis) -> Iterator[tuple[Poller, list[Batch], SourceRegistry]]:
    sent: list[Batch] = []
    settings = IngestSettings(allow_loopback=True)
    with FeedFetcher(settings) as fetcher:
        yield (
            Poller(
                fetcher=fetcher,
                registry=SourceRegistry(redis_db),
                gate=VersionGate(redis_db),
                dlq=DeadLetterStore(redis_db),
                send=sent.append,
                batch_size=10,
                parse=parse_document,
                expander=ArticleExpander(fetcher=fetcher, parse=parse_document,
                                         client=redis_db),
                limiter=HostLimiter(redis_db, concurrency=2, min_delay=0.0),
                linker=StoryLinker(redis_db),
            ),
            sent,
            SourceRegistry(redis_db),
        )


def test_sitemap_index_to_article_pages_once(
    poller: tuple[Poller, list[Batch], SourceRegistry], redis_db: redis.Redis
) -> None:
    p, sent, registry = poller
    with FeedServer() as server:
        base = server.base_url
        server.publish("/sitemap-index.xml", f"""<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>{base}/news-1.xml</loc><lastmod>2026-11-27T10:00:00Z</lastmod></sitemap>
</sitemapindex>""".encode())
        server.publish("/news-1.xml", urlset(base, [1, 2, 3]))
        for n in (1, 2):
            server.publish(f"/a/{n}.html", article(n, f"Harbour story {n}"))
        # /a/3.html is missing: a 404 for one article
        source = Source(id="site", url=f"{base}/sitemap-index.xml", type="sitemap")
        registry.put(source)
        report = p.poll(source)
        assert report.status == "ok"
        items = [i for batch in sent for i in batch.items]
        assert sorted(i.headline for i in items) == ["Harbour story 1", "Harbour story 2"]
        first = next(i for i in items if i.headline == "Harbour story 1")
        assert first.body_text is not None and "six percent" in first.body_text
        assert "newsletter" not in first.body_text
        assert first.canonical_url == "https://news.example/2026/11/story-1"
        assert first.language == "en"
        [dead] = DeadLetterStore(redis_db).iter(reason="article:")
        assert dead.reason == "article:http_404" and "/a/3.html" in dead.message

        page_hits = len([r for r in server.requests if r[0].startswith("/a/")])
        sent.clear()
        assert p.poll(source).status == "not_modified"  # ETag on the index
        assert sent == []
        assert len([r for r in server.requests if r[0].startswith("/a/")]) == page_hits


def test_fulltext_fetches_pages_for_new_items_only(
    poller: tuple[Poller, list[Batch], SourceRegistry],
) -> None:
    p, sent, registry = poller
    with FeedServer() as server:
        base = server.base_url
        server.publish("/a/1.html", article(1, "Harbour strike ends"))
        feed = f"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
<link>{base}/</link><description>d</description><item><title>Harbour strike ends</title>
<link>{base}/a/1.html</link><guid>urn:x:1</guid><description>Short teaser.</description>
<pubDate>Fri, 27 Nov 2026 08:00:00 GMT</pubDate></item></channel></rss>""".encode()
        url = server.publish("/feed.rss", feed)
        source = Source(id="teasers", url=url, type="rss", fulltext=True)
        registry.put(source)
        p.poll(source)
        [item] = [i for b in sent for i in b.items]
        assert item.body_text is not None and "container traffic had resumed" in item.body_text
        assert "fulltext" in item.ingest_flags
        fetched_pages = len([r for r in server.requests if r[0] == "/a/1.html"])
        server.publish("/feed.rss", feed + b"\n")  # new ETag, same items
        sent.clear()
        p.poll(source)
        assert sent == []
        assert len([r for r in server.requests if r[0] == "/a/1.html"]) == fetched_pages


def test_failures_are_recorded_on_the_source_and_back_off(
    poller: tuple[Poller, list[Batch], SourceRegistry],
) -> None:
    p, _, registry = poller
    with FeedServer() as server:
        source = Source(id="broken", url=f"{server.base_url}/missing.rss", min_interval=60)
        registry.put(source)
        first = p.poll(source)
        second = p.poll(source)
    state = registry.state("broken")
    assert first.status == second.status == "failed"
    assert state.consecutive_failures == 2
    assert state.last_error is not None and "404" in state.last_error
    # exponential backoff: the second failure waits longer than the first
    # (min_interval 60 s: about 120 s after the first, 240 s after the second)
    assert second.next_due - first.next_due > 60


def _nitf(version: int, text: str) -> bytes:
    return f"""<?xml version="1.0" encoding="utf-8"?>
<nitf version="-//IPTC//DTD NITF 3.6//EN" baselang="en"><head><title>Harbour strike</title>
<docdata><doc-id id-string="NITF-HARBOUR-1"/><du-key key="harbour" version="{version}"/>
<date.issue norm="20261127T080000Z"/></docdata></head><body><body.head><hedline>
<hl1>Harbour strike ends</hl1></hedline></body.head><body.content><p>{text}</p>
</body.content></body></nitf>""".encode()


def _newsml1(status: str) -> bytes:
    return f"""<?xml version="1.0" encoding="utf-8"?><NewsML Version="1.2"><NewsItem>
<Identification><NewsIdentifier><ProviderId>example.com</ProviderId><DateId>20261127</DateId>
<NewsItemId>77</NewsItemId><RevisionId PreviousRevision="0" Update="N">2</RevisionId>
<PublicIdentifier>urn:newsml:example.com:20261127:77</PublicIdentifier></NewsIdentifier>
</Identification><NewsManagement><FirstCreated>20261127T080000+0000</FirstCreated>
<ThisRevisionCreated>20261127T090000+0000</ThisRevisionCreated><Status FormalName="{status}"/>
</NewsManagement><NewsComponent><NewsLines><HeadLine>Port reopens</HeadLine></NewsLines>
<ContentItem><MediaType FormalName="Text"/><DataContent><nitf><body><body.content>
<p>{PARAS[0]}</p></body.content></body></nitf></DataContent></ContentItem></NewsComponent>
</NewsItem></NewsML>""".encode()


def test_nitf_and_newsml1_versions_and_kills_go_through_the_gate(
    poller: tuple[Poller, list[Batch], SourceRegistry],
) -> None:
    """The provider's version numbers of the pre-G2 formats reach the real
    version gate: NITF du-key 3 is sent as version 3, an older du-key 2 with
    new text is stale, du-key 4 is the next version; a NewsML 1 item turning
    Canceled is forwarded as a kill of the same document."""
    p, sent, registry = poller
    with FeedServer() as server:
        url = server.publish("/story.xml", _nitf(3, PARAS[0]))
        source = Source(id="nitf-wire", url=url, type="nitf")
        registry.put(source)
        p.poll(source)
        [first] = [i for b in sent for i in b.items]
        assert (first.version, first.guid) == (3, "NITF-HARBOUR-1")
        sent.clear()
        server.publish("/story.xml", _nitf(2, PARAS[1]))
        report = p.poll(source)
        assert (sent, report.stale) == ([], 1)
        server.publish("/story.xml", _nitf(4, PARAS[1]))
        p.poll(source)
        [newer] = [i for b in sent for i in b.items]
        assert (newer.id, newer.version) == (first.id, 4)

        sent.clear()
        url = server.publish("/newsml.xml", _newsml1("Usable"))
        source = Source(id="newsml1-wire", url=url, type="auto")
        registry.put(source)
        p.poll(source)
        [usable] = [i for b in sent for i in b.items]
        assert (usable.version, usable.pubstatus.value) == (2, "usable")
        sent.clear()
        server.publish("/newsml.xml", _newsml1("Canceled"))
        p.poll(source)
        [killed] = [i for b in sent for i in b.items]
        assert (killed.id, killed.pubstatus.value, killed.version) == (usable.id, "canceled", 3)


def test_anpa_writethrus_and_iptc7901_versions_go_through_the_gate(
    poller: tuple[Poller, list[Batch], SourceRegistry],
) -> None:
    """ANPA 1312 and IPTC 7901 files (written after the published layouts:
    tests/unit/ingest/test_parse_wire_codes.py) polled from a real HTTP
    server: a writethru of the same slug and day is the next version of its
    story, not a new one; a 7901 message's agency story id and #version
    reach the gate the same way."""
    from tests.unit.ingest.test_parse_wire_codes import anpa, iptc7901

    p, sent, registry = poller
    first_take = b"^BC-Fed-Rates,0380<\r\n^Fed holds rates<\r\n\t   The Fed held rates.\r\n"
    with FeedServer() as server:
        url = server.publish("/wire.anpa", anpa(fields=b"bc-Fed-Rates   10-31 0380",
                                                text=first_take))
        source = Source(id="anpa-wire", url=url, type="anpa1312")
        registry.put(source)
        p.poll(source)
        [first] = [i for b in sent for i in b.items]
        sent.clear()
        server.publish("/wire.anpa", anpa())
        p.poll(source)
        [writethru] = [i for b in sent for i in b.items]
        assert (writethru.id, writethru.version) == (first.id, 2)
        assert writethru.headline == "Fed keeps its key rate unchanged, signals patience"

        sent.clear()
        header = b"bkn014 4 pl 171 vvvvb KNA 170123-89-00065#%d"
        text = "Kirche lädt zum Gebet ein =\n\nBonn (KNA) Die Bischöfe laden ein.\n".encode()
        url = server.publish("/wire.iptc", iptc7901(header=header % 2, text=text))
        source = Source(id="kna-wire", url=url, type="auto")
        registry.put(source)
        p.poll(source)
        [second] = [i for b in sent for i in b.items]
        sent.clear()
        server.publish("/wire.iptc", iptc7901(header=header % 1, text=text + b"\nAlt.\n"))
        report = p.poll(source)
        assert (sent, report.stale) == ([], 1)  # #1 after #2 is stale
        assert second.version == 2
