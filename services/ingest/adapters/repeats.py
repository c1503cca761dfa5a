"""Boilerplate a source repeats, learned from its own recent items.

A paragraph that a source prints under many of its stories - a promo line,
"Source: ...", a channel call, the same author bio - is not part of any of
them. The shipped rules (services/ingest/boilerplate.yaml) catch the common
forms in the main languages; this catches the rest, in any language, from
the source's own history: every short paragraph of an item is counted once
per item in a sliding window of the source's last ``window`` items, and a
paragraph found in at least ``min_items`` of them is dropped. A paragraph
seen in only one item is never dropped (``min_items`` is at least 2), nor
is an item's only paragraph.

State per source in Redis, bounded by the window: a hash of paragraph
fingerprint -> items that carry it, the list of counted item ids, and each
counted item's fingerprints (to take them off the counts when it leaves the
window). Counting is per item id, so a new version of a story is not counted
again. Concurrent polls of one source may miscount by a few; the threshold
absorbs that.

The content hash of an item stays the one of the text as sent (the version
gate compares what the provider sent, not what we learned since).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Any

from shared.models import NewsItem

__all__ = ["PREFIX", "RepeatedParagraphs", "fingerprint"]

PREFIX = "wirestream:repeats:"
PARAGRAPH_SEP = "\n\n"


def fingerprint(paragraph: str) -> str:
    """Case, spacing and digits do not make a paragraph another one
    ("Updated 12:04" and "Updated 9:15" are the same line)."""
    text = " ".join(paragraph.casefold().split())
    text = "".join("0" if ch.isdigit() else ch for ch in text)
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


class RepeatedParagraphs:
    def __init__(self, client: Any, *, window: int = 200, min_items: int = 3,
                 max_chars: int = 300) -> None:
        if min_items < 2:
            raise ValueError("min_items must be at least 2: a paragraph of one item is its own")
        self._redis = client
        self.window = window
        self.min_items = min_items
        self.max_chars = max_chars

    def _short(self, item: NewsItem) -> list[str]:
        out = []
        for text in (item.summary, item.body_text):
            for paragraph in (text or "").split(PARAGRAPH_SEP):
                if paragraph and len(paragraph) <= self.max_chars:
                    out.append(fingerprint(paragraph))
        return list(dict.fromkeys(out))

    def learn(self, source: str, items: Sequence[NewsItem]) -> None:
        """Count the paragraphs of the items not counted yet; items that
        fall out of the window are taken off the counts."""
        key = PREFIX + source
        pipe = self._redis.pipeline()
        for item in items:
            pipe.sadd(f"{key}:seen", item.id)
        fresh = [item for item, added in zip(items, pipe.execute(), strict=True) if added]
        if not fresh:
            return
        pipe = self._redis.pipeline()
        for item in fresh:
            prints = self._short(item)
            pipe.rpush(f"{key}:ids", item.id)
            pipe.set(f"{key}:item:{item.id}", " ".join(prints))
            for mark in prints:
                pipe.hincrby(f"{key}:n", mark, 1)
        pipe.llen(f"{key}:ids")
        length = int(pipe.execute()[-1])
        if length > self.window:
            self._forget(key, length - self.window)

    def _forget(self, key: str, count: int) -> None:
        old = [i.decode() if isinstance(i, bytes) else str(i)
               for i in self._redis.lpop(f"{key}:ids", count) or []]
        if not old:
            return
        stored = self._redis.mget([f"{key}:item:{i}" for i in old])
        pipe = self._redis.pipeline()
        marks: list[str] = []
        for item_id, prints in zip(old, stored, strict=True):
            for mark in (prints.decode() if isinstance(prints, bytes) else prints or "").split():
                pipe.hincrby(f"{key}:n", mark, -1)
                marks.append(mark)
            pipe.delete(f"{key}:item:{item_id}")
            pipe.srem(f"{key}:seen", item_id)
        pipe.execute()
        # the counts just lowered that reached zero go (a paragraph no item in
        # the window has); the rest of the hash is not read
        marks = list(dict.fromkeys(marks))
        if marks:
            counts = self._redis.hmget(f"{key}:n", marks)
            gone = [m for m, n in zip(marks, counts, strict=True) if n is not None and int(n) <= 0]
            if gone:
                self._redis.hdel(f"{key}:n", *gone)

    def repeated(self, source: str, prints: Iterable[str]) -> set[str]:
        marks = list(dict.fromkeys(prints))
        if not marks:
            return set()
        counts = self._redis.hmget(f"{PREFIX}{source}:n", marks)
        return {mark for mark, n in zip(marks, counts, strict=True)
                if n is not None and int(n) >= self.min_items}

    def strip(self, source: str, items: Sequence[NewsItem]) -> list[NewsItem]:
        """Learn from ``items``, then drop from each the paragraphs its source
        repeats; an item that lost any is flagged ``repeated_paragraphs:N``."""
        self.learn(source, items)
        wanted = [mark for item in items for mark in self._short(item)]
        repeated = self.repeated(source, wanted)
        if not repeated:
            return list(items)
        out = []
        for item in items:
            summary, dropped_s = self._without(item.summary, repeated)
            body, dropped_b = self._without(item.body_text, repeated)
            dropped = dropped_s + dropped_b
            if not dropped:
                out.append(item)
                continue
            out.append(item.model_copy(update={
                "summary": summary, "body_text": body,
                "ingest_flags": [*item.ingest_flags, f"repeated_paragraphs:{dropped}"]}))
        return out

    def _without(self, text: str | None, repeated: set[str]) -> tuple[str | None, int]:
        if not text:
            return text, 0
        paragraphs = text.split(PARAGRAPH_SEP)
        if len(paragraphs) < 2:
            return text, 0  # an only paragraph is the text, whatever it repeats
        kept = [p for p in paragraphs
                if len(p) > self.max_chars or fingerprint(p) not in repeated]
        if not kept:
            return text, 0
        return PARAGRAPH_SEP.join(kept), len(paragraphs) - len(kept)
