"""Text hygiene: HTML to text, Unicode clean-up, boilerplate rules (checked
on real paragraphs from the fixtures, plus keep-controls that look similar
but are news)."""

# Real Ukrainian and Russian paragraphs: their Cyrillic letters are meant.
# ruff: noqa: RUF001

from __future__ import annotations

import random
import re
import unicodedata
from pathlib import Path

import pytest

from services.ingest import text
from services.ingest.text import (
    _clean,
    _gates,
    _rules,
    clean_text,
    html_to_paragraphs,
    html_to_text,
    load_boilerplate_rules,
    plain_to_paragraphs,
    strip_boilerplate,
)
from shared.errors import ConfigError

from ._parsing import fixtures, parse_bytes


def _strip(html_or_paragraphs: str | list[str], language: str | None) -> list[str]:
    if isinstance(html_or_paragraphs, str):
        paragraphs = html_to_paragraphs(html_or_paragraphs, mark_links=True)
    else:
        paragraphs = html_or_paragraphs
    return strip_boilerplate(paragraphs, language)


# --- HTML to text ---------------------------------------------------------------


def test_paragraphs_entities_and_breaks() -> None:
    html = (
        "<p>Caf&eacute; &amp; bar &ndash; &#8220;quoted&#8221;&nbsp;text</p>"
        "<p>line one<br>line two<br/><br/>new paragraph</p>"
        "<ul><li>first</li><li>second</li></ul>loose tail text"
    )
    assert html_to_paragraphs(html) == [
        "Café & bar – “quoted” text",
        "line one\nline two",
        "new paragraph",
        "first",
        "second",
        "loose tail text",
    ]
    assert html_to_text(html).count("\n\n") == 5


def test_dropped_elements_and_classes() -> None:
    html = (
        "<header><h1>Site</h1></header><nav>Home | News</nav>"
        "<script>var x = '<p>no</p>';</script><style>p{}</style>"
        "<p>Kept paragraph.</p>"
        '<figure><img src="a.jpg" alt="alt text"><figcaption>Caption</figcaption></figure>'
        '<div class="share-buttons">Share on Facebook</div>'
        '<div class="Related">Related stories</div>'
        "<aside>Sidebar</aside><footer>Footer</footer>"
        "<p>Tail <b>bold</b> and <i>italic</i>.</p>"
    )
    assert html_to_paragraphs(html) == ["Kept paragraph.", "Tail bold and italic."]


def test_markup_never_leaks_and_empty_input() -> None:
    assert html_to_text("") == ""
    assert html_to_text("<!-- only a comment -->") == ""
    assert html_to_text("   ") == ""
    assert html_to_text("<p>a &lt;b&gt; tag shown as text</p>") == "a <b> tag shown as text"
    assert html_to_text('<?xml version="1.0" encoding="utf-8"?><p>decl</p>') == "decl"


def test_clean_text_unicode() -> None:
    raw = "e\u0301te\u0301\u00a0\u2009x\u200b\ufeffy\x00\x07z\ud800 \u00adsoft\r\nnext"
    assert clean_text(raw) == "été xyz soft\nnext"


def test_clean_text_collapses_exactly_the_documented_spaces() -> None:
    """Against the contract written as regexes: every run of Unicode space
    separators, tab, CR, FF, VT and line/paragraph separators inside a line
    becomes one space, lines are stripped, newlines stay (seeded random
    strings over controls, Latin, spaces, invisibles and combining marks)."""
    spaces = re.compile("[ \t\r\f\v\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000\u2028\u2029]+")

    def reference(value: str) -> str:
        value = _clean._INVISIBLE_RE.sub("", value)
        value = unicodedata.normalize("NFC", value).replace("\r\n", "\n").replace("\r", "\n")
        return "\n".join(line.strip() for line in spaces.sub(" ", value).split("\n"))

    alphabet = ([chr(c) for c in range(0x250)] + [chr(c) for c in range(0x1680, 0x1690)]
                + [chr(c) for c in range(0x2000, 0x2070)] + ["\u3000", "\ufeff", "\u180e",
                                                          "e\u0301", " ", " ", "\n"])
    rnd = random.Random(7)
    for _ in range(20_000):
        value = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 30)))
        assert clean_text(value) == reference(value), repr(value)
    # mostly clean text, which takes the already-clean shortcut, with now and
    # then one odd character that must not
    clean = ["a", "b", "é", "e\u0301", "ж", " ", " ", "\n", "\n"]
    unchanged = 0
    for _ in range(20_000):
        value = "".join(rnd.choice(clean) for _ in range(rnd.randint(0, 30)))
        if rnd.random() < 0.3:
            at = rnd.randint(0, len(value))
            value = value[:at] + rnd.choice(alphabet) + value[at:]
        assert clean_text(value) == reference(value), repr(value)
        unchanged += clean_text(value) is value
    assert unchanged > 1000


