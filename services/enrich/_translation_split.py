"""Text cut into chunks a translation backend takes: at paragraph
boundaries, a longer paragraph at sentence ends, then at spaces."""

from __future__ import annotations

import re

__all__ = ["split_text"]


_PARAGRAPH = re.compile(r"\n\s*\n")


_SENTENCE_END = re.compile(r"(?<=[.!?…;])\s+")


def _split_long(paragraph: str, max_chars: int) -> list[str]:
    """A paragraph over the limit: sentence ends first, then spaces, then a
    hard cut (a single 'word' longer than the limit is not language)."""
    pieces: list[str] = []
    current = ""
    for sentence in _SENTENCE_END.split(paragraph):
        while len(sentence) > max_chars:
            cut = sentence.rfind(" ", 0, max_chars)
            cut = cut if cut > 0 else max_chars
            if current:
                pieces.append(current)
                current = ""
            pieces.append(sentence[:cut].strip())
            sentence = sentence[cut:].strip()
        if current and len(current) + 1 + len(sentence) > max_chars:
            pieces.append(current)
            current = sentence
        else:
            current = f"{current} {sentence}" if current else sentence
    if current:
        pieces.append(current)
    return [p for p in pieces if p]


def split_text(text: str, max_chars: int) -> list[str]:
    """Chunks of at most ``max_chars`` characters, cut at paragraph
    boundaries; consecutive short paragraphs share a chunk (joined by a blank
    line) so a long article is a few requests, not one per paragraph. The
    split is deterministic, which keeps cache keys stable across re-polls."""
    if max_chars < 1:
        raise ValueError("max_chars must be positive")
    paragraphs = [p.strip() for p in _PARAGRAPH.split(text) if p.strip()]
    chunks: list[str] = []
    current = ""
    for paragraph in paragraphs:
        parts = [paragraph] if len(paragraph) <= max_chars else _split_long(paragraph, max_chars)
        for part in parts:
            if current and len(current) + 2 + len(part) <= max_chars:
                current = f"{current}\n\n{part}"
            else:
                if current:
                    chunks.append(current)
                current = part
    if current:
        chunks.append(current)
    return chunks
