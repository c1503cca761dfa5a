"""Build data/topics/mewsc16.tsv.gz, the seed corpus of the topic model, from
the MewsC-16 Wikinews lead sentences (../shared/data/mewsc16; CC BY 2.5,
attribution: Wikinews contributors). One line per sentence:
``<language>\\t<Media Topic code>\\t<sentence>``, the Wikinews category mapped
to its IPTC Media Topic top level by :data:`services.enrich.topic_corpus.MEWSC16_TOPICS`
(sentences of a category with no top-level equivalent are left out).
Deterministic: the same input gives the same bytes (gzip mtime 0).

Usage: python scripts/build_topic_corpus.py [SOURCE_DIR]
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from services.enrich.topic_corpus import MEWSC16_TOPICS, SEED_CORPUS  # noqa: E402


def main() -> None:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "data" / "mewsc16"
    names = json.loads((source / "categories.json").read_text(encoding="utf-8"))
    lines: list[str] = []
    counts: dict[str, int] = {}
    for sentences in sorted(source.glob("*_sentences.txt")):
        lang = sentences.name.split("_")[0]
        english = {local[lang]: en for en, local in names.items() if local.get(lang)}
        english.update({en: en for en in names} if lang == "en" else {})
        categories = (source / f"{lang}_categories.txt").read_text(encoding="utf-8").splitlines()
        texts = sentences.read_text(encoding="utf-8").splitlines()
        if len(categories) != len(texts):
            raise SystemExit(f"{lang}: {len(texts)} sentences, {len(categories)} categories")
        for text, category in zip(texts, categories, strict=True):
            code = MEWSC16_TOPICS.get(english.get(category, ""))
            text = " ".join(text.split())
            if code and text:
                lines.append(f"{lang}\t{code}\t{text}\n")
                counts[lang] = counts.get(lang, 0) + 1
    SEED_CORPUS.parent.mkdir(parents=True, exist_ok=True)
    with SEED_CORPUS.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0,
                                                     filename="") as out:
        out.write("".join(lines).encode("utf-8"))
    print(f"{SEED_CORPUS.relative_to(ROOT)}: {len(lines)} sentences; "
          + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))


if __name__ == "__main__":
    main()