def test_the_clean_shortcut_knows_every_whitespace_character() -> None:
    """The already-clean test relies on every character ``str.split`` splits
    on, other than " " and newline, being one it looks for."""
    splitters = [chr(c) for c in range(0x110000) if len(f"a{chr(c)}b".split()) == 2]
    assert len(splitters) > 20
    assert [c for c in splitters if c not in " \n" and not _clean._UNCLEAN_RE.match(c)] == []


def test_plain_text_paragraph_rules() -> None:
    # dpa 7-bit rendition: hard-wrapped lines, blank lines between paragraphs
    wrapped = (
        "Berlin (dpa) - Raser müssen sich\nauf Strafen einstellen.\n\n"
        "Zweiter\nAbsatz.\n\n\nDritter."
    )
    assert plain_to_paragraphs(wrapped) == [
        "Berlin (dpa) - Raser müssen sich auf Strafen einstellen.",
        "Zweiter Absatz.",
        "Dritter.",
    ]
    # TT/NTB: one paragraph per line, no blank lines
    assert plain_to_paragraphs("Rubrik\nFörsta stycket.\n– Citat.") == [
        "Rubrik",
        "Första stycket.",
        "– Citat.",
    ]


# --- boilerplate: real paragraphs from the fixtures -------------------------------


def test_guardian_related_and_continue_reading() -> None:
    html = (
        "<p>Donald Trump has promised a “new American moment”.</p>"
        '<p> <span>Related: </span><a href="https://www.theguardian.com/x">Fact check: '
        "Donald Trump's State of the Union address analyzed</a> </p> "
        '<a href="https://www.theguardian.com/y">Continue reading...</a>'
    )
    assert _strip(html, "en") == ["Donald Trump has promised a “new American moment”."]


def test_guardian_newsletter_promos() -> None:
    paragraphs = [
        "Sign up here to get an email whenever First Dog cartoons are published",
        "Sign up to receive an email with the top stories from Guardian Australia every morning",
        "According to new figures shared with the Guardian, Unicef now estimates that 3.6 million "
        "children are in danger of leaving school.",
        "Facebook has banned all advertising for cryptocurrencies.",
    ]
    assert _strip(paragraphs, "en") == paragraphs[2:]


def test_golem_link_tag_list_is_cut() -> None:
    html = (
        "Auch Walmart und DHL haben den Elektro-Truck bereits geordert. "
        '(<a href="https://www.golem.de/specials/tesla/">Tesla</a>, '
        '<a href="https://www.golem.de/specials/elektroauto/">Elektroauto</a>) '
        '<img alt="" height="1" src="https://cpx.golem.de/cpx.php?class=17" width="1" />'
    )
    assert _strip(html, "de") == ["Auch Walmart und DHL haben den Elektro-Truck bereits geordert."]
    # the same words without links are prose and stay
    prose = ["Der Konzern (Tesla, Elektroauto) wächst."]
    assert _strip(prose, "de") == prose


def test_dpa_source_line_under_a_table() -> None:
    paragraphs = ["EUR/USD 1,1385", "Quelle: Reuters/oraise\nStand: 29.06.2017 16:34 Uhr"]
    assert _strip(paragraphs, "de") == ["EUR/USD 1,1385", "Stand: 29.06.2017 16:34 Uhr"]


@pytest.mark.parametrize(
    "promo",
    [
        "Підписуйтесь на новини Харкова та області в Facebook, Viber, Instagram, Telegram, Youtube",
        "Слідкуйте за новинами Суспільного Хмельницький у Telegram, Viber, YouTube, Instagram "
        "та Facebook.",
        "Читайте всі новини Донбасу в Telegram, Viber, Facebook, YouTube та Instagram",
        "Читайте Суспільне у Telegram",
        "Долучайтесь до нашої спільноти у Viber",
        "Термінові новини читайте в Telegram та Viber Суспільного Луцьк.",
    ],
)
def test_suspilne_channel_promos(promo: str) -> None:
    news = "Про це в Telegram повідомив голова ОВА Олександр Прокудін."
    assert _strip([news, promo], "uk") == [news]


def test_suspilne_update_note_only_at_the_end() -> None:
    paragraphs = ["Новина оновлюється...", "Перший абзац.", "Новина оновлюється..."]
    assert _strip(paragraphs, "uk") == ["Новина оновлюється...", "Перший абзац."]


def test_uol_read_more_with_timestamp() -> None:
    paragraph = (
        "Ferramenta criada pela Folha, além de senadores por São Paulo.\u00a0"
        "Leia mais (09/24/2018 - 19h22)"
    )
    assert _strip([clean_text(paragraph)], "pt") == [
        "Ferramenta criada pela Folha, além de senadores por São Paulo."
    ]


