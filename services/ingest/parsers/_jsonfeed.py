"""JSON Feed 1.0 / 1.1 (https://jsonfeed.org/version/1.1)."""

from __future__ import annotations

from typing import Any

from services.ingest.dates import parse_date

from ._build import Body, Context, Draft, Rejected, normalise_language, str_or_none
from ._model import FeedMeta

__all__ = ["feed_meta", "is_jsonfeed", "iter_drafts", "version_of"]

_PREFIXES = ("https://jsonfeed.org/version/", "http://jsonfeed.org/version/")


def is_jsonfeed(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and isinstance(value.get("version"), str)
        and value["version"].startswith(_PREFIXES)
    )


def version_of(value: Any) -> str | None:
    if not is_jsonfeed(value):
        return None
    version: str = value["version"].rstrip("/").rsplit("/", 1)[-1]
    return version


def feed_meta(value: dict[str, Any]) -> FeedMeta:
    return FeedMeta(
        title=str_or_none(value.get("title")),
        link=str_or_none(value.get("home_page_url")),
        language=normalise_language(str_or_none(value.get("language"))),
    )


def _authors(entry: dict[str, Any]) -> str | None:
    names: list[str] = []
    authors = entry.get("authors")
    if isinstance(authors, list):
        for author in authors:
            if isinstance(author, dict) and (name := str_or_none(author.get("name"))):
                names.append(name)
    author = entry.get("author")  # 1.0
    if not names and isinstance(author, dict) and (name := str_or_none(author.get("name"))):
        names.append(name)
    return ", ".join(names) or None


def iter_drafts(value: dict[str, Any], ctx: Context) -> list[Draft | Rejected]:
    """One draft (or rejection) per entry of ``items``."""
    items = value.get("items")
    if not isinstance(items, list):
        return []
    languages = [lang.split("-")[0] for lang in [ctx.feed_language] if lang]
    out: list[Draft | Rejected] = []
    for entry in items:
        if not isinstance(entry, dict):
            out.append(Rejected("invalid_item", "item is not a JSON object"))
            continue
        guid = str_or_none(entry.get("id"))
        html = str_or_none(entry.get("content_html"))
        text = str_or_none(entry.get("content_text"))
        body = Body(html, "html") if html else (Body(text, "text") if text else None)
        summary = str_or_none(entry.get("summary"))
        tags = entry.get("tags")
        language = str_or_none(entry.get("language"))
        draft = Draft(
            guid=guid,
            link=str_or_none(entry.get("url")) or str_or_none(entry.get("external_url")),
            headline=Body(title, "text") if (title := str_or_none(entry.get("title"))) else None,
            summary=Body(summary, "text") if summary else None,
            body=body,
            byline=_authors(entry) or _authors(value),
            language=language,
            published=parse_date(str_or_none(entry.get("date_published")), languages=languages),
            updated=parse_date(str_or_none(entry.get("date_modified")), languages=languages),
            keywords=[t for t in (str_or_none(x) for x in tags) if t]
            if isinstance(tags, list)
            else [],
        )
        out.append(draft)
    return out
