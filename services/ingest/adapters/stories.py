"""One story across wire and web: items of different sources that carry the
same canonical URL are the same document.

The first item seen with a canonical URL claims it (``wirestream:story:<sha1>``
→ item id and source). A later item of *another* source with the same
canonical URL takes the claimed id, so the wire version and the web page of a
story become versions of one document (the version gate keeps a content hash
per source, so neither makes the other flip-flop).

Only URLs that identify an article are used: a URL whose path is empty or
``/``, or one shared by several items of the same document (feeds that link
every item to a landing page), is never an identity. Items of the same source
keep their own ids: within a source, the guid is the identity.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from urllib.parse import urlsplit

import redis

from shared.models import NewsItem

__all__ = ["StoryLinker", "identifying_url"]

STORY_PREFIX = "wirestream:story:"
STORY_TTL_SECONDS = 180 * 24 * 3600

_CLAIM = """
local cur = redis.call('HMGET', KEYS[1], 'id', 'source')
if not cur[1] then
  redis.call('HSET', KEYS[1], 'id', ARGV[1], 'source', ARGV[2])
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
  return {ARGV[1], ARGV[2]}
end
return cur
"""


def identifying_url(url: str | None) -> bool:
    if not url:
        return False
    parts = urlsplit(url)
    return bool(parts.scheme in ("http", "https") and parts.netloc and parts.path.strip("/"))


class StoryLinker:
    def __init__(self, client: redis.Redis) -> None:
        self._claim = client.register_script(_CLAIM)

    def link(self, items: list[NewsItem]) -> list[NewsItem]:
        """Items with ids replaced where another source already owns the story."""
        shared_urls = Counter(i.canonical_url for i in items if i.canonical_url)
        out: list[NewsItem] = []
        for item in items:
            url = item.canonical_url
            if url is None or not identifying_url(url) or shared_urls[url] > 1:
                out.append(item)
                continue
            key = STORY_PREFIX + hashlib.sha1(url.encode()).hexdigest()
            owner_id, owner_source = (
                v.decode() if isinstance(v, bytes) else str(v)
                for v in self._claim(keys=[key], args=[item.id, item.source, STORY_TTL_SECONDS])
            )
            if owner_source != item.source and owner_id != item.id:
                item = item.model_copy(update={"id": owner_id})
            out.append(item)
        return out