def test_real_feeds_end_to_end() -> None:
    root = fixtures()
    guardian = parse_bytes((root / "feeds/real/guardian-us_rss2_en_2018.rss").read_bytes())
    summaries = "\n\n".join(i.summary or "" for i in guardian.items)
    assert "Continue reading" not in summaries and "Related:" not in summaries
    # the story text stays
    assert "a \u201cnew American moment\u201d in a State of the Union" in summaries
    uol = parse_bytes(
        (root / "feeds/real/uol-noticias_rss_pt-br_2018_UNDECLARED-LATIN1.rss").read_bytes(),
        lang="pt-BR")
    assert not any("Leia mais" in (i.summary or "") for i in uol.items)


# --- boilerplate: languages without a real sample in the fixtures -----------------


@pytest.mark.parametrize(
    ("language", "boilerplate", "news"),
    [
        ("en", "Share this article", "The council will publish the final cost in July."),
        ("en", "Jane Doe is a political reporter at the Riverside Gazette.", "Jane Doe said no."),
        (
            "de",
            "Abonnieren Sie unseren Newsletter und erhalten Sie täglich die wichtigsten News.",
            "Der Newsletter des Ministeriums wurde eingestellt, sagte ein Sprecher.",
        ),
        ("de", "Folgen Sie uns auf Instagram und TikTok", "Die Polizei folgte dem Wagen."),
        (
            "fr",
            "Abonnez-vous à notre newsletter pour ne rien manquer.",
            "Le gouvernement a annoncé jeudi un nouveau plan.",
        ),
        ("fr", "Source : AFP", "La source a confirmé l'information."),
        ("fr", "Lire aussi : Le gouvernement recule", "Le texte sera lu à l'Assemblée."),
        ("es", "Suscríbete a nuestro boletín diario", "El Gobierno aprobó el decreto."),
        ("es", "Síguenos en Facebook y X", "Fuentes del ministerio confirmaron el acuerdo."),
        ("it", "Iscriviti alla newsletter del Messaggero", "Il governo ha approvato il decreto."),
        ("ru", "Подписывайтесь на наш канал в Telegram", "Об этом сообщил губернатор в Telegram."),
        ("ru", "Источник: ТАСС", "Источник в правительстве сообщил о переговорах."),
    ],
)
def test_language_rules(language: str, boilerplate: str, news: str) -> None:
    assert _strip([news, boilerplate], language) == [news]


def test_unknown_language_applies_every_rule() -> None:
    assert _strip(["News.", "Підписуйтесь на наш Telegram"], None) == ["News."]
    # a declared language without rules only gets the language-neutral ones
    assert _strip(["News.", "Share this article", "—"], "sv") == ["News.", "Share this article"]


def test_long_paragraphs_are_never_dropped() -> None:
    long = "Source: " + "word " * 200
    assert _strip([long], "en") == [long.strip()]


# --- rules as data ----------------------------------------------------------------


def test_operator_rules_extend_the_shipped_ones(tmp_path: Path) -> None:
    extra = tmp_path / "extra.yaml"
    extra.write_text(
        "languages:\n"
        "  sv:\n"
        "    - '^följ oss på .{1,100}$'\n"
        "    - {pattern: '\\s*\\(TT\\)$', action: cut, where: tail}\n"
        "html:\n"
        "  drop_classes: [paywall-teaser]\n",
        encoding="utf-8",
    )
    rules = load_boilerplate_rules([extra])
    assert strip_boilerplate(
        ["Nyhet.", "Följ oss på Instagram", "Sista stycket (TT)"], "sv", rules
    ) == [
        "Nyhet.",
        "Sista stycket",
    ]
    assert html_to_paragraphs('<p>a</p><div class="paywall-teaser">b</div>', rules=rules) == ["a"]
    # shipped rules are still there
    assert strip_boilerplate(["x", "Share this article"], "en", rules) == ["x"]


@pytest.mark.parametrize(
    "content",
    [
        "languages: [not, a, mapping]\n",
        "languages:\n  en:\n    - {pattern: '(unclosed'}\n",
        "languages:\n  en:\n    - {pattern: 'x', action: explode}\n",
        "languages:\n  en:\n    - {nopattern: 1}\n",
        "- just a list\n",
        "languages: {en: [\n",
    ],
)
def test_bad_rule_files_fail_at_load(tmp_path: Path, content: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError):
        load_boilerplate_rules([path])


