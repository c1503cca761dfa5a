"""Paragraphs a source repeats under its stories, learned from its own
history in the real Redis (services/ingest/adapters/repeats.py)."""

from __future__ import annotations

import pytest
import redis

from services.ingest.adapters.repeats import RepeatedParagraphs
from shared.models import NewsItem, content_hash, item_id
from tests.unit.ingest._parsing import fixtures, parse_bytes
from tests.unit.test_shared import make_item


def _story(n: int, *paragraphs: str, source: str = "src") -> NewsItem:
    return make_item(id=item_id(source, f"g{n}"), uri=f"g{n}", source=source,
                     headline=f"Story {n}", body_text="\n\n".join(paragraphs),
                     content_hash=content_hash(f"Story {n}", *paragraphs))


def test_a_promo_line_three_stories_carry_is_dropped(redis_db: redis.Redis) -> None:
    repeats = RepeatedParagraphs(redis_db, window=10, min_items=3)
    promo = "Read more news on our Telegram channel and follow us."
    first = repeats.strip("src", [_story(1, "Alpha happened today.", promo),
                                  _story(2, "Beta happened today.", promo)])
    assert [i.body_text for i in first] == ["Alpha happened today.\n\n" + promo,
                                            "Beta happened today.\n\n" + promo]  # 2 < 3
    [third] = repeats.strip("src", [_story(3, "Gamma happened today.", promo)])
    assert third.body_text == "Gamma happened today."
    assert "repeated_paragraphs:1" in third.ingest_flags
    # the same story again (a new version) is not counted twice
    repeats.strip("src", [_story(3, "Gamma happened today.", promo)])
    assert int(redis_db.hget("wirestream:repeats:src:n", _print(promo)) or 0) == 3
    # another source learns on its own
    [other] = repeats.strip("other", [_story(4, "Delta.", promo, source="other")])
    assert promo in (other.body_text or "")


def _print(paragraph: str) -> str:
    from services.ingest.adapters.repeats import fingerprint

    return fingerprint(paragraph)


def test_the_window_forgets(redis_db: redis.Redis) -> None:
    repeats = RepeatedParagraphs(redis_db, window=3, min_items=2)
    line = "Subscribe to the evening briefing."
    repeats.strip("src", [_story(1, "One.", line), _story(2, "Two.", line)])
    # three stories without the line push both out of the window
    repeats.strip("src", [_story(n, f"Story text {n}.", "Other closing.") for n in (3, 4, 5)])
    assert redis_db.hget("wirestream:repeats:src:n", _print(line)) is None
    assert redis_db.llen("wirestream:repeats:src:ids") == 3
    [kept] = repeats.strip("src", [_story(6, "Six.", line)])
    assert line in (kept.body_text or "")  # seen in one story of the window: its own


def test_an_only_paragraph_and_a_one_story_line_are_never_dropped(
        redis_db: redis.Redis) -> None:
    with pytest.raises(ValueError):
        RepeatedParagraphs(redis_db, min_items=1)
    repeats = RepeatedParagraphs(redis_db, window=10, min_items=2)
    same = "The market closed higher."
    out = repeats.strip("src", [_story(n, same) for n in range(1, 5)])
    assert all(i.body_text == same for i in out)


def test_real_feed_repeats(redis_db: redis.Redis) -> None:
    """The Washington Post wellness feed closes every item with the same
    link line: learned and dropped; the stories' own paragraphs stay."""
    data = (fixtures() / "feeds/real/washingtonpost-wellness_rss2_en.xml").read_bytes()
    items = parse_bytes(data, source="wapo").items
    out = RepeatedParagraphs(redis_db).strip("wapo", items)
    dropped = [p for a, b in zip(items, out, strict=True)
               for p in (a.summary or "").split("\n\n") + (a.body_text or "").split("\n\n")
               if p and p not in (b.summary or "") + (b.body_text or "")]
    assert dropped and set(dropped) == {"Read full article >>"}
    assert all((b.summary or b.body_text) for a, b in zip(items, out, strict=True)
               if a.summary or a.body_text)
