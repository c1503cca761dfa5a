"""A seeded corpus of realistic news items for the benchmarks.

Items are built from sentence templates filled with names, places and numbers,
in English, Spanish, Russian and Swahili (a language with no Apertium pair
here); headline about 12 words, body 300-1,500 words drawn from a lognormal
distribution like real wire copy. ``rss()`` serialises a list of items as an
RSS 2.0 feed. The same seed always gives the same bytes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from xml.sax.saxutils import escape

__all__ = ["BenchItem", "make_items", "rss"]

PEOPLE = ["Volodymyr Zelensky", "Emmanuel Macron", "Olaf Scholz", "Pedro Sánchez",
          "Ursula von der Leyen", "Antonio Guterres", "Keir Starmer", "Lula da Silva"]
PLACES = ["Kyiv", "Paris", "Berlin", "Madrid", "Brussels", "New York", "London", "Brasília",
          "Nairobi", "Warsaw", "Rome", "Lisbon"]
ORGS = ["the European Commission", "the United Nations", "NATO", "the central bank",
        "the health ministry", "the port authority", "the national rail operator"]
EN = [
    "{p} said on {d} that talks with {o} would continue in {c} next week.",
    "Officials in {c} reported {n} new cases, the highest figure since the spring.",
    "The agreement, reached after {n} hours of negotiations, still needs approval from {o}.",
    "Critics argued that the plan would cost at least {n} million euros over five years.",
    "{p} met representatives of {o} in {c} to discuss energy prices and trade.",
    "Markets in {c} rose {n} percent after the announcement by {o}.",
    "Thousands of people gathered in central {c} on {d} to protest against the reform.",
    "A spokesperson for {o} declined to comment on the report.",
]
ES = [
    "{p} dijo el {d} que las conversaciones con {o} continuarán en {c} la próxima semana.",
    "Las autoridades de {c} informaron de {n} nuevos casos, la cifra más alta desde la primavera.",
    "El acuerdo, alcanzado tras {n} horas de negociaciones, aún necesita la aprobación de {o}.",
    "Los críticos sostienen que el plan costará al menos {n} millones de euros en cinco años.",
    "{p} se reunió con representantes de {o} en {c} para hablar de energía y comercio.",
    "Miles de personas se concentraron en el centro de {c} el {d} contra la reforma.",
]
RU = [
    "{p} заявил в {d}, что переговоры с {o} продолжатся в {c} на следующей неделе.",
    "Власти {c} сообщили о {n} новых случаях, это самый высокий показатель с весны.",
    "Соглашение, достигнутое после {n} часов переговоров, ещё должно одобрить {o}.",
    "Критики утверждают, что план обойдётся как минимум в {n} миллионов евро за пять лет.",
    "Тысячи людей собрались в центре {c} в {d}, чтобы выступить против реформы.",
]
SW = [
    "{p} alisema siku ya {d} kwamba mazungumzo na {o} yataendelea {c} wiki ijayo.",
    "Maafisa wa {c} waliripoti visa vipya {n}, idadi kubwa zaidi tangu msimu uliopita.",
    "Makubaliano hayo, yaliyofikiwa baada ya saa {n} za mazungumzo, bado yanahitaji idhini.",
    "Maelfu ya watu walikusanyika katikati ya {c} siku ya {d} kupinga mageuzi hayo.",
]
DAYS = {"en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"],
        "es": ["lunes", "martes", "miércoles", "jueves", "viernes"],
        "ru": ["понедельник", "вторник", "среду", "четверг", "пятницу"],
        "sw": ["Jumatatu", "Jumanne", "Jumatano", "Alhamisi", "Ijumaa"]}
TEMPLATES = {"en": EN, "es": ES, "ru": RU, "sw": SW}


@dataclass(frozen=True)
class BenchItem:
    guid: str
    language: str
    headline: str
    body: str
    published: datetime

    @property
    def words(self) -> int:
        return len(self.body.split()) + len(self.headline.split())


def _sentence(rng: random.Random, lang: str) -> str:
    return rng.choice(TEMPLATES[lang]).format(
        p=rng.choice(PEOPLE), c=rng.choice(PLACES), o=rng.choice(ORGS),
        d=rng.choice(DAYS[lang]), n=rng.randint(2, 900),
    )


def make_items(n: int, *, seed: int = 7, mix: dict[str, float] | None = None) -> list[BenchItem]:
    mix = mix or {"en": 0.7, "es": 0.2, "ru": 0.05, "sw": 0.05}
    rng = random.Random(seed)
    langs, weights = zip(*mix.items(), strict=True)
    base = datetime(2026, 11, 1, tzinfo=UTC)
    items = []
    for i in range(n):
        lang = rng.choices(langs, weights)[0]
        words = int(min(1500, max(300, rng.lognormvariate(6.3, 0.45))))
        paragraphs: list[str] = []
        count = 0
        while count < words:
            para = " ".join(_sentence(rng, lang) for _ in range(rng.randint(2, 4)))
            paragraphs.append(para)
            count += len(para.split())
        headline = " ".join(_sentence(rng, lang).split()[:12]).rstrip(",.")
        items.append(BenchItem(
            guid=f"urn:bench:{seed}:{i}", language=lang, headline=headline,
            body="\n\n".join(paragraphs), published=base + timedelta(minutes=i),
        ))
    return items


def rss(items: list[BenchItem], *, title: str = "bench") -> bytes:
    entries = []
    for it in items:
        html = "".join(f"<p>{escape(p)}</p>" for p in it.body.split("\n\n"))
        entries.append(
            f"<item><title>{escape(it.headline)}</title>"
            f"<link>https://bench.example/{it.guid.rsplit(':', 1)[1]}</link>"
            f"<guid isPermaLink=\"false\">{it.guid}</guid>"
            f"<pubDate>{format_datetime(it.published)}</pubDate>"
            f"<description>{escape(html)}</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{title}</title><link>https://bench.example/</link><description>b"
        f"</description>{''.join(entries)}</channel></rss>"
    ).encode()