def test_missing_rule_file_fails_at_load(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        load_boilerplate_rules([tmp_path / "absent.yaml"])


def test_shipped_rules_cover_the_languages() -> None:
    rules = text.default_boilerplate_rules()
    assert {"*", "en", "de", "fr", "es", "it", "pt", "ru", "uk"} <= set(rules.by_language)


# --- rule plan: speed-ups that must not change a result --------------------------


@pytest.mark.parametrize(
    ("pattern", "script"),
    [
        (r"^.{0,80}\b(?:слідкуйте|стежте)\b.{0,160}$", "cyrillic"),
        ("^джерел[оа]\\s*:", "cyrillic"),
        ("^[а-я]+$", "cyrillic"),
        ("^πηγή", "greek"),
        ("^x?б", "cyrillic"),
        ("^(?:source|джерело)", None),  # one branch needs no Cyrillic
        ("^(?:a|б)", None),
        ("^б?x", None),  # optional
        ("^(?=б)x", None),  # lookarounds are not counted
        ("^[^a]", None),
        ("^source:", None),
        ("[", None),  # not a regex: no claim
    ],
)
def test_required_script(pattern: str, script: str | None) -> None:
    assert _gates.required_script(pattern) == script


@pytest.mark.parametrize(
    ("pattern", "literals"),
    [
        (r"(?:^|(?<=[.!?]))\s*(?:read more|continue reading)\s*$",
         ("continue reading", "read more")),
        (r"(?:lire la suite|lire plus)", ("lire ",)),  # the parser factors the common prefix out
        (r"^Straße\b", ("straße",)),
        (r"^(?:ab|abc)", None),  # one branch has under three letters
        (r"^ab?cd", None),  # optional letter breaks the run
        (r"(?:story)?\s*source:", ("source:",)),  # an optional group is skipped
        (r"^\W*$", None),
        ("(", None),
    ],
)
def test_required_literals(pattern: str, literals: tuple[str, ...] | None) -> None:
    assert _gates.required_literals(pattern) == literals


def test_fold_case_agrees_with_the_regex_engine() -> None:
    """``fold_case(literal) in fold_case(text)`` exactly when ``literal``
    matches in ``text`` with re.IGNORECASE, on random strings of the letters
    whose case rules are odd (dotted and dotless i, long s, sigmas, micro and
    mu, iota and ypogegrammeni, sharp s, Kelvin sign, Cyrillic variants)."""
    rng = random.Random(5)
    alphabet = "iIİısSſσςΣµμΜιͅιβϐkKKaAßẞ ﬅﬆтᲄᲅ"
    checked = 0
    for _ in range(50_000):
        literal = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 3)))
        value = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8)))
        engine = re.search(re.escape(literal), value, re.IGNORECASE) is not None
        assert (_gates.fold_case(literal) in _gates.fold_case(value)) == engine, (literal, value)
        checked += engine
    assert checked > 1000  # both outcomes were exercised


def test_fast_plan_gives_the_same_text_as_the_plain_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """Script and literal gates and start-anchored ``re.match`` against the
    same rules with none of them, for every language's plan and the unknown
    one, on every paragraph of the real feeds plus promo lines of each script."""
    import feedparser

    samples: list[list[str]] = []
    for path in sorted((fixtures() / "feeds" / "real").iterdir()):
        for entry in feedparser.parse(path.read_bytes()).entries:
            for value in [entry.get("summary"), *(c.value for c in entry.get("content", []))]:
                if value:
                    samples.append(html_to_paragraphs(value, mark_links=True))
    samples.append(["Story text.", "Читайте Суспільне у Telegram"])
    samples.append(["Текст новости.", "Подписывайтесь на наш канал в Telegram"])
    samples.append(["Share this article", "Story.", "Read more"])
    samples.append(["Story.", "Ein Satz. WEİTERLESEN …"])  # U+0130 folds to "i" in the regex engine
    samples.append(["Texte.", "Fin. LIRE LA ſUITE…"])  # long s matches "s"
    rules = load_boilerplate_rules()
    languages = [None, "xx", *sorted(k for k in rules.by_language if k != "*")]

    def outputs() -> list[list[str]]:
        _rules._PLANS.clear()
        return [strip_boilerplate(p, lang, rules) for lang in languages for p in samples]

    fast = outputs()
    # where the plan reads them (_rules) and where the gates do (_gates)
    for module in (_rules, _gates):
        monkeypatch.setattr(module, "required_script", lambda pattern: None)
    monkeypatch.setattr(_gates, "required_literals", lambda pattern: None)
    monkeypatch.setattr(_rules, "anchored", lambda pattern: False)
    plain = outputs()
    _rules._PLANS.clear()
    assert len(samples) > 180
    assert fast == plain
    promo = samples.index(["Story text.", "Читайте Суспільне у Telegram"])
    assert fast[promo] == ["Story text."]  # language None: every rule, gated ones too
    odd_case = samples.index(["Story.", "Ein Satz. WEİTERLESEN …"])
    assert fast[odd_case] == ["Story.", "Ein Satz."]
    assert fast[odd_case + 1] == ["Texte.", "Fin."]
