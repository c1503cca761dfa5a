"""Identity of ingested items: canonical URLs, the identity key behind
``NewsItem.id`` and the content hash. Pure functions.

Identity key (:func:`identity_key`), first that exists wins:

1. the provider's id itself - RSS ``guid``, Atom ``id``, JSON Feed ``id``,
   ninjs ``uri``, NewsML-G2 ``guid``, exactly as sent (only stripped), so
   ``NewsItem.id == item_id(source, guid)``. The provider promises these are
   stable across versions of the story.
2. ``url:<canonical link>`` - :func:`canonical_url` of the item's link, so
   ``?utm_source=rss`` variants of one article collapse to one id.
3. ``title:<sha256>`` - hash of the whitespace-normalised, case-folded
   headline plus the provider's own date (ISO, UTC) if it sent one. Only the
   provider's date is used, never a fallback such as ``fetched_at``, or every
   poll would mint a new id.
4. ``text:<sha256>`` - hash of summary and body, for items with no headline.

``NewsItem.id`` is :func:`shared.models.item_id` of (source id, key), so the
same story from two different sources gets two ids (de-duplication across
sources is the enrich stage's job).

Canonical URL (:func:`canonical_url`): absolute http(s) only (relative links
are resolved against the document's base URL); scheme and host lower-cased;
default ports, fragment, user info and tracking parameters (``utm_*``,
``fbclid``, ``gclid`` ... see :data:`TRACKING_PARAMS`) removed; remaining
query parameters sorted; ``.``/``..`` path segments resolved; a trailing
slash removed except on the root path ``/``. The result identifies a
document; it is not guaranteed to be fetchable (some servers distinguish
``/a`` from ``/a/``) - keep ``NewsItem.url`` for fetching.
"""

from __future__ import annotations

import hashlib
import posixpath
from datetime import datetime
from urllib.parse import parse_qsl, quote, unquote, urlencode, urljoin, urlsplit, urlunsplit

import courlan

from shared.models import content_hash, item_id

__all__ = [
    "TRACKING_PARAMS",
    "TRACKING_PREFIXES",
    "canonical_url",
    "identity_key",
    "make_content_hash",
    "make_item_id",
]

TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "gclsrc", "dclid", "msclkid", "yclid", "igshid", "twclid",
        "ttclid", "li_fat_id", "mc_cid", "mc_eid", "wt_mc", "wt.mc_id", "xtor", "ocid",
        "cmpid", "cmp", "icid", "smid", "smtyp", "ito", "_ga", "_gl", "ncid", "sr_share",
        "ref_src", "ref_url", "rss", "feature", "spm", "cvid", "s_cid", "soc_src", "soc_trk",
    }
)  # fmt: skip
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "at_", "ns_", "hsa_", "_hs", "oly_", "vero_", "wt_")


def _is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


def _resolve_dots(path: str) -> str:
    if "/." not in path:
        return path
    resolved = posixpath.normpath(path)
    if path.endswith("/") and not resolved.endswith("/"):
        resolved += "/"
    return "/" if resolved in ("", ".") else resolved


def canonical_url(url: str | None, *, base_url: str | None = None) -> str | None:
    """The canonical form described in the module docstring, or None for
    anything that is not an absolute (or resolvable) http(s) URL."""
    if not url:
        return None
    url = "".join(url.split())  # feeds wrap long links over several lines
    if not url:
        return None
    try:
        if base_url:
            url = urljoin(base_url, url)
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            return None
        normalised = courlan.normalize_url(url)
        parts = urlsplit(normalised)
        host = (parts.hostname or "").lower().rstrip(".")
        if not host:
            return None
        port = parts.port
    except ValueError:
        # urlsplit/courlan raise ValueError on bad ports and broken IPv6 hosts
        return None
    scheme = parts.scheme.lower()
    netloc = host if ":" not in host else f"[{host}]"
    if port is not None and not (
        (scheme == "http" and port == 80) or (scheme == "https" and port == 443)
    ):
        netloc = f"{netloc}:{port}"
    path = _resolve_dots(parts.path or "/")
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/") or "/"
    query_pairs = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k)
    ]
    query = urlencode(sorted(query_pairs), quote_via=quote)
    path = quote(unquote(path), safe="/:@!$&'()*+,;=-._~")
    return urlunsplit((scheme, netloc, path, query, ""))


def _norm_title(headline: str) -> str:
    return " ".join(headline.split()).casefold()


def identity_key(
    *,
    guid: str | None,
    canonical: str | None,
    headline: str | None,
    provider_date: datetime | None,
    summary: str | None = None,
    body: str | None = None,
) -> str | None:
    """The identity key (see the module docstring), or None when the item
    has nothing at all to identify it by."""
    if guid and guid.strip():
        return guid.strip()
    if canonical:
        return f"url:{canonical}"
    if headline and headline.strip():
        stamp = provider_date.isoformat() if provider_date else ""
        digest = hashlib.sha256(f"{_norm_title(headline)}\x1f{stamp}".encode()).hexdigest()
        return f"title:{digest}"
    if (summary and summary.strip()) or (body and body.strip()):
        digest = hashlib.sha256(f"{summary or ''}\x1f{body or ''}".encode()).hexdigest()
        return f"text:{digest}"
    return None


def make_item_id(source: str, key: str) -> str:
    return item_id(source, key)


def make_content_hash(headline: str | None, summary: str | None, body: str | None) -> str:
    """Hash over headline + summary + body (the editorial content)."""
    return content_hash(headline, summary, body)
