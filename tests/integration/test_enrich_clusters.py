"""Near-duplicate clusters with the LSH buckets in the real Redis."""

from __future__ import annotations

import json
from pathlib import Path

import redis

from services.enrich.adapters.clusters import ClusterIndex
from tests.unit.test_shared import make_item

ROOT = Path(__file__).resolve().parents[2]

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


def test_a_batch_gets_what_one_by_one_assignment_gives(redis_db: redis.Redis) -> None:
    """The batched round trips decide exactly as assigning each item alone,
    in order: on the labelled rewrite set (36 stories of 9 events, in three
    batches, the second holding a re-enrichment and a repeated id)."""
    rows = [json.loads(line) for line in
            (ROOT / "bench" / "data" / "enrich" / "clusters.jsonl").read_text().splitlines()]
    items = [make_item(id=r["id"], headline=r["headline"], body_text=r["body"]) for r in rows]
    batches = [items[:14], [items[3], *items[14:26], items[20]], items[26:]]
    batched = ClusterIndex(redis_db, prefix="t:batch:")
    alone = ClusterIndex(redis_db, prefix="t:alone:")
    got = [c for batch in batches for c in batched.assign(batch)]
    want = [alone.assign([item])[0] for batch in batches for item in batch]
    assert got == want
    # and the set is a real test of in-batch visibility: rewrites in one batch join up
    assert len(set(got[:14])) < 14
    assert {k.decode().split(":")[2] for k in redis_db.scan_iter(match="t:batch:*")} == {
        k.decode().split(":")[2] for k in redis_db.scan_iter(match="t:alone:*")}
