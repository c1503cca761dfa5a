"""Near-duplicate clusters with the LSH buckets in the real Redis."""

from __future__ import annotations

import redis

from services.enrich.clusters import ClusterIndex
from tests.unit.test_shared import make_item

WIRE = ("The European Central Bank kept interest rates unchanged on Thursday, saying inflation "
        "in the euro zone was falling towards its two percent target while growth remained "
        "weak. ECB President Christine Lagarde told reporters that the governing council had "
        "not discussed cutting rates and that it was too early to declare victory over "
        "inflation. Markets had expected the decision.")
REWRITE = ("The European Central Bank kept interest rates unchanged on Thursday, saying inflation "
           "in the euro zone was falling towards its 2% target while growth remained weak. "
           "ECB President Christine Lagarde told reporters the governing council had not "
           "discussed cutting rates and that it was too early to declare victory over "
           "inflation. Markets had widely expected the decision, analysts said.")
OTHER = ("Heavy rain caused flooding across southern Spain on Thursday, forcing hundreds of "
         "people to leave their homes near Valencia as rivers burst their banks and roads were "
         "closed. Emergency services said no one had been hurt so far.")


def test_rewrites_share_a_cluster_and_other_stories_do_not(redis_db: redis.Redis) -> None:
    index = ClusterIndex(redis_db, threshold=0.5)
    wire = make_item(id="wire", headline="ECB holds rates", body_text=WIRE)
    rewrite = make_item(id="outlet", headline="ECB keeps rates on hold", body_text=REWRITE)
    other = make_item(id="other", headline="Floods in Spain", body_text=OTHER)
    clusters = index.assign([wire, rewrite, other])
    assert clusters[0] == "c-wire"
    assert clusters[1] == "c-wire"
    assert clusters[2] == "c-other"


def test_every_worker_sees_the_same_index_and_re_enrichment_keeps_the_cluster(
    redis_db: redis.Redis,
) -> None:
    first = ClusterIndex(redis_db)
    second = ClusterIndex(redis_db)  # another worker process
    [a] = first.assign([make_item(id="a", headline="ECB holds rates", body_text=WIRE)])
    [b] = second.assign([make_item(id="b", headline="ECB keeps rates", body_text=REWRITE)])
    assert a == b == "c-a"
    # "a" re-enriched later, by the other worker: same cluster, not a new one
    [again] = second.assign([make_item(id="a", headline="ECB holds rates", body_text=WIRE)])
    assert again == "c-a"
    keys = list(redis_db.scan_iter(match="ws:lsh:*"))
    assert keys and all(0 < redis_db.ttl(k) <= first.ttl for k in keys)


def test_too_short_items_get_no_cluster(redis_db: redis.Redis) -> None:
    assert ClusterIndex(redis_db).assign([make_item(headline="Breaking news")]) == [None]
